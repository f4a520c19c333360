//! Backup and restore: a consistent, versioned, checksummed copy of every tree
//! of the store, taken while the daemon runs, put back only into an empty state
//! directory.
//!
//! Invariant: every store write holds `Store::writing()` (shared); a backup holds
//! the gate alone while it reads, so the file is the store as of one moment —
//! tickets, ID counters, Message-ID index, queue and dead letters agree. The
//! trailer's SHA-256 covers every line before it, and restore checks the whole
//! file before it writes anything.
//!
//! Format (version 1), JSON lines:
//! `{"magic":"itdesk-backup","version":1,"created_at":…,"itdesk_version":…,"next_id":N}`,
//! then `{"tree":NAME,"key":BASE64,"value":BASE64}` per record, then
//! `{"end":{"records":N,"trees":{NAME:N,…},"sha256":HEX}}`.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLockReadGuard;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::repair::Salvage;
use super::{be_u64, Store, StoreError};

const MAGIC: &str = "itdesk-backup";
const VERSION: u32 = 1;
/// Meta key: added to sled's ID generator, so a restored store hands out IDs
/// after every ID in its backup (sled's own generator starts again at 0).
pub(super) const ID_BASE_KEY: &str = "store:id_base";
/// Meta key prefix of a recorded backup: its time → its path.
const BACKUP_PREFIX: &str = "backup:";
/// Records per sled batch when restoring.
const RESTORE_BATCH: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot write the backup {path}: {source} — the running daemon writes it, so its directory must exist and be writable by the daemon's user")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the backup {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not an itdesk backup: {reason}")]
    NotBackup { path: PathBuf, reason: String },
    #[error("backup {path} has format version {version}; this itdesk reads version {VERSION} — restore it with the itdesk version that made it, or a newer one")]
    NewerVersion { path: PathBuf, version: u32 },
    #[error("backup {path} is damaged at line {line}: {reason} — use another copy")]
    Damaged {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("backup {path} ends early (no closing line): it was cut off while being written or copied — use another copy")]
    Truncated { path: PathBuf },
    #[error("backup {path} fails its checksum: its content changed after it was written — use another copy")]
    Checksum { path: PathBuf },
    #[error("{dir} holds a store: restore writes only where there is none, so nothing is overwritten — `itdesk restore --replace FILE` keeps the present store's files in {dir}/replaced-TIME and restores in their place; or point [store].path at a new directory")]
    NotEmpty { dir: PathBuf },
    #[error("cannot inspect the state directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("restoring into {dir} failed half-way: {source} — remove {dir} before trying again")]
    Partial { dir: PathBuf, source: StoreError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a backup or restore covered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupSummary {
    pub file: PathBuf,
    pub created_at: DateTime<Utc>,
    pub records: u64,
    /// Records per tree.
    pub trees: BTreeMap<String, u64>,
    pub sha256: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    magic: String,
    version: u32,
    created_at: DateTime<Utc>,
    itdesk_version: String,
    /// An ID never handed out before the snapshot: the restored store continues from it.
    next_id: u64,
}

#[derive(Serialize, Deserialize)]
struct Record {
    tree: String,
    key: String,
    value: String,
}

#[derive(Serialize, Deserialize)]
struct Trailer {
    end: End,
}

#[derive(Serialize, Deserialize, PartialEq, Eq)]
struct End {
    records: u64,
    trees: BTreeMap<String, u64>,
    sha256: String,
}

/// Writes through to the file and hashes what it wrote.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Store {
    /// Held (shared) by every write; a backup takes it alone.
    pub(super) fn writing(&self) -> RwLockReadGuard<'_, ()> {
        // sled writes are atomic on their own, so a writer that panicked left
        // nothing half-done: a poisoned gate is still a good gate.
        self.gate.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Remembers a backup the admin made, so an erasure can name the backups
    /// that still hold what it erased.
    pub fn record_backup(&self, path: &Path, at: DateTime<Utc>) -> Result<(), StoreError> {
        let t = self.t()?;
        let key = format!("{BACKUP_PREFIX}{}", at.to_rfc3339());
        let _w = self.writing();
        t.meta.insert(key, path.to_string_lossy().as_bytes())?;
        Ok(())
    }

    /// The recorded backups made before `before` whose files still exist.
    pub fn backups_before(
        &self,
        before: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, PathBuf)>, StoreError> {
        let t = self.t()?;
        let mut out = Vec::new();
        for item in t.meta.scan_prefix(BACKUP_PREFIX) {
            let (k, v) = item?;
            let at = String::from_utf8_lossy(&k[BACKUP_PREFIX.len()..]).into_owned();
            let Ok(at) = DateTime::parse_from_rfc3339(&at) else {
                continue;
            };
            let path = PathBuf::from(String::from_utf8_lossy(&v).into_owned());
            if at < before && path.exists() {
                out.push((at.with_timezone(&Utc), path));
            }
        }
        Ok(out)
    }

    /// Writes a snapshot of every tree to `path` (through `path.partial`,
    /// renamed when complete; mode 0600: it holds every ticket). Writes wait
    /// while the trees are read.
    pub fn backup(&self, path: &Path, now: DateTime<Utc>) -> Result<BackupSummary, BackupError> {
        let partial = partial_path(path);
        let result = self
            .write_backup(&partial, now, None)
            .and_then(|mut summary| {
                std::fs::rename(&partial, path).map_err(|source| BackupError::Write {
                    path: path.to_path_buf(),
                    source,
                })?;
                summary.file = path.to_path_buf();
                Ok(summary)
            });
        if result.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        result
    }

    /// With `salvage`, records that cannot be read or that it rejects are
    /// left out (and counted there) instead of failing the backup.
    pub(super) fn write_backup(
        &self,
        partial: &Path,
        now: DateTime<Utc>,
        mut salvage: Option<&mut Salvage>,
    ) -> Result<BackupSummary, BackupError> {
        let t = self.t()?;
        use std::os::unix::fs::OpenOptionsExt;
        let io = |source| BackupError::Write {
            path: partial.to_path_buf(),
            source,
        };
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(partial)
            .map_err(io)?;
        let mut out = Hashing {
            inner: BufWriter::new(file),
            hasher: Sha256::new(),
        };
        let mut trees = BTreeMap::new();
        let mut records = 0;
        {
            let _alone = self.gate.write().unwrap_or_else(|e| e.into_inner());
            let header = Header {
                magic: MAGIC.into(),
                version: VERSION,
                created_at: now,
                itdesk_version: env!("CARGO_PKG_VERSION").into(),
                next_id: self.generate_id()?,
            };
            write_line(&mut out, &header).map_err(io)?;
            for name in t.db.tree_names() {
                let tree_name = String::from_utf8_lossy(&name).into_owned();
                let tree = t.db.open_tree(&name).map_err(StoreError::from)?;
                let mut count = 0;
                for item in tree.iter() {
                    let (key, value) = match (item, salvage.as_deref_mut()) {
                        (Ok(record), None) => record,
                        (Err(e), None) => return Err(StoreError::from(e).into()),
                        (Ok((key, value)), Some(salvage)) => {
                            if !salvage.keep(&tree_name, &key, &value) {
                                continue;
                            }
                            (key, value)
                        }
                        (Err(e), Some(salvage)) => {
                            salvage.unreadable(&tree_name, &e);
                            break;
                        }
                    };
                    write_line(
                        &mut out,
                        &Record {
                            tree: tree_name.clone(),
                            key: b64(&key),
                            value: b64(&value),
                        },
                    )
                    .map_err(io)?;
                    count += 1;
                }
                if count > 0 {
                    trees.insert(tree_name, count);
                    records += count;
                }
            }
        }
        let Hashing { mut inner, hasher } = out;
        let end = End {
            records,
            trees,
            sha256: hex::encode(hasher.finalize()),
        };
        write_line(&mut inner, &Trailer { end }).map_err(io)?;
        let file = inner.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        let End {
            records,
            trees,
            sha256,
        } = read_back_end(partial)?;
        Ok(BackupSummary {
            file: partial.to_path_buf(),
            created_at: now,
            records,
            trees,
            sha256,
        })
    }

    /// Restores `file` into `dir`, which must be empty or absent. The whole
    /// file is checked first; nothing is written to `dir` unless it is sound.
    pub fn restore(file: &Path, dir: &Path) -> Result<BackupSummary, BackupError> {
        ensure_empty(dir)?;
        let (header, end) = verify(file)?;
        let store = Store::open(dir)?;
        let partial = |source: StoreError| BackupError::Partial {
            dir: dir.to_path_buf(),
            source,
        };
        store.load(file, header.next_id).map_err(|e| match e {
            BackupError::Store(source) => partial(source),
            other => other,
        })?;
        store.adopt_mark().map_err(partial)?;
        Ok(BackupSummary {
            file: file.to_path_buf(),
            created_at: header.created_at,
            records: end.records,
            trees: end.trees,
            sha256: end.sha256,
        })
    }

    fn load(&self, file: &Path, next_id: u64) -> Result<(), BackupError> {
        let t = self.t()?;
        // Opening the fresh store may have written bookkeeping of its own (e.g.
        // "statistics are ready"); the restored store is the backup and nothing else.
        for name in t.db.tree_names() {
            t.db.open_tree(&name)
                .and_then(|t| t.clear())
                .map_err(StoreError::from)?;
        }
        let mut batches: BTreeMap<String, (sled::Tree, sled::Batch, usize)> = BTreeMap::new();
        for (n, line) in lines(file)?.enumerate().skip(1) {
            let line = line?;
            let Ok(record) = serde_json::from_str::<Record>(&line) else {
                break;
            };
            let (key, value) = decode_record(file, n + 1, &record)?;
            if !batches.contains_key(&record.tree) {
                let tree = self
                    .t()?
                    .db
                    .open_tree(record.tree.as_bytes())
                    .map_err(StoreError::from)?;
                batches.insert(record.tree.clone(), (tree, sled::Batch::default(), 0));
            }
            let Some((tree, batch, pending)) = batches.get_mut(&record.tree) else {
                unreachable!("inserted just above")
            };
            batch.insert(key, value);
            *pending += 1;
            if *pending == RESTORE_BATCH {
                tree.apply_batch(std::mem::take(batch))
                    .map_err(StoreError::from)?;
                *pending = 0;
            }
        }
        for (tree, batch, _) in batches.into_values() {
            tree.apply_batch(batch).map_err(StoreError::from)?;
        }
        t.meta
            .insert(ID_BASE_KEY, &next_id.to_be_bytes())
            .map_err(StoreError::from)?;
        t.db.flush().map_err(StoreError::from)?;
        Ok(())
    }
}

