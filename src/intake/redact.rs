//! Masking of secrets and personal data in text before it is stored, logged or relayed.
//!
//! Invariant: `mask` is idempotent (`mask(mask(t)) == mask(t)`) and never widens
//! what it keeps: every replacement marker is itself left alone by every rule.
//!
//! Choices: a labelled secret keeps its label (`密码：[已隐藏]`, `password=[masked]`);
//! a resident ID is replaced whole by `[身份证号已隐藏]` (no digits are kept, as
//! the helpdesk never needs them); a bank card keeps its last four digits
//! (`**** **** **** 1234`) so the requester can tell which card was meant.
//! Where a rule must guess, it guesses towards masking: a sentence cut short
//! costs a technician a question, a leaked password costs the requester.
//!
//! Word boundaries are ASCII (`(?-u:\b)`): Chinese text next to a label or token
//! then counts as a boundary (`邮箱password:`, `AKIA…的`), and the regex engine
//! keeps its fast path on non-ASCII text, where a Unicode `\b` made masking a
//! large text attachment over a hundred times slower.

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::{Captures, Regex};

const MASK_EN: &str = "[masked]";
const MASK_ZH: &str = "[已隐藏]";
const ID_MASK: &str = "[身份证号已隐藏]";
const TOKEN_MASK: &str = "[token masked]";
const KEY_MASK: &str = "[private key masked]";

/// What may stand before an English label inside a longer name: words joined
/// by `_`, `.` or `-` (`aws_secret_access_key`, `DB_PASS`,
/// `spring.datasource.password`, `x-api-key`). The boundary is ASCII-only so a
/// label glued to Chinese text (`邮箱password:`) still starts a word.
const JOINED: &str = r"(?-u:\b)(?:[a-z0-9]+[_.-])*";

/// English labels that may also run on from letters (`smtpPassword`,
/// `newpassword`, `accessToken`): no ordinary word ends in them.
const EN_LONG: &str = r"password|passwd|passwort|passcode|secret|(?:secret|private|api|access|recovery)[ _-]?key(?:[ _-]?id)?|token";

/// Short English labels: only as a whole word or after a joiner (`PW:`,
/// `DB_PASS=`), so `bypass`, `spin` and `npw` stay text.
const EN_SHORT: &str = r"pwd|pw|pass|pin";

/// A pass phrase is several words; its value runs to the end of the line.
const EN_PHRASE: &str = r"pass[ _-]?phrase";

/// Chinese labels; word boundaries mean nothing between Chinese characters, so
/// these match wherever they occur (`原来的密码`, `WiFi密码`).
const ZH: &str = r"密码|密碼|口令|密钥|秘钥|私钥|令牌|授权码";

/// Between label and value: `:`/`=`/`：`, Chinese 是/为, or English "is"
/// (the two word forms get extra checks in `mask_labelled`). A quote before it
/// closes a JSON or YAML key (`"password": …`).
const SEPARATOR: &str = r#"["']?\s*(?:[:=：]|(?-u:\b)is(?-u:\b)|是|为)\s*"#;

/// A private key block; an unterminated one is masked to the end, since a
/// truncated key is still a secret.
static PEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----(?s:.*?)(-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\z)",
    )
    .expect("static regex")
});

/// The password in a URL (`postgres://app:S3cret@db/app`).
static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<user>(?-u:\b)[a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s/@]+@")
        .expect("static regex")
});

/// `passphrase: correct horse battery staple`: the whole quoted value, or the
/// rest of the line (a marker alone is what an earlier pass left, so the text
/// after it stays).
static PASSPHRASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)(?P<label>{JOINED}(?:{EN_PHRASE})s?(?-u:\b)|密码短语)(?P<sep>{SEPARATOR})(?P<value>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|{marker}|[^\r\n]+)"#,
        marker = regex::escape(MASK_EN) + "|" + &regex::escape(MASK_ZH)
    ))
    .expect("static regex")
});

/// `label<sep>value`, the value one word, or a quoted or bracketed string.
static LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)(?P<label>{JOINED}(?:[a-z0-9]*(?:{EN_LONG})|{EN_SHORT})s?(?-u:\b)|{ZH})(?P<sep>{SEPARATOR})(?P<value>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|\[[^\]\n]*\]|[^\s，。；！？、,;"'）)]+)"#
    ))
    .expect("static regex")
});

/// A password with no separator: straight after a Chinese label
/// (`原来的密码 Kongge_3377`, `新密码X9secret`) or a space after an English
/// one (`password Sunshine99`). Whether the word is a password is decided in
/// `mask_bare`; it cannot start with a separator, a quote or a marker.
static BARE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?P<label>{ZH}|{JOINED}[a-z0-9]*(?:password|passwd|passcode)(?-u:\b))(?P<sep>[ \t]*)(?P<value>[a-z0-9!@#$%^&*_+~-][!-~]*)"
    ))
    .expect("static regex")
});

