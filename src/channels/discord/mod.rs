//! The Discord adapter of the chat seam (`channels::chat`): a bot
//! (serenity). Requesters open and follow tickets by DM, by mentioning the
//! bot in the help channel, with `/ticket` or the help channel's panel;
//! technicians work each ticket in its own thread in their group's channel.
//!
//! Files: `connection.rs` (the gateway), `convert.rs` (Discord's events into
//! the seam's types), `app.rs` (the REST calls behind the seam, mention
//! syntax), `commands.rs` (slash commands and their syntax), `ui.rs`
//! (buttons, forms, custom ids), `rota.rs` (who is on duty).
//!
//! Invariant: this folder is the only code that imports serenity or reads a
//! Discord id or mention; ordering, cursors, dedup and every decision about
//! tickets are the seam's.

mod app;
mod commands;
mod connection;
mod convert;
mod rota;
mod ui;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use chrono_tz::Tz;
use serenity::all::{ChannelId, GuildId, Http, HttpBuilder, RoleId, UserId};

use crate::channels::chat::{self, ChatIntake, ChatTransport, IntakeDeps, IntakeSettings};
use crate::config::{Config, ConfigError};
use crate::health::Health;

/// The bot: where it works, from `[discord]`, and what it learnt connected.
pub struct DiscordApp {
    http: Arc<Http>,
    token: String,
    api_base: Option<String>,
    guild: GuildId,
    help_channel: Option<ChannelId>,
    technician_role: RoleId,
    lead_role: Option<RoleId>,
    rota: rota::Rota,
    tz: Tz,
    /// The bot's own user, read before the gateway connects.
    bot: OnceLock<UserId>,
    dm_channels: DmChannels,
    health: Health,
}

/// `[discord]`, ready to run: the adapter and what the seam needs with it.
pub struct Discord {
    app: Arc<DiscordApp>,
    group_channels: Vec<chat::ChannelId>,
    note_prefix: String,
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
    pub fn from_config(config: &Config, health: Health) -> Result<Option<Discord>, ConfigError> {
        let (Some(discord), Some(ids)) = (&config.discord, &config.settings.discord) else {
            return Ok(None);
        };
        let group_channels = ids
            .group_channels
            .values()
            .map(|c| chat::ChannelId(c.to_string()))
            .collect();
        let lead_role = discord
            .lead_role
            .as_deref()
            .and_then(|r| r.parse().ok())
            .filter(|r| *r > 0)
            .map(RoleId::new);
        let tz = config.settings.policy.calendar.tz();
        let mut app = DiscordApp {
            http: Arc::new(Http::new("")),
            token: discord.token()?,
            api_base: discord.api_base.clone(),
            guild: GuildId::new(ids.guild),
            help_channel: ids.help_channel.map(ChannelId::new),
            technician_role: RoleId::new(ids.technician_role),
            lead_role,
            rota: rota::Rota::new(&ids.rota, tz),
            tz,
            bot: OnceLock::new(),
            dm_channels: DmChannels::default(),
            health,
        };
        app.http = Arc::new(app.new_http());
        Ok(Some(Discord {
            app: Arc::new(app),
            group_channels,
            note_prefix: discord.note_prefix.clone(),
        }))
    }

    pub fn transport(
        &self,
        engine: crate::engine::EngineHandle,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Arc<ChatTransport<DiscordApp>> {
        Arc::new(ChatTransport::new(
            self.app.clone(),
            engine,
            clock,
            self.group_channels.clone(),
        ))
    }

    pub fn intake(&self, config: &Config, deps: IntakeDeps) -> ChatIntake<DiscordApp> {
        ChatIntake {
            app: self.app.clone(),
            settings: IntakeSettings {
                note_prefix: self.note_prefix.clone(),
                max_attachment_bytes: (config.intake.max_attachment_mb * 1024.0 * 1024.0) as u64,
                help_channel: self.app.help_channel.map(convert::channel),
                rules: config.classify.clone(),
                calendar: config.policy().calendar,
                staff_lang: config.default_lang(),
            },
            deps,
        }
    }
}

impl DiscordApp {
    /// A REST client. Pointed at `api_base` (a fake, a proxy) it runs without
    /// its own rate limiter, as serenity requires; against Discord it keeps it.
    fn new_http(&self) -> Http {
        match &self.api_base {
            Some(base) => HttpBuilder::new(&self.token)
                .proxy(base.trim_end_matches('/'))
                .ratelimiter_disabled(true)
                .build(),
            None => Http::new(&self.token),
        }
    }

    fn bot(&self) -> Option<UserId> {
        self.bot.get().copied()
    }
}
