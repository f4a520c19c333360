//! The seam between the outbox and the channels that deliver: one `Transport`
//! per channel, and errors that say whether a retry can help.

use std::sync::Arc;

use async_trait::async_trait;

use crate::core::effect::NoticeKind;
use crate::core::id::TicketId;
use crate::core::ticket::Lang;
use crate::health::DeliveryFailure;
use crate::queue::Destination;

/// A rendered notice, ready for a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    pub kind: NoticeKind,
    pub dest: Destination,
    pub subject: String,
    pub body: String,
    /// An HTML alternative to `body` (the digest's charts); mail sends both
    /// as multipart/alternative, chat uses `body`.
    pub html: Option<String>,
    /// Pictures `html` refers to as `cid:`; mail sends them with it as
    /// multipart/related.
    pub images: Vec<InlineImage>,
    /// Stable across retries, so a repeat is recognisable as one.
    pub message_id: String,
    /// The requester's original message, for mail threading.
    pub in_reply_to: Option<String>,
    pub ticket: Option<TicketId>,
    pub lang: Lang,
}

/// A PNG an HTML part shows by its Content-ID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineImage {
    /// Without angle brackets (`chart-1@example.org`).
    pub cid: String,
    pub png: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying: connection refused, timeout, 4xx.
    #[error("temporary delivery failure: {0}")]
    Temporary(String),
    /// Retrying cannot help: 5xx, bad address, no channel configured.
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

impl DeliveryError {
    /// As health counts it.
    pub fn failure(&self) -> DeliveryFailure {
        match self {
            DeliveryError::Temporary(_) => DeliveryFailure::Temporary,
            DeliveryError::Permanent(_) => DeliveryFailure::Permanent,
        }
    }
}

#[async_trait]
pub trait Transport: Send + Sync {
    async fn send(&self, msg: &OutgoingMessage) -> Result<(), DeliveryError>;
}

/// The configured channels; an absent one fails its notices permanently with a
/// message naming the missing config section.
#[derive(Clone, Default)]
pub struct Transports {
    pub email: Option<Arc<dyn Transport>>,
    pub chat: Option<Arc<dyn Transport>>,
}

impl Transports {
    pub async fn send(&self, msg: &OutgoingMessage) -> Result<(), DeliveryError> {
        let (transport, section) = match msg.dest {
            Destination::Email { .. } => (&self.email, "[smtp]"),
            Destination::ChatUser { .. } | Destination::ChatChannel { .. } => {
                (&self.chat, "[discord]")
            }
        };
        match transport {
            Some(t) => t.send(msg).await,
            None => Err(DeliveryError::Permanent(format!(
                "no channel for {}: the config has no {section} section",
                msg.dest
            ))),
        }
    }
}