/// `<password>…</password>` in XML and config files.
static XML_ELEMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)<(?P<label>{JOINED}(?:[a-z0-9]*(?:{EN_LONG})|{EN_SHORT}|{EN_PHRASE})s?)>[^<\n]+<"
    ))
    .expect("static regex")
});

/// A setting named by one attribute and given by another, as .NET and Java
/// config files write it: `<add key="DbPassword" value="S3cret!"/>`.
static XML_KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)(?P<label>(?-u:\b)(?:key|name)\s*=\s*["'][^"'\n]*(?:{EN_LONG}|{EN_SHORT}|{EN_PHRASE})["']\s+value\s*=\s*)(?P<quote>["'])[^"'\n]*["']"#
    ))
    .expect("static regex")
});

/// Words after "password is" that describe the password rather than reveal it.
const NOT_A_SECRET: &str = "wrong incorrect expired expiring not correct right invalid locked reset changed
    too the still being required missing empty same different a an ok fine working also no now in on set
    rejected blocked forgotten lost unknown saved stored";

static BEARER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<scheme>(?-u:\b)authorization\s*[:=]\s*(?:basic|bearer|token|digest|negotiate)?|(?-u:\b)bearer)\s+(?P<value>[A-Za-z0-9\-._~+/]{8,}=*)")
        .expect("static regex")
});

/// Secrets recognisable by their own shape, wherever they appear.
static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?-u:\b)sk-[A-Za-z0-9_-]{16,}",
        r"|(?-u:\b)(?:AKIA|ASIA)[0-9A-Z]{16}(?-u:\b)",
        r"|(?-u:\b)gh[pousr]_[A-Za-z0-9]{30,}",
        r"|(?-u:\b)github_pat_[A-Za-z0-9_]{20,}",
        r"|(?-u:\b)xox[abprs]-[A-Za-z0-9-]{10,}",
        r"|(?-u:\b)AIza[0-9A-Za-z_-]{35}",
        r"|(?-u:\b)eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}",
        r"|(?-u:\b)glpat-[A-Za-z0-9_-]{20,}",
        r"|(?-u:\b)[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",
        // A BitLocker recovery key: eight groups of six digits.
        r"|(?-u:\b)[0-9]{6}(?:-[0-9]{6}){7}(?-u:\b)",
    ))
    .expect("static regex")
});

/// Candidate resident IDs; the checksum and boundaries are checked in code
/// because a Unicode `\b` does not separate digits from CJK text.
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
    let text = URL_PASSWORD.replace_all(&text, |c: &Captures| format!("{}{MASK_EN}@", &c["user"]));
    // Pass phrases first: once masked, their words are not read as labels.
    let text = PASSPHRASE.replace_all(&text, mask_labelled);
    let text = LABELLED.replace_all(&text, mask_labelled);
    let text = BARE.replace_all(&text, mask_bare);
    let text =
        XML_ELEMENT.replace_all(&text, |c: &Captures| format!("<{}>{MASK_EN}<", &c["label"]));
    let text = XML_KEY_VALUE.replace_all(&text, |c: &Captures| {
        format!("{}{q}{MASK_EN}{q}", &c["label"], q = &c["quote"])
    });
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
    format!("{label}{sep}{}", marker_for(label))
}

/// A word with no separator before it is taken for a password when it has four
/// or more characters, a digit or symbol, and is not a URL: `密码 Kongge_3377`
/// but not `密码 reset`, `password policy` or `password-protected`. A quantity
/// such as `密码 8-16位` is masked too: telling it from `密码123456忘了` is
/// guesswork.
fn mask_bare(c: &Captures) -> String {
    let (label, sep, value) = (&c["label"], &c["sep"], &c["value"]);
    let word = value.trim_end_matches(['.', ',', ';', ':', '!', '?', ')']);
    let english_glued = sep.is_empty() && !label.chars().any(is_cjk);
    let secret = !english_glued
        && word.chars().count() >= 4
        && !word.chars().all(|ch| ch.is_ascii_alphabetic())
        && !word.contains("://");
    if !secret {
        return c[0].to_string();
    }
    format!("{label}{sep}{}{}", marker_for(label), &value[word.len()..])
}

