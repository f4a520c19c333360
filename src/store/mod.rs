//! The durable state, on sled: tickets, daily ID counters, the Message-ID index,
//! the outbox queue (notices and timers by due time), dead letters and attachments.
//!
//! Invariant: this is the only module that imports sled. A ticket change, the ID
//! counter it used, its index entries and the queue entries it causes are written
//! in ONE sled transaction, so a crash leaves all of them or none.
//!
//! Durability: sled makes a transaction durable only when the log is flushed.
//! The engine calls `flush` after every commit (or batch of commits) and before
//! it answers the caller, so a caller (IMAP intake marking a message processed,
//! the CLI printing an ID) never acts on a change that a crash could still take
//! back; the outbox flushes before it sends. sled also flushes on its own every
//! 500 ms.
//!
//! Every write holds `self.writing()` for its duration, so that a backup (see
//! `backup.rs`) sees every tree as of one moment. A new write method must too.

mod audit;
mod backup;
mod census;
mod clean_stop;
mod codec;
mod cursors;
mod erase;
mod failure;
mod faq;
mod integrity;
mod open;
mod quarantine;
mod queue;
mod repair;
mod scan;
mod seal;
mod shed;
mod stats;
mod swap;
mod threads;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, NaiveDate, Utc};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::core::id::TicketId;
use crate::core::ticket::Ticket;
use crate::queue::QueueEntry;

pub use crate::stats::faq_known::Approved as ApprovedFaq;
pub use audit::{AuditEntry, AuditQuery};
pub use backup::{BackupError, BackupSummary};
pub use census::Census;
pub use clean_stop::record_clean_stop;
pub use cursors::{ChatCursor, ChatPlace};
pub use erase::{rewrite, Erased, Erasure};
pub use integrity::{Damaged, Mark, SledReports, MARK_FILE};
pub use open::DEFAULT_CACHE_BYTES;
use open::{private, Trees};
pub use queue::QueueKey;
pub use repair::{Replaced, Salvage};
pub use scan::TicketRange;
pub use seal::KEY_FILE as QUARANTINE_KEY_FILE;
use shed::Held;
pub use stats::ScanCount;
pub use threads::ThreadLink;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {source} — is another itdesk process using it? (sled allows one process; use the CLI, which talks to the running daemon)")]
    Open { path: PathBuf, source: sled::Error },
    #[error("store I/O failed: {0} — check disk space and permissions of [store].path")]
    Io(sled::Error),
    #[error("stored record {key} is unreadable: {reason} — the store may be from a newer itdesk version")]
    Corrupt { key: String, reason: String },
    #[error("ID counter for {date} moved while committing (expected {expected}); retry")]
    CounterMoved { date: NaiveDate, expected: u64 },
    #[error("ticket {0} already exists")]
    Exists(TicketId),
    #[error("the store stopped after a write failed ({0}); it reopens by itself once writes work again — check free space and permissions of [store].path")]
    Failed(String),
    #[error("cannot write the ID mark {path}: {source} — check free space and permissions of [store].path")]
    Mark {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Damaged(#[from] integrity::Damaged),
    #[error("quarantined mail cannot be sealed or opened with {path}: {reason}")]
    Seal { path: PathBuf, reason: String },
}

impl StoreError {
    /// Whether trying again later may succeed (the disk, not the data).
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            StoreError::Io(_) | StoreError::Failed(_) | StoreError::Mark { .. }
        )
    }
}

/// One decision of the engine, written atomically.
#[derive(Debug, Default)]
pub struct Commit<'a> {
    pub ticket: Option<&'a Ticket>,
    /// Set when `ticket` is new: its daily serial, checked against the counter.
    pub new_serial: Option<(NaiveDate, u64)>,
    /// Set when `ticket` is re-created under the ID it had before a restore
    /// lost it (`itdesk recover`): it must not exist, and the day's counter is
    /// raised to its serial if behind, so that the ID is never handed out again.
    pub recovered_serial: Option<(NaiveDate, u64)>,
    /// Message-IDs (inbound and our own outgoing) that now point at the ticket.
    pub message_ids: Vec<String>,
    pub enqueue: Vec<QueueEntry>,
    /// A timer entry this decision consumed.
    pub consumed: Option<QueueKey>,
}