/// The ID generator's offset recorded by a restore (0 for a store never restored).
pub(super) fn id_base(meta: &sled::Tree) -> Result<u64, StoreError> {
    Ok(meta.get(ID_BASE_KEY)?.map(|v| be_u64(&v)).unwrap_or(0))
}

fn partial_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".partial");
    path.with_file_name(name)
}

fn write_line<W: Write, T: Serialize>(out: &mut W, value: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

fn lines(
    file: &Path,
) -> Result<impl Iterator<Item = Result<String, BackupError>> + '_, BackupError> {
    let read = |source| BackupError::Read {
        path: file.to_path_buf(),
        source,
    };
    let f = File::open(file).map_err(read)?;
    Ok(BufReader::new(f).lines().map(move |l| {
        l.map_err(|source| BackupError::Read {
            path: file.to_path_buf(),
            source,
        })
    }))
}

fn decode_record(
    file: &Path,
    line: usize,
    record: &Record,
) -> Result<(Vec<u8>, Vec<u8>), BackupError> {
    let damaged = |reason: String| BackupError::Damaged {
        path: file.to_path_buf(),
        line,
        reason,
    };
    let engine = base64::engine::general_purpose::STANDARD;
    let key = engine
        .decode(&record.key)
        .map_err(|e| damaged(format!("key is not base64: {e}")))?;
    let value = engine
        .decode(&record.value)
        .map_err(|e| damaged(format!("value is not base64: {e}")))?;
    Ok((key, value))
}

