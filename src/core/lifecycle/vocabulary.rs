//! The status machine's vocabulary: what opens a ticket (`NewTicket`), the
//! changes that can be asked of it (`Action`, `ReplyIntent`), and why one is
//! refused (`Refusal`).

use chrono::{DateTime, Utc};

use crate::core::effect::{Effect, TimerKind};
use crate::core::id::TicketId;
use crate::core::ticket::{
    Attachment, Channel, Lang, ProblemType, Requester, Status, Urgency, UrgencyLowered,
};
use crate::core::words::Warning;

/// What the requester's answer to "please confirm and rate" means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyIntent {
    /// The problem is gone. A rating implies this unless the reply also rejects.
    Confirm {
        stars: Option<u8>,
        remark: Option<String>,
    },
    /// Still broken.
    Reject { remark: Option<String> },
    /// Neither could be read with confidence: ask once, do not guess.
    Unclear,
}

/// Everything needed to open a ticket; intake and routing have decided these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub channel: Channel,
    pub requester: Requester,
    pub subject: String,
    pub description: String,
    pub source_message_id: Option<String>,
    pub problem_type: ProblemType,
    pub urgency: Urgency,
    /// Intake lowered the urgency asked for: logged, and said in the acceptance.
    pub urgency_lowered: Option<UrgencyLowered>,
    pub expected_time: Option<String>,
    pub group: String,
    pub lang: Lang,
    pub attachments: Vec<Attachment>,
    /// Too little to act on: ask for details instead of the plain acceptance.
    pub vague: bool,
    /// Told to the requester in the acceptance (e.g. an attachment was dropped).
    pub warnings: Vec<Warning>,
    pub related: Option<TicketId>,
    /// Colleagues the requester copied (`Cc`), lower-cased.
    pub copied: Vec<String>,
}

/// A change someone (or a timer) asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Claim {
        by: String,
    },
    Assign {
        to: String,
        by: String,
    },
    /// A public handling step (处理过程), shown in progress updates.
    Step {
        by: String,
        text: String,
    },
    /// Internal note: logged, never shown to the requester.
    Note {
        by: String,
        text: String,
    },
    /// 备注: a remark on the ticket (on-site visit needed, data security
    /// involved), kept with it and in its record.
    Remark {
        by: String,
        text: String,
    },
    /// A technician's message to the requester.
    Relay {
        by: String,
        text: String,
    },
    /// Ask the requester something and pause the SLA clock until they answer.
    AskRequester {
        by: String,
        text: String,
    },
    /// The requester wrote again (follow-up, answer to a question).
    RequesterMessage {
        text: String,
    },
    /// A colleague the requester copied added something. Unlike the
    /// requester, they cannot confirm, reject or rate: nothing else changes.
    ColleagueMessage {
        from: String,
        text: String,
    },
    /// Someone who is neither the requester, a copied colleague nor staff
    /// wrote about the ticket: kept as an internal entry, staff are told,
    /// nothing else changes — whatever the message says.
    ThirdPartyMessage {
        from: String,
        text: String,
    },
    /// A technician records the requester's answer for them (given by phone,
    /// in person): logged as "technician (for requester)".
    AnswerForRequester {
        by: String,
        intent: ReplyIntent,
        text: String,
    },
    /// The requester answered the confirm-and-rate notice.
    RequesterReply {
        intent: ReplyIntent,
        text: String,
    },
    SetUrgency {
        to: Urgency,
        by: String,
        reason: Option<String>,
    },
    SetType {
        to: ProblemType,
        group: String,
        by: String,
    },
    SetEta {
        eta: DateTime<Utc>,
        reason: String,
        by: String,
    },
    Escalate {
        by: String,
        reason: String,
    },
    /// Escalate to an outside contact (a vendor) by the name it has in the
    /// config; the engine knows their address.
    EscalateTo {
        by: String,
        contact: String,
        reason: String,
    },
    /// The group's rule (`[groups.X] assign`) picked a handler for a new
    /// ticket: not an acknowledgement, nobody has looked yet.
    SystemAssign {
        to: String,
    },
    /// An outside contact the ticket was escalated to answered: an internal
    /// entry for staff, never relayed to the requester.
    ContactMessage {
        contact: String,
        text: String,
    },
    Resolve {
        by: String,
        fix: String,
    },
    Reopen {
        by: String,
        reason: String,
    },
    Close {
        by: String,
        reason: String,
    },
    /// One of our notices to `recipient` bounced.
    Bounced {
        recipient: String,
        diagnostic: String,
    },
    Timer {
        kind: TimerKind,
        due: DateTime<Utc>,
    },
}

/// Why an action was not applied. The ticket is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("ticket is {0}; this needs an open ticket")]
    NotOpen(Status),
    #[error("ticket is {0}; only a resolved ticket can be confirmed or rejected")]
    NotResolved(Status),
    #[error("ticket is already closed")]
    AlreadyClosed,
    #[error("ticket was closed too long ago to reopen; open a new one")]
    ReopenWindowPassed,
    #[error("nothing changes: {0}")]
    NoChange(String),
    #[error("rating must be 1 to 5 stars, got {0}")]
    BadRating(u8),
    #[error("the new ETA must be in the future")]
    EtaInPast,
    #[error("a reason is required: {0}")]
    ReasonRequired(&'static str),
}

/// A stale timer (its due time is no longer the armed one) is not a refusal: it
/// simply does nothing, which is how state changes cancel timers.
pub type Outcome = Result<Vec<Effect>, Refusal>;
