//! The SLA timers of a ticket: arming them as its state changes, and what
//! each does when it fires. A timer whose due time is no longer the armed one
//! is stale and does nothing, which is how state changes cancel timers.

use chrono::{DateTime, Utc};

use super::steps::{close, escalate, log};
use crate::core::effect::{Audience, Effect, NoticeKind, TimerKind};
use crate::core::sla::Policy;
use crate::core::ticket::{CloseReason, LogKind, Status, Ticket, Timers};
use crate::core::words::Said;

pub(super) fn timer(
    t: &mut Ticket,
    kind: TimerKind,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) {
    let slot = slot(&mut t.timers, kind);
    if *slot != Some(due) {
        return; // stale: the state it was armed for has changed
    }
    *slot = None;
    match kind {
        TimerKind::AckCheck => {
            if t.acknowledged_at.is_none() && t.status.is_open() {
                let text = Said::NotAcknowledged {
                    due: &p.calendar.format_local(t.ack_due),
                }
                .text(p.staff_lang);
                log(t, now, p, "itdesk", LogKind::Reminder, text, false);
                fx.push(Effect::notify(NoticeKind::AckReminder, Audience::Group));
            }
        }
        TimerKind::Repage => {
            if t.acknowledged_at.is_none() && t.status.is_open() {
                fx.push(Effect::notify(NoticeKind::UrgentPage, Audience::OnDuty));
                arm(
                    &mut t.timers.repage,
                    TimerKind::Repage,
                    p.after(now, p.repage_every),
                    fx,
                );
            }
        }
        TimerKind::Progress => {
            if t.status.is_open() && t.paused_since.is_none() {
                fx.push(Effect::notify(NoticeKind::Progress, Audience::Requester));
                // From `now`, not `due`: after downtime one update goes out, not one per missed interval.
                arm(
                    &mut t.timers.progress,
                    TimerKind::Progress,
                    p.after(now, p.progress_every),
                    fx,
                );
            }
        }
        TimerKind::BreachWarning => {
            if t.status.is_open() {
                let text = Said::ResolutionDue {
                    eta: &p.calendar.format_local(t.eta),
                }
                .text(p.staff_lang);
                log(t, now, p, "itdesk", LogKind::Reminder, text, false);
                fx.push(Effect::notify(NoticeKind::BreachWarning, Audience::Group));
                // Once per target: a warning re-armed after a pause finds the
                // requester already told.
                if t.revised_eta.is_none() {
                    let revised = p.after(t.eta, p.resolution_target(t.urgency));
                    tell_new_eta(t, revised, false, now, p);
                    fx.push(Effect::notify(NoticeKind::Delayed, Audience::Requester));
                }
            }
        }
        TimerKind::Breach => {
            if t.status.is_open() {
                let reason = Said::TargetPassed {
                    eta: &p.calendar.format_local(t.eta),
                }
                .text(p.staff_lang);
                escalate(t, now, p, "itdesk", &reason);
                fx.push(Effect::notify(NoticeKind::Breach, Audience::Lead));
                // The ETA given before the breach stands while it is ahead.
                let revised = match t.revised_eta {
                    Some(revised) if revised > now => revised,
                    _ => p.after(now, p.resolution_target(t.urgency)),
                };
                tell_new_eta(t, revised, true, now, p);
                fx.push(Effect::notify(NoticeKind::Escalated, Audience::Requester));
            }
        }
        TimerKind::ConfirmReminder => {
            if t.status == Status::Resolved {
                log(
                    t,
                    now,
                    p,
                    "itdesk",
                    LogKind::Reminder,
                    Said::AskedAgainToConfirm.text(p.staff_lang),
                    false,
                );
                fx.push(Effect::notify(
                    NoticeKind::ConfirmReminder,
                    Audience::Requester,
                ));
            }
        }
        TimerKind::AutoClose => {
            if t.status == Status::Resolved {
                close(
                    t,
                    now,
                    p,
                    "itdesk",
                    CloseReason::NoAnswer,
                    Said::ClosedNoAnswer.text(p.staff_lang),
                    fx,
                );
            }
        }
    }
}

/// Records the completion time the requester is about to be given in place
/// of the target; the notice that gives it renders its reason from the
/// ticket's state, in the requester's language.
fn tell_new_eta(
    t: &mut Ticket,
    revised: DateTime<Utc>,
    escalated: bool,
    now: DateTime<Utc>,
    p: &Policy,
) {
    let text = Said::RequesterTold {
        escalated,
        eta: &p.calendar.format_local(revised),
        target: &p.calendar.format_local(t.eta),
    }
    .text(p.staff_lang);
    t.revised_eta = Some(revised);
    log(t, now, p, "itdesk", LogKind::EtaChanged, text, false);
}

pub(super) fn slot(timers: &mut Timers, kind: TimerKind) -> &mut Option<DateTime<Utc>> {
    match kind {
        TimerKind::AckCheck => &mut timers.ack_check,
        TimerKind::Progress => &mut timers.progress,
        TimerKind::BreachWarning => &mut timers.breach_warning,
        TimerKind::Breach => &mut timers.breach,
        TimerKind::Repage => &mut timers.repage,
        TimerKind::ConfirmReminder => &mut timers.confirm_reminder,
        TimerKind::AutoClose => &mut timers.auto_close,
    }
}

pub(super) fn arm(
    slot: &mut Option<DateTime<Utc>>,
    kind: TimerKind,
    due: DateTime<Utc>,
    fx: &mut Vec<Effect>,
) {
    *slot = Some(due);
    fx.push(Effect::Wake { kind, due });
}

/// Progress updates and the deadline timers, for a ticket being worked on.
pub(super) fn arm_work_timers(
    t: &mut Ticket,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) {
    arm(
        &mut t.timers.progress,
        TimerKind::Progress,
        p.after(now, p.progress_every),
        fx,
    );
    arm_deadline_timers(t, now, p, fx);
}

pub(super) fn arm_deadline_timers(
    t: &mut Ticket,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) {
    let warn = p.breach_warning_at(t.sla_start, t.eta).max(now);
    if warn < t.eta {
        arm(
            &mut t.timers.breach_warning,
            TimerKind::BreachWarning,
            warn,
            fx,
        );
    } else {
        t.timers.breach_warning = None;
    }
    let eta = t.eta;
    arm(&mut t.timers.breach, TimerKind::Breach, eta.max(now), fx);
}

pub(super) fn disarm_open_timers(timers: &mut Timers) {
    timers.ack_check = None;
    timers.progress = None;
    timers.breach_warning = None;
    timers.breach = None;
    timers.repage = None;
}
