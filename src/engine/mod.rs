//! The engine: the single writer. Every change to a ticket — a new request, a
//! technician's command, a timer, the CLI — arrives here as a `Command`, is
//! decided by `core::lifecycle`, and is committed with its notices and timers in
//! one store transaction, flushed before the caller hears back.
//!
//! Invariant: no other task writes tickets. Being the only writer, the engine can
//! read-then-write without races; sled transactions make each decision atomic.

mod erase;
mod identity;
mod outcome;
mod port;
mod requesters;
mod rota;
mod route;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::config::Config;
use crate::core::effect::{Audience, Effect, Notice, NoticeKind};
use crate::core::id::TicketId;
use crate::core::lifecycle::{self, Action, NewTicket, Refusal, ReplyIntent};
use crate::core::sla::Policy;
use crate::core::ticket::{Attachment, Channel, Lang, Status, Ticket};
use crate::health::Health;
use crate::intake::auth::SenderAuth;
use crate::intake::{commands, redact, reply::parse_reply, Automated, Request};
use crate::queue::{Destination, EntryBody, OutgoingNotice, QueueEntry};
use crate::store::{Commit, QueueKey, Store, StoreError};
use identity::Role;

/// How long an address that bounced gets no notices.
const BOUNCE_SUPPRESSION_HOURS: i64 = 24;

pub use crate::core::change::Change;
pub use erase::{EraseTarget, ErasureReport};
pub use outcome::Outcome;
pub use port::{AuditEntry, ChatCursor, ChatPlace, ThreadLink};
pub use route::Routing;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no ticket {0}")]
    NotFound(TicketId),
    #[error("the engine has stopped (the daemon is shutting down); try again when it is back")]
    Stopped,
}

/// What became of an inbound request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    Created(TicketId),
    /// A follow-up or reply applied to an existing ticket.
    Updated(TicketId),
    /// This message was seen before; nothing changed.
    Duplicate(TicketId),
    /// A delivery report, attached to the ticket whose notice bounced (if found).
    Bounce(Option<TicketId>),
    /// Machine-generated mail: no ticket, no notice (loop protection).
    Ignored(String),
    /// Nothing can be done with it (no one to answer); the channel quarantines it.
    Unprocessable(String),
}

impl IntakeOutcome {
    pub fn ticket(&self) -> Option<&TicketId> {
        match self {
            IntakeOutcome::Created(id)
            | IntakeOutcome::Updated(id)
            | IntakeOutcome::Duplicate(id) => Some(id),
            IntakeOutcome::Bounce(id) => id.as_ref(),
            IntakeOutcome::Ignored(_) | IntakeOutcome::Unprocessable(_) => None,
        }
    }
}

type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

/// A core action as it is, or a staff change mapped to one by the engine.
enum Act {
    Core(Action),
    Staff { by: String, change: Change },
}

enum Command {
    Intake(Box<Request>, Reply<IntakeOutcome>),
    IntakeBatch(Vec<Request>, Reply<Vec<IntakeOutcome>>),
    /// `once`: the id of the message or interaction that carried it, recorded
    /// with the change so that a repeat is `AlreadySeen`.
    Act {
        id: TicketId,
        act: Act,
        once: Option<String>,
        reply: Reply<Outcome>,
    },
    LinkThread(TicketId, ThreadLink, Reply<()>),
    Fire(QueueKey, QueueEntry, Reply<()>),
    Import(Box<Ticket>, Reply<()>),
    Alert(String, Reply<()>),
    Keep(port::Bookkeeping, Reply<()>),
    Erase {
        target: EraseTarget,
        dry_run: bool,
        by: String,
        reply: Reply<ErasureReport>,
    },
    Audit(crate::store::AuditEntry, Reply<()>),
    ArmRetention(Reply<()>),
    Quarantine {
        origin: String,
        reason: String,
        raw: Vec<u8>,
        reply: Reply<u64>,
    },
}

/// The way in: cheap to clone, one per task that needs to change tickets.
#[derive(Clone)]
pub struct EngineHandle {
    tx: mpsc::Sender<Command>,
    reader: port::Reader,
}

