//! Who is speaking on a ticket (SPEC §5), decided before the engine acts: its
//! requester, a colleague the requester copied, a technician (a staff
//! address), an outside contact it was escalated to, or a stranger. A sender whose `From` failed DMARC at the trusted
//! mail server is a stranger whatever the address says.

use super::Routing;
use crate::core::ticket::{Channel, Ticket};
use crate::intake::auth::SenderAuth;
use crate::intake::Request;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// May add information, answer, confirm, reject, rate, reopen.
    Requester,
    /// On the original request's `Cc`: may add information.
    Colleague,
    /// A group's, on-duty's or the lead's address: works the ticket.
    Technician,
    /// An outside contact (a vendor) the ticket was escalated to: their
    /// answer is an internal entry for staff.
    Contact,
    /// Anyone else: kept for staff, changes nothing, learns nothing.
    Stranger,
}

/// The role of `req`'s sender on `ticket`; `copied_may_confirm` lets copied
/// colleagues answer for the requester (`[intake] copied_may_confirm`).
pub fn role(req: &Request, ticket: &Ticket, routing: &Routing, copied_may_confirm: bool) -> Role {
    if matches!(req.auth, SenderAuth::Fail(_)) {
        return Role::Stranger;
    }
    let same = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b));
    let who = &req.requester;
    match req.channel {
        // Typed in by staff at the desk, for the requester.
        Channel::Desk => Role::Requester,
        Channel::Chat => {
            if same(&who.chat_user, &ticket.requester.chat_user)
                || same(&who.email, &ticket.requester.email)
            {
                Role::Requester
            } else {
                Role::Stranger
            }
        }
        Channel::Email => {
            let Some(address) = who.email.as_deref() else {
                return Role::Stranger;
            };
            // A technician's own ticket is theirs to confirm.
            if same(&who.email, &ticket.requester.email) {
                Role::Requester
            } else if routing.is_staff(address) {
                Role::Technician
            } else if routing.contacts.on_ticket(ticket, address).is_some() {
                Role::Contact
            } else if ticket
                .copied
                .iter()
                .any(|c| c.eq_ignore_ascii_case(address))
            {
                if copied_may_confirm {
                    Role::Requester
                } else {
                    Role::Colleague
                }
            } else {
                Role::Stranger
            }
        }
    }
}
