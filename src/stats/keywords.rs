//! Normalised keywords of a ticket's text, for grouping recurring problems:
//! Chinese segmented with jieba, English split on non-letters, everything
//! lower-cased, stop words dropped, light English stemming, and synonyms in
//! both languages folded onto one concept ("断线", "掉线", "disconnects" → `disconnect`).
//!
//! Invariant: pure and deterministic — the same text always gives the same
//! keywords, so records written at different times cluster together.

use std::collections::HashSet;
use std::sync::LazyLock;

use jieba_rs::Jieba;

use crate::core::ticket::Lang;

/// Keywords kept per ticket: the subject's first, then the description's.
pub const MAX_KEYWORDS: usize = 6;
/// Only the start of a description is read: the symptom is usually there, and
/// pasted logs further down are noise.
const DESCRIPTION_CHARS: usize = 300;

/// What a concept is, for the order of words in a cluster label: the thing,
/// then what was done with it, then what went wrong ("VPN login timeout").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Thing,
    Action,
    Symptom,
}

/// A concept: its key (stored in records), its role, its labels, and the
/// surface forms that mean it in either language.
struct Concept {
    key: &'static str,
    role: Role,
    en: &'static str,
    zh: &'static str,
    forms: &'static [&'static str],
}

macro_rules! concepts {
    ($($key:literal, $role:ident, $en:literal, $zh:literal, [$($form:literal),* $(,)?];)+) => {
        const CONCEPTS: &[Concept] = &[$(Concept { key: $key, role: Role::$role, en: $en, zh: $zh, forms: &[$($form),*] }),+];
    };
}

concepts! {
    "vpn", Thing, "VPN", "VPN", ["vpn", "anyconnect", "forticlient"];
    "wifi", Thing, "Wi-Fi", "Wi-Fi", ["wifi", "wi-fi", "wlan", "wireless", "无线", "无线网", "无线网络"];
    "network", Thing, "network", "网络", ["network", "internet", "lan", "网络", "网", "上网", "网速", "外网", "内网"];
    "printer", Thing, "printer", "打印机", ["printer", "print", "printing", "打印机", "打印"];
    "email", Thing, "email", "邮箱", ["email", "e-mail", "mail", "mailbox", "邮箱", "邮件"];
    "outlook", Thing, "Outlook", "Outlook", ["outlook"];
    "password", Thing, "password", "密码", ["password", "passwd", "pwd", "密码"];
    "account", Thing, "account", "账号", ["account", "username", "账号", "帐号", "账户", "帐户", "用户名"];
    "computer", Thing, "computer", "电脑", ["computer", "pc", "laptop", "desktop", "notebook", "电脑", "笔记本", "台式机", "主机"];
    "monitor", Thing, "monitor", "显示器", ["monitor", "screen", "display", "显示器", "屏幕", "显示屏"];
    "keyboard", Thing, "keyboard", "键盘", ["keyboard", "键盘"];
    "mouse", Thing, "mouse", "鼠标", ["mouse", "鼠标"];
    "share", Thing, "shared drive", "共享盘", ["share", "shared", "drive", "共享", "共享盘", "共享文件夹", "网盘"];
    "permission", Thing, "permission", "权限", ["permission", "privilege", "authorization", "authorisation", "权限", "授权"];
    "database", Thing, "database", "数据库", ["database", "db", "数据库"];
    "phone", Thing, "phone", "电话", ["phone", "telephone", "电话", "座机", "分机"];
    "login", Action, "login", "登录", ["login", "logon", "signin", "log-in", "登录", "登陆", "登入"];
    "install", Action, "installation", "安装", ["install", "installation", "安装"];
    "create", Action, "creation", "开通", ["create", "creation", "provision", "开通", "新建", "创建"];
    "reset", Action, "reset", "重置", ["reset", "重置", "找回"];
    "send", Action, "sending", "发送", ["send", "发送", "发不出", "发不出去"];
    "connect", Action, "connection", "连接", ["connect", "connection", "连接", "连不上", "连接不上", "连不了"];
    "disconnect", Symptom, "disconnects", "断线", ["disconnect", "drop", "dropout", "断线", "掉线", "断开", "断网", "经常掉线"];
    "slow", Symptom, "slow", "慢", ["slow", "lag", "laggy", "sluggish", "慢", "很慢", "卡", "很卡", "卡顿", "缓慢"];
    "error", Symptom, "error", "报错", ["error", "报错", "错误", "出错"];
    "crash", Symptom, "crashes", "崩溃", ["crash", "freeze", "hang", "崩溃", "闪退", "死机", "卡死"];
    "jam", Symptom, "paper jam", "卡纸", ["jam", "卡纸"];
    "blank", Symptom, "black screen", "黑屏", ["black", "blank", "黑屏", "蓝屏", "花屏"];
    "boot", Symptom, "won't boot", "开不了机", ["boot", "开不了机", "开机", "无法开机", "启动不了"];
    "timeout", Symptom, "timeout", "超时", ["timeout", "超时"];
    "open_fail", Symptom, "won't open", "打不开", ["打不开", "无法打开"];
    "full", Symptom, "full", "已满", ["full", "quota", "已满", "空间不足"];
    "expired", Symptom, "expired", "过期", ["expired", "expire", "过期", "到期"];
    "locked", Symptom, "locked", "锁定", ["locked", "lockout", "锁定", "被锁"];
    "broken", Symptom, "broken", "故障", ["broken", "faulty", "fault", "故障", "坏了", "失灵"];
}

