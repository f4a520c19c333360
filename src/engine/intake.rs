//! Requests in: a new ticket, a reply threaded to its ticket and read as
//! coming from its requester, a copied colleague, a technician (whose
//! `#commands` act on it) or a stranger; delivery reports; batches from a
//! mailbox chunk; requests recovered from the mailbox after a restore, under
//! their original IDs where known. Part of the engine, the one writer.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tracing::info;

use super::identity::{self, Role};
use super::{Engine, EngineError, IntakeOutcome, Outcome};
use crate::core::change::Change;
use crate::core::effect::{Audience, Effect, Notice};
use crate::core::id::TicketId;
use crate::core::lifecycle::{self, Action, NewTicket, Refusal, ReplyIntent};
use crate::core::ticket::{Attachment, Channel, Status, Ticket};
use crate::intake::auth::SenderAuth;
use crate::intake::{commands, redact, reply::parse_reply, Automated, Request};
use crate::store::{Commit, Store, StoreError};

/// How long an address that bounced gets no notices.
const BOUNCE_SUPPRESSION_HOURS: i64 = 24;

/// A ticket that was lost (a restore from an older backup) and is opened
/// again from its request mail: the ID the requester was given, and when the
/// mail server received the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalTicket {
    pub id: TicketId,
    pub arrived_at: DateTime<Utc>,
}

/// Whether the store has already taken in a request.
pub(super) enum Seen {
    Before(TicketId),
    /// Not yet, under this Message-ID (the mail's own, or, for a reused one
    /// with other content, made unique).
    New(String),
}

/// The Message-ID index's answer for `req`: by its Message-ID, and by its
/// content where that Message-ID is known.
pub(super) fn seen(store: &Store, req: &Request) -> Result<Seen, StoreError> {
    let Some(id) = store.ticket_for_message(&req.message_id)? else {
        return Ok(Seen::New(req.message_id.clone()));
    };
    // Broken clients and scanners reuse Message-IDs: the same ID with
    // other content is another message (an index made before content
    // keys were recorded cannot tell, and says duplicate).
    let same = store.ticket_for_message(&content_key(req))?.is_some()
        || !store.has_message_id_prefix(&content_prefix(&req.message_id))?;
    if same {
        return Ok(Seen::Before(id));
    }
    let unique = format!("{}#{}", req.message_id, &digest(req)[..16]);
    Ok(match store.ticket_for_message(&unique)? {
        Some(id) => Seen::Before(id),
        None => Seen::New(unique),
    })
}

