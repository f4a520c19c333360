//! The status machine: the only code that changes a ticket's status. Each change
//! returns the effects (notices, timers) it causes; the engine commits the new
//! ticket and those effects together.
//!
//! new → acknowledged → in progress ⇄ waiting on requester → resolved → closed,
//! with reopened and escalated on the side. Refusals are values, not errors.

use chrono::{DateTime, Duration, Utc};

use super::effect::{Audience, Effect, NoticeKind, TimerKind};

#[path = "lifecycle_timers.rs"]
mod timers;
use super::id::TicketId;
use super::sla::Policy;
use super::ticket::{
    Attachment, Channel, CloseReason, Confirmation, Lang, LogEntry, LogKind, ProblemType, Rating,
    Requester, Resolution, Status, Ticket, Timers, Urgency, UrgencyLowered,
};
use super::words::{Said, Warning};
#[cfg(test)]
use timers::slot;
use timers::{arm, arm_deadline_timers, arm_work_timers, disarm_open_timers, timer};

/// What the requester's answer to "please confirm and rate" means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyIntent {
    /// The problem is gone. A rating implies this unless the reply also rejects.
    Confirm {
        stars: Option<u8>,
        remark: Option<String>,
    },
    /// Still broken.
    Reject { remark: Option<String> },
    /// Neither could be read with confidence: ask once, do not guess.
    Unclear,
}

/// Everything needed to open a ticket; intake and routing have decided these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub channel: Channel,
    pub requester: Requester,
    pub subject: String,
    pub description: String,
    pub source_message_id: Option<String>,
    pub problem_type: ProblemType,
    pub urgency: Urgency,
    /// Intake lowered the urgency asked for: logged, and said in the acceptance.
    pub urgency_lowered: Option<UrgencyLowered>,
    pub expected_time: Option<String>,
    pub group: String,
    pub lang: Lang,
    pub attachments: Vec<Attachment>,
    /// Too little to act on: ask for details instead of the plain acceptance.
    pub vague: bool,
    /// Told to the requester in the acceptance (e.g. an attachment was dropped).
    pub warnings: Vec<Warning>,
    pub related: Option<TicketId>,
    /// Colleagues the requester copied (`Cc`), lower-cased.
    pub copied: Vec<String>,
}

/// A change someone (or a timer) asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Claim {
        by: String,
    },
    Assign {
        to: String,
        by: String,
    },
    /// A public handling step (处理过程), shown in progress updates.
    Step {
        by: String,
        text: String,
    },
    /// Internal note: logged, never shown to the requester.
    Note {
        by: String,
        text: String,
    },
    /// 备注: a remark on the ticket (on-site visit needed, data security
    /// involved), kept with it and in its record.
    Remark {
        by: String,
        text: String,
    },
    /// A technician's message to the requester.
    Relay {
        by: String,
        text: String,
    },
    /// Ask the requester something and pause the SLA clock until they answer.
    AskRequester {
        by: String,
        text: String,
    },
    /// The requester wrote again (follow-up, answer to a question).
    RequesterMessage {
        text: String,
    },
    /// A colleague the requester copied added something. Unlike the
    /// requester, they cannot confirm, reject or rate: nothing else changes.
    ColleagueMessage {
        from: String,
        text: String,
    },
    /// Someone who is neither the requester, a copied colleague nor staff
    /// wrote about the ticket: kept as an internal entry, staff are told,
    /// nothing else changes — whatever the message says.
    ThirdPartyMessage {
        from: String,
        text: String,
    },
    /// A technician records the requester's answer for them (given by phone,
    /// in person): logged as "technician (for requester)".
    AnswerForRequester {
        by: String,
        intent: ReplyIntent,
        text: String,
    },
    /// The requester answered the confirm-and-rate notice.
    RequesterReply {
        intent: ReplyIntent,
        text: String,
    },
    SetUrgency {
        to: Urgency,
        by: String,
        reason: Option<String>,
    },
    SetType {
        to: ProblemType,
        group: String,
        by: String,
    },
    SetEta {
        eta: DateTime<Utc>,
        reason: String,
        by: String,
    },
    Escalate {
        by: String,
        reason: String,
    },
    /// Escalate to an outside contact (a vendor) by the name it has in the
    /// config; the engine knows their address.
    EscalateTo {
        by: String,
        contact: String,
        reason: String,
    },
    /// The group's rule (`[groups.X] assign`) picked a handler for a new
    /// ticket: not an acknowledgement, nobody has looked yet.
    SystemAssign {
        to: String,
    },
    /// An outside contact the ticket was escalated to answered: an internal
    /// entry for staff, never relayed to the requester.
    ContactMessage {
        contact: String,
        text: String,
    },
    Resolve {
        by: String,
        fix: String,
    },
    Reopen {
        by: String,
        reason: String,
    },
    Close {
        by: String,
        reason: String,
    },
    /// One of our notices to `recipient` bounced.
    Bounced {
        recipient: String,
        diagnostic: String,
    },
    Timer {
        kind: TimerKind,
        due: DateTime<Utc>,
    },
}