/// The open store. Clones share one sled database.
///
/// After a write fails (a full disk, an I/O error) sled refuses every later
/// write and may still show, from memory, changes that never reached the
/// disk; so from then on the store answers every call with
/// `StoreError::Failed` until `reopen` has read it back from disk.
#[derive(Clone)]
pub struct Store {
    path: PathBuf,
    /// The open database; `None` between dropping a failed one and reopening.
    open: Arc<RwLock<Option<Arc<Trees>>>>,
    /// Why the store stopped answering, until it is reopened.
    failure: Arc<Mutex<Option<String>>>,
    /// Told when the store stops answering.
    failed: Arc<tokio::sync::Notify>,
    /// Held while a `reopen` runs.
    reopening: Arc<Mutex<()>>,
    /// Shared by writers, held alone by a backup.
    gate: Arc<RwLock<()>>,
    /// One `flush` at a time (see there); holds how many flush requests
    /// the last finished flush covered.
    flushing: Arc<tokio::sync::Mutex<u64>>,
    /// Flush requests so far; a request's number is taken after its commit.
    flush_requests: Arc<AtomicU64>,
    /// sled's page cache, kept for a reopen (`failure.rs`, `shed.rs`).
    cache_bytes: u64,
    /// What long reads have cost since sled was last reopened (`shed.rs`).
    shedding: Arc<shed::Shedding>,
    /// The ID mark beside the data (`integrity.rs`).
    mark: Arc<integrity::MarkKeeper>,
    /// Seals quarantined mail (`seal.rs`).
    sealer: Arc<seal::Sealer>,
}

impl Store {
    /// Opens the store without checking it, with the default cache; the
    /// daemon and the CLI use `open_checked` (`integrity.rs`).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// `open` with `cache_bytes` of sled's page cache.
    pub fn open_with_cache(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let trees = Trees::open(path, cache_bytes)?;
        let mark = integrity::MarkKeeper::load(path, &trees)?;
        let store = Store {
            path: path.to_path_buf(),
            cache_bytes,
            shedding: Arc::default(),
            open: Arc::new(RwLock::new(Some(Arc::new(trees)))),
            failure: Arc::default(),
            failed: Arc::default(),
            reopening: Arc::default(),
            gate: Arc::default(),
            flushing: Arc::default(),
            flush_requests: Arc::default(),
            mark: Arc::new(mark),
            sealer: Arc::new(seal::Sealer::new(path)),
        };
        store.shedding.opened(store.t()?.db.size_on_disk()?);
        store.mark_stats_ready_if_empty()?;
        private(path)?;
        Ok(store)
    }

    /// The store directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open trees, or why there are none.
    fn t(&self) -> Result<Arc<Trees>, StoreError> {
        if let Some(reason) = self.failure() {
            return Err(StoreError::Failed(reason));
        }
        let open = self.open.read().unwrap_or_else(|e| e.into_inner());
        open.clone()
            .ok_or_else(|| StoreError::Failed("the store is being reopened".into()))
    }

    /// Every record of one tree whose key starts with `prefix`, in key order.
    fn records(
        &self,
        tree: fn(&Trees) -> &sled::Tree,
        prefix: &[u8],
    ) -> impl Iterator<Item = Result<(sled::IVec, sled::IVec), StoreError>> {
        let (records, failed) = match self.t() {
            Ok(t) => (Some(Held::new(tree(&t).scan_prefix(prefix), t)), None),
            Err(e) => (None, Some(Err(e))),
        };
        failed.into_iter().chain(
            records
                .into_iter()
                .flatten()
                .map(|r| r.map_err(StoreError::from)),
        )
    }

