//! `fsck --repair` and `restore --replace`: a new store in place of the old
//! one, whose files are kept beside it (`replaced-TIME` in the store
//! directory) until the admin deletes them.
//!
//! A repair keeps every record it can read: a backup that leaves out what
//! does not read or decode (and queued entries of tickets it lost), restored
//! and swapped in like an erasure's rewrite (`swap.rs`); then the ID counters
//! are raised above every kept serial and the ID mark, and the statistics
//! records are built again.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::backup::{BackupError, BackupSummary};
use super::swap::{self, KEPT_PREFIX};
use super::{be_u64, codec, counter_key, Commit, Damaged, Store, StoreError};
use crate::core::ticket::{LogEntry, LogKind, Ticket};
use crate::queue::{DeadLetter, Quarantined, QueueEntry};

/// What a salvaging backup left out.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Salvage {
    /// Readable ticket keys: queued entries of other tickets are left out.
    #[serde(skip)]
    tickets: HashSet<Vec<u8>>,
    /// Records left out, per tree.
    pub left_out: BTreeMap<String, u64>,
    /// Trees that could not be read to their end, with the error.
    pub unreadable: BTreeMap<String, String>,
    /// Attachments whose files were lost, taken off their tickets.
    pub lost_attachments: u64,
}

impl Salvage {
    pub(super) fn keep(&mut self, tree: &str, key: &[u8], value: &[u8]) -> bool {
        let keep = match tree {
            "tickets" => self.tickets.contains(key),
            "queue" => codec::decode::<QueueEntry>(tree, value).is_ok_and(|e| {
                e.ticket
                    .is_none_or(|id| self.tickets.contains(&super::ticket_key(&id)[..]))
            }),
            "dead_letters" => codec::decode::<DeadLetter>(tree, value).is_ok(),
            "quarantine" => codec::decode::<Quarantined>(tree, value).is_ok(),
            // Built again from the kept tickets.
            "stats" | "stats_open" => return false,
            _ => true,
        };
        if !keep {
            *self.left_out.entry(tree.to_string()).or_default() += 1;
        }
        keep
    }

    pub(super) fn unreadable(&mut self, tree: &str, error: &sled::Error) {
        self.unreadable.insert(tree.to_string(), error.to_string());
    }
}

/// Opens the copy sled rebuilds from its log alone; `None` when that fails
/// (sled may panic on a damaged log) or finds no ticket.
fn open_salvage_copy(copy: &Path) -> Option<Store> {
    let store = std::panic::catch_unwind(|| Store::open(copy)).ok()?.ok()?;
    (store.ticket_count().ok()? > 0).then_some(store)
}

/// What `fsck --repair` or `restore --replace` did.
#[derive(Debug, Clone, Serialize)]
pub struct Replaced {
    pub restored: BackupSummary,
    /// Where the replaced store's files are kept.
    pub kept_in: std::path::PathBuf,
    /// For a repair: what was left out.
    pub salvage: Option<Salvage>,
}

fn kept_name(now: DateTime<Utc>) -> String {
    format!("{KEPT_PREFIX}{}", now.format("%Y%m%dT%H%M%SZ"))
}

impl Store {
    /// Rebuilds the (stopped) store at `dir` from every record it can read.
    pub fn repair(dir: &Path, now: DateTime<Utc>) -> Result<Replaced, BackupError> {
        let file = swap::backup_file(dir);
        let mut salvage = Salvage::default();
        let write_io = |source| BackupError::Write {
            path: dir.to_path_buf(),
            source,
        };
        swap::finish_interrupted(dir).map_err(write_io)?;
        let mut scratch = None;
        {
            let store = match Store::open(dir) {
                Err(StoreError::Damaged(damaged)) => {
                    let copy = swap::copy_without_snapshot(dir).map_err(write_io)?;
                    scratch = Some(copy.clone());
                    open_salvage_copy(&copy).ok_or(StoreError::Damaged(Damaged {
                        damages: vec![format!(
                            "{}; sled reads no ticket from them even without its snapshot: put the latest backup in their place with `itdesk restore --replace FILE`",
                            damaged.damages.join("; ")
                        )],
                        ..damaged
                    }))?
                }
                opened => opened?,
            };
            let t = store.t()?;
            for item in t.tickets.iter() {
                match item {
                    Ok((key, value)) => {
                        if codec::decode::<Ticket>("ticket", &value).is_ok() {
                            salvage.tickets.insert(key.to_vec());
                        }
                    }
                    Err(e) => {
                        salvage.unreadable("tickets", &e);
                        break;
                    }
                }
            }
            store.write_backup(&file, now, Some(&mut salvage))?;
        }
        if let Some(copy) = scratch {
            std::fs::remove_dir_all(copy).map_err(write_io)?;
        }
        let kept = kept_name(now);
        let restored = swap::swap_in(dir, &file, Some(&kept))?;
        let store = Store::open(dir)?;
        store.raise_counters()?;
        store.rebuild_stats()?;
        salvage.lost_attachments = store.drop_lost_attachments(now)?;
        store.check()?;
        Ok(Replaced {
            restored,
            kept_in: dir.join(kept),
            salvage: Some(salvage),
        })
    }

    /// Restores `backup` in place of the (stopped) store at `dir`.
    pub fn restore_replacing(
        backup: &Path,
        dir: &Path,
        now: DateTime<Utc>,
    ) -> Result<Replaced, BackupError> {
        swap::finish_interrupted(dir).map_err(|source| BackupError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
        let kept = kept_name(now);
        let restored = swap::swap_in(dir, backup, Some(&kept))?;
        Store::open(dir)?.adopt_mark()?;
        Ok(Replaced {
            restored,
            kept_in: dir.join(kept),
            salvage: None,
        })
    }

    /// A ticket whose attachment file was lost keeps everything else; its
    /// log says what went.
    fn drop_lost_attachments(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let t = self.t()?;
        let mut damaged = Vec::new();
        for ticket in self.tickets() {
            let ticket = ticket?;
            if ticket
                .attachments
                .iter()
                .any(|a| !t.blobs.contains_key(&a.sha256).unwrap_or(false))
            {
                damaged.push(ticket);
            }
        }
        let mut lost = 0;
        for mut ticket in damaged {
            let (kept, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut ticket.attachments)
                .into_iter()
                .partition(|a| t.blobs.contains_key(&a.sha256).unwrap_or(false));
            ticket.attachments = kept;
            for a in gone {
                lost += 1;
                ticket.log.push(LogEntry {
                    at: now.fixed_offset(),
                    actor: "itdesk fsck".into(),
                    kind: LogKind::Note,
                    text: format!("attachment {} was lost in a store damage", a.name),
                    public: false,
                });
            }
            self.commit(Commit {
                ticket: Some(&ticket),
                ..Commit::default()
            })?;
        }
        Ok(lost)
    }

    /// Every day's ID counter at or above its tickets' serials, and the mark.
    fn raise_counters(&self) -> Result<(), StoreError> {
        let t = self.t()?;
        let mut highest: BTreeMap<[u8; 8], u64> = BTreeMap::new();
        for ticket in self.tickets() {
            let id = ticket?.id;
            let serial = highest.entry(counter_key(id.date())).or_default();
            *serial = (*serial).max(id.serial());
        }
        let _w = self.writing();
        for (day, serial) in highest {
            let counter = t.counters.get(day)?.map(|v| be_u64(&v)).unwrap_or(0);
            if counter < serial {
                t.counters.insert(day, &serial.to_be_bytes())?;
            }
        }
        drop(_w);
        self.adopt_mark()
    }
}
