//! What became of an action on a ticket or of an inbound request: the
//! engine's answers, as every surface reads them.

use crate::core::id::TicketId;
use crate::core::lifecycle::Refusal;
use crate::core::ticket::Ticket;

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

/// What became of an inbound request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    Created(TicketId),
    /// A follow-up or reply applied to an existing ticket.
    Updated(TicketId),
    /// This message was seen before; nothing changed.
    Duplicate(TicketId),
    /// A delivery report, attached to the ticket whose notice bounced (if found).
    Bounce(Option<TicketId>),
    /// Machine-generated mail: no ticket, no notice (loop protection).
    Ignored(String),
    /// Nothing can be done with it (no one to answer); the channel quarantines it.
    Unprocessable(String),
}

impl IntakeOutcome {
    pub fn ticket(&self) -> Option<&TicketId> {
        match self {
            IntakeOutcome::Created(id)
            | IntakeOutcome::Updated(id)
            | IntakeOutcome::Duplicate(id) => Some(id),
            IntakeOutcome::Bounce(id) => id.as_ref(),
            IntakeOutcome::Ignored(_) | IntakeOutcome::Unprocessable(_) => None,
        }
    }
}
