//! `[feishu]`: the Feishu/Lark bot (a self-built app, 自建应用): its
//! credentials, which of the two clouds it lives in, the technician groups'
//! chats, who counts as staff and who is paged when urgent.
//!
//! Invariant: ids stay the opaque strings Feishu shows (`ou_…`, `oc_…`);
//! only `channels::feishu` reads them. Here they are only checked non-empty.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{read_secret, ConfigError};

/// Which cloud the app was created in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeishuDomain {
    /// 飞书, open.feishu.cn (mainland China).
    #[default]
    Feishu,
    /// Lark, open.larksuite.com (elsewhere).
    Lark,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeishuConfig {
    /// The app's App ID, `cli_…`.
    pub app_id: String,
    /// The App Secret: from a file or an environment variable, never inline.
    pub app_secret_file: Option<PathBuf>,
    pub app_secret_env: Option<String>,
    #[serde(default)]
    pub domain: FeishuDomain,
    /// For tests only: a local fake Feishu instead of the cloud `domain` names.
    pub base_url: Option<String>,
    /// Technician group → the group chat (`oc_…`) where its tickets get a
    /// topic thread each. The group names are `[routing]`'s.
    #[serde(default)]
    pub group_chats: BTreeMap<String, String>,
    /// Who may work tickets from chat (open_ids, `ou_…`).
    #[serde(default)]
    pub technicians: Vec<String>,
    /// The chat urgent tickets are paged in, with an @-mention of each of `on_duty`.
    pub on_duty_chat: Option<String>,
    /// The on-duty people (open_ids); they are staff too.
    #[serde(default)]
    pub on_duty: Vec<String>,
    /// Mentioned (open_id) in the group's chat on escalations and breaches.
    pub lead: Option<String>,
    /// A message in a ticket's thread starting with this is an internal note.
    #[serde(default = "super::note_prefix")]
    pub note_prefix: String,
}

impl FeishuConfig {
    pub fn app_secret(&self) -> Result<String, ConfigError> {
        read_secret(
            "feishu",
            "app_secret",
            &self.app_secret_file,
            &self.app_secret_env,
        )
    }

    /// Where the REST API and the endpoint discovery are.
    pub fn base_url(&self) -> String {
        match (&self.base_url, self.domain) {
            (Some(base), _) => base.trim_end_matches('/').to_string(),
            (None, FeishuDomain::Feishu) => "https://open.feishu.cn".into(),
            (None, FeishuDomain::Lark) => "https://open.larksuite.com".into(),
        }
    }

    /// Whether the open_id is staff: a technician or on duty.
    pub fn is_staff(&self, open_id: &str) -> bool {
        self.technicians
            .iter()
            .chain(&self.on_duty)
            .any(|t| t == open_id)
    }

    /// `groups`: the names `[routing]` and `[groups]` know.
    pub(super) fn validate(&self, groups: &[&str]) -> Result<(), (&'static str, String)> {
        if self.app_id.trim().is_empty() {
            return Err((
                "app_id",
                "must not be empty (the app's App ID, cli_…)".into(),
            ));
        }
        if let Some(base) = &self.base_url {
            if !(base.starts_with("http://") || base.starts_with("https://")) {
                return Err((
                    "base_url",
                    format!("must be an http:// or https:// URL, got {base:?}"),
                ));
            }
        }
        for (group, chat) in &self.group_chats {
            if !groups.contains(&group.as_str()) {
                return Err((
                    "group_chats",
                    format!("{group:?} is not a group of [routing]/[groups]"),
                ));
            }
            if chat.trim().is_empty() {
                return Err(("group_chats", format!("the chat of {group:?} is empty")));
            }
        }
        let ids = self
            .technicians
            .iter()
            .chain(&self.on_duty)
            .chain(&self.lead)
            .chain(&self.on_duty_chat);
        if ids.into_iter().any(|id| id.trim().is_empty()) {
            return Err(("technicians", "ids must not be empty".into()));
        }
        if self.note_prefix.trim().is_empty() {
            return Err(("note_prefix", "must not be empty".into()));
        }
        Ok(())
    }
}
