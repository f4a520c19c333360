//! Problem type, urgency, expected time and vagueness of a request, from explicit
//! markers or Chinese/English keywords.
//!
//! Invariant: classification is total — every text gets a type (`other` when
//! unsure), an urgency (`default_urgency` when unsure) and never panics.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, OnceLock};

use aho_corasick::AhoCorasick;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::core::ticket::{ProblemType, Urgency, UrgencyLowered};

/// A keyword in the subject counts this many times one in the body.
const SUBJECT_WEIGHT: usize = 3;

/// Keyword tables; the config file can replace any field.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Rules {
    /// Keywords per `ProblemType` key.
    pub types: BTreeMap<String, Vec<String>>,
    /// Keywords per `Urgency` key.
    pub urgency: BTreeMap<String, Vec<String>>,
    pub default_urgency: Urgency,
    /// A description with less substance than this is vague unless it holds a
    /// concrete detail (a number, a quoted message, an error word). Substance is
    /// counted after dropping `vague_words`: one per CJK character, two per
    /// English word.
    pub vague_min_chars: usize,
    /// Words that say nothing about the problem ("电脑", "坏了", "help").
    pub vague_words: Vec<String>,
    /// Text saying the impact is small ("不影响工作", "no rush"): without a
    /// word from `impact_wide`, it lowers the urgency asked for to low.
    pub impact_minor: Vec<String>,
    /// Text saying many people or the business are stopped ("所有人",
    /// "outage"): the urgency asked for stands.
    pub impact_wide: Vec<String>,
    /// The tables above, compiled for matching at the first classification
    /// (so the fields are not to be changed after it: build new rules).
    #[serde(skip)]
    compiled: Compiled,
}

/// `Rules`' tables ready for matching, built once instead of per request.
#[derive(Clone, Default)]
struct Compiled(OnceLock<Arc<Tables>>);

impl PartialEq for Compiled {
    /// A cache: rules are equal by their tables.
    fn eq(&self, _: &Compiled) -> bool {
        true
    }
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Compiled")
    }
}

struct Tables {
    types: Table,
    urgency: Table,
    /// `impact_minor` under "minor", `impact_wide` under "wide".
    impact: Table,
    /// `vague_words` lower-cased, longest first.
    generic: Vec<String>,
}

/// A keyword table (key → keywords) as one Aho-Corasick automaton over its
/// distinct lower-cased keywords.
struct Table {
    /// `None` when the table has no keyword.
    matcher: Option<AhoCorasick>,
    /// Per pattern: the lower-cased keyword and its table keys, one per
    /// listing (a keyword listed twice under a key counts twice, as it always has).
    patterns: Vec<(String, Vec<String>)>,
}

impl Table {
    fn new(table: &BTreeMap<String, Vec<String>>) -> Table {
        let mut patterns: Vec<(String, Vec<String>)> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = Default::default();
        for (key, keywords) in table {
            for kw in keywords.iter().map(|k| k.to_lowercase()) {
                if kw.is_empty() {
                    continue;
                }
                let i = *index.entry(kw.clone()).or_insert_with(|| {
                    patterns.push((kw, Vec::new()));
                    patterns.len() - 1
                });
                patterns[i].1.push(key.clone());
            }
        }
        let matcher = (!patterns.is_empty()).then(|| {
            AhoCorasick::new(patterns.iter().map(|(kw, _)| kw)).expect("keyword automaton")
        });
        Table { matcher, patterns }
    }
}

