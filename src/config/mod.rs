//! The configuration file (TOML): what it may say, its defaults, and checking it.
//!
//! Invariant: a `Config` that `load` returned is valid — every value parsed,
//! every reference (group names, time zone, secrets' sources) checked — so the
//! daemon never discovers a config mistake at 3 a.m. when a mail arrives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;

use crate::core::calendar::Span;
use crate::core::sla::Policy;
use crate::core::ticket::{Lang, ProblemType};
use crate::intake::classify::Rules;

mod feishu;
mod settings;
pub use feishu::{FeishuConfig, FeishuDomain};
pub use settings::{AlertSettings, DiscordIds, MetricsSettings, RotaSlot, Settings};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config file {path}{}: [{key}] {reason}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Invalid {
        path: PathBuf,
        key: String,
        line: Option<usize>,
        reason: String,
    },
    #[error("secret for [{key}] unavailable: {reason}")]
    Secret { key: String, reason: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub helpdesk: HelpdeskConfig,
    pub store: StoreConfig,
    #[serde(default)]
    pub control: ControlConfig,
    pub imap: Option<ImapConfig>,
    pub smtp: Option<SmtpConfig>,
    /// The chat channel (a Discord bot); absent = off.
    pub discord: Option<DiscordConfig>,
    /// The chat channel as a Feishu/Lark bot; absent = off.
    pub feishu: Option<FeishuConfig>,
    #[serde(default)]
    pub intake: IntakeConfig,
    #[serde(default)]
    pub sla: SlaConfig,
    #[serde(default)]
    pub calendar: CalendarConfig,
    #[serde(default)]
    pub routing: RoutingConfig,
    #[serde(default)]
    pub groups: BTreeMap<String, GroupConfig>,
    #[serde(default)]
    pub on_duty: Contacts,
    #[serde(default)]
    pub escalation: Contacts,
    /// Outside contacts (vendors) a ticket can be escalated to by name:
    /// `itdesk tickets escalate ID --to NAME`.
    #[serde(default)]
    pub contacts: BTreeMap<String, ContactConfig>,
    #[serde(default)]
    pub outbox: OutboxConfig,
    /// Weekly and monthly statistics digests; absent = off.
    pub digest: Option<DigestConfig>,
    /// `/metrics` and `/healthz`; absent = off.
    pub metrics: Option<MetricsConfig>,
    #[serde(default)]
    pub alerts: AlertsConfig,
    /// How long closed tickets keep their personal data; absent = for ever.
    #[serde(default)]
    pub retention: RetentionConfig,
    #[serde(default)]
    pub classify: Rules,
    /// Where the file was read from, for messages.
    #[serde(skip)]
    pub source: PathBuf,
    /// The values above converted, filled by `parse` (the only way a Config is made).
    #[serde(skip)]
    pub settings: Settings,
}

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    Tls,
    Starttls,
    Plain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImapAuth {
    Login,
    Xoauth2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AfterProcessing {
    Seen,
    Move,
}

/// A password or token: from a file or an environment variable, never inline.
/// (Not `#[serde(flatten)]`: that would disable `deny_unknown_fields`.)
pub fn resolve_secret(
    key: &str,
    password_file: &Option<PathBuf>,
    password_env: &Option<String>,
) -> Result<String, ConfigError> {
    read_secret(key, "password", password_file, password_env)
}

/// `{name}_file` or `{name}_env`, named so in messages.
fn read_secret(
    key: &str,
    name: &str,
    file: &Option<PathBuf>,
    env: &Option<String>,
) -> Result<String, ConfigError> {
    let fail = |reason: String| ConfigError::Secret {
        key: key.to_string(),
        reason,
    };
    match (file, env) {
        (Some(file), None) => std::fs::read_to_string(file)
            .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
            .map_err(|e| fail(format!("cannot read {name}_file {}: {e}", file.display()))),
        (None, Some(var)) => std::env::var(var).map_err(|_| {
            fail(format!(
                "environment variable {var} ({name}_env) is not set"
            ))
        }),
        (Some(_), Some(_)) => Err(fail(format!("set {name}_file or {name}_env, not both"))),
        (None, None) => Err(fail(format!("set {name}_file or {name}_env"))),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    pub host: String,
    pub port: Option<u16>,
    #[serde(default = "tls")]
    pub security: Security,
    /// Plain (unencrypted) IMAP is refused unless the host is loopback or this is set.
    #[serde(default)]
    pub allow_plain: bool,
    pub username: String,
    /// "login" (password) or "xoauth2" (OAuth 2 bearer token).
    #[serde(default = "login")]
    pub auth: ImapAuth,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    /// XOAUTH2: a file holding the current access token, re-read at every login
    /// (keep it fresh with your token refresher) …
    pub oauth_token_file: Option<PathBuf>,
    /// … or a command that prints a fresh access token.
    pub oauth_token_command: Option<String>,
    /// Extra CA certificate (PEM) to trust, e.g. an internal mail server's.
    pub ca_file: Option<PathBuf>,
    #[serde(default = "inbox")]
    pub mailbox: String,
    #[serde(default = "seen")]
    pub after_processing: AfterProcessing,
    #[serde(default = "processed")]
    pub processed_mailbox: String,
    #[serde(default = "yes")]
    pub idle: bool,
    #[serde(default = "sixty")]
    pub poll_seconds: u64,
    /// After a mail, look for the next one every `burst_poll_ms` for
    /// `burst_seconds` instead of waiting in IDLE (0 turns this off).
    #[serde(default = "hundred")]
    pub burst_poll_ms: u64,
    #[serde(default = "ten")]
    pub burst_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: Option<u16>,
    #[serde(default = "tls")]
    pub security: Security,
    #[serde(default)]
    pub allow_plain: bool,
    /// Without a username, mail is submitted without AUTH (a local relay).
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    pub ca_file: Option<PathBuf>,
    pub from: String,
    /// After the server accepted a notice, a copy of it goes into this
    /// mailbox of the `[imap]` account (created if missing): the record
    /// `itdesk recover` reads a ticket's original ID back from.
    pub save_sent: Option<String>,
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

/// The Discord bot. Ids are Discord snowflakes written as strings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// The bot token: from a file or an environment variable, never inline.
    pub token_file: Option<PathBuf>,
    pub token_env: Option<String>,
    /// REST base URL instead of the real Discord (tests, an API proxy); the
    /// gateway URL is asked from it. Setting it disables the client-side rate limiter.
    pub api_base: Option<String>,
    pub guild_id: String,
    /// A mention of the bot in this channel opens a ticket (as a DM does).
    pub help_channel: Option<String>,
    /// Only members of this role may work tickets from chat.
    pub technician_role: String,
    /// Mentioned on escalations and breaches.
    pub lead_role: Option<String>,
    /// Urgent tickets are paged here.
    pub on_duty_channel: Option<String>,
    /// Who is paged, by weekday and time in the [calendar] time zone; the first
    /// matching slot wins. No match: the page goes to on_duty_channel unaddressed.
    #[serde(default)]
    pub on_duty: Vec<OnDutySlot>,
    /// A message in a ticket thread starting with this is an internal note.
    #[serde(default = "note_prefix")]
    pub note_prefix: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnDutySlot {
    /// "mon" … "sun".
    pub days: Vec<String>,
    /// "HH:MM"; a slot whose `to` is not after `from` runs past midnight.
    pub from: String,
    pub to: String,
    /// `<@&ROLE_ID>` or `<@USER_ID>`.
    pub mention: String,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Contacts {
    pub email: Vec<String>,
    /// A number to call (`[on_duty]`): told to requesters of urgent tickets.
    pub phone: Option<String>,
}

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

fn login() -> ImapAuth {
    ImapAuth::Login
}
fn tls() -> Security {
    Security::Tls
}
fn inbox() -> String {
    "INBOX".into()
}
fn seen() -> AfterProcessing {
    AfterProcessing::Seen
}
fn processed() -> String {
    "Processed".into()
}
fn yes() -> bool {
    true
}
fn sixty() -> u64 {
    60
}
fn hundred() -> u64 {
    100
}
fn ten() -> u64 {
    10
}
fn note_prefix() -> String {
    "!note".into()
}

impl Config {
    /// Reads, parses and validates the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let raw = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&raw, path)
    }

    pub fn parse(raw: &str, path: &Path) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(raw).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.source = path.to_path_buf();
        config.validate(raw)?;
        config.settings =
            settings::derive(&config).map_err(|(section, key, reason)| ConfigError::Invalid {
                path: config.source.clone(),
                key: format!("{section}.{key}"),
                line: line_of(raw, &section, key),
                reason,
            })?;
        Ok(config)
    }

    fn validate(&self, raw: &str) -> Result<(), ConfigError> {
        let invalid = |section: &str, key: &str, reason: String| ConfigError::Invalid {
            path: self.source.clone(),
            key: format!("{section}.{key}"),
            line: line_of(raw, section, key),
            reason,
        };
        if !(0.0..=1.0).contains(&self.sla.breach_warning_ratio) {
            return Err(invalid(
                "sla",
                "breach_warning_ratio",
                format!(
                    "must be between 0 and 1, got {}",
                    self.sla.breach_warning_ratio
                ),
            ));
        }
        if self.store.path.as_os_str().is_empty() {
            return Err(invalid("store", "path", "must not be empty".into()));
        }
        if !(1..=65536).contains(&self.store.cache_mb) {
            return Err(invalid(
                "store",
                "cache_mb",
                format!(
                    "must be between 1 and 65536 (MiB), got {}",
                    self.store.cache_mb
                ),
            ));
        }
        for (name, g) in &self.groups {
            if g.assign.is_some() && g.members.is_empty() {
                return Err(invalid(
                    &format!("groups.{name}"),
                    "assign",
                    "needs members = [\"…\"] to choose from".into(),
                ));
            }
        }
        for (name, c) in &self.contacts {
            if !c.email.contains('@') {
                return Err(invalid(
                    &format!("contacts.{name}"),
                    "email",
                    format!("must be an email address, got {:?}", c.email),
                ));
            }
        }
        if let Some(imap) = &self.imap {
            check_plain("imap", &imap.host, imap.security, imap.allow_plain)
                .map_err(|r| invalid("imap", "security", r))?;
            if imap.auth == ImapAuth::Xoauth2
                && imap.oauth_token_file.is_none() == imap.oauth_token_command.is_none()
            {
                return Err(invalid(
                    "imap",
                    "auth",
                    "\"xoauth2\" needs exactly one of oauth_token_file or oauth_token_command"
                        .into(),
                ));
            }
            if imap.poll_seconds == 0 {
                return Err(invalid("imap", "poll_seconds", "must be at least 1".into()));
            }
            if imap.burst_seconds > 0 && imap.burst_poll_ms < 10 {
                return Err(invalid(
                    "imap",
                    "burst_poll_ms",
                    "must be at least 10 (or set burst_seconds = 0)".into(),
                ));
            }
        }
        if let Some(smtp) = &self.smtp {
            check_plain("smtp", &smtp.host, smtp.security, smtp.allow_plain)
                .map_err(|r| invalid("smtp", "security", r))?;
            if !smtp.from.contains('@') {
                return Err(invalid(
                    "smtp",
                    "from",
                    format!("must be an email address, got {:?}", smtp.from),
                ));
            }
            if let Some(mailbox) = &smtp.save_sent {
                if mailbox.trim().is_empty() {
                    return Err(invalid(
                        "smtp",
                        "save_sent",
                        "must name a mailbox, e.g. \"Sent\"".into(),
                    ));
                }
                if self.imap.is_none() {
                    return Err(invalid(
                        "smtp",
                        "save_sent",
                        "copies are kept through the [imap] account: add an [imap] section or remove save_sent".into(),
                    ));
                }
            }
        }
        for t in ProblemType::ALL {
            let group = self.routing.group_for(*t);
            if !self.groups.is_empty() && !self.groups.contains_key(group) {
                return Err(invalid(
                    "routing",
                    t.key(),
                    format!("names group {group:?}, which has no [groups.{group}] section"),
                ));
            }
        }
        if self.intake.max_description_kb == 0 || self.intake.max_subject_chars == 0 {
            return Err(invalid(
                "intake",
                "max_description_kb",
                "the description and subject limits must be at least 1".into(),
            ));
        }
        if self.intake.max_attachment_mb <= 0.0 || self.intake.max_message_mb <= 0.0 {
            return Err(invalid(
                "intake",
                "max_attachment_mb",
                "size limits must be positive".into(),
            ));
        }
        self.classify
            .validate()
            .map_err(|r| invalid("classify", "types", r))?;
        if let Some(discord) = &self.discord {
            discord
                .validate()
                .map_err(|(key, reason)| invalid("discord", key, reason))?;
        }
        if self.feishu.is_some() && self.discord.is_some() {
            return Err(invalid(
                "feishu",
                "app_id",
                "one chat app at a time: remove [discord] or [feishu]".into(),
            ));
        }
        if let Some(feishu) = &self.feishu {
            let mut groups: Vec<&str> = self.groups.keys().map(String::as_str).collect();
            groups.extend(ProblemType::ALL.iter().map(|t| self.routing.group_for(*t)));
            feishu
                .validate(&groups)
                .map_err(|(key, reason)| invalid("feishu", key, reason))?;
        }
        Ok(())
    }

    pub fn policy(&self) -> Policy {
        self.settings.policy.clone()
    }

    /// Reads every configured secret once, so a missing password file is
    /// reported by `check-config` and at start-up, not at the first login.
    pub fn check_secrets(&self) -> Result<(), ConfigError> {
        if let Some(imap) = self.imap.as_ref().filter(|i| i.auth == ImapAuth::Login) {
            resolve_secret("imap", &imap.password_file, &imap.password_env)?;
        }
        if let Some(smtp) = self.smtp.as_ref().filter(|s| s.username.is_some()) {
            resolve_secret("smtp", &smtp.password_file, &smtp.password_env)?;
        }
        if let Some(discord) = &self.discord {
            discord.token()?;
        }
        if let Some(feishu) = &self.feishu {
            feishu.app_secret()?;
        }
        Ok(())
    }

    /// Secret files others may read: each a warning naming the file and the fix.
    pub fn exposed_secrets(&self) -> Vec<String> {
        use std::os::unix::fs::PermissionsExt;
        let files = [
            self.imap.as_ref().and_then(|i| i.password_file.as_ref()),
            self.imap.as_ref().and_then(|i| i.oauth_token_file.as_ref()),
            self.smtp.as_ref().and_then(|s| s.password_file.as_ref()),
            self.discord.as_ref().and_then(|d| d.token_file.as_ref()),
            self.feishu
                .as_ref()
                .and_then(|f| f.app_secret_file.as_ref()),
        ];
        files
            .into_iter()
            .flatten()
            .filter(|f| std::fs::metadata(f).is_ok_and(|m| m.permissions().mode() & 0o004 != 0))
            .map(|f| {
                format!(
                    "{} is readable by every user of this machine — chmod o-r {}",
                    f.display(),
                    f.display()
                )
            })
            .collect()
    }

    pub fn default_lang(&self) -> Lang {
        self.settings.default_lang
    }

    pub fn control_socket(&self) -> PathBuf {
        self.control
            .socket
            .clone()
            .unwrap_or_else(|| self.store.path.join("control.sock"))
    }
}

fn check_plain(section: &str, host: &str, security: Security, allowed: bool) -> Result<(), String> {
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if security == Security::Plain && !loopback && !allowed {
        return Err(format!("\"plain\" sends the password unencrypted to {host}; use \"tls\" or \"starttls\", or set [{section}].allow_plain = true"));
    }
    Ok(())
}

impl DiscordConfig {
    /// The bot token from token_file or token_env.
    pub fn token(&self) -> Result<String, ConfigError> {
        read_secret("discord", "token", &self.token_file, &self.token_env)
    }

    fn validate(&self) -> Result<(), (&'static str, String)> {
        if let Some(base) = &self.api_base {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err((
                    "api_base",
                    format!("must be an http:// or https:// URL, got {base:?}"),
                ));
            }
        }
        if self.note_prefix.trim().is_empty() {
            return Err(("note_prefix", "must not be empty".into()));
        }
        Ok(())
    }
}

/// `<@&123>` (a role) or `<@123>` / `<@!123>` (a user).
pub fn is_mention(s: &str) -> bool {
    let inner = s.strip_prefix("<@").and_then(|r| r.strip_suffix('>'));
    let id = inner.map(|i| i.trim_start_matches(['&', '!']));
    id.is_some_and(|id| settings::snowflake(id).is_ok())
}

/// 1-based line of `key = …` inside `[section]`, for messages.
fn line_of(raw: &str, section: &str, key: &str) -> Option<usize> {
    let mut in_section = false;
    for (i, line) in raw.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line.trim_matches(['[', ']']).trim() == section;
        } else if in_section && line.split('=').next().is_some_and(|k| k.trim() == key) {
            return Some(i + 1);
        }
    }
    None
}
