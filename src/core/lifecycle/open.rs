//! Opening a ticket: its fields, first log entries, the acceptance (or
//! "please tell us more") notice, the urgent page and the first SLA timers.

use chrono::{DateTime, Utc};

use super::steps::log;
use super::timers::{arm, arm_work_timers};
use super::NewTicket;
use crate::core::effect::{Audience, Effect, Notice, NoticeKind, TimerKind};
use crate::core::id::TicketId;
use crate::core::sla::Policy;
use crate::core::ticket::{LogKind, Status, Ticket, Timers, Urgency};
use crate::core::words::Said;

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
    fx.push(Effect::Notify(Notice {
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
