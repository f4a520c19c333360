//! The channels' way to the store: what an adapter reads (tickets, whether a
//! request was taken in before, the chat thread index, where each chat channel was read to, a chat user's tickets)
//! and the bookkeeping it writes (chat cursors, the mailbox's UIDVALIDITY, a
//! quarantined message). Reads go straight to the store: they never conflict
//! with a transaction. Writes are commands to the engine task, so the engine
//! stays the one writer and no adapter imports the store.

use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use tracing::warn;

use super::requesters::RequesterIndex;
use super::{Command, EngineError, EngineHandle};
use crate::core::id::TicketId;
use crate::core::ticket::Ticket;
use crate::intake::Request;
use crate::queue::Quarantined;
use crate::store::{Store, StoreError};

pub use crate::store::{AuditEntry, ChatCursor, ChatPlace, ThreadLink};

/// A write an adapter asks the engine for.
#[derive(Debug)]
pub(super) enum Bookkeeping {
    /// Moves a chat channel's cursor forward; `flush` for a channel's first
    /// cursor, without which a restart would not read the channel back.
    AdvanceCursor {
        channel: String,
        cursor: ChatCursor,
        flush: bool,
    },
    /// A first cursor for a DM channel the transport opened; one already there stays.
    StartCursor {
        channel: String,
        cursor: ChatCursor,
    },
    /// A closed ticket's thread: not read back again.
    DropCursor {
        channel: String,
    },
    SetMeta {
        key: String,
        value: Vec<u8>,
    },
}

/// The chat requester index, shared by the handles that read it and the
/// engine, which empties it after an erasure (it is rebuilt on the next question).
pub(super) type Requesters = Arc<Mutex<RequesterIndex>>;

/// The reading side the handle carries: the store and the chat requester index.
#[derive(Clone)]
pub(super) struct Reader {
    pub(super) store: Store,
    requesters: Requesters,
}

impl Reader {
    pub(super) fn new(store: Store, requesters: Requesters) -> Reader {
        Reader { store, requesters }
    }
}

impl EngineHandle {
    pub fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>, EngineError> {
        Ok(self.reader.store.ticket(id)?)
    }

    pub fn ticket_for_thread(&self, thread: &str) -> Result<Option<TicketId>, EngineError> {
        Ok(self.reader.store.ticket_for_thread(thread)?)
    }

    pub fn thread_of(&self, ticket: &TicketId) -> Result<Option<ThreadLink>, EngineError> {
        Ok(self.reader.store.thread_of(ticket)?)
    }

    /// Every (thread, ticket) pair of the thread index.
    pub fn threads(&self) -> impl Iterator<Item = Result<(String, TicketId), StoreError>> + '_ {
        self.reader.store.threads()
    }

    /// Every chat channel's cursor, by channel id.
    pub fn chat_cursors(
        &self,
    ) -> impl Iterator<Item = Result<(String, ChatCursor), StoreError>> + '_ {
        self.reader.store.chat_cursors()
    }

    /// The ticket a request was already taken into, as intake's
    /// de-duplication finds it (Message-ID, and content where the ID was reused).
    pub fn seen_request(&self, request: &Request) -> Result<Option<TicketId>, EngineError> {
        Ok(match super::intake::seen(&self.reader.store, request)? {
            super::intake::Seen::Before(id) => Some(id),
            super::intake::Seen::New(_) => None,
        })
    }

    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, EngineError> {
        Ok(self.reader.store.meta(key)?)
    }

    /// The chat user's tickets, as stored now (an index kept up to date
    /// instead of a scan per message; `engine/requesters.rs`).
    pub fn chat_requester_tickets(
        &self,
        today: NaiveDate,
        user: &str,
    ) -> Result<Vec<Ticket>, EngineError> {
        let mut index = self
            .reader
            .requesters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Ok(index.tickets_of(&self.reader.store, today, user)?)
    }

    pub async fn advance_chat_cursor(
        &self,
        channel: String,
        cursor: ChatCursor,
        flush: bool,
    ) -> Result<(), EngineError> {
        self.keep(Bookkeeping::AdvanceCursor {
            channel,
            cursor,
            flush,
        })
        .await
    }

    pub async fn start_chat_cursor(
        &self,
        channel: String,
        cursor: ChatCursor,
    ) -> Result<(), EngineError> {
        self.keep(Bookkeeping::StartCursor { channel, cursor })
            .await
    }

    pub async fn drop_chat_cursor(&self, channel: String) -> Result<(), EngineError> {
        self.keep(Bookkeeping::DropCursor { channel }).await
    }

    pub async fn set_meta(&self, key: String, value: Vec<u8>) -> Result<(), EngineError> {
        self.keep(Bookkeeping::SetMeta { key, value }).await
    }

    /// Keeps a message nobody can be answered for, durably; its quarantine id.
    pub async fn quarantine(
        &self,
        origin: String,
        reason: String,
        raw: Vec<u8>,
    ) -> Result<u64, EngineError> {
        self.call(|r| Command::Quarantine {
            origin,
            reason,
            raw,
            reply: r,
        })
        .await
    }

    async fn keep(&self, what: Bookkeeping) -> Result<(), EngineError> {
        self.call(|r| Command::Keep(what, r)).await
    }
}

impl super::Engine {
    pub(super) fn forget_requesters(&self) {
        *self.requesters.lock().unwrap_or_else(|e| e.into_inner()) = RequesterIndex::default();
    }

    /// A bookkeeping write; the flush it asks for is awaited before the answer.
    pub(super) async fn keep(&self, what: Bookkeeping) -> Result<(), EngineError> {
        let store = &self.store;
        match what {
            Bookkeeping::AdvanceCursor {
                channel,
                cursor,
                flush,
            } => {
                store.advance_chat_cursor(&channel, cursor)?;
                if flush {
                    store.flush().await?;
                }
            }
            Bookkeeping::StartCursor { channel, cursor } => {
                store.start_chat_cursor(&channel, cursor)?
            }
            Bookkeeping::DropCursor { channel } => store.remove_chat_cursor(&channel)?,
            Bookkeeping::SetMeta { key, value } => store.set_meta(&key, &value)?,
        }
        Ok(())
    }

    pub(super) async fn quarantine(
        &self,
        origin: String,
        reason: String,
        raw: Vec<u8>,
    ) -> Result<u64, EngineError> {
        let id = self.store.generate_id()?;
        warn!(%origin, quarantine = id, %reason, "message quarantined (see `itdesk quarantine list`)");
        self.store.quarantine(&Quarantined {
            id,
            at: self.clock.now(),
            origin,
            reason,
            masked: crate::intake::redact::mask(&String::from_utf8_lossy(&raw)),
            raw,
            sealed: false,
        })?;
        self.store.flush().await?;
        Ok(id)
    }
}
