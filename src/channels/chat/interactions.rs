//! Interactions: requesters' commands (`/ticket new`, `/ticket status`), the
//! buttons on the bot's posts (stars, "still broken", "which ticket?", the
//! panel's "open a ticket", claim) and the forms they open.
//!
//! Invariant: an interaction is handled once (remembered, and carried to the
//! engine under its dedup key); only a ticket's requester answers for it, and
//! only staff claim or run `/desk` (`staff.rs`).

use minijinja::context;
use tracing::{debug, info, warn};

use super::app::ChatApp;
use super::session::Worker;
use super::types::{
    Answer, Button, Command, Form, FormSpec, Interaction, InteractionKind, Invalid, UserId,
};
use crate::core::id::TicketId;
use crate::core::lifecycle::{Action, ReplyIntent};
use crate::core::ticket::{Lang, Rating};
use crate::engine::{AuditEntry, IntakeOutcome, Outcome};
use crate::intake::{prepare, redact};

/// Interactions remembered to drop replays; older ones are long expired.
const REMEMBERED_INTERACTIONS: usize = 1000;
/// `/ticket status` lists this many tickets at most.
const STATUS_TICKETS: usize = 10;

impl<A: ChatApp> Worker<A> {
    pub(super) async fn interaction(&mut self, i: Interaction) {
        if !self.interactions.insert(i.id.clone()) {
            debug!(interaction = %i.id, "interaction seen before");
            return;
        }
        self.interaction_order.push_back(i.id.clone());
        while self.interaction_order.len() > REMEMBERED_INTERACTIONS {
            if let Some(old) = self.interaction_order.pop_front() {
                self.interactions.remove(&old);
            }
        }
        let answer = match i.kind.clone() {
            InteractionKind::Command(command) => self.command(&i, command).await,
            InteractionKind::Button(button) => self.press(&i, button).await,
            InteractionKind::Form(form) => self.form(&i, form).await,
        };
        if let Err(e) = self.app.answer(&i.reply, answer).await {
            warn!(interaction = %i.id, error = %e, "cannot answer an interaction");
        }
    }

    /// The requester's language for an answer: the app's, else the staff's.
    fn lang_of(&self, i: &Interaction) -> Lang {
        i.lang.unwrap_or(self.settings.staff_lang)
    }

    async fn command(&mut self, i: &Interaction, command: Command) -> Answer {
        match command {
            Command::NewTicketForm {
                problem_type,
                urgency,
            } => Answer::Form(FormSpec::NewTicket {
                chosen: Some((problem_type, urgency)),
            }),
            Command::Status { id } => self.status(i, id.as_deref()).await,
            Command::Desk { ticket, action } => self.desk(i, ticket, action).await,
            Command::Invalid(invalid) => {
                let lang = self.settings.staff_lang;
                Answer::Private(match invalid {
                    Invalid::Option(name) => {
                        self.replies.text(lang, "bad_option", context! { name })
                    }
                    Invalid::When(text) => self.replies.text(lang, "bad_when", context! { text }),
                    Invalid::Unknown(name) => {
                        self.replies
                            .text(lang, "unknown_command", context! { name })
                    }
                })
            }
        }
    }