/// A comma-separated keyword list; keywords may contain spaces and apostrophes.
fn words(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

impl Default for Rules {
    fn default() -> Self {
        let types = [
            (
                "hardware",
                "电脑, 笔记本, 台式机, 主机, 开不了机, 无法开机, 开机, 蓝屏, 黑屏, 死机, 显示器, 屏幕, 键盘, 鼠标,
                 打印机, 打印, 卡纸, 扫描仪, 硬盘, 内存, 电源, 耳机, 摄像头, 投影仪, 硬件, 電腦, 印表機, 螢幕,
                 顯示器, 鍵盤, 滑鼠, 硬碟, computer, laptop, pc, desktop, printer, monitor, screen, keyboard,
                 mouse, won't boot, wont boot, doesn't boot, no power, blue screen, bsod, hard drive, disk,
                 scanner, projector, headset, webcam, hardware, paper jam",
            ),
            (
                "software",
                "软件, 登录, 无法登录, 登不上, 登录不了, 报错, 错误, 崩溃, 闪退, 卡顿, 系统慢, 同步失败, 更新失败,
                 打不开, 无响应, 数据库, 登入, 無法登入, 軟體, 錯誤, crm, erp, oa, outlook, excel, application,
                 app, software, error, crash, freeze, can't log in, cannot log in, can't login, login, log in,
                 sign in, slow, sync, exception, database",
            ),
            (
                "network",
                "网络, 断网, 上不了网, 无法上网, 上网, 网速, 网线, 网口, 路由器, 交换机, 无线, 内网, 外网, 代理,
                 ip地址, 连不上, 掉线, 防火墙, 網路, 網絡, 斷網, 無線, wifi, wi-fi, vpn, dns, network, internet,
                 ethernet, router, proxy, ip address, offline, connectivity, lan, wlan, firewall",
            ),
            (
                "access",
                "权限, 开通, 开通账号, 新账号, 账号, 账户, 邮箱权限, 安装授权, 授权, 申请权限, 共享文件夹, 重置密码,
                 密码重置, 忘记密码, 解锁, 權限, 帳號, 開通, access, permission, account, new account, install,
                 license, licence, authorization, authorisation, reset password, password reset, unlock,
                 locked out, shared folder, onboarding",
            ),
        ];
        let urgency = [
            (
                "urgent",
                "紧急, 非常紧急, 十万火急, 业务中断, 全部无法, 全部断, 所有人, 全公司, 整个部门, 无法工作, 停工, 停产,
                 瘫痪, urgent, emergency, outage, down for everyone, all users, critical, business stopped,
                 cannot work, can't work",
            ),
            (
                "high",
                "严重, 影响工作, 很急, 着急, 急, high, serious, important, severe, affecting work, blocking",
            ),
            ("medium", ""),
            (
                "low",
                "不急, 不着急, 不紧急, 有空, 有空再看, 小问题, 方便时, 不影响工作, 不影响使用, 不影响办公, 不影响业务,
                 low, minor, when you have time, no rush, no hurry, not urgent, low priority, whenever,
                 doesn't affect work, does not affect work, not affecting work, not blocking",
            ),
        ];
        let table = |entries: &[(&str, &str)]| {
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), words(v)))
                .collect()
        };
        Rules {
            compiled: Compiled::default(),
            types: table(&types),
            urgency: table(&urgency),
            default_urgency: Urgency::Medium,
            vague_min_chars: 4,
            // "尽快" / "asap" ask for speed and say nothing of impact: they are in neither list.
            impact_minor: words(
                "不影响工作, 不影响使用, 不影响办公, 不影响业务, 暂不影响, 不耽误, 不急, 不着急, 不用着急, 不紧急,
                 有空再看, 有空的时候, 有空, 方便时, 小问题, no rush, no hurry, not urgent, when you have time,
                 whenever you can, doesn't affect work, does not affect work, not affecting work, not blocking,
                 low priority",
            ),
            impact_wide: words(
                "全部门无法, 全部门, 整个部门, 全公司, 所有人, 大家都, 全部同事, 多人, 生产停了, 生产线停, 停产, 停工,
                 业务中断, 瘫痪, 无法工作, outage, down for everyone, everyone, all users, whole team,
                 whole department, production down, production stopped, business stopped, cannot work,
                 can't work",
            ),
            vague_words: words(
                "电脑, 笔记本, 系统, 软件, 东西, 机器, 坏掉了, 坏了, 有问题, 出问题, 问题, 故障, 不行, 不好用, 用不了,
                 不能用, 没反应, 异常, 帮忙, 帮助, 求助, 救命, 看看, 看一下, 处理, 一下, 麻烦, 尽快, 紧急, 请, 你好,
                 您好, 谢谢, 了, 的, 我, 吗, 呢, 啊, 吧, computer, laptop, pc, system, it, my, the, a, an, is, are,
                 was, not, working, work, works, broken, broke, issue, issues, problem, problems, help, please,
                 hi, hello, dear, team, support, thanks, thank, you, urgent, asap, doesn't, does, isn't, can,
                 someone, something, wrong, with, there, this, me, i, am, need, fix, again, still, having, has,
                 have, some, any, ok",
            ),
        }
    }
}

