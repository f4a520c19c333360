//! How report numbers read, in English and Chinese: durations, percentages,
//! averages, and the words of the report's headings.
//!
//! Invariant: pure; `None` (no data, e.g. a rate without a denominator)
//! always reads as "—", never as "0 %".

use super::aggregate::{Report, Times};
use crate::core::ticket::{Lang, Urgency};

pub const NO_DATA: &str = "—";

/// "45 min", "3 h 10 min", "2 d 4 h" / "45分钟", "3小时10分", "2天4小时".
pub fn duration(seconds: Option<f64>, lang: Lang) -> String {
    let Some(s) = seconds.filter(|s| s.is_finite()) else {
        return NO_DATA.into();
    };
    let minutes = (s.max(0.0) / 60.0).round() as i64;
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    match lang {
        Lang::En => match (d, h, m) {
            (0, 0, 0) => "< 1 min".into(),
            (0, 0, m) => format!("{m} min"),
            (0, h, 0) => format!("{h} h"),
            (0, h, m) => format!("{h} h {m} min"),
            (d, 0, _) => format!("{d} d"),
            (d, h, _) => format!("{d} d {h} h"),
        },
        Lang::ZhCn => match (d, h, m) {
            (0, 0, 0) => "不到1分钟".into(),
            (0, 0, m) => format!("{m}分钟"),
            (0, h, 0) => format!("{h}小时"),
            (0, h, m) => format!("{h}小时{m}分"),
            (d, 0, _) => format!("{d}天"),
            (d, h, _) => format!("{d}天{h}小时"),
        },
    }
}

/// 0.923 → "92.3 %"; whole percentages without decimals.
pub fn percent(share: Option<f64>) -> String {
    match share.filter(|s| s.is_finite()) {
        Some(s) => {
            let p = (s * 1000.0).round() / 10.0;
            if p.fract() == 0.0 {
                format!("{p:.0} %")
            } else {
                format!("{p:.1} %")
            }
        }
        None => NO_DATA.into(),
    }
}

/// An average of stars: "4.6".
pub fn average(value: Option<f64>) -> String {
    value
        .filter(|v| v.is_finite())
        .map_or_else(|| NO_DATA.into(), |v| format!("{v:.1}"))
}

/// A resolution target as configured ("4h", "3wd") in words.
pub fn target(span: &str, lang: Lang) -> String {
    let digits: String = span.chars().take_while(char::is_ascii_digit).collect();
    let unit = &span[digits.len()..];
    let word = match (unit, lang) {
        ("m", Lang::En) => "min",
        ("h", Lang::En) => "h",
        ("d", Lang::En) => "day",
        ("wm", Lang::En) => "working minute",
        ("wh", Lang::En) => "working hour",
        ("wd", Lang::En) => "working day",
        ("s", Lang::En) => "s",
        ("m", Lang::ZhCn) => "分钟",
        ("h", Lang::ZhCn) => "小时",
        ("d", Lang::ZhCn) => "天",
        ("wm", Lang::ZhCn) => "个工作分钟",
        ("wh", Lang::ZhCn) => "个工作小时",
        ("wd", Lang::ZhCn) => "个工作日",
        ("s", Lang::ZhCn) => "秒",
        _ => return span.to_string(),
    };
    match lang {
        Lang::ZhCn => format!("{digits}{word}"),
        Lang::En if word.len() == 1 => format!("{digits}{word}"),
        Lang::En if digits != "1" && word != "min" => format!("{digits} {word}s"),
        Lang::En => format!("{digits} {word}"),
    }
}

/// "<1d" → "< 1 day" / "不到1天"; "1-3d" → "1–3 days" / "1–3天"; ">=30d" → "30 days or more" / "30天以上".
pub fn age(bucket: &str, lang: Lang) -> String {
    let days = bucket
        .trim_start_matches(['<', '>', '='])
        .trim_end_matches('d')
        .replace('-', "–");
    match (bucket.chars().next(), lang) {
        (Some('<'), Lang::En) => format!("< {days} day"),
        (Some('<'), Lang::ZhCn) => format!("不到{days}天"),
        (Some('>'), Lang::En) => format!("{days} days or more"),
        (Some('>'), Lang::ZhCn) => format!("{days}天以上"),
        (_, Lang::En) => format!("{days} days"),
        (_, Lang::ZhCn) => format!("{days}天"),
    }
}

