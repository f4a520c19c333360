//! Raw RFC 5322 bytes → `InboundMessage`: sender, subject, readable body in the
//! right charset, attachments within size limits, loop protection and delivery
//! reports. This file reads the headers and puts the message together; the
//! body, charsets, attachments, automated mail and bounces are its submodules.
//! `mail_parser` types stay inside `intake::email`.
//!
//! Invariant: `parse_email` never fails and never panics; input it cannot read
//! becomes a message whose body says so and carries the raw text, so nothing is lost.

mod attachments;
mod automated;
mod body;
mod bounce;
mod charset;
#[cfg(test)]
mod tests;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use mail_parser::{Address, HeaderValue, Message, MessageParser};
use sha2::{Digest, Sha256};

use super::{auth, Automated, InboundAttachment, InboundMessage, Sender, Warning};
use crate::core::ticket::Channel;
use attachments::attachments;
use automated::automated;
use body::{body_text, render, stray_text_parts};
use bounce::delivery_report;
use charset::{decode_guess, utf8_headers};

pub use attachments::DEFAULT_ATTACHMENT_DENY;

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
