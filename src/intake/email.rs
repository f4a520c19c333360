//! Raw RFC 5322 bytes → `InboundMessage`: sender, subject, readable body in the
//! right charset, attachments within size limits, loop protection and delivery
//! reports. `mail_parser` types stay inside this file.
//!
//! Invariant: `parse_email` never fails and never panics; input it cannot read
//! becomes a message whose body says so and carries the raw text, so nothing is lost.

use std::collections::HashSet;
use std::sync::LazyLock;

use chardetng::EncodingDetector;
use chrono::{DateTime, Utc};
use encoding_rs::{Encoding, WINDOWS_1252};
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{
    Address, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use regex::Regex;
use sha2::{Digest, Sha256};

use super::{auth, Automated, Bounce, InboundAttachment, InboundMessage, NotKept, Sender, Warning};
use crate::core::ticket::Channel;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailLimits {
    /// A single part larger than this is dropped (size kept, data empty).
    pub max_attachment_bytes: u64,
    /// Parts beyond this cumulative size are dropped.
    pub max_total_bytes: u64,
    /// The domain of the Message-IDs our notices carry: mail with such an ID is
    /// our own come back.
    pub own_message_id_domain: String,
    /// `[intake] authserv_id`: the server whose `Authentication-Results` are
    /// believed; `None` believes none.
    pub trusted_authserv_id: Option<String>,
    /// `[intake] attachment_deny`: file name endings (".exe") whose parts are not kept.
    pub attachment_deny: Vec<String>,
    /// A longer body is cut here for the ticket; the whole text is kept as
    /// the attachment `body.txt`. Bounds the work one mail costs downstream.
    pub max_description_bytes: usize,
    /// A longer subject is cut here.
    pub max_subject_chars: usize,
}

/// The attachment that keeps a body too long for the ticket.
pub const FULL_BODY: &str = "body.txt";

/// Endings of files that carry programs or scripts, refused by default.
pub const DEFAULT_ATTACHMENT_DENY: &[&str] = &[
    ".exe", ".com", ".scr", ".pif", ".bat", ".cmd", ".js", ".jse", ".vbs", ".vbe", ".wsf", ".wsh",
    ".ps1", ".psm1", ".msi", ".msp", ".hta", ".cpl", ".jar", ".lnk", ".reg", ".dll", ".iso",
    ".img", ".vhd", ".vhdx",
];

/// The denied ending `name` has, if any. Windows drops trailing dots and
/// spaces, so `invoice.pdf.exe. ` is an `.exe` too; `invoice.pdf.exe` is
/// caught by its last ending whatever comes before it.
fn denied_extension(name: &str, deny: &[String]) -> Option<String> {
    let name = name.trim_end_matches(['.', ' ']).to_lowercase();
    deny.iter()
        .map(|d| d.trim().to_lowercase())
        .map(|d| {
            if d.starts_with('.') {
                d
            } else {
                format!(".{d}")
            }
        })
        .find(|d| name.ends_with(d.as_str()))
}

impl Default for EmailLimits {
    fn default() -> Self {
        EmailLimits {
            max_attachment_bytes: 10 * 1024 * 1024,
            max_total_bytes: 25 * 1024 * 1024,
            own_message_id_domain: "itdesk.invalid".to_string(),
            trusted_authserv_id: None,
            attachment_deny: DEFAULT_ATTACHMENT_DENY
                .iter()
                .map(|s| s.to_string())
                .collect(),
            max_description_bytes: 64 * 1024,
            max_subject_chars: 1024,
        }
    }
}

/// HTML is wrapped this wide; wider than a screen on purpose, since wrapping
/// splits Chinese text mid-word, which breaks keyword matching.
const HTML_WIDTH: usize = 1000;
/// html2text gets slow (quadratic) on deeply nested markup; deeper HTML goes
/// through mail-parser's simple linear converter instead.
const HTML_MAX_DEPTH: usize = 400;
/// Larger HTML goes through the linear converter too: html2text builds a
/// whole DOM, hundreds of bytes per byte of a huge page.
const HTML_MAX_BYTES: usize = 1024 * 1024;

pub fn parse_email(raw: &[u8], limits: &EmailLimits, received_at: DateTime<Utc>) -> InboundMessage {
    // Both parsers are written not to panic; should one still do so on hostile
    // input, the mail must become a value, not stop the intake loop for good.
    std::panic::catch_unwind(|| parse_checked(raw, limits, received_at))
        .ok()
        .flatten()
        .unwrap_or_else(|| unparsable(raw, received_at))
}

fn parse_checked(
    raw: &[u8],
    limits: &EmailLimits,
    received_at: DateTime<Utc>,
) -> Option<InboundMessage> {
    // Some clients and gateways save or relay mail with blank lines before
    // its headers; a parser would read the first one as the end of them.
    let raw = skip_leading_blank_lines(raw);
    let fixed = utf8_headers(raw);
    let msg = MessageParser::default().parse(fixed.as_deref().unwrap_or(raw))?;
    let from = sender(&msg);
    let subject = msg
        .subject()
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let mut body = body_text(&msg);
    // A text part mail-parser could not place (after a broken boundary) is the
    // body when there is no other, rather than an attachment nobody opens.
    let stray = if body.is_empty() {
        stray_text_parts(&msg)
    } else {
        Vec::new()
    };
    if !stray.is_empty() {
        body = render(&msg, &stray);
    }
    let (mut attachments, mut warnings) = attachments(&msg, limits, &stray);
    let subject = cut_chars(&subject, limits.max_subject_chars);
    if body.len() > limits.max_description_bytes {
        let full = std::mem::take(&mut body);
        body = format!(
            "{}\n\n[…]",
            &full[..floor_char_boundary(&full, limits.max_description_bytes)]
        );
        warnings.push(Warning::BodyCut {
            full_bytes: full.len() as u64,
            kept_bytes: limits.max_description_bytes as u64,
            file: FULL_BODY.into(),
        });
        attachments.push(InboundAttachment {
            name: FULL_BODY.into(),
            content_type: "text/plain".into(),
            size: full.len() as u64,
            data: full.into_bytes(),
        });
    }
    if from.address.is_empty()
        && subject.is_empty()
        && body.trim().is_empty()
        && attachments.is_empty()
    {
        return None;
    }
    let message_id = msg
        .message_id()
        .map(normalise_id)
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| synthetic_id(raw));
    let mut seen = HashSet::new();
    let references: Vec<String> = ids(msg.in_reply_to())
        .chain(ids(msg.references()))
        .filter(|id| seen.insert(id.clone()))
        .collect();
    let bounce = delivery_report(&msg);
    let automated = if bounce.is_some() {
        Some(Automated::DeliveryReport)
    } else {
        automated(&msg, &from, &message_id, &subject, limits)
    };
    let cc = msg
        .cc()
        .into_iter()
        .flat_map(Address::iter)
        .filter_map(|a| a.address.as_deref())
        .map(|a| a.trim().to_lowercase())
        .filter(|a| a.contains('@'))
        .collect();
    let results: Vec<String> = msg
        .headers_raw()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
        .map(|(_, value)| value.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    let auth = auth::verdict(
        &results,
        limits.trusted_authserv_id.as_deref(),
        &from.address,
    );
    Some(InboundMessage {
        cc,
        auth,
        channel: Channel::Email,
        message_id,
        references,
        from,
        subject,
        body,
        attachments,
        received_at,
        automated,
        bounce,
        warnings,
    })
}

fn unparsable(raw: &[u8], received_at: DateTime<Utc>) -> InboundMessage {
    InboundMessage {
        cc: Vec::new(),
        auth: Default::default(),
        channel: Channel::Email,
        message_id: synthetic_id(raw),
        references: Vec::new(),
        from: Sender::default(),
        subject: String::new(),
        body: format!(
            "[This mail could not be parsed. Its raw text follows.]\n\n{}",
            decode_guess(raw)
        ),
        attachments: Vec::new(),
        received_at,
        automated: None,
        bounce: None,
        warnings: vec![Warning::Unparsable],
    }
}

/// Same bytes, same ID: a re-fetched mail without Message-ID still deduplicates.
fn synthetic_id(raw: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(raw));
    format!("sha256-{}@missing", &digest[..32])
}

