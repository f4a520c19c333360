//! Reads a requester's answer to "resolved — please confirm and rate 1–5 stars".
//!
//! Invariant: when the answer cannot be read with confidence (no recognised
//! word, a rating outside 1–5, two different ratings) the result is `Unclear`;
//! a rejection anywhere in the answer always wins over a confirmation.

use std::sync::LazyLock;

use regex::Regex;

use super::classify::word_matches;
use super::ReplyIntent;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Confirm,
    Reject,
    /// "无法确认": recognised so that the "确认" inside it does not count.
    Neutral,
    /// A numeric rating; 0 or above 5 makes the reply unclear.
    Stars(u32),
    /// A satisfaction word ("满意" = 4); used only when there is no number.
    Words(u32),
}

use Kind::*;

/// Comma-separated phrases. A phrase inside a longer recognised one does not
/// count ("解决" in "没解决", "fixed" in "not fixed"), so order does not matter.
const CONFIRM: &str = "yes, yep, yeah, yup, fixed, works now, working now, it works, works, worked, resolved,
    solved, ok, okay, confirmed, confirm, all good, good now, no problem, no issues, no more issues, all set,
    perfect, 已解决, 解决了, 已经解决, 已恢复正常, 恢复正常, 已恢复, 恢复了, 正常了, 好了, 确认, 可以了,
    没问题了, 没问题, 没有问题, 已修复, 修好了, 搞定, 能用了, 好用了";
const REJECT: &str = "no, nope, not fixed, isn't fixed, still broken, still not, still doesn't, still failing,
    still the same, still an issue, still having, still happening, doesn't work, does not work, didn't work,
    did not work, not working, isn't working, stopped working, not resolved, unresolved, not solved,
    same problem, same issue, happening again, happened again, broken again, broke again, didn't help,
    did not help, not ok, not okay, not yet, 还是不行, 不行, 没解决, 未解决, 没有解决, 仍然, 依然, 依旧,
    还有问题, 有问题, 没好, 没有好, 又出现, 又坏了, 没修好, 不能用, 用不了, 不正常, 不可以, 没恢复, 未恢复,
    没有恢复";
/// Recognised only so that the "确认" inside "无法确认" does not confirm.
const NEUTRAL: &str = "无法确认, 不确认, 不确定, not sure, unsure, can't confirm, cannot confirm";
/// Satisfaction words by the stars they mean.
const SATISFACTION: [(u32, &str); 5] = [
    (5, "非常满意, 十分满意, 很满意, 特别满意, very satisfied"),
    (4, "满意, 比较满意, satisfied"),
    (3, "一般"),
    (
        2,
        "不满意, 不太满意, not satisfied, dissatisfied, unsatisfied",
    ),
    (1, "非常不满意, 很不满意, 十分不满意, very dissatisfied"),
];

static PHRASES: LazyLock<Vec<(&'static str, Kind)>> = LazyLock::new(|| {
    let kinds = [(Confirm, CONFIRM), (Reject, REJECT), (Neutral, NEUTRAL)];
    let words = SATISFACTION
        .iter()
        .map(|&(stars, list)| (Words(stars), list));
    kinds
        .into_iter()
        .chain(words)
        .flat_map(|(kind, list)| {
            list.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(move |p| (p, kind))
        })
        .collect()
});

/// In each pattern `n` is the rating, `q` an optional unit or denominator that
/// decides whether it is one, and `tok` the text the rating occupies.
static RATINGS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // "4 stars", "4星", "五星", "4分" — but "5分钟" is five minutes.
        r"(?P<tok>(?P<n>\d{1,3}|[一二两三四五]|\b(?:one|two|three|four|five)\b)\s*(?:颗|个)?\s*(?P<q>stars?\b|星|分钟|分))",
        // "4/5", "4 out of 5"; other fractions ("10/3") are dates, not ratings.
        r"(?P<tok>(?P<n>\d{1,3})\s*(?:/|out of|of)\s*(?P<q>\d{1,3})\b)",
        r"(?P<tok>(?:评分|打分|评价|满意度|rating|score)\s*[:：为是]?\s*(?P<n>\d{1,3}))",
        // A number alone, or leading/trailing the reply: "5", "5 - thanks", "fixed, 5".
        r"^\s*(?P<tok>(?P<n>\d{1,3}))\s*(?:$|[-–—,，.。!！~～;；])",
        r"(?:^|[\s,，、])(?P<tok>(?P<n>\d{1,3}))\s*[.。!！]?\s*$",
    ]
    .iter()
    .map(|p| Regex::new(&format!("(?i){p}")).expect("static regex"))
    .collect()
});

/// Star glyphs; U+FE0F is the emoji presentation selector phones put after ⭐.
static GLYPHS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new("[★☆⭐✩\u{FE0F}]+").expect("static regex"));

