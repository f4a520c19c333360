//! What the requester's own messages do: a follow-up or an answer to a
//! question, and the answer to "please confirm and rate" (given by them, or
//! recorded for them by a technician).

use chrono::{DateTime, Utc};

use super::steps::{close, log, rate, reopen, resume, within_reopen_window};
use super::timers::arm_work_timers;
use super::{Refusal, ReplyIntent};
use crate::core::effect::{Audience, Effect, NoticeKind};
use crate::core::sla::Policy;
use crate::core::ticket::{CloseReason, Confirmation, LogKind, Status, Ticket};
use crate::core::words::Said;

pub(super) fn requester_message(
    t: &mut Ticket,
    text: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) -> Result<(), Refusal> {
    let who = t.requester.display().to_string();
    match t.status {
        Status::Closed => {
            if !within_reopen_window(t, now, p) {
                return Err(Refusal::ReopenWindowPassed);
            }
            reopen(t, now, p, &who, &text, fx);
        }
        Status::Resolved => {
            // Not an answer we could read: treat it as "still broken, here is more".
            reopen(t, now, p, &who, &text, fx);
        }
        _ => {
            log(
                t,
                now,
                p,
                &who,
                LogKind::RequesterMessage,
                text.clone(),
                false,
            );
            if t.status == Status::WaitingOnRequester {
                resume(t, now);
                t.status = if t.acknowledged_at.is_some() {
                    Status::InProgress
                } else {
                    Status::New
                };
                arm_work_timers(t, now, p, fx);
            }
            fx.push(Effect::notify_with(
                NoticeKind::StaffUpdate,
                Audience::Group,
                text,
            ));
        }
    }
    Ok(())
}

/// The requester's answer to the confirm-and-rate notice, given by `who`.
pub(super) fn requester_reply(
    t: &mut Ticket,
    who: &str,
    intent: ReplyIntent,
    text: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) -> Result<(), Refusal> {
    let who = who.to_string();
    if let ReplyIntent::Confirm { stars: Some(s), .. } = intent {
        if !(1..=5).contains(&s) {
            return Err(Refusal::BadRating(s));
        }
    }
    match (t.status, intent) {
        (Status::Resolved, ReplyIntent::Confirm { stars, remark }) => {
            let date = p.calendar.local_date(now);
            // The requester's own words are the confirmation's result text.
            let said: String = text.trim().chars().take(500).collect();
            t.confirmation = Some(Confirmation {
                by: who.clone(),
                date,
                text: said.clone(),
            });
            log(t, now, p, &who, LogKind::Confirmed, said, true);
            if let Some(stars) = stars {
                rate(t, now, p, &who, stars, remark);
            }
            close(
                t,
                now,
                p,
                &who,
                CloseReason::Confirmed,
                Said::ConfirmedClosed.text(p.staff_lang),
                fx,
            );
            fx.retain(|e| !matches!(e, Effect::Notify(n) if n.kind == NoticeKind::Closed));
            fx.push(Effect::notify(
                NoticeKind::RatingThanks,
                Audience::Requester,
            ));
        }
        (Status::Resolved, ReplyIntent::Reject { remark }) => {
            let reason = remark.unwrap_or_else(|| text.trim().to_string());
            log(t, now, p, &who, LogKind::Rejected, reason.clone(), true);
            reopen(t, now, p, &who, &reason, fx);
        }
        (Status::Resolved, ReplyIntent::Unclear) => {
            log(
                t,
                now,
                p,
                &who,
                LogKind::RequesterMessage,
                text.trim().to_string(),
                false,
            );
            if !t.clarify_asked {
                t.clarify_asked = true;
                fx.push(Effect::notify(NoticeKind::Clarify, Audience::Requester));
            } else {
                fx.push(Effect::notify_with(
                    NoticeKind::StaffUpdate,
                    Audience::Group,
                    text,
                ));
            }
        }
        (
            Status::Closed,
            ReplyIntent::Confirm {
                stars: Some(stars),
                remark,
            },
        ) if t.rating.is_none() => {
            rate(t, now, p, &who, stars, remark);
            fx.push(Effect::notify(
                NoticeKind::RatingThanks,
                Audience::Requester,
            ));
        }
        (Status::Closed, ReplyIntent::Confirm { .. }) => return Err(Refusal::AlreadyClosed),
        (Status::Closed, ReplyIntent::Reject { remark }) => {
            if !within_reopen_window(t, now, p) {
                return Err(Refusal::ReopenWindowPassed);
            }
            let reason = remark.unwrap_or_else(|| text.trim().to_string());
            log(t, now, p, &who, LogKind::Rejected, reason.clone(), true);
            reopen(t, now, p, &who, &reason, fx);
        }
        (Status::Closed, ReplyIntent::Unclear) => requester_message(t, text, now, p, fx)?,
        (status, _) => return Err(Refusal::NotResolved(status)),
    }
    Ok(())
}
