//! The chat channel: a Discord bot (serenity). Requesters open and follow
//! tickets by DM, by mentioning the bot in the help channel, or with
//! `/ticket`; technicians work each ticket in its own thread in their group's
//! channel; notices go out through the outbox like mail.
//!
//! Invariant: this folder is the only code that imports serenity. Its types are
//! converted to ours here — events to `InboundMessage`s and `Action`s in
//! `gateway.rs`, rendered notices to posts in `transport.rs` — and go no further.

mod commands;
mod gateway;
mod rota;
mod transport;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serenity::all::{ChannelId, GuildId, Http, HttpBuilder, RoleId, UserId};

pub use gateway::ChatIntake;
pub use transport::ChatTransport;

use crate::clock::Clock;
use crate::config::{Config, ConfigError, DiscordConfig, DiscordIds};
use crate::engine::EngineHandle;
use crate::health::Health;
use crate::intake::directory::Directory;

/// What the gateway side works with, from the rest of the daemon.
pub struct IntakeDeps {
    pub engine: EngineHandle,
    pub directory: Arc<Directory>,
    pub clock: Arc<dyn Clock>,
    pub health: Health,
}

/// The bot's identity and where it works, from `[discord]`.
pub struct Discord {
    config: DiscordConfig,
    ids: DiscordIds,
    token: String,
    /// The groups' staff channels.
    group_channels: Vec<ChannelId>,
    dm_channels: DmChannels,
    tz: chrono_tz::Tz,
}

/// Requester → their DM channel with the bot. Discord gives each user one, so
/// a DM the gateway saw spares the transport the call that opens it.
#[derive(Clone, Default)]
struct DmChannels(Arc<Mutex<HashMap<UserId, ChannelId>>>);

impl DmChannels {
    fn get(&self, user: UserId) -> Option<ChannelId> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&user)
            .copied()
    }

    fn insert(&self, user: UserId, channel: ChannelId) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(user, channel);
    }
}

impl Discord {
    /// `None` when the config has no `[discord]` section.
    pub fn from_config(config: &Config) -> Result<Option<Discord>, ConfigError> {
        let (Some(discord), Some(ids)) = (&config.discord, &config.settings.discord) else {
            return Ok(None);
        };
        let group_channels = ids
            .group_channels
            .values()
            .map(|c| ChannelId::new(*c))
            .collect();
        Ok(Some(Discord {
            ids: ids.clone(),
            config: discord.clone(),
            token: discord.token()?,
            group_channels,
            dm_channels: DmChannels::default(),
            tz: config.settings.policy.calendar.tz(),
        }))
    }

    /// A REST client. Pointed at `api_base` (a fake, a proxy) it runs without
    /// its own rate limiter, as serenity requires; against Discord it keeps it.
    fn http(&self) -> Http {
        match &self.config.api_base {
            Some(base) => HttpBuilder::new(&self.token)
                .proxy(base.trim_end_matches('/'))
                .ratelimiter_disabled(true)
                .build(),
            None => Http::new(&self.token),
        }
    }

    pub fn transport(&self, engine: EngineHandle, clock: Arc<dyn Clock>) -> Arc<ChatTransport> {
        Arc::new(ChatTransport {
            http: Arc::new(self.http()),
            engine,
            group_channels: self.group_channels.clone(),
            dm_channels: self.dm_channels.clone(),
            thread_locks: Mutex::new(HashMap::new()),
            rota: rota::Rota::new(&self.ids.rota, self.tz),
            lead_role: self
                .config
                .lead_role
                .as_deref()
                .and_then(|r| r.parse().ok())
                .map(RoleId::new),
            clock,
        })
    }

    pub fn intake(&self, config: &Config, deps: IntakeDeps) -> ChatIntake {
        let IntakeDeps {
            engine,
            directory,
            clock,
            health,
        } = deps;
        ChatIntake {
            http: self.http(),
            gateway_http: self.http(),
            settings: gateway::Settings {
                guild: GuildId::new(self.ids.guild),
                help_channel: self.ids.help_channel.map(ChannelId::new),
                technician_role: RoleId::new(self.ids.technician_role),
                note_prefix: self.config.note_prefix.clone(),
                max_attachment_bytes: (config.intake.max_attachment_mb * 1024.0 * 1024.0) as u64,
            },
            engine,
            dm_channels: self.dm_channels.clone(),
            rules: config.classify.clone(),
            directory,
            clock,
            calendar: config.policy().calendar,
            health,
        }
    }
}

/// A parsed `<@&ROLE>` / `<@USER>` mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Snowflake {
    Role(u64),
    User(u64),
}

impl Snowflake {
    fn mention(s: &str) -> Option<Snowflake> {
        let inner = s.trim().strip_prefix("<@")?.strip_suffix('>')?;
        match inner.strip_prefix('&') {
            Some(role) => role.parse().ok().filter(|n| *n > 0).map(Snowflake::Role),
            None => inner
                .trim_start_matches('!')
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .map(Snowflake::User),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mentions() {
        assert_eq!(Snowflake::mention("<@&42>"), Some(Snowflake::Role(42)));
        assert_eq!(Snowflake::mention("<@42>"), Some(Snowflake::User(42)));
        assert_eq!(Snowflake::mention("<@!42>"), Some(Snowflake::User(42)));
        for bad in ["42", "<@&>", "<@0>", "@here", "<#42>"] {
            assert_eq!(Snowflake::mention(bad), None, "{bad}");
        }
    }
}