const EN_STOP: &[&str] = &[
    "a",
    "about",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "asap",
    "at",
    "be",
    "been",
    "before",
    "being",
    "but",
    "by",
    "can",
    "cannot",
    "cant",
    "could",
    "day",
    "dear",
    "did",
    "do",
    "does",
    "doesn",
    "doesnt",
    "don",
    "dont",
    "each",
    "every",
    "few",
    "fix",
    "for",
    "from",
    "get",
    "gets",
    "getting",
    "got",
    "had",
    "has",
    "have",
    "having",
    "he",
    "hello",
    "help",
    "her",
    "hi",
    "him",
    "his",
    "hour",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "isn",
    "issue",
    "it",
    "its",
    "just",
    "keep",
    "keeps",
    "know",
    "last",
    "like",
    "me",
    "minute",
    "monday",
    "morning",
    "my",
    "need",
    "needs",
    "never",
    "new",
    "no",
    "not",
    "now",
    "of",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "out",
    "please",
    "problem",
    "re",
    "regards",
    "same",
    "see",
    "she",
    "should",
    "since",
    "so",
    "some",
    "still",
    "such",
    "system",
    "team",
    "than",
    "thank",
    "thanks",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "time",
    "to",
    "today",
    "too",
    "trouble",
    "try",
    "tried",
    "unable",
    "up",
    "urgent",
    "us",
    "use",
    "used",
    "using",
    "very",
    "want",
    "was",
    "wasn",
    "we",
    "week",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "why",
    "will",
    "with",
    "won",
    "wont",
    "work",
    "working",
    "would",
    "yesterday",
    "you",
    "your",
];

const ZH_STOP: &[&str] = &[
    "的", "了", "是", "我", "你", "他", "她", "在", "有", "和", "就", "不", "也", "都", "而", "及",
    "与", "着", "或", "一个", "没有", "我们", "你们", "他们", "这", "那", "请", "帮忙", "帮",
    "一下", "问题", "无法", "不能", "不了", "吗", "呢", "啊", "吧", "现在", "今天", "昨天", "时候",
    "出现", "一直", "经常", "总是", "突然", "提示", "需要", "申请", "麻烦", "谢谢", "您好", "你好",
    "紧急", "尽快", "处理", "情况", "怎么", "什么", "还是", "一样", "已经", "可以", "使用", "正常",
    "系统", "小时", "一次", "每次", "其他", "同事", "部门", "上午", "下午", "早上", "今早", "一些",
    "所有", "影响", "工作", "没法", "还", "又", "很", "都是", "但是", "因为", "所以", "如果",
    "然后", "进行", "发现", "感觉", "好像", "重启", "无效", "报修", "协助", "查看", "老是",
];

static STOP: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| EN_STOP.iter().chain(ZH_STOP).copied().collect());

/// Every surface form → its concept's key.
static FORMS: LazyLock<std::collections::HashMap<&'static str, &'static str>> =
    LazyLock::new(|| {
        CONCEPTS
            .iter()
            .flat_map(|c| c.forms.iter().map(move |f| (*f, c.key)))
            .collect()
    });

/// jieba's 30,000 most frequent words (its MIT-licensed dict.txt, sorted by
/// frequency): the full 349,000-word dictionary costs a daemon ≈ 32 MiB of
/// memory for as long as it runs; rare words it would keep whole are cut
/// into common ones, which the clustering hardly notices.
const DICTIONARY: &str = include_str!("jieba_top30k.txt");

