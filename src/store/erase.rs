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
/// overwritten stays in its files: a backup, restored into a new store, whose
/// files then take the old ones' place. Everything happens inside `dir` (the
/// daemon may own nothing above it, e.g. systemd's StateDirectory). No process
/// may hold the store meanwhile; a rewrite cut short is finished or undone by
/// the next open of the store through this function.
pub fn rewrite(dir: &Path, now: DateTime<Utc>) -> Result<BackupSummary, BackupError> {
    let io = |source| BackupError::Write {
        path: dir.to_path_buf(),
        source,
    };
    let (file, fresh, old) = (
        dir.join(REWRITE_FILE),
        dir.join(REWRITE_FRESH),
        dir.join(REWRITE_OLD),
    );
    let moving_in = dir.join(REWRITE_MOVING_IN);
    // A rewrite cut short: finish moving the fresh files in, or put the old back.
    if moving_in.exists() {
        move_entries(&fresh, dir).map_err(io)?;
    } else if old.exists() {
        move_entries(&old, dir).map_err(io)?;
    }
    for leftover in [&fresh, &old] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover).map_err(io)?;
        }
    }
    for leftover in [&file, &moving_in] {
        if leftover.exists() {
            std::fs::remove_file(leftover).map_err(io)?;
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
    std::fs::create_dir(&old).map_err(io)?;
    move_entries(dir, &old).map_err(io)?;
    std::fs::File::create(&moving_in).map_err(io)?;
    move_entries(&fresh, dir).map_err(io)?;
    std::fs::remove_file(&moving_in).map_err(io)?;
    std::fs::remove_dir_all(&old).map_err(io)?;
    std::fs::remove_dir_all(&fresh).map_err(io)?;
    std::fs::remove_file(&file).map_err(io)?;
    Ok(summary)
}

/// The rewrite's own files inside the store directory.
const REWRITE_FILE: &str = ".rewrite.backup";
const REWRITE_FRESH: &str = ".rewrite.fresh";
const REWRITE_OLD: &str = ".rewrite.old";
/// Present while the fresh files move in: from then on, finish instead of undo.
const REWRITE_MOVING_IN: &str = ".rewrite.moving-in";

/// Moves every entry of `from` into `to`, except the rewrite's own.
fn move_entries(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(".rewrite.") {
            continue;
        }
        std::fs::rename(entry.path(), to.join(&name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{commit_new, new_ticket};

    fn one_ticket_store(dir: &Path) -> String {
        let store = Store::open(dir).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2023, 10, 9).unwrap();
        let id = commit_new(&store, day, new_ticket());
        id.to_string()
    }

    fn still_there(dir: &Path, id: &str) {
        let store = Store::open(dir).unwrap();
        let id = crate::core::id::TicketId::parse(id).unwrap();
        assert!(store.ticket(&id).unwrap().is_some());
        assert!(!dir.join(REWRITE_OLD).exists() && !dir.join(REWRITE_FRESH).exists());
    }

    #[test]
    fn a_rewrite_keeps_everything_and_one_cut_short_is_undone_or_finished() {
        let now = Utc::now();
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("state");
        let id = one_ticket_store(&dir);
        rewrite(&dir, now).unwrap();
        still_there(&dir, &id);

        // Cut short while the old files moved out: they are put back.
        std::fs::create_dir(dir.join(REWRITE_OLD)).unwrap();
        move_entries(&dir, &dir.join(REWRITE_OLD)).unwrap();
        rewrite(&dir, now).unwrap();
        still_there(&dir, &id);

        // Cut short while the fresh files moved in: the move is finished.
        std::fs::create_dir(dir.join(REWRITE_FRESH)).unwrap();
        move_entries(&dir, &dir.join(REWRITE_FRESH)).unwrap();
        std::fs::File::create(dir.join(REWRITE_MOVING_IN)).unwrap();
        rewrite(&dir, now).unwrap();
        still_there(&dir, &id);
    }
}
