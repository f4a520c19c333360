//! Charts as standalone SVG, written by hand (no script, no external assets),
//! so they can sit inline in an HTML mail or file: horizontal bars with one or
//! more series and an optional reference line, and vertical columns.
//!
//! Invariant: pure geometry. Bar lengths are proportional to the values on a
//! scale that starts at zero; every text is XML-escaped.

use std::fmt::Write as _;

/// Every chart's width in px (its height follows its rows).
pub const WIDTH: f64 = 640.0;
const LABEL_W: f64 = 170.0;
const VALUE_W: f64 = 150.0;
const ROW_H: f64 = 26.0;
const BAR_GAP: f64 = 3.0;
const TOP: f64 = 12.0;
const LEGEND_H: f64 = 24.0;
const FONT: &str =
    "font-family=\"'Noto Sans', 'Noto Sans CJK SC', 'Microsoft YaHei', Arial, sans-serif\"";

pub const BLUE: &str = "#2563eb";
pub const ORANGE: &str = "#ea580c";
pub const GREEN: &str = "#16a34a";
pub const GREY: &str = "#6b7280";
pub const RED: &str = "#dc2626";

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
}

/// One category: a value per series (`None` = no data, no bar) and the text
/// printed after the bars.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub label: String,
    pub values: Vec<Option<f64>>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HBars {
    pub title: String,
    pub series: Vec<Series>,
    pub rows: Vec<Row>,
    /// A vertical line across the chart at this value, with its caption
    /// (e.g. the SLA target at 100 %).
    pub reference: Option<(f64, String)>,
}

/// The end of the value axis: the largest value or the reference, rounded up
/// to a "nice" number so bars leave some room.
fn scale_max(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.filter(|v| v.is_finite()).fold(0.0_f64, f64::max);
    if max <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(max.log10().floor());
    [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|n| *n >= max)
        .unwrap_or(max)
}

impl HBars {
    pub fn svg(&self) -> String {
        let bars_per_row = self.series.len().max(1) as f64;
        let row_h = (ROW_H * bars_per_row.sqrt()).max(ROW_H) + 8.0;
        let legend = if self.series.len() > 1 { LEGEND_H } else { 0.0 };
        let height = TOP + legend + row_h * self.rows.len().max(1) as f64 + 26.0;
        let area = WIDTH - LABEL_W - VALUE_W;
        let max = scale_max(
            self.rows
                .iter()
                .flat_map(|r| r.values.iter().flatten().copied())
                .chain(self.reference.as_ref().map(|(v, _)| *v)),
        );
        let x = |v: f64| LABEL_W + area * (v.max(0.0) / max);

        let mut s = open(height, &self.title);
        let mut legend_x = LABEL_W;
        if self.series.len() > 1 {
            for series in &self.series {
                let _ = write!(
                    s,
                    r##"<rect x="{legend_x:.1}" y="{:.1}" width="12" height="12" fill="{}"/>"##,
                    TOP - 4.0,
                    series.color
                );
                let _ = write!(
                    s,
                    r##"<text x="{:.1}" y="{:.1}" font-size="12" fill="#374151">{}</text>"##,
                    legend_x + 17.0,
                    TOP + 6.0,
                    esc(&series.name)
                );
                legend_x += 36.0 + text_width(&series.name, 12.0);
            }
        }
        let top = TOP + legend;
        let bar_h = ((row_h - 8.0 - BAR_GAP * (bars_per_row - 1.0)) / bars_per_row).max(6.0);
        for (i, row) in self.rows.iter().enumerate() {
            let y = top + row_h * i as f64;
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="13" fill="#111827" text-anchor="end">{}</text>"##,
                LABEL_W - 8.0,
                y + row_h / 2.0,
                esc(&row.label)
            );
            for (j, (series, value)) in self.series.iter().zip(&row.values).enumerate() {
                let Some(v) = value else { continue };
                let by = y + 4.0 + j as f64 * (bar_h + BAR_GAP);
                let w = x(*v) - LABEL_W;
                let _ = write!(
                    s,
                    r##"<rect class="bar" x="{LABEL_W:.1}" y="{by:.1}" width="{w:.2}" height="{bar_h:.1}" fill="{}" data-value="{v}"/>"##,
                    series.color
                );
            }
            let end = row
                .values
                .iter()
                .flatten()
                .map(|v| x(*v))
                .fold(LABEL_W, f64::max);
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="12" fill="#374151">{}</text>"##,
                end + 6.0,
                y + row_h / 2.0,
                esc(&row.note)
            );
        }
        let bottom = top + row_h * self.rows.len().max(1) as f64;
        let _ = write!(
            s,
            r##"<line x1="{LABEL_W}" y1="{top:.1}" x2="{LABEL_W}" y2="{bottom:.1}" stroke="#9ca3af"/>"##
        );
        if let Some((value, caption)) = &self.reference {
            let rx = x(*value);
            let _ = write!(
                s,
                r##"<line class="reference" x1="{rx:.1}" y1="{:.1}" x2="{rx:.1}" y2="{:.1}" stroke="{RED}" stroke-width="2" stroke-dasharray="5 4"/>"##,
                top - 4.0,
                bottom + 4.0
            );
            let _ = write!(
                s,
                r##"<text x="{rx:.1}" y="{:.1}" font-size="12" fill="{RED}" text-anchor="middle">{}</text>"##,
                bottom + 18.0,
                esc(caption)
            );
        }
        s.push_str("</svg>");
        s
    }
}