impl Engine {
    /// `original`: the request is recovered from the mailbox, and the ticket
    /// it opened had this ID (see `create`).
    pub(super) async fn intake(
        &self,
        req: Request,
        original: Option<&OriginalTicket>,
    ) -> Result<IntakeOutcome, EngineError> {
        let mut req = req;
        match seen(&self.store, &req)? {
            Seen::Before(id) => return Ok(IntakeOutcome::Duplicate(id)),
            Seen::New(message_id) if message_id != req.message_id => {
                info!(message_id = %req.message_id, "a Message-ID seen before, with other content: taken as a new message");
                req.message_id = message_id;
            }
            Seen::New(_) => {}
        }
        let now = self.clock.now();
        if let Some(bounce) = &req.bounce {
            let target = match &bounce.original_message_id {
                Some(mid) => self.store.ticket_for_message(mid)?,
                None => None,
            };
            let Some(id) = target else {
                info!(message_id = %req.message_id, "delivery report for no known ticket; ignored");
                return Ok(IntakeOutcome::Bounce(None));
            };
            // Suppressed before the report is recorded: a crash in between
            // repeats the suppression; the other way round, the re-fetched
            // report would be a duplicate and the suppression lost.
            if let Some(addr) = &bounce.recipient {
                let until = now + chrono::Duration::hours(BOUNCE_SUPPRESSION_HOURS);
                self.store.suppress(addr, until)?;
                info!(ticket = %id, address = %addr, %until, "notice bounced; no more notices to this address until then");
            }
            let action = Action::Bounced {
                recipient: bounce.recipient.clone().unwrap_or_else(|| "?".into()),
                diagnostic: bounce.diagnostic.clone(),
            };
            self.apply(&id, action, now, message_keys(&req), None)
                .await?
                .ok();
            return Ok(IntakeOutcome::Bounce(Some(id)));
        }
        if let Some(reason) = &req.automated {
            info!(message_id = %req.message_id, reason = ?reason, "machine-generated message; no ticket, no notice");
            return Ok(IntakeOutcome::Ignored(describe(reason)));
        }
        if req.channel != Channel::Chat
            && req
                .requester
                .email
                .as_deref()
                .is_none_or(|a| !a.contains('@'))
        {
            return Ok(IntakeOutcome::Unprocessable(
                "no sender address: nobody could be told about a ticket".into(),
            ));
        }
        if let Some(mut ticket) = self.thread_target(&req)? {
            let from = req.requester.email.clone().unwrap_or_default();
            let action = match identity::role(&req, &ticket, &self.routing, self.copied_may_confirm)
            {
                Role::Technician => return self.staff_mail(req, ticket).await,
                Role::Stranger => {
                    info!(ticket = %ticket.id, %from, "mail about a ticket from a third party; kept for staff only");
                    Action::ThirdPartyMessage {
                        from,
                        text: req.body.clone(),
                    }
                }
                Role::Contact => Action::ContactMessage {
                    contact: self
                        .routing
                        .contacts
                        .on_ticket(&ticket, &from)
                        .unwrap_or_else(|| from.clone()),
                    text: req.body.clone(),
                },
                Role::Colleague => Action::ColleagueMessage {
                    from,
                    text: req.body.clone(),
                },
                Role::Requester => match ticket.status {
                    Status::Resolved | Status::Closed => reply_action(&req.body),
                    _ => Action::RequesterMessage {
                        text: req.body.clone(),
                    },
                },
            };
            // A third party's files are not kept.
            let attachments = match action {
                Action::ThirdPartyMessage { .. } => Vec::new(),
                _ => self.keep_attachments(&req)?,
            };
            ticket.attachments.extend(attachments.iter().cloned());
            match self
                .decide(ticket, action, now, message_keys(&req), None)
                .await?
            {
                Ok(t) => return Ok(IntakeOutcome::Updated(t.id)),
                Err((old, Refusal::ReopenWindowPassed)) => {
                    info!(ticket = %old, "reply to a ticket closed too long ago; opening a linked one");
                    return self.create(req, attachments, now, Some(old), None).await;
                }
                Err((old, refusal)) => {
                    return Ok(IntakeOutcome::Ignored(format!("{old}: {refusal}")))
                }
            }
        }
        if let (Channel::Email, SenderAuth::Fail(why)) = (req.channel, &req.auth) {
            return Ok(IntakeOutcome::Unprocessable(format!(
                "the sender failed authentication at the trusted mail server ({why}): a forged From, not answered"
            )));
        }
        let attachments = self.keep_attachments(&req)?;
        let original = match original {
            Some(o) if self.store.ticket(&o.id)?.is_some() => {
                info!(ticket = %o.id, message_id = %req.message_id, "a recovered request's original ID is another ticket's now; it gets a new ID");
                None
            }
            o => o,
        };
        self.create(req, attachments, now, None, original).await
    }

