//! Staff changing what a ticket is held to: its urgency (and with it the SLA
//! targets), its type and group, its ETA.

use chrono::{DateTime, Duration, Utc};

use super::steps::{log, require_open};
use super::timers::{arm, arm_deadline_timers};
use super::Refusal;
use crate::core::effect::{Audience, Effect, NoticeKind, TimerKind};
use crate::core::sla::Policy;
use crate::core::ticket::{LogKind, ProblemType, Ticket, Urgency};
use crate::core::words::Said;

pub(super) fn set_urgency(
    t: &mut Ticket,
    to: Urgency,
    by: String,
    reason: Option<String>,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) -> Result<(), Refusal> {
    require_open(t)?;
    if t.urgency == to {
        return Err(Refusal::NoChange(format!("urgency is already {to}")));
    }
    // The requester is told why; "don't inflate urgency" needs a why too.
    let reason = reason
        .filter(|r| !r.trim().is_empty())
        .ok_or(Refusal::ReasonRequired("say why the urgency changes"))?;
    let from = t.urgency;
    t.urgency = to;
    log(
        t,
        now,
        p,
        &by,
        LogKind::UrgencyChanged,
        Said::UrgencyChanged {
            from,
            to,
            reason: &reason,
        }
        .text(p.staff_lang),
        false,
    );
    t.ack_due = p.after(t.created_at, p.ack_target(to));
    t.eta = p.eta(to, t.sla_start) + Duration::minutes(t.paused_minutes);
    t.revised_eta = None;
    fx.push(Effect::notify_with(
        NoticeKind::UrgencyChanged,
        Audience::Requester,
        reason,
    ));
    if to == Urgency::Urgent && t.acknowledged_at.is_none() {
        fx.push(Effect::notify(NoticeKind::UrgentPage, Audience::OnDuty));
        arm(
            &mut t.timers.repage,
            TimerKind::Repage,
            p.after(now, p.repage_every),
            fx,
        );
    }
    if t.paused_since.is_none() {
        arm_deadline_timers(t, now, p, fx);
    }
    Ok(())
}

pub(super) fn set_type(
    t: &mut Ticket,
    to: ProblemType,
    group: String,
    by: String,
    now: DateTime<Utc>,
    p: &Policy,
) -> Result<(), Refusal> {
    require_open(t)?;
    if t.problem_type == to && t.group == group {
        return Err(Refusal::NoChange(format!("type is already {to}")));
    }
    let text = Said::TypeChanged {
        from: t.problem_type,
        to,
        from_group: &t.group,
        to_group: &group,
    }
    .text(p.staff_lang);
    t.problem_type = to;
    t.group = group;
    log(t, now, p, &by, LogKind::TypeChanged, text, false);
    Ok(())
}

pub(super) fn set_eta(
    t: &mut Ticket,
    eta: DateTime<Utc>,
    reason: String,
    by: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) -> Result<(), Refusal> {
    require_open(t)?;
    if eta <= now {
        return Err(Refusal::EtaInPast);
    }
    let text = Said::EtaChanged {
        from: &p.calendar.format_local(t.eta),
        to: &p.calendar.format_local(eta),
        reason: &reason,
    }
    .text(p.staff_lang);
    t.eta = eta;
    t.revised_eta = None;
    log(t, now, p, &by, LogKind::EtaChanged, text, true);
    fx.push(Effect::notify_with(
        NoticeKind::EtaChanged,
        Audience::Requester,
        reason,
    ));
    if t.paused_since.is_none() {
        arm_deadline_timers(t, now, p, fx);
    }
    Ok(())
}