#[derive(Debug, Clone, Copy)]
struct Token {
    start: usize,
    end: usize,
    kind: Kind,
}

/// A confirmation is a short answer; only its start is read, which also bounds
/// the work done on a long message.
const READ_CHARS: usize = 2000;

pub fn parse_reply(text: &str) -> ReplyIntent {
    let whole = text.trim();
    let text = whole
        .char_indices()
        .nth(READ_CHARS)
        .map_or(whole, |(end, _)| &whole[..end]);
    // ASCII lowercasing keeps byte offsets, so spans found here cut `text`.
    let lower = text.to_ascii_lowercase();
    let tokens = outermost(tokens(&lower));
    let has = |k: Kind| tokens.iter().any(|t| t.kind == k);
    if has(Reject) {
        // The whole answer is the remark: "still broken since 10:00" loses its
        // sense when cut into pieces around "still broken".
        let said_more = remainder(text, &tokens).is_some();
        return ReplyIntent::Reject {
            remark: said_more.then(|| whole.to_string()),
        };
    }
    let numbers = distinct(tokens.iter().filter_map(|t| match t.kind {
        Stars(n) => Some(n),
        _ => None,
    }));
    let words = distinct(tokens.iter().filter_map(|t| match t.kind {
        Words(n) => Some(n),
        _ => None,
    }));
    let stars = match (numbers.as_slice(), words.as_slice()) {
        ([], []) => None,
        ([n], _) | ([], [n]) if (1..=5).contains(n) => Some(*n as u8),
        _ => return ReplyIntent::Unclear,
    };
    if stars.is_none() && !has(Confirm) {
        return ReplyIntent::Unclear;
    }
    ReplyIntent::Confirm {
        stars,
        remark: remainder(text, &tokens),
    }
}

fn tokens(lower: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for (phrase, kind) in PHRASES.iter() {
        out.extend(word_matches(lower, phrase).map(|i| Token {
            start: i,
            end: i + phrase.len(),
            kind: *kind,
        }));
    }
    for m in GLYPHS.find_iter(lower) {
        let filled = m
            .as_str()
            .chars()
            .filter(|c| matches!(c, '★' | '⭐'))
            .count();
        out.push(Token {
            start: m.start(),
            end: m.end(),
            kind: Stars(filled as u32),
        });
    }
    for re in RATINGS.iter() {
        for c in re.captures_iter(lower) {
            let Some(n) = c.name("n").and_then(|m| number(m.as_str())) else {
                continue;
            };
            let n = match c.name("q").map(|m| m.as_str()) {
                Some("分钟") => continue,
                // Out of ten is not rescaled: the reply is unclear and gets asked again.
                Some("10") => 0,
                Some(d) if d != "5" && d.bytes().all(|b| b.is_ascii_digit()) => continue,
                _ => n,
            };
            if let Some(tok) = c.name("tok") {
                out.push(Token {
                    start: tok.start(),
                    end: tok.end(),
                    kind: Stars(n),
                });
            }
        }
    }
    out
}

fn number(s: &str) -> Option<u32> {
    let n = match s {
        "一" | "one" => 1,
        "二" | "两" | "two" => 2,
        "三" | "three" => 3,
        "四" | "four" => 4,
        "五" | "five" => 5,
        digits => digits.parse().ok()?,
    };
    Some(n)
}

/// Drops tokens lying inside a longer one: "不满意" inside "非常不满意",
/// "满意" inside "不满意", "fixed" inside "not fixed".
fn outermost(tokens: Vec<Token>) -> Vec<Token> {
    let inside = |t: &Token, o: &Token| {
        o.start <= t.start && t.end <= o.end && o.end - o.start > t.end - t.start
    };
    tokens
        .iter()
        .filter(|t| !tokens.iter().any(|o| inside(t, o)))
        .copied()
        .collect()
}

