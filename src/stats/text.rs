//! The report as plain-text tables for a terminal (`itdesk stats` without `--json`).
//!
//! Invariant: pure; columns are padded by display width, so Chinese labels
//! (two columns per character) line up too.

use std::fmt::Write as _;

use super::aggregate::Report;
use super::format::{self, percent, words};
use crate::core::ticket::{Channel, Lang, ProblemType, Urgency};

pub fn render(r: &Report, lang: Lang) -> String {
    let w = words(lang);
    let mut out = String::new();
    let group = r
        .period
        .group
        .clone()
        .unwrap_or_else(|| w.all_groups.into());
    let _ = writeln!(
        out,
        "{} {} – {} ({} {}) · {}: {}",
        w.period, r.period.from, r.period.to, w.timezone, r.period.timezone, w.group, group
    );
    let t = &r.totals;
    let _ = writeln!(
        out,
        "{}: {} · {}: {} · {}: {} · {}: {} · {}: {}\n",
        w.opened,
        t.opened,
        w.resolved,
        t.resolved,
        w.closed,
        t.closed,
        w.open_at_end,
        t.open_at_end,
        w.breached,
        t.breached
    );

    let count = |n: u64| {
        vec![
            n.to_string(),
            percent((r.totals.opened > 0).then(|| n as f64 / r.totals.opened as f64)),
        ]
    };
    let mut rows: Vec<Vec<String>> = ProblemType::ALL
        .iter()
        .map(|p| [vec![p.label(lang).to_string()], count(*r.by_type.get(*p))].concat())
        .collect();
    section(
        &mut out,
        w.by_type,
        &[w.problem_type, w.tickets, "%"],
        &rows,
        &[],
    );
    rows = Urgency::ALL
        .iter()
        .map(|u| {
            [
                vec![u.label(lang).to_string()],
                count(*r.by_urgency.get(*u)),
            ]
            .concat()
        })
        .collect();
    section(
        &mut out,
        w.by_urgency,
        &[w.urgency, w.tickets, "%"],
        &rows,
        &[],
    );
    rows = Channel::ALL
        .iter()
        .map(|c| {
            [
                vec![c.label(lang).to_string()],
                count(*r.by_channel.get(*c)),
            ]
            .concat()
        })
        .collect();
    section(
        &mut out,
        w.by_channel,
        &[w.channel, w.tickets, "%"],
        &rows,
        &[],
    );
    rows = r
        .by_group
        .iter()
        .map(|g| [vec![g.name.clone()], count(g.count)].concat())
        .collect();
    section(&mut out, w.by_group, &[w.group, w.tickets, "%"], &rows, &[]);

    for (title, t) in [
        (w.first_response, &r.first_response),
        (w.resolution, &r.resolution),
    ] {
        let table = format::times_table(t, lang);
        section(&mut out, title, &table.head, &table.rows, &[]);
    }

    let mut rows: Vec<Vec<String>> = Urgency::ALL
        .iter()
        .map(|u| {
            let s = r.sla.by_urgency.get(*u);
            let target = s
                .target
                .as_deref()
                .map(|t| format::target(t, lang))
                .unwrap_or_default();
            vec![
                u.label(lang).to_string(),
                target,
                s.met.to_string(),
                s.breached.to_string(),
                percent(s.compliance),
            ]
        })
        .collect();
    rows.push(vec![
        w.all.into(),
        String::new(),
        r.sla.all.met.to_string(),
        r.sla.all.breached.to_string(),
        percent(r.sla.all.compliance),
    ]);
    section(
        &mut out,
        "SLA",
        &[w.urgency, w.target, w.met, w.missed, w.compliance],
        &rows,
        &[1],
    );

    let c = &r.csat;
    let stars: Vec<String> = c
        .distribution
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{}★ {n}", i + 1))
        .collect();
    let _ = writeln!(out, "{}", w.satisfaction);
    let _ = writeln!(
        out,
        "  {} {} / 5 · {} {} / {} {} ({}) · {}\n  {} {} ({} / {})\n",
        w.average,
        format::average(c.average),
        w.rated,
        c.rated,
        w.resolved,
        c.resolved,
        percent(c.response_rate),
        stars.join("  "),
        w.reopen_rate,
        percent(r.reopen.rate),
        r.reopen.reopened,
        r.reopen.resolved
    );

    rows = r
        .backlog
        .by_age
        .iter()
        .map(|b| vec![format::age(&b.name, lang), b.count.to_string()])
        .collect();
    section(
        &mut out,
        &format!("{} ({})", w.backlog, r.backlog.open),
        &[w.age, w.tickets],
        &rows,
        &[],
    );

    let table = format::technician_table(r, lang);
    section(&mut out, w.technicians, &table.head, &table.rows, &[]);
    let table = format::recurring_table(r, lang);
    section(&mut out, w.recurring, &table.head, &table.rows, &[2]);
    out
}

/// A titled table: numbers right-aligned, the first column and the `left`
/// columns (text) left-aligned.
fn section(out: &mut String, title: &str, head: &[&str], rows: &[Vec<String>], left: &[usize]) {
    let _ = writeln!(out, "{title}");
    if rows.is_empty() {
        let _ = writeln!(out, "  –\n");
        return;
    }
    let mut widths: Vec<usize> = head.iter().map(|h| width(h)).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::from(" ");
        for (i, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[i] - width(cell));
            if i == 0 || left.contains(&i) {
                let _ = write!(s, " {cell}{pad}");
            } else {
                let _ = write!(s, " {pad}{cell}");
            }
        }
        s.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(head.to_vec()));
    for row in rows {
        let _ = writeln!(out, "{}", line(row.iter().map(String::as_str).collect()));
    }
    out.push('\n');
}

/// Terminal columns: CJK and full-width characters take two.
fn width(s: &str) -> usize {
    s.chars().map(|c| if matches!(c, '\u{1100}'..='\u{115f}' | '\u{2e80}'..='\u{a4cf}' | '\u{ac00}'..='\u{d7a3}' | '\u{f900}'..='\u{faff}' | '\u{fe30}'..='\u{fe4f}' | '\u{ff00}'..='\u{ff60}' | '\u{ffe0}'..='\u{ffe6}') { 2 } else { 1 }).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::aggregate::tests::report_fixture;

    #[test]
    fn tables_line_up_in_both_languages() {
        let en = render(&report_fixture(), Lang::En);
        assert!(en.contains("New tickets: 7 · Resolved: 5"), "{en}");
        assert!(en.contains("\n  Hardware fault        2 28.6 %\n"), "{en}");
        assert!(
            en.contains("\n  li.si            4        3               4 h      4.5 (2)\n"),
            "{en}"
        );
        assert!(
            en.contains("\n  VPN disconnects         2 IT20231002001, IT20231006001\n"),
            "{en}"
        );
        assert!(en.contains("\n  1–3 days              1\n"), "{en}");
        let zh = render(&report_fixture(), Lang::ZhCn);
        // "硬件故障" is four characters, eight columns wide.
        assert!(zh.contains("\n  硬件故障      2 28.6 %\n"), "{zh}");
        assert!(zh.contains("\n  问题类型 服务单      %\n"), "{zh}");
    }

    #[test]
    fn measures_display_width() {
        assert_eq!(width("abc"), 3);
        assert_eq!(width("硬件故障"), 8);
        assert_eq!(width("VPN 断线"), 8);
    }
}