/// That dictionary plus our Chinese concept forms, so "开不了机" or
/// "连不上" stay one word instead of being cut into function characters.
static JIEBA: LazyLock<Jieba> = LazyLock::new(|| {
    let mut jieba = Jieba::with_dict(&mut DICTIONARY.as_bytes())
        .expect("the bundled jieba dictionary is well-formed");
    for concept in CONCEPTS {
        for form in concept.forms.iter().filter(|f| f.chars().any(is_cjk)) {
            jieba.add_word(form, Some(50_000), None);
        }
    }
    jieba
});

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// The keywords of a ticket, most telling first: the subject's, then the
/// start of the description's, without repeats, at most `MAX_KEYWORDS`.
pub fn extract(subject: &str, description: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let description: String = description.chars().take(DESCRIPTION_CHARS).collect();
    for text in [subject, description.as_str()] {
        for word in words(text) {
            if out.len() == MAX_KEYWORDS {
                return out;
            }
            if !out.contains(&word) {
                out.push(word);
            }
        }
    }
    out
}

/// English phrases that are one keyword; replaced before the text is cut.
const PHRASES: &[(&str, &str)] = &[
    ("wi-fi", "wifi"),
    ("e-mail", "email"),
    ("log-in", "login"),
    ("log in", "login"),
    ("log on", "login"),
    ("logging in", "login"),
    ("logged in", "login"),
    ("sign in", "login"),
    ("signing in", "login"),
    ("paper jam", "jam"),
    ("blue screen", "blank"),
    ("time out", "timeout"),
    ("timed out", "timeout"),
];

/// Every normalised keyword of `text`, in order, repeats included.
fn words(text: &str) -> Vec<String> {
    let mut lower = text.to_lowercase();
    for (phrase, word) in PHRASES {
        if lower.contains(phrase) {
            lower = lower.replace(phrase, word);
        }
    }
    JIEBA
        .cut(&lower, false)
        .into_iter()
        .filter_map(|token| normalise(token.word))
        .collect()
}

fn normalise(token: &str) -> Option<String> {
    let token = token.trim_matches(|c: char| !c.is_alphanumeric() && c != '-');
    if token.is_empty() || STOP.contains(token) {
        return None;
    }
    if let Some(key) = FORMS.get(token) {
        return Some((*key).to_string());
    }
    if token.chars().any(is_cjk) {
        // A lone character is almost always a function word ("的", "把");
        // the meaningful ones are concept forms, handled above.
        return (token.chars().count() > 1).then(|| token.to_string());
    }
    let digits = token.chars().filter(char::is_ascii_digit).count();
    let starts_with_digit = token.starts_with(|c: char| c.is_ascii_digit());
    if token.chars().count() < 2
        || starts_with_digit
        || digits * 2 > token.len()
        || !token.is_ascii()
    {
        return None; // error codes, ticket numbers, times, "3rd", stray letters
    }
    let stem = stem(token);
    if STOP.contains(stem.as_str()) {
        return None;
    }
    Some(
        FORMS
            .get(stem.as_str())
            .map_or(stem, |key| (*key).to_string()),
    )
}

/// Enough English stemming to fold plurals and tenses: "disconnects",
/// "disconnected", "disconnecting" → "disconnect"; "dropping" → "drop".
fn stem(word: &str) -> String {
    let w = word.trim_end_matches("'s");
    let strip = |suffix: &str, min: usize| w.strip_suffix(suffix).filter(|s| s.len() >= min);
    let undouble = |s: &str| {
        let b = s.as_bytes();
        if b.len() >= 3
            && b[b.len() - 1] == b[b.len() - 2]
            && !matches!(b[b.len() - 1], b'l' | b's' | b'z')
        {
            s[..s.len() - 1].to_string()
        } else {
            s.to_string()
        }
    };
    if let Some(s) = strip("ies", 3) {
        return format!("{s}y");
    }
    for suffix in ["sses", "shes", "ches", "xes"] {
        if let Some(s) = strip(suffix, 2) {
            return format!("{s}{}", &suffix[..suffix.len() - 2]);
        }
    }
    if let Some(s) = strip("ing", 3) {
        return undouble(s);
    }
    if let Some(s) = strip("ed", 3) {
        return undouble(s);
    }
    if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && w.len() > 3 {
        return w[..w.len() - 1].to_string();
    }
    w.to_string()
}

/// A keyword's role, for label order; words we have no concept for are things
/// (mostly product names: "CRM", "SAP", "Teams").
pub fn role(keyword: &str) -> Role {
    concept(keyword).map_or(Role::Thing, |c| c.role)
}

fn concept(keyword: &str) -> Option<&'static Concept> {
    CONCEPTS.iter().find(|c| c.key == keyword)
}