/// Vertical columns with their value above and their label below.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    pub title: String,
    pub columns: Vec<(String, f64)>,
    pub color: &'static str,
    /// Printed under the chart, e.g. the average.
    pub caption: String,
}

impl Columns {
    pub fn svg(&self) -> String {
        const PLOT_H: f64 = 170.0;
        let height = TOP + PLOT_H + 60.0;
        let n = self.columns.len().max(1) as f64;
        let left = 40.0;
        let slot = (WIDTH - left - 20.0) / n;
        let col_w = (slot * 0.6).min(70.0);
        let max = scale_max(self.columns.iter().map(|(_, v)| *v));
        let base = TOP + 14.0 + PLOT_H;
        let mut s = open(height, &self.title);
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{base:.1}" x2="{:.1}" y2="{base:.1}" stroke="#9ca3af"/>"##,
            WIDTH - 20.0
        );
        for (i, (label, value)) in self.columns.iter().enumerate() {
            let h = PLOT_H * (value.max(0.0) / max);
            let cx = left + slot * (i as f64 + 0.5);
            let _ = write!(
                s,
                r##"<rect class="bar" x="{:.1}" y="{:.2}" width="{col_w:.1}" height="{h:.2}" fill="{}" data-value="{value}"/>"##,
                cx - col_w / 2.0,
                base - h,
                self.color
            );
            let _ = write!(
                s,
                r##"<text x="{cx:.1}" y="{:.1}" font-size="13" fill="#111827" text-anchor="middle">{}</text>"##,
                base - h - 6.0,
                number(*value)
            );
            let _ = write!(
                s,
                r##"<text x="{cx:.1}" y="{:.1}" font-size="13" fill="#374151" text-anchor="middle">{}</text>"##,
                base + 20.0,
                esc(label)
            );
        }
        let _ = write!(
            s,
            r##"<text x="{left}" y="{:.1}" font-size="12" fill="#374151">{}</text>"##,
            base + 44.0,
            esc(&self.caption)
        );
        s.push_str("</svg>");
        s
    }
}

/// The title is the accessible name (`<title>`); the page around the chart
/// shows it as a heading, so it is not drawn again.
fn open(height: f64, title: &str) -> String {
    let mut s = String::with_capacity(4096);
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" style="max-width:100%;height:auto" role="img" {FONT}><title>{}</title>"##,
        esc(title)
    );
    s
}