/// Why an action was not applied. The ticket is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("ticket is {0}; this needs an open ticket")]
    NotOpen(Status),
    #[error("ticket is {0}; only a resolved ticket can be confirmed or rejected")]
    NotResolved(Status),
    #[error("ticket is already closed")]
    AlreadyClosed,
    #[error("ticket was closed too long ago to reopen; open a new one")]
    ReopenWindowPassed,
    #[error("nothing changes: {0}")]
    NoChange(String),
    #[error("rating must be 1 to 5 stars, got {0}")]
    BadRating(u8),
    #[error("the new ETA must be in the future")]
    EtaInPast,
    #[error("a reason is required: {0}")]
    ReasonRequired(&'static str),
}

/// A stale timer (its due time is no longer the armed one) is not a refusal: it
/// simply does nothing, which is how state changes cancel timers.
pub type Outcome = Result<Vec<Effect>, Refusal>;

/// Opens a ticket with its ID already allocated.
pub fn open(
    id: TicketId,
    new: NewTicket,
    now: DateTime<Utc>,
    policy: &Policy,
) -> (Ticket, Vec<Effect>) {
    let cal = &policy.calendar;
    let eta = policy.eta(new.urgency, now);
    let mut ticket = Ticket {
        id,
        status: Status::New,
        problem_type: new.problem_type,
        urgency: new.urgency,
        channel: new.channel,
        requester: new.requester,
        subject: new.subject,
        description: new.description,
        source_message_id: new.source_message_id,
        expected_time: new.expected_time,
        group: new.group,
        assignee: None,
        created_at: now,
        request_date: cal.local_date(now),
        ack_due: policy.after(now, policy.ack_target(new.urgency)),
        acknowledged_at: None,
        eta,
        revised_eta: None,
        sla_start: now,
        paused_minutes: 0,
        paused_since: None,
        log: Vec::new(),
        resolution: None,
        resolved_at: None,
        confirmation: None,
        rating: None,
        closed_at: None,
        close_reason: None,
        attachments: new.attachments,
        remarks: new
            .warnings
            .iter()
            .map(|w| w.text(policy.staff_lang))
            .collect(),
        lang: new.lang,
        urgency_lowered: new.urgency_lowered,
        reopen_count: 0,
        clarify_asked: false,
        escalated: false,
        contacts: Vec::new(),
        related: new.related,
        known_fix: None,
        copied: new.copied,
        erased_at: None,
        timers: Timers::default(),
    };
    let actor = ticket.requester.display().to_string();
    let summary = Said::OpenedVia(ticket.channel).text(policy.staff_lang);
    log(
        &mut ticket,
        now,
        policy,
        &actor,
        LogKind::Created,
        summary,
        true,
    );
    if let Some(lowered) = &ticket.urgency_lowered {
        let text = Said::UrgencyLowered {
            cue: &lowered.cue,
            from: lowered.from,
            to: ticket.urgency,
        }
        .text(policy.staff_lang);
        log(
            &mut ticket,
            now,
            policy,
            "itdesk",
            LogKind::UrgencyChanged,
            text,
            false,
        );
    }

    let mut fx = Vec::new();
    let warnings = (!new.warnings.is_empty()).then(|| {
        let told: Vec<String> = new.warnings.iter().map(|w| w.text(ticket.lang)).collect();
        told.join("\n")
    });
    let first = if new.vague {
        NoticeKind::NeedMoreInfo
    } else {
        NoticeKind::Accepted
    };
    fx.push(Effect::Notify(super::effect::Notice {
        kind: first,
        audience: Audience::Requester,
        text: warnings,
    }));
    if new.vague {
        ticket.status = Status::WaitingOnRequester;
        ticket.paused_since = Some(now);
    }
    if ticket.urgency == Urgency::Urgent {
        fx.push(Effect::notify(NoticeKind::UrgentPage, Audience::OnDuty));
        arm(
            &mut ticket.timers.repage,
            TimerKind::Repage,
            policy.after(now, policy.repage_every),
            &mut fx,
        );
    }
    let ack_due = ticket.ack_due;
    arm(
        &mut ticket.timers.ack_check,
        TimerKind::AckCheck,
        ack_due,
        &mut fx,
    );
    if !new.vague {
        arm_work_timers(&mut ticket, now, policy, &mut fx);
    }
    (ticket, fx)
}

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
        Action::Claim { by } => {
            require_open(t)?;
            if t.assignee.as_deref() == Some(by.as_str()) {
                return Err(Refusal::NoChange(format!("already assigned to {by}")));
            }
            acknowledge(t, now);
            t.assignee = Some(by.clone());
            log(
                t,
                now,
                p,
                &by,
                LogKind::Assigned,
                Said::ClaimedBy(&by).text(p.staff_lang),
                true,
            );
        }
        Action::Assign { to, by } => {
            require_open(t)?;
            if t.assignee.as_deref() == Some(to.as_str()) {
                return Err(Refusal::NoChange(format!("already assigned to {to}")));
            }
            acknowledge(t, now);
            t.assignee = Some(to.clone());
            log(
                t,
                now,
                p,
                &by,
                LogKind::Assigned,
                Said::AssignedTo(&to).text(p.staff_lang),
                true,
            );
        }
        Action::Step { by, text } => {
            require_open(t)?;
            start_work(t, now, p, &mut fx);
            log(t, now, p, &by, LogKind::Step, text, true);
        }
        Action::Note { by, text } => {
            log(t, now, p, &by, LogKind::Note, text, false);
        }
        Action::Remark { by, text } => {
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
        }
        Action::Relay { by, text } => {
            require_open(t)?;
            start_work(t, now, p, &mut fx);
            log(t, now, p, &by, LogKind::Relayed, text.clone(), true);
            fx.push(Effect::notify_with(
                NoticeKind::Relay,
                Audience::Requester,
                text,
            ));
        }
        Action::AskRequester { by, text } => {
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
        }
        Action::RequesterMessage { text } => requester_message(t, text, now, p, &mut fx)?,
        Action::RequesterReply { intent, text } => {
            let who = t.requester.display().to_string();
            requester_reply(t, &who, intent, text, now, p, &mut fx)?
        }
        Action::AnswerForRequester { by, intent, text } => {
            let who = Said::ForRequester {
                by: &by,
                requester: t.requester.display(),
            }
            .text(p.staff_lang);
            requester_reply(t, &who, intent, text, now, p, &mut fx)?
        }
        Action::SetUrgency { to, by, reason } => {
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
                    &mut fx,
                );
            }
            if t.paused_since.is_none() {
                arm_deadline_timers(t, now, p, &mut fx);
            }
        }
        Action::SetType { to, group, by } => {
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
        }
        Action::SetEta { eta, reason, by } => {
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
                arm_deadline_timers(t, now, p, &mut fx);
            }
        }
        Action::Escalate { by, reason } => {
            require_open(t)?;
            escalate(t, now, p, &by, &reason);
            fx.push(Effect::notify_with(
                NoticeKind::StaffUpdate,
                Audience::Lead,
                reason,
            ));
        }
        Action::EscalateTo {
            by,
            contact,
            reason,
        } => {
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
        }
        Action::SystemAssign { to } => {
            require_open(t)?;
            t.assignee = Some(to.clone());
            let text = Said::AssignedBySystem(&to).text(p.staff_lang);
            log(t, now, p, "itdesk", LogKind::Assigned, text, false);
        }
        Action::ContactMessage { contact, text } => {
            let said = Said::ContactReplied {
                contact: &contact,
                text: &text,
            }
            .text(p.staff_lang);
            log(t, now, p, &contact, LogKind::Contact, text, false);
            fx.push(Effect::notify_with(
                NoticeKind::StaffUpdate,
                Audience::Group,
                said,
            ));
        }
        Action::Resolve { by, fix } => {
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
                &mut fx,
            );
            arm(
                &mut t.timers.auto_close,
                TimerKind::AutoClose,
                p.after(now, p.auto_close_after),
                &mut fx,
            );
        }
        Action::Reopen { by, reason } => {
            if t.status.is_open() {
                return Err(Refusal::NoChange("ticket is already open".into()));
            }
            reopen(t, now, p, &by, &reason, &mut fx);
        }
        Action::Close { by, reason } => {
            if t.status == Status::Closed {
                return Err(Refusal::AlreadyClosed);
            }
            resume(t, now);
            close(t, now, p, &by, CloseReason::ClosedByStaff, reason, &mut fx);
        }
        Action::Bounced {
            recipient,
            diagnostic,
        } => {
            log(
                t,
                now,
                p,
                "mailer",
                LogKind::Bounce,
                Said::Bounced {
                    recipient: &recipient,
                    diagnostic: &diagnostic,
                }
                .text(p.staff_lang),
                false,
            );
        }
        Action::ColleagueMessage { from, text } => {
            log(
                t,
                now,
                p,
                &from,
                LogKind::RequesterMessage,
                text.clone(),
                false,
            );
            fx.push(Effect::notify_with(
                NoticeKind::StaffUpdate,
                Audience::Group,
                format!("{from}: {text}"),
            ));
        }
        Action::ThirdPartyMessage { from, text } => {
            log(t, now, p, &from, LogKind::ThirdParty, text.clone(), false);
            fx.push(Effect::notify_with(
                NoticeKind::StaffUpdate,
                Audience::Group,
                Said::ThirdParty {
                    from: &from,
                    text: &text,
                }
                .text(p.staff_lang),
            ));
        }
        Action::Timer { kind, due } => timer(t, kind, due, now, p, &mut fx),
    }
    Ok(fx)
}