impl EngineHandle {
    pub async fn intake(&self, request: Request) -> Result<IntakeOutcome, EngineError> {
        self.call(|r| Command::Intake(Box::new(request), r)).await
    }

    /// `intake` for many requests at once (a chunk of a mailbox): each is
    /// committed in its own transaction as `intake` would, and the store is
    /// flushed once before the answer, one outcome per request in order.
    pub async fn intake_batch(
        &self,
        requests: Vec<Request>,
    ) -> Result<Vec<IntakeOutcome>, EngineError> {
        self.submit_batch(requests).await?.outcomes().await
    }

    /// `intake_batch` without waiting for the answer: the batch is queued
    /// behind the commands sent before it (so batches are committed in the
    /// order they were submitted), and the returned `Answer` resolves once it
    /// is committed and flushed. Lets a channel prepare its next batch while
    /// the engine commits this one.
    pub async fn submit_batch(
        &self,
        requests: Vec<Request>,
    ) -> Result<Answer<Vec<IntakeOutcome>>, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Command::IntakeBatch(requests, tx))
            .await
            .map_err(|_| EngineError::Stopped)?;
        Ok(Answer(rx))
    }

    pub async fn act(&self, id: TicketId, action: Action) -> Result<Outcome, EngineError> {
        self.send_act(id, Act::Core(action), None).await
    }

    /// `act` for an action carried by a chat message or interaction that may be
    /// delivered again (gateway replays): `message_id` is recorded with the
    /// change, and a repeat is `AlreadySeen`.
    pub async fn act_once(
        &self,
        id: TicketId,
        action: Action,
        message_id: String,
    ) -> Result<Outcome, EngineError> {
        self.send_act(id, Act::Core(action), Some(message_id)).await
    }

    /// A staff change by `by`, from any surface; `once` as for `act_once`.
    pub async fn change(
        &self,
        id: TicketId,
        by: String,
        change: Change,
        once: Option<String>,
    ) -> Result<Outcome, EngineError> {
        self.send_act(id, Act::Staff { by, change }, once).await
    }

    async fn send_act(
        &self,
        id: TicketId,
        act: Act,
        once: Option<String>,
    ) -> Result<Outcome, EngineError> {
        self.call(|reply| Command::Act {
            id,
            act,
            once,
            reply,
        })
        .await
    }

    /// Records the ticket's chat thread (both directions, durably).
    pub async fn link_thread(&self, id: TicketId, link: ThreadLink) -> Result<(), EngineError> {
        self.call(|r| Command::LinkThread(id, link, r)).await
    }

    pub async fn fire(&self, key: QueueKey, entry: QueueEntry) -> Result<(), EngineError> {
        self.call(|r| Command::Fire(key, entry, r)).await
    }

    /// Tells the on-duty staff about operational trouble, through the outbox.
    pub async fn alert(&self, text: String) -> Result<(), EngineError> {
        self.call(|r| Command::Alert(text, r)).await
    }

    pub async fn import(&self, ticket: Ticket) -> Result<(), EngineError> {
        self.call(|r| Command::Import(Box::new(ticket), r)).await
    }

    async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Command) -> Result<T, EngineError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| EngineError::Stopped)?;
        rx.await.map_err(|_| EngineError::Stopped)?
    }
}

/// The engine's answer to a submitted batch, to be awaited later.
pub struct Answer<T>(oneshot::Receiver<Result<T, EngineError>>);

impl<T> Answer<T> {
    pub async fn outcomes(self) -> Result<T, EngineError> {
        self.0.await.map_err(|_| EngineError::Stopped)?
    }
}

pub struct Engine {
    store: Store,
    /// `[intake] copied_may_confirm`.
    copied_may_confirm: bool,
    /// `[retention] closed_after`.
    retention: Option<chrono::Duration>,
    /// The chat requester index the handles read; cleared after an erasure.
    requesters: port::Requesters,
    policy: Policy,
    routing: Routing,
    clock: Arc<dyn Clock>,
    /// Wakes the outbox dispatcher when new entries were queued.
    outbox_wake: Arc<Notify>,
    health: Health,
    /// Set while a batch is processed: its commits are flushed together at
    /// its end, before the caller hears back (`durable`).
    batching: AtomicBool,
}

