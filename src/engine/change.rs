//! What staff do to a ticket, in one vocabulary for every surface: the CLI
//! (`itdesk tickets …`) and chat (`/desk …`, thread messages, buttons) each
//! parse their own syntax into a `Change`; `Change::into_action` is the one
//! place it becomes a core action. A new staff action is a variant here, its
//! core action, and one line per surface.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Routing;
use crate::core::lifecycle::{Action, Refusal};
use crate::core::ticket::{ProblemType, Ticket, Urgency};

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
    Resolve {
        fix: String,
    },
    Reopen {
        reason: String,
    },
    Close {
        reason: String,
    },
}

impl Change {
    /// The core action, done by `by`; a new type also moves the ticket to that type's group.
    pub fn into_action(self, by: String, routing: &Routing) -> Action {
        match self {
            Change::Claim => Action::Claim { by },
            Change::Assign { to } => Action::Assign { to, by },
            Change::Note { text } => Action::Note { by, text },
            Change::Step { text } => Action::Step { by, text },
            Change::Reply { text } => Action::Relay { by, text },
            Change::Ask { text } => Action::AskRequester { by, text },
            Change::Urgency { to, reason } => Action::SetUrgency { to, by, reason },
            Change::Type { to } => Action::SetType {
                to,
                group: routing.group_for(to).to_string(),
                by,
            },
            Change::Eta { eta, reason } => Action::SetEta { eta, reason, by },
            Change::Escalate { reason } => Action::Escalate { by, reason },
            Change::Resolve { fix } => Action::Resolve { by, fix },
            Change::Reopen { reason } => Action::Reopen { by, reason },
            Change::Close { reason } => Action::Close { by, reason },
        }
    }
}

/// What became of an action on a ticket.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Applied(Box<Ticket>),
    /// Not allowed in the ticket's state; nothing changed.
    Refused(Refusal),
    /// The message or interaction that carried it was handled before; nothing changed.
    AlreadySeen,
}

impl Outcome {
    /// The changed ticket, if the action was applied.
    pub fn applied(self) -> Option<Ticket> {
        match self {
            Outcome::Applied(t) => Some(*t),
            Outcome::Refused(_) | Outcome::AlreadySeen => None,
        }
    }
}
