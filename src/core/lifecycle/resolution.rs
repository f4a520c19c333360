//! Ending the work on a ticket and what staff may do after: resolving it
//! (which asks the requester to confirm and rate), reopening, closing.

use chrono::{DateTime, Utc};

use super::steps::{acknowledge, close, log, reopen, require_open, resume};
use super::timers::{arm, disarm_open_timers};
use super::Refusal;
use crate::core::effect::{Audience, Effect, NoticeKind, TimerKind};
use crate::core::sla::Policy;
use crate::core::ticket::{CloseReason, LogKind, Resolution, Status, Ticket};

pub(super) fn resolve(
    t: &mut Ticket,
    by: String,
    fix: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) -> Result<(), Refusal> {
    require_open(t)?;
    acknowledge(t, now);
    resume(t, now);
    t.status = Status::Resolved;
    t.resolved_at = Some(now);
    t.resolution = Some(Resolution {
        by: by.clone(),
        at: now,
        fix: fix.clone(),
    });
    t.clarify_asked = false;
    disarm_open_timers(&mut t.timers);
    log(t, now, p, &by, LogKind::Resolved, fix, true);
    fx.push(Effect::notify(
        NoticeKind::ResolvedConfirm,
        Audience::Requester,
    ));
    arm(
        &mut t.timers.confirm_reminder,
        TimerKind::ConfirmReminder,
        p.after(now, p.confirm_reminder_after),
        fx,
    );
    arm(
        &mut t.timers.auto_close,
        TimerKind::AutoClose,
        p.after(now, p.auto_close_after),
        fx,
    );
    Ok(())
}

pub(super) fn reopen_by_staff(
    t: &mut Ticket,
    by: String,
    reason: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) -> Result<(), Refusal> {
    if t.status.is_open() {
        return Err(Refusal::NoChange("ticket is already open".into()));
    }
    reopen(t, now, p, &by, &reason, fx);
    Ok(())
}

pub(super) fn close_by_staff(
    t: &mut Ticket,
    by: String,
    reason: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) -> Result<(), Refusal> {
    if t.status == Status::Closed {
        return Err(Refusal::AlreadyClosed);
    }
    resume(t, now);
    close(t, now, p, &by, CloseReason::ClosedByStaff, reason, fx);
    Ok(())
}
