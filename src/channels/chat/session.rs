//! The seam's intake side: one task per chat app that takes the adapter's
//! events and handles them in the app's order, each after the ones before it
//! were committed (a second DM must see the ticket the first one opened) —
//! except that consecutive requester messages from different people, which
//! cannot depend on each other, are committed together (`intake_batch`).
//!
//! Invariant: every message or interaction reaches the engine under
//! `<app>-<id>`, which the engine records with the change, so a replay after
//! a reconnect changes nothing. After each new session the known channels are
//! read back from their cursors (`read_back.rs`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info};

use super::app::ChatApp;
use super::read_back::{Cursor, Done};
use super::replies::Replies;
use super::requests::Submission;
use super::types::{ChannelId, ChatMessage, Event, MessageId};
use crate::clock::Clock;
use crate::core::calendar::Calendar;
use crate::core::id::TicketId;
use crate::core::ticket::Lang;
use crate::engine::EngineHandle;
use crate::intake::classify::Rules;
use crate::intake::directory::Directory;
use crate::intake::Request;
use crate::shutdown::Shutdown;

/// Requester messages committed together at most (as the IMAP intake's chunks).
const MAX_GROUP: usize = 50;

/// What the intake side works with, from the rest of the daemon.
pub struct IntakeDeps {
    pub engine: EngineHandle,
    pub directory: Arc<Directory>,
    pub clock: Arc<dyn Clock>,
}

/// How this deployment uses chat, from the config.
pub struct IntakeSettings {
    /// A staff message in a ticket's thread starting with this is an internal note.
    pub note_prefix: String,
    pub max_attachment_bytes: u64,
    /// The help channel, if any: a stored cursor for another channel marked
    /// "help" is from an older config and is not read back.
    pub help_channel: Option<ChannelId>,
    pub rules: Rules,
    pub calendar: Calendar,
    /// The staff's language: replies to staff are in it.
    pub staff_lang: Lang,
}

/// One chat app's intake: its adapter and the seam's work on its events.
pub struct ChatIntake<A: ChatApp> {
    pub app: Arc<A>,
    pub settings: IntakeSettings,
    pub deps: IntakeDeps,
}

impl<A: ChatApp> ChatIntake<A> {
    /// Runs until shutdown: the adapter connects and reports events; on
    /// shutdown its connection closes first, then what was already received
    /// is handled.
    pub async fn run(self, shutdown: Shutdown) {
        let ChatIntake {
            app,
            settings,
            deps,
        } = self;
        let (tx, rx) = mpsc::unbounded_channel();
        let worker = Worker {
            app: app.clone(),
            settings,
            engine: deps.engine,
            directory: deps.directory,
            clock: deps.clock,
            replies: Replies::default(),
            sessions: 0,
            cursors: HashMap::new(),
            pending: HashMap::new(),
            pending_order: VecDeque::new(),
            interactions: HashSet::new(),
            interaction_order: VecDeque::new(),
        };
        let (stop, stopped) = oneshot::channel();
        let worker_task = tokio::spawn(worker.run(rx, stopped));
        app.clone().run(tx, shutdown).await;
        let _ = stop.send(());
        let _ = worker_task.await;
        debug!(app = app.name(), "chat intake stopped");
    }
}

pub(super) struct Worker<A: ChatApp> {
    pub(super) app: Arc<A>,
    pub(super) settings: IntakeSettings,
    pub(super) engine: EngineHandle,
    pub(super) directory: Arc<Directory>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) replies: Replies,
    /// Sessions so far; each after the first may have missed messages.
    pub(super) sessions: u32,
    /// Every channel the bot reads, with where to read it back from.
    pub(super) cursors: HashMap<ChannelId, Cursor>,
    /// Messages waiting for the requester to say which ticket they are about.
    pub(super) pending: HashMap<MessageId, Request>,
    pub(super) pending_order: VecDeque<MessageId>,
    /// Interactions seen lately, to drop the app's replays at once.
    pub(super) interactions: HashSet<String>,
    pub(super) interaction_order: VecDeque<String>,
}

/// Who a message is for.
pub(super) enum Route {
    /// A requester: a DM, or a mention of the bot in the help channel.
    Requester {
        dm: bool,
    },
    /// The technicians of a ticket, in its thread.
    Staff(TicketId),
    Ignore,
}

/// Requester messages from different people, to be committed together, and
/// the messages since the group began that needed no engine: their cursors
/// move with the group's, in order.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) group: Vec<Submission>,
    pub(super) done: Vec<Done>,
}

impl<A: ChatApp> Worker<A> {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Event>,
        mut stop: oneshot::Receiver<()>,
    ) {
        loop {
            let first = tokio::select! {
                event = rx.recv() => match event {
                    Some(event) => event,
                    None => break,
                },
                _ = &mut stop => {
                    let mut rest = Vec::new();
                    while let Ok(event) = rx.try_recv() {
                        rest.push(event);
                    }
                    self.handle_all(rest).await;
                    break;
                }
            };
            // Adapters may hand events over from a task each, so two close
            // together may arrive swapped: handle what is waiting in order.
            let mut batch = vec![first];
            while let Ok(event) = rx.try_recv() {
                batch.push(event);
            }
            batch.sort_by_key(Event::position);
            self.handle_all(batch).await;
        }
    }

    /// The key the engine dedups a message or interaction on.
    pub(super) fn key(&self, id: &str) -> String {
        format!("{}-{id}", self.app.name())
    }

    /// Handles events in order, except that consecutive requester messages
    /// from different people go to the engine together (one flush for the
    /// group, not one per message). A second message from someone in the
    /// group, or any other event, waits until the group is committed: it may
    /// depend on what the group changed.
    async fn handle_all(&mut self, events: Vec<Event>) {
        let mut pending = Pending::default();
        for event in events {
            match event {
                Event::Message(message) => self.message(*message, &mut pending).await,
                Event::Session => {
                    self.submit_group(&mut pending).await;
                    self.session().await;
                }
                Event::Interaction(interaction) => {
                    self.submit_group(&mut pending).await;
                    self.interaction(*interaction).await;
                }
            }
        }
        self.submit_group(&mut pending).await;
    }

    async fn session(&mut self) {
        self.sessions += 1;
        info!(
            app = self.app.name(),
            session = self.sessions,
            "chat session ready"
        );
        self.restore_cursors().await;
        self.app.session_started(self.sessions == 1).await;
        self.catch_up().await;
    }

    /// One message, in order after those before it: a requester's joins the
    /// pending group (which goes first if it has their message already or is
    /// full); a technician's waits for the group, then is handled on its own.
    pub(super) async fn message(&mut self, message: ChatMessage, pending: &mut Pending) {
        let done = Done::ok(message.channel.clone(), message.position);
        match self.route(&message) {
            Route::Requester { dm } => {
                if pending.group.len() >= MAX_GROUP
                    || pending
                        .group
                        .iter()
                        .any(|s| s.origin.author == message.author.id)
                {
                    self.submit_group(pending).await;
                }
                match self.submission(message, dm).await {
                    Some(submission) => pending.group.push(submission),
                    None => pending.done.push(done),
                }
            }
            Route::Staff(ticket) => {
                self.submit_group(pending).await;
                let ok = self.staff_message(message, ticket).await;
                self.handled(vec![Done { ok, ..done }]).await;
            }
            Route::Ignore => pending.done.push(done),
        }
    }
}
