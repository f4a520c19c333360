//! A store that stopped after a failed write, and its reopening.
//!
//! After a write fails (a full disk, an I/O error) sled refuses every later
//! write and may still show, from memory, changes that never reached the
//! disk; so from then on the store answers every call with
//! `StoreError::Failed` until `reopen` has read it back from disk.

use std::sync::{Arc, Mutex};

use super::{Store, StoreError, Trees};

/// A write sled could not do leaves it refusing every later one, wherever in
/// the store it happened; this process's store then stops answering (see
/// `Store`) until it is reopened. A file sled cannot find is damage, not
/// this (the check at start finds it).
static WRITE_FAILURE: Mutex<Option<String>> = Mutex::new(None);

impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> StoreError {
        if let sled::Error::Io(e) = &error {
            if e.kind() != std::io::ErrorKind::NotFound {
                WRITE_FAILURE
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert_with(|| error.to_string());
            }
        }
        StoreError::Io(error)
    }
}

impl Store {
    /// Why the store stopped answering, if it did.
    pub fn failure(&self) -> Option<String> {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        if failure.is_none() {
            if let Some(reason) = WRITE_FAILURE
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .take()
            {
                *failure = Some(reason);
                self.failed.notify_one();
            }
        }
        failure.clone()
    }

    /// Stops the store answering after a failed write (see `Store`).
    pub(super) fn fail(&self, error: sled::Error) -> StoreError {
        self.stop_answering(error.to_string());
        StoreError::Io(error)
    }

    pub(super) fn stop_answering(&self, reason: String) {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        if failure.is_none() {
            *failure = Some(reason);
            self.failed.notify_one();
        }
    }

    /// Returns once the store has stopped answering (at once if it has
    /// since the last call).
    pub async fn stopped(&self) {
        self.failed.notified().await
    }

    /// After a failure: drops the database and opens it again from disk.
    /// `Ok(false)` when the store had not failed. Fails (and is tried again
    /// later) while writes still fail or a reader still holds the old one.
    pub fn reopen(&self) -> Result<bool, StoreError> {
        if self.failure().is_none() {
            return Ok(false);
        }
        // One attempt at a time: on a disk still full, sled may take long.
        let Ok(_one) = self.reopening.try_lock() else {
            return Ok(false);
        };
        // The failed database goes first (sled locks its files), and no lock
        // of ours is held while sled opens: every call meanwhile gets `Failed`.
        self.open.write().unwrap_or_else(|e| e.into_inner()).take();
        let trees = Trees::open(&self.path, self.cache_bytes)?;
        // A write proves the disk takes writes again.
        trees.meta.insert("store:reopened", &[1u8][..])?;
        trees.db.flush()?;
        self.mark.reload(&trees)?;
        *self.open.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(trees));
        *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(true)
    }
}
