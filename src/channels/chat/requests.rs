//! Requesters' messages to tickets: a DM or a mention of the bot in the help
//! channel opens a ticket, or adds to the requester's one open ticket; with
//! several, the bot asks which ("which ticket?" buttons, answered in
//! `interactions.rs`).
//!
//! Invariant: a request reaches the engine prepared as mail is (`prepare`:
//! classified, masked) under its dedup key, and a requester is answered only
//! after the engine committed it.

use std::time::Duration;

use minijinja::context;
use tracing::{debug, error, info, warn};

use super::app::ChatApp;
use super::read_back::Done;
use super::session::{Pending, Worker};
use super::types::{Addressee, Buttons, ChannelId, ChatMessage, MessageId, Post, UserId};
use crate::core::id::TicketId;
use crate::core::ticket::{Channel, Status, Ticket};
use crate::engine::IntakeOutcome;
use crate::intake::{
    prepare, InboundAttachment, InboundMessage, NotKept, Request, Sender, Warning,
};

/// A chat ticket's subject is the first line of the message, this long at most.
const SUBJECT_CHARS: usize = 80;
/// How long fetching one attachment may take.
const ATTACHMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages waiting for the requester to pick a ticket, kept prepared; an
/// older one (or one asked about before a restart) is read again from the app.
const PENDING_PICKS: usize = 256;

/// A requester's message ready for the engine.
pub(super) struct Submission {
    pub(super) request: Request,
    pub(super) origin: Origin,
}

/// Where a request came from: what the answer to it needs.
pub(super) struct Origin {
    pub(super) channel: ChannelId,
    pub(super) position: u64,
    pub(super) author: UserId,
    pub(super) dm: bool,
    /// The requester's one open ticket a DM is about, for "Added to your ticket".
    pub(super) follow_up_of_open: Option<TicketId>,
}

impl<A: ChatApp> Worker<A> {
    /// A DM or a mention in the help channel, made ready for the engine: a new
    /// ticket, or more for the requester's one open ticket. A DM to a requester
    /// with several is asked about instead (`None`).
    pub(super) async fn submission(
        &mut self,
        message: ChatMessage,
        dm: bool,
    ) -> Option<Submission> {
        if message.text.is_empty() && message.attachments.is_empty() {
            return None;
        }
        let mut request = self.request(&message).await;
        let mut follow_up_of_open = None;
        if dm {
            match self.candidates(&message.author.id).as_slice() {
                [] => {}
                [only] => {
                    request.ticket_tag = Some(only.id.clone());
                    follow_up_of_open = only.status.is_open().then(|| only.id.clone());
                }
                several => {
                    let choices: Vec<(TicketId, String)> = several
                        .iter()
                        .map(|t| (t.id.clone(), t.subject.clone()))
                        .collect();
                    self.ask_which(&message.channel, message.id, request, choices)
                        .await;
                    return None;
                }
            }
        }
        Some(Submission {
            request,
            origin: Origin {
                channel: message.channel,
                position: message.position,
                author: message.author.id,
                dm,
                follow_up_of_open,
            },
        })
    }

    /// Commits the group's requests together, then tells each requester what
    /// the DM does not: the ticket opened from the help channel, or that a
    /// DM was added to their open ticket.
    pub(super) async fn submit_group(&mut self, pending: &mut Pending) {
        let Pending { group, mut done } = std::mem::take(pending);
        if group.is_empty() {
            self.handled(done).await;
            return;
        }
        let (requests, origins): (Vec<Request>, Vec<Origin>) =
            group.into_iter().map(|s| (s.request, s.origin)).unzip();
        let keys: Vec<(String, crate::core::ticket::Lang)> = requests
            .iter()
            .map(|r| {
                (
                    r.message_id.clone(),
                    r.lang.unwrap_or(self.settings.staff_lang),
                )
            })
            .collect();
        let outcomes: Vec<Result<IntakeOutcome, String>> =
            match self.engine.intake_batch(requests).await {
                Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
                Err(e) => {
                    let e = e.to_string();
                    keys.iter().map(|_| Err(e.clone())).collect()
                }
            };
        for ((origin, (key, lang)), outcome) in origins.into_iter().zip(keys).zip(outcomes) {
            let outcome = logged(&key, outcome);
            done.push(Done {
                channel: origin.channel.clone(),
                position: origin.position,
                ok: outcome.is_some(),
            });
            let post = match (outcome, origin.dm) {
                (Some(IntakeOutcome::Created(id)), false) => Post {
                    mention: Some(Addressee::User(origin.author)),
                    ..Post::text(
                        self.replies.text(lang, "help_opened", context! { id }),
                        lang,
                    )
                },
                (Some(IntakeOutcome::Updated(id)), true)
                    if origin.follow_up_of_open.as_ref() == Some(&id) =>
                {
                    Post::text(self.replies.text(lang, "added", context! { id }), lang)
                }
                _ => continue,
            };
            if let Err(e) = self.app.post(&origin.channel, post).await {
                warn!(channel = %origin.channel, error = %e, "cannot answer a requester in chat");
            }
        }
        self.handled(done).await;
    }

    /// The requester's tickets a new DM may be about: open ones, and resolved
    /// ones waiting for a confirmation (a typed "5" or "还是不行" answers those).
    fn candidates(&self, user: &UserId) -> Vec<Ticket> {
        self.own_tickets(user)
            .into_iter()
            .filter(|t| t.status.is_open() || t.status == Status::Resolved)
            .collect()
    }