/// How a keyword reads in a label: the concept's label, an acronym in capitals
/// ("crm" → "CRM"), other English words as written, Chinese as is.
pub fn display(keyword: &str, lang: Lang) -> String {
    if let Some(c) = concept(keyword) {
        return match lang {
            Lang::En => c.en,
            Lang::ZhCn => c.zh,
        }
        .to_string();
    }
    if keyword.is_ascii() && keyword.len() <= 3 && keyword.chars().all(|c| c.is_ascii_alphabetic())
    {
        return keyword.to_ascii_uppercase();
    }
    keyword.to_string()
}

/// A cluster's name from its keywords: things, then actions, then symptoms,
/// e.g. ["disconnect", "vpn"] → "VPN disconnects" / "VPN 断线".
pub fn label(keywords: &[&str], lang: Lang) -> String {
    let mut ordered: Vec<&str> = keywords.to_vec();
    ordered.sort_by_key(|k| role(k));
    let mut out = String::new();
    for word in ordered.iter().map(|k| display(k, lang)) {
        let joins_cjk = lang == Lang::ZhCn
            && out.chars().last().is_some_and(is_cjk)
            && word.chars().next().is_some_and(is_cjk);
        if !out.is_empty() && !joins_cjk {
            out.push(' ');
        }
        out.push_str(&word);
    }
    capitalise(&out)
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_normalised_keywords_from_chinese_and_english() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("VPN断线", "", &["vpn", "disconnect"]),
            ("VPN 经常断线，每小时掉线一次", "", &["vpn", "disconnect"]),
            (
                "VPN disconnects every hour",
                "Since Monday the VPN drops with error 809.",
                &["vpn", "disconnect", "error"],
            ),
            ("VPN keeps dropping", "", &["vpn", "disconnect"]),
            // "每页" is too rare for the bundled dictionary: cut into single
            // characters, it is dropped like a function word.
            ("打印机卡纸", "三楼打印机每页都卡纸", &["printer", "jam"]),
            (
                "Printer paper jam on 3rd floor",
                "",
                &["printer", "jam", "floor"],
            ),
            ("电脑开不了机", "", &["computer", "boot"]),
            (
                "CRM 登录报错",
                "10:00 登录 CRM 提示“数据库连接超时”",
                &["crm", "login", "error", "database", "connect", "timeout"],
            ),
            (
                "Cannot log in to CRM: error",
                "",
                &["login", "crm", "error"],
            ),
            ("Outlook 无法发送邮件", "", &["outlook", "send", "email"]),
            ("wifi连不上", "", &["wifi", "connect"]),
            ("申请开通ERP系统账号", "", &["create", "erp", "account"]),
            ("显示器黑屏", "", &["monitor", "blank"]),
            ("Password reset please", "", &["password", "reset"]),
            ("Re: help!!!", "", &[]),
            ("IT20231001001 12:30 …", "", &[]),
        ];
        for (subject, description, expected) in cases {
            assert_eq!(
                extract(subject, description),
                *expected,
                "{subject} / {description}"
            );
        }
    }

    #[test]
    fn keeps_at_most_six_subject_first() {
        let k = extract(
            "VPN Outlook printer keyboard mouse monitor database",
            "share",
        );
        assert_eq!(
            k,
            ["vpn", "outlook", "printer", "keyboard", "mouse", "monitor"]
        );
    }

    #[test]
    fn stems_plurals_and_tenses() {
        let cases = [
            ("disconnects", "disconnect"),
            ("disconnected", "disconnect"),
            ("disconnecting", "disconnect"),
            ("dropping", "drop"),
            ("crashes", "crash"),
            ("printers", "printer"),
            ("policies", "policy"),
            ("access", "access"),
            ("status", "status"),
            ("jammed", "jam"),
        ];
        for (word, expected) in cases {
            assert_eq!(stem(word), expected, "{word}");
        }
    }

    #[test]
    fn labels_put_the_thing_first() {
        let cases: &[(&[&str], Lang, &str)] = &[
            (&["disconnect", "vpn"], Lang::En, "VPN disconnects"),
            (&["disconnect", "vpn"], Lang::ZhCn, "VPN 断线"),
            (&["jam", "printer"], Lang::ZhCn, "打印机卡纸"),
            (&["printer", "jam"], Lang::En, "Printer paper jam"),
            (&["crm", "login"], Lang::En, "CRM login"),
            (&["login", "crm"], Lang::ZhCn, "CRM 登录"),
            (&["computer", "boot"], Lang::En, "Computer won't boot"),
            (&["三楼", "printer"], Lang::ZhCn, "三楼打印机"),
            (&["teams"], Lang::En, "Teams"),
        ];
        for (keywords, lang, expected) in cases {
            assert_eq!(label(keywords, *lang), *expected, "{keywords:?}");
        }
    }
}
