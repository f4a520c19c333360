//! What became of an action on a ticket: the engine's answer to every surface.

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
