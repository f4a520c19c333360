//! `[imap]` and `[smtp]`: the mailbox itdesk reads and the server it sends
//! through, their secrets (from a file or the environment, never inline),
//! and the checks that keep a password off an unencrypted link.

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;

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
pub(super) fn read_secret(
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

/// What `[imap]` and `[smtp]` say must make sense together: `(section, key,
/// reason)` of the first mistake.
pub(super) fn validate(
    imap: Option<&ImapConfig>,
    smtp: Option<&SmtpConfig>,
) -> Result<(), (&'static str, &'static str, String)> {
    if let Some(imap) = imap {
        let fail = |key, reason: &str| Err(("imap", key, reason.to_string()));
        check_plain("imap", &imap.host, imap.security, imap.allow_plain)
            .map_err(|r| ("imap", "security", r))?;
        if imap.auth == ImapAuth::Xoauth2
            && imap.oauth_token_file.is_none() == imap.oauth_token_command.is_none()
        {
            return fail(
                "auth",
                "\"xoauth2\" needs exactly one of oauth_token_file or oauth_token_command",
            );
        }
        if imap.poll_seconds == 0 {
            return fail("poll_seconds", "must be at least 1");
        }
        if imap.burst_seconds > 0 && imap.burst_poll_ms < 10 {
            return fail(
                "burst_poll_ms",
                "must be at least 10 (or set burst_seconds = 0)",
            );
        }
    }
    if let Some(smtp) = smtp {
        let fail = |key, reason: String| Err(("smtp", key, reason));
        check_plain("smtp", &smtp.host, smtp.security, smtp.allow_plain)
            .map_err(|r| ("smtp", "security", r))?;
        if !smtp.from.contains('@') {
            return fail(
                "from",
                format!("must be an email address, got {:?}", smtp.from),
            );
        }
        if let Some(mailbox) = &smtp.save_sent {
            if mailbox.trim().is_empty() {
                return fail("save_sent", "must name a mailbox, e.g. \"Sent\"".into());
            }
            if imap.is_none() {
                return fail("save_sent", "copies are kept through the [imap] account: add an [imap] section or remove save_sent".into());
            }
        }
    }
    Ok(())
}