impl Rules {
    fn tables(&self) -> &Tables {
        self.compiled.0.get_or_init(|| {
            let mut generic: Vec<String> =
                self.vague_words.iter().map(|w| w.to_lowercase()).collect();
            generic.sort_by_key(|w| std::cmp::Reverse(w.len()));
            let impact = BTreeMap::from([
                ("minor".to_string(), self.impact_minor.clone()),
                ("wide".to_string(), self.impact_wide.clone()),
            ]);
            Arc::new(Tables {
                types: Table::new(&self.types),
                urgency: Table::new(&self.urgency),
                impact: Table::new(&impact),
                generic,
            })
        })
    }

    /// Names every unknown key and empty keyword, so a config typo is caught at start.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        for key in self.types.keys().filter(|k| problem_type_key(k).is_none()) {
            problems.push(format!(
                "unknown problem type {key:?} (known: hardware, software, network, access, other)"
            ));
        }
        for key in self.urgency.keys().filter(|k| urgency_key(k).is_none()) {
            problems.push(format!(
                "unknown urgency {key:?} (known: urgent, high, medium, low)"
            ));
        }
        for (table, map) in [("types", &self.types), ("urgency", &self.urgency)] {
            for (key, keywords) in map {
                if keywords.iter().any(|w| w.trim().is_empty()) {
                    problems.push(format!("empty keyword in {table}.{key}"));
                }
            }
        }
        for (list, keywords) in [
            ("impact_minor", &self.impact_minor),
            ("impact_wide", &self.impact_wide),
        ] {
            if keywords.iter().any(|w| w.trim().is_empty()) {
                problems.push(format!("empty keyword in {list}"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    pub problem_type: ProblemType,
    pub urgency: Urgency,
    /// The urgency asked for (marker or keyword), when the text says the
    /// impact is smaller: `urgency` is then low.
    pub urgency_lowered: Option<UrgencyLowered>,
    /// 期望解决时间 in the requester's own words.
    pub expected_time: Option<String>,
    pub vague: bool,
}

pub fn classify(rules: &Rules, subject: &str, body: &str) -> Classification {
    let subject = SUBJECT_PREFIX.replace(subject, "");
    let (mut marked_type, mut marked_urgency) = subject_markers(&subject);
    for (t, u) in [key_value_markers(&subject), key_value_markers(body)] {
        marked_type = marked_type.or(t);
        marked_urgency = marked_urgency.or(u);
    }
    let tables = rules.tables();
    let problem_type = marked_type
        .or_else(|| best_key(&tables.types, &subject, body).and_then(problem_type_key))
        .unwrap_or(ProblemType::Other);
    let asked =
        marked_urgency.or_else(|| best_key(&tables.urgency, &subject, body).and_then(urgency_key));
    let (urgency, urgency_lowered) = match minor_impact(&tables.impact, &subject, body) {
        Some(cue) => match asked {
            Some(from) if from != Urgency::Low => {
                (Urgency::Low, Some(UrgencyLowered { from, cue }))
            }
            _ => (Urgency::Low, None),
        },
        None => (asked.unwrap_or(rules.default_urgency), None),
    };
    Classification {
        problem_type,
        urgency,
        urgency_lowered,
        expected_time: expected_time(&subject).or_else(|| expected_time(body)),
        vague: is_vague(rules, &tables.generic, &subject, body),
    }
}

/// The first words saying the impact is minor, unless others say it is wide.
fn minor_impact(table: &Table, subject: &str, body: &str) -> Option<String> {
    let text = format!("{subject}\n{body}").to_lowercase();
    let hits = outermost(&matched_hits(table, &text));
    if hits.iter().any(|(_, _, key)| *key == "wide") {
        return None;
    }
    hits.iter()
        .filter(|(_, _, key)| *key == "minor")
        .min_by_key(|(start, _, _)| *start)
        .map(|(start, end, _)| text[*start..*end].to_string())
}

fn problem_type_key(key: &str) -> Option<ProblemType> {
    ProblemType::ALL.iter().copied().find(|t| t.key() == key)
}

fn urgency_key(key: &str) -> Option<Urgency> {
    Urgency::ALL.iter().copied().find(|u| u.key() == key)
}

/// Reply/forward prefixes, repeated (`Re: 回复: Fwd:`).
static SUBJECT_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:(?:re|fw|fwd|aw|wg|回复|答复|转发)\s*(?:\[\d+\])?\s*[:：]\s*)+")
        .expect("static regex")
});

static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\[【(（]\s*([^\]】)）\[【(（]{1,24}?)\s*[\]】)）]").expect("static regex")
});

static LEADING_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*([^\s:：!！]{1,12})\s*[:：!！]").expect("static regex"));

