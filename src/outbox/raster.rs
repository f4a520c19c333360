//! The digest mail's charts as PNG: common mail clients do not show inline
//! SVG, so the HTML part refers to each chart by `cid:` and the mail carries
//! it rasterised from the same SVG the HTML report shows (`resvg`).
//!
//! Text needs fonts: the system's are loaded once, on first use. Without any
//! font the shapes still render and the labels are missing.

use std::sync::{Arc, OnceLock};

use resvg::{tiny_skia, usvg};

use super::transport::InlineImage;
use crate::queue::InlineChart;

/// Pixels per SVG unit: sharp on high-density screens, a few tens of KiB a chart.
const SCALE: f32 = 2.0;

/// Larger is not a chart of ours: refused rather than allocated.
const MAX_PIXELS: u64 = 4096 * 4096;

#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    #[error("chart {cid} is not a readable SVG: {reason}")]
    Parse { cid: String, reason: String },
    #[error("chart {cid} is {width}×{height} px, larger than a chart can be")]
    Size {
        cid: String,
        width: u32,
        height: u32,
    },
    #[error("chart {cid} could not be encoded as PNG: {reason}")]
    Encode { cid: String, reason: String },
}

fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = usvg::fontdb::Database::new();
            db.load_system_fonts();
            Arc::new(db)
        })
        .clone()
}

/// Every chart as a PNG under its Content-ID, or the first that fails.
pub fn rasterise(charts: &[InlineChart]) -> Result<Vec<InlineImage>, RasterError> {
    charts.iter().map(png).collect()
}

fn png(chart: &InlineChart) -> Result<InlineImage, RasterError> {
    let cid = || chart.cid.clone();
    let options = usvg::Options {
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(&chart.svg, &options).map_err(|e| RasterError::Parse {
        cid: cid(),
        reason: e.to_string(),
    })?;
    let size = tree.size().to_int_size().scale_by(SCALE);
    let (width, height) = size.map_or((0, 0), |s| (s.width(), s.height()));
    let mut pixmap = (u64::from(width) * u64::from(height) <= MAX_PIXELS)
        .then(|| tiny_skia::Pixmap::new(width, height))
        .flatten()
        .ok_or(RasterError::Size {
            cid: cid(),
            width,
            height,
        })?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    let png = pixmap.encode_png().map_err(|e| RasterError::Encode {
        cid: cid(),
        reason: e.to_string(),
    })?;
    Ok(InlineImage { cid: cid(), png })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::chart::{HBars, Row, Series, BLUE};

    fn chart(svg: String) -> InlineChart {
        InlineChart {
            cid: "chart-1@example.org".into(),
            svg,
        }
    }

    #[test]
    fn a_chart_becomes_a_png_twice_its_size() {
        let svg = HBars {
            title: "Tickets by type".into(),
            series: vec![Series {
                name: "opened".into(),
                color: BLUE,
            }],
            rows: vec![Row {
                label: "网络".into(),
                values: vec![Some(3.0)],
                note: "3".into(),
            }],
            reference: None,
        }
        .svg();
        let images = rasterise(&[chart(svg)]).unwrap();
        assert_eq!(images.len(), 1);
        let png = &images[0].png;
        assert_eq!(images[0].cid, "chart-1@example.org");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
        // The IHDR chunk: width then height, big-endian, after the 8-byte
        // magic and the chunk's length and type.
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!(width, 1280);
        assert!(height > 0);
    }

    #[test]
    fn a_broken_or_huge_svg_is_an_error_not_a_panic() {
        let broken = rasterise(&[chart("<svg".into())]).unwrap_err();
        assert!(matches!(broken, RasterError::Parse { .. }), "{broken}");
        let huge = r#"<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"/>"#;
        let huge = rasterise(&[chart(huge.into())]).unwrap_err();
        assert!(matches!(huge, RasterError::Size { .. }), "{huge}");
    }
}