    /// `/ticket status`: the requester's own tickets, never anyone else's;
    /// reads of personal data through chat go to the access audit.
    async fn status(&self, i: &Interaction, wanted: Option<&str>) -> Answer {
        let lang = self.lang_of(i);
        let mut tickets = self.own_tickets(&i.user.id);
        if let Some(wanted) = wanted {
            tickets.retain(|t| t.id.as_str().eq_ignore_ascii_case(wanted.trim()));
            if tickets.is_empty() {
                let id = wanted;
                return Answer::Private(self.replies.text(lang, "no_such_ticket", context! { id }));
            }
        } else {
            // Open ones first, then the latest closed ones.
            tickets.sort_by_key(|t| (!t.status.is_open(), std::cmp::Reverse(t.created_at)));
            tickets.truncate(STATUS_TICKETS);
        }
        if tickets.is_empty() {
            return Answer::Private(self.replies.plain(lang, "no_tickets"));
        }
        let actor = format!("chat:{} ({})", i.user.name, i.user.id);
        let mut lines = Vec::new();
        for t in &tickets {
            let entry = AuditEntry {
                at: self.clock.now(),
                actor: actor.clone(),
                ticket: Some(t.id.to_string()),
                what: "chat status".into(),
            };
            if let Err(e) = self.engine.audit(entry).await {
                warn!(error = %e, "cannot record a chat status read in the audit");
            }
            lines.push(self.replies.text(
                lang,
                "status_line",
                context! {
                    id => t.id.as_str(),
                    status => t.status.label(lang),
                    type => t.problem_type.label(lang),
                    urgency => t.urgency.label(lang),
                    eta => self.settings.calendar.format_local(t.eta),
                    subject => t.subject.as_str(),
                },
            ));
        }
        Answer::Private(lines.join("\n"))
    }

    async fn press(&mut self, i: &Interaction, button: Button) -> Answer {
        match button {
            Button::Rate { ticket, stars } => match self.requester_owns(&ticket, &i.user.id, i) {
                Ok(()) => Answer::Form(FormSpec::Rating { ticket, stars }),
                Err(answer) => answer,
            },
            Button::StillBroken { ticket } => match self.requester_owns(&ticket, &i.user.id, i) {
                Ok(()) => Answer::Form(FormSpec::StillBroken { ticket }),
                Err(answer) => answer,
            },
            Button::Claim { ticket } => {
                if self.is_staff(&i.user).await == Some(true) {
                    self.act(ticket, crate::core::change::Change::Claim, i)
                        .await
                } else {
                    Answer::Private(self.replies.plain(self.settings.staff_lang, "not_staff"))
                }
            }
            Button::OpenTicket => Answer::Form(FormSpec::NewTicket { chosen: None }),
            Button::Pick { message, ticket } => {
                let lang = self.lang_of(i);
                let pending = match self.pending.remove(&message) {
                    Some(request) => Some(request),
                    None => self.reread(&i.channel, &message).await,
                };
                let Some(mut request) = pending else {
                    return Answer::Private(self.replies.plain(lang, "message_gone"));
                };
                let lang = request.lang.unwrap_or(self.settings.staff_lang);
                if request.requester.chat_user.as_deref() != Some(i.user.id.as_str()) {
                    self.pending.insert(message, request);
                    return Answer::Private(self.replies.plain(lang, "not_yours"));
                }
                request.ticket_tag = ticket;
                Answer::Update(match self.submit(request).await {
                    Some(IntakeOutcome::Updated(id)) => {
                        self.replies.text(lang, "pick_added", context! { id })
                    }
                    Some(IntakeOutcome::Created(id)) => {
                        self.replies.text(lang, "pick_opened", context! { id })
                    }
                    Some(IntakeOutcome::Duplicate(id)) => {
                        self.replies.text(lang, "pick_duplicate", context! { id })
                    }
                    _ => self.replies.plain(lang, "pick_done"),
                })
            }
        }
    }

    /// Only the requester may answer for a ticket.
    fn requester_owns(
        &self,
        ticket: &TicketId,
        user: &UserId,
        i: &Interaction,
    ) -> Result<(), Answer> {
        match self.engine.ticket(ticket) {
            Ok(Some(t)) if t.requester.chat_user.as_deref() == Some(user.as_str()) => Ok(()),
            Ok(Some(t)) => Err(Answer::Private(self.replies.plain(t.lang, "not_yours"))),
            Ok(None) => Err(Answer::Private(
                self.replies.plain(self.lang_of(i), "not_yours"),
            )),
            Err(e) => {
                let error = e.to_string();
                Err(Answer::Private(self.replies.text(
                    self.lang_of(i),
                    "ticket_unreadable",
                    context! { error },
                )))
            }
        }
    }

