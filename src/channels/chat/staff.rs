//! Technicians in chat: a message in a ticket's thread (relayed to the
//! requester, or an internal note with the note prefix), `/desk` commands and
//! the claim button. Each adapter parses its own syntax into a
//! `DeskAction`; a change is the staff vocabulary every surface speaks
//! (`core::change::Change`), applied through the engine as the CLI's are.
//!
//! Invariant: only staff (as the adapter knows them: a role, configured ids)
//! change a ticket from chat; anyone else is refused and nothing changes.

use minijinja::context;
use tracing::{debug, error, info, warn};

use super::app::ChatApp;
use super::session::Worker;
use super::types::{
    Answer, Buttons, ChannelId, ChatMessage, DeskAction, Interaction, Person, Post, Staff,
};
use crate::core::change::Change;
use crate::core::id::TicketId;
use crate::engine::{AuditEntry, Outcome};

/// Discord caps a message at 2,000 characters; other apps at more. A
/// transcript is cut to this so it fits everywhere.
const TRANSCRIPT_CHARS: usize = 1800;

impl<A: ChatApp> Worker<A> {
    /// Whether the person is staff; `None` when that cannot be told now.
    pub(super) async fn is_staff(&self, person: &Person) -> Option<bool> {
        match person.staff {
            Staff::Yes => Some(true),
            Staff::No => Some(false),
            Staff::Unknown => match self.app.is_staff(person).await {
                Ok(staff) => Some(staff),
                Err(e) => {
                    warn!(error = %e, "cannot check whether the author is staff");
                    None
                }
            },
        }
    }

    /// A message in a ticket's thread: a technician's is relayed to the
    /// requester, or with the note prefix kept as an internal note; others'
    /// do nothing. Whether it was handled (false: tried again at the next
    /// read-back).
    pub(super) async fn staff_message(&mut self, message: ChatMessage, ticket: TicketId) -> bool {
        match self.is_staff(&message.author).await {
            None => return false,
            Some(false) => {
                debug!(ticket = %ticket, "message by a non-technician in a ticket thread; ignored");
                return true;
            }
            Some(true) => {}
        }
        let text = message.text.trim();
        if text.is_empty() {
            return true;
        }
        let (change, refused) = match text.strip_prefix(self.settings.note_prefix.as_str()) {
            Some(note) => (
                Change::Note {
                    text: note.trim().to_string(),
                },
                "not_noted",
            ),
            None => (
                Change::Reply {
                    text: text.to_string(),
                },
                "not_relayed",
            ),
        };
        let key = self.key(message.id.as_str());
        let by = message.author.name.clone();
        match self
            .engine
            .change(ticket.clone(), by, change, Some(key))
            .await
        {
            Ok(Outcome::Applied(_)) => {
                info!(ticket = %ticket, "technician message taken from chat");
                true
            }
            Ok(Outcome::Refused(refusal)) => {
                let lang = self.settings.staff_lang;
                let why = self.replies.refusal(lang, &refusal);
                let post = Post::text(self.replies.text(lang, refused, context! { why }), lang);
                if let Err(e) = self.app.post(&message.channel, post).await {
                    warn!(error = %e, "cannot post in chat");
                }
                true
            }
            Ok(Outcome::AlreadySeen) => {
                debug!(ticket = %ticket, "technician message seen before");
                true
            }
            Err(e) => {
                error!(ticket = %ticket, error = %e, "technician message not processed");
                false
            }
        }
    }

    /// `/desk …`: staff only. The ticket is the one named, or the one of the
    /// thread the command was used in (the panel needs none).
    pub(super) async fn desk(
        &mut self,
        i: &Interaction,
        ticket: Option<TicketId>,
        action: DeskAction,
    ) -> Answer {
        let lang = self.settings.staff_lang;
        if self.is_staff(&i.user).await != Some(true) {
            info!(user = %i.user.id, "a /desk command by someone who is not staff; refused");
            return Answer::Private(self.replies.plain(lang, "not_staff"));
        }
        let change = match action {
            DeskAction::Panel => return self.post_panel(&i.channel).await,
            DeskAction::Transcript => None,
            DeskAction::Change(change) => Some(change),
        };
        let ticket = match ticket {
            Some(ticket) => ticket,
            None => match self.engine.ticket_for_thread(i.channel.as_str()) {
                Ok(Some(ticket)) => ticket,
                Ok(None) => return Answer::Private(self.replies.plain(lang, "use_in_thread")),
                Err(e) => {
                    let error = e.to_string();
                    return Answer::Private(self.replies.text(
                        lang,
                        "index_unreadable",
                        context! { error },
                    ));
                }
            },
        };
        match change {
            Some(change) => self.act(ticket, change, i).await,
            None => self.transcript(ticket, i).await,
        }
    }

