//! The chat channel as a Feishu/Lark bot (a self-built app). Events come over
//! the long connection (`ws.rs`, frames in `frame.rs`), so the helpdesk needs
//! no public address; sends, replies in topic threads, card updates and the
//! read-back go through REST (`rest.rs`). Event JSON becomes ours in `events.rs`.
//!
//! Invariant: this folder is the only code that reads a Feishu id (`ou_…`,
//! `oc_…`, `om_…`, `omt_…`) or Feishu's JSON; elsewhere they are opaque strings.

mod app;
mod cards;
mod events;
mod frame;
mod rest;
mod wire;
mod ws;

pub use app::FeishuApp;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::channels::chat::{ChannelId, ChatIntake, ChatTransport, IntakeDeps, IntakeSettings};
use crate::clock::Clock;
use crate::config::{Config, ConfigError};
use crate::engine::EngineHandle;
use crate::health::Health;

impl FeishuApp {
    /// `None` when the config has no `[feishu]` section.
    pub fn from_config(config: &Config, health: Health) -> Result<Option<FeishuApp>, ConfigError> {
        let Some(feishu) = &config.feishu else {
            return Ok(None);
        };
        let rest = rest::Rest::new(
            &feishu.base_url(),
            feishu.app_id.clone(),
            feishu.app_secret()?,
        )
        .map_err(|e| ConfigError::Secret {
            key: "feishu".into(),
            reason: e.to_string(),
        })?;
        Ok(Some(FeishuApp {
            rest: Arc::new(rest),
            health,
            staff: feishu
                .technicians
                .iter()
                .chain(&feishu.on_duty)
                .cloned()
                .collect(),
            on_duty: feishu.on_duty.clone(),
            lead: feishu.lead.clone(),
            lang: config.default_lang(),
            roots: Mutex::new(HashMap::new()),
            p2p: Mutex::new(HashMap::new()),
        }))
    }
}

/// Notices out through the seam's transport: ticket notices to a group's
/// chat go to the ticket's topic thread there.
pub fn transport(
    app: &Arc<FeishuApp>,
    config: &Config,
    engine: EngineHandle,
    clock: Arc<dyn Clock>,
) -> Arc<ChatTransport<FeishuApp>> {
    let group_chats = config
        .feishu
        .iter()
        .flat_map(|f| f.group_chats.values())
        .map(|c| ChannelId(c.clone()))
        .collect();
    Arc::new(ChatTransport::new(app.clone(), engine, clock, group_chats))
}

/// Events in through the seam's intake.
pub fn intake(app: &Arc<FeishuApp>, config: &Config, deps: IntakeDeps) -> ChatIntake<FeishuApp> {
    ChatIntake {
        app: app.clone(),
        settings: IntakeSettings {
            note_prefix: config
                .feishu
                .as_ref()
                .map_or_else(|| "!note".into(), |f| f.note_prefix.clone()),
            max_attachment_bytes: (config.intake.max_attachment_mb * 1024.0 * 1024.0) as u64,
            help_channel: None,
            rules: config.classify.clone(),
            calendar: config.policy().calendar,
            staff_lang: config.default_lang(),
        },
        deps,
    }
}
