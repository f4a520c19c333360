//! The small state steps every action is built from: acknowledging, starting
//! work, pausing and resuming the SLA clock, escalating, reopening, closing,
//! rating, and writing a log entry.

use chrono::{DateTime, Duration, Utc};

use super::timers::arm_work_timers;
use super::Refusal;
use crate::core::effect::{Audience, Effect, NoticeKind};
use crate::core::sla::Policy;
use crate::core::ticket::{CloseReason, LogEntry, LogKind, Rating, Status, Ticket, Timers};
use crate::core::words::Said;

pub(super) fn require_open(t: &Ticket) -> Result<(), Refusal> {
    if t.status.is_open() {
        Ok(())
    } else {
        Err(Refusal::NotOpen(t.status))
    }
}

/// A human has seen the ticket: stops acknowledgement reminders and pages.
pub(super) fn acknowledge(t: &mut Ticket, now: DateTime<Utc>) {
    if t.acknowledged_at.is_none() {
        t.acknowledged_at = Some(now);
    }
    t.timers.ack_check = None;
    t.timers.repage = None;
    if matches!(t.status, Status::New | Status::Reopened) {
        t.status = Status::Acknowledged;
    }
}

pub(super) fn start_work(t: &mut Ticket, now: DateTime<Utc>, p: &Policy, fx: &mut Vec<Effect>) {
    acknowledge(t, now);
    if t.status == Status::WaitingOnRequester {
        resume(t, now);
        arm_work_timers(t, now, p, fx);
    }
    if t.status != Status::Escalated {
        t.status = Status::InProgress;
    }
}

pub(super) fn pause(t: &mut Ticket, now: DateTime<Utc>) {
    if t.paused_since.is_none() {
        t.paused_since = Some(now);
    }
    t.status = Status::WaitingOnRequester;
    t.timers.progress = None;
    t.timers.breach_warning = None;
    t.timers.breach = None;
}

/// Ends a pause: the time spent waiting on the requester pushes the ETA back.
pub(super) fn resume(t: &mut Ticket, now: DateTime<Utc>) {
    if let Some(since) = t.paused_since.take() {
        let waited = (now - since).num_minutes().max(0);
        t.paused_minutes += waited;
        t.eta += Duration::minutes(waited);
        if let Some(revised) = &mut t.revised_eta {
            *revised += Duration::minutes(waited);
        }
    }
}

pub(super) fn escalate(t: &mut Ticket, now: DateTime<Utc>, p: &Policy, by: &str, reason: &str) {
    // A breach escalates with nobody having looked: that is no acknowledgement.
    if by != "itdesk" {
        acknowledge(t, now);
    }
    t.escalated = true;
    t.status = Status::Escalated;
    log(t, now, p, by, LogKind::Escalated, reason.to_string(), false);
}

pub(super) fn reopen(
    t: &mut Ticket,
    now: DateTime<Utc>,
    p: &Policy,
    by: &str,
    reason: &str,
    fx: &mut Vec<Effect>,
) {
    t.status = Status::Reopened;
    t.reopen_count += 1;
    t.resolved_at = None;
    t.closed_at = None;
    t.close_reason = None;
    t.confirmation = None;
    t.timers = Timers::default();
    t.sla_start = now;
    t.paused_minutes = 0;
    t.paused_since = None;
    t.eta = p.eta(t.urgency, now);
    t.revised_eta = None;
    log(t, now, p, by, LogKind::Reopened, reason.to_string(), true);
    fx.push(Effect::notify_with(
        NoticeKind::Reopened,
        Audience::Requester,
        reason,
    ));
    fx.push(Effect::notify_with(
        NoticeKind::StaffUpdate,
        Audience::Group,
        reason,
    ));
    arm_work_timers(t, now, p, fx);
}

pub(super) fn close(
    t: &mut Ticket,
    now: DateTime<Utc>,
    p: &Policy,
    by: &str,
    reason: CloseReason,
    text: String,
    fx: &mut Vec<Effect>,
) {
    t.status = Status::Closed;
    t.closed_at = Some(now);
    t.close_reason = Some(reason);
    t.timers = Timers::default();
    let text = if text.is_empty() {
        Said::Closed.text(p.staff_lang)
    } else {
        text
    };
    log(t, now, p, by, LogKind::Closed, text, true);
    fx.push(Effect::notify(NoticeKind::Closed, Audience::Requester));
}

pub(super) fn rate(
    t: &mut Ticket,
    now: DateTime<Utc>,
    p: &Policy,
    who: &str,
    stars: u8,
    remark: Option<String>,
) {
    let rating = Rating { stars, remark };
    let text = match &rating.remark {
        Some(r) => format!("{} {r}", rating.stars_text()),
        None => rating.stars_text(),
    };
    t.rating = Some(rating);
    log(t, now, p, who, LogKind::Rated, text, true);
}

pub(super) fn within_reopen_window(t: &Ticket, now: DateTime<Utc>, p: &Policy) -> bool {
    t.closed_at
        .is_some_and(|closed| now <= p.after(closed, p.reopen_window))
}

pub(super) fn log(
    t: &mut Ticket,
    now: DateTime<Utc>,
    p: &Policy,
    actor: &str,
    kind: LogKind,
    text: String,
    public: bool,
) {
    t.log.push(LogEntry {
        at: p.calendar.local_minute(now),
        actor: actor.to_string(),
        kind,
        text,
        public,
    });
}
