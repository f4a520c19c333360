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
use super::{codec, swap, Commit, Store, StoreError};
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
        let t = self.t()?;
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
        for item in t.message_ids.iter() {
            let (k, v) = item?;
            // The index maps a Message-ID to its ticket's ID.
            if ids.contains(String::from_utf8_lossy(&v).as_ref()) {
                done.message_ids += 1;
                if !dry_run {
                    t.message_ids.remove(k)?;
                }
            }
        }
        for item in t.queue.iter() {
            let (k, v) = item?;
            let entry: QueueEntry = codec::decode("queue entry", &v)?;
            if about(&entry) {
                done.queued += 1;
                if !dry_run {
                    t.queue.remove(k)?;
                }
            }
        }
        for item in t.dead.iter() {
            let (k, v) = item?;
            let dead: DeadLetter = codec::decode("dead letter", &v)?;
            if about(&dead.entry) {
                done.dead_letters += 1;
                if !dry_run {
                    t.dead.remove(k)?;
                }
            }
        }
        for item in t.quarantine.iter() {
            let (k, v) = item?;
            let q = self.unseal(codec::decode::<Quarantined>("quarantined message", &v)?)?;
            // Without its key a sealed message is known by its masked text.
            let text = match q.sealed {
                true => q.masked,
                false => String::from_utf8_lossy(&q.raw).into_owned(),
            };
            if !e.people.is_empty() && person(&text) {
                done.quarantined += 1;
                if !dry_run {
                    t.quarantine.remove(k)?;
                }
            }
        }
        for who in &e.people {
            let key = format!("suppress:{who}");
            if t.meta.get(&key)?.is_some() {
                done.suppressions += 1;
                if !dry_run {
                    t.meta.remove(key)?;
                }
            }
        }
        // An attachment goes when no ticket still refers to it.
        let gone: HashSet<&String> = e.tickets.iter().flat_map(|(_, shas)| shas).collect();
        if !gone.is_empty() {
            let mut kept: HashSet<String> = HashSet::new();
            for ticket in self.tickets() {
                let t = ticket?;
                if !ids.contains(t.id.as_str()) {
                    kept.extend(t.attachments.into_iter().map(|a| a.sha256));
                }
            }
            for sha in gone.into_iter().filter(|s| !kept.contains(*s)) {
                if t.blobs.get(sha.as_bytes())?.is_some() {
                    done.attachments += 1;
                    if !dry_run {
                        t.blobs.remove(sha.as_bytes())?;
                    }
                }
            }
        }
        if !dry_run && done != Erased::default() {
            t.meta.insert(REWRITE_PENDING, &b"1"[..])?;
        }
        Ok(done)
    }

    pub fn rewrite_pending(&self) -> Result<bool, StoreError> {
        let t = self.t()?;
        Ok(t.meta.get(REWRITE_PENDING)?.is_some())
    }
}

/// Rewrites the store at `dir` into a fresh one, so that nothing erased or
/// overwritten stays in its files: a backup, restored into a new store, whose
/// files then take the old ones' place (`swap.rs`). No process may hold the
/// store meanwhile.
pub fn rewrite(dir: &Path, now: DateTime<Utc>) -> Result<BackupSummary, BackupError> {
    swap::finish_interrupted(dir).map_err(|source| BackupError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let file = swap::backup_file(dir);
    {
        let store = Store::open(dir)?;
        store
            .t()?
            .meta
            .remove(REWRITE_PENDING)
            .map_err(StoreError::from)?;
        store.backup(&file, now)?;
    }
    swap::swap_in(dir, &file, None)
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
        assert!(!dir.join(swap::OLD).exists() && !dir.join(swap::FRESH).exists());
    }

    #[test]
    fn a_sealed_quarantined_mail_goes_with_its_sender() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for (id, from) in [(1, "alice@example.test"), (2, "bob@example.test")] {
            let raw = format!("From: {from}\r\n\r\npassword: hunter2hunter2\r\n");
            store
                .quarantine(&Quarantined {
                    id,
                    at: Utc::now(),
                    origin: "imap:INBOX".into(),
                    reason: "test".into(),
                    raw: raw.into_bytes(),
                    sealed: false,
                    masked: String::new(),
                })
                .unwrap();
        }
        let stored = store
            .t()
            .unwrap()
            .quarantine
            .get(1u64.to_be_bytes())
            .unwrap();
        let stored: Quarantined = codec::decode("test", &stored.unwrap()).unwrap();
        assert!(stored.sealed && !String::from_utf8_lossy(&stored.raw).contains("alice"));
        let erasure = Erasure {
            tickets: Vec::new(),
            people: vec!["alice@example.test".into()],
        };
        assert_eq!(store.erase(&erasure, false).unwrap().quarantined, 1);
        let left: Vec<u64> = store.quarantined().map(|q| q.unwrap().id).collect();
        assert_eq!(left, [2], "bob's stays, and opens");
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
        std::fs::create_dir(dir.join(swap::OLD)).unwrap();
        swap::move_entries(&dir, &dir.join(swap::OLD)).unwrap();
        rewrite(&dir, now).unwrap();
        still_there(&dir, &id);

        // Cut short while the fresh files moved in: the move is finished.
        std::fs::create_dir(dir.join(swap::FRESH)).unwrap();
        swap::move_entries(&dir, &dir.join(swap::FRESH)).unwrap();
        std::fs::File::create(dir.join(swap::MOVING_IN)).unwrap();
        rewrite(&dir, now).unwrap();
        still_there(&dir, &id);
    }
}
