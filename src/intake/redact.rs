//! Masking of secrets and personal data in text before it is stored, logged or relayed.
//!
//! Invariant: `mask` is idempotent (`mask(mask(t)) == mask(t)`) and never widens
//! what it keeps: every replacement marker is itself left alone by every rule.
//!
//! Choices: a labelled secret keeps its label (`密码：[已隐藏]`, `password=[masked]`);
//! a resident ID is replaced whole by `[身份证号已隐藏]` (no digits are kept, as
//! the helpdesk never needs them); a bank card keeps its last four digits
//! (`**** **** **** 1234`) so the requester can tell which card was meant.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::{Captures, Regex};

const MASK_EN: &str = "[masked]";
const MASK_ZH: &str = "[已隐藏]";
const ID_MASK: &str = "[身份证号已隐藏]";
const TOKEN_MASK: &str = "[token masked]";
const KEY_MASK: &str = "[private key masked]";

/// A whole PEM private-key block; an unterminated one is masked to the end,
/// since a truncated key is still a secret.
static PEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----(?s:.*?)(-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\z)",
    )
    .expect("static regex")
});

/// `label<sep>value`. The separator may be `:`/`=`/`：`, Chinese 是/为, or
/// English "is"; the two word forms get extra checks in `mask_labelled`.
static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    let en = r"\b(?:new[ _-]?|old[ _-]?|temp(?:orary)?[ _-]?|initial[ _-]?|wifi[ _-]?|db[ _-]?|admin[ _-]?)?(?:password|passwd|passwort|passphrase|passcode|pwd|pin|secret|client[_-]?secret|secret[_-]?key|private[_-]?key|api[_ -]?key|apikey|access[_ -]?key(?:[_ -]?id)?|auth[_ -]?token|access[_ -]?token|refresh[_ -]?token|token)s?\b";
    let zh = r"(?:新|旧|初始|临时|登录|开机|管理员|邮箱|WiFi|wifi|无线)?(?:密码|口令|密钥|秘钥|私钥|令牌|授权码)";
    Regex::new(&format!(
        r#"(?i)(?P<label>{en}|{zh})(?P<sep>["']?\s*(?:[:=：]|\bis\b|是|为)\s*)(?P<value>"[^"\n]*"|'[^'\n]*'|\[[^\]\n]*\]|[^\s，。；！？、,;"'）)]+)"#
    ))
    .expect("static regex")
});

/// Words after "password is" that describe the password rather than reveal it.
const NOT_A_SECRET: &str = "wrong incorrect expired expiring not correct right invalid locked reset changed
    too the still being required missing empty same different a an ok fine working also no now in on set
    rejected blocked forgotten lost unknown saved stored";

static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<scheme>\bauthorization\s*[:=]\s*(?:basic|bearer|token|digest|negotiate)?|\bbearer)\s+(?P<value>[A-Za-z0-9\-._~+/]{8,}=*)")
        .expect("static regex")
});

/// Secrets recognisable by their own shape, wherever they appear.
static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\bsk-[A-Za-z0-9_-]{16,}",
        r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
        r"|\bgh[pousr]_[A-Za-z0-9]{30,}",
        r"|\bgithub_pat_[A-Za-z0-9_]{20,}",
        r"|\bxox[abprs]-[A-Za-z0-9-]{10,}",
        r"|\bAIza[0-9A-Za-z_-]{35}",
        r"|\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
    ))
    .expect("static regex")
});

/// Candidate resident IDs; the checksum and boundaries are checked in code
/// because `\b` does not separate digits from CJK text.
static ID_CANDIDATE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9]{17}[0-9Xx]").expect("static regex"));

/// Candidate card numbers: a plain run, or groups of four (4-4-4-4[-1..3]) or
/// the Amex 4-6-5 layout with one consistent separator.
static CARD_CANDIDATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"[0-9]{4}(?: [0-9]{4}){3}(?: [0-9]{1,3})?",
        r"|[0-9]{4}(?:-[0-9]{4}){3}(?:-[0-9]{1,3})?",
        r"|[0-9]{4}[ -][0-9]{6}[ -][0-9]{5}",
        r"|[0-9]{13,19}",
    ))
    .expect("static regex")
});

