//! The report as one self-contained HTML page: headline figures, inline SVG
//! charts (type mix, resolution time against the SLA target, satisfaction,
//! backlog age) and tables. The same page is the digest mail's HTML part and
//! `itdesk report --html FILE`.
//!
//! The page is a minijinja template (`templates/report.html`, overridable as
//! `report.html` in `[outbox] templates_dir`) over the model built here, with
//! HTML auto-escaping: every text a person wrote is escaped by the template
//! engine; only the charts, escaped by `chart.rs`, are inserted as they are.
//!
//! Invariant: pure — the caller reads an override and hands its text in; no
//! script, no external resource. Styles are inline, as mail clients drop
//! `<style>` blocks; the layout flows (inline blocks, charts scaled to the
//! width), so it reads on a 400 px phone without a media query.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use super::aggregate::Report;
use super::chart::{self, Columns, HBars, Row, Series};
use super::format::{self, duration, percent, words};
use crate::core::ticket::{Lang, ProblemType, Urgency};
use crate::queue::InlineChart;

/// The built-in page template.
pub const TEMPLATE: &str = include_str!("../../templates/report.html");

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

/// Everything the template sees; `templates/README.md` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    pub lang: &'static str,
    pub helpdesk: String,
    pub title: String,
    pub period: PeriodModel,
    pub labels: Labels,
    /// The headline figures.
    pub tiles: Vec<Tile>,
    pub sections: Vec<Section>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PeriodModel {
    pub from: String,
    pub to: String,
    /// Local time the figures were counted until, when the period runs on into the future.
    pub until: Option<String>,
    pub timezone: String,
    /// The group's label, or "all groups".
    pub group: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Labels {
    pub period: &'static str,
    pub until: &'static str,
    pub timezone: &'static str,
    pub group: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tile {
    pub label: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub heading: String,
    /// An SVG chart, already escaped (inserted with `|safe`).
    pub chart: Option<String>,
    pub tables: Vec<HtmlTable>,
    /// Shown when there is nothing to list ("none").
    pub empty: Option<String>,
    /// Tables as wide as the page (no chart beside them).
    pub wide: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct HtmlTable {
    pub caption: Option<String>,
    pub head: Vec<Cell>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub text: String,
    /// Right-aligned, tabular figures.
    pub num: bool,
}

/// The page from the built-in template, which the tests render: it cannot fail.
pub fn render(r: &Report, page: &Page) -> String {
    render_with(r, page, TEMPLATE).unwrap_or_else(|e| format!("report template: {e}"))
}

/// The page from `template` (an override's text).
pub fn render_with(r: &Report, page: &Page, template: &str) -> Result<String, minijinja::Error> {
    render_model(model(r, page), template)
}

/// The page for a mail, from `template`: each chart is an `<img>` referring
/// to `cid:chart-N@{domain}`, and the SVGs come back to be attached under
/// those Content-IDs, as common mail clients do not show inline SVG.
pub fn render_mail_with(
    r: &Report,
    page: &Page,
    template: &str,
    domain: &str,
) -> Result<(String, Vec<InlineChart>), minijinja::Error> {
    let mut model = model(r, page);
    let mut charts = Vec::new();
    for section in &mut model.sections {
        if let Some(svg) = section.chart.take() {
            let cid = format!("chart-{}@{domain}", charts.len() + 1);
            section.chart = Some(format!(
                r#"<img src="cid:{}" alt="{}" width="{w}" style="display:block;width:100%;max-width:{w}px;height:auto;border:0">"#,
                chart::esc(&cid),
                chart::esc(&section.heading),
                w = chart::WIDTH,
            ));
            charts.push(InlineChart { cid, svg });
        }
    }
    Ok((render_model(model, template)?, charts))
}

fn render_model(model: Model, template: &str) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    env.set_keep_trailing_newline(true);
    env.add_template("report.html", template)?;
    env.get_template("report.html")?.render(model)
}

/// The template's data.
pub fn model(r: &Report, page: &Page) -> Model {
    let w = words(page.lang);
    let lang = page.lang;
    let group = r
        .period
        .group
        .as_deref()
        .map(|g| group_label(page, g))
        .unwrap_or_else(|| w.all_groups.to_string());
    let until = r
        .period
        .until
        .map(|at| match r.period.timezone.parse::<chrono_tz::Tz>() {
            Ok(tz) => at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
            Err(_) => at.format("%Y-%m-%d %H:%M UTC").to_string(),
        });
    let section = |heading: &str, chart: Option<String>, tables: Vec<HtmlTable>| Section {
        heading: heading.to_string(),
        chart,
        tables,
        empty: None,
        wide: false,
    };
    let listing = |heading: &str, table: Option<HtmlTable>| Section {
        heading: heading.to_string(),
        chart: None,
        empty: table.is_none().then(|| w.none.to_string()),
        tables: table.into_iter().collect(),
        wide: true,
    };
    Model {
        lang: lang.code(),
        helpdesk: page.helpdesk.clone(),
        title: page.title.clone(),
        period: PeriodModel {
            from: r.period.from.to_string(),
            to: r.period.to.to_string(),
            until,
            timezone: r.period.timezone.clone(),
            group,
        },
        labels: Labels {
            period: w.period,
            until: w.until,
            timezone: w.timezone,
            group: w.group,
        },
        tiles: tiles(r, lang),
        sections: vec![
            section(w.by_type, Some(type_chart(r, lang)), volume_tables(r, page)),
            section(
                w.resolution_vs_sla,
                Some(sla_chart(r, lang)),
                vec![sla_table(r, lang)],
            ),
            section(w.csat, Some(csat_chart(r, lang)), vec![csat_table(r, lang)]),
            section(
                w.backlog,
                Some(backlog_chart(r, lang)),
                vec![first_response_table(r, lang)],
            ),
            listing(w.recurring, recurring_table(r, lang)),
            listing(w.technicians, technician_table(r, lang)),
        ],
    }
}

fn group_label(page: &Page, group: &str) -> String {
    page.group_labels
        .get(group)
        .cloned()
        .unwrap_or_else(|| group.to_string())
}

fn tiles(r: &Report, lang: Lang) -> Vec<Tile> {
    let w = words(lang);
    [
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
    ]
    .into_iter()
    .map(|(label, value)| Tile {
        label: label.to_string(),
        value,
    })
    .collect()
}

/// Columns from `numeric_from` on are right-aligned numbers, except the `text` columns.
fn table(head: &[&str], numeric_from: usize, rows: &[Vec<String>]) -> HtmlTable {
    text_table(head, numeric_from, &[], rows)
}

fn text_table(
    head: &[&str],
    numeric_from: usize,
    text: &[usize],
    rows: &[Vec<String>],
) -> HtmlTable {
    let num = |i: usize| i >= numeric_from && !text.contains(&i);
    HtmlTable {
        caption: None,
        head: head
            .iter()
            .enumerate()
            .map(|(i, h)| Cell {
                text: (*h).to_string(),
                num: num(i),
            })
            .collect(),
        rows: rows
            .iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .map(|(i, c)| Cell {
                        text: c.clone(),
                        num: num(i),
                    })
                    .collect()
            })
            .collect(),
    }
}

