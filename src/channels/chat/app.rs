//! What a chat app's adapter implements for the seam: a connection that
//! reports events, reads of what was missed, and the posts the bot makes.
//!
//! Invariant: an adapter keeps no bookkeeping of its own that must survive a
//! restart — cursors, ordering, dedup keys and the ticket↔thread index are
//! the seam's (`chat::session`, `chat::read_back`), the same for every app.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::types::{
    Addressee, Answer, Attachment, ChannelId, ChatMessage, Event, History, MessageId, Person,
    Position, Post, Posted, ReplyTo, UserId,
};
use crate::outbox::transport::DeliveryError;
use crate::queue::Page;
use crate::shutdown::Shutdown;

/// A read from the chat app failed; the message says what to check.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ChatError(pub String);

#[async_trait]
pub trait ChatApp: Send + Sync + 'static {
    /// The app's short name (`discord`, `feishu`): with a message or
    /// interaction id, the key the engine dedups on (`discord-123`).
    fn name(&self) -> &'static str;

    /// Connects and sends every event into `events` until shutdown,
    /// reconnecting by itself (a new session is `Event::Session`). Returns
    /// once the connection is closed; the seam then handles what was sent.
    async fn run(self: Arc<Self>, events: mpsc::UnboundedSender<Event>, shutdown: Shutdown);

    /// Runs at each new session before read-back: what the app needs set up
    /// (Discord registers its slash commands at the first).
    async fn session_started(&self, first: bool);

    /// Messages in `channel` after `after`, oldest first, one page.
    async fn history(&self, channel: &ChannelId, after: Position) -> Result<History, ChatError>;

    /// One message again (a request asked about before a restart).
    async fn message(&self, channel: &ChannelId, id: &MessageId) -> Result<ChatMessage, ChatError>;

    /// An attachment's content.
    async fn download(&self, attachment: &Attachment) -> Result<Vec<u8>, ChatError>;

    /// Whether the person is staff, when the event did not say.
    async fn is_staff(&self, person: &Person) -> Result<bool, ChatError>;

    /// The person's direct-message channel with the bot, and whether it was
    /// opened now (the seam then starts reading it back).
    async fn direct_channel(&self, user: &UserId) -> Result<(ChannelId, bool), DeliveryError>;

    /// A post in a channel, a thread or a direct-message channel.
    async fn post(&self, channel: &ChannelId, post: Post) -> Result<Posted, DeliveryError>;

    /// Opens a thread for a ticket under `starter`, a post in `channel`.
    async fn open_thread(
        &self,
        channel: &ChannelId,
        starter: &Posted,
        name: &str,
    ) -> Result<ChannelId, DeliveryError>;

    /// Where a thread the seam has no cursor for is read back from: its
    /// every message is newer than the thread itself.
    fn thread_start(&self, thread: &ChannelId) -> Position;

    /// Answers an interaction.
    async fn answer(&self, to: &ReplyTo, answer: Answer) -> Result<(), ChatError>;

    /// Who `page` names in this app at `now` (the rota's slot, the lead's
    /// role); `None`: nobody configured, the post notifies no one.
    fn addressee(&self, page: Page, now: DateTime<Utc>) -> Option<Addressee>;

    /// The position `by` before `position`: where a direct-message channel
    /// the bot opened starts being read back, so a message crossing the
    /// bot's first post is read again rather than skipped.
    fn rewind(&self, position: Position, by: Duration) -> Position;
}
