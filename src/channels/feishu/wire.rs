//! What Feishu's REST calls take and answer, as plain data: a message's
//! content (text or card), a sent or listed message, the long connection's
//! endpoint and client settings.

use serde::Deserialize;
use serde_json::{json, Value};

/// A message to send: plain text or an interactive card.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    Text(String),
    Card(Value),
}

impl Content {
    pub(super) fn msg_type(&self) -> &'static str {
        match self {
            Content::Text(_) => "text",
            Content::Card(_) => "interactive",
        }
    }

    /// Feishu wants the content as a JSON string inside the JSON body.
    pub(super) fn encoded(&self) -> String {
        match self {
            Content::Text(text) => json!({ "text": text }).to_string(),
            Content::Card(card) => card.to_string(),
        }
    }
}

/// What Feishu answered to a send or reply.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Sent {
    pub message_id: String,
    #[serde(default)]
    pub chat_id: String,
    /// Set on a reply in a thread (and on the root message once it has one).
    #[serde(default)]
    pub thread_id: Option<String>,
    /// Milliseconds since the epoch, as a string.
    #[serde(default)]
    pub create_time: String,
}

/// One message of a listed chat or thread, as Feishu returns it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Listed {
    pub message_id: String,
    #[serde(default)]
    pub root_id: Option<String>,
    #[serde(default)]
    pub thread_id: Option<String>,
    #[serde(default)]
    pub msg_type: String,
    #[serde(default)]
    pub create_time: String,
    #[serde(default)]
    pub chat_id: String,
    #[serde(default)]
    pub deleted: bool,
    pub sender: ListedSender,
    #[serde(default)]
    pub body: ListedBody,
    #[serde(default)]
    pub mentions: Vec<ListedMention>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ListedSender {
    pub id: String,
    /// "user" or "app".
    #[serde(default)]
    pub sender_type: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
pub struct ListedBody {
    #[serde(default)]
    pub content: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ListedMention {
    pub key: String,
    pub id: String,
    #[serde(default)]
    pub name: String,
}

/// Where a list reads: a chat (a DM) or a topic thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Chat,
    Thread,
}

/// The long connection's address and the client settings Feishu sends with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub client: ClientConfig,
}

/// Seconds, as Feishu gives them (`ClientConfig` of the endpoint and of a pong).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClientConfig {
    #[serde(default = "default_interval")]
    pub ping_interval: u64,
    #[serde(default = "default_interval")]
    pub reconnect_interval: u64,
    #[serde(default)]
    pub reconnect_nonce: u64,
}

fn default_interval() -> u64 {
    120
}

impl Default for ClientConfig {
    fn default() -> ClientConfig {
        ClientConfig {
            ping_interval: 120,
            reconnect_interval: 120,
            reconnect_nonce: 30,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_json_in_json() {
        let text = Content::Text("你好 \"x\"".into());
        assert_eq!(text.msg_type(), "text");
        assert_eq!(text.encoded(), r#"{"text":"你好 \"x\""}"#);
        assert_eq!(Content::Card(json!({"a": 1})).msg_type(), "interactive");
    }
}
