//! What a ticket change asks the world to do: send a notice, or wake the engine
//! later. The engine turns these into durable outbox entries in the same
//! transaction as the change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Every kind of message itdesk sends; each has a template per language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// 服务单已受理: ID, type, urgency, group, ETA.
    Accepted,
    /// The description is too vague: ask for symptom, time, error text, screenshot.
    NeedMoreInfo,
    /// Scheduled update while the ticket is open.
    Progress,
    /// The ETA moved, with the reason.
    EtaChanged,
    /// To the requester before the target passes: it will be missed, why, and
    /// the new ETA.
    Delayed,
    /// To the requester when the target passed: the ticket was escalated, and
    /// the new ETA.
    Escalated,
    /// To the requester: staff changed the urgency, why, and the new ETA.
    UrgencyChanged,
    /// Resolved: please confirm and rate 1–5 stars.
    ResolvedConfirm,
    /// Reminder of the above when unanswered.
    ConfirmReminder,
    /// Thanks for the rating / confirmation.
    RatingThanks,
    /// The ticket was reopened.
    Reopened,
    /// The ticket was closed (with or without confirmation).
    Closed,
    /// A technician's message relayed to the requester.
    Relay,
    /// The requester's reply could not be understood as confirm/reject/rating.
    Clarify,
    /// Page on-duty staff: an urgent ticket arrived and is unclaimed.
    UrgentPage,
    /// Remind the group that a ticket has not been acknowledged in time.
    AckReminder,
    /// Warn handler and group that the resolution target is close.
    BreachWarning,
    /// The resolution target passed: escalation to the lead.
    Breach,
    /// Tell the technicians' side that the requester wrote or rejected the fix.
    StaffUpdate,
    /// Weekly / monthly statistics.
    Digest,
    /// Operational trouble the on-duty staff must know about (a quarantined
    /// message, a mailbox that keeps failing).
    Alert,
    /// A new ticket's card for its group's chat channel; its thread starts there.
    TicketCard,
    /// A new ticket, by mail to its group's addresses; a reply works the ticket.
    NewTicket,
    /// To an outside contact (a vendor): the ticket's masked summary and why
    /// it is escalated to them; their reply comes back to the ticket.
    ContactEscalation,
}

impl NoticeKind {
    /// Template file stem under `templates/<lang>/`.
    pub fn template(self) -> &'static str {
        match self {
            NoticeKind::Accepted => "accepted",
            NoticeKind::NeedMoreInfo => "need_more_info",
            NoticeKind::Progress => "progress",
            NoticeKind::EtaChanged => "eta_changed",
            NoticeKind::Delayed => "delayed",
            NoticeKind::Escalated => "escalated",
            NoticeKind::UrgencyChanged => "urgency_changed",
            NoticeKind::ResolvedConfirm => "resolved_confirm",
            NoticeKind::ConfirmReminder => "confirm_reminder",
            NoticeKind::RatingThanks => "rating_thanks",
            NoticeKind::Reopened => "reopened",
            NoticeKind::Closed => "closed",
            NoticeKind::Relay => "relay",
            NoticeKind::Clarify => "clarify",
            NoticeKind::UrgentPage => "urgent_page",
            NoticeKind::AckReminder => "ack_reminder",
            NoticeKind::BreachWarning => "breach_warning",
            NoticeKind::Breach => "breach",
            NoticeKind::StaffUpdate => "staff_update",
            NoticeKind::Digest => "digest",
            NoticeKind::Alert => "alert",
            NoticeKind::TicketCard => "ticket_card",
            NoticeKind::NewTicket => "new_ticket",
            NoticeKind::ContactEscalation => "contact_escalation",
        }
    }

    pub const ALL: &'static [NoticeKind] = &[
        NoticeKind::Accepted,
        NoticeKind::NeedMoreInfo,
        NoticeKind::Progress,
        NoticeKind::EtaChanged,
        NoticeKind::Delayed,
        NoticeKind::Escalated,
        NoticeKind::UrgencyChanged,
        NoticeKind::ResolvedConfirm,
        NoticeKind::ConfirmReminder,
        NoticeKind::RatingThanks,
        NoticeKind::Reopened,
        NoticeKind::Closed,
        NoticeKind::Relay,
        NoticeKind::Clarify,
        NoticeKind::UrgentPage,
        NoticeKind::AckReminder,
        NoticeKind::BreachWarning,
        NoticeKind::Breach,
        NoticeKind::StaffUpdate,
        NoticeKind::Digest,
        NoticeKind::Alert,
        NoticeKind::TicketCard,
        NoticeKind::NewTicket,
        NoticeKind::ContactEscalation,
    ];
}

/// Who a notice is for; the engine resolves this to addresses from the ticket
/// and the routing config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Requester,
    /// The ticket's technician group (and its chat thread, once it has one).
    Group,
    OnDuty,
    Lead,
    /// The outside contact the ticket was last escalated to (`Ticket::contacts`).
    Contact,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub audience: Audience,
    /// Text that belongs to this notice only (a relayed message, the reason for a
    /// new ETA); everything else is read from the ticket when rendering.
    pub text: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerKind {
    AckCheck,
    Progress,
    BreachWarning,
    Breach,
    Repage,
    ConfirmReminder,
    AutoClose,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    Notify(Notice),
    /// Come back with `Action::Timer { kind, due }` at `due`.
    Wake {
        kind: TimerKind,
        due: DateTime<Utc>,
    },
}

impl Effect {
    pub fn notify(kind: NoticeKind, audience: Audience) -> Effect {
        Effect::Notify(Notice {
            kind,
            audience,
            text: None,
        })
    }

    pub fn notify_with(kind: NoticeKind, audience: Audience, text: impl Into<String>) -> Effect {
        Effect::Notify(Notice {
            kind,
            audience,
            text: Some(text.into()),
        })
    }
}
