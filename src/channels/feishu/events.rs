//! Feishu's event JSON (schema 2.0) and listed messages, read into the
//! adapter's own types: a chat message (`im.message.receive_v1`, or one read
//! back through the message list) and a card button press
//! (`card.action.trigger`). Text comes out plain: rich-text posts flattened,
//! `@_user_N` placeholders replaced by the mentioned name.
//!
//! Invariant: nothing here fails on input; an event it cannot read is
//! `Event::Other`, with its type for the log.

use serde_json::{Map, Value};

use super::rest::Listed;

#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Message(ChatMessage),
    CardAction(CardAction),
    /// Anything else, or a payload missing what we need: its event type.
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatType {
    /// A one-to-one chat with the bot.
    P2p,
    Group,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessage {
    pub message_id: String,
    pub chat_id: String,
    pub chat_type: ChatType,
    /// The topic thread the message is in, if any.
    pub thread_id: Option<String>,
    pub root_id: Option<String>,
    /// The sender's open_id; for a message of an app, its app id.
    pub sender: String,
    /// Written by a person (not the bot or another app).
    pub from_user: bool,
    /// Milliseconds since the epoch.
    pub create_time_ms: u64,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CardAction {
    /// The event's id: the same when Feishu pushes it again.
    pub event_id: String,
    /// Milliseconds since the epoch.
    pub create_time_ms: u64,
    /// Who pressed: their open_id.
    pub operator: String,
    /// The button's `value`, as our card put it there.
    pub value: Map<String, Value>,
    /// A submitted form's fields.
    pub form: Option<Map<String, Value>>,
    /// The card's message and chat.
    pub message_id: String,
    pub chat_id: String,
}

/// One pushed event's payload.
pub fn parse(payload: &[u8]) -> Event {
    let Ok(json) = serde_json::from_slice::<Value>(payload) else {
        return Event::Other("(not JSON)".into());
    };
    let kind = json["header"]["event_type"]
        .as_str()
        .or_else(|| json["type"].as_str())
        .unwrap_or("")
        .to_string();
    let event = &json["event"];
    let read = match kind.as_str() {
        "im.message.receive_v1" => message(event).map(Event::Message),
        "card.action.trigger" => card_action(&json["header"], event).map(Event::CardAction),
        _ => None,
    };
    read.unwrap_or(Event::Other(kind))
}

fn message(event: &Value) -> Option<ChatMessage> {
    let m = &event["message"];
    let sender = &event["sender"];
    let mentions: Vec<(String, String, String)> = m["mentions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|mention| {
            Some((
                mention["key"].as_str()?.to_string(),
                mention["id"]["open_id"].as_str().unwrap_or("").to_string(),
                mention["name"].as_str().unwrap_or("").to_string(),
            ))
        })
        .collect();
    Some(ChatMessage {
        message_id: non_empty(&m["message_id"])?,
        chat_id: non_empty(&m["chat_id"])?,
        chat_type: if m["chat_type"].as_str() == Some("p2p") {
            ChatType::P2p
        } else {
            ChatType::Group
        },
        thread_id: non_empty(&m["thread_id"]),
        root_id: non_empty(&m["root_id"]),
        sender: non_empty(&sender["sender_id"]["open_id"])?,
        from_user: sender["sender_type"].as_str().unwrap_or("user") == "user",
        create_time_ms: number(&m["create_time"]),
        text: text_of(
            m["message_type"].as_str().unwrap_or(""),
            m["content"].as_str().unwrap_or(""),
        ),
    })
    .map(|mut message| {
        message.text = with_mentions(&message.text, &mentions);
        message
    })
}

fn card_action(header: &Value, event: &Value) -> Option<CardAction> {
    Some(CardAction {
        event_id: non_empty(&header["event_id"])?,
        create_time_ms: number(&header["create_time"]),
        form: event["action"]["form_value"].as_object().cloned(),
        operator: non_empty(&event["operator"]["open_id"])?,
        value: event["action"]["value"].as_object()?.clone(),
        message_id: non_empty(&event["context"]["open_message_id"]).unwrap_or_default(),
        chat_id: non_empty(&event["context"]["open_chat_id"]).unwrap_or_default(),
    })
}

/// A message read back from a chat (`chat_type` as the caller knows it).
pub fn listed(m: &Listed, chat_type: ChatType) -> ChatMessage {
    let mentions: Vec<(String, String, String)> = m
        .mentions
        .iter()
        .map(|x| (x.key.clone(), x.id.clone(), x.name.clone()))
        .collect();
    let text = text_of(&m.msg_type, &m.body.content);
    ChatMessage {
        message_id: m.message_id.clone(),
        chat_id: m.chat_id.clone(),
        chat_type,
        thread_id: m.thread_id.clone().filter(|t| !t.is_empty()),
        root_id: m.root_id.clone().filter(|t| !t.is_empty()),
        sender: m.sender.id.clone(),
        from_user: m.sender.sender_type == "user",
        create_time_ms: m.create_time.parse().unwrap_or(0),
        text: with_mentions(&text, &mentions),
    }
}

/// A message's text from its type and JSON content: `text` as it is,
/// `post` flattened line by line, anything else (image, file, sticker…) as
/// its type in brackets, so a requester's photo still reaches a person.
pub fn text_of(msg_type: &str, content: &str) -> String {
    let json: Value = serde_json::from_str(content).unwrap_or(Value::Null);
    match msg_type {
        "text" => json["text"].as_str().unwrap_or("").to_string(),
        "post" => post_text(&json),
        "" => String::new(),
        other => format!("[{other}]"),
    }
}

/// A rich-text post: `{title, content: [[{tag, text}…]…]}`, possibly under a
/// language key (`zh_cn`, `en_us`).
fn post_text(json: &Value) -> String {
    let post = if json.get("content").is_some() {
        json
    } else {
        json.as_object()
            .and_then(|o| o.values().find(|v| v.get("content").is_some()))
            .unwrap_or(&Value::Null)
    };
    let mut lines: Vec<String> = Vec::new();
    if let Some(title) = post["title"].as_str().filter(|t| !t.is_empty()) {
        lines.push(title.to_string());
    }
    for line in post["content"].as_array().into_iter().flatten() {
        let text: String = line
            .as_array()
            .into_iter()
            .flatten()
            .map(|el| match el["tag"].as_str() {
                Some("text") | Some("a") => el["text"].as_str().unwrap_or("").to_string(),
                Some("at") => format!("@{}", el["user_name"].as_str().unwrap_or("")),
                Some("img") => "[image]".into(),
                _ => String::new(),
            })
            .collect();
        lines.push(text);
    }
    lines.join("\n")
}

/// `@_user_1` placeholders as `@name`.
fn with_mentions(text: &str, mentions: &[(String, String, String)]) -> String {
    let mut out = text.to_string();
    // Longest key first, so `@_user_1` does not eat into `@_user_10`.
    let mut sorted: Vec<_> = mentions.iter().collect();
    sorted.sort_by_key(|(key, _, _)| std::cmp::Reverse(key.len()));
    for (key, _, name) in sorted {
        out = out.replace(key.as_str(), &format!("@{name}"));
    }
    out.trim().to_string()
}

fn non_empty(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_string)
}

/// Feishu writes times as strings of milliseconds.
fn number(v: &Value) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64())
        .unwrap_or(0)
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