impl Engine {
    pub fn new(
        store: Store,
        config: &Config,
        clock: Arc<dyn Clock>,
        outbox_wake: Arc<Notify>,
        health: Health,
    ) -> Engine {
        Engine {
            store,
            copied_may_confirm: config.intake.copied_may_confirm,
            retention: config.settings.retention,
            requesters: port::Requesters::default(),
            policy: config.policy(),
            routing: Routing::from_config(config),
            clock,
            outbox_wake,
            health,
            batching: AtomicBool::new(false),
        }
    }

    /// Spawns the engine task. It ends when every handle is dropped, after
    /// finishing the commands already sent — that is the drain on shutdown.
    pub fn spawn(self) -> (EngineHandle, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(256);
        let reader = port::Reader::new(self.store.clone(), self.requesters.clone());
        let task = tokio::spawn(self.run(rx));
        (EngineHandle { tx, reader }, task)
    }

    async fn run(self, mut rx: mpsc::Receiver<Command>) {
        // A batch's flush and answer run here, so that the engine commits the
        // next batch meanwhile.
        let mut answers = JoinSet::new();
        while let Some(cmd) = rx.recv().await {
            while answers.try_join_next().is_some() {}
            match cmd {
                Command::Intake(req, reply) => {
                    let r = self.intake(*req).await;
                    let _ = reply.send(r);
                }
                Command::IntakeBatch(reqs, reply) => match self.intake_batch(reqs).await {
                    Ok(outcomes) => {
                        let store = self.store.clone();
                        answers.spawn(async move {
                            let r = store.flush().await.map(|()| outcomes);
                            let _ = reply.send(r.map_err(EngineError::from));
                        });
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e));
                    }
                },
                Command::Act {
                    id,
                    act,
                    once,
                    reply,
                } => {
                    let action = match act {
                        Act::Core(action) => action,
                        Act::Staff { by, change } => change
                            .map_text(redact::mask)
                            .into_action(by, |t| self.routing.group_for(t).to_string()),
                    };
                    let _ = reply.send(self.act(&id, action, once).await);
                }
                Command::LinkThread(id, link, reply) => {
                    let r = self.link_thread(&id, &link).await;
                    let _ = reply.send(r);
                }
                Command::Fire(key, entry, reply) => {
                    let r = self.fire(key, entry).await;
                    let _ = reply.send(r);
                }
                Command::Alert(text, reply) => {
                    let r = self.alert(text).await;
                    let _ = reply.send(r);
                }
                Command::Erase {
                    target,
                    dry_run,
                    by,
                    reply,
                } => {
                    let _ = reply.send(self.erase(target, dry_run, &by).await);
                }
                Command::Audit(entry, reply) => {
                    let _ = reply.send(self.store.append_audit(&entry).map_err(EngineError::from));
                }
                Command::ArmRetention(reply) => {
                    let _ = reply.send(self.arm_retention().await);
                }
                Command::Keep(what, reply) => {
                    let _ = reply.send(self.keep(what).await);
                }
                Command::Quarantine {
                    origin,
                    reason,
                    raw,
                    reply,
                } => {
                    let _ = reply.send(self.quarantine(origin, reason, raw).await);
                }
                Command::Import(ticket, reply) => {
                    let r = self.store.import(&ticket).map_err(EngineError::from);
                    let r = match r {
                        Ok(()) => self.store.flush().await.map_err(EngineError::from),
                        Err(e) => Err(e),
                    };
                    let _ = reply.send(r);
                }
            }
        }
        while answers.join_next().await.is_some() {}
    }

    async fn intake(&self, req: Request) -> Result<IntakeOutcome, EngineError> {
        if let Some(id) = self.store.ticket_for_message(&req.message_id)? {
            return Ok(IntakeOutcome::Duplicate(id));
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
            self.apply(&id, action, now, vec![req.message_id.clone()], None)
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
                .decide(ticket, action, now, vec![req.message_id.clone()], None)
                .await?
            {
                Ok(t) => return Ok(IntakeOutcome::Updated(t.id)),
                Err((old, Refusal::ReopenWindowPassed)) => {
                    info!(ticket = %old, "reply to a ticket closed too long ago; opening a linked one");
                    return self.create(req, attachments, now, Some(old)).await;
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
        self.create(req, attachments, now, None).await
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
    async fn intake_batch(&self, reqs: Vec<Request>) -> Result<Vec<IntakeOutcome>, EngineError> {
        self.batching.store(true, Ordering::Relaxed);
        let mut outcomes = Vec::with_capacity(reqs.len());
        let mut done = Ok(());
        for req in reqs {
            match self.intake(req).await {
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

    /// Makes the last commit durable before anyone is told of it — unless a
    /// batch is under way, which flushes once at its end. (The outbox flushes
    /// before it sends, so a notice never leaves for an unflushed commit.)
    async fn durable(&self) -> Result<(), EngineError> {
        if !self.batching.load(Ordering::Relaxed) {
            self.store.flush().await?;
        }
        Ok(())
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

    async fn create(
        &self,
        req: Request,
        attachments: Vec<Attachment>,
        now: DateTime<Utc>,
        related: Option<TicketId>,
    ) -> Result<IntakeOutcome, EngineError> {
        let date = self.policy.calendar.local_date(now);
        let serial = self.store.next_serial(date)?;
        let id = TicketId::new(date, serial);
        let new = NewTicket {
            copied: req.cc.clone(),
            channel: req.channel,
            requester: req.requester,
            subject: req.subject,
            description: req.body,
            source_message_id: Some(req.message_id.clone()),
            problem_type: req.problem_type,
            urgency: req.urgency,
            expected_time: req.expected_time,
            group: self.routing.group_for(req.problem_type).to_string(),
            lang: req.lang,
            attachments,
            vague: req.vague,
            warnings: req.warnings,
            related,
        };
        let (ticket, effects) = lifecycle::open(id.clone(), new, now, &self.policy);
        let mut message_ids = vec![req.message_id];
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
            new_serial: Some((date, serial)),
            message_ids,
            enqueue,
            consumed: None,
        })?;
        self.durable().await?;
        self.outbox_wake.notify_one();
        info!(ticket = %id, r#type = %ticket.problem_type, urgency = %ticket.urgency, group = %ticket.group, "ticket opened");
        self.health.ticket_opened(ticket.channel);
        Ok(IntakeOutcome::Created(id))
    }

    async fn alert(&self, text: String) -> Result<(), EngineError> {
        let now = self.clock.now();
        let mut enqueue = Vec::new();
        for (dest, lang) in self.routing.on_duty() {
            let id = self.store.generate_id()?;
            let notice = OutgoingNotice {
                kind: NoticeKind::Alert,
                dest,
                lang,
                text: Some(text.clone()),
                actor: None,
                message_id: self.routing.alert_message_id(id),
                staff: true,
            };
            enqueue.push(QueueEntry::new(id, now, None, EntryBody::Notice(notice)));
        }
        if enqueue.is_empty() {
            warn!(alert = %text, "no [on_duty] address to alert");
            return Ok(());
        }
        self.store.commit(Commit {
            enqueue,
            ..Commit::default()
        })?;
        self.store.flush().await?;
        self.outbox_wake.notify_one();
        Ok(())
    }

    async fn act(
        &self,
        id: &TicketId,
        action: Action,
        once: Option<String>,
    ) -> Result<Outcome, EngineError> {
        if let Some(message_id) = &once {
            if self.store.ticket_for_message(message_id)?.is_some() {
                return Ok(Outcome::AlreadySeen);
            }
        }
        let now = self.clock.now();
        Ok(
            match self
                .apply(id, action, now, once.into_iter().collect(), None)
                .await?
            {
                Ok(t) => Outcome::Applied(Box::new(t)),
                Err(refusal) => Outcome::Refused(refusal),
            },
        )
    }

    async fn link_thread(&self, id: &TicketId, link: &ThreadLink) -> Result<(), EngineError> {
        self.store.link_thread(id, link)?;
        self.store.flush().await?;
        Ok(())
    }

    async fn fire(&self, key: QueueKey, entry: QueueEntry) -> Result<(), EngineError> {
        let kind = match entry.body {
            EntryBody::Wake { kind } => kind,
            EntryBody::Retention => return self.retention_due(key).await,
            _ => return Ok(()), // notices are the dispatcher's
        };
        let now = self.clock.now();
        let ticket = match &entry.ticket {
            Some(id) => self.store.ticket(id)?,
            None => None,
        };
        match ticket {
            Some(t) => {
                self.decide(
                    t,
                    Action::Timer {
                        kind,
                        due: entry.due,
                    },
                    now,
                    Vec::new(),
                    Some(key),
                )
                .await?
                .ok();
            }
            None => {
                self.store.commit(Commit {
                    consumed: Some(key),
                    ..Commit::default()
                })?;
                self.store.flush().await?;
            }
        }
        Ok(())
    }

    async fn apply(
        &self,
        id: &TicketId,
        action: Action,
        now: DateTime<Utc>,
        message_ids: Vec<String>,
        consumed: Option<QueueKey>,
    ) -> Result<Result<Ticket, Refusal>, EngineError> {
        let ticket = self
            .store
            .ticket(id)?
            .ok_or_else(|| EngineError::NotFound(id.clone()))?;
        Ok(self
            .decide(ticket, action, now, message_ids, consumed)
            .await?
            .map_err(|(_, r)| r))
    }

    /// Applies `action` to `ticket` and commits the result with its effects.
    /// A refusal commits nothing but the consumed timer.
    async fn decide(
        &self,
        mut ticket: Ticket,
        action: Action,
        now: DateTime<Utc>,
        mut message_ids: Vec<String>,
        consumed: Option<QueueKey>,
    ) -> Result<Result<Ticket, (TicketId, Refusal)>, EngineError> {
        match lifecycle::apply(&mut ticket, action, now, &self.policy) {
            Ok(effects) => {
                let enqueue = self.entries(&ticket, effects, now, &mut message_ids)?;
                self.store.commit(Commit {
                    ticket: Some(&ticket),
                    new_serial: None,
                    message_ids,
                    enqueue,
                    consumed,
                })?;
                self.durable().await?;
                self.outbox_wake.notify_one();
                Ok(Ok(ticket))
            }
            Err(refusal) => {
                if consumed.is_some() {
                    self.store.commit(Commit {
                        consumed,
                        ..Commit::default()
                    })?;
                    self.store.flush().await?;
                }
                Ok(Err((ticket.id, refusal)))
            }
        }
    }

    /// Turns effects into queue entries; our notices' Message-IDs are indexed to
    /// the ticket so replies to them thread back.
    fn entries(
        &self,
        ticket: &Ticket,
        effects: Vec<Effect>,
        now: DateTime<Utc>,
        message_ids: &mut Vec<String>,
    ) -> Result<Vec<QueueEntry>, EngineError> {
        let mut out = Vec::new();
        for effect in effects {
            match effect {
                Effect::Wake { kind, due } => out.push(QueueEntry::new(
                    self.store.generate_id()?,
                    due,
                    Some(ticket.id.clone()),
                    EntryBody::Wake { kind },
                )),
                Effect::Notify(notice) => {
                    let dests = self.routing.destinations(ticket, notice.audience, now);
                    if dests.is_empty() {
                        warn!(ticket = %ticket.id, kind = ?notice.kind, audience = ?notice.audience, "nobody to send this notice to; configure the audience's addresses");
                    }
                    for (dest, lang) in dests {
                        out.push(self.notice_entry(
                            ticket,
                            &notice,
                            dest,
                            lang,
                            now,
                            message_ids,
                        )?);
                    }
                }
            }
        }
        Ok(out)
    }

    /// One notice of `ticket` to one destination, due now; its Message-ID is
    /// added to `message_ids`.
    fn notice_entry(
        &self,
        ticket: &Ticket,
        notice: &Notice,
        dest: Destination,
        lang: Lang,
        now: DateTime<Utc>,
        message_ids: &mut Vec<String>,
    ) -> Result<QueueEntry, EngineError> {
        let id = self.store.generate_id()?;
        let notice = self.routing.outgoing(ticket, notice, dest, lang, id);
        message_ids.push(notice.message_id.clone());
        Ok(QueueEntry::new(
            id,
            now,
            Some(ticket.id.clone()),
            EntryBody::Notice(notice),
        ))
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