/// The fixed words of a report.
pub struct Words {
    pub weekly: &'static str,
    pub monthly: &'static str,
    pub report: &'static str,
    pub period: &'static str,
    /// "counted until" a period that runs into the future was clipped at.
    pub until: &'static str,
    pub timezone: &'static str,
    pub group: &'static str,
    pub all_groups: &'static str,
    pub opened: &'static str,
    pub resolved: &'static str,
    pub closed: &'static str,
    pub open_at_end: &'static str,
    pub breached: &'static str,
    pub sla_met: &'static str,
    pub median_resolution: &'static str,
    pub satisfaction: &'static str,
    pub by_type: &'static str,
    pub by_urgency: &'static str,
    pub by_channel: &'static str,
    pub by_group: &'static str,
    pub problem_type: &'static str,
    pub channel: &'static str,
    pub met: &'static str,
    pub missed: &'static str,
    pub tickets: &'static str,
    pub urgency: &'static str,
    pub target: &'static str,
    pub median: &'static str,
    pub mean: &'static str,
    pub p90: &'static str,
    pub compliance: &'static str,
    pub first_response: &'static str,
    pub resolution: &'static str,
    pub resolution_vs_sla: &'static str,
    pub share_of_target: &'static str,
    pub csat: &'static str,
    pub average: &'static str,
    pub rated: &'static str,
    pub response_rate: &'static str,
    pub reopen_rate: &'static str,
    pub backlog: &'static str,
    pub age: &'static str,
    pub technicians: &'static str,
    pub technician: &'static str,
    pub handled: &'static str,
    pub recurring: &'static str,
    pub problem: &'static str,
    pub examples: &'static str,
    pub all: &'static str,
    pub none: &'static str,
    pub stars: &'static str,
}

pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::ZhCn => &ZH,
    }
}

const EN: Words = Words {
    weekly: "Weekly report",
    monthly: "Monthly report",
    report: "Report",
    period: "Period",
    until: "counted until",
    timezone: "time zone",
    group: "Group",
    all_groups: "all groups",
    opened: "New tickets",
    resolved: "Resolved",
    closed: "Closed",
    open_at_end: "Open at period end",
    breached: "Targets missed",
    sla_met: "Resolved on target",
    median_resolution: "Median resolution",
    satisfaction: "Satisfaction",
    by_type: "Tickets by problem type",
    by_urgency: "By urgency",
    by_channel: "By channel",
    by_group: "By technician group",
    problem_type: "Type",
    channel: "Channel",
    met: "Met",
    missed: "Missed",
    tickets: "Tickets",
    urgency: "Urgency",
    target: "Target",
    median: "median",
    mean: "mean",
    p90: "90th percentile",
    compliance: "On target",
    first_response: "First response time",
    resolution: "Resolution time",
    resolution_vs_sla: "Resolution time against the SLA target",
    share_of_target: "of target",
    csat: "Satisfaction ratings (1–5 stars)",
    average: "Average",
    rated: "Ratings",
    response_rate: "Response rate",
    reopen_rate: "Reopen rate",
    backlog: "Backlog at period end, by age",
    age: "Age",
    technicians: "Technicians",
    technician: "Technician",
    handled: "Handled",
    recurring: "Problems that keep coming back",
    problem: "Problem",
    examples: "Examples",
    all: "All",
    none: "None in this period.",
    stars: "★",
};

const ZH: Words = Words {
    weekly: "IT服务周报",
    monthly: "IT服务月报",
    report: "IT服务统计",
    period: "统计周期",
    until: "统计截至",
    timezone: "时区",
    group: "处理小组",
    all_groups: "全部小组",
    opened: "新建服务单",
    resolved: "已解决",
    closed: "已关闭",
    open_at_end: "期末仍在处理",
    breached: "超时",
    sla_met: "按时解决率",
    median_resolution: "解决用时（中位数）",
    satisfaction: "满意度",
    by_type: "按问题类型",
    by_urgency: "按紧急程度",
    by_channel: "按渠道",
    by_group: "按处理小组",
    problem_type: "问题类型",
    channel: "渠道",
    met: "按时",
    missed: "超时",
    tickets: "服务单",
    urgency: "紧急程度",
    target: "目标",
    median: "中位数",
    mean: "平均",
    p90: "90分位",
    compliance: "按时率",
    first_response: "首次响应用时",
    resolution: "解决用时",
    resolution_vs_sla: "解决用时与SLA目标对比",
    share_of_target: "占目标",
    csat: "满意度评价（1–5星）",
    average: "平均",
    rated: "评价数",
    response_rate: "评价率",
    reopen_rate: "重新打开率",
    backlog: "期末积压（按时长）",
    age: "已持续",
    technicians: "处理人员",
    technician: "处理人员",
    handled: "经手",
    recurring: "反复出现的问题",
    problem: "问题",
    examples: "示例",
    all: "全部",
    none: "本期没有。",
    stars: "星",
};