/// Roughly how wide `text` renders at `size` px: CJK characters are square,
/// Latin ones a bit over half as wide.
fn text_width(text: &str, size: f64) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 0.58 } else { 1.0 })
        .sum::<f64>()
        * size
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// Escapes the five XML special characters.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (data-value, `size` attribute) of every bar, in document order; parsing
    /// also proves the SVG well-formed.
    fn bars(svg: &str, size: &str) -> Vec<(f64, f64)> {
        let doc = roxmltree::Document::parse(svg)
            .unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{svg}"));
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("bar"))
            .map(|n| {
                (
                    n.attribute("data-value").unwrap().parse().unwrap(),
                    n.attribute(size).unwrap().parse().unwrap(),
                )
            })
            .collect()
    }

    fn row(label: &str, values: &[Option<f64>]) -> Row {
        Row {
            label: label.into(),
            values: values.to_vec(),
            note: format!("note for {label}"),
        }
    }

    #[test]
    fn scales_round_up_to_a_nice_number() {
        let cases = [
            (vec![], 1.0),
            (vec![0.0], 1.0),
            (vec![7.0], 8.0),
            (vec![13.0, 2.0], 15.0),
            (vec![100.0], 100.0),
            (vec![101.0], 120.0),
            (vec![0.93], 1.0),
            (vec![1.37], 1.5),
        ];
        for (values, expected) in cases {
            assert!(
                (scale_max(values.iter().copied()) - expected).abs() < 1e-9,
                "{values:?}"
            );
        }
    }

    #[test]
    fn horizontal_bars_are_proportional_and_well_formed() {
        let chart = HBars {
            title: "Tickets by type <all> & \"more\"".into(),
            series: vec![Series {
                name: "tickets".into(),
                color: BLUE,
            }],
            rows: vec![
                row("硬件故障", &[Some(40.0)]),
                row("Software", &[Some(10.0)]),
                row("Network", &[Some(0.0)]),
                row("Access", &[None]),
            ],
            reference: None,
        };
        let svg = chart.svg();
        let got = bars(&svg, "width");
        assert_eq!(got.len(), 3, "no bar for a missing value");
        assert!(
            (got[0].1 - 4.0 * got[1].1).abs() < 0.02,
            "40 is four times 10: {got:?}"
        );
        assert_eq!(got[2].1, 0.0);
        // 40 on a scale to 40 fills the whole bar area.
        assert!((got[0].1 - (WIDTH - LABEL_W - VALUE_W)).abs() < 0.01);
        assert!(svg.contains("Tickets by type &lt;all&gt; &amp; &quot;more&quot;"));
        assert!(svg.contains("note for Software"));
    }

    #[test]
    fn series_and_reference_line_share_one_scale() {
        let chart = HBars {
            title: "Resolution time against target".into(),
            series: vec![
                Series {
                    name: "median".into(),
                    color: BLUE,
                },
                Series {
                    name: "p90".into(),
                    color: ORANGE,
                },
            ],
            rows: vec![
                row("Urgent", &[Some(0.5), Some(1.5)]),
                row("Low", &[Some(0.25), None]),
            ],
            reference: Some((1.0, "target".into())),
        };
        let svg = chart.svg();
        let got = bars(&svg, "width");
        assert_eq!(
            got.iter().map(|b| b.0).collect::<Vec<_>>(),
            [0.5, 1.5, 0.25]
        );
        assert!((got[1].1 - 3.0 * got[0].1).abs() < 0.02, "{got:?}");
        assert!((got[0].1 - 2.0 * got[2].1).abs() < 0.02, "{got:?}");
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let line = doc
            .descendants()
            .find(|n| n.attribute("class") == Some("reference"))
            .unwrap();
        let x: f64 = line.attribute("x1").unwrap().parse().unwrap();
        // The target (1.0) sits at two thirds of the 1.5 scale, as does the median bar of 0.5 × 2.
        assert!(
            (x - LABEL_W - got[0].1 * 2.0).abs() < 0.1,
            "reference at {x}"
        );
        assert!(svg.contains(">median<") && svg.contains(">p90<"), "legend");
    }

    #[test]
    fn columns_are_proportional_and_well_formed() {
        let chart = Columns {
            title: "Satisfaction".into(),
            columns: vec![
                ("1★".into(), 1.0),
                ("2★".into(), 0.0),
                ("3★".into(), 2.0),
                ("4★".into(), 6.0),
                ("5★".into(), 12.0),
            ],
            color: GREEN,
            caption: "average 4.3".into(),
        };
        let svg = chart.svg();
        let got = bars(&svg, "height");
        assert_eq!(got.len(), 5);
        assert!(
            (got[4].1 - 2.0 * got[3].1).abs() < 0.02
                && (got[3].1 - 3.0 * got[2].1).abs() < 0.02
                && (got[2].1 - 2.0 * got[0].1).abs() < 0.02,
            "{got:?}"
        );
        assert_eq!(got[1].1, 0.0);
        assert!(svg.contains(">average 4.3<"));
    }
}