    /// A technician's mail on a ticket: its `#command` lines act on the
    /// ticket, the rest is relayed to the requester — each as a staff
    /// `Change`, recorded under its own id so that a re-fetch after a crash
    /// repeats none and loses none. An out-of-office notice does nothing.
    async fn staff_mail(&self, req: Request, ticket: Ticket) -> Result<IntakeOutcome, EngineError> {
        let address = req.requester.email.clone().unwrap_or_default();
        if commands::is_away_notice(&req.body) {
            info!(ticket = %ticket.id, from = %address, "a staff address's out-of-office reply; not relayed, not answered");
            return Ok(IntakeOutcome::Ignored(format!(
                "out-of-office reply from staff address {address}"
            )));
        }
        let by = req
            .requester
            .name
            .clone()
            .unwrap_or_else(|| address.clone());
        let mail = commands::parse(&req.body, self.policy.calendar.tz());
        let message = Some(mail.message)
            .filter(|m| !m.is_empty())
            .map(|text| Change::Reply { text });
        let changes: Vec<Change> = message.into_iter().chain(mail.changes).collect();
        let last = changes.len().saturating_sub(1);
        for (n, change) in changes.into_iter().enumerate() {
            // The mail's own Message-ID goes with the last change: until it is
            // recorded, a re-fetch reaches here again and skips what was done.
            let once = if n == last {
                req.message_id.clone()
            } else {
                format!("{}#{n}", req.message_id)
            };
            let action = change
                .map_text(redact::mask)
                .into_action(by.clone(), |t| self.routing.group_for(t).to_string());
            if let Outcome::Refused(refusal) = self.act(&ticket.id, action, Some(once)).await? {
                info!(ticket = %ticket.id, by = %by, %refusal, "a technician's mail command was refused");
            }
        }
        info!(ticket = %ticket.id, by = %by, "technician's mail applied");
        Ok(IntakeOutcome::Updated(ticket.id))
    }

    /// Commits a batch's requests, each in its own transaction, without
    /// flushing: the caller flushes before it answers.
    pub(super) async fn intake_batch(
        &self,
        reqs: Vec<Request>,
    ) -> Result<Vec<IntakeOutcome>, EngineError> {
        self.batching.store(true, Ordering::Relaxed);
        let mut outcomes = Vec::with_capacity(reqs.len());
        let mut done = Ok(());
        for req in reqs {
            match self.intake(req, None).await {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => {
                    done = Err(e);
                    break;
                }
            }
        }
        self.batching.store(false, Ordering::Relaxed);
        // What was committed before a failure stays; the caller marks nothing
        // and fetches again, which the Message-ID index makes harmless.
        done.map(|()| outcomes)
    }

    /// The ticket a message continues: its `[ID]` tag, or a reference to a
    /// message of ours or of the ticket.
    fn thread_target(&self, req: &Request) -> Result<Option<Ticket>, EngineError> {
        if let Some(tag) = &req.ticket_tag {
            if let Some(t) = self.store.ticket(tag)? {
                return Ok(Some(t));
            }
        }
        for mid in &req.references {
            if let Some(id) = self.store.ticket_for_message(mid)? {
                if let Some(t) = self.store.ticket(&id)? {
                    return Ok(Some(t));
                }
            }
        }
        Ok(None)
    }

    fn keep_attachments(&self, req: &Request) -> Result<Vec<Attachment>, EngineError> {
        let mut kept = Vec::new();
        for a in &req.attachments {
            if a.data.is_empty() {
                continue; // dropped for size; the requester is told via `warnings`
            }
            let sha = hex::encode(Sha256::digest(&a.data));
            self.store.put_blob(&sha, &a.data)?;
            kept.push(Attachment {
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
                sha256: sha,
            });
        }
        Ok(kept)
    }

