//! Tables for people: columns padded by display width (comfy-table counts a
//! CJK character as two columns), so "张三" lines up under "bob". Every
//! column but the last has a fixed width, so tables printed page by page
//! line up with each other; a longer cell is cut to one line.

use comfy_table::{presets, Cell, ColumnConstraint, ContentArrangement, Row, Table, Width};

/// A table's columns: header and width, padding included (`None`: the last,
/// as wide as it needs).
pub struct Columns(pub &'static [(&'static str, Option<u16>)]);

impl Columns {
    /// `rows` as text lines, with the header line when `header`.
    pub fn render(&self, rows: &[Vec<String>], header: bool) -> String {
        let mut table = Table::new();
        table
            .load_style(presets::NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_truncation_indicator("…");
        if header {
            table.set_header(self.0.iter().map(|(name, _)| Cell::new(name)));
        }
        for row in rows {
            let mut row = Row::from(row.iter().map(Cell::new));
            row.max_height(1);
            table.add_row(row);
        }
        let constraints = self.0.iter().map(|(_, width)| match width {
            Some(w) => ColumnConstraint::Absolute(Width::Fixed(*w)),
            None => ColumnConstraint::ContentWidth,
        });
        table.set_constraints(constraints);
        for column in table.column_iter_mut() {
            column.set_padding((0, 1));
        }
        let mut out = String::new();
        for line in table.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use unicode_width::UnicodeWidthStr;

    use super::*;

    const COLUMNS: Columns = Columns(&[("NAME", Some(8)), ("GROUP", Some(10)), ("SUBJECT", None)]);

    /// The display column where the last cell starts, on every line.
    fn last_column_starts(text: &str, lasts: &[&str]) -> Vec<usize> {
        text.lines()
            .zip(lasts)
            .map(|(line, last)| {
                let at = line
                    .rfind(last)
                    .unwrap_or_else(|| panic!("{last:?} in {line:?}"));
                line[..at].width()
            })
            .collect()
    }

    #[test]
    fn cjk_cells_align_by_display_width_across_pages() {
        let row = |a: &str, b: &str, c: &str| vec![a.to_string(), b.to_string(), c.to_string()];
        let first = COLUMNS.render(
            &[
                row("张三", "网络组", "VPN 断线"),
                row("bob", "network", "printer"),
            ],
            true,
        );
        let second = COLUMNS.render(&[row("李四四", "硬件", "屏幕闪烁")], false);
        let text = format!("{first}{second}");
        let starts = last_column_starts(&text, &["SUBJECT", "VPN 断线", "printer", "屏幕闪烁"]);
        assert_eq!(starts, [18, 18, 18, 18], "{text}");
    }

    #[test]
    fn a_long_cell_is_cut_to_one_line() {
        let long = "很长的组名称超过了十个显示列".to_string();
        let text = COLUMNS.render(&[vec!["x".into(), long, "s".into()]], false);
        assert_eq!(text.lines().count(), 1, "{text}");
        assert_eq!(last_column_starts(&text, &["s"]), [18], "{text}");
    }
}
