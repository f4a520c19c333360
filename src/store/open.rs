//! Opening sled: the trees the store keeps, the page cache they get, the
//! lock a database dropped by this process may still hold, and the store's
//! files kept private.

use std::path::Path;

use super::{backup, integrity, StoreError};

/// Every tree of the store, from one sled database; shared by the calls that
/// read them (`Store::t`) until the database is replaced (`failure.rs`, `shed.rs`).
pub(super) struct Trees {
    pub(super) db: sled::Db,
    pub(super) tickets: sled::Tree,
    pub(super) counters: sled::Tree,
    pub(super) message_ids: sled::Tree,
    pub(super) queue: sled::Tree,
    pub(super) dead: sled::Tree,
    pub(super) blobs: sled::Tree,
    pub(super) meta: sled::Tree,
    pub(super) quarantine: sled::Tree,
    /// Compact per-ticket statistics records and the open-ticket index (`stats.rs`).
    pub(super) stats: sled::Tree,
    pub(super) stats_open: sled::Tree,
    /// Chat thread ↔ ticket, both directions (see `threads.rs`).
    pub(super) threads: sled::Tree,
    /// Chat channel → the last message handled there (see `cursors.rs`).
    pub(super) chat_cursors: sled::Tree,
    /// Who read or changed which ticket (`audit.rs`).
    pub(super) audit: sled::Tree,
    /// Added to sled's ID generator; non-zero in a restored store.
    pub(super) id_base: u64,
}

/// How long an open waits for the lock a dropped database of this process
/// may still hold: sled releases it from a background thread.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// sled's page cache when nobody chose one: its own default (1 GiB) would
/// keep everything a backup or an export read (docs/scaling.md).
pub const DEFAULT_CACHE_BYTES: u64 = 64 << 20;

fn open_db(path: &Path, cache_bytes: u64) -> sled::Result<sled::Db> {
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match sled::Config::new()
            .path(path)
            .cache_capacity(cache_bytes)
            .flush_every_ms(Some(500))
            .open()
        {
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            opened => return opened,
        }
    }
}

impl Trees {
    pub(super) fn open(path: &Path, cache_bytes: u64) -> Result<Trees, StoreError> {
        let db = open_db(path, cache_bytes).map_err(|source| match source {
            sled::Error::Corruption { .. } => integrity::unreadable(path, &source).into(),
            source => StoreError::Open {
                path: path.to_path_buf(),
                source,
            },
        })?;
        let meta = db.open_tree("meta")?;
        Ok(Trees {
            tickets: db.open_tree("tickets")?,
            counters: db.open_tree("counters")?,
            message_ids: db.open_tree("message_ids")?,
            queue: db.open_tree("queue")?,
            dead: db.open_tree("dead_letters")?,
            blobs: db.open_tree("blobs")?,
            id_base: backup::id_base(&meta)?,
            meta,
            quarantine: db.open_tree("quarantine")?,
            threads: db.open_tree("threads")?,
            chat_cursors: db.open_tree("chat_cursors")?,
            audit: db.open_tree("audit")?,
            stats: db.open_tree("stats")?,
            stats_open: db.open_tree("stats_open")?,
            db,
        })
    }
}

/// The store holds personal data: its directory 0700, its files 0600, also
/// for a store made before this rule or under a lax umask.
pub(super) fn private(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |e: std::io::Error| StoreError::Io(sled::Error::Io(e));
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
        for entry in std::fs::read_dir(&d).map_err(io)? {
            let entry = entry.map_err(io)?;
            let kind = entry.file_type().map_err(io)?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
        }
    }
    Ok(())
}