/// Reads the whole file: header, every record, the trailer; checks counts and checksum.
fn verify(file: &Path) -> Result<(Header, End), BackupError> {
    let not_backup = |reason: &str| BackupError::NotBackup {
        path: file.to_path_buf(),
        reason: reason.into(),
    };
    let mut hasher = Sha256::new();
    let mut lines = lines(file)?;
    let first = lines.next().ok_or_else(|| not_backup("it is empty"))??;
    let header: Header = serde_json::from_str(&first)
        .map_err(|_| not_backup("its first line is not an itdesk backup header"))?;
    if header.magic != MAGIC {
        return Err(not_backup("its first line is not an itdesk backup header"));
    }
    if header.version > VERSION {
        return Err(BackupError::NewerVersion {
            path: file.to_path_buf(),
            version: header.version,
        });
    }
    hasher.update(first.as_bytes());
    hasher.update(b"\n");
    let mut trees: BTreeMap<String, u64> = BTreeMap::new();
    let mut records = 0;
    for (n, line) in lines.enumerate() {
        let line_no = n + 2;
        let line = line?;
        if let Ok(record) = serde_json::from_str::<Record>(&line) {
            decode_record(file, line_no, &record)?;
            *trees.entry(record.tree).or_default() += 1;
            records += 1;
            hasher.update(line.as_bytes());
            hasher.update(b"\n");
            continue;
        }
        let Trailer { end } = serde_json::from_str(&line).map_err(|e| BackupError::Damaged {
            path: file.to_path_buf(),
            line: line_no,
            reason: format!("neither a record nor the closing line: {e}"),
        })?;
        let actual = End {
            records,
            trees,
            sha256: hex::encode(hasher.finalize()),
        };
        if end.sha256 != actual.sha256 {
            return Err(BackupError::Checksum {
                path: file.to_path_buf(),
            });
        }
        if end != actual {
            return Err(BackupError::Damaged {
                path: file.to_path_buf(),
                line: line_no,
                reason: "the record counts do not match the closing line".into(),
            });
        }
        return Ok((header, end));
    }
    Err(BackupError::Truncated {
        path: file.to_path_buf(),
    })
}