    async fn form(&mut self, i: &Interaction, form: Form) -> Answer {
        match form {
            Form::NewTicket {
                chosen,
                description,
                expected,
                contact,
            } => {
                let inbound = self.inbound(self.key(&i.id), &i.user.id, &i.user.name, &description);
                let mut request = prepare(inbound, &self.settings.rules, &self.directory);
                // The form's choices are the requester's own: they beat the keywords.
                if let Some((problem_type, urgency)) = chosen {
                    request.problem_type = problem_type;
                    request.urgency = urgency;
                }
                if let Some(expected) = expected {
                    request.expected_time = Some(redact::mask(&expected));
                }
                if let Some(contact) = contact {
                    request.requester.contact = Some(redact::mask(&contact));
                }
                let lang = request.lang.unwrap_or(self.settings.staff_lang);
                Answer::Private(match self.submit(request).await {
                    Some(IntakeOutcome::Created(id)) => {
                        self.replies.text(lang, "form_opened", context! { id })
                    }
                    Some(IntakeOutcome::Duplicate(id)) => {
                        self.replies.text(lang, "form_duplicate", context! { id })
                    }
                    _ => self.replies.plain(lang, "form_failed"),
                })
            }
            Form::Rating {
                ticket,
                stars,
                remark,
            } => {
                let remark = remark.map(|r| redact::mask(&r));
                let stars_text = Rating {
                    stars,
                    remark: None,
                }
                .stars_text();
                let text = remark
                    .as_ref()
                    .map_or(stars_text.clone(), |r| format!("{stars_text} {r}"));
                let intent = ReplyIntent::Confirm {
                    stars: Some(stars),
                    remark,
                };
                let lang = self.ticket_lang(&ticket, i);
                let done = self
                    .replies
                    .text(lang, "rated", context! { stars => stars_text });
                self.requester_reply(ticket, intent, text, i, done).await
            }
            Form::StillBroken { ticket, reason } => {
                let lang = self.ticket_lang(&ticket, i);
                let remark = reason.map(|r| redact::mask(&r));
                let text = remark
                    .clone()
                    .unwrap_or_else(|| self.replies.plain(lang, "still_broken"));
                let intent = ReplyIntent::Reject { remark };
                let done = self.replies.plain(lang, "reopened");
                self.requester_reply(ticket, intent, text, i, done).await
            }
        }
    }

    fn ticket_lang(&self, ticket: &TicketId, i: &Interaction) -> Lang {
        match self.engine.ticket(ticket) {
            Ok(Some(t)) => t.lang,
            _ => self.lang_of(i),
        }
    }

    /// The requester's answer to the confirmation, as a reply by mail is.
    async fn requester_reply(
        &self,
        ticket: TicketId,
        intent: ReplyIntent,
        text: String,
        i: &Interaction,
        done: String,
    ) -> Answer {
        if let Err(answer) = self.requester_owns(&ticket, &i.user.id, i) {
            return answer;
        }
        let lang = self.ticket_lang(&ticket, i);
        let action = Action::RequesterReply { intent, text };
        match self
            .engine
            .act_once(ticket.clone(), action, self.key(&i.id))
            .await
        {
            Ok(Outcome::Applied(_)) => {
                info!(ticket = %ticket, "requester answered the confirmation in chat");
                Answer::Private(done)
            }
            Ok(Outcome::Refused(refusal)) => {
                let why = self.replies.refusal(lang, &refusal);
                Answer::Private(self.replies.text(lang, "nothing_changed", context! { why }))
            }
            Ok(Outcome::AlreadySeen) => {
                Answer::Private(self.replies.plain(lang, "already_recorded"))
            }
            Err(e) => {
                let error = e.to_string();
                Answer::Private(self.replies.text(lang, "not_recorded", context! { error }))
            }
        }
    }
}