fn normalise_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

fn ids<'a>(value: &'a HeaderValue<'_>) -> impl Iterator<Item = String> + 'a {
    let list: Vec<&str> = match value {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    list.into_iter()
        .map(normalise_id)
        .filter(|id| !id.is_empty())
}

/// Some mailers put raw 8-bit GBK/Big5 in headers. mail-parser reads headers
/// as UTF-8, so such a header block is re-decoded with the detected charset
/// before parsing; the body bytes are left as they are.
fn utf8_headers(raw: &[u8]) -> Option<Vec<u8>> {
    let end = find(raw, b"\r\n\r\n")
        .or_else(|| find(raw, b"\n\n"))
        .unwrap_or(raw.len());
    let headers = &raw[..end];
    if std::str::from_utf8(headers).is_ok() {
        return None;
    }
    let mut fixed = decode_guess(headers).into_bytes();
    fixed.extend_from_slice(&raw[end..]);
    Some(fixed)
}

/// `raw` from its first line with something on it.
fn skip_leading_blank_lines(raw: &[u8]) -> &[u8] {
    let mut rest = raw;
    loop {
        let line_end = rest.iter().position(|b| *b == b'\n');
        match line_end {
            Some(end) if rest[..end].iter().all(|b| b.is_ascii_whitespace()) => {
                rest = &rest[end + 1..];
            }
            _ => return rest,
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn decode_guess(bytes: &[u8]) -> String {
    guess(bytes).decode_with_bom_removal(bytes).0.into_owned()
}

fn guess(bytes: &[u8]) -> &'static Encoding {
    let mut detector = EncodingDetector::new();
    detector.feed(bytes, true);
    detector.guess(None, true)
}

/// From, else Sender, Reply-To, Return-Path — the first with an address.
fn sender(msg: &Message) -> Sender {
    let from_name = msg
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.name.as_deref());
    let candidates = [msg.from(), msg.sender(), msg.reply_to()];
    let found = candidates
        .into_iter()
        .flatten()
        .flat_map(Address::iter)
        .find_map(|a| {
            let address = a.address.as_deref()?.trim().to_lowercase();
            (!address.is_empty()).then(|| (a.name.as_deref().or(from_name), address))
        });
    let (name, address) = match found {
        Some(found) => found,
        None => match msg.return_address() {
            Some(rp) => (from_name, normalise_id(rp).to_lowercase()),
            None => (from_name, String::new()),
        },
    };
    let name = name
        .map(|n| n.trim().trim_matches(['"', '\'']).trim().to_string())
        .filter(|n| !n.is_empty() && !n.eq_ignore_ascii_case(&address));
    Sender { name, address }
}

/// text/plain preferred; HTML converted when there is no usable plain text.
fn body_text(msg: &Message) -> String {
    let plain = render(msg, &msg.text_body);
    if plain.is_empty() {
        render(msg, &msg.html_body)
    } else {
        plain
    }
}

fn render(msg: &Message, ids: &[u32]) -> String {
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
fn stray_text_parts(msg: &Message) -> Vec<u32> {
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

/// mail-parser decodes a part without (or with an unknown) charset as UTF-8,
/// replacing bad bytes, and trusts a Latin-1/ASCII label blindly. In those
/// cases the raw part is re-decoded with the charset chardetng detects.
fn redecode(msg: &Message, part: &MessagePart, text: &str) -> String {
    let replaced = text.matches('\u{FFFD}').count();
    let declared = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .and_then(|c| Encoding::for_label(c.trim().as_bytes()));
    let western_label = declared == Some(WINDOWS_1252);
    if replaced == 0 && !western_label {
        return text.to_string();
    }
    let Some(bytes) = transfer_decoded(msg, part) else {
        return text.to_string();
    };
    let encoding = guess(&bytes);
    if replaced > 0 {
        let (candidate, _) = encoding.decode_with_bom_removal(&bytes);
        if candidate.matches('\u{FFFD}').count() < replaced {
            return candidate.into_owned();
        }
    } else if encoding != WINDOWS_1252 && !bytes.is_ascii() {
        // A wrong Latin-1 label: believe the detector only if the bytes decode cleanly.
        if let Some(candidate) =
            encoding.decode_without_bom_handling_and_without_replacement(&bytes)
        {
            return candidate.into_owned();
        }
    }
    text.to_string()
}

/// The part's bytes after undoing base64/quoted-printable, before any charset.
fn transfer_decoded(msg: &Message, part: &MessagePart) -> Option<Vec<u8>> {
    let raw = msg
        .raw_message
        .get(part.offset_body as usize..part.offset_end as usize)?;
    match part.encoding {
        mail_parser::Encoding::Base64 => base64_decode(raw),
        mail_parser::Encoding::QuotedPrintable => quoted_printable_decode(raw),
        mail_parser::Encoding::None => Some(raw.to_vec()),
    }
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

fn attachments(
    msg: &Message,
    limits: &EmailLimits,
    skip: &[u32],
) -> (Vec<InboundAttachment>, Vec<Warning>) {
    let (mut kept, mut warnings, mut total) = (Vec::new(), Vec::new(), 0u64);
    let parts = msg
        .attachments
        .iter()
        .filter(|id| !skip.contains(id))
        .filter_map(|&id| msg.part(id));
    for (n, part) in parts.enumerate() {
        let mut data = match &part.body {
            PartType::Binary(b) | PartType::InlineBinary(b) => b.to_vec(),
            PartType::Text(t) | PartType::Html(t) => {
                transfer_decoded(msg, part).unwrap_or_else(|| t.as_bytes().to_vec())
            }
            PartType::Message(m) => m.raw_message().to_vec(),
            PartType::Multipart(_) => continue,
        };
        let name = attachment_name(part, n + 1);
        let size = data.len() as u64;
        let refusal = if let Some(ext) = denied_extension(&name, &limits.attachment_deny) {
            Some(NotKept::Denied {
                ending: ext.to_string(),
            })
        } else if size > limits.max_attachment_bytes {
            Some(NotKept::TooLarge {
                limit: limits.max_attachment_bytes,
            })
        } else if total + size > limits.max_total_bytes {
            Some(NotKept::OverTotal {
                limit: limits.max_total_bytes,
            })
        } else {
            total += size;
            None
        };
        if let Some(why) = refusal {
            warnings.push(Warning::AttachmentNotKept {
                name: name.clone(),
                size,
                why,
            });
            data = Vec::new();
        }
        kept.push(InboundAttachment {
            name,
            content_type: content_type(part),
            size,
            data,
        });
    }
    (kept, warnings)
}

fn content_type(part: &MessagePart) -> String {
    match part.content_type() {
        Some(ct) => {
            format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("octet-stream")).to_lowercase()
        }
        None if part.is_text() => "text/plain".to_string(),
        None => "application/octet-stream".to_string(),
    }
}

/// The sender's file name without any path (it is used to store the file), or
/// `attachment-N.ext` when the part has none.
fn attachment_name(part: &MessagePart, n: usize) -> String {
    let given = part
        .attachment_name()
        .map(|name| name.rsplit(['/', '\\']).next().unwrap_or(name))
        .map(|name| {
            name.chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect::<String>()
        })
        .map(|name| name.trim().trim_start_matches('.').trim().to_string())
        .filter(|name| !name.is_empty());
    given.unwrap_or_else(|| {
        let ext = match &part.body {
            PartType::Message(_) => "eml".to_string(),
            _ => part
                .content_type()
                .and_then(|ct| ct.subtype())
                .map(|s| {
                    s.chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                        .to_lowercase()
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "bin".to_string()),
        };
        format!("attachment-{n}.{ext}")
    })
}

/// `52.3 MB`, binary units as the limits are configured in MiB.
/// The longest prefix of `s` that is at most `max` bytes and ends on a character.
fn floor_char_boundary(s: &str, max: usize) -> usize {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// `s` cut to `max` characters, with "…" where it was cut.
fn cut_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// Out-of-office subjects. Anchored at the start and followed by a separator,
/// so a request like "外出时VPN连不上" or "Out of office printer" is not caught.
static AUTO_REPLY_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^\s*[\[【(]?\s*(?:自动回复|自动答复|自動回覆|自动应答|外出通知|休假通知|外出中|休假中|不在办公室",
        r"|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|automatic response|out of (?:the )?office|ooo)",
        r"(?:\s*[\]】)]|\s*(?:[:：\-]|$))",
    ))
    .expect("static regex")
});

/// Loop protection: mail that must get no ticket and no notice.
fn automated(
    msg: &Message,
    from: &Sender,
    message_id: &str,
    subject: &str,
    limits: &EmailLimits,
) -> Option<Automated> {
    let header = |name: &str| msg.header_raw(name).map(|v| v.trim().to_string());
    let first_word = |v: &str| {
        v.split([';', '(', ' ', '\t'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    if let Some(v) = header("Auto-Submitted").filter(|v| first_word(v) != "no") {
        return Some(Automated::AutoSubmitted(v));
    }
    for name in ["X-Autoreply", "X-Autorespond"] {
        if let Some(v) = header(name) {
            return Some(Automated::AutoSubmitted(format!("{name}: {v}")));
        }
    }
    if message_id
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(&limits.own_message_id_domain))
    {
        return Some(Automated::OwnMessage);
    }
    if let Some(v) =
        header("Precedence").filter(|v| matches!(first_word(v).as_str(), "bulk" | "junk" | "list"))
    {
        return Some(Automated::Bulk(v));
    }
    if header("X-Auto-Response-Suppress").is_some() {
        return Some(Automated::SuppressAutoResponse);
    }
    if header("List-Id").is_some() || header("List-Unsubscribe").is_some() {
        return Some(Automated::MailingList);
    }
    if header("Return-Path").is_some_and(|v| v.replace(' ', "") == "<>") {
        return Some(Automated::NullSender);
    }
    let local = from.address.split('@').next().unwrap_or("");
    if ["mailer-daemon", "postmaster"].contains(&local) {
        return Some(Automated::DaemonSender(from.address.clone()));
    }
    AUTO_REPLY_SUBJECT
        .is_match(subject)
        .then(|| Automated::AutoReplySubject(subject.to_string()))
}

/// RFC 3464: `multipart/report; report-type=delivery-status`, its
/// `message/delivery-status` part and the returned original (or its headers).
fn delivery_report(msg: &Message) -> Option<Bounce> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ticket::Lang;

    fn parse(raw: &str) -> InboundMessage {
        parse_email(
            raw.as_bytes(),
            &EmailLimits::default(),
            DateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn normalises_ids_and_references() {
        let m = parse(
            "From: A <A@Example.COM>\r\nMessage-ID:  <x1@example.com> \r\nIn-Reply-To: <p@x>\r\nReferences: <r@x> <p@x>\r\nSubject: hi\r\n\r\nbody\r\n",
        );
        assert_eq!(m.message_id, "x1@example.com");
        assert_eq!(m.references, vec!["p@x", "r@x"]);
        assert_eq!(
            m.from,
            Sender {
                name: Some("A".into()),
                address: "a@example.com".into()
            }
        );
    }

    #[test]
    fn synthesises_a_stable_id() {
        let raw = "From: a@x\r\nSubject: no id\r\n\r\nbody\r\n";
        let (a, b) = (parse(raw), parse(raw));
        assert_eq!(a.message_id, b.message_id);
        assert!(
            a.message_id.starts_with("sha256-") && a.message_id.ends_with("@missing"),
            "{}",
            a.message_id
        );
        assert_eq!(a.message_id.len(), "sha256-@missing".len() + 32);
        assert_ne!(
            a.message_id,
            parse("From: a@x\r\nSubject: other\r\n\r\nbody\r\n").message_id
        );
    }

    #[test]
    fn falls_back_to_other_sender_headers() {
        let m = parse("Sender: Desk <desk@x.com>\r\nSubject: s\r\n\r\nb");
        assert_eq!(m.from.address, "desk@x.com");
        let m = parse("Return-Path: <bounce@x.com>\r\nSubject: s\r\n\r\nb");
        assert_eq!(m.from.address, "bounce@x.com");
    }

    #[test]
    fn unreadable_input_is_kept_as_text() {
        for (raw, kept) in [
            (&b""[..], ""),
            (b"\xff\xfe\x00garbage", "garbage"),
            (b"hello world", "hello world"),
        ] {
            let m = parse_email(raw, &EmailLimits::default(), DateTime::UNIX_EPOCH);
            assert!(
                m.body.starts_with("[This mail could not be parsed."),
                "{:?}",
                m.body
            );
            assert!(m.body.contains(kept), "{:?}", m.body);
            assert_eq!(m.warnings.len(), 1);
        }
    }

    #[test]
    fn detects_automated_mail() {
        let cases: &[(&str, Option<Automated>)] = &[
            (
                "Auto-Submitted: auto-replied\r\n",
                Some(Automated::AutoSubmitted("auto-replied".into())),
            ),
            ("Auto-Submitted: no\r\n", None),
            ("Precedence: bulk\r\n", Some(Automated::Bulk("bulk".into()))),
            ("Precedence: first-class\r\n", None),
            (
                "X-Auto-Response-Suppress: All\r\n",
                Some(Automated::SuppressAutoResponse),
            ),
            (
                "List-Id: <it.example.com>\r\n",
                Some(Automated::MailingList),
            ),
            (
                "List-Unsubscribe: <mailto:u@x>\r\n",
                Some(Automated::MailingList),
            ),
            (
                "X-Autoreply: yes\r\n",
                Some(Automated::AutoSubmitted("X-Autoreply: yes".into())),
            ),
            ("Return-Path: <>\r\n", Some(Automated::NullSender)),
            (
                "Message-ID: <n1.IT20231001001@itdesk.invalid>\r\n",
                Some(Automated::OwnMessage),
            ),
        ];
        for (header, want) in cases {
            let m = parse(&format!(
                "From: a@x.com\r\n{header}Subject: printer\r\n\r\nbody"
            ));
            assert_eq!(&m.automated, want, "{header}");
        }
        let m = parse("From: MAILER-DAEMON@x.com\r\nSubject: failure\r\n\r\nbody");
        assert_eq!(
            m.automated,
            Some(Automated::DaemonSender("mailer-daemon@x.com".into()))
        );
    }

    #[test]
    fn recognises_out_of_office_subjects() {
        let cases = [
            ("自动回复: 打印机坏了", true),
            ("自动答复：服务单已受理", true),
            ("【自动回复】休假", true),
            ("Automatic reply: Ticket accepted", true),
            ("Auto-Reply: x", true),
            ("Out of Office: back Monday", true),
            ("Out of the office", true),
            ("外出通知：10月1日-7日", true),
            ("Out of office printer not working", false),
            ("外出时VPN连不上", false),
            ("休假回来电脑开不了机", false),
            ("Re: 自动回复设置不生效", false),
            ("How do I set up an automatic reply?", false),
        ];
        for (subject, want) in cases {
            assert_eq!(AUTO_REPLY_SUBJECT.is_match(subject), want, "{subject}");
        }
    }

    #[test]
    fn a_huge_body_and_subject_are_cut_and_the_whole_text_kept() {
        let line = "打印机报错 E-05，无法打印。\n";
        let body = line.repeat(20_000);
        let subject = "很长的主题".repeat(1000);
        let raw = format!(
            "From: a@x.com\r\nSubject: =?UTF-8?B?{}?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &subject)
        );
        let m = parse_email(
            raw.as_bytes(),
            &EmailLimits::default(),
            DateTime::UNIX_EPOCH,
        );
        assert!(m.body.len() <= 64 * 1024 + 16, "{}", m.body.len());
        assert!(m.body.starts_with(line) && m.body.ends_with("[…]"));
        assert_eq!(m.subject.chars().count(), 1025);
        let full = m.attachments.iter().find(|a| a.name == FULL_BODY).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&full.data).trim_end(),
            body.trim_end()
        );
        assert!(
            m.warnings
                .iter()
                .any(|w| w.text(Lang::En).contains(FULL_BODY)),
            "{:?}",
            m.warnings
        );
    }

    #[test]
    fn blank_lines_before_the_headers_are_skipped() {
        for lead in ["\r\n", "\n", "  \r\n\t\r\n"] {
            let raw = format!("{lead}From: 张三 <a@x.com>\r\nSubject: VPN\r\nMessage-ID: <m1@x.com>\r\n\r\nVPN 连不上\r\n");
            let m = parse_email(
                raw.as_bytes(),
                &EmailLimits::default(),
                DateTime::UNIX_EPOCH,
            );
            assert_eq!(
                (m.from.address.as_str(), m.subject.as_str()),
                ("a@x.com", "VPN"),
                "{lead:?}"
            );
            assert_eq!(m.message_id, "m1@x.com");
        }
    }

    #[test]
    fn programs_are_not_kept_whatever_they_pretend_to_be() {
        let deny: Vec<String> = DEFAULT_ATTACHMENT_DENY
            .iter()
            .map(|s| s.to_string())
            .collect();
        for name in [
            "report.pdf.exe",
            "INVOICE.PDF.EXE",
            "setup.exe. ",
            "a.js",
            "run.ps1",
            "disk.iso",
        ] {
            assert!(denied_extension(name, &deny).is_some(), "{name}");
        }
        for name in [
            "report.pdf",
            "screenshot.png",
            "notes.txt",
            "exe",
            "my.exe.pdf",
        ] {
            assert_eq!(denied_extension(name, &deny), None, "{name}");
        }
        assert_eq!(
            denied_extension("x.sh", &["sh".to_string()]).as_deref(),
            Some(".sh")
        );
    }

    #[test]
    fn drops_oversized_attachments_with_a_warning() {
        let part = |name: &str, len: usize| {
            format!(
                "--b\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\r\n{}\r\n",
                "x".repeat(len)
            )
        };
        let raw = format!(
            "From: a@x.com\r\nSubject: files\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee files\r\n{}{}{}--b--\r\n",
            part("small.txt", 100),
            part("big.bin", 3000),
            part("c.zip", 1500)
        );
        let limits = EmailLimits {
            max_attachment_bytes: 2048,
            max_total_bytes: 1536,
            ..EmailLimits::default()
        };
        let m = parse_email(raw.as_bytes(), &limits, DateTime::UNIX_EPOCH);
        let got: Vec<(&str, u64, usize)> = m
            .attachments
            .iter()
            .map(|a| (a.name.as_str(), a.size, a.data.len()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("small.txt", 100, 100),
                ("big.bin", 3000, 0),
                ("c.zip", 1500, 0)
            ]
        );
        let told: Vec<String> = m.warnings.iter().map(|w| w.text(Lang::En)).collect();
        assert_eq!(
            told,
            vec![
                "attachment \"big.bin\" (2.9 KB) was not kept: over the 2.0 KB limit",
                "attachment \"c.zip\" (1.5 KB) was not kept: over the 1.5 KB limit for all attachments together",
            ]
        );
    }

    #[test]
    fn reads_missing_and_wrong_charsets() {
        let qp = |bytes: &[u8]| {
            bytes
                .iter()
                .map(|b| format!("={b:02X}"))
                .collect::<String>()
        };
        let gbk = encoding_rs::GBK
            .encode("打印机卡纸了，错误代码E-05")
            .0
            .into_owned();
        let utf8 = "Prüfung fehlgeschlagen: Drucker".as_bytes();
        let latin1 = encoding_rs::WINDOWS_1252
            .encode("Café: l'écran est noir")
            .0
            .into_owned();
        let cases: Vec<(String, Vec<u8>, &str)> = vec![
            (
                "text/plain\r\nContent-Transfer-Encoding: 8bit".into(),
                gbk.clone(),
                "打印机卡纸了，错误代码E-05",
            ),
            (
                "text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: 8bit".into(),
                gbk.clone(),
                "打印机卡纸了",
            ),
            (
                "text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit".into(),
                gbk.clone(),
                "打印机卡纸了",
            ),
            (
                "text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable"
                    .into(),
                qp(&gbk).into_bytes(),
                "打印机卡纸了",
            ),
            (
                "text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit".into(),
                utf8.to_vec(),
                "Prüfung fehlgeschlagen",
            ),
            (
                "text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable"
                    .into(),
                qp(&latin1).into_bytes(),
                "Café: l'écran est noir",
            ),
            (
                "text/html\r\nContent-Transfer-Encoding: 8bit".into(),
                [&b"<p>"[..], &gbk, b"</p>"].concat(),
                "打印机卡纸了",
            ),
        ];
        for (content_type, body, want) in cases {
            let raw = [
                format!("From: a@x.com\r\nSubject: s\r\nContent-Type: {content_type}\r\n\r\n")
                    .as_bytes(),
                &body,
            ]
            .concat();
            let m = parse_email(&raw, &EmailLimits::default(), DateTime::UNIX_EPOCH);
            assert!(m.body.contains(want), "{content_type}: {:?}", m.body);
        }
    }

    #[test]
    fn strips_paths_from_attachment_names() {
        let raw = "From: a@x.com\r\nSubject: f\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf; name=\"../../etc/passwd\"\r\n\r\nx\r\n--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment\r\n\r\nx\r\n--b--\r\n";
        let names: Vec<String> = parse(raw).attachments.into_iter().map(|a| a.name).collect();
        assert_eq!(names, vec!["passwd", "attachment-2.png"]);
    }

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

    /// Found by `scripts/fuzz.sh` (mail_intake): a bounce whose returned
    /// message/rfc822 part nests another one that ends at the outer boundary
    /// makes mail-parser 0.11 panic ("Invalid part ID, could not find
    /// multipart"). The mail must still become a value, its text kept.
    #[test]
    fn fuzz_regression_mail_parser_panic_on_nested_rfc822() {
        let raw = include_bytes!("../../tests/fixtures/fuzz/mail_parser_nested_rfc822_panic.eml");
        let m = parse_email(raw, &EmailLimits::default(), DateTime::UNIX_EPOCH);
        assert!(
            m.body.contains("Undelivered Mail Returned to Sender"),
            "the raw text is kept: {}",
            m.body
        );
        assert_eq!(
            m.message_id,
            parse_email(raw, &EmailLimits::default(), DateTime::UNIX_EPOCH).message_id,
            "a re-fetch deduplicates"
        );
    }
}