static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?:^|[^\w-])(?:(?P<u>紧急程度|紧急度|优先级|urgency|priority)|(?P<t>问题类型|问题分类|type|category))",
        r"\s*[:：]\s*(?P<v>[^\s,，;；。.、]+)",
    ))
    .expect("static regex")
});

/// `[紧急]`, `【网络】`, `[urgent][hardware]`, or a leading `urgent:`.
fn subject_markers(subject: &str) -> (Option<ProblemType>, Option<Urgency>) {
    let leading = LEADING_WORD.captures(subject).map(|c| c[1].to_string());
    let tags = TAG.captures_iter(subject).map(|c| c[1].to_string());
    let words: Vec<String> = tags
        .flat_map(|tag| {
            tag.split(['/', '|', ',', '，', '、', '-', ' '])
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .chain(leading)
        .collect();
    let problem_type = words.iter().find_map(|w| type_word(w));
    let urgency = words.iter().find_map(|w| urgency_word(w));
    (problem_type, urgency)
}

/// `紧急程度：高`, `type: network`, `问题类型：网络问题`.
fn key_value_markers(text: &str) -> (Option<ProblemType>, Option<Urgency>) {
    let (mut problem_type, mut urgency) = (None, None);
    for c in KEY_VALUE.captures_iter(text) {
        if c.name("u").is_some() {
            urgency = urgency.or_else(|| urgency_word(&c["v"]));
        } else {
            problem_type = problem_type.or_else(|| type_word(&c["v"]));
        }
    }
    (problem_type, urgency)
}

fn urgency_word(word: &str) -> Option<Urgency> {
    let w = word.trim().to_lowercase();
    Urgency::parse(&w).or(match w.as_str() {
        "critical" | "特急" | "非常紧急" | "p1" => Some(Urgency::Urgent),
        "严重" | "重要" | "important" | "高优先级" | "p2" => Some(Urgency::High),
        "普通" | "一般" | "normal" | "中等" | "p3" => Some(Urgency::Medium),
        "不急" | "低优先级" | "p4" => Some(Urgency::Low),
        _ => None,
    })
}

fn type_word(word: &str) -> Option<ProblemType> {
    let w = word.trim().to_lowercase();
    ProblemType::parse(&w).or(match w.as_str() {
        "硬件" | "硬件问题" => Some(ProblemType::Hardware),
        "软件" | "软件问题" | "应用" => Some(ProblemType::Software),
        "网络" | "network issue" => Some(ProblemType::Network),
        "权限" | "账号" | "账户" | "account" | "permission" => Some(ProblemType::Access),
        "其他" | "其它" => Some(ProblemType::Other),
        _ => None,
    })
}

/// The key whose keywords score highest; `None` on no hit or a tie.
fn best_key<'a>(table: &'a Table, subject: &str, body: &str) -> Option<&'a str> {
    let mut scores: BTreeMap<&str, usize> = BTreeMap::new();
    for (text, weight) in [(subject, SUBJECT_WEIGHT), (body, 1)] {
        for key in matched_keys(table, &text.to_lowercase()) {
            *scores.entry(key).or_default() += weight;
        }
    }
    let top = scores.values().copied().max()?;
    let mut leaders = scores.into_iter().filter(|(_, s)| *s == top);
    match (leaders.next(), leaders.next()) {
        (Some((key, _)), None) => Some(key),
        _ => None,
    }
}

/// One entry per keyword found (its first occurrence as a word, see
/// `word_matches`). A match inside a longer match is dropped, so "不紧急"
/// counts as low and not also as "紧急".
fn matched_keys<'a>(table: &'a Table, lower: &str) -> Vec<&'a str> {
    outermost(&matched_hits(table, lower))
        .into_iter()
        .map(|(_, _, key)| key)
        .collect()
}

/// Every keyword found as (start, end, key), at its first occurrence as a word.
fn matched_hits<'a>(table: &'a Table, lower: &str) -> Vec<(usize, usize, &'a str)> {
    let Some(matcher) = &table.matcher else {
        return Vec::new();
    };
    // Per keyword: its first occurrence as a word, once found (`Some`), or
    // where `str::match_indices` would look next (`None`).
    let mut state: Vec<(usize, Option<usize>)> = vec![(0, None); table.patterns.len()];
    for m in matcher.find_overlapping_iter(lower) {
        let (cursor, found) = &mut state[m.pattern().as_usize()];
        // `word_matches` sees non-overlapping occurrences only.
        if found.is_some() || m.start() < *cursor {
            continue;
        }
        *cursor = m.end();
        let needle = &table.patterns[m.pattern().as_usize()].0;
        if is_word_at(lower, needle, m.start()) {
            *found = Some(m.start());
        }
    }
    let mut hits: Vec<(usize, usize, &str)> = Vec::new();
    for ((kw, keys), (_, found)) in table.patterns.iter().zip(&state) {
        if let Some(start) = *found {
            for key in keys {
                hits.push((start, start + kw.len(), key.as_str()));
            }
        }
    }
    hits
}

