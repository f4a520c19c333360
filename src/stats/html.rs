//! The report as one self-contained HTML page: headline figures, inline SVG
//! charts (type mix, resolution time against the SLA target, satisfaction,
//! backlog age) and tables. The same page is the digest mail's HTML part and
//! `itdesk report --html FILE`.
//!
//! Invariant: pure; no script, no external resource, every text escaped.
//! Styles are inline, as mail clients drop `<style>` blocks.

use std::fmt::Write as _;

use super::aggregate::Report;
use super::chart::{self, esc, Columns, HBars, Row, Series};
use super::format::{self, duration, percent, words};
use crate::core::ticket::{Lang, ProblemType, Urgency};

/// What the page is called and for whom.
#[derive(Debug, Clone)]
pub struct Page {
    pub helpdesk: String,
    /// "Weekly report", "Monthly report" or "Report", in `lang`.
    pub title: String,
    pub lang: Lang,
    /// Technician group name → label ("software" → "软件组").
    pub group_labels: std::collections::HashMap<String, String>,
}

const CELL: &str =
    "padding:6px 10px;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top";
const NUM: &str = "padding:6px 10px;border-bottom:1px solid #e5e7eb;text-align:right;vertical-align:top;font-variant-numeric:tabular-nums;white-space:nowrap";
const HEAD: &str = "padding:6px 10px;border-bottom:2px solid #9ca3af;text-align:left;font-weight:600;color:#374151";
const H2: &str = "font-size:19px;margin:28px 0 10px;color:#111827;border-bottom:1px solid #d1d5db;padding-bottom:4px";