fn requester_message(
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
fn requester_reply(
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

fn require_open(t: &Ticket) -> Result<(), Refusal> {
    if t.status.is_open() {
        Ok(())
    } else {
        Err(Refusal::NotOpen(t.status))
    }
}

/// A human has seen the ticket: stops acknowledgement reminders and pages.
fn acknowledge(t: &mut Ticket, now: DateTime<Utc>) {
    if t.acknowledged_at.is_none() {
        t.acknowledged_at = Some(now);
    }
    t.timers.ack_check = None;
    t.timers.repage = None;
    if matches!(t.status, Status::New | Status::Reopened) {
        t.status = Status::Acknowledged;
    }
}

fn start_work(t: &mut Ticket, now: DateTime<Utc>, p: &Policy, fx: &mut Vec<Effect>) {
    acknowledge(t, now);
    if t.status == Status::WaitingOnRequester {
        resume(t, now);
        arm_work_timers(t, now, p, fx);
    }
    if t.status != Status::Escalated {
        t.status = Status::InProgress;
    }
}

fn pause(t: &mut Ticket, now: DateTime<Utc>) {
    if t.paused_since.is_none() {
        t.paused_since = Some(now);
    }
    t.status = Status::WaitingOnRequester;
    t.timers.progress = None;
    t.timers.breach_warning = None;
    t.timers.breach = None;
}

/// Ends a pause: the time spent waiting on the requester pushes the ETA back.
fn resume(t: &mut Ticket, now: DateTime<Utc>) {
    if let Some(since) = t.paused_since.take() {
        let waited = (now - since).num_minutes().max(0);
        t.paused_minutes += waited;
        t.eta += Duration::minutes(waited);
        if let Some(revised) = &mut t.revised_eta {
            *revised += Duration::minutes(waited);
        }
    }
}

fn escalate(t: &mut Ticket, now: DateTime<Utc>, p: &Policy, by: &str, reason: &str) {
    // A breach escalates with nobody having looked: that is no acknowledgement.
    if by != "itdesk" {
        acknowledge(t, now);
    }
    t.escalated = true;
    t.status = Status::Escalated;
    log(t, now, p, by, LogKind::Escalated, reason.to_string(), false);
}

fn reopen(
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

fn close(
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

fn rate(
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

fn within_reopen_window(t: &Ticket, now: DateTime<Utc>, p: &Policy) -> bool {
    t.closed_at
        .is_some_and(|closed| now <= p.after(closed, p.reopen_window))
}

fn log(
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

#[cfg(test)]
#[path = "lifecycle_tests.rs"]
mod tests;