    /// Makes everything committed so far survive a crash or power loss.
    /// One at a time: sled runs each flush on its small thread pool, where the
    /// log writes the flush waits for run too, and it adds threads only when
    /// its queue is deep — nine concurrent flushes starved it for good. Those
    /// who asked while a flush ran share the next one (group commit): a flush
    /// covers every request numbered before it started.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let t = self.t()?;
        let request = self.flush_requests.fetch_add(1, Ordering::SeqCst) + 1;
        let mut covered = self.flushing.lock().await;
        if *covered >= request {
            return Ok(());
        }
        let starting = self.flush_requests.load(Ordering::SeqCst);
        let mark = self.mark.current();
        t.db.flush_async().await.map_err(|e| self.fail(e))?;
        if let Err(e) = self.mark.write(mark) {
            self.stop_answering(e.to_string());
            return Err(e);
        }
        *covered = starting;
        Ok(())
    }

    /// A fresh, never reused number (sled persists its ID generator).
    pub fn generate_id(&self) -> Result<u64, StoreError> {
        let t = self.t()?;
        Ok(t.db.generate_id()? + t.id_base)
    }

    pub fn ticket(&self, id: &TicketId) -> Result<Option<Ticket>, StoreError> {
        let t = self.t()?;
        match t.tickets.get(ticket_key(id))? {
            Some(bytes) => Ok(Some(codec::decode(id.as_str(), &bytes)?)),
            None => Ok(None),
        }
    }

    /// All tickets in ID order (date, then serial).
    pub fn tickets(&self) -> impl Iterator<Item = Result<Ticket, StoreError>> + '_ {
        self.records(|t| &t.tickets, b"").map(|item| {
            let (_, bytes) = item?;
            codec::decode("ticket", &bytes)
        })
    }

    /// Counted from the compact statistics records (one per ticket) when
    /// they are complete: counting the tickets themselves reads them all.
    pub fn ticket_count(&self) -> Result<usize, StoreError> {
        let t = self.t()?;
        let count = match self.stats_ready()? {
            true => t.stats.len(),
            false => t.tickets.len(),
        };
        // Counting read every record: a long read, as `shed.rs` sees it.
        self.shedding.read(count);
        Ok(count)
    }

    pub fn ticket_for_message(&self, message_id: &str) -> Result<Option<TicketId>, StoreError> {
        Ok(self
            .t()?
            .message_ids
            .get(message_id)?
            .and_then(|v| TicketId::parse(&String::from_utf8_lossy(&v))))
    }

    /// Whether any Message-ID index key starts with `prefix`.
    pub fn has_message_id_prefix(&self, prefix: &str) -> Result<bool, StoreError> {
        Ok(self
            .t()?
            .message_ids
            .scan_prefix(prefix)
            .next()
            .transpose()?
            .is_some())
    }

    /// The next daily serial for `date`; the commit that uses it checks it again.
    pub fn next_serial(&self, date: NaiveDate) -> Result<u64, StoreError> {
        Ok(self
            .t()?
            .counters
            .get(counter_key(date))?
            .map(|v| be_u64(&v))
            .unwrap_or(0)
            + 1)
    }

    pub fn commit(&self, c: Commit<'_>) -> Result<(), StoreError> {
        let t = self.t()?;
        let ticket_bytes = c.ticket.map(|t| (ticket_key(&t.id), codec::encode(t)));
        let entries: Vec<(QueueKey, Vec<u8>)> = c
            .enqueue
            .iter()
            .map(|e| (QueueKey::of(e), codec::encode(e)))
            .collect();
        let target = c.ticket.map(|t| t.id.as_str().to_string());
        let _w = self.writing();
        let stats_write = c.ticket.map(stats::StatsWrite::of);
        let trees = (
            &t.tickets,
            &t.counters,
            &t.message_ids,
            &t.queue,
            &t.stats,
            &t.stats_open,
            &t.meta,
        );
        let result = trees.transaction(
            |(tickets, counters, message_ids, queue, stats, stats_open, meta)| {
                if let Some((date, serial)) = c.new_serial {
                    let key = counter_key(date);
                    let current = counters.get(key)?.map(|v| be_u64(&v)).unwrap_or(0);
                    if current + 1 != serial {
                        return Err(ConflictableTransactionError::Abort(
                            StoreError::CounterMoved {
                                date,
                                expected: serial,
                            },
                        ));
                    }
                    counters.insert(&key, &serial.to_be_bytes())?;
                    if let (Some((key, _)), Some(t)) = (&ticket_bytes, c.ticket) {
                        if tickets.get(key)?.is_some() {
                            return Err(ConflictableTransactionError::Abort(StoreError::Exists(
                                t.id.clone(),
                            )));
                        }
                    }
                }
                if let (Some((date, serial)), Some((key, _)), Some(t)) =
                    (c.recovered_serial, &ticket_bytes, c.ticket)
                {
                    if tickets.get(key)?.is_some() {
                        return Err(ConflictableTransactionError::Abort(StoreError::Exists(
                            t.id.clone(),
                        )));
                    }
                    let counter = counter_key(date);
                    let current = counters.get(counter)?.map(|v| be_u64(&v)).unwrap_or(0);
                    if serial > current {
                        counters.insert(&counter, &serial.to_be_bytes())?;
                    }
                }
                if let Some((id, bytes)) = &ticket_bytes {
                    tickets.insert(id, bytes.as_slice())?;
                }
                if let Some(w) = &stats_write {
                    w.apply(stats, stats_open)?;
                }
                if let Some(target) = &target {
                    for mid in &c.message_ids {
                        message_ids.insert(mid.as_bytes(), target.as_bytes())?;
                    }
                }
                for (key, bytes) in &entries {
                    queue.insert(&key.0, bytes.as_slice())?;
                }
                if let Some(key) = &c.consumed {
                    queue.remove(&key.0)?;
                }
                Ok(integrity::count_commit(meta)?)
            },
        );
        let commits = result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => self.fail(e),
        })?;
        // A recovered ID was handed out before the restore: the mark holds it too.
        let issued = c
            .new_serial
            .or(c.recovered_serial)
            .and(c.ticket)
            .map(|t| &t.id);
        self.mark.committed(commits, issued);
        Ok(())
    }

    /// Stores an attachment once by content hash; safe to repeat.
    pub fn put_blob(&self, sha256: &str, data: &[u8]) -> Result<(), StoreError> {
        let t = self.t()?;
        let _w = self.writing();
        if !t.blobs.contains_key(sha256)? {
            t.blobs.insert(sha256, data)?;
        }
        Ok(())
    }

    pub fn blob(&self, sha256: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.t()?;
        Ok(t.blobs.get(sha256)?.map(|v| v.to_vec()))
    }

    /// Puts a whole ticket back (import, restore). Refuses to overwrite.
    pub fn import(&self, ticket: &Ticket) -> Result<(), StoreError> {
        let t = self.t()?;
        let (date, serial) = (ticket.id.date(), ticket.id.serial());
        let key = counter_key(date);
        let id_key = ticket_key(&ticket.id);
        let _w = self.writing();
        let stats_write = stats::StatsWrite::of(ticket);
        let trees = (&t.tickets, &t.counters, &t.stats, &t.stats_open, &t.meta);
        let result = trees.transaction(|(tickets, counters, stats, stats_open, meta)| {
            if tickets.get(id_key)?.is_some() {
                return Err(ConflictableTransactionError::Abort(StoreError::Exists(
                    ticket.id.clone(),
                )));
            }
            tickets.insert(&id_key, codec::encode(ticket))?;
            stats_write.apply(stats, stats_open)?;
            // Keep the counter ahead of every imported serial, so IDs are never reused.
            let current = counters.get(key)?.map(|v| be_u64(&v)).unwrap_or(0);
            if serial > current {
                counters.insert(&key, &serial.to_be_bytes())?;
            }
            Ok(integrity::count_commit(meta)?)
        });
        let commits = result.map_err(|e| match e {
            TransactionError::Abort(e) => e,
            TransactionError::Storage(e) => self.fail(e),
        })?;
        self.mark.committed(commits, Some(&ticket.id));
        Ok(())
    }
}

