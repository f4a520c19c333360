//! What staff do to a ticket, in one vocabulary for every surface: the CLI
//! (`itdesk tickets …`), chat (`/desk …`, thread messages, buttons) and mail
//! (`#claim`, `#resolve …` lines, `intake::commands`) each parse their own
//! syntax into a `Change`; `Change::into_action` is the one place it becomes a
//! core action. A new staff action is a variant here, its core action, and one
//! line per surface.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lifecycle::{Action, ReplyIntent};
use super::ticket::{ProblemType, Urgency};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    Claim,
    Assign {
        to: String,
    },
    /// Internal: never shown to the requester.
    Note {
        text: String,
    },
    /// 备注, kept with the ticket.
    Remark {
        text: String,
    },
    /// A step of the handling log.
    Step {
        text: String,
    },
    /// Relayed to the requester.
    Reply {
        text: String,
    },
    /// A question the requester is asked (the SLA clock pauses).
    Ask {
        text: String,
    },
    Urgency {
        to: Urgency,
        reason: Option<String>,
    },
    Type {
        to: ProblemType,
    },
    Eta {
        eta: DateTime<Utc>,
        reason: String,
    },
    Escalate {
        reason: String,
    },
    /// Escalate to an outside contact (`[contacts.NAME]`, e.g. a vendor):
    /// they are mailed the ticket's masked summary and their reply comes
    /// back as an internal entry.
    EscalateTo {
        contact: String,
        reason: String,
    },
    Resolve {
        fix: String,
    },
    Reopen {
        reason: String,
    },
    Close {
        reason: String,
    },
    /// The requester's confirmation (and rating), recorded for them.
    ConfirmForRequester {
        stars: Option<u8>,
        remark: Option<String>,
    },
    /// The requester's "still broken", recorded for them.
    RejectForRequester {
        reason: String,
    },
}

impl Change {
    /// The same change with every text written by staff passed through `f`
    /// (the masking every surface shares).
    pub fn map_text(self, f: impl Fn(&str) -> String) -> Change {
        match self {
            Change::Note { text } => Change::Note { text: f(&text) },
            Change::Remark { text } => Change::Remark { text: f(&text) },
            Change::Step { text } => Change::Step { text: f(&text) },
            Change::Reply { text } => Change::Reply { text: f(&text) },
            Change::Ask { text } => Change::Ask { text: f(&text) },
            Change::Urgency { to, reason } => Change::Urgency {
                to,
                reason: reason.as_deref().map(&f),
            },
            Change::Eta { eta, reason } => Change::Eta {
                eta,
                reason: f(&reason),
            },
            Change::Escalate { reason } => Change::Escalate { reason: f(&reason) },
            Change::EscalateTo { contact, reason } => Change::EscalateTo {
                contact,
                reason: f(&reason),
            },
            Change::Resolve { fix } => Change::Resolve { fix: f(&fix) },
            Change::Reopen { reason } => Change::Reopen { reason: f(&reason) },
            Change::Close { reason } => Change::Close { reason: f(&reason) },
            Change::ConfirmForRequester { stars, remark } => Change::ConfirmForRequester {
                stars,
                remark: remark.as_deref().map(&f),
            },
            Change::RejectForRequester { reason } => {
                Change::RejectForRequester { reason: f(&reason) }
            }
            Change::Claim | Change::Assign { .. } | Change::Type { .. } => self,
        }
    }

    /// The core action, done by `by`; a new type also moves the ticket to
    /// `group_for` that type.
    pub fn into_action(self, by: String, group_for: impl Fn(ProblemType) -> String) -> Action {
        match self {
            Change::Claim => Action::Claim { by },
            Change::Assign { to } => Action::Assign { to, by },
            Change::Note { text } => Action::Note { by, text },
            Change::Remark { text } => Action::Remark { by, text },
            Change::Step { text } => Action::Step { by, text },
            Change::Reply { text } => Action::Relay { by, text },
            Change::Ask { text } => Action::AskRequester { by, text },
            Change::Urgency { to, reason } => Action::SetUrgency { to, by, reason },
            Change::Type { to } => Action::SetType {
                to,
                group: group_for(to),
                by,
            },
            Change::Eta { eta, reason } => Action::SetEta { eta, reason, by },
            Change::Escalate { reason } => Action::Escalate { by, reason },
            Change::EscalateTo { contact, reason } => Action::EscalateTo {
                by,
                contact,
                reason,
            },
            Change::Resolve { fix } => Action::Resolve { by, fix },
            Change::Reopen { reason } => Action::Reopen { by, reason },
            Change::Close { reason } => Action::Close { by, reason },
            Change::ConfirmForRequester { stars, remark } => Action::AnswerForRequester {
                by,
                text: remark.clone().unwrap_or_default(),
                intent: ReplyIntent::Confirm { stars, remark },
            },
            Change::RejectForRequester { reason } => Action::AnswerForRequester {
                by,
                text: reason.clone(),
                intent: ReplyIntent::Reject {
                    remark: Some(reason),
                },
            },
        }
    }
}