/// The hits (start, end, key) not inside a longer hit.
fn outermost<'a>(hits: &[(usize, usize, &'a str)]) -> Vec<(usize, usize, &'a str)> {
    hits.iter()
        .filter(|(s, e, _)| {
            !hits
                .iter()
                .any(|(s2, e2, _)| s2 <= s && e <= e2 && (e2 - s2) > (e - s))
        })
        .copied()
        .collect()
}

/// First occurrence of `needle` as a word (see `word_matches`).
#[cfg(test)]
fn find_word(haystack: &str, needle: &str) -> Option<usize> {
    word_matches(haystack, needle).next()
}

/// Occurrences of `needle` that are not part of a longer ASCII word ("low"
/// must not match "slow"); a plural `s` is allowed. CJK text has no word
/// boundaries, so a CJK needle matches anywhere.
pub(crate) fn word_matches<'a>(
    haystack: &'a str,
    needle: &'a str,
) -> impl Iterator<Item = usize> + 'a {
    haystack
        .match_indices(needle)
        .map(|(i, _)| i)
        .filter(move |&i| is_word_at(haystack, needle, i))
}

/// Whether `needle`, found at `i` in `haystack`, stands there as a word.
fn is_word_at(haystack: &str, needle: &str, i: usize) -> bool {
    let word_char = |c: char| c.is_ascii_alphanumeric();
    let starts_word = needle.starts_with(word_char);
    let ends_word = needle.ends_with(word_char);
    let before = haystack[..i].chars().next_back();
    let rest = &haystack[i + needle.len()..];
    let rest = rest.strip_prefix('s').filter(|_| ends_word).unwrap_or(rest);
    let glued_before = starts_word && before.is_some_and(word_char);
    let glued_after = ends_word && rest.starts_with(word_char);
    !glued_before && !glued_after
}

static EXPECTED_LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:期望解决时间|期望完成时间|期望时间|希望解决时间|要求完成时间|expected (?:resolution |completion )?time|expected by|deadline)\s*[:：]\s*([^\n]{1,60})",
    )
    .expect("static regex")
});

static EXPECTED_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    let num = r"(?:\d+(?:\.\d+)?|[一二两三四五六七八九十半]+)";
    let day = r"(?:今天|今日|明天|明日|后天|本周[一二三四五六日天]?|下周[一二三四五六日天]?|周[一二三四五六日天]|星期[一二三四五六日天])";
    let part = r"(?:上午|下午|中午|晚上|早上|下班|午饭|午休|开会)";
    let clock = r"(?:\d{1,2}\s*[点:：]\s*(?:\d{1,2}分?|半)?)";
    let weekday =
        r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tue|wed|thu|fri)";
    let en_time = r"(?:\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2}|noon|midday|lunch(?:time)?)";
    Regex::new(&format!(
        concat!(
            r"(?i){num}\s*个?\s*(?:小时|钟头|分钟|天|工作日)(?:之内|以内|内)",
            r"|{day}\s*{part}?\s*{clock}?\s*(?:之前|以前|前)",
            r"|\bwithin\s+(?:\d+|an?|one|two|three|four|five|six|eight|twelve)\s+(?:business\s+|working\s+)?(?:hours?|hrs?|minutes?|mins?|days?)\b",
            r"|\b(?:by|before)\s+(?:{en_time}|end of (?:the )?(?:day|week)|eod|cob|close of business|tonight|today|tomorrow(?:\s+(?:morning|afternoon|noon))?|this (?:afternoon|evening)|(?:next\s+)?{weekday}\b)",
        ),
        num = num, day = day, part = part, clock = clock, weekday = weekday, en_time = en_time,
    ))
    .expect("static regex")
});

/// A future day with a time of day ("明天上午", "明天10点") even without 前/内.
/// Today is left out: "今天上午10:00 登录失败" says when the problem began.
static EXPECTED_FUTURE: LazyLock<Regex> = LazyLock::new(|| {
    let clock = r"\d{1,2}\s*[点:：]\s*(?:\d{1,2}分?|半)?";
    Regex::new(&format!(
        r"(?:明天|明日|后天|下周[一二三四五六日天]?)\s*(?:(?:上午|下午|中午|晚上|早上|下班)\s*(?:{clock})?|{clock})"
    ))
    .expect("static regex")
});

