//! Recurring problems: tickets grouped by the keywords they share, so the team
//! reads "VPN disconnects: 14 tickets" instead of 14 lines.
//!
//! How: every keyword and every pair of keywords of a ticket is counted over
//! the period. Each ticket joins its most frequent pair (if that pair occurs in
//! at least `MIN_SUPPORT` tickets), else its most frequent single keyword (same
//! bar), else no cluster. A pair is preferred because it names a problem
//! ("VPN" + "disconnects"); a single word is the fallback for short subjects.
//! Keywords are already normalised across languages (see `keywords`), so
//! "VPN 断线" and "VPN disconnects every hour" land in the same cluster.
//!
//! Invariant: pure and deterministic; ties break on the keywords' text.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::keywords;
use crate::core::ticket::Lang;

/// A cluster smaller than this is not "recurring".
pub const MIN_SUPPORT: u64 = 2;
/// Example ticket IDs listed per cluster.
pub const EXAMPLES: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    pub label: String,
    /// The normalised keywords that define it.
    pub keywords: Vec<String>,
    pub count: u64,
    /// The first few tickets, in ID order.
    pub examples: Vec<String>,
}

/// Keyword text ↔ small number, so counting pairs hashes integers.
#[derive(Debug, Default)]
pub struct Interner {
    ids: HashMap<String, u32>,
    words: Vec<String>,
}

impl Interner {
    pub fn id(&mut self, word: &str) -> u32 {
        if let Some(id) = self.ids.get(word) {
            return *id;
        }
        let id = self.words.len() as u32;
        self.ids.insert(word.to_string(), id);
        self.words.push(word.to_string());
        id
    }

    pub fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }
}

/// One ticket: its ID and its keyword ids, most telling first.
#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub words: Vec<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Topic {
    Pair(u32, u32),
    Single(u32),
}

/// The `top` largest clusters of `docs` (given in ticket-ID order).
pub fn clusters(docs: &[Document], words: &Interner, lang: Lang, top: usize) -> Vec<Cluster> {
    with_members(docs, words, lang)
        .into_iter()
        .take(top)
        .map(|(cluster, _)| cluster)
        .collect()
}

/// Every recurring cluster of `docs`, largest first, with the indexes into
/// `docs` of all its tickets (the FAQ reads their fixes).
pub fn with_members(docs: &[Document], words: &Interner, lang: Lang) -> Vec<(Cluster, Vec<usize>)> {
    let mut singles: HashMap<u32, u64> = HashMap::new();
    let mut pairs: HashMap<(u32, u32), u64> = HashMap::new();
    for doc in docs {
        let set = dedup(&doc.words);
        for (i, a) in set.iter().enumerate() {
            *singles.entry(*a).or_default() += 1;
            for b in &set[i + 1..] {
                *pairs.entry(ordered(*a, *b)).or_default() += 1;
            }
        }
    }
    let mut members: HashMap<Topic, Vec<usize>> = HashMap::new();
    for (index, doc) in docs.iter().enumerate() {
        let set = dedup(&doc.words);
        // Most frequent first; among equals, the words that come earliest in
        // the ticket (the subject's), then the alphabetically first.
        let mut best: Option<Candidate> = None;
        for (i, a) in set.iter().enumerate() {
            for (j, b) in set.iter().enumerate().skip(i + 1) {
                let (x, y) = ordered(*a, *b);
                consider(&mut best, pairs[&(x, y)], i + j, Topic::Pair(x, y), words);
            }
        }
        if best.is_none() {
            for (i, a) in set.iter().enumerate() {
                consider(&mut best, singles[a], i, Topic::Single(*a), words);
            }
        }
        if let Some((_, _, _, topic)) = best {
            members.entry(topic).or_default().push(index);
        }
    }
    let mut out: Vec<(Vec<&str>, Vec<usize>)> = members
        .into_iter()
        .filter(|(_, idx)| idx.len() as u64 >= MIN_SUPPORT)
        .map(|(t, idx)| (keys(t, words), idx))
        .collect();
    out.sort_by(|(ka, a), (kb, b)| b.len().cmp(&a.len()).then_with(|| ka.cmp(kb)));
    out.into_iter()
        .map(|(keys, idx)| {
            let cluster = Cluster {
                label: keywords::label(&keys, lang),
                keywords: keys.iter().map(|k| k.to_string()).collect(),
                count: idx.len() as u64,
                examples: idx
                    .iter()
                    .take(EXAMPLES)
                    .map(|i| docs[*i].id.clone())
                    .collect(),
            };
            (cluster, idx)
        })
        .collect()
}

/// (support, position, keywords, topic) of a ticket's best topic so far.
type Candidate<'a> = (u64, usize, Vec<&'a str>, Topic);

fn consider<'a>(
    best: &mut Option<Candidate<'a>>,
    support: u64,
    position: usize,
    topic: Topic,
    words: &'a Interner,
) {
    if support < MIN_SUPPORT {
        return;
    }
    let keys = keys(topic, words);
    let better = match best {
        None => true,
        Some((s, p, k, _)) => {
            (
                support,
                std::cmp::Reverse(position),
                std::cmp::Reverse(&keys),
            ) > (*s, std::cmp::Reverse(*p), std::cmp::Reverse(&*k))
        }
    };
    if better {
        *best = Some((support, position, keys, topic));
    }
}

