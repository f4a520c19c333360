//! The readable body: which parts make it (plain text preferred, a stray text
//! part after a broken boundary), and HTML turned into text with bounded work.

use mail_parser::{Message, MimeHeaders, PartType};

use super::charset::redecode;

/// HTML is wrapped this wide; wider than a screen on purpose, since wrapping
/// splits Chinese text mid-word, which breaks keyword matching.
const HTML_WIDTH: usize = 1000;
/// html2text gets slow (quadratic) on deeply nested markup; deeper HTML goes
/// through mail-parser's simple linear converter instead.
const HTML_MAX_DEPTH: usize = 400;
/// Larger HTML goes through the linear converter too: html2text builds a
/// whole DOM, hundreds of bytes per byte of a huge page.
const HTML_MAX_BYTES: usize = 1024 * 1024;

/// text/plain preferred; HTML converted when there is no usable plain text.
pub(super) fn body_text(msg: &Message) -> String {
    let plain = render(msg, &msg.text_body);
    if plain.is_empty() {
        render(msg, &msg.html_body)
    } else {
        plain
    }
}

pub(super) fn render(msg: &Message, ids: &[u32]) -> String {
    let texts: Vec<String> = ids
        .iter()
        .filter_map(|&id| msg.part(id))
        .filter_map(|part| match &part.body {
            PartType::Text(t) => Some(redecode(msg, part, t)),
            PartType::Html(h) => Some(html_to_text(&redecode(msg, part, h))),
            _ => None,
        })
        .collect();
    texts.join("\n").trim().to_string()
}

/// Unnamed plain-text parts among the attachments that nobody marked as an attachment.
pub(super) fn stray_text_parts(msg: &Message) -> Vec<u32> {
    msg.attachments
        .iter()
        .copied()
        .filter(|&id| {
            msg.part(id).is_some_and(|p| {
                matches!(p.body, PartType::Text(_))
                    && p.attachment_name().is_none()
                    && p.content_disposition().is_none_or(|d| !d.is_attachment())
                    && p.content_type().is_none_or(|ct| {
                        ct.subtype().is_none_or(|s| s.eq_ignore_ascii_case("plain"))
                    })
            })
        })
        .collect()
}

fn html_to_text(html: &str) -> String {
    let converted = (html.len() <= HTML_MAX_BYTES && nesting_depth(html) <= HTML_MAX_DEPTH)
        .then(|| {
            html2text::config::plain_no_decorate()
                .link_footnotes(true)
                .string_from_read(html.as_bytes(), HTML_WIDTH)
                .ok()
        })
        .flatten();
    converted.unwrap_or_else(|| mail_parser::decoders::html::html_to_text(html))
}

/// A rough upper bound of element nesting: opening tags minus closing tags,
/// ignoring void elements.
fn nesting_depth(html: &str) -> usize {
    const VOID: &[&str] = &[
        "br", "img", "meta", "hr", "input", "link", "col", "area", "base", "wbr", "source",
    ];
    let (mut depth, mut max) = (0usize, 0usize);
    for tag in html.split('<').skip(1) {
        if tag.starts_with('/') {
            depth = depth.saturating_sub(1);
        } else if tag.starts_with(|c: char| c.is_ascii_alphabetic())
            && !tag.split_once('>').is_some_and(|(t, _)| t.ends_with('/'))
        {
            let name: String = tag
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            if !VOID.contains(&name.to_ascii_lowercase().as_str()) {
                depth += 1;
                max = max.max(depth);
            }
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_html_nesting() {
        assert_eq!(
            nesting_depth("<p>a<br>b<img src=x/></p><div><span>x</span></div>"),
            2
        );
        assert_eq!(nesting_depth(&"<div>".repeat(1000)), 1000);
        let deep = format!("{}深层内容{}", "<div>".repeat(5000), "</div>".repeat(5000));
        assert!(html_to_text(&deep).contains("深层内容"));
    }
}
