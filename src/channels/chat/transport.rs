//! Notices out to a chat app: a `Transport` for the outbox over any
//! `ChatApp`. DMs to requesters (with rating buttons on the confirm notice),
//! posts in staff channels (paging whoever `Page` names), and a ticket's group
//! notices in its own thread — opened from the ticket card on first use.
//!
//! Invariant: a notice counts as delivered only once the app accepted the
//! post; a ticket's thread is linked in the store (through the engine) before
//! the notice is reported delivered, so every later group notice finds it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tracing::{info, warn};

use super::app::ChatApp;
use super::types::{Buttons, ChannelId, Post, UserId};
use crate::clock::Clock;
use crate::core::effect::NoticeKind;
use crate::core::id::TicketId;
use crate::engine::{ChatCursor, ChatPlace, EngineHandle, ThreadLink};
use crate::outbox::transport::{DeliveryError, OutgoingMessage, Transport};
use crate::queue::Destination;

/// Thread names are cut to this (Discord's limit).
const MAX_THREAD_NAME_CHARS: usize = 100;
/// A DM channel's first read-back cursor starts this long before our post.
const READ_BACK_MARGIN: Duration = Duration::from_secs(60);

pub struct ChatTransport<A: ChatApp> {
    app: Arc<A>,
    engine: EngineHandle,
    clock: Arc<dyn Clock>,
    /// Channels whose ticket notices go to the ticket's thread: the groups' channels.
    group_channels: Vec<ChannelId>,
    /// A lock per ticket whose notices are being posted in its thread, so
    /// that two notices of one new ticket sent at once do not open two
    /// threads. Per ticket, not one for all: opening a thread takes two posts
    /// and a durable link, and one lock made every ticket card in a burst
    /// wait for the one before (docs/benchmarks.md, chat).
    thread_locks: Mutex<HashMap<TicketId, Arc<tokio::sync::Mutex<()>>>>,
}

impl<A: ChatApp> ChatTransport<A> {
    pub fn new(
        app: Arc<A>,
        engine: EngineHandle,
        clock: Arc<dyn Clock>,
        group_channels: Vec<ChannelId>,
    ) -> ChatTransport<A> {
        ChatTransport {
            app,
            engine,
            clock,
            group_channels,
            thread_locks: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait]
impl<A: ChatApp> Transport for ChatTransport<A> {
    async fn send(&self, msg: &OutgoingMessage) -> Result<(), DeliveryError> {
        let mut post = Post {
            title: Some(msg.subject.clone()),
            body: msg.body.trim_end().to_string(),
            mention: None,
            buttons: Buttons::None,
            lang: msg.lang,
        };
        match &msg.dest {
            Destination::ChatUser { user } => {
                if let (Some(ticket), NoticeKind::ResolvedConfirm | NoticeKind::ConfirmReminder) =
                    (&msg.ticket, msg.kind)
                {
                    post.buttons = Buttons::Rating {
                        ticket: ticket.clone(),
                    };
                }
                let (channel, opened) = self.app.direct_channel(&UserId(user.clone())).await?;
                let sent = self.app.post(&channel, post).await?;
                if opened {
                    self.start_reading_back(channel, sent.position).await;
                }
                Ok(())
            }
            Destination::ChatChannel { channel, page } => {
                post.mention = page.and_then(|p| self.app.addressee(p, self.clock.now()));
                if let (Some(ticket), NoticeKind::TicketCard | NoticeKind::UrgentPage) =
                    (&msg.ticket, msg.kind)
                {
                    post.buttons = Buttons::Claim {
                        ticket: ticket.clone(),
                    };
                }
                let channel = ChannelId(channel.clone());
                match &msg.ticket {
                    Some(ticket) if self.group_channels.contains(&channel) => {
                        self.post_in_thread(ticket, &channel, post, &msg.subject)
                            .await
                    }
                    _ => self.app.post(&channel, post).await.map(drop),
                }
            }
            Destination::Email { .. } => Err(DeliveryError::Permanent(format!(
                "{} is not a chat destination",
                msg.dest
            ))),
        }
    }
}

impl<A: ChatApp> ChatTransport<A> {
    /// A requester who never wrote to the bot (they used a form or a
    /// mention) answers in this DM channel; give it a read-back cursor so that
    /// what they write while the daemon is down is read after a restart. It
    /// starts a little before our post: a DM crossing it is read again rather
    /// than skipped (the Message-ID index drops repeats). The outbox flushes
    /// after the delivery, so the cursor is durable with it.
    async fn start_reading_back(&self, channel: ChannelId, posted: u64) {
        let cursor = ChatCursor {
            place: ChatPlace::Dm,
            handled: self.app.rewind(posted, READ_BACK_MARGIN).max(1),
        };
        if let Err(e) = self
            .engine
            .start_chat_cursor(channel.0.clone(), cursor)
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
        channel: &ChannelId,
        post: Post,
        subject: &str,
    ) -> Result<(), DeliveryError> {
        let lock = self.thread_lock(ticket);
        let _one_at_a_time = lock.lock().await;
        let store_error = |e: crate::engine::EngineError| DeliveryError::Temporary(e.to_string());
        if let Some(link) = self.engine.thread_of(ticket).map_err(store_error)? {
            if link.channel == channel.as_str() {
                self.app.post(&ChannelId(link.thread), post).await?;
                return Ok(());
            }
        }
        let starter = self.app.post(channel, post).await?;
        let name: String = subject.chars().take(MAX_THREAD_NAME_CHARS).collect();
        let thread = self.app.open_thread(channel, &starter, &name).await?;
        let link = ThreadLink {
            thread: thread.0.clone(),
            channel: channel.0.clone(),
        };
        self.engine
            .link_thread(ticket.clone(), link)
            .await
            .map_err(store_error)?;
        info!(ticket = %ticket, %thread, "ticket thread opened");
        Ok(())
    }
}