/// A topic's keywords in alphabetical order.
fn keys(topic: Topic, words: &Interner) -> Vec<&str> {
    let mut keys = match topic {
        Topic::Pair(a, b) => vec![words.word(a), words.word(b)],
        Topic::Single(a) => vec![words.word(a)],
    };
    keys.sort_unstable();
    keys
}

fn ordered(a: u32, b: u32) -> (u32, u32) {
    (a.min(b), a.max(b))
}

fn dedup(words: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(words.len());
    for w in words {
        if !out.contains(w) {
            out.push(*w);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::keywords::extract;

    fn run(subjects: &[(&str, &str)], lang: Lang) -> Vec<Cluster> {
        let mut words = Interner::default();
        let docs: Vec<Document> = subjects
            .iter()
            .enumerate()
            .map(|(i, (subject, body))| Document {
                id: format!("IT20231002{:03}", i + 1),
                words: extract(subject, body).iter().map(|w| words.id(w)).collect(),
            })
            .collect();
        clusters(&docs, &words, lang, 10)
    }

    fn summary(clusters: &[Cluster]) -> Vec<(String, u64)> {
        clusters
            .iter()
            .map(|c| (c.label.clone(), c.count))
            .collect()
    }

    const MIXED: &[(&str, &str)] = &[
        (
            "VPN disconnects every hour",
            "Since Monday the VPN drops with error 809.",
        ),
        ("VPN断线", "在家办公，VPN 每小时掉线一次"),
        ("VPN 经常掉线", ""),
        ("Printer paper jam", "3rd floor printer jams on every page"),
        ("打印机卡纸", "三楼打印机卡纸"),
        ("CRM 登录报错", "10:00 登录 CRM 提示“数据库连接超时”"),
        ("Cannot log in to CRM", "CRM login page says error 500"),
        (
            "VPN keeps dropping",
            "AnyConnect disconnects after a few minutes",
        ),
        ("新员工入职，申请开通邮箱账号", ""),
        (
            "Monitor flickers",
            "The left monitor flickers since this morning",
        ),
        ("打印机卡纸了", "财务部打印机"),
    ];

    #[test]
    fn groups_chinese_and_english_reports_of_the_same_problem() {
        let got = run(MIXED, Lang::En);
        assert_eq!(
            summary(&got),
            [
                ("VPN disconnects".to_string(), 4),
                ("Printer paper jam".into(), 3),
                ("CRM login".into(), 2)
            ]
        );
        assert_eq!(got[0].keywords, ["disconnect", "vpn"]);
        assert_eq!(
            got[0].examples,
            ["IT20231002001", "IT20231002002", "IT20231002003"],
            "first three in ID order"
        );
        let zh = run(MIXED, Lang::ZhCn);
        assert_eq!(
            summary(&zh),
            [
                ("VPN 断线".to_string(), 4),
                ("打印机卡纸".into(), 3),
                ("CRM 登录".into(), 2)
            ]
        );
    }

    /// (subject and description of each ticket, expected clusters).
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a [(&'a str, u64)]);

    #[test]
    fn falls_back_to_a_single_keyword_and_ignores_one_offs() {
        let cases: &[Case] = &[
            (
                &[("Outlook", ""), ("outlook?", ""), ("Excel macro", "")],
                &[("Outlook", 2)],
            ),
            (
                &[
                    ("Excel crashes", ""),
                    ("Zoom crashes", ""),
                    ("Excel crash on start", ""),
                ],
                &[("Excel crashes", 2)],
            ),
            (
                &[
                    ("wifi连不上", ""),
                    ("Wi-Fi cannot connect", ""),
                    ("无线网络连不上", "会议室"),
                ],
                &[("Wi-Fi connection", 3)],
            ),
            (
                &[("Keyboard broken", ""), ("Mouse broken", "")],
                &[("Broken", 2)],
            ),
            (&[("help", ""), ("", "")], &[]),
            (&[], &[]),
        ];
        for (subjects, expected) in cases {
            let got = summary(&run(subjects, Lang::En));
            let expected: Vec<(String, u64)> =
                expected.iter().map(|(l, n)| (l.to_string(), *n)).collect();
            assert_eq!(got, expected, "{subjects:?}");
        }
    }

    #[test]
    fn lists_only_the_top_clusters() {
        let mut subjects = Vec::new();
        for (subject, n) in [
            ("VPN disconnects", 5),
            ("Printer jam", 4),
            ("Outlook crashes", 3),
            ("Password reset", 2),
        ] {
            subjects.extend(std::iter::repeat_n((subject, ""), n));
        }
        let mut words = Interner::default();
        let docs: Vec<Document> = subjects
            .iter()
            .map(|(s, b)| Document {
                id: (*s).into(),
                words: extract(s, b).iter().map(|w| words.id(w)).collect(),
            })
            .collect();
        let got = clusters(&docs, &words, Lang::En, 2);
        assert_eq!(
            summary(&got),
            [
                ("VPN disconnects".to_string(), 5),
                ("Printer paper jam".into(), 4)
            ]
        );
    }
}