/// Masks passwords, keys, tokens, private keys, resident IDs and card numbers.
pub fn mask(text: &str) -> String {
    let text = PEM.replace_all(text, KEY_MASK);
    let text = LABELLED.replace_all(&text, mask_labelled);
    let text = BEARER.replace_all(&text, |c: &Captures| format!("{} {MASK_EN}", &c["scheme"]));
    let text = TOKENS.replace_all(&text, TOKEN_MASK);
    let text = replace_checked(&text, &ID_CANDIDATE, |m| {
        is_resident_id(m).then(|| ID_MASK.to_string())
    });
    replace_checked(&text, &CARD_CANDIDATE, mask_card)
}

fn mask_labelled(c: &Captures) -> String {
    let (label, sep, value) = (&c["label"], &c["sep"], &c["value"]);
    let sep_word = sep.trim().trim_matches(['"', '\'']).trim();
    let keep = match sep_word {
        // "my password is wrong" talks about the password; it does not reveal it.
        w if w.eq_ignore_ascii_case("is") => NOT_A_SECRET
            .split_whitespace()
            .any(|w| w == value.to_ascii_lowercase().trim_end_matches(['.', ',', '!'])),
        // "密码是不是过期了": a Chinese word after 是/为 is prose, not a password.
        "是" | "为" => value.chars().next().is_some_and(is_cjk),
        _ => false,
    };
    if keep {
        return c[0].to_string();
    }
    let marker = if label.chars().any(is_cjk) {
        MASK_ZH
    } else {
        MASK_EN
    };
    format!("{label}{sep}{marker}")
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{3000}'..='\u{303f}' | '\u{ff00}'..='\u{ffef}')
}

/// Replaces matches that `check` accepts and that are not glued to further
/// letters or digits (a longer number is something else, e.g. an order number).
fn replace_checked(text: &str, re: &Regex, check: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in re.find_iter(text) {
        let before = text[..m.start()].chars().next_back();
        let after = text[m.end()..].chars().next();
        let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if glued(before) || glued(after) {
            continue;
        }
        if let Some(replacement) = check(m.as_str()) {
            out.push_str(&text[last..m.start()]);
            out.push_str(&replacement);
            last = m.end();
        }
    }
    out.push_str(&text[last..]);
    out
}

