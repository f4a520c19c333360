//! The status machine: the only code that changes a ticket's status. Each change
//! returns the effects (notices, timers) it causes; the engine commits the new
//! ticket and those effects together.
//!
//! new → acknowledged → in progress ⇄ waiting on requester → resolved → closed,
//! with reopened and escalated on the side. Refusals are values, not errors.
//!
//! Here: `apply`, which sends each `Action` to the module that does it. The
//! words (`Action`, `Refusal`, …) are in `vocabulary`, opening a ticket in
//! `open`, the steps actions share in `steps`, SLA timers in `timers`.

mod handling;
mod open;
mod others;
mod requester;
mod resolution;
mod steps;
mod terms;
mod timers;
mod vocabulary;

use chrono::{DateTime, Utc};

use super::sla::Policy;
use super::ticket::Ticket;
use super::words::Said;

pub use open::open;
pub use vocabulary::{Action, NewTicket, Outcome, Refusal, ReplyIntent};

/// Applies `action` at `now`. On a refusal the ticket is left exactly as it was.
pub fn apply(ticket: &mut Ticket, action: Action, now: DateTime<Utc>, policy: &Policy) -> Outcome {
    let before = ticket.clone();
    let outcome = apply_inner(ticket, action, now, policy);
    if outcome.is_err() {
        *ticket = before;
    }
    outcome
}

fn apply_inner(t: &mut Ticket, action: Action, now: DateTime<Utc>, p: &Policy) -> Outcome {
    let mut fx = Vec::new();
    match action {
        Action::Claim { by } => handling::claim(t, by, now, p)?,
        Action::Assign { to, by } => handling::assign(t, to, by, now, p)?,
        Action::SystemAssign { to } => handling::assign_by_rule(t, to, now, p)?,
        Action::Step { by, text } => handling::step(t, by, text, now, p, &mut fx)?,
        Action::Note { by, text } => handling::note(t, by, text, now, p),
        Action::Remark { by, text } => handling::remark(t, by, text, now, p)?,
        Action::Relay { by, text } => handling::relay(t, by, text, now, p, &mut fx)?,
        Action::AskRequester { by, text } => handling::ask_requester(t, by, text, now, p, &mut fx)?,
        Action::Escalate { by, reason } => {
            handling::escalate_to_lead(t, by, reason, now, p, &mut fx)?
        }
        Action::EscalateTo {
            by,
            contact,
            reason,
        } => handling::escalate_to_contact(t, by, contact, reason, now, p, &mut fx)?,
        Action::SetUrgency { to, by, reason } => {
            terms::set_urgency(t, to, by, reason, now, p, &mut fx)?
        }
        Action::SetType { to, group, by } => terms::set_type(t, to, group, by, now, p)?,
        Action::SetEta { eta, reason, by } => terms::set_eta(t, eta, reason, by, now, p, &mut fx)?,
        Action::Resolve { by, fix } => resolution::resolve(t, by, fix, now, p, &mut fx)?,
        Action::Reopen { by, reason } => {
            resolution::reopen_by_staff(t, by, reason, now, p, &mut fx)?
        }
        Action::Close { by, reason } => resolution::close_by_staff(t, by, reason, now, p, &mut fx)?,
        Action::RequesterMessage { text } => {
            requester::requester_message(t, text, now, p, &mut fx)?
        }
        Action::RequesterReply { intent, text } => {
            let who = t.requester.display().to_string();
            requester::requester_reply(t, &who, intent, text, now, p, &mut fx)?
        }
        Action::AnswerForRequester { by, intent, text } => {
            let who = Said::ForRequester {
                by: &by,
                requester: t.requester.display(),
            }
            .text(p.staff_lang);
            requester::requester_reply(t, &who, intent, text, now, p, &mut fx)?
        }
        Action::ColleagueMessage { from, text } => {
            others::colleague_message(t, from, text, now, p, &mut fx)
        }
        Action::ThirdPartyMessage { from, text } => {
            others::third_party_message(t, from, text, now, p, &mut fx)
        }
        Action::ContactMessage { contact, text } => {
            others::contact_message(t, contact, text, now, p, &mut fx)
        }
        Action::Bounced {
            recipient,
            diagnostic,
        } => others::bounced(t, recipient, diagnostic, now, p),
        Action::Timer { kind, due } => timers::timer(t, kind, due, now, p, &mut fx),
    }
    Ok(fx)
}

#[cfg(test)]
mod tests;
