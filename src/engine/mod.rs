//! The engine: the single writer. Every change to a ticket — a new request, a
//! technician's command, a timer, the CLI — arrives here as a `Command`, is
//! decided by `core::lifecycle`, and is committed with its notices and timers in
//! one store transaction, flushed before the caller hears back.
//! This file holds the task: its state, the loop that dispatches each command,
//! durability and alerts; the commands and the handle that sends them are
//! `handle.rs`, deciding and committing an action `decide.rs`.
//!
//! Invariant: no other task writes tickets. Being the only writer, the engine can
//! read-then-write without races; sled transactions make each decision atomic.

mod assign;
mod decide;
mod erase;
mod handle;
mod identity;
mod intake;
mod outcome;
mod port;
mod requesters;
mod route;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tracing::warn;

use crate::clock::Clock;
use crate::config::Config;
use crate::core::effect::NoticeKind;
use crate::core::id::TicketId;
use crate::core::sla::Policy;
use crate::health::Health;
use crate::intake::redact;
use crate::queue::{EntryBody, OutgoingNotice, QueueEntry};
use crate::store::{Commit, Store, StoreError};
use handle::{Act, Command};

pub use crate::core::change::Change;
pub use erase::{EraseTarget, ErasureReport};
pub use handle::{Answer, EngineHandle};
pub use intake::OriginalTicket;
pub use outcome::{IntakeOutcome, Outcome};
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

    async fn link_thread(&self, id: &TicketId, link: &ThreadLink) -> Result<(), EngineError> {
        self.store.link_thread(id, link)?;
        self.store.flush().await?;
        Ok(())
    }
}
