//! `[discord]`: the Discord bot's token, guild, roles and on-duty rota.

use std::path::PathBuf;

use serde::Deserialize;

use super::{read_secret, settings, ConfigError};

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
    #[serde(default = "super::note_prefix")]
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

impl DiscordConfig {
    /// The bot token from token_file or token_env.
    pub fn token(&self) -> Result<String, ConfigError> {
        read_secret("discord", "token", &self.token_file, &self.token_env)
    }

    pub(super) fn validate(&self) -> Result<(), (&'static str, String)> {
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
