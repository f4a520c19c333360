//! The configuration file (TOML): what it may say, its defaults, and checking it.
//!
//! Invariant: a `Config` that `load` returned is valid — every value parsed,
//! every reference (group names, time zone, secrets' sources) checked — so the
//! daemon never discovers a config mistake at 3 a.m. when a mail arrives.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::core::sla::Policy;
use crate::core::ticket::{Lang, ProblemType};
use crate::intake::classify::Rules;

mod desk;
mod discord;
mod feishu;
mod mail;
mod ops;
mod settings;
pub use desk::{
    AssignRule, CalendarConfig, ContactConfig, Contacts, ControlConfig, GroupConfig,
    HelpdeskConfig, IntakeConfig, RoutingConfig, SlaConfig, StoreConfig,
};
pub use discord::{is_mention, DiscordConfig, OnDutySlot};
pub use feishu::{FeishuConfig, FeishuDomain};
use mail::read_secret;
pub use mail::{resolve_secret, AfterProcessing, ImapAuth, ImapConfig, Security, SmtpConfig};
pub use ops::{elapsed, AlertsConfig, DigestConfig, MetricsConfig, OutboxConfig, RetentionConfig};
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

/// A chat message starting with this is an internal note (Discord and Feishu).
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
        mail::validate(self.imap.as_ref(), self.smtp.as_ref())
            .map_err(|(section, key, reason)| invalid(section, key, reason))?;
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
