//! Separates what the requester wrote from quoted history, signatures and
//! mobile footers, with Chinese and English mail-client markers.
//!
//! Invariant: the result is never empty when the input had text — if stripping
//! would leave nothing, the trimmed input is returned instead.

use std::sync::LazyLock;

use regex::Regex;

/// `-----Original Message-----`, `-----原始邮件-----`, QQ mail's long-dash form.
static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*-{2,}\s*(?:original message|原始邮件|原邮件|回复的原邮件|邮件原文)\s*-{2,}\s*$",
    )
    .expect("static regex")
});

/// The end of a reply attribution; `ATTRIBUTION_START` adds the context (a
/// date, an address, "On …") that keeps prose like "日志里写道：" out.
static ATTRIBUTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(?:\bwrote|写道)\s*[:：]\s*$").expect("static regex"));

static ATTRIBUTION_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:on\s|在\s*\d|在\s*\S{0,40}\d)|@|于\s*\d").expect("static regex")
});

/// The first line of an Outlook header block (`From:` / `发件人:`), possibly
/// bold-marked by the HTML conversion.
static BLOCK_FROM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\**\s*(?:from|发件人)\s*\**\s*[:：]").expect("static regex")
});
static BLOCK_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\**\s*(?:sent|date|发送时间|时间|日期)\s*\**\s*[:：]")
        .expect("static regex")
});
static BLOCK_TO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*\**\s*(?:to|subject|收件人|主题)\s*\**\s*[:：]").expect("static regex")
});

static MOBILE_FOOTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^\s*(?:sent from my \S.{0,30}|sent from (?:outlook|mail|yahoo mail)\b.{0,30}",
        r"|get outlook for \S.{0,20}|(?:发自|来自)我的\s*\S.{0,15}|从我的\s*\S.{0,15}发送)\s*$",
    ))
    .expect("static regex")
});

/// What the requester wrote, without quoted history, signature or footer.
pub fn strip_quoted(body: &str) -> String {
    let split = split(body);
    non_empty_or_original(join(&split.own), body)
}

/// What the requester wrote including the signature (where their department and
/// extension usually are), without quoted history — so a quoted signature of
/// someone else is never taken for theirs.
pub fn own_text(body: &str) -> String {
    let split = split(body);
    let mut lines = split.own;
    lines.extend(split.signature);
    non_empty_or_original(join(&lines), body)
}

struct Split<'a> {
    own: Vec<&'a str>,
    signature: Vec<&'a str>,
}

fn split(body: &str) -> Split<'_> {
    let lines: Vec<&str> = body.lines().collect();
    let mut out = Split {
        own: Vec::new(),
        signature: Vec::new(),
    };
    let mut in_signature = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_quoted(line) || MOBILE_FOOTER.is_match(line) {
            i += 1;
            continue;
        }
        if let Some(len) = attribution_len(&lines[i..]) {
            i += len;
            // Bottom-posting: the quote is `>`-marked and the reply follows it.
            match lines[i..].iter().find(|l| !l.trim().is_empty()) {
                Some(next) if is_quoted(next) => continue,
                _ => break,
            }
        }
        if SEPARATOR.is_match(line) || is_header_block(&lines[i..]) {
            break;
        }
        if line.trim_end() == "--" {
            in_signature = true;
        } else if in_signature {
            out.signature.push(line);
        } else {
            out.own.push(line);
        }
        i += 1;
    }
    // Outlook puts a rule of underscores above the quoted header block.
    while out
        .own
        .last()
        .is_some_and(|l| l.trim().chars().all(|c| matches!(c, '_' | '-' | '=' | '*')))
    {
        out.own.pop();
    }
    out
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with(['>', '＞'])
}

/// Lines taken by an "On … wrote:" / "在 … 写道：" attribution starting here.
fn attribution_len(lines: &[&str]) -> Option<usize> {
    let first = lines.first()?;
    if first.chars().count() > 300 {
        return None;
    }
    if ATTRIBUTION.is_match(first) && ATTRIBUTION_START.is_match(first) {
        return Some(1);
    }
    // Split over two lines: "On Mon, Oct 2, 2023 at 4:00 PM Desk <d@x.com>" / "wrote:".
    let opening = first.trim_start();
    let starts = opening
        .get(..3)
        .is_some_and(|s| s.eq_ignore_ascii_case("on "))
        || opening.starts_with('在');
    let second = lines
        .get(1)
        .filter(|s| starts && s.chars().count() <= 200)?;
    let joined = format!("{} {}", first.trim_end(), second.trim_start());
    ATTRIBUTION.is_match(&joined).then_some(2)
}