/// The summary of a file just written (its trailer), read back as a check.
fn read_back_end(file: &Path) -> Result<End, BackupError> {
    verify(file).map(|(_, end)| end)
}

/// Empty of store files: the ID mark and kept copies of earlier stores may stay.
fn ensure_empty(dir: &Path) -> Result<(), BackupError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for entry in entries {
                let entry = entry.map_err(|source| BackupError::Dir {
                    dir: dir.to_path_buf(),
                    source,
                })?;
                if super::swap::is_store_file(&entry.file_name().to_string_lossy()) {
                    return Err(BackupError::NotEmpty {
                        dir: dir.to_path_buf(),
                    });
                }
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Err(BackupError::NotEmpty {
            dir: dir.to_path_buf(),
        }),
        Err(source) => Err(BackupError::Dir {
            dir: dir.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::effect::TimerKind;
    use crate::core::id::TicketId;
    use crate::core::lifecycle::{self, NewTicket};
    use crate::core::sla::Policy;
    use crate::core::ticket::{Channel, Lang, ProblemType, Requester, Ticket, Urgency};
    use crate::queue::{DeadLetter, EntryBody, Quarantined, QueueEntry};
    use crate::store::{Commit, QueueKey};
    use chrono::{NaiveDate, TimeZone};

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2023, 10, 9, h, 0, 0).unwrap()
    }

    fn timer(store: &Store, ticket: &TicketId, due: DateTime<Utc>) -> QueueEntry {
        QueueEntry::new(
            store.generate_id().unwrap(),
            due,
            Some(ticket.clone()),
            EntryBody::Wake {
                kind: TimerKind::Progress,
            },
        )
    }

    fn ticket(id: TicketId) -> Ticket {
        let new = NewTicket {
            copied: Vec::new(),
            channel: Channel::Email,
            requester: Requester {
                name: Some("张三".into()),
                email: Some("zhangsan@example.test".into()),
                ..Requester::default()
            },
            subject: "VPN drops".into(),
            description: "error 809".into(),
            source_message_id: Some("m1@example.test".into()),
            problem_type: ProblemType::Network,
            urgency: Urgency::High,
            urgency_lowered: None,
            expected_time: None,
            group: "network".into(),
            lang: Lang::default(),
            attachments: Vec::new(),
            vague: false,
            warnings: Vec::new(),
            related: None,
        };
        lifecycle::open(id, new, at(1), &Policy::default()).0
    }

    /// sled may let go of its file lock a moment after the last handle is dropped.
    fn reopen(dir: &Path) -> Store {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            match Store::open(dir) {
                Ok(store) => return store,
                Err(e) if std::time::Instant::now() > deadline => {
                    panic!("cannot reopen {}: {e}", dir.display())
                }
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
            }
        }
    }

    /// Tree name → its raw (key, value) pairs.
    type Dump = BTreeMap<String, Vec<(Vec<u8>, Vec<u8>)>>;

    /// Every tree's raw content, for comparing two stores exactly.
    fn dump(store: &Store) -> Dump {
        let mut out = BTreeMap::new();
        for name in store.t().unwrap().db.tree_names() {
            let tree = store.t().unwrap().db.open_tree(&name).unwrap();
            let items: Vec<_> = tree
                .iter()
                .map(|i| i.unwrap())
                .map(|(k, v)| (k.to_vec(), v.to_vec()))
                .collect();
            if !items.is_empty() {
                out.insert(String::from_utf8_lossy(&name).into_owned(), items);
            }
        }
        out
    }

    fn filled_store(dir: &Path) -> (Store, TicketId) {
        let store = Store::open(dir).unwrap();
        let date = NaiveDate::from_ymd_opt(2023, 10, 9).unwrap();
        let id = TicketId::new(date, 1);
        let ticket = ticket(id.clone());
        let entry = timer(&store, &id, at(5));
        let dead_entry = timer(&store, &id, at(2));
        store
            .commit(Commit {
                ticket: Some(&ticket),
                new_serial: Some((date, 1)),
                message_ids: vec!["m1@example.test".into()],
                enqueue: vec![entry, dead_entry.clone()],
                ..Commit::default()
            })
            .unwrap();
        store
            .bury(
                &QueueKey::of(&dead_entry),
                &DeadLetter {
                    entry: dead_entry,
                    error: "550 no such user".into(),
                    buried_at: at(3),
                },
            )
            .unwrap();
        store
            .put_blob("abc123", b"%PDF-1.4 screenshot bytes \x00\xff")
            .unwrap();
        store
            .quarantine(&Quarantined {
                id: store.generate_id().unwrap(),
                at: at(4),
                origin: "imap:INBOX uid 7".into(),
                reason: "no sender".into(),
                raw: b"garbage".to_vec(),
                sealed: false,
                masked: "garbage".into(),
            })
            .unwrap();
        store
            .set_meta("imap:helpdesk:INBOX:uidvalidity", &7u32.to_be_bytes())
            .unwrap();
        (store, id)
    }

    #[test]
    fn round_trip_restores_every_tree_and_continues_ids() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, id) = filled_store(&tmp.path().join("a"));
        let file = tmp.path().join("itdesk.backup");
        let summary = store.backup(&file, at(6)).unwrap();
        assert!(!partial_path(&file).exists(), "the partial file is renamed");
        assert_eq!(summary.trees["tickets"], 1);
        assert_eq!(summary.trees["queue"], 1);
        assert_eq!(summary.trees["dead_letters"], 1);
        assert_eq!(summary.trees["blobs"], 1);
        assert_eq!(summary.trees["quarantine"], 1);
        let before = dump(&store);
        drop(store);

        let restored_dir = tmp.path().join("b");
        let restored = Store::restore(&file, &restored_dir).unwrap();
        assert_eq!(restored.records, summary.records);
        let store = reopen(&restored_dir);
        let mut after = dump(&store);
        // The only addition: the ID base the restore recorded.
        let meta = after.get_mut("meta").unwrap();
        meta.retain(|(k, _)| k != ID_BASE_KEY.as_bytes());
        assert_eq!(after, before);
        assert_eq!(store.ticket(&id).unwrap().unwrap().id, id);
        assert_eq!(
            store.next_serial(id.date()).unwrap(),
            2,
            "ticket serials continue"
        );
        assert_eq!(
            store.blob("abc123").unwrap().unwrap(),
            b"%PDF-1.4 screenshot bytes \x00\xff"
        );
        let fresh = store.generate_id().unwrap();
        assert!(
            fresh >= verify(&file).unwrap().0.next_id,
            "IDs continue after the backup's: {fresh}"
        );
        for (_, e) in store.entries().map(Result::unwrap) {
            assert!(e.id < fresh);
        }
        assert!(store
            .dead_letters()
            .map(Result::unwrap)
            .all(|d| d.entry.id < fresh));
        assert!(store
            .quarantined()
            .map(Result::unwrap)
            .all(|q| q.id < fresh));
    }

    #[test]
    fn a_second_generation_restore_still_continues_ids() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = filled_store(&tmp.path().join("a"));
        let first = tmp.path().join("1.backup");
        store.backup(&first, at(6)).unwrap();
        drop(store);
        Store::restore(&first, &tmp.path().join("b")).unwrap();
        let store = reopen(&tmp.path().join("b"));
        let used = store.generate_id().unwrap();
        let second = tmp.path().join("2.backup");
        store.backup(&second, at(7)).unwrap();
        drop(store);
        Store::restore(&second, &tmp.path().join("c")).unwrap();
        let store = reopen(&tmp.path().join("c"));
        assert!(store.generate_id().unwrap() > used);
    }

    #[test]
    fn restore_refuses_a_non_empty_dir_and_damaged_files() {
        let tmp = tempfile::tempdir().unwrap();
        let (store, _) = filled_store(&tmp.path().join("a"));
        let file = tmp.path().join("x.backup");
        store.backup(&file, at(6)).unwrap();
        drop(store);

        let err = Store::restore(&file, &tmp.path().join("a")).unwrap_err();
        assert!(matches!(err, BackupError::NotEmpty { .. }), "{err}");

        let text = std::fs::read_to_string(&file).unwrap();
        let target = tmp.path().join("fresh");
        let cut = tmp.path().join("cut.backup");
        std::fs::write(&cut, &text[..text.trim_end().rfind('\n').unwrap() + 1]).unwrap();
        assert!(matches!(
            Store::restore(&cut, &target),
            Err(BackupError::Truncated { .. })
        ));

        let tampered = tmp.path().join("tampered.backup");
        std::fs::write(
            &tampered,
            text.replace(
                "\"dead_letters\",\"key\":\"",
                "\"dead_letters\",\"key\":\"AA",
            ),
        )
        .unwrap();
        let err = Store::restore(&tampered, &target).unwrap_err();
        assert!(
            matches!(
                err,
                BackupError::Checksum { .. } | BackupError::Damaged { .. }
            ),
            "{err}"
        );

        let newer = tmp.path().join("newer.backup");
        std::fs::write(&newer, text.replacen("\"version\":1", "\"version\":9", 1)).unwrap();
        assert!(matches!(
            Store::restore(&newer, &target),
            Err(BackupError::NewerVersion { version: 9, .. })
        ));

        let other = tmp.path().join("other.txt");
        std::fs::write(&other, "hello\n").unwrap();
        assert!(matches!(
            Store::restore(&other, &target),
            Err(BackupError::NotBackup { .. })
        ));
        assert!(!target.exists(), "a refused restore writes nothing");
    }
}
