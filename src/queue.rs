//! What the outbox carries, as plain data below both the store that keeps it
//! and the outbox and transports that act on it: queue entries (notices,
//! timers, digests, prepared messages), their destinations, dead letters and
//! quarantined mail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::effect::{NoticeKind, TimerKind};
use crate::core::id::TicketId;
use crate::core::ticket::Lang;

/// Which statistics digest a timer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    Weekly,
    Monthly,
}

impl Cadence {
    pub const ALL: [Cadence; 2] = [Cadence::Weekly, Cadence::Monthly];

    pub fn key(self) -> &'static str {
        match self {
            Cadence::Weekly => "weekly",
            Cadence::Monthly => "monthly",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub id: u64,
    pub due: DateTime<Utc>,
    pub ticket: Option<TicketId>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub body: EntryBody,
}

impl QueueEntry {
    /// A new entry: not tried yet.
    pub fn new(
        id: u64,
        due: DateTime<Utc>,
        ticket: Option<TicketId>,
        body: EntryBody,
    ) -> QueueEntry {
        QueueEntry {
            id,
            due,
            ticket,
            attempts: 0,
            last_error: None,
            body,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryBody {
    /// Hand `Action::Timer { kind, due }` to the engine.
    Wake {
        kind: TimerKind,
    },
    Notice(OutgoingNotice),
    /// A statistics digest timer: when due, the dispatcher queues the digest's
    /// copies as `Prepared` entries and the next timer (`outbox::digest`).
    /// `schedule` is what armed it, so a changed `[digest]` is noticed.
    Digest {
        cadence: Cadence,
        schedule: String,
    },
    /// A message rendered in full when it was queued, sent as it is.
    Prepared(PreparedMessage),
    /// The daily retention run: closed tickets past `[retention]` are erased
    /// (by the engine), and the next run is queued.
    Retention,
}

/// A rendered message for one destination (a digest copy): the report it
/// carries is fixed when queued, so every recipient and every retry gets the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedMessage {
    pub kind: NoticeKind,
    pub dest: Destination,
    pub lang: Lang,
    pub subject: String,
    pub body: String,
    /// An HTML alternative to `body`, for mail.
    pub html: Option<String>,
    pub message_id: String,
    /// The charts `html` shows by `cid:` reference, as SVG: mail attaches them
    /// rasterised when it sends (PNG bytes are not kept in the queue).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<InlineChart>,
}

/// A chart an HTML part refers to as `cid:{cid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlineChart {
    /// The Content-ID, without angle brackets (`chart-1@example.org`).
    pub cid: String,
    pub svg: String,
}

/// A notice with its concrete destination. Rendered when sent, from the ticket
/// as it is then, so the text is never staler than the send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutgoingNotice {
    pub kind: NoticeKind,
    pub dest: Destination,
    pub lang: Lang,
    pub text: Option<String>,
    pub actor: Option<String>,
    /// Fixed when queued, so a resend after a crash carries the same Message-ID
    /// and is recognisable as a repeat.
    pub message_id: String,
    /// For staff (a group, on-duty, the lead), not a requester: the
    /// per-recipient hourly cap does not hold it back.
    #[serde(default)]
    pub staff: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Destination {
    Email {
        to: String,
    },
    ChatUser {
        user: String,
    },
    /// A staff channel. For a ticket's notice to its group's channel the chat
    /// transport posts in the ticket's thread there instead.
    ChatChannel {
        channel: String,
        /// Who to address in the post, resolved by the chat adapter when it
        /// sends (the on-duty person of that moment, the tech lead).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        page: Option<Page>,
    },
}

/// Who a staff post is addressed to, in our terms: each chat adapter knows
/// who that is in its app (a rota of roles or users, the lead's role) and
/// renders the mention itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Page {
    /// Whoever the on-duty rota names at the time of sending.
    OnDuty,
    /// The tech lead.
    Lead,
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Email { to } => write!(f, "email:{to}"),
            Destination::ChatUser { user } => write!(f, "chat-user:{user}"),
            Destination::ChatChannel { channel, .. } => write!(f, "chat-channel:{channel}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub entry: QueueEntry,
    pub error: String,
    pub buried_at: DateTime<Utc>,
}

/// A message that could not be processed, kept for `itdesk quarantine`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    pub id: u64,
    pub at: DateTime<Utc>,
    /// Where it came from, e.g. `imap:INBOX uid 42`.
    pub origin: String,
    pub reason: String,
    /// The message as it came, for a retry. The store keeps it sealed; read
    /// back it is open, or empty with `sealed` set when the key is missing.
    #[serde(with = "raw_bytes")]
    pub raw: Vec<u8>,
    #[serde(default)]
    pub sealed: bool,
    /// The message as text with secrets masked: what `quarantine show` prints.
    #[serde(default)]
    pub masked: String,
}

/// Raw mail as base64 inside the JSON record.
mod raw_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}
