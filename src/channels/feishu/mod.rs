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

use crate::config::{Config, ConfigError};
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
