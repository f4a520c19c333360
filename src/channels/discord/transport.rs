//! Notices out to Discord: a `Transport` for the outbox. DMs to requesters (with
//! rating buttons on the confirm notice), posts in staff channels, and a ticket's
//! group notices in its own thread — opened from the ticket card on first use.
//!
//! Invariant: a notice counts as delivered only once Discord accepted the post;
//! a ticket's thread is linked in the store (through the engine) before the
//! notice is reported delivered, so every later group notice finds it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serenity::all::{
    AutoArchiveDuration, ChannelId, CreateAllowedMentions, CreateMessage, CreateThread, Http,
    HttpError, MessageId, RoleId, UserId,
};
use tracing::{info, warn};

use super::commands;
use super::{DmChannels, Snowflake};
use crate::core::effect::NoticeKind;
use crate::core::id::TicketId;
use crate::engine::{ChatCursor, ChatPlace, EngineHandle, ThreadLink};
use crate::outbox::transport::{DeliveryError, OutgoingMessage, Transport};
use crate::queue::Destination;

/// Discord refuses longer message content.
const MAX_CONTENT_CHARS: usize = 2000;
/// And longer thread names.
const MAX_THREAD_NAME_CHARS: usize = 100;
/// A DM channel's first read-back cursor starts this long before our post.
const READ_BACK_MARGIN_MS: u64 = 60_000;

pub struct ChatTransport {
    pub(super) http: Arc<Http>,
    pub(super) engine: EngineHandle,
    /// Channels whose ticket notices go to the ticket's thread: the groups' channels.
    pub(super) group_channels: Vec<ChannelId>,
    pub(super) dm_channels: DmChannels,
    /// A lock per ticket whose notices are being posted in its thread, so
    /// that two notices of one new ticket sent at once do not open two
    /// threads. Per ticket, not one for all: opening a thread takes two posts
    /// and a durable link, and one lock made every ticket card in a burst
    /// wait for the one before (docs/benchmarks.md, chat).
    pub(super) thread_locks: Mutex<HashMap<TicketId, Arc<tokio::sync::Mutex<()>>>>,
    pub(super) rota: super::rota::Rota,
    pub(super) lead_role: Option<RoleId>,
    pub(super) clock: Arc<dyn crate::clock::Clock>,
}

#[async_trait]
impl Transport for ChatTransport {
    async fn send(&self, msg: &OutgoingMessage) -> Result<(), DeliveryError> {
        match &msg.dest {
            Destination::ChatUser { user } => {
                let user = UserId::new(parse_id(user)?);
                let (channel, opened) = self.dm_channel(user).await?;
                let mut post = CreateMessage::new()
                    .content(content(msg, None))
                    .allowed_mentions(CreateAllowedMentions::new());
                if let (Some(ticket), NoticeKind::ResolvedConfirm | NoticeKind::ConfirmReminder) =
                    (&msg.ticket, msg.kind)
                {
                    post = post.components(commands::rating_buttons(ticket, msg.lang));
                }
                let sent = channel
                    .send_message(&*self.http, post)
                    .await
                    .map_err(delivery_error)?;
                if opened {
                    self.start_reading_back(channel, sent.id).await;
                }
                Ok(())
            }
            Destination::ChatChannel { channel, page } => {
                let lead = self.lead_role.map(|r| format!("<@&{r}>"));
                let mention = match page {
                    Some(crate::queue::Page::OnDuty) => self.rota.at(self.clock.now()),
                    Some(crate::queue::Page::Lead) => lead.as_deref(),
                    None => None,
                };
                let channel = ChannelId::new(parse_id(channel)?);
                let post = CreateMessage::new()
                    .content(content(msg, mention))
                    .allowed_mentions(allowed(mention));
                let post = match (&msg.ticket, msg.kind) {
                    (Some(ticket), NoticeKind::TicketCard | NoticeKind::UrgentPage) => {
                        post.components(commands::claim_button(ticket, msg.lang))
                    }
                    _ => post,
                };
                match &msg.ticket {
                    Some(ticket) if self.group_channels.contains(&channel) => {
                        self.post_in_thread(ticket, channel, post, &msg.subject)
                            .await
                    }
                    _ => channel
                        .send_message(&*self.http, post)
                        .await
                        .map(drop)
                        .map_err(delivery_error),
                }
            }
            Destination::Email { .. } => Err(DeliveryError::Permanent(format!(
                "{} is not a chat destination",
                msg.dest
            ))),
        }
    }
}

impl ChatTransport {
    /// The user's DM channel, and whether it was opened here (the gateway
    /// has not seen it in this run).
    async fn dm_channel(&self, user: UserId) -> Result<(ChannelId, bool), DeliveryError> {
        if let Some(channel) = self.dm_channels.get(user) {
            return Ok((channel, false));
        }
        let channel = user
            .create_dm_channel(&*self.http)
            .await
            .map_err(delivery_error)?
            .id;
        self.dm_channels.insert(user, channel);
        Ok((channel, true))
    }