impl Store {
    /// Small bookkeeping values (e.g. an IMAP mailbox's UIDVALIDITY).
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let t = self.t()?;
        Ok(t.meta.get(key)?.map(|v| v.to_vec()))
    }

    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let t = self.t()?;
        let _w = self.writing();
        t.meta.insert(key, value)?;
        Ok(())
    }

    /// No notices to `address` until `until` (it bounced).
    pub fn suppress(&self, address: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        self.set_meta(
            &format!("suppress:{}", address.to_lowercase()),
            until.to_rfc3339().as_bytes(),
        )
    }

    pub fn suppressed_until(&self, address: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self
            .meta(&format!("suppress:{}", address.to_lowercase()))?
            .and_then(|v| DateTime::parse_from_rfc3339(&String::from_utf8_lossy(&v)).ok())
            .map(|t| t.with_timezone(&Utc)))
    }
}

fn storage_error(e: TransactionError<()>) -> StoreError {
    match e {
        TransactionError::Abort(()) => unreachable!("these transactions never abort"),
        TransactionError::Storage(e) => StoreError::Io(e),
    }
}

/// Date then serial, big-endian: tickets iterate in ID order past serial 999.
fn ticket_key(id: &TicketId) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&counter_key(id.date()));
    key[8..].copy_from_slice(&id.serial().to_be_bytes());
    key
}

fn counter_key(date: NaiveDate) -> [u8; 8] {
    let text = date.format("%Y%m%d").to_string();
    let mut key = [0u8; 8];
    key.copy_from_slice(text.as_bytes());
    key
}

fn be_u64(v: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = v.len().min(8);
    b[8 - n..].copy_from_slice(&v[v.len() - n..]);
    u64::from_be_bytes(b)
}

fn key_array(k: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    let n = k.len().min(16);
    a[..n].copy_from_slice(&k[..n]);
    a
}

#[cfg(test)]
pub(crate) mod tests;