    /// Opens a ticket for `req` under the day's next ID, or — recovering a
    /// lost one — under its `original` ID, which the caller found free: opened
    /// when its mail arrived, and without the requester's notices, which they
    /// had the first time (staff are told again: the restore lost the ticket
    /// from their views).
    async fn create(
        &self,
        req: Request,
        attachments: Vec<Attachment>,
        now: DateTime<Utc>,
        related: Option<TicketId>,
        original: Option<&OriginalTicket>,
    ) -> Result<IntakeOutcome, EngineError> {
        let (id, now, new_serial, recovered_serial) = match original {
            Some(o) => (
                o.id.clone(),
                o.arrived_at,
                None,
                Some((o.id.date(), o.id.serial())),
            ),
            None => {
                let date = self.policy.calendar.local_date(now);
                let serial = self.store.next_serial(date)?;
                (TicketId::new(date, serial), now, Some((date, serial)), None)
            }
        };
        let mut message_ids = message_keys(&req);
        let new = NewTicket {
            copied: req.cc.clone(),
            channel: req.channel,
            requester: req.requester,
            subject: req.subject,
            description: req.body,
            source_message_id: Some(req.message_id.clone()),
            problem_type: req.problem_type,
            urgency: req.urgency,
            urgency_lowered: req.urgency_lowered,
            expected_time: req.expected_time,
            group: self.routing.group_for(req.problem_type).to_string(),
            // Unclear writing (a Japanese mail, `VPN error 809`): the helpdesk's language.
            lang: req.lang.unwrap_or(self.policy.staff_lang),
            attachments,
            vague: req.vague,
            warnings: req.warnings,
            related,
        };
        let (mut ticket, mut effects) = lifecycle::open(id.clone(), new, now, &self.policy);
        ticket.known_fix = self.store.known_fix(&ticket.subject, &ticket.description)?;
        if original.is_none() {
            if let Some(to) = self.assigner.pick(&ticket.group, &self.store)? {
                let more =
                    lifecycle::apply(&mut ticket, Action::SystemAssign { to }, now, &self.policy);
                effects.extend(more.unwrap_or_default());
            }
        }
        if original.is_some() {
            effects
                .retain(|e| !matches!(e, Effect::Notify(n) if n.audience == Audience::Requester));
        }
        let mut enqueue = self.entries(&ticket, effects, now, &mut message_ids)?;
        for (kind, dest, lang) in self.routing.new_ticket(&ticket) {
            let notice = Notice {
                kind,
                audience: Audience::Group,
                text: None,
            };
            enqueue.push(self.notice_entry(&ticket, &notice, dest, lang, now, &mut message_ids)?);
        }
        self.store.commit(Commit {
            ticket: Some(&ticket),
            new_serial,
            recovered_serial,
            message_ids,
            enqueue,
            consumed: None,
        })?;
        self.durable().await?;
        self.outbox_wake.notify_one();
        if original.is_some() {
            info!(ticket = %id, message_id = %ticket.source_message_id.as_deref().unwrap_or_default(), "ticket recovered under its original ID; the requester is not told again");
        } else {
            info!(ticket = %id, r#type = %ticket.problem_type, urgency = %ticket.urgency, group = %ticket.group, "ticket opened");
        }
        self.health.ticket_opened(ticket.channel);
        Ok(IntakeOutcome::Created(id))
    }
}

/// A reply to a resolved or closed ticket: confirmation, rejection or rating if
/// it reads as one; otherwise an ordinary message.
fn reply_action(body: &str) -> Action {
    match parse_reply(body) {
        ReplyIntent::Unclear if body.trim().chars().count() > 200 => Action::RequesterMessage {
            text: body.to_string(),
        },
        intent => Action::RequesterReply {
            intent,
            text: body.to_string(),
        },
    }
}

fn describe(reason: &Automated) -> String {
    format!("{reason:?}")
}

/// The index keys a request is recorded under: its Message-ID, and its
/// Message-ID with its content's digest, which tells a re-fetch (same
/// content) from a reused ID (other content).
fn message_keys(req: &Request) -> Vec<String> {
    vec![req.message_id.clone(), content_key(req)]
}

fn content_prefix(message_id: &str) -> String {
    format!("content:{message_id}:")
}

fn content_key(req: &Request) -> String {
    format!("{}{}", content_prefix(&req.message_id), digest(req))
}

/// What the sender wrote, as a hex digest.
fn digest(req: &Request) -> String {
    let mut h = Sha256::new();
    for part in [
        req.requester.email.as_deref().unwrap_or_default(),
        req.requester.chat_user.as_deref().unwrap_or_default(),
        &req.subject,
        &req.body,
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    for a in &req.attachments {
        h.update(a.name.as_bytes());
        h.update(a.size.to_be_bytes());
    }
    hex::encode(h.finalize())
}