fn type_chart(r: &Report, lang: Lang) -> String {
    let w = words(lang);
    let total = r.totals.opened;
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
                    note: format!(
                        "{n} ({})",
                        percent((total > 0).then(|| n as f64 / total as f64))
                    ),
                }
            })
            .collect(),
        reference: None,
    }
    .svg()
}

fn volume_tables(r: &Report, page: &Page) -> Vec<HtmlTable> {
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
    vec![
        table(&[w.by_urgency, w.tickets], 1, &urgency),
        table(&[w.by_channel, w.tickets], 1, &channel),
        table(&[w.by_group, w.tickets], 1, &groups),
    ]
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

fn sla_table(r: &Report, lang: Lang) -> HtmlTable {
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

fn csat_table(r: &Report, lang: Lang) -> HtmlTable {
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

fn first_response_table(r: &Report, lang: Lang) -> HtmlTable {
    let t = format::times_table(&r.first_response, lang);
    HtmlTable {
        caption: Some(words(lang).first_response.to_string()),
        ..table(&t.head, 1, &t.rows)
    }
}

fn recurring_table(r: &Report, lang: Lang) -> Option<HtmlTable> {
    if r.recurring.is_empty() {
        return None;
    }
    let t = format::recurring_table(r, lang);
    Some(text_table(&t.head, 1, &[2], &t.rows))
}

fn technician_table(r: &Report, lang: Lang) -> Option<HtmlTable> {
    if r.technicians.is_empty() {
        return None;
    }
    let t = format::technician_table(r, lang);
    Some(table(&t.head, 1, &t.rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::aggregate::tests::report_fixture;

    #[test]
    fn the_mail_page_shows_each_chart_by_cid_and_hands_its_svg_back() {
        let page = Page {
            helpdesk: "IT".into(),
            title: "Weekly report".into(),
            lang: Lang::En,
            group_labels: Default::default(),
        };
        let (html, charts) =
            render_mail_with(&report_fixture(), &page, TEMPLATE, "itdesk.test").unwrap();
        assert!(!html.contains("<svg"));
        let cids: Vec<&str> = charts.iter().map(|c| c.cid.as_str()).collect();
        assert_eq!(
            cids,
            [
                "chart-1@itdesk.test",
                "chart-2@itdesk.test",
                "chart-3@itdesk.test",
                "chart-4@itdesk.test"
            ]
        );
        for chart in &charts {
            assert!(html.contains(&format!("src=\"cid:{}\"", chart.cid)));
            roxmltree::Document::parse(&chart.svg).unwrap();
        }
    }

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
        let html = render_with(&report, &page, TEMPLATE).unwrap();
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

    #[test]
    fn an_override_renders_the_model_and_a_misspelt_one_fails() {
        let report = report_fixture();
        let page = Page {
            helpdesk: "Desk".into(),
            title: "Report".into(),
            lang: Lang::En,
            group_labels: Default::default(),
        };
        let custom = "<p>{{ helpdesk }}: {{ tiles[0].label }} {{ tiles[0].value }}</p>";
        assert_eq!(
            render_with(&report, &page, custom).unwrap(),
            format!("<p>Desk: New tickets {}</p>", report.totals.opened)
        );
        let err = render_with(&report, &page, "line 1\n{{ helpdsk }}").unwrap_err();
        assert_eq!(err.line(), Some(2), "{err}");
        let mut empty = report;
        empty.period.until = Some(chrono::Utc::now());
        let html = render(&empty, &page);
        assert!(html.contains("counted until"), "a clipped period says so");
    }
}
