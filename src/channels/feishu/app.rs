//! The chat seam's `ChatApp` for Feishu/Lark: the long connection's events
//! as the seam's messages and interactions, the message list as its
//! read-back, and its posts as Feishu messages — a ticket's thread is a topic
//! thread (a reply in thread under the ticket card), a page is a card with
//! @-mentions of the on-duty people.
//!
//! Channel ids the seam holds: a chat (`oc_…`: a one-to-one chat with the bot
//! or a group's chat), a topic thread (`omt_…`), or a user (`ou_…`) whose
//! one-to-one chat the bot has not seen yet (a post goes to the open_id).
//! Positions are create times in milliseconds. The caches below are only
//! shortcuts: every entry can be asked of Feishu again after a restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::cards::{self, Pressed};
use super::events::{self, CardAction, ChatType};
use super::rest::{Container, Content, FeishuError, Rest};
use super::ws::{Delivery, LongConnection};
use crate::channels::chat::{
    Addressee, Answer, Attachment, ChannelId, ChatApp, ChatError, ChatMessage, Conversation, Event,
    History, Interaction, InteractionKind, MessageId, Person, Position, Post, Posted, ReplyTo,
    RoleId, Staff, UserId,
};
use crate::core::ticket::Lang;
use crate::health::Health;
use crate::outbox::transport::DeliveryError;
use crate::queue::Page;
use crate::shutdown::Shutdown;

/// The role the seam is handed for "on duty": rendered as a mention of each.
const ON_DUTY_ROLE: &str = "on_duty";

pub struct FeishuApp {
    pub(super) rest: Arc<Rest>,
    pub(super) health: Health,
    /// Technicians and on-duty people (open_ids).
    pub(super) staff: Vec<String>,
    pub(super) on_duty: Vec<String>,
    pub(super) lead: Option<String>,
    /// The language of forms, whose answer carries none.
    pub(super) lang: Lang,
    /// Topic thread → its root message (replies in thread go under it).
    pub(super) roots: Mutex<HashMap<String, String>>,
    /// User → their one-to-one chat with the bot.
    pub(super) p2p: Mutex<HashMap<String, String>>,
}

fn remember(map: &Mutex<HashMap<String, String>>, key: &str, value: &str) {
    map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key.to_string(), value.to_string());
}

fn recall(map: &Mutex<HashMap<String, String>>, key: &str) -> Option<String> {
    map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(key)
        .cloned()
}

fn delivery(e: FeishuError) -> DeliveryError {
    if e.is_temporary() {
        DeliveryError::Temporary(e.to_string())
    } else {
        DeliveryError::Permanent(e.to_string())
    }
}

fn chat_error(e: FeishuError) -> ChatError {
    ChatError(e.to_string())
}

impl FeishuApp {
    fn person(&self, open_id: &str, bot: bool) -> Person {
        Person {
            id: UserId(open_id.to_string()),
            name: open_id.to_string(),
            staff: if self.staff.iter().any(|s| s == open_id) {
                Staff::Yes
            } else {
                Staff::No
            },
            bot,
        }
    }

    /// A message as the seam's, in `channel` (a thread's when it has one).
    fn message_of(&self, m: events::ChatMessage) -> ChatMessage {
        if let (Some(thread), Some(root)) = (&m.thread_id, &m.root_id) {
            remember(&self.roots, thread, root);
        }
        if m.chat_type == ChatType::P2p && m.from_user {
            remember(&self.p2p, &m.sender, &m.chat_id);
        }
        ChatMessage {
            id: MessageId(m.message_id),
            position: m.create_time_ms,
            channel: ChannelId(m.thread_id.unwrap_or(m.chat_id)),
            conversation: match m.chat_type {
                ChatType::P2p => Conversation::Direct,
                ChatType::Group => Conversation::Other,
            },
            author: self.person(&m.sender, !m.from_user),
            text: m.text,
            mentions_bot: false,
            attachments: Vec::new(),
        }
    }

