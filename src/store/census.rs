//! Counts for health checks and metrics: what waits in the queue, since when,
//! and what sits on the dead-letter and quarantine lists.
//!
//! Invariant: read-only, and cheap enough for every scrape — it reads the
//! queue and the two small lists, never the tickets.

use chrono::{DateTime, Utc};

use super::{codec, Store, StoreError};
use crate::queue::{EntryBody, QueueEntry};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Census {
    pub queued_notices: u64,
    pub queued_timers: u64,
    /// Due time of the earliest queue entry (the queue is ordered by it).
    pub first_due: Option<DateTime<Utc>>,
    pub dead_letters: u64,
    pub quarantined: u64,
}

impl Store {
    pub fn census(&self) -> Result<Census, StoreError> {
        let t = self.t()?;
        let mut census = Census::default();
        for item in t.queue.iter() {
            let (_, bytes) = item?;
            let entry: QueueEntry = codec::decode("queue entry", &bytes)?;
            census.first_due.get_or_insert(entry.due);
            match entry.body {
                EntryBody::Notice(_) | EntryBody::Prepared(_) => census.queued_notices += 1,
                EntryBody::Wake { .. } | EntryBody::Digest { .. } | EntryBody::Retention => {
                    census.queued_timers += 1
                }
            }
        }
        census.dead_letters = t.dead.len() as u64;
        census.quarantined = t.quarantine.len() as u64;
        Ok(census)
    }
}