/// A table's head and its rows of cells, as the text and HTML renderings
/// both show it.
pub struct Table {
    pub head: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

/// Count, mean, median and P90 per urgency, then for all.
pub fn times_table(t: &Times, lang: Lang) -> Table {
    let w = words(lang);
    let row = |label: &str, d: &super::aggregate::Durations| {
        vec![
            label.to_string(),
            d.count.to_string(),
            duration(d.mean_s, lang),
            duration(d.median_s, lang),
            duration(d.p90_s, lang),
        ]
    };
    let mut rows: Vec<Vec<String>> = Urgency::ALL
        .iter()
        .map(|u| row(u.label(lang), t.by_urgency.get(*u)))
        .collect();
    rows.push(row(w.all, &t.all));
    Table {
        head: vec![w.urgency, w.tickets, w.mean, w.median, w.p90],
        rows,
    }
}

pub fn technician_table(r: &Report, lang: Lang) -> Table {
    let w = words(lang);
    Table {
        head: vec![
            w.technician,
            w.handled,
            w.resolved,
            w.median_resolution,
            w.satisfaction,
        ],
        rows: r
            .technicians
            .iter()
            .map(|t| {
                vec![
                    t.name.clone(),
                    t.handled.to_string(),
                    t.resolved.to_string(),
                    duration(t.median_resolution_s, lang),
                    format!("{} ({})", average(t.csat_average), t.rated),
                ]
            })
            .collect(),
    }
}

/// Its third column (examples) is text.
pub fn recurring_table(r: &Report, lang: Lang) -> Table {
    let w = words(lang);
    Table {
        head: vec![w.problem, w.tickets, w.examples],
        rows: r
            .recurring
            .iter()
            .map(|c| vec![c.label.clone(), c.count.to_string(), c.examples.join(", ")])
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_durations_in_both_languages() {
        let cases = [
            (None, "—", "—"),
            (Some(20.0), "< 1 min", "不到1分钟"),
            (Some(45.0 * 60.0), "45 min", "45分钟"),
            (Some(3.0 * 3600.0), "3 h", "3小时"),
            (Some(3.0 * 3600.0 + 600.0), "3 h 10 min", "3小时10分"),
            (Some(2.0 * 86400.0), "2 d", "2天"),
            (
                Some(2.0 * 86400.0 + 4.0 * 3600.0 + 59.0 * 60.0),
                "2 d 4 h",
                "2天4小时",
            ),
        ];
        for (secs, en, zh) in cases {
            assert_eq!(duration(secs, Lang::En), en);
            assert_eq!(duration(secs, Lang::ZhCn), zh);
        }
    }

    #[test]
    fn ages_read_as_words() {
        let cases = [
            ("<1d", "< 1 day", "不到1天"),
            ("1-3d", "1–3 days", "1–3天"),
            (">=30d", "30 days or more", "30天以上"),
        ];
        for (bucket, en, zh) in cases {
            assert_eq!(age(bucket, Lang::En), en);
            assert_eq!(age(bucket, Lang::ZhCn), zh);
        }
    }

    #[test]
    fn formats_shares_averages_and_targets() {
        assert_eq!(percent(Some(0.923)), "92.3 %");
        assert_eq!(percent(Some(1.0)), "100 %");
        assert_eq!(percent(None), "—");
        assert_eq!(average(Some(4.5555)), "4.6");
        assert_eq!(target("4h", Lang::En), "4h");
        assert_eq!(target("3wd", Lang::En), "3 working days");
        assert_eq!(target("3wd", Lang::ZhCn), "3个工作日");
        assert_eq!(target("1d", Lang::En), "1 day");
        assert_eq!(target("1d", Lang::ZhCn), "1天");
        assert_eq!(target("30m", Lang::En), "30 min");
        assert_eq!(target("odd", Lang::En), "odd");
    }
}