    fn interaction_of(&self, a: CardAction) -> Option<Interaction> {
        let kind = match cards::pressed(&a.value, a.form.as_ref()) {
            Some(Pressed::Button(b)) => InteractionKind::Button(b),
            Some(Pressed::Form(f)) => InteractionKind::Form(f),
            None => {
                debug!(value = ?a.value, "a card press we did not write; ignored");
                return None;
            }
        };
        Some(Interaction {
            id: a.event_id,
            position: a.create_time_ms,
            channel: ChannelId(a.chat_id),
            user: self.person(&a.operator, false),
            lang: None,
            reply: ReplyTo {
                id: a.message_id,
                token: String::new(),
            },
            kind,
        })
    }

    /// The root message of a topic thread, asked of Feishu when not known.
    async fn root_of(&self, thread: &str) -> Result<String, FeishuError> {
        if let Some(root) = recall(&self.roots, thread) {
            return Ok(root);
        }
        let (first, _) = self
            .rest
            .list_page(Container::Thread, thread, 0, None)
            .await?;
        let root = first
            .into_iter()
            .next()
            .map(|m| m.root_id.filter(|r| !r.is_empty()).unwrap_or(m.message_id))
            .ok_or_else(|| FeishuError::Permanent {
                call: "list messages".into(),
                reason: format!("thread {thread} has no messages"),
            })?;
        remember(&self.roots, thread, &root);
        Ok(root)
    }

    fn mentions(&self, addressee: Option<&Addressee>) -> Vec<String> {
        match addressee {
            Some(Addressee::Role(RoleId(role))) if role == ON_DUTY_ROLE => self.on_duty.clone(),
            Some(Addressee::User(UserId(user))) => vec![user.clone()],
            _ => Vec::new(),
        }
    }
}

