//! Erasing personal data: tickets anonymised in place (their statistics record
//! rewritten with them, so reports still add up), and every index entry, queue
//! entry, dead letter, quarantined mail, bounce suppression and attachment that
//! could lead back to the people erased removed. sled keeps overwritten values
//! in its log until the store is rewritten (`rewrite`: a backup restored into a
//! fresh directory that takes the old one's place), so an erasure marks the
//! store for that, done at once when no daemon holds it, else at its next start.
//!
//! Invariant: erasing again finds nothing more; a crash part-way leaves what is
//! done done, and the next run finishes the rest.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::backup::{BackupError, BackupSummary};
use super::{codec, Commit, Store, StoreError};
use crate::core::ticket::Ticket;
use crate::queue::{DeadLetter, Destination, EntryBody, Quarantined, QueueEntry};

/// Meta key: set by an erasure, cleared by the rewrite that follows it.
const REWRITE_PENDING: &str = "store:rewrite_pending";

/// What to erase.
pub struct Erasure {
    /// Each ticket anonymised (`core::erase`), with the attachments it had.
    pub tickets: Vec<(Ticket, Vec<String>)>,
    /// Addresses and chat ids (lower-cased) whose mail, notices and
    /// suppressions go too, on any ticket or none.
    pub people: Vec<String>,
}

/// What an erasure removed or would remove, by kind; no personal data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    pub tickets: usize,
    pub message_ids: usize,
    pub threads: usize,
    pub queued: usize,
    pub dead_letters: usize,
    pub quarantined: usize,
    pub attachments: usize,
    pub suppressions: usize,
}

impl Store {
    /// Erases (or with `dry_run` only counts) everything `e` names.
    pub fn erase(&self, e: &Erasure, dry_run: bool) -> Result<Erased, StoreError> {
        let mut done = Erased {
            tickets: e.tickets.len(),
            ..Erased::default()
        };
        let ids: HashSet<String> = e.tickets.iter().map(|(t, _)| t.id.to_string()).collect();
        let person = |text: &str| {
            let text = text.to_lowercase();
            e.people.iter().any(|p| text.contains(p.as_str()))
        };
        let names = |d: &Destination| match d {
            Destination::Email { to } => person(to),
            Destination::ChatUser { user } => person(user),
            Destination::ChatChannel { .. } => false,
        };
        let about = |entry: &QueueEntry| {
            entry
                .ticket
                .as_ref()
                .is_some_and(|t| ids.contains(t.as_str()))
                || match &entry.body {
                    EntryBody::Notice(n) => names(&n.dest),
                    EntryBody::Prepared(p) => names(&p.dest),
                    EntryBody::Wake { .. } | EntryBody::Digest { .. } | EntryBody::Retention => {
                        false
                    }
                }
        };
        let _w = self.writing();
        for (ticket, _) in &e.tickets {
            if !dry_run {
                self.commit(Commit {
                    ticket: Some(ticket),
                    ..Commit::default()
                })?;
            }
            if dry_run {
                done.threads += usize::from(self.thread_of(&ticket.id)?.is_some());
            } else {
                done.threads += usize::from(self.unlink_thread(&ticket.id)?);
            }
        }
        for item in self.message_ids.iter() {
            let (k, v) = item?;
            // The index maps a Message-ID to its ticket's ID.
            if ids.contains(String::from_utf8_lossy(&v).as_ref()) {
                done.message_ids += 1;
                if !dry_run {
                    self.message_ids.remove(k)?;
                }
            }
        }
        for item in self.queue.iter() {
            let (k, v) = item?;
            let entry: QueueEntry = codec::decode("queue entry", &v)?;
            if about(&entry) {
                done.queued += 1;
                if !dry_run {
                    self.queue.remove(k)?;
                }
            }
        }
        for item in self.dead.iter() {
            let (k, v) = item?;
            let dead: DeadLetter = codec::decode("dead letter", &v)?;
            if about(&dead.entry) {
                done.dead_letters += 1;
                if !dry_run {
                    self.dead.remove(k)?;
                }
            }
        }
        for item in self.quarantine.iter() {
            let (k, v) = item?;
            let q: Quarantined = codec::decode("quarantined message", &v)?;
            if !e.people.is_empty() && person(&String::from_utf8_lossy(&q.raw)) {
                done.quarantined += 1;
                if !dry_run {
                    self.quarantine.remove(k)?;
                }
            }
        }
        for who in &e.people {
            let key = format!("suppress:{who}");
            if self.meta.get(&key)?.is_some() {
                done.suppressions += 1;
                if !dry_run {
                    self.meta.remove(key)?;
                }
            }
        }
        // An attachment goes when no ticket still refers to it.
        let gone: HashSet<&String> = e.tickets.iter().flat_map(|(_, shas)| shas).collect();
        if !gone.is_empty() {
            let mut kept: HashSet<String> = HashSet::new();
            for t in self.tickets() {
                let t = t?;
                if !ids.contains(t.id.as_str()) {
                    kept.extend(t.attachments.into_iter().map(|a| a.sha256));
                }
            }
            for sha in gone.into_iter().filter(|s| !kept.contains(*s)) {
                if self.blobs.get(sha.as_bytes())?.is_some() {
                    done.attachments += 1;
                    if !dry_run {
                        self.blobs.remove(sha.as_bytes())?;
                    }
                }
            }
        }
        if !dry_run && done != Erased::default() {
            self.meta.insert(REWRITE_PENDING, &b"1"[..])?;
        }
        Ok(done)
    }

    pub fn rewrite_pending(&self) -> Result<bool, StoreError> {
        Ok(self.meta.get(REWRITE_PENDING)?.is_some())
    }
}

/// Rewrites the store at `dir` into a fresh one, so that nothing erased or
/// overwritten stays in its files: a backup beside it, restored into a new
/// directory, which then takes the old one's place. No process may hold the
/// store meanwhile. A rewrite cut short is finished by the next one.
pub fn rewrite(dir: &Path, now: DateTime<Utc>) -> Result<BackupSummary, BackupError> {
    let io = |source| BackupError::Write {
        path: dir.to_path_buf(),
        source,
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "store".into());
    let beside = |what: &str| dir.with_file_name(format!(".{name}.{what}"));
    let (file, fresh, old) = (beside("rewrite"), beside("fresh"), beside("old"));
    if !dir.exists() && old.exists() {
        std::fs::rename(&old, dir).map_err(io)?;
    }
    for leftover in [&fresh, &old] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover).map_err(io)?;
        }
    }
    {
        let store = Store::open(dir)?;
        store
            .meta
            .remove(REWRITE_PENDING)
            .map_err(StoreError::from)?;
        store.backup(&file, now)?;
    }
    let summary = Store::restore(&file, &fresh)?;
    std::fs::rename(dir, &old).map_err(io)?;
    std::fs::rename(&fresh, dir).map_err(io)?;
    std::fs::remove_dir_all(&old).map_err(io)?;
    std::fs::remove_file(&file).map_err(io)?;
    Ok(summary)
}
