//! The desk's own sections: who it is, where it keeps its tickets, who may
//! use the CLI, how it takes requests in, its SLA clock and working calendar,
//! routing, groups and outside contacts.

use std::path::PathBuf;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::core::calendar::Span;
use crate::core::sla::Policy;
use crate::core::ticket::ProblemType;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HelpdeskConfig {
    pub name: String,
    /// The address requesters write to; notices come from [smtp].from.
    pub address: String,
    /// Language for requesters whose message shows none ("en" or "zh-CN").
    pub default_language: String,
    /// Domain of our own Message-IDs; mail carrying it is ours coming back.
    pub message_id_domain: String,
}

impl Default for HelpdeskConfig {
    fn default() -> Self {
        HelpdeskConfig {
            name: "IT Helpdesk".into(),
            address: "helpdesk@localhost".into(),
            default_language: "en".into(),
            message_id_domain: "itdesk.invalid".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    pub path: PathBuf,
    /// MiB of the store sled keeps in memory once read (its page cache);
    /// what a backup or a full read leaves resident (docs/scaling.md).
    #[serde(default = "default_cache_mb")]
    pub cache_mb: u64,
}

fn default_cache_mb() -> u64 {
    64
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ControlConfig {
    /// Unix socket of the admin API; default `<store.path>/control.sock`.
    pub socket: Option<PathBuf>,
    /// A Unix group whose members may use the CLI (the socket becomes 0660,
    /// owned by that group); absent: only root and the daemon's user.
    pub group: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeConfig {
    pub max_attachment_mb: f64,
    pub max_message_mb: f64,
    /// Employee directory (TOML `[[person]]` entries).
    pub directory_file: Option<PathBuf>,
    /// The `authserv-id` of your own mail server (its `Authentication-Results`
    /// header): mail whose `From` fails DMARC there is treated as a stranger's.
    /// Absent: no such header is believed (a sender can write one itself).
    pub authserv_id: Option<String>,
    /// Colleagues the requester copied (`Cc`) may confirm, reject and rate,
    /// not only add information.
    pub copied_may_confirm: bool,
    /// Attachments whose name ends so are not kept (the ticket and the
    /// requester are told); default: programs and scripts.
    pub attachment_deny: Vec<String>,
    /// A ticket keeps this much of a message's text; the whole text is
    /// attached as body.txt.
    pub max_description_kb: usize,
    /// Subjects are cut at this many characters.
    pub max_subject_chars: usize,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        IntakeConfig {
            max_attachment_mb: 10.0,
            max_message_mb: 25.0,
            directory_file: None,
            authserv_id: None,
            copied_may_confirm: false,
            attachment_deny: crate::intake::email::DEFAULT_ATTACHMENT_DENY
                .iter()
                .map(|s| s.to_string())
                .collect(),
            max_description_kb: 64,
            max_subject_chars: 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    pub ack: Span,
    pub ack_urgent: Span,
    pub urgent: Span,
    pub high: Span,
    pub medium: Span,
    pub low: Span,
    pub progress_every: Span,
    pub breach_warning_ratio: f64,
    pub repage_every: Span,
    pub confirm_reminder_after: Span,
    pub auto_close_after: Span,
    pub reopen_window: Span,
}

impl Default for SlaConfig {
    fn default() -> Self {
        let p = Policy::default();
        SlaConfig {
            ack: p.ack_within,
            ack_urgent: p.ack_within_urgent,
            urgent: p.resolve_urgent,
            high: p.resolve_high,
            medium: p.resolve_medium,
            low: p.resolve_low,
            progress_every: p.progress_every,
            breach_warning_ratio: p.breach_warning_ratio,
            repage_every: p.repage_every,
            confirm_reminder_after: p.confirm_reminder_after,
            auto_close_after: p.auto_close_after,
            reopen_window: p.reopen_window,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CalendarConfig {
    pub timezone: String,
    pub working_days: Vec<String>,
    pub day_start: String,
    pub day_end: String,
    pub holidays: Vec<NaiveDate>,
    pub extra_working_days: Vec<NaiveDate>,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        CalendarConfig {
            timezone: "Asia/Shanghai".into(),
            working_days: ["mon", "tue", "wed", "thu", "fri"]
                .map(String::from)
                .to_vec(),
            day_start: "09:00".into(),
            day_end: "18:00".into(),
            holidays: Vec::new(),
            extra_working_days: Vec::new(),
        }
    }
}

/// Problem type → technician group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingConfig {
    pub hardware: String,
    pub software: String,
    pub network: String,
    pub access: String,
    pub other: String,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            hardware: "hardware".into(),
            software: "software".into(),
            network: "network".into(),
            access: "access".into(),
            other: "service-desk".into(),
        }
    }
}

impl RoutingConfig {
    pub fn group_for(&self, t: ProblemType) -> &str {
        match t {
            ProblemType::Hardware => &self.hardware,
            ProblemType::Software => &self.software,
            ProblemType::Network => &self.network,
            ProblemType::Access => &self.access,
            ProblemType::Other => &self.other,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct GroupConfig {
    /// Shown to requesters, e.g. "软件组".
    pub label: Option<String>,
    pub email: Vec<String>,
    /// Discord channel (id) where this group's tickets get a thread each.
    pub chat_channel: Option<String>,
    /// Who a new ticket is given to automatically; absent = nobody (staff
    /// claim or assign by hand).
    pub assign: Option<AssignRule>,
    /// The people `assign` chooses from, by the name they work tickets under.
    pub members: Vec<String>,
    /// Members who are away (leave, training): skipped by `assign`.
    pub away: Vec<String>,
}

/// How `[groups.X] assign` picks a member for a new ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssignRule {
    /// Each in turn.
    RoundRobin,
    /// Whoever has the fewest open tickets (ties: the first listed).
    LeastOpen,
}

/// An outside contact (a vendor's support desk).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactConfig {
    pub email: String,
    /// Shown in the handling log; default the contact's key.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Contacts {
    pub email: Vec<String>,
    /// A number to call (`[on_duty]`): told to requesters of urgent tickets.
    pub phone: Option<String>,
}