    /// Every ticket whose requester is this chat user (via the directory, also
    /// their email tickets).
    pub(super) fn own_tickets(&self, user: &UserId) -> Vec<Ticket> {
        let today = self.settings.calendar.local_date(self.clock.now());
        self.engine
            .chat_requester_tickets(today, user.as_str())
            .unwrap_or_else(|e| {
                warn!(error = %e, "cannot look up the requester's tickets");
                Vec::new()
            })
    }

    async fn ask_which(
        &mut self,
        channel: &ChannelId,
        message: MessageId,
        request: Request,
        choices: Vec<(TicketId, String)>,
    ) {
        let lang = request.lang.unwrap_or(self.settings.staff_lang);
        if self.pending.insert(message.clone(), request).is_none() {
            self.pending_order.push_back(message.clone());
        }
        while self.pending_order.len() > PENDING_PICKS {
            if let Some(old) = self.pending_order.pop_front() {
                self.pending.remove(&old);
            }
        }
        let post = Post {
            buttons: Buttons::Pick { message, choices },
            ..Post::text(self.replies.plain(lang, "which_ticket"), lang)
        };
        if let Err(e) = self.app.post(channel, post).await {
            warn!(error = %e, "cannot ask the requester which ticket they mean");
        }
    }

    /// A message asked about before a restart (or pushed out of `pending`),
    /// read again from the app and prepared as it was then.
    pub(super) async fn reread(&self, channel: &ChannelId, message: &MessageId) -> Option<Request> {
        match self.app.message(channel, message).await {
            Ok(message) => Some(self.request(&message).await),
            Err(e) => {
                warn!(error = %e, "cannot read back the message a requester picked a ticket for");
                None
            }
        }
    }

    pub(super) async fn submit(&self, request: Request) -> Option<IntakeOutcome> {
        let key = request.message_id.clone();
        let outcome = self.engine.intake(request).await.map_err(|e| e.to_string());
        logged(&key, outcome)
    }

    /// The message as intake takes it: attachments fetched (up to the limit),
    /// prepared as mail is.
    async fn request(&self, message: &ChatMessage) -> Request {
        let mut attachments = Vec::new();
        let mut warnings = Vec::new();
        for a in &message.attachments {
            let size = a.size;
            let not_kept = |why| Warning::AttachmentNotKept {
                name: a.name.clone(),
                size,
                why,
            };
            let data = if size > self.settings.max_attachment_bytes {
                warnings.push(not_kept(NotKept::TooLarge {
                    limit: self.settings.max_attachment_bytes,
                }));
                Vec::new()
            } else {
                match tokio::time::timeout(ATTACHMENT_TIMEOUT, self.app.download(a)).await {
                    Ok(Ok(data)) => data,
                    Ok(Err(e)) => {
                        warn!(attachment = %a.name, error = %e, "cannot fetch a chat attachment");
                        warnings.push(not_kept(NotKept::NotFetched));
                        Vec::new()
                    }
                    Err(_) => {
                        warnings.push(not_kept(NotKept::NotFetched));
                        Vec::new()
                    }
                }
            };
            attachments.push(InboundAttachment {
                name: a.name.clone(),
                content_type: a
                    .content_type
                    .clone()
                    .unwrap_or_else(|| "application/octet-stream".into()),
                size,
                data,
            });
        }
        let inbound = InboundMessage {
            attachments,
            warnings,
            ..self.inbound(
                self.key(message.id.as_str()),
                &message.author.id,
                &message.author.name,
                &message.text,
            )
        };
        prepare(inbound, &self.settings.rules, &self.directory)
    }

    /// A chat text as intake takes it, under its dedup key.
    pub(super) fn inbound(
        &self,
        key: String,
        user: &UserId,
        name: &str,
        text: &str,
    ) -> InboundMessage {
        InboundMessage {
            cc: Vec::new(),
            auth: Default::default(),
            channel: Channel::Chat,
            message_id: key,
            references: Vec::new(),
            from: Sender {
                name: Some(name.to_string()),
                address: user.0.clone(),
            },
            subject: subject_of(text),
            body: text.to_string(),
            attachments: Vec::new(),
            received_at: self.clock.now(),
            automated: None,
            bounce: None,
            warnings: Vec::new(),
        }
    }
}

/// Logs what became of a chat message; the outcome, if the engine answered.
fn logged(key: &str, outcome: Result<IntakeOutcome, String>) -> Option<IntakeOutcome> {
    match outcome {
        Ok(outcome) => {
            match &outcome {
                IntakeOutcome::Created(id) => {
                    info!(ticket = %id, message_id = key, "chat request opened a ticket")
                }
                IntakeOutcome::Updated(id) => {
                    info!(ticket = %id, message_id = key, "chat message added to a ticket")
                }
                IntakeOutcome::Duplicate(id) => {
                    debug!(ticket = %id, message_id = key, "chat message seen before")
                }
                other => warn!(message_id = key, outcome = ?other, "chat message not taken"),
            }
            Some(outcome)
        }
        Err(e) => {
            error!(message_id = key, error = %e, "chat message not processed");
            None
        }
    }
}

/// The first non-empty line, cut short.
pub(super) fn subject_of(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let mut subject: String = line.chars().take(SUBJECT_CHARS).collect();
    if line.chars().count() > SUBJECT_CHARS {
        subject.push('…');
    }
    subject
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_is_the_first_line_cut_short() {
        assert_eq!(subject_of("\n  VPN 连不上  \n详细情况"), "VPN 连不上");
        assert_eq!(
            subject_of(&"x".repeat(100)).chars().count(),
            SUBJECT_CHARS + 1
        );
        assert_eq!(subject_of(""), "");
    }
}
