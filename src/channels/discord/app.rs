//! Discord as a `ChatApp`: the REST calls behind the seam's reads and posts,
//! and Discord's mention syntax.
//!
//! Invariant: every id the seam hands back is one this adapter made
//! (`convert.rs`); one that does not read as a Discord id is refused with a
//! permanent error, never guessed at.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serenity::all::{
    AutoArchiveDuration, ChannelId, CreateAllowedMentions, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, CreateThread, GetMessages, HttpError,
    InteractionId, MessageId, RoleId, UserId,
};
use tokio::sync::mpsc;

use super::convert::channel;
use super::{commands, ui, DiscordApp};
use crate::channels::chat::{
    self, Addressee, Answer, Attachment, ChatApp, ChatError, ChatMessage, Event, History, Person,
    Position, Post, Posted, ReplyTo,
};
use crate::outbox::transport::DeliveryError;
use crate::queue::Page;
use crate::shutdown::Shutdown;

/// Discord refuses longer message content.
const MAX_CONTENT_CHARS: usize = 2000;
/// Messages read back per call: Discord's most.
const READ_BACK_PAGE: u8 = 100;

#[async_trait]
impl ChatApp for DiscordApp {
    fn name(&self) -> &'static str {
        "discord"
    }

    async fn run(self: Arc<Self>, events: mpsc::UnboundedSender<Event>, shutdown: Shutdown) {
        self.connect(events, shutdown).await;
    }

    async fn session_started(&self, first: bool) {
        if !first {
            return;
        }
        let http = &*self.http;
        if let Err(e) =
            serenity::all::Command::set_global_commands(http, vec![commands::ticket_command()])
                .await
        {
            tracing::warn!(error = %e, "cannot register /ticket; requesters can still write to the bot");
        }
        if let Err(e) = self
            .guild
            .set_commands(http, vec![commands::desk_command()])
            .await
        {
            tracing::warn!(error = %e, "cannot register /desk in the guild — check [discord] guild_id and the bot's applications.commands scope");
        }
    }

    async fn history(
        &self,
        channel: &chat::ChannelId,
        after: Position,
    ) -> Result<History, ChatError> {
        let id = ChannelId::new(read_id(channel.as_str()).map_err(|e| ChatError(e.to_string()))?);
        let page = GetMessages::new()
            .after(MessageId::new(after.max(1)))
            .limit(READ_BACK_PAGE);
        let messages = id
            .messages(&*self.http, page)
            .await
            .map_err(|e| ChatError(format!("Discord: {e}")))?;
        Ok(History {
            more: messages.len() >= usize::from(READ_BACK_PAGE),
            messages: messages.iter().map(|m| self.message(m, false)).collect(),
        })
    }

    async fn message(
        &self,
        channel: &chat::ChannelId,
        id: &chat::MessageId,
    ) -> Result<ChatMessage, ChatError> {
        let unreadable = |e: DeliveryError| ChatError(e.to_string());
        let channel = ChannelId::new(read_id(channel.as_str()).map_err(unreadable)?);
        let id = MessageId::new(read_id(id.as_str()).map_err(unreadable)?);
        let message = channel
            .message(&*self.http, id)
            .await
            .map_err(|e| ChatError(format!("Discord: {e}")))?;
        Ok(self.message(&message, false))
    }

    async fn download(&self, attachment: &Attachment) -> Result<Vec<u8>, ChatError> {
        // Rebuilt from what the event said, to fetch it as serenity does.
        let discord: serenity::all::Attachment = serde_json::from_value(serde_json::json!({
            "id": "1",
            "filename": attachment.name,
            "size": attachment.size,
            "url": attachment.url,
            "proxy_url": attachment.url,
        }))
        .map_err(|e| ChatError(format!("attachment {}: {e}", attachment.name)))?;
        discord
            .download()
            .await
            .map_err(|e| ChatError(format!("Discord: {e}")))
    }

    async fn is_staff(&self, person: &Person) -> Result<bool, ChatError> {
        let user = UserId::new(read_id(person.id.as_str()).map_err(|e| ChatError(e.to_string()))?);
        let member =
            self.guild.member(&*self.http, user).await.map_err(|e| {
                ChatError(format!("cannot read the member's roles from Discord: {e}"))
            })?;
        Ok(member.roles.contains(&self.technician_role))
    }

    async fn direct_channel(
        &self,
        user: &chat::UserId,
    ) -> Result<(chat::ChannelId, bool), DeliveryError> {
        let user = UserId::new(read_id(user.as_str())?);
        if let Some(channel) = self.dm_channels.get(user) {
            return Ok((super::convert::channel(channel), false));
        }
        let dm = user
            .create_dm_channel(&*self.http)
            .await
            .map_err(delivery_error)?
            .id;
        self.dm_channels.insert(user, dm);
        Ok((channel(dm), true))
    }

    async fn post(&self, to: &chat::ChannelId, post: Post) -> Result<Posted, DeliveryError> {
        let to = ChannelId::new(read_id(to.as_str())?);
        let sent = to
            .send_message(&*self.http, self.render(post))
            .await
            .map_err(delivery_error)?;
        Ok(Posted {
            id: chat::MessageId(sent.id.to_string()),
            position: sent.id.get(),
        })
    }

    async fn open_thread(
        &self,
        in_channel: &chat::ChannelId,
        starter: &Posted,
        name: &str,
    ) -> Result<chat::ChannelId, DeliveryError> {
        let in_channel = ChannelId::new(read_id(in_channel.as_str())?);
        let thread = in_channel
            .create_thread_from_message(
                &*self.http,
                MessageId::new(read_id(starter.id.as_str())?),
                CreateThread::new(name).auto_archive_duration(AutoArchiveDuration::OneWeek),
            )
            .await
            .map_err(delivery_error)?;
        Ok(channel(thread.id))
    }

    fn thread_start(&self, thread: &chat::ChannelId) -> Position {
        // A thread's id is a snowflake older than all its messages.
        read_id(thread.as_str()).unwrap_or(1)
    }

    async fn answer(&self, to: &ReplyTo, answer: Answer) -> Result<(), ChatError> {
        let id = InteractionId::new(read_id(&to.id).map_err(|e| ChatError(e.to_string()))?);
        let message = |text: String| {
            CreateInteractionResponseMessage::new()
                .content(cut(text))
                .allowed_mentions(CreateAllowedMentions::new())
        };
        let response = match answer {
            Answer::Private(text) => {
                CreateInteractionResponse::Message(message(text).ephemeral(true))
            }
            Answer::Public(text) => {
                CreateInteractionResponse::Message(message(text).ephemeral(false))
            }
            Answer::Form(spec) => CreateInteractionResponse::Modal(ui::form(&spec)),
            Answer::Update(text) => {
                CreateInteractionResponse::UpdateMessage(message(text).components(Vec::new()))
            }
        };
        self.http
            .create_interaction_response(id, &to.token, &response, Vec::new())
            .await
            .map_err(|e| ChatError(format!("Discord: {e}")))
    }

    fn addressee(&self, page: Page, now: DateTime<Utc>) -> Option<Addressee> {
        match page {
            Page::Lead => self
                .lead_role
                .map(|r| Addressee::Role(chat::RoleId(r.to_string()))),
            Page::OnDuty => match Mention::parse(self.rota.at(now)?)? {
                Mention::Role(r) => Some(Addressee::Role(chat::RoleId(r.to_string()))),
                Mention::User(u) => Some(Addressee::User(chat::UserId(u.to_string()))),
            },
        }
    }

    fn rewind(&self, position: Position, by: Duration) -> Position {
        // A Discord id holds its time in milliseconds above bit 22.
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        position.saturating_sub(ms.saturating_mul(1 << 22))
    }
}

