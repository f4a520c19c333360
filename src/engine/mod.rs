//! The engine: the single writer. Every change to a ticket — a new request, a
//! technician's command, a timer, the CLI — arrives here as a `Command`, is
//! decided by `core::lifecycle`, and is committed with its notices and timers in
//! one store transaction, flushed before the caller hears back.
//!
//! Invariant: no other task writes tickets. Being the only writer, the engine can
//! read-then-write without races; sled transactions make each decision atomic.

mod assign;
mod erase;
mod identity;
mod intake;
mod outcome;
mod port;
mod requesters;
mod route;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinSet;
use tracing::warn;

use crate::clock::Clock;
use crate::config::Config;
use crate::core::effect::{Effect, Notice, NoticeKind};
use crate::core::id::TicketId;
use crate::core::lifecycle::{self, Action, Refusal};
use crate::core::sla::Policy;
use crate::core::ticket::{Lang, Ticket};
use crate::health::Health;
use crate::intake::{redact, Request};
use crate::queue::{Destination, EntryBody, OutgoingNotice, QueueEntry};
use crate::store::{ApprovedFaq, Commit, QueueKey, Store, StoreError};

/// How long an address that bounced gets no notices.
const BOUNCE_SUPPRESSION_HOURS: i64 = 24;

pub use crate::core::change::Change;
pub use erase::{EraseTarget, ErasureReport};
pub use intake::OriginalTicket;
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
    /// A request recovered from the mailbox after a restore; see `EngineHandle::recover`.
    Recover(Box<Request>, Option<OriginalTicket>, Reply<IntakeOutcome>),
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
    /// An approved FAQ entry to store (its fix masked here), or the keywords
    /// of one to revoke.
    FaqApprove(Box<ApprovedFaq>, Reply<ApprovedFaq>),
    FaqRevoke(Vec<String>, Reply<bool>),
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

    /// `intake` for a request read back from the mailbox after a restore:
    /// judged as intake judges it; a new ticket opens under `original`'s ID
    /// when that is free, without telling the requester again.
    pub async fn recover(
        &self,
        request: Request,
        original: Option<OriginalTicket>,
    ) -> Result<IntakeOutcome, EngineError> {
        self.call(|r| Command::Recover(Box::new(request), original, r))
            .await
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

    /// Stores a staff-approved FAQ entry; answers it as stored (masked).
    pub async fn approve_faq(&self, entry: ApprovedFaq) -> Result<ApprovedFaq, EngineError> {
        self.call(|r| Command::FaqApprove(Box::new(entry), r)).await
    }

    /// Whether an approval of the cluster with these keywords was removed.
    pub async fn revoke_faq(&self, keywords: Vec<String>) -> Result<bool, EngineError> {
        self.call(|r| Command::FaqRevoke(keywords, r)).await
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
    /// `[groups.X] assign`: who a new ticket goes to.
    assigner: assign::Assigner,
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
            assigner: assign::Assigner::from_config(config),
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
                    let r = self.intake(*req, None).await;
                    let _ = reply.send(r);
                }
                Command::Recover(req, original, reply) => {
                    let r = self.intake(*req, original.as_ref()).await;
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
                Command::FaqApprove(entry, reply) => {
                    let mut entry = *entry;
                    entry.fix = redact::mask(&entry.fix);
                    let r = match self.store.approve_faq(&entry) {
                        Ok(()) => self.store.flush().await.map(|()| entry),
                        Err(e) => Err(e),
                    };
                    let _ = reply.send(r.map_err(EngineError::from));
                }
                Command::FaqRevoke(keywords, reply) => {
                    let r = match self.store.revoke_faq(&keywords) {
                        Ok(found) => self.store.flush().await.map(|()| found),
                        Err(e) => Err(e),
                    };
                    let _ = reply.send(r.map_err(EngineError::from));
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

    /// Makes the last commit durable before anyone is told of it — unless a
    /// batch is under way, which flushes once at its end. (The outbox flushes
    /// before it sends, so a notice never leaves for an unflushed commit.)
    async fn durable(&self) -> Result<(), EngineError> {
        if !self.batching.load(Ordering::Relaxed) {
            self.store.flush().await?;
        }
        Ok(())
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
                    recovered_serial: None,
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
                    let dests = self.routing.destinations(ticket, notice.audience);
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