#[async_trait]
impl ChatApp for FeishuApp {
    fn name(&self) -> &'static str {
        "feishu"
    }

    async fn run(self: Arc<Self>, events: mpsc::UnboundedSender<Event>, shutdown: Shutdown) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let connection = LongConnection {
            rest: self.rest.clone(),
            health: self.health.clone(),
        };
        let forward = async {
            while let Some(delivery) = rx.recv().await {
                let event = match delivery {
                    Delivery::Connected => Some(Event::Session),
                    Delivery::Event(payload) => match events::parse(&payload) {
                        events::Event::Message(m) => {
                            Some(Event::Message(Box::new(self.message_of(m))))
                        }
                        events::Event::CardAction(a) => self
                            .interaction_of(a)
                            .map(|i| Event::Interaction(Box::new(i))),
                        events::Event::Other(kind) => {
                            debug!(kind, "Feishu event ignored");
                            None
                        }
                    },
                };
                if let Some(event) = event {
                    if events.send(event).is_err() {
                        break;
                    }
                }
            }
        };
        // The connection ends on shutdown and drops `tx`, which ends `forward`.
        tokio::join!(connection.run(tx, shutdown), forward);
    }

    async fn session_started(&self, _first: bool) {}

    async fn history(&self, channel: &ChannelId, after: Position) -> Result<History, ChatError> {
        let (container, chat_type) = if channel.as_str().starts_with("omt_") {
            (Container::Thread, ChatType::Group)
        } else {
            (Container::Chat, ChatType::P2p)
        };
        // Feishu lists from the second; what is not after `after` is skipped,
        // page after page if a busy second filled one.
        let mut page = None;
        loop {
            let (listed, next) = self
                .rest
                .list_page(container, channel.as_str(), after, page.as_deref())
                .await
                .map_err(chat_error)?;
            let messages: Vec<ChatMessage> = listed
                .iter()
                .map(|m| events::listed(m, chat_type))
                .filter(|m| m.create_time_ms > after)
                .map(|m| self.message_of(m))
                .map(|mut m| {
                    m.channel = channel.clone();
                    m
                })
                .collect();
            if !messages.is_empty() || next.is_none() {
                return Ok(History {
                    messages,
                    more: next.is_some(),
                });
            }
            page = next;
        }
    }

    async fn message(&self, channel: &ChannelId, id: &MessageId) -> Result<ChatMessage, ChatError> {
        let listed = self.rest.message(id.as_str()).await.map_err(chat_error)?;
        let chat_type = if channel.as_str().starts_with("omt_") {
            ChatType::Group
        } else {
            ChatType::P2p
        };
        let mut m = self.message_of(events::listed(&listed, chat_type));
        m.channel = channel.clone();
        Ok(m)
    }

    async fn download(&self, attachment: &Attachment) -> Result<Vec<u8>, ChatError> {
        // Messages from Feishu carry no attachments here (images and files
        // reach the ticket as "[image]" / "[file]"), so none is asked for.
        Err(ChatError(format!(
            "Feishu attachments are not fetched ({})",
            attachment.name
        )))
    }

    async fn is_staff(&self, person: &Person) -> Result<bool, ChatError> {
        Ok(self.staff.iter().any(|s| s == person.id.as_str()))
    }

    async fn direct_channel(&self, user: &UserId) -> Result<(ChannelId, bool), DeliveryError> {
        // Until their one-to-one chat is known, a post goes to the open_id.
        let chat = recall(&self.p2p, user.as_str()).unwrap_or_else(|| user.0.clone());
        Ok((ChannelId(chat), false))
    }

    async fn post(&self, channel: &ChannelId, post: Post) -> Result<Posted, DeliveryError> {
        let content = cards::content(&post, &self.mentions(post.mention.as_ref()));
        let id = channel.as_str();
        let sent = if id.starts_with("omt_") {
            let root = self.root_of(id).await.map_err(delivery)?;
            self.rest.reply(&root, &content, true).await
        } else if id.starts_with("ou_") {
            let sent = self.rest.send("open_id", id, &content).await;
            if let Ok(sent) = &sent {
                remember(&self.p2p, id, &sent.chat_id);
            }
            sent
        } else {
            self.rest.send("chat_id", id, &content).await
        }
        .map_err(delivery)?;
        Ok(Posted {
            id: MessageId(sent.message_id),
            position: sent.create_time.parse().unwrap_or(0),
        })
    }

    async fn open_thread(
        &self,
        _channel: &ChannelId,
        starter: &Posted,
        name: &str,
    ) -> Result<ChannelId, DeliveryError> {
        // A topic thread starts with the first reply in thread to its root.
        let sent = self
            .rest
            .reply(starter.id.as_str(), &Content::Text(name.to_string()), true)
            .await
            .map_err(delivery)?;
        let thread = sent.thread_id.filter(|t| !t.is_empty()).ok_or_else(|| {
            DeliveryError::Permanent(
                "Feishu opened no topic thread for the ticket card — is the group chat a topic-capable chat?".into(),
            )
        })?;
        remember(&self.roots, &thread, starter.id.as_str());
        Ok(ChannelId(thread))
    }

    fn thread_start(&self, _thread: &ChannelId) -> Position {
        // A topic thread's id says nothing of its time: read it whole (the
        // engine's dedup makes what was handled before a no-op).
        0
    }

    async fn answer(&self, to: &ReplyTo, answer: Answer) -> Result<(), ChatError> {
        let result = match answer {
            Answer::Private(text) | Answer::Public(text) => self
                .rest
                .reply(&to.id, &Content::Text(text), false)
                .await
                .map(drop),
            Answer::Form(spec) => {
                self.rest
                    .update_card(&to.id, &cards::form(&spec, self.lang))
                    .await
            }
            Answer::Update(text) => self.rest.update_card(&to.id, &cards::settled(&text)).await,
        };
        result.map_err(|e| {
            warn!(error = %e, "cannot answer a Feishu card press");
            chat_error(e)
        })
    }

    fn addressee(&self, page: Page, _now: DateTime<Utc>) -> Option<Addressee> {
        match page {
            Page::OnDuty if !self.on_duty.is_empty() => {
                Some(Addressee::Role(RoleId(ON_DUTY_ROLE.into())))
            }
            Page::OnDuty => None,
            Page::Lead => self.lead.clone().map(|l| Addressee::User(UserId(l))),
        }
    }

    fn rewind(&self, position: Position, by: Duration) -> Position {
        position.saturating_sub(by.as_millis() as u64)
    }
}