fn distinct(values: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut v: Vec<u32> = values.collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The text outside the recognised tokens, pieces trimmed of separators.
fn remainder(text: &str, tokens: &[Token]) -> Option<String> {
    let mut spans: Vec<(usize, usize)> = tokens.iter().map(|t| (t.start, t.end)).collect();
    spans.sort_unstable();
    let mut pieces = Vec::new();
    let mut pos = 0;
    for (start, end) in spans {
        if start > pos {
            pieces.push(&text[pos..start]);
        }
        pos = pos.max(end);
    }
    pieces.push(&text[pos..]);
    let is_sep = |c: char| c.is_whitespace() || ",，、;；:：-–—~～|/".contains(c);
    let remark = pieces
        .iter()
        .map(|p| {
            p.trim_start_matches(|c: char| is_sep(c) || ".。!！?？".contains(c))
                .trim_end_matches(is_sep)
        })
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    remark.chars().any(char::is_alphanumeric).then_some(remark)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn confirm(stars: Option<u8>, remark: Option<&str>) -> ReplyIntent {
        ReplyIntent::Confirm {
            stars,
            remark: remark.map(str::to_string),
        }
    }

    fn reject(remark: Option<&str>) -> ReplyIntent {
        ReplyIntent::Reject {
            remark: remark.map(str::to_string),
        }
    }

    #[test]
    fn reads_replies() {
        use ReplyIntent::Unclear;
        let cases: Vec<(&str, ReplyIntent)> = vec![
            ("yes", confirm(None, None)),
            ("Yes, it works now. Thanks!", confirm(None, Some("Thanks!"))),
            ("Fixed", confirm(None, None)),
            ("works now", confirm(None, None)),
            ("Resolved, thank you", confirm(None, Some("thank you"))),
            ("OK", confirm(None, None)),
            ("已解决", confirm(None, None)),
            ("已恢复正常", confirm(None, None)),
            ("好了，谢谢！", confirm(None, Some("谢谢！"))),
            ("确认", confirm(None, None)),
            ("可以了", confirm(None, None)),
            ("没问题了", confirm(None, None)),
            ("5", confirm(Some(5), None)),
            ("4/5", confirm(Some(4), None)),
            ("4 stars", confirm(Some(4), None)),
            ("1 star", confirm(Some(1), None)),
            ("★★★★☆", confirm(Some(4), None)),
            ("⭐\u{FE0F}⭐\u{FE0F}⭐\u{FE0F}", confirm(Some(3), None)),
            ("4星 很快", confirm(Some(4), Some("很快"))),
            ("五星", confirm(Some(5), None)),
            ("三星，有点慢", confirm(Some(3), Some("有点慢"))),
            ("4分", confirm(Some(4), None)),
            ("非常满意", confirm(Some(5), None)),
            ("满意", confirm(Some(4), None)),
            ("一般", confirm(Some(3), None)),
            ("不满意", confirm(Some(2), None)),
            ("非常不满意，等了三天", confirm(Some(1), Some("等了三天"))),
            (
                "5 - thanks, quick fix!",
                confirm(Some(5), Some("thanks, quick fix!")),
            ),
            (
                "Fixed, 5 stars, great job",
                confirm(Some(5), Some("great job")),
            ),
            ("fixed, 5", confirm(Some(5), None)),
            (
                "已解决 ★★★★★ 师傅很专业",
                confirm(Some(5), Some("师傅很专业")),
            ),
            ("好了，5分钟就修好了", confirm(None, Some("5分钟就"))),
            ("5星，非常满意", confirm(Some(5), None)),
            ("rating: 4", confirm(Some(4), None)),
            ("评分：3", confirm(Some(3), None)),
            ("four stars", confirm(Some(4), None)),
            ("no problem, all good", confirm(None, None)),
            ("没有问题", confirm(None, None)),
            ("no", reject(None)),
            (
                "No, still broken after a restart",
                reject(Some("No, still broken after a restart")),
            ),
            ("still broken", reject(None)),
            ("not fixed", reject(None)),
            ("It doesn't work", reject(Some("It doesn't work"))),
            ("还是不行", reject(None)),
            (
                "还是不行，打印机还是卡纸",
                reject(Some("还是不行，打印机还是卡纸")),
            ),
            ("没解决", reject(None)),
            ("未解决", reject(None)),
            ("没有解决", reject(None)),
            ("仍然连不上", reject(Some("仍然连不上"))),
            ("还有问题", reject(None)),
            ("5星，但还是不行", reject(Some("5星，但还是不行"))),
            (
                "好了一会儿，现在又坏了",
                reject(Some("好了一会儿，现在又坏了")),
            ),
            (
                "Yes but same problem on the second PC",
                reject(Some("Yes but same problem on the second PC")),
            ),
            ("", Unclear),
            ("   ", Unclear),
            ("谢谢", Unclear),
            ("thanks", Unclear),
            ("When will the technician come?", Unclear),
            ("6", Unclear),
            ("0 stars", Unclear),
            ("6星", Unclear),
            ("10/10", Unclear),
            ("100分", Unclear),
            ("☆☆☆☆☆", Unclear),
            ("3 stars, or rather 5 stars", Unclear),
            ("4/5 ★★★★★", Unclear),
            ("无法确认", Unclear),
            (
                "fixed on 10/3, thanks",
                confirm(None, Some("on 10/3, thanks")),
            ),
            ("已解决，十分感谢", confirm(None, Some("十分感谢"))),
        ];
        assert!(cases.len() >= 40);
        for (input, want) in cases {
            assert_eq!(parse_reply(input), want, "input: {input:?}");
        }
    }
}