/// GB 11643: six-digit area, a real birth date, three-digit sequence and an
/// ISO 7064 MOD 11-2 check character.
fn is_resident_id(s: &str) -> bool {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let bytes = s.as_bytes();
    if bytes.len() != 18 {
        return false;
    }
    let sum: u32 = bytes[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let birth_ok = NaiveDate::parse_from_str(&s[6..14], "%Y%m%d")
        .is_ok_and(|d| (1900..=2100).contains(&chrono::Datelike::year(&d)));
    birth_ok && CHECK[(sum % 11) as usize] == bytes[17].to_ascii_uppercase()
}

/// A card number has a card network's prefix and length and passes Luhn;
/// that keeps order numbers, dates and timestamps out.
fn mask_card(s: &str) -> Option<String> {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !card_network(&digits) || !luhn(&digits) {
        return None;
    }
    let last4: String = digits[digits.len() - 4..]
        .iter()
        .map(|d| char::from(b'0' + *d as u8))
        .collect();
    Some(format!("**** **** **** {last4}"))
}

/// Issuer prefixes (IIN ranges) and lengths of the networks seen in China and abroad.
fn card_network(digits: &[u32]) -> bool {
    let prefix = |n: usize| digits.iter().take(n).fold(0, |acc, d| acc * 10 + d);
    let len = digits.len();
    match (prefix(2), len) {
        (40..=49, 13 | 16 | 19) => true,                     // Visa
        (51..=55, 16) => true,                               // Mastercard
        (22..=27, 16) => (2221..=2720).contains(&prefix(4)), // Mastercard 2-series
        (34 | 37, 15) => true,                               // Amex
        (62 | 60 | 65 | 64, 16..=19) => prefix(2) != 64 || prefix(3) >= 644, // UnionPay, Discover
        (35, 16..=19) => (3528..=3589).contains(&prefix(4)), // JCB
        (30 | 36 | 38 | 39, 14..=16) => true,                // Diners
        (90..=99, 16..=19) => true,                          // older domestic debit cards
        _ => false,
    }
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2 == 1, d * 2) {
            (true, dd) if dd > 9 => dd - 9,
            (true, dd) => dd,
            (false, _) => d,
        })
        .sum();
    sum % 10 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Luhn-valid test card (Visa test range) and a checksum-valid ID.
    const CARD: &str = "4111111111111111";
    const ID: &str = "11010519491231002X";

    #[test]
    fn masks_each_kind() {
        let cases: &[(&str, &str)] = &[
            ("密码：Abc12345", "密码：[已隐藏]"),
            ("密码: Abc12345，请重置", "密码: [已隐藏]，请重置"),
            ("我的密码是Abc@123", "我的密码是[已隐藏]"),
            ("新密码为 Qwer!234", "新密码为 [已隐藏]"),
            ("口令：888888", "口令：[已隐藏]"),
            ("password=hunter2", "password=[masked]"),
            ("Password: hunter2 thanks", "Password: [masked] thanks"),
            ("my password is Sunshine99", "my password is [masked]"),
            ("pwd=abc", "pwd=[masked]"),
            ("passwd: s3cr3t", "passwd: [masked]"),
            (r#"{"password": "a b c"}"#, r#"{"password": [masked]}"#),
            (
                "api_key=0123456789abcdef0123456789abcdef",
                "api_key=[masked]",
            ),
            ("token: dGhpcyBpcyBhIHNlY3JldA==", "token: [masked]"),
            (
                "Authorization: Bearer eyJhbGciOi.xyz.abc123",
                "Authorization: Bearer [masked]",
            ),
            ("key sk-proj-AbCdEf0123456789XYZ", "key [token masked]"),
            ("AKIAIOSFODNN7EXAMPLE is ours", "[token masked] is ours"),
            ("ghp_0123456789abcdefghijklmnopqrstuvwxyz", "[token masked]"),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nbye",
                "[private key masked]\nbye",
            ),
            (
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk",
                "[private key masked]",
            ),
            (
                "身份证号11010519491231002X，谢谢",
                "身份证号[身份证号已隐藏]，谢谢",
            ),
            ("ID 110105194912310021 here", "ID 110105194912310021 here"),
            ("卡号 4111 1111 1111 1111", "卡号 **** **** **** 1111"),
            ("card 4111-1111-1111-1111.", "card **** **** **** 1111."),
            ("卡号6222021234567890128", "卡号**** **** **** 0128"),
        ];
        for (input, want) in cases {
            assert_eq!(mask(input), *want, "input: {input}");
        }
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        let cases = [
            "my password is wrong and expired",
            "密码是不是过期了？",
            "忘记密码了",
            "订单号 1234567890123456 请查收",
            "时间戳 1696132800000",
            "订单号 20231001123456789",
            "电话 13800138000",
            "工单 IT20231001001",
            "110105194912310021",
            "tokens are issued daily",
            "分机 8001",
        ];
        for input in cases {
            assert_eq!(mask(input), input);
        }
    }

    #[test]
    fn is_idempotent() {
        let text = format!(
            "密码：abc 123\npassword is Hunter22\nBearer abcdefghijk\nsk-abcdefghijklmnopqrstu\n{ID}\n{CARD}\n-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----"
        );
        let once = mask(&text);
        assert_eq!(mask(&once), once);
        for secret in [
            "abc",
            "Hunter22",
            "abcdefghijk",
            "sk-abc",
            ID,
            CARD,
            "\nx\n",
        ] {
            assert!(!once.contains(secret), "{secret} survived in {once}");
        }
    }

    #[test]
    fn checks_id_and_card_validity() {
        assert!(is_resident_id(ID));
        assert!(is_resident_id("11010519491231002x"));
        assert!(!is_resident_id("110105194912310021"));
        assert!(!is_resident_id("110105194913310025"));
        assert!(luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]));
        assert!(!luhn(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2]));
    }
}
