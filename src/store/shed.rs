//! Letting go of the pages sled keeps in memory.
//!
//! sled's cache evicts only after about 16,000 page reads (256 shards, each
//! acting on 64 queued accesses), whatever its `cache_capacity`: a full read
//! of a smaller store — 100,000 tickets are ≈ 120 MiB of pages — stays
//! resident until the database is closed (docs/benchmarks.md, "The CLI over
//! 100,000 tickets"). So after a read of everything (the full check at
//! start, a backup) and along a long one (an export, a filtered listing)
//! the store closes sled and opens it again, when nobody else holds it.
//! Memory then stays within the pages of a few thousand tickets; what the
//! reopening costs an export: docs/benchmarks.md.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::{Store, StoreError, Trees};

/// Tickets a long read goes through before sled is reopened, at the least …
const SCANNED_BEFORE_SHEDDING: usize = 5_000;
/// … and one more per this many bytes of the store on disk: reopening costs
/// in proportion to the store's size, so in a larger store it happens after
/// more reading (5,000 tickets up to ≈ 300 MB, 100,000 tickets; 50,000 at
/// 3 GB), and always costs about the same share of a long read.
const DISK_BYTES_PER_TICKET: u64 = 60_000;

/// What long reads have gone through since sled was last (re)opened.
#[derive(Default)]
pub(super) struct Shedding {
    scanned: AtomicUsize,
    /// Tickets read before the next reopen, from the store's size.
    window: AtomicUsize,
}

impl Shedding {
    pub(super) fn read(&self, records: usize) {
        self.scanned.fetch_add(records, Ordering::Relaxed);
    }

    /// Called at every (re)open with sled's files' total size.
    pub(super) fn opened(&self, bytes_on_disk: u64) {
        let by_size = usize::try_from(bytes_on_disk / DISK_BYTES_PER_TICKET).unwrap_or(usize::MAX);
        self.window
            .store(by_size.max(SCANNED_BEFORE_SHEDDING), Ordering::Relaxed);
        self.scanned.store(0, Ordering::Relaxed);
    }

    fn due(&self) -> bool {
        self.scanned.load(Ordering::Relaxed) >= self.window.load(Ordering::Relaxed)
    }
}

/// A scan together with the trees it reads, kept open as long as it is:
/// `shed_cache` reopens sled only when nobody holds them.
pub(super) struct Held<I> {
    scan: I,
    _trees: Arc<Trees>,
}

impl<I> Held<I> {
    pub(super) fn new(scan: I, trees: Arc<Trees>) -> Held<I> {
        Held {
            scan,
            _trees: trees,
        }
    }
}

impl<I: Iterator> Iterator for Held<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        self.scan.next()
    }
}

impl Store {
    /// Closes sled and opens it again, dropping every cached page.
    /// `Ok(false)` when someone still holds the open trees (a read in
    /// progress): nothing is dropped then. Commits wait meanwhile.
    pub fn shed_cache(&self) -> Result<bool, StoreError> {
        let _no_commits = self.gate.write().unwrap_or_else(|e| e.into_inner());
        let mut open = self.open.write().unwrap_or_else(|e| e.into_inner());
        // Nobody can take a new reference while `open` is held: one holder
        // now means that, once dropped, sled lets go of its files.
        let Some(trees) = open.take_if(|t| Arc::strong_count(t) == 1) else {
            return Ok(false);
        };
        if let Err(e) = trees.db.flush() {
            *open = Some(trees);
            return Err(e.into());
        }
        drop(trees);
        let reopened = Trees::open(&self.path, self.cache_bytes).and_then(|trees| {
            self.mark.reload(&trees)?;
            let bytes_on_disk = trees.db.size_on_disk()?;
            Ok((trees, bytes_on_disk))
        });
        match reopened {
            Ok((trees, bytes_on_disk)) => {
                self.shedding.opened(bytes_on_disk);
                *open = Some(Arc::new(trees));
                Ok(true)
            }
            Err(e) => {
                // The failure path reopens it later (`failure.rs`).
                self.stop_answering(format!("reopening the store to free memory failed: {e}"));
                Err(e)
            }
        }
    }

    /// Whether long reads have gone through enough tickets since the last
    /// reopen to call `shed_cache` (`DISK_BYTES_PER_TICKET`).
    pub fn shed_due(&self) -> bool {
        self.shedding.due()
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::{commit_new, new_ticket};
    use crate::store::{Store, TicketRange};

    #[test]
    fn shedding_keeps_every_ticket_and_waits_for_readers() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2023, 10, 9).unwrap();
        let ids: Vec<_> = (0..3)
            .map(|_| commit_new(&store, day, new_ticket()))
            .collect();
        let mut reading = store.tickets_in(&TicketRange::default());
        reading.next().unwrap().unwrap();
        assert!(!store.shed_cache().unwrap(), "a scan holds the trees");
        drop(reading);
        assert!(store.shed_cache().unwrap());
        let after: Vec<_> = store
            .tickets_in(&TicketRange::default())
            .map(|t| t.unwrap().id)
            .collect();
        assert_eq!(after, ids);
        assert_eq!(store.ticket_count().unwrap(), 3);
        // A ticket committed after shedding gets the next ID.
        let next = commit_new(&store, day, new_ticket());
        assert!(next.serial() > ids[2].serial(), "{next} after {}", ids[2]);
    }

    #[test]
    fn a_long_read_makes_shedding_due_and_a_short_one_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2023, 10, 9).unwrap();
        commit_new(&store, day, new_ticket());
        store.shedding.read(super::SCANNED_BEFORE_SHEDDING - 1);
        assert!(!store.shed_due(), "a short read");
        assert_eq!(store.ticket_count().unwrap(), 1, "counting reads too");
        assert!(store.shed_due(), "a long read");
        assert!(store.shed_cache().unwrap());
        assert!(!store.shed_due(), "counted afresh");
        assert_eq!(store.tickets().count(), 1);
    }
}