/// `From:` followed within a few lines by a date line and a To/Subject line.
fn is_header_block(lines: &[&str]) -> bool {
    if !lines.first().is_some_and(|l| BLOCK_FROM.is_match(l)) {
        return false;
    }
    let next = &lines[1..lines.len().min(7)];
    next.iter().any(|l| BLOCK_DATE.is_match(l)) && next.iter().any(|l| BLOCK_TO.is_match(l))
}

fn join(lines: &[&str]) -> String {
    lines.join("\n").trim().to_string()
}

fn non_empty_or_original(stripped: String, original: &str) -> String {
    if stripped.is_empty() {
        original.trim().to_string()
    } else {
        stripped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_history_and_signatures() {
        let cases: &[(&str, &str)] = &[
            ("Still broken.\n\n> On Monday you said\n> restart it", "Still broken."),
            (
                "Still broken.\n\nOn Mon, Oct 2, 2023 at 10:00 AM IT Helpdesk <it@example.com> wrote:\n> restart it",
                "Still broken.",
            ),
            (
                "Thanks!\n\nOn Mon, Oct 2, 2023 at 10:00 AM IT Helpdesk\n<it@example.com> wrote:\n\n> restart it",
                "Thanks!",
            ),
            ("好了\n\n-----原始邮件-----\n发件人: IT\n内容", "好了"),
            (
                "还是不行\n\n------------------ 原始邮件 ------------------\n发件人: \"IT\"<it@x.cn>;\n发送时间: 2023年10月1日\n主题: 服务单",
                "还是不行",
            ),
            ("ok\n-----Original Message-----\nFrom: x\nhello", "ok"),
            (
                "Works now\n\n________________________________\nFrom: IT Helpdesk <it@example.com>\nSent: Monday, October 2, 2023 10:00 AM\nTo: Zhang San\nSubject: Resolved",
                "Works now",
            ),
            (
                "已恢复正常\n\n发件人: IT服务台 <it@example.com>\n发送时间: 2023年10月2日 10:00\n收件人: 张三\n主题: 服务单已解决",
                "已恢复正常",
            ),
            ("可以了\n\n在 2023年10月1日 10:00，IT服务台 <it@x.cn> 写道：\n> 请确认", "可以了"),
            ("收到\n张三 <zs@x.cn> 于2023年10月1日周日 10:00写道：\n请确认", "收到"),
            ("The printer jams.\n\n-- \nJohn Smith\nSales, ext 8001", "The printer jams."),
            ("打印机卡纸\n\n发自我的iPhone", "打印机卡纸"),
            ("VPN drops.\nSent from my iPhone\n\nOn Mon, Oct 2 x@y.com wrote:\n> hi", "VPN drops."),
            // Bottom-posting keeps the answer after the quote.
            ("On Mon, Oct 2, 2023 Bob <b@x.com> wrote:\n> Is it fixed?\n\nYes, fixed.", "Yes, fixed."),
            // Prose that merely mentions a source is not a quote marker.
            ("错误日志里写道：\nconnection refused", "错误日志里写道：\nconnection refused"),
            ("From: the start it failed\nto boot", "From: the start it failed\nto boot"),
        ];
        for (input, want) in cases {
            assert_eq!(strip_quoted(input), *want, "input: {input:?}");
        }
    }

    #[test]
    fn never_returns_empty_for_text() {
        assert_eq!(strip_quoted("> only a quote\n"), "> only a quote");
        assert_eq!(strip_quoted("-- \nsig"), "-- \nsig");
        assert_eq!(strip_quoted("  \n "), "");
    }

    #[test]
    fn own_text_keeps_the_signature_but_not_quotes() {
        let body = "打印机卡纸\n--\n张三\n部门：销售部\n\n-----原始邮件-----\n部门：IT部";
        assert_eq!(own_text(body), "打印机卡纸\n张三\n部门：销售部");
    }
}
