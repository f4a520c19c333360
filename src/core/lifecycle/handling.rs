//! What staff do while working a ticket: take it (or the group's rule
//! hands it to someone), record steps, notes and remarks, talk to the
//! requester, and escalate it to the lead or an outside contact.

use chrono::{DateTime, Utc};

use super::steps::{acknowledge, escalate, log, pause, require_open, start_work};
use super::Refusal;
use crate::core::effect::{Audience, Effect, NoticeKind};
use crate::core::sla::Policy;
use crate::core::ticket::{LogKind, Ticket};
use crate::core::words::Said;

pub(super) fn claim(
    t: &mut Ticket,
    by: String,
    now: DateTime<Utc>,
    p: &Policy,
) -> Result<(), Refusal> {
    let said = Said::ClaimedBy(&by).text(p.staff_lang);
    give_to(t, &by, &by, said, now, p)
}

pub(super) fn assign(
    t: &mut Ticket,
    to: String,
    by: String,
    now: DateTime<Utc>,
    p: &Policy,
) -> Result<(), Refusal> {
    let said = Said::AssignedTo(&to).text(p.staff_lang);
    give_to(t, &to, &by, said, now, p)
}

/// Claiming and assigning alike: `to` works the ticket from now on, as
/// `by` decided, logged with `said`.
fn give_to(
    t: &mut Ticket,
    to: &str,
    by: &str,
    said: String,
    now: DateTime<Utc>,
    p: &Policy,
) -> Result<(), Refusal> {
    require_open(t)?;
    if t.assignee.as_deref() == Some(to) {
        return Err(Refusal::NoChange(format!("already assigned to {to}")));
    }
    acknowledge(t, now);
    t.assignee = Some(to.to_string());
    log(t, now, p, by, LogKind::Assigned, said, true);
    Ok(())
}

/// Not an acknowledgement: nobody has looked yet.
pub(super) fn assign_by_rule(
    t: &mut Ticket,
    to: String,
    now: DateTime<Utc>,
    p: &Policy,
) -> Result<(), Refusal> {
    require_open(t)?;
    t.assignee = Some(to.clone());
    let text = Said::AssignedBySystem(&to).text(p.staff_lang);
    log(t, now, p, "itdesk", LogKind::Assigned, text, false);
    Ok(())
}

pub(super) fn step(
    t: &mut Ticket,
    by: String,
    text: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) -> Result<(), Refusal> {
    require_open(t)?;
    start_work(t, now, p, fx);
    log(t, now, p, &by, LogKind::Step, text, true);
    Ok(())
}

/// Allowed on any ticket, closed ones too.
pub(super) fn note(t: &mut Ticket, by: String, text: String, now: DateTime<Utc>, p: &Policy) {
    log(t, now, p, &by, LogKind::Note, text, false);
}

/// Allowed on any ticket, closed ones too.
pub(super) fn remark(
    t: &mut Ticket,
    by: String,
    text: String,
    now: DateTime<Utc>,
    p: &Policy,
) -> Result<(), Refusal> {
    if text.trim().is_empty() {
        return Err(Refusal::NoChange("the remark is empty".into()));
    }
    t.remarks.push(text.clone());
    log(
        t,
        now,
        p,
        &by,
        LogKind::Note,
        Said::Remark(&text).text(p.staff_lang),
        false,
    );
    Ok(())
}

pub(super) fn relay(
    t: &mut Ticket,
    by: String,
    text: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) -> Result<(), Refusal> {
    require_open(t)?;
    start_work(t, now, p, fx);
    log(t, now, p, &by, LogKind::Relayed, text.clone(), true);
    fx.push(Effect::notify_with(
        NoticeKind::Relay,
        Audience::Requester,
        text,
    ));
    Ok(())
}

pub(super) fn ask_requester(
    t: &mut Ticket,
    by: String,
    text: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) -> Result<(), Refusal> {
    require_open(t)?;
    acknowledge(t, now);
    log(
        t,
        now,
        p,
        &by,
        LogKind::WaitingOnRequester,
        text.clone(),
        true,
    );
    fx.push(Effect::notify_with(
        NoticeKind::Relay,
        Audience::Requester,
        text,
    ));
    pause(t, now);
    Ok(())
}

pub(super) fn escalate_to_lead(
    t: &mut Ticket,
    by: String,
    reason: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) -> Result<(), Refusal> {
    require_open(t)?;
    escalate(t, now, p, &by, &reason);
    fx.push(Effect::notify_with(
        NoticeKind::StaffUpdate,
        Audience::Lead,
        reason,
    ));
    Ok(())
}

pub(super) fn escalate_to_contact(
    t: &mut Ticket,
    by: String,
    contact: String,
    reason: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) -> Result<(), Refusal> {
    require_open(t)?;
    if reason.trim().is_empty() {
        return Err(Refusal::ReasonRequired("say why it goes to the contact"));
    }
    let text = Said::EscalatedTo {
        contact: &contact,
        reason: &reason,
    }
    .text(p.staff_lang);
    escalate(t, now, p, &by, &text);
    if !t.contacts.contains(&contact) {
        t.contacts.push(contact);
    }
    fx.push(Effect::notify_with(
        NoticeKind::ContactEscalation,
        Audience::Contact,
        reason,
    ));
    Ok(())
}
