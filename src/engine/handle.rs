//! The way in: the commands the engine task takes, and the cheap handle
//! every other task sends them through and awaits the answer on.

use tokio::sync::{mpsc, oneshot};

use super::{
    port, EngineError, EraseTarget, ErasureReport, IntakeOutcome, OriginalTicket, Outcome,
    ThreadLink,
};
use crate::core::change::Change;
use crate::core::id::TicketId;
use crate::core::lifecycle::Action;
use crate::core::ticket::Ticket;
use crate::intake::Request;
use crate::queue::QueueEntry;
use crate::store::{ApprovedFaq, QueueKey};

pub(super) type Reply<T> = oneshot::Sender<Result<T, EngineError>>;

/// A core action as it is, or a staff change mapped to one by the engine.
pub(super) enum Act {
    Core(Action),
    Staff { by: String, change: Change },
}

pub(super) enum Command {
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
    pub(super) tx: mpsc::Sender<Command>,
    pub(super) reader: port::Reader,
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

    pub(super) async fn call<T>(
        &self,
        make: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, EngineError> {
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
