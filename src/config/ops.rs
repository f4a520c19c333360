//! Running the desk: the outbox's retries and limits, statistics digests,
//! metrics, retention of personal data, and alerts about the daemon itself.

use std::path::PathBuf;

use serde::Deserialize;

use crate::core::calendar::Span;

/// `[digest]`: when the statistics digests go out and to whom.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DigestConfig {
    /// Weekday and local time, e.g. "mon 09:00"; "off" for none.
    pub weekly: String,
    /// Day of the month and local time, e.g. "1 09:00"; "off" for none.
    pub monthly: String,
    pub email: Vec<String>,
    /// Chat channel (id) for a short summary; used only with [discord].
    pub chat_channel: Option<String>,
    /// "en" or "zh-CN"; default [helpdesk].default_language.
    pub language: Option<String>,
}

impl Default for DigestConfig {
    fn default() -> Self {
        DigestConfig {
            weekly: "mon 09:00".into(),
            monthly: "1 09:00".into(),
            email: Vec::new(),
            chat_channel: None,
            language: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Overrides for the built-in templates (same file layout as `templates/`).
    pub templates_dir: Option<PathBuf>,
    /// Temporary failures are retried this many times before the dead-letter list.
    pub max_attempts: u32,
    pub retry_base_seconds: u64,
    pub retry_max_seconds: u64,
    /// More notices than this to one requester's address within an hour are
    /// held back (dead-lettered) as a probable mail loop.
    pub max_notices_per_recipient_per_hour: usize,
    /// The same for staff addresses (groups, on-duty, lead): only a guard
    /// against a runaway loop, far above a busy hour's pages.
    pub max_notices_per_staff_address_per_hour: usize,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            templates_dir: None,
            max_attempts: 12,
            retry_base_seconds: 15,
            retry_max_seconds: 3600,
            max_notices_per_recipient_per_hour: 30,
            max_notices_per_staff_address_per_hour: 1000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// `IP:port` for `/metrics` and `/healthz`, e.g. "127.0.0.1:9464".
    pub listen: String,
    /// A non-loopback `listen` is refused unless this is set (the endpoints
    /// have no authentication).
    #[serde(default)]
    pub allow_remote: bool,
    /// `/healthz` answers 503 once IMAP has been failing this long.
    #[serde(default = "fifteen_minutes")]
    pub imap_unhealthy_after: Span,
}

/// `[retention]`: personal data of closed tickets is erased after this long.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// E.g. "365d"; absent: kept.
    pub closed_after: Option<Span>,
}

/// Alerts to `[on_duty]` about the daemon's own health.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// At most one alert per condition per this interval.
    pub every: Span,
    /// Consecutive IMAP connection/login failures before an alert.
    pub imap_failures: u32,
    /// Dead letters at or above this many raise an alert.
    pub dead_letters: u64,
    /// Warn this long before an XOAUTH2 token (a JWT in oauth_token_file) expires.
    pub token_expiry_warning: Span,
    /// Every alert is also POSTed here as JSON (http:// or https://), apart from
    /// mail and chat, so an alert about them still gets out.
    pub webhook_url: Option<String>,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            every: Span::Elapsed { seconds: 3600 },
            imap_failures: 3,
            dead_letters: 10,
            token_expiry_warning: Span::Elapsed { seconds: 15 * 60 },
            webhook_url: None,
        }
    }
}

/// A span of plain elapsed time: working hours make no sense for operations.
pub fn elapsed(span: Span) -> Result<chrono::Duration, String> {
    match span {
        Span::Elapsed { seconds } if seconds > 0 => Ok(chrono::Duration::seconds(seconds)),
        Span::Elapsed { .. } => Err("must be longer than zero".into()),
        other => Err(format!(
            "must be elapsed time like \"15m\" or \"1h\", not working time ({other})"
        )),
    }
}

fn fifteen_minutes() -> Span {
    Span::Elapsed { seconds: 15 * 60 }
}
