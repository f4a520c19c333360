//! Delivery reports (RFC 3464): which of our notices bounced, to whom, and
//! why. Separate because a bounce is read from its report parts, not its
//! headers.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use super::normalise_id;
use crate::intake::Bounce;

/// RFC 3464: `multipart/report; report-type=delivery-status`, its
/// `message/delivery-status` part and the returned original (or its headers).
pub(super) fn delivery_report(msg: &Message) -> Option<Bounce> {
    let root = msg.root_part().content_type()?;
    let is_report = root.ctype().eq_ignore_ascii_case("multipart")
        && root
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        && root
            .attribute("report-type")
            .is_none_or(|t| t.to_ascii_lowercase().contains("delivery-status"));
    if !is_report {
        return None;
    }
    let mut bounce = Bounce {
        original_message_id: None,
        recipient: None,
        diagnostic: String::new(),
    };
    for part in &msg.parts {
        let (ctype, subtype) = match part.content_type() {
            Some(ct) => (
                ct.ctype().to_ascii_lowercase(),
                ct.subtype().unwrap_or("").to_ascii_lowercase(),
            ),
            None => continue,
        };
        match (ctype.as_str(), subtype.as_str()) {
            ("message", "delivery-status" | "global-delivery-status") => {
                let text = match &part.body {
                    PartType::Text(t) | PartType::Html(t) => t.to_string(),
                    PartType::Binary(b) | PartType::InlineBinary(b) => {
                        String::from_utf8_lossy(b).into_owned()
                    }
                    _ => continue,
                };
                read_status_fields(&text, &mut bounce);
            }
            ("message", "rfc822" | "global") | ("text", "rfc822-headers") => {
                let id = match &part.body {
                    PartType::Message(m) => m.message_id().map(normalise_id),
                    PartType::Text(t) => header_block_id(t.as_bytes()),
                    PartType::Binary(b) | PartType::InlineBinary(b) => header_block_id(b),
                    _ => None,
                };
                bounce.original_message_id = bounce
                    .original_message_id
                    .or(id.filter(|id| !id.is_empty()));
            }
            _ => {}
        }
    }
    if bounce.diagnostic.is_empty() {
        bounce.diagnostic = "delivery failed (the report gives no details)".to_string();
    }
    Some(bounce)
}

fn header_block_id(bytes: &[u8]) -> Option<String> {
    MessageParser::default()
        .parse(bytes)?
        .message_id()
        .map(normalise_id)
}

/// Reads Final-/Original-Recipient, Action, Status and Diagnostic-Code of the
/// first recipient, unfolding continuation lines.
fn read_status_fields(text: &str, bounce: &mut Bounce) {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        match (line.starts_with([' ', '\t']), fields.last_mut()) {
            (true, Some((_, value))) => {
                value.push(' ');
                value.push_str(line.trim());
            }
            _ => {
                if let Some((name, value)) = line.split_once(':') {
                    fields.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
                }
            }
        }
    }
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let address = |v: &str| {
        v.split_once(';')
            .map_or(v, |(_, a)| a)
            .trim()
            .trim_matches(['<', '>'])
            .to_lowercase()
    };
    bounce.recipient = field("final-recipient")
        .or(field("original-recipient"))
        .map(address);
    let summary: Vec<&str> = [field("action"), field("status")]
        .into_iter()
        .flatten()
        .collect();
    bounce.diagnostic = match (summary.join(" "), field("diagnostic-code")) {
        (s, Some(d)) if s.is_empty() => d.to_string(),
        (s, Some(d)) => format!("{s}: {d}"),
        (s, None) => s,
    };
}
