//! The SLA policy: how long acknowledgement, resolution, progress updates and
//! confirmation may take, measured on the business calendar.

use chrono::{DateTime, Duration, Utc};

use super::calendar::{Calendar, Span};
use super::ticket::{Lang, Urgency};

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;

/// Every number of SPEC §3 as a setting; `Default` is the SPEC's own values.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub calendar: Calendar,
    pub ack_within: Span,
    pub ack_within_urgent: Span,
    pub resolve_urgent: Span,
    pub resolve_high: Span,
    pub resolve_medium: Span,
    pub resolve_low: Span,
    pub progress_every: Span,
    /// Warn before a breach when this fraction of the resolution time has passed.
    pub breach_warning_ratio: f64,
    pub repage_every: Span,
    pub confirm_reminder_after: Span,
    pub auto_close_after: Span,
    /// A requester's reply to a closed ticket reopens it within this window;
    /// later replies open a new, linked ticket.
    pub reopen_window: Span,
    /// The language itdesk writes the handling log in: the staff's
    /// (`[helpdesk] default_language`).
    pub staff_lang: Lang,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            calendar: Calendar::default(),
            ack_within: Span::Elapsed { seconds: HOUR },
            ack_within_urgent: Span::Elapsed {
                seconds: 15 * MINUTE,
            },
            resolve_urgent: Span::Elapsed { seconds: 4 * HOUR },
            resolve_high: Span::Elapsed { seconds: 8 * HOUR },
            resolve_medium: Span::Elapsed { seconds: 24 * HOUR },
            resolve_low: Span::WorkingDays { days: 3 },
            // Working hours: no update at night, at weekends or on holidays.
            progress_every: Span::WorkingMinutes { minutes: 4 * 60 },
            breach_warning_ratio: 0.8,
            repage_every: Span::Elapsed {
                seconds: 10 * MINUTE,
            },
            confirm_reminder_after: Span::WorkingDays { days: 1 },
            auto_close_after: Span::WorkingDays { days: 3 },
            reopen_window: Span::WorkingDays { days: 5 },
            staff_lang: Lang::En,
        }
    }
}

impl Policy {
    pub fn resolution_target(&self, urgency: Urgency) -> Span {
        match urgency {
            Urgency::Urgent => self.resolve_urgent,
            Urgency::High => self.resolve_high,
            Urgency::Medium => self.resolve_medium,
            Urgency::Low => self.resolve_low,
        }
    }

    pub fn ack_target(&self, urgency: Urgency) -> Span {
        if urgency == Urgency::Urgent {
            self.ack_within_urgent
        } else {
            self.ack_within
        }
    }

    /// The estimated completion time for work that starts (or restarts) at `start`.
    pub fn eta(&self, urgency: Urgency, start: DateTime<Utc>) -> DateTime<Utc> {
        self.calendar.add(start, self.resolution_target(urgency))
    }

    /// When to warn that `eta` is close: the configured fraction of the way from
    /// `start` to `eta`, in elapsed time.
    pub fn breach_warning_at(&self, start: DateTime<Utc>, eta: DateTime<Utc>) -> DateTime<Utc> {
        let total = (eta - start).num_seconds().max(0) as f64;
        start + Duration::seconds((total * self.breach_warning_ratio.clamp(0.0, 1.0)) as i64)
    }

    pub fn after(&self, start: DateTime<Utc>, span: Span) -> DateTime<Utc> {
        self.calendar.add(start, span)
    }
}