fn expected_time(text: &str) -> Option<String> {
    if let Some(c) = EXPECTED_LABELLED.captures(text) {
        let value = c[1]
            .trim()
            .trim_end_matches(['。', '.', '，', ',', '；', ';', '！', '!'])
            .trim();
        if !value.is_empty() {
            return Some(value.to_string());
        }
    }
    let phrase = EXPECTED_PHRASE
        .find(text)
        .or_else(|| EXPECTED_FUTURE.find(text));
    phrase.map(|m| m.as_str().trim().to_string())
}

/// A closing line ("Thanks,", "谢谢！", "Best regards") ends the description:
/// what follows is a name, not a symptom.
static CLOSING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:thanks|thank you|regards|best regards|best|cheers|br|kind regards|谢谢|多谢|感谢|此致|祝好)\b[\s,，.。!！]*$")
        .expect("static regex")
});

static CONCRETE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)[0-9"“”「」『』]|提示|报错|错误|显示|弹出|超时|失败|代码|\berror|\bfail|\btimeout|\bcode\b|\bmessage\b|\bsays\b|\bshows\b|\bunable\b|\bcannot\b|\bcan't\b"#)
        .expect("static regex")
});

static ASCII_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[a-z0-9][a-z0-9'’-]*").expect("static regex"));

fn is_vague(rules: &Rules, generic: &[String], subject: &str, body: &str) -> bool {
    let subject = TAG.replace_all(subject, " ");
    let body: Vec<&str> = body.lines().take_while(|l| !CLOSING.is_match(l)).collect();
    let text = format!("{subject}\n{}", body.join("\n")).to_lowercase();
    if CONCRETE.is_match(&text) {
        return false;
    }
    let mut rest = text;
    for w in generic.iter().filter(|w| !w.is_ascii()) {
        rest = rest.replace(w.as_str(), " ");
    }
    let cjk = rest
        .chars()
        .filter(|c| matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}'))
        .count();
    let latin = ASCII_WORD
        .find_iter(&rest)
        .filter(|m| !generic.iter().any(|g| g == m.as_str()))
        .count();
    cjk + 2 * latin < rules.vague_min_chars
}

#[cfg(test)]
mod tests {
    use super::*;

    use ProblemType::*;
    use Urgency::*;

    #[test]
    fn classifies_by_markers_and_keywords() {
        let rules = Rules::default();
        let cases: &[(&str, &str, ProblemType, Urgency)] = &[
            ("[紧急] CRM无法登录", "", Software, Urgent),
            ("【紧急】【网络】", "整层楼都不行", Network, Urgent),
            ("[urgent][hardware] my screen", "", Hardware, Urgent),
            ("Urgent: printer", "", Hardware, Urgent),
            ("[高] 打印机卡纸", "", Hardware, High),
            ("[high] VPN", "", Network, High),
            ("[低] 键盘有个键不灵", "", Hardware, Low),
            ("Re: 回复: [网络] 问题", "", Network, Medium),
            (
                "请求",
                "紧急程度：高\n问题类型：网络问题\n描述：打印机坏了",
                Network,
                High,
            ),
            ("help", "type: network\npriority: low", Network, Low),
            // A MIME header quoted in the body is not a type marker.
            ("VPN", "Content-Type: hardware", Network, Medium),
            ("电脑蓝屏", "今天早上开机就蓝屏", Hardware, Medium),
            (
                "CRM报错",
                "10:00 登录CRM提示数据库连接超时，影响工作",
                Software,
                High,
            ),
            (
                "VPN连不上",
                "在家连不上公司VPN，全部同事都一样，业务中断",
                Network,
                Urgent,
            ),
            ("申请邮箱权限", "需要开通共享邮箱的权限", Access, Medium),
            (
                "Can't log in to the CRM",
                "It says invalid session. Not urgent.",
                Software,
                Low,
            ),
            (
                "Wi-Fi keeps dropping",
                "The office WiFi drops every 10 minutes",
                Network,
                Medium,
            ),
            (
                "New account for new hire",
                "Please create an account and grant access to the shared folder",
                Access,
                Medium,
            ),
            (
                "Printer",
                "The printer on floor 3 shows paper jam",
                Hardware,
                Medium,
            ),
            (
                "The app is slow",
                "Everything is slow since this morning",
                Software,
                Medium,
            ),
            ("不急", "有空帮我看看显示器，不紧急", Hardware, Low),
            ("Question", "Where is the cafeteria?", Other, Medium),
            // Asking for speed says nothing of impact.
            (
                "麻烦尽快看看",
                "打印机卡纸，错误代码 E-05",
                Hardware,
                Medium,
            ),
            (
                "Printer jam",
                "Please fix ASAP, error E-05",
                Hardware,
                Medium,
            ),
            ("VPN账号", "", Other, Medium),
        ];
        for (subject, body, problem_type, urgency) in cases {
            let c = classify(&rules, subject, body);
            assert_eq!(
                (c.problem_type, c.urgency),
                (*problem_type, *urgency),
                "{subject} / {body}"
            );
        }
    }

    /// SPEC §4 "don't inflate urgency": a marker the text contradicts is
    /// lowered, with the words that contradict it; wide impact keeps it.
    #[test]
    fn a_marker_the_text_contradicts_is_lowered() {
        let rules = Rules::default();
        let lowered = |from, cue: &str| {
            Some(UrgencyLowered {
                from,
                cue: cue.into(),
            })
        };
        let cases: &[(&str, &str, Urgency, Option<UrgencyLowered>)] = &[
            (
                "[紧急] 键盘有个键不灵",
                "不影响工作",
                Low,
                lowered(Urgent, "不影响工作"),
            ),
            (
                "[紧急] 键盘有个键不灵 / 不影响工作",
                "",
                Low,
                lowered(Urgent, "不影响工作"),
            ),
            (
                "紧急程度：高",
                "显示器偶尔闪一下，有空再看",
                Low,
                lowered(High, "有空再看"),
            ),
            (
                "[urgent] printer",
                "Jams now and then, no rush.",
                Low,
                lowered(Urgent, "no rush"),
            ),
            (
                "CRM报错，影响工作",
                "不过不急，下午再看也行",
                Low,
                lowered(High, "不急"),
            ),
            ("[紧急] 全部门无法上网", "不影响工作的只有我", Urgent, None),
            (
                "[urgent] mail outage",
                "not urgent for me, but everyone else is down",
                Urgent,
                None,
            ),
            ("[紧急] CRM无法登录", "", Urgent, None),
            ("[低] 键盘有个键不灵", "不影响工作", Low, None),
            ("显示器有条线", "不影响工作", Low, None),
        ];
        for (subject, body, urgency, lowered) in cases {
            let c = classify(&rules, subject, body);
            assert_eq!(
                (c.urgency, c.urgency_lowered.as_ref()),
                (*urgency, lowered.as_ref()),
                "{subject} / {body}"
            );
        }
    }

    #[test]
    fn extracts_expected_time() {
        let rules = Rules::default();
        let cases: &[(&str, Option<&str>)] = &[
            ("希望2小时内解决", Some("2小时内")),
            ("请今天下班前处理好", Some("今天下班前")),
            ("明天上午要用", Some("明天上午")),
            ("期望解决时间：10月3日 12:00。", Some("10月3日 12:00")),
            ("请在两个小时内修复", Some("两个小时内")),
            ("周五前能好吗", Some("周五前")),
            ("Please fix within 2 hours.", Some("within 2 hours")),
            ("I need it by 3pm", Some("by 3pm")),
            ("by Friday if possible", Some("by Friday")),
            ("before end of day please", Some("before end of day")),
            ("Deadline: Oct 3, noon", Some("Oct 3, noon")),
            ("打印机卡纸", None),
            ("I am standing by the printer", None),
            ("明天我出差", None),
            ("明天10点前要用", Some("明天10点前")),
            (
                "今天上午10:00开始登录失败，希望今天下班前解决",
                Some("今天下班前"),
            ),
            ("今天上午10:00开始登录失败", None),
        ];
        for (body, want) in cases {
            assert_eq!(
                classify(&rules, "", body).expected_time.as_deref(),
                *want,
                "{body}"
            );
        }
    }

    #[test]
    fn detects_vague_descriptions() {
        let rules = Rules::default();
        let cases: &[(&str, &str, bool)] = &[
            ("电脑坏了", "", true),
            ("电脑坏了", "电脑坏了，请尽快处理。\n谢谢\n张三", true),
            ("computer broken", "", true),
            ("help", "", true),
            ("有问题", "", true),
            (
                "Help",
                "My computer is broken, please help.\n\nThanks,\nJohn Smith",
                true,
            ),
            ("", "10:00 登录CRM提示数据库连接超时", false),
            ("打印机卡纸", "", false),
            ("无法上网", "", false),
            ("Outlook crashes on startup", "", false),
            (
                "VPN drops",
                "The VPN disconnects whenever I join a video call.",
                false,
            ),
            ("[IT20231001001] 电脑坏了", "", true),
            ("My computer doesn't work", "", true),
            ("Laptop issue", "It's not working, please help!", true),
        ];
        for (subject, body, vague) in cases {
            assert_eq!(
                classify(&rules, subject, body).vague,
                *vague,
                "{subject} / {body}"
            );
        }
    }

    #[test]
    fn keyword_matching_respects_word_boundaries() {
        assert_eq!(find_word("too slow", "low"), None);
        assert_eq!(find_word("low priority", "low"), Some(0));
        assert_eq!(find_word("two printers", "printer"), Some(4));
        assert_eq!(find_word("crm系统", "crm"), Some(0));
        assert_eq!(find_word("打印机卡纸", "卡纸"), Some(9));
    }

    /// `matched_keys` as it was before the automaton: a `find_word` per
    /// keyword, lower-cased per call.
    fn matched_keys_naive<'a>(
        table: &'a BTreeMap<String, Vec<String>>,
        lower: &str,
    ) -> Vec<&'a str> {
        let mut hits: Vec<(usize, usize, &str)> = Vec::new();
        for (key, keywords) in table {
            for kw in keywords
                .iter()
                .map(|k| k.to_lowercase())
                .filter(|k| !k.is_empty())
            {
                if let Some(start) = find_word(lower, &kw) {
                    hits.push((start, start + kw.len(), key.as_str()));
                }
            }
        }
        outermost(&hits)
            .into_iter()
            .map(|(_, _, key)| key)
            .collect()
    }

    #[test]
    fn the_keyword_automaton_matches_as_the_keyword_scan_did() {
        let mut rules = Rules::default();
        // Overlapping, repeated, nested and self-overlapping keywords.
        rules.types.insert(
            "other".into(),
            vec![
                "aa".into(),
                "AA".into(),
                "ab".into(),
                "Printer".into(),
                "印机".into(),
                "slow".into(),
            ],
        );
        rules
            .urgency
            .get_mut("low")
            .unwrap()
            .extend(["紧急".into(), "low".into()]);
        let texts = [
            "",
            "aaa",
            "xaa aab aaaa",
            "baaa aa",
            "printers printer printerx xprinter",
            "不紧急 紧急，非常紧急",
            "too slow, slowly, low priority, lows",
            "VPN连不上，在家连不上公司VPN，全部同事都一样，业务中断",
            "The printer on floor 3 shows paper jam; can't log in; cannot log in to the crm",
            "wi-fi wifi wi-fi-x 打印机卡纸 打印 卡纸 开不了机开机",
            "outlook crm erp oa app application apps",
            "电脑蓝屏 今天早上开机就蓝屏 影响工作 很急 急急急",
        ];
        for table in [&rules.types, &rules.urgency] {
            let compiled = Table::new(table);
            for text in texts {
                let lower = text.to_lowercase();
                let mut got = matched_keys(&compiled, &lower);
                let mut want = matched_keys_naive(table, &lower);
                got.sort_unstable();
                want.sort_unstable();
                assert_eq!(got, want, "{text}");
            }
        }
    }

    #[test]
    fn validate_names_unknown_keys() {
        assert_eq!(Rules::default().validate(), Ok(()));
        let mut rules = Rules::default();
        rules.types.insert("hardwre".into(), vec!["x".into()]);
        rules.urgency.insert("critical".into(), vec![]);
        rules.types.get_mut("network").unwrap().push(" ".into());
        rules.impact_minor.push("".into());
        let err = rules.validate().unwrap_err();
        for needle in [
            "\"hardwre\"",
            "\"critical\"",
            "empty keyword in types.network",
            "empty keyword in impact_minor",
        ] {
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn rules_load_partially_from_toml() {
        let rules: Rules =
            toml::from_str("default_urgency = \"low\"\n[types]\nnetwork = [\"vpn\"]").unwrap();
        assert_eq!(rules.default_urgency, Urgency::Low);
        assert_eq!(rules.types.len(), 1);
        assert!(!rules.urgency.is_empty());
        assert!(toml::from_str::<Rules>("defualt_urgency = \"low\"").is_err());
    }
}
