//! What a template sees: the helpdesk, the ticket (labels in the notice's
//! language, times local), the notice's own text, the digest's statistics.

use chrono::Utc;
use serde::Serialize;

use crate::core::calendar::Calendar;
use crate::core::ticket::{CloseReason, Lang, Rating, Ticket};
use crate::outbox::live::NoticeSettings;
use crate::queue::OutgoingNotice;

/// Everything a template sees.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeContext {
    pub helpdesk: HelpdeskInfo,
    /// `None` only for notices about no single ticket (digest, operational alert).
    pub ticket: Option<TicketView>,
    pub notice: NoticeView,
    /// Statistics for the digest; the shape is documented in `templates/README.md`.
    pub digest: Option<serde_json::Value>,
}

impl NoticeContext {
    /// What the template of a queued notice about `ticket` sees: the one way the
    /// dispatcher and `itdesk templates preview` build it.
    pub fn for_notice(
        settings: &NoticeSettings,
        ticket: Option<&Ticket>,
        notice: &OutgoingNotice,
        calendar: &Calendar,
    ) -> NoticeContext {
        NoticeContext {
            helpdesk: settings.helpdesk.clone(),
            ticket: ticket.map(|t| {
                let mut view = TicketView::new(t, notice.lang, calendar);
                if let Some(label) = settings.group_labels.get(&t.group) {
                    view.group = label.clone();
                }
                view
            }),
            notice: NoticeView {
                kind: notice.kind.template().to_string(),
                text: notice.text.clone(),
                actor: notice.actor.clone(),
            },
            digest: None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HelpdeskInfo {
    pub name: String,
    pub address: String,
    /// `[on_duty] phone`: told to requesters of urgent tickets.
    pub on_duty_phone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoticeView {
    /// The template stem, e.g. `accepted`.
    pub kind: String,
    /// Text belonging to this notice only: relayed message, reason, intake warnings.
    pub text: Option<String>,
    /// Who caused the notice (the technician of a relay), when known.
    pub actor: Option<String>,
}

/// One line of 处理过程 as templates see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogView {
    pub at: String,
    pub actor: String,
    pub text: String,
}

/// What the requester asked for, and their words that say the impact is smaller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UrgencyLoweredView {
    pub asked_label: String,
    pub cue: String,
}

/// The ticket as templates see it: labels in the notice's language, times formatted local.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketView {
    pub id: String,
    /// Machine key (`in_progress`), for conditions in templates.
    pub status: String,
    pub status_label: String,
    /// Machine key (`software`).
    pub problem_type: String,
    pub type_label: String,
    /// Machine key (`urgent`).
    pub urgency: String,
    pub urgency_label: String,
    /// Intake set a lower urgency than the requester asked for.
    pub urgency_lowered: Option<UrgencyLoweredView>,
    pub group: String,
    pub assignee: Option<String>,
    pub requester_name: String,
    pub requester_department: Option<String>,
    pub requester_contact: Option<String>,
    /// What the requester is asked to add (name, department, contact), in `lang`.
    pub requester_missing: Vec<String>,
    pub subject: String,
    pub description: String,
    pub created_local: String,
    /// The completion time the requester was last given.
    pub eta_local: String,
    /// The resolution target the breach is measured against (staff notices).
    pub target_local: String,
    pub ack_due_local: String,
    pub auto_close_local: Option<String>,
    pub expected_time: Option<String>,
    pub last_public_log: Option<LogView>,
    pub fix: Option<String>,
    pub rating_stars_text: Option<String>,
    pub rating_remark: Option<String>,
    /// `confirmed`, `no_answer` or `closed_by_staff`.
    pub close_reason: Option<String>,
    /// `"name (size)"` each.
    pub attachments: Vec<String>,
    /// The closed ticket this one continues.
    pub related: Option<String>,
    /// The approved FAQ fix the request matched when it was opened.
    pub known_fix: Option<String>,
}

impl TicketView {
    pub fn new(ticket: &Ticket, lang: Lang, calendar: &Calendar) -> TicketView {
        let local = |at| calendar.format_local(at);
        TicketView {
            id: ticket.id.to_string(),
            status: ticket.status.key().to_string(),
            status_label: ticket.status.label(lang).to_string(),
            problem_type: ticket.problem_type.key().to_string(),
            type_label: ticket.problem_type.label(lang).to_string(),
            urgency: ticket.urgency.key().to_string(),
            urgency_label: ticket.urgency.label(lang).to_string(),
            urgency_lowered: ticket.urgency_lowered.as_ref().map(|l| UrgencyLoweredView {
                asked_label: l.from.label(lang).to_string(),
                cue: l.cue.clone(),
            }),
            group: ticket.group.clone(),
            assignee: ticket.assignee.clone(),
            requester_name: ticket.requester.display().to_string(),
            requester_department: ticket.requester.department.clone(),
            requester_contact: ticket.requester.contact.clone(),
            requester_missing: ticket
                .requester
                .missing()
                .into_iter()
                .map(|f| f.label(lang).to_string())
                .collect(),
            subject: ticket.subject.clone(),
            description: ticket.description.clone(),
            created_local: local(ticket.created_at),
            eta_local: local(ticket.eta_told()),
            target_local: local(ticket.eta),
            ack_due_local: local(ticket.ack_due),
            auto_close_local: ticket.timers.auto_close.map(local),
            expected_time: ticket.expected_time.clone(),
            last_public_log: ticket.last_public_log().map(|e| LogView {
                at: local(e.at.with_timezone(&Utc)),
                actor: e.actor.clone(),
                text: e.text.clone(),
            }),
            fix: ticket.resolution.as_ref().map(|r| r.fix.clone()),
            rating_stars_text: ticket.rating.as_ref().map(Rating::stars_text),
            rating_remark: ticket.rating.as_ref().and_then(|r| r.remark.clone()),
            close_reason: ticket.close_reason.map(|r| close_reason_key(r).to_string()),
            attachments: ticket
                .attachments
                .iter()
                .map(|a| format!("{} ({})", a.name, human_size(a.size)))
                .collect(),
            related: ticket.related.as_ref().map(ToString::to_string),
            known_fix: ticket.known_fix.clone(),
        }
    }
}

fn close_reason_key(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::Confirmed => "confirmed",
        CloseReason::NoAnswer => "no_answer",
        CloseReason::ClosedByStaff => "closed_by_staff",
    }
}

pub(super) fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    if bytes < KIB {
        format!("{bytes} B")
    } else if bytes < KIB * KIB {
        format!("{} KB", bytes.div_ceil(KIB))
    } else {
        // Precision loss is irrelevant at one decimal of a megabyte.
        format!("{:.1} MB", bytes as f64 / (KIB * KIB) as f64)
    }
}