pub fn render(r: &Report, page: &Page) -> String {
    let w = words(page.lang);
    let lang = page.lang;
    let mut h = String::with_capacity(64 * 1024);
    let title = format!(
        "{} — {} {} – {}",
        page.helpdesk, page.title, r.period.from, r.period.to
    );
    let _ = write!(
        h,
        r#"<!DOCTYPE html><html lang="{}"><head><meta charset="utf-8"><title>{}</title></head><body style="margin:0;background:#f3f4f6;font-family:'Noto Sans','Noto Sans CJK SC','Microsoft YaHei',Arial,sans-serif;color:#111827"><div style="max-width:1160px;margin:0 auto;background:#ffffff;padding:24px 32px">"#,
        lang.code(),
        esc(&title)
    );
    let _ = write!(
        h,
        r#"<h1 style="font-size:26px;margin:0 0 4px">{} — {}</h1>"#,
        esc(&page.helpdesk),
        esc(&page.title)
    );
    let group = r
        .period
        .group
        .as_deref()
        .map(|g| group_label(page, g))
        .unwrap_or_else(|| w.all_groups.to_string());
    let _ = write!(
        h,
        r#"<p style="margin:0 0 18px;color:#4b5563;font-size:15px">{}: <b>{} – {}</b> ({} {}) · {}: {}</p>"#,
        w.period,
        r.period.from,
        r.period.to,
        w.timezone,
        esc(&r.period.timezone),
        w.group,
        esc(&group)
    );
    headline(&mut h, r, lang);

    let _ = write!(h, r#"<h2 style="{H2}">{}</h2>"#, w.by_type);
    side_by_side(&mut h, &type_chart(r, lang), &volume_tables(r, page));

    let _ = write!(h, r#"<h2 style="{H2}">{}</h2>"#, w.resolution_vs_sla);
    side_by_side(&mut h, &sla_chart(r, lang), &sla_table(r, lang));

    let _ = write!(h, r#"<h2 style="{H2}">{}</h2>"#, w.csat);
    side_by_side(&mut h, &csat_chart(r, lang), &csat_table(r, lang));

    let _ = write!(h, r#"<h2 style="{H2}">{}</h2>"#, w.backlog);
    side_by_side(
        &mut h,
        &backlog_chart(r, lang),
        &first_response_table(r, lang),
    );

    let _ = write!(h, r#"<h2 style="{H2}">{}</h2>"#, w.recurring);
    h.push_str(&recurring_table(r, lang));

    let _ = write!(h, r#"<h2 style="{H2}">{}</h2>"#, w.technicians);
    h.push_str(&technician_table(r, lang));

    h.push_str("</div></body></html>\n");
    h
}

fn group_label(page: &Page, group: &str) -> String {
    page.group_labels
        .get(group)
        .cloned()
        .unwrap_or_else(|| group.to_string())
}

fn headline(h: &mut String, r: &Report, lang: Lang) {
    let w = words(lang);
    let tiles = [
        (w.opened, r.totals.opened.to_string()),
        (w.resolved, r.totals.resolved.to_string()),
        (w.open_at_end, r.totals.open_at_end.to_string()),
        (w.sla_met, percent(r.sla.all.compliance)),
        (
            w.median_resolution,
            duration(r.resolution.all.median_s, lang),
        ),
        (
            w.satisfaction,
            format!("{} / 5", format::average(r.csat.average)),
        ),
    ];
    h.push_str(r#"<table role="presentation" style="width:100%;border-collapse:separate;border-spacing:8px 0;margin:0 -8px"><tr>"#);
    for (label, value) in tiles {
        let _ = write!(
            h,
            r#"<td style="background:#eff6ff;border-radius:8px;padding:12px 14px;width:16%"><div style="font-size:13px;color:#4b5563">{}</div><div style="font-size:24px;font-weight:700;margin-top:4px">{}</div></td>"#,
            esc(label),
            esc(&value)
        );
    }
    h.push_str("</tr></table>");
}

fn side_by_side(h: &mut String, chart: &str, table: &str) {
    let _ = write!(
        h,
        r#"<table role="presentation" style="width:100%;border-collapse:collapse"><tr><td style="width:650px;vertical-align:top;padding:0 16px 0 0">{chart}</td><td style="vertical-align:top">{table}</td></tr></table>"#
    );
}

/// Columns from `numeric_from` on are right-aligned numbers, except the
/// `text` columns.
fn table(head: &[&str], numeric_from: usize, rows: &[Vec<String>]) -> String {
    text_table(head, numeric_from, &[], rows)
}

fn text_table(head: &[&str], numeric_from: usize, text: &[usize], rows: &[Vec<String>]) -> String {
    let mut t =
        String::from(r#"<table style="border-collapse:collapse;font-size:14px;width:100%"><tr>"#);
    for (i, col) in head.iter().enumerate() {
        let align = if i >= numeric_from && !text.contains(&i) {
            ";text-align:right"
        } else {
            ""
        };
        let _ = write!(t, r#"<th style="{HEAD}{align}">{}</th>"#, esc(col));
    }
    t.push_str("</tr>");
    for row in rows {
        t.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let style = if i >= numeric_from && !text.contains(&i) {
                NUM
            } else {
                CELL
            };
            let _ = write!(t, r#"<td style="{style}">{}</td>"#, esc(cell));
        }
        t.push_str("</tr>");
    }
    t.push_str("</table>");
    t
}

fn type_chart(r: &Report, lang: Lang) -> String {
    let w = words(lang);
    let total = r.totals.opened.max(1) as f64;
    HBars {
        title: w.by_type.into(),
        series: vec![Series {
            name: w.tickets.into(),
            color: chart::BLUE,
        }],
        rows: ProblemType::ALL
            .iter()
            .map(|t| {
                let n = *r.by_type.get(*t);
                Row {
                    label: t.label(lang).into(),
                    values: vec![Some(n as f64)],
                    note: format!("{n} ({})", percent(Some(n as f64 / total))),
                }
            })
            .collect(),
        reference: None,
    }
    .svg()
}

fn volume_tables(r: &Report, page: &Page) -> String {
    let lang = page.lang;
    let w = words(lang);
    let urgency: Vec<Vec<String>> = Urgency::ALL
        .iter()
        .map(|u| vec![u.label(lang).to_string(), r.by_urgency.get(*u).to_string()])
        .collect();
    let channel: Vec<Vec<String>> = crate::core::ticket::Channel::ALL
        .iter()
        .map(|c| vec![c.label(lang).to_string(), r.by_channel.get(*c).to_string()])
        .collect();
    let groups: Vec<Vec<String>> = r
        .by_group
        .iter()
        .map(|g| vec![group_label(page, &g.name), g.count.to_string()])
        .collect();
    let mut out = table(&[w.by_urgency, w.tickets], 1, &urgency);
    out.push_str("<div style=\"height:12px\"></div>");
    out.push_str(&table(&[w.by_channel, w.tickets], 1, &channel));
    out.push_str("<div style=\"height:12px\"></div>");
    out.push_str(&table(&[w.by_group, w.tickets], 1, &groups));
    out
}

fn sla_chart(r: &Report, lang: Lang) -> String {
    let w = words(lang);
    let pct = |v: Option<f64>| v.map(|v| v * 100.0);
    HBars {
        title: format!("{} ({} = 100 %)", w.resolution_vs_sla, w.target),
        series: vec![
            Series {
                name: format!("{} {}", w.median, w.share_of_target),
                color: chart::BLUE,
            },
            Series {
                name: format!("{} {}", w.p90, w.share_of_target),
                color: chart::ORANGE,
            },
        ],
        rows: Urgency::ALL
            .iter()
            .map(|u| {
                let s = r.sla.by_urgency.get(*u);
                let target = s
                    .target
                    .as_deref()
                    .map(|t| format::target(t, lang))
                    .unwrap_or_default();
                Row {
                    label: format!("{} ({target})", u.label(lang)),
                    values: vec![pct(s.median_of_target), pct(s.p90_of_target)],
                    note: format!("{} {}", w.compliance, percent(s.compliance)),
                }
            })
            .collect(),
        reference: Some((100.0, w.target.into())),
    }
    .svg()
}

fn sla_table(r: &Report, lang: Lang) -> String {
    let w = words(lang);
    let mut rows: Vec<Vec<String>> = Urgency::ALL
        .iter()
        .map(|u| {
            let s = r.sla.by_urgency.get(*u);
            let d = r.resolution.by_urgency.get(*u);
            vec![
                u.label(lang).to_string(),
                s.target
                    .as_deref()
                    .map(|t| format::target(t, lang))
                    .unwrap_or_default(),
                d.count.to_string(),
                duration(d.median_s, lang),
                duration(d.p90_s, lang),
                percent(s.compliance),
            ]
        })
        .collect();
    rows.push(vec![
        w.all.into(),
        String::new(),
        r.resolution.all.count.to_string(),
        duration(r.resolution.all.median_s, lang),
        duration(r.resolution.all.p90_s, lang),
        percent(r.sla.all.compliance),
    ]);
    table(
        &[
            w.urgency,
            w.target,
            w.resolved,
            w.median,
            w.p90,
            w.compliance,
        ],
        2,
        &rows,
    )
}

fn csat_chart(r: &Report, lang: Lang) -> String {
    let w = words(lang);
    Columns {
        title: w.csat.into(),
        columns: r
            .csat
            .distribution
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("{} {}", i + 1, w.stars), *n as f64))
            .collect(),
        color: chart::GREEN,
        caption: format!(
            "{} {} / 5 · {} {} · {} {}",
            w.average,
            format::average(r.csat.average),
            w.rated,
            r.csat.rated,
            w.response_rate,
            percent(r.csat.response_rate)
        ),
    }
    .svg()
}

fn csat_table(r: &Report, lang: Lang) -> String {
    let w = words(lang);
    let rows = vec![
        vec![
            w.average.to_string(),
            format!("{} / 5", format::average(r.csat.average)),
        ],
        vec![w.rated.to_string(), r.csat.rated.to_string()],
        vec![w.resolved.to_string(), r.csat.resolved.to_string()],
        vec![w.response_rate.to_string(), percent(r.csat.response_rate)],
        vec![
            w.reopen_rate.to_string(),
            format!(
                "{} ({} / {})",
                percent(r.reopen.rate),
                r.reopen.reopened,
                r.reopen.resolved
            ),
        ],
        vec![w.closed.to_string(), r.totals.closed.to_string()],
        vec![w.breached.to_string(), r.totals.breached.to_string()],
    ];
    table(&[w.satisfaction, ""], 1, &rows)
}

fn backlog_chart(r: &Report, lang: Lang) -> String {
    let w = words(lang);
    HBars {
        title: format!("{} ({})", w.backlog, r.backlog.open),
        series: vec![Series {
            name: w.tickets.into(),
            color: chart::GREY,
        }],
        rows: r
            .backlog
            .by_age
            .iter()
            .map(|b| Row {
                label: format::age(&b.name, lang),
                values: vec![Some(b.count as f64)],
                note: b.count.to_string(),
            })
            .collect(),
        reference: None,
    }
    .svg()
}

fn first_response_table(r: &Report, lang: Lang) -> String {
    let t = format::times_table(&r.first_response, lang);
    let mut out = format!(
        r#"<div style="font-weight:600;margin:0 0 6px">{}</div>"#,
        esc(words(lang).first_response)
    );
    out.push_str(&table(&t.head, 1, &t.rows));
    out
}

fn recurring_table(r: &Report, lang: Lang) -> String {
    if r.recurring.is_empty() {
        return format!("<p>{}</p>", esc(words(lang).none));
    }
    let t = format::recurring_table(r, lang);
    text_table(&t.head, 1, &[2], &t.rows)
}

fn technician_table(r: &Report, lang: Lang) -> String {
    if r.technicians.is_empty() {
        return format!("<p>{}</p>", esc(words(lang).none));
    }
    let t = format::technician_table(r, lang);
    table(&t.head, 1, &t.rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::aggregate::tests::report_fixture;

    #[test]
    fn the_page_holds_every_chart_and_table_and_escapes_text() {
        let mut report = report_fixture();
        report.recurring[0].label = "VPN <断线> & \"drops\"".into();
        let page = Page {
            helpdesk: "IT <Desk>".into(),
            title: "Weekly report".into(),
            lang: Lang::En,
            group_labels: Default::default(),
        };
        let html = render(&report, &page);
        assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
        assert_eq!(
            html.matches("<svg ").count(),
            4,
            "type mix, SLA, CSAT, backlog"
        );
        assert!(!html.contains("<script"));
        assert!(
            html.contains("IT &lt;Desk&gt;")
                && html.contains("VPN &lt;断线&gt; &amp; &quot;drops&quot;")
        );
        for text in [
            "Hardware fault",
            "Urgent (4h)",
            "Low (3 working days)",
            "5 ★",
            "li.si",
            "IT20231002001",
        ] {
            assert!(html.contains(text), "{text} missing");
        }
        // Every chart is well-formed XML on its own.
        for svg in html.split("<svg ").skip(1) {
            let svg = format!("<svg {}", &svg[..svg.find("</svg>").unwrap() + 6]);
            roxmltree::Document::parse(&svg).unwrap();
        }
        let zh = render(
            &report,
            &Page {
                lang: Lang::ZhCn,
                title: "IT服务周报".into(),
                ..page
            },
        );
        assert!(zh.contains("硬件故障") && zh.contains("紧急 (4小时)") && zh.contains("5 星"));
    }
}
