//! The queue: entries by due time, completed, rescheduled, buried as dead
//! letters and brought back.

use chrono::{DateTime, Utc};
use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::{codec, key_array, storage_error, Store, StoreError};
use crate::queue::{DeadLetter, QueueEntry};

/// Sorts by due time, then by entry id: `due_ms (8 bytes BE) ++ id (8 bytes BE)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueKey(pub [u8; 16]);

impl QueueKey {
    pub fn of(entry: &QueueEntry) -> QueueKey {
        // Offset so that instants before 1970 would still sort correctly.
        let ms = (entry.due.timestamp_millis() as i128 - i64::MIN as i128) as u64;
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&ms.to_be_bytes());
        key[8..].copy_from_slice(&entry.id.to_be_bytes());
        QueueKey(key)
    }
}

impl Store {
    /// The earliest queue entry, due or not.
    pub fn first_entry(&self) -> Result<Option<(QueueKey, QueueEntry)>, StoreError> {
        let t = self.t()?;
        match t.queue.first()? {
            Some((k, v)) => Ok(Some((
                QueueKey(key_array(&k)),
                codec::decode("queue entry", &v)?,
            ))),
            None => Ok(None),
        }
    }

    pub fn entries(&self) -> impl Iterator<Item = Result<(QueueKey, QueueEntry), StoreError>> + '_ {
        self.records(|t| &t.queue, b"").map(|item| {
            let (k, v) = item?;
            Ok((QueueKey(key_array(&k)), codec::decode("queue entry", &v)?))
        })
    }

    /// Removes a delivered notice. Done only after the transport accepted it.
    pub fn complete(&self, key: &QueueKey) -> Result<(), StoreError> {
        let t = self.t()?;
        let _w = self.writing();
        t.queue.remove(key.0)?;
        Ok(())
    }

    /// Moves an entry to a later due time (retry with backoff), atomically.
    pub fn reschedule(&self, key: &QueueKey, entry: &QueueEntry) -> Result<(), StoreError> {
        let t = self.t()?;
        let new_key = QueueKey::of(entry);
        let bytes = codec::encode(entry);
        let _w = self.writing();
        t.queue
            .transaction(|q| {
                q.remove(&key.0)?;
                q.insert(&new_key.0, bytes.as_slice())?;
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(storage_error)
    }

    /// Moves an entry to the dead-letter list, atomically.
    pub fn bury(&self, key: &QueueKey, dead: &DeadLetter) -> Result<(), StoreError> {
        let t = self.t()?;
        let bytes = codec::encode(dead);
        let _w = self.writing();
        (&t.queue, &t.dead)
            .transaction(|(q, d)| {
                q.remove(&key.0)?;
                d.insert(&dead.entry.id.to_be_bytes(), bytes.as_slice())?;
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(storage_error)
    }

    pub fn dead_letters(&self) -> impl Iterator<Item = Result<DeadLetter, StoreError>> + '_ {
        self.records(|t| &t.dead, b"").map(|item| {
            let (_, v) = item?;
            codec::decode("dead letter", &v)
        })
    }

    /// Puts a dead letter back in the queue, due at `now`, with its attempts reset.
    pub fn resurrect(&self, entry_id: u64, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let t = self.t()?;
        let _w = self.writing();
        let Some(bytes) = t.dead.get(entry_id.to_be_bytes())? else {
            return Ok(false);
        };
        let dead: DeadLetter = codec::decode("dead letter", &bytes)?;
        let mut entry = dead.entry;
        entry.due = now;
        entry.attempts = 0;
        let key = QueueKey::of(&entry);
        let entry_bytes = codec::encode(&entry);
        (&t.queue, &t.dead)
            .transaction(|(q, d)| {
                d.remove(&entry_id.to_be_bytes())?;
                q.insert(&key.0, entry_bytes.as_slice())?;
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(storage_error)?;
        Ok(true)
    }
}