/// The marker in the label's language.
fn marker_for(label: &str) -> &'static str {
    if label.chars().any(is_cjk) {
        MASK_ZH
    } else {
        MASK_EN
    }
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
            // An escaped quote does not end the value.
            (r#"{"password": "ab\"Cd9x"}"#, r#"{"password": [masked]}"#),
            (
                r#"<add key="DbPassword" value="S3cret!x"/>"#,
                r#"<add key="DbPassword" value="[masked]"/>"#,
            ),
            (
                "<setting name='smtp.pass' value='Mail4Ever'/>",
                "<setting name='smtp.pass' value='[masked]'/>",
            ),
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

    /// Labels glued into longer names, short labels, pass phrases, Chinese
    /// labels without a separator, URLs and XML: the forms that used to leak.
    #[test]
    fn masks_glued_short_phrase_and_bare_forms() {
        let cases: &[(&str, &str)] = &[
            // Glued to a word before them.
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG",
                "aws_secret_access_key = [masked]",
            ),
            (
                "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI",
                "AWS_SECRET_ACCESS_KEY=[masked]",
            ),
            ("db_password=Tr0ub4dor", "db_password=[masked]"),
            (
                "MYSQL_ROOT_PASSWORD: r00tpw",
                "MYSQL_ROOT_PASSWORD: [masked]",
            ),
            ("DB_PASS: Xy7!pass", "DB_PASS: [masked]"),
            ("smtpPassword: Mail#2024", "smtpPassword: [masked]"),
            (
                "spring.datasource.password=ds-pass-1",
                "spring.datasource.password=[masked]",
            ),
            ("x-api-key: 5b1f0c2e9d", "x-api-key: [masked]"),
            (
                r#"{"clientSecret":"c1ient-s3cret"}"#,
                r#"{"clientSecret":[masked]}"#,
            ),
            ("accessToken=tok_abc123", "accessToken=[masked]"),
            ("邮箱password:Mail2024", "邮箱password:[masked]"),
            (
                "BitLocker recovery key: 0000-1111",
                "BitLocker recovery key: [masked]",
            ),
            // Short labels.
            ("PW: Sommer2024", "PW: [masked]"),
            ("pw=abc", "pw=[masked]"),
            ("pwd=abc", "pwd=[masked]"),
            ("pass: letmein", "pass: [masked]"),
            ("PIN: 4321", "PIN: [masked]"),
            // Pass phrases: the whole line or the whole quoted value.
            (
                "passphrase: correct horse battery staple\nthanks",
                "passphrase: [masked]\nthanks",
            ),
            (
                "Pass phrase = correct horse battery staple",
                "Pass phrase = [masked]",
            ),
            (
                "gpg_passphrase: 'correct horse' # old",
                "gpg_passphrase: [masked] # old",
            ),
            (
                "my passphrase is correct horse battery staple",
                "my passphrase is [masked]",
            ),
            (
                "Passphrase:\r\ncorrect horse battery\r\nbye",
                "Passphrase:\r\n[masked]\r\nbye",
            ),
            ("密码短语：正确 马 电池 订书钉", "密码短语：[已隐藏]"),
            // Chinese labels with nothing or a space before the value.
            ("原来的密码 Kongge_3377", "原来的密码 [已隐藏]"),
            (
                "原来的密码 Kongge_3377，新的也不行",
                "原来的密码 [已隐藏]，新的也不行",
            ),
            ("新密码为X9secret", "新密码为[已隐藏]"),
            ("新密码X9secret", "新密码[已隐藏]"),
            ("密码是abc123", "密码是[已隐藏]"),
            ("我的密码123456忘了", "我的密码[已隐藏]忘了"),
            ("WiFi密码 guest@2024.", "WiFi密码 [已隐藏]."),
            ("口令：Zx9!kLm2", "口令：[已隐藏]"),
            ("口令 8848", "口令 [已隐藏]"),
            ("密碼：Abc12345", "密碼：[已隐藏]"),
            // English label, a space, then a word that looks like a password.
            (
                "my password Sunshine99 does not work",
                "my password [masked] does not work",
            ),
            (
                "password P@ss, please reset",
                "password [masked], please reset",
            ),
            // Elsewhere.
            (
                "DATABASE_URL=postgres://app:S3cret@db/app",
                "DATABASE_URL=postgres://app:[masked]@db/app",
            ),
            (
                "<password>hunter2</password>",
                "<password>[masked]</password>",
            ),
            (
                "<DbPassword>x y</DbPassword>",
                "<DbPassword>[masked]</DbPassword>",
            ),
            (
                "key 123456-123456-123456-123456-123456-123456-123456-123456",
                "key [token masked]",
            ),
            ("glpat-AbCdEfGhIjKlMnOpQrSt12", "[token masked]"),
            // ASCII boundaries: a token glued to Chinese text is still a word.
            ("账号AKIAIOSFODNN7EXAMPLE已停用", "账号[token masked]已停用"),
            ("sk_live_AbCdEfGhIjKlMnOp1234", "[token masked]"),
        ];
        for (input, want) in cases {
            assert_eq!(mask(input), *want, "input: {input}");
            assert_eq!(mask(want), *want, "not idempotent: {want}");
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
            "password reset",
            "Password reset: done",
            "I need a password reset for user2",
            "passwords",
            "all passwords were rotated",
            "the password-protected file",
            "password policy",
            "my passphrase is wrong",
            "密码 reset 不了",
            "密码重置",
            "请帮我重置WiFi密码。",
            "密码8位以上",
            "npw pwned PWM pwr",
            "bypass: on, compass: north, spin: 3",
            "secretary: Ms Wang",
            "keypass and passport",
            "https://example.com/reset-password?user=alice",
            "mailto:alice@example.com",
            "密码 https://sso.example.com/reset2",
            "password 8 chars",
            "pinned: yes",
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