    /// A requester who never wrote to the bot (they used `/ticket` or a
    /// mention) answers in this DM channel; give it a read-back cursor so that
    /// what they write while the daemon is down is read after a restart. It
    /// starts a minute before our post: a DM crossing it is read again rather
    /// than skipped (the Message-ID index drops repeats). The outbox flushes
    /// after the delivery, so the cursor is durable with it.
    async fn start_reading_back(&self, channel: ChannelId, posted: MessageId) {
        // A Discord id holds its time in milliseconds above bit 22.
        let cursor = ChatCursor {
            place: ChatPlace::Dm,
            handled: posted
                .get()
                .saturating_sub(READ_BACK_MARGIN_MS << 22)
                .max(1),
        };
        if let Err(e) = self
            .engine
            .start_chat_cursor(channel.to_string(), cursor)
            .await
        {
            warn!(%channel, error = %e, "cannot record a DM channel for read-back");
        }
    }

    /// The ticket's lock; locks nobody holds or waits for are dropped.
    fn thread_lock(&self, ticket: &TicketId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.thread_locks.lock().unwrap_or_else(|e| e.into_inner());
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        locks.entry(ticket.clone()).or_default().clone()
    }

    /// Posts in the ticket's thread under `channel`; without one, this post
    /// starts it (normally that is the ticket card).
    async fn post_in_thread(
        &self,
        ticket: &TicketId,
        channel: ChannelId,
        post: CreateMessage,
        subject: &str,
    ) -> Result<(), DeliveryError> {
        let lock = self.thread_lock(ticket);
        let _one_at_a_time = lock.lock().await;
        let store_error = |e: crate::engine::EngineError| DeliveryError::Temporary(e.to_string());
        if let Some(link) = self.engine.thread_of(ticket).map_err(store_error)? {
            if link.channel == channel.to_string() {
                let thread = ChannelId::new(parse_id(&link.thread)?);
                thread
                    .send_message(&*self.http, post)
                    .await
                    .map_err(delivery_error)?;
                return Ok(());
            }
        }
        let starter = channel
            .send_message(&*self.http, post)
            .await
            .map_err(delivery_error)?;
        let name: String = subject.chars().take(MAX_THREAD_NAME_CHARS).collect();
        let thread = channel
            .create_thread_from_message(
                &*self.http,
                starter.id,
                CreateThread::new(name).auto_archive_duration(AutoArchiveDuration::OneWeek),
            )
            .await
            .map_err(delivery_error)?;
        let link = ThreadLink {
            thread: thread.id.to_string(),
            channel: channel.to_string(),
        };
        self.engine
            .link_thread(ticket.clone(), link)
            .await
            .map_err(|e| DeliveryError::Temporary(e.to_string()))?;
        info!(ticket = %ticket, thread = %thread.id, "ticket thread opened");
        Ok(())
    }
}

/// Subject in bold, then the body, cut to Discord's limit; the mention first so
/// that it notifies.
fn content(msg: &OutgoingMessage, mention: Option<&str>) -> String {
    let mut text = String::new();
    if let Some(m) = mention {
        text.push_str(m);
        text.push(' ');
    }
    text.push_str(&format!("**{}**\n\n{}", msg.subject, msg.body.trim_end()));
    if text.chars().count() > MAX_CONTENT_CHARS {
        text = text.chars().take(MAX_CONTENT_CHARS - 1).collect();
        text.push('…');
    }
    text
}

/// Only the intended mention may notify anyone: relayed text must not ping
/// @everyone or arbitrary roles.
fn allowed(mention: Option<&str>) -> CreateAllowedMentions {
    let none = CreateAllowedMentions::new();
    match mention.map(Snowflake::mention) {
        Some(Some(Snowflake::Role(id))) => none.roles([RoleId::new(id)]),
        Some(Some(Snowflake::User(id))) => none.users([UserId::new(id)]),
        _ => none,
    }
}

fn parse_id(id: &str) -> Result<u64, DeliveryError> {
    id.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| DeliveryError::Permanent(format!("{id:?} is not a Discord id")))
}

/// Rate limits and server trouble are worth retrying; other refusals (no
/// access, unknown channel, user blocks DMs) are not.
pub(super) fn delivery_error(e: serenity::Error) -> DeliveryError {
    match &e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) => {
            let status = r.status_code.as_u16();
            let text = format!(
                "Discord answered {status}: {} (code {})",
                r.error.message, r.error.code
            );
            if status == 429 || status >= 500 {
                DeliveryError::Temporary(text)
            } else {
                DeliveryError::Permanent(format!(
                    "{text} — check the bot's permissions and the ids in [discord]"
                ))
            }
        }
        serenity::Error::Http(HttpError::Request(_)) | serenity::Error::Io(_) => {
            DeliveryError::Temporary(format!("Discord unreachable: {e}"))
        }
        _ => DeliveryError::Permanent(format!("Discord refused the message: {e}")),
    }
}