    /// Applies a staff change once (the interaction's key); the answer says
    /// what happened, for all to see when it was done.
    pub(super) async fn act(&self, ticket: TicketId, change: Change, i: &Interaction) -> Answer {
        let lang = self.settings.staff_lang;
        let what = self.replies.plain(lang, action_key(&change));
        let by = i.user.name.clone();
        let key = self.key(&i.id);
        match self
            .engine
            .change(ticket.clone(), by.clone(), change, Some(key))
            .await
        {
            Ok(Outcome::Applied(t)) => {
                info!(ticket = %ticket, action = %what, by, "technician action from chat");
                let status = t.status.label(lang);
                Answer::Public(self.replies.text(
                    lang,
                    "applied",
                    context! { ticket, what, by, status },
                ))
            }
            Ok(Outcome::Refused(refusal)) => {
                let why = self.replies.refusal(lang, &refusal);
                Answer::Private(self.replies.text(lang, "nothing_changed", context! { why }))
            }
            Ok(Outcome::AlreadySeen) => Answer::Private(self.replies.plain(lang, "already_done")),
            Err(e) => {
                let error = e.to_string();
                Answer::Private(self.replies.text(lang, "not_done", context! { error }))
            }
        }
    }

    /// The ticket's record, for the staff member alone; the read goes to the
    /// access audit.
    async fn transcript(&self, ticket: TicketId, i: &Interaction) -> Answer {
        let lang = self.settings.staff_lang;
        let t = match self.engine.ticket(&ticket) {
            Ok(Some(t)) => t,
            Ok(None) => {
                let error = crate::engine::EngineError::NotFound(ticket).to_string();
                return Answer::Private(self.replies.text(
                    lang,
                    "ticket_unreadable",
                    context! { error },
                ));
            }
            Err(e) => {
                let error = e.to_string();
                return Answer::Private(self.replies.text(
                    lang,
                    "ticket_unreadable",
                    context! { error },
                ));
            }
        };
        let entry = AuditEntry {
            at: self.clock.now(),
            actor: format!("chat:{} ({})", i.user.name, i.user.id),
            ticket: Some(ticket.to_string()),
            what: "chat transcript".into(),
        };
        if let Err(e) = self.engine.audit(entry).await {
            warn!(error = %e, "cannot record a chat transcript read in the audit");
        }
        let record = crate::record::markdown(&t, &self.settings.calendar, lang);
        if record.chars().count() <= TRANSCRIPT_CHARS {
            return Answer::Private(record);
        }
        let id = ticket.as_str();
        let mut text: String = record.chars().take(TRANSCRIPT_CHARS).collect();
        text.push_str("…\n");
        text.push_str(&self.replies.text(lang, "transcript_cut", context! { id }));
        Answer::Private(text)
    }

    /// The "open a ticket" message in this channel (a help channel): its
    /// button opens the new-ticket form.
    async fn post_panel(&self, channel: &ChannelId) -> Answer {
        let lang = self.settings.staff_lang;
        let post = Post {
            buttons: Buttons::OpenTicket,
            ..Post::text(self.replies.plain(lang, "panel"), lang)
        };
        match self.app.post(channel, post).await {
            Ok(_) => Answer::Private(self.replies.plain(lang, "panel_posted")),
            Err(e) => {
                let error = e.to_string();
                Answer::Private(self.replies.text(lang, "not_done", context! { error }))
            }
        }
    }
}

/// The reply key naming what a change does.
fn action_key(change: &Change) -> &'static str {
    match change {
        Change::Claim => "action_claim",
        Change::Assign { .. } => "action_assign",
        Change::Note { .. } => "action_note",
        Change::Remark { .. } => "action_remark",
        Change::Step { .. } => "action_step",
        Change::Reply { .. } => "action_reply",
        Change::Ask { .. } => "action_ask",
        Change::Urgency { .. } => "action_urgency",
        Change::Type { .. } => "action_type",
        Change::Eta { .. } => "action_eta",
        Change::Escalate { .. } | Change::EscalateTo { .. } => "action_escalate",
        Change::Resolve { .. } | Change::ConfirmForRequester { .. } => "action_resolve",
        Change::Reopen { .. } | Change::RejectForRequester { .. } => "action_reopen",
        Change::Close { .. } => "action_close",
    }
}