impl DiscordApp {
    /// The post as Discord takes it: the mention first (so that it notifies),
    /// the title in bold, cut to Discord's limit; only the intended mention
    /// may notify anyone — relayed text must not ping @everyone or a role.
    fn render(&self, post: Post) -> CreateMessage {
        let mut text = String::new();
        let mut allowed = CreateAllowedMentions::new();
        match post.mention.as_ref().and_then(Mention::of) {
            Some(Mention::Role(id)) => {
                text.push_str(&format!("<@&{id}> "));
                allowed = allowed.roles([RoleId::new(id)]);
            }
            Some(Mention::User(id)) => {
                text.push_str(&format!("<@{id}> "));
                allowed = allowed.users([UserId::new(id)]);
            }
            None => {}
        }
        match &post.title {
            Some(title) => text.push_str(&format!("**{title}**\n\n{}", post.body)),
            None => text.push_str(&post.body),
        }
        CreateMessage::new()
            .content(cut(text))
            .allowed_mentions(allowed)
            .components(ui::buttons(&post.buttons, post.lang))
    }
}

/// A Discord mention: as the config writes it (`<@&ROLE>`, `<@USER>`) or as
/// the seam addresses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mention {
    Role(u64),
    User(u64),
}

impl Mention {
    fn parse(s: &str) -> Option<Mention> {
        let inner = s.trim().strip_prefix("<@")?.strip_suffix('>')?;
        match inner.strip_prefix('&') {
            Some(role) => read_id(role).ok().map(Mention::Role),
            None => read_id(inner.trim_start_matches('!'))
                .ok()
                .map(Mention::User),
        }
    }

    fn of(addressee: &Addressee) -> Option<Mention> {
        match addressee {
            Addressee::Role(r) => read_id(r.as_str()).ok().map(Mention::Role),
            Addressee::User(u) => read_id(u.as_str()).ok().map(Mention::User),
        }
    }
}

fn cut(mut text: String) -> String {
    if text.chars().count() > MAX_CONTENT_CHARS {
        text = text.chars().take(MAX_CONTENT_CHARS - 1).collect();
        text.push('…');
    }
    text
}

/// A Discord id (snowflake) the seam handed back.
fn read_id(id: &str) -> Result<u64, DeliveryError> {
    id.parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| DeliveryError::Permanent(format!("{id:?} is not a Discord id")))
}

/// Rate limits and server trouble are worth retrying; other refusals (no
/// access, unknown channel, user blocks DMs) are not.
fn delivery_error(e: serenity::Error) -> DeliveryError {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_mentions() {
        assert_eq!(Mention::parse("<@&42>"), Some(Mention::Role(42)));
        assert_eq!(Mention::parse("<@42>"), Some(Mention::User(42)));
        assert_eq!(Mention::parse("<@!42>"), Some(Mention::User(42)));
        for bad in ["42", "<@&>", "<@0>", "@here", "<#42>"] {
            assert_eq!(Mention::parse(bad), None, "{bad}");
        }
        let role = Addressee::Role(chat::RoleId("7".into()));
        assert_eq!(Mention::of(&role), Some(Mention::Role(7)));
        let forged = Addressee::User(chat::UserId("everyone".into()));
        assert_eq!(Mention::of(&forged), None);
    }
}
