//! Integrity: the ID mark kept beside the data, and the check the daemon and
//! the CLI run before they trust a store.
//!
//! sled recovers from a damaged file by dropping whatever it cannot read and
//! starting anyway, so a damaged store would start with fewer tickets and hand
//! out IDs again. Two things catch that:
//! - the mark (`id-mark.json`, a plain file in the store directory, outside
//!   sled's files): the highest ticket ID handed out and how many ticket
//!   changes were committed, written after each flush that moved them, so it
//!   is never ahead of what the store made durable. A store behind its mark
//!   lost data; a restore or repair raises the store to the mark on purpose.
//! - a scan: every record reads and decodes, every day's counter is above its
//!   tickets' serials, every ticket has its statistics record and its
//!   attachments, every queued entry's ticket exists.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sled::transaction::{TransactionalTree, UnabortableTransactionError};

use super::{be_u64, codec, counter_key, ticket_key, Store, StoreError, Trees};
use crate::core::id::TicketId;
use crate::core::ticket::Ticket;
use crate::queue::{DeadLetter, Quarantined, QueueEntry};

/// The mark's file name inside the store directory; moves and restores leave it.
pub const MARK_FILE: &str = "id-mark.json";
/// Meta key: ticket changes committed so far.
const COMMITS_KEY: &str = "store:commits";
/// Damages listed by name before "and N more".
const LISTED: usize = 12;

/// What the store had made durable at the last flush that moved it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub last_id: Option<TicketId>,
    pub commits: u64,
    /// sled's files as the last clean stop left them (`clean_stop.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean_stop: Option<super::clean_stop::Fingerprint>,
}

impl Mark {
    fn raise(&mut self, id: &TicketId) {
        if self
            .last_id
            .as_ref()
            .is_none_or(|last| id_order(id) > id_order(last))
        {
            self.last_id = Some(id.clone());
        }
    }
}

fn id_order(id: &TicketId) -> (NaiveDate, u64) {
    (id.date(), id.serial())
}

/// Counts one ticket change inside its commit's transaction.
pub(super) fn count_commit(meta: &TransactionalTree) -> Result<u64, UnabortableTransactionError> {
    let commits = meta.get(COMMITS_KEY)?.map(|v| be_u64(&v)).unwrap_or(0) + 1;
    meta.insert(COMMITS_KEY, &commits.to_be_bytes())?;
    Ok(commits)
}

/// Keeps the mark file in step with the store.
pub(super) struct MarkKeeper {
    path: PathBuf,
    /// What the file said when the store was opened.
    found: Option<Result<Mark, String>>,
    state: Mutex<MarkState>,
}

struct MarkState {
    /// Committed, maybe not yet flushed.
    current: Mark,
    /// In the file.
    written: Mark,
}

impl MarkKeeper {
    pub(super) fn load(dir: &Path, trees: &Trees) -> Result<MarkKeeper, StoreError> {
        let path = dir.join(MARK_FILE);
        let found = read_mark(dir);
        let written = match &found {
            Some(Ok(mark)) => mark.clone(),
            _ => Mark::default(),
        };
        let keeper = MarkKeeper {
            path,
            found,
            state: Mutex::new(MarkState {
                current: Mark::default(),
                written,
            }),
        };
        keeper.reload(trees)?;
        Ok(keeper)
    }

    /// Takes the committed values from the store as it is on disk.
    pub(super) fn reload(&self, trees: &Trees) -> Result<(), StoreError> {
        let on_disk = stored_mark(trees)?;
        let mut state = self.lock();
        let mut current = on_disk;
        if let Some(id) = &state.written.last_id {
            current.raise(id);
        }
        state.current = current;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MarkState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn committed(&self, commits: u64, issued: Option<&TicketId>) {
        let mut state = self.lock();
        state.current.commits = state.current.commits.max(commits);
        if let Some(id) = issued {
            state.current.raise(id);
        }
    }

    /// Writes the mark without the clean stop's record, if it had one.
    pub(super) fn forget_clean_stop(&self) -> Result<(), StoreError> {
        let current = self.current();
        let mut state = self.lock();
        if state.written.clean_stop.is_none() {
            return Ok(());
        }
        write_mark(&self.path, &current, true).map_err(|source| StoreError::Mark {
            path: self.path.clone(),
            source,
        })?;
        state.written = current;
        Ok(())
    }

    pub(super) fn current(&self) -> Mark {
        self.lock().current.clone()
    }

    /// Writes `mark` (taken before a flush that succeeded) if it moved. A new
    /// ID is synced before anyone can see it; a commit count alone is not
    /// (a mark left behind by a crash only weakens the check, never trips it).
    pub(super) fn write(&self, mark: Mark) -> Result<(), StoreError> {
        let mut state = self.lock();
        if mark == state.written {
            return Ok(());
        }
        let sync = mark.last_id != state.written.last_id;
        write_mark(&self.path, &mark, sync).map_err(|source| StoreError::Mark {
            path: self.path.clone(),
            source,
        })?;
        state.written = mark;
        Ok(())
    }
}

/// The mark file in `dir`: `None` when there is none.
pub(super) fn read_mark(dir: &Path) -> Option<Result<Mark, String>> {
    match std::fs::read(dir.join(MARK_FILE)) {
        Ok(bytes) => Some(serde_json::from_slice::<Mark>(&bytes).map_err(|e| e.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => Some(Err(e.to_string())),
    }
}

pub(super) fn write_mark_file(dir: &Path, mark: &Mark) -> Result<(), StoreError> {
    let path = dir.join(MARK_FILE);
    write_mark(&path, mark, true).map_err(|source| StoreError::Mark { path, source })
}

fn write_mark(path: &Path, mark: &Mark, sync: bool) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let partial = path.with_extension("json.partial");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)?;
    file.write_all(&serde_json::to_vec(mark).map_err(std::io::Error::other)?)?;
    if sync {
        file.sync_all()?;
    }
    std::fs::rename(&partial, path)
}

/// The highest ticket ID and the commit count the trees hold.
fn stored_mark(trees: &Trees) -> Result<Mark, StoreError> {
    let commits = trees
        .meta
        .get(COMMITS_KEY)?
        .map(|v| be_u64(&v))
        .unwrap_or(0);
    let last_id = match trees.tickets.last()? {
        Some((key, _)) => id_of_key(&key),
        None => None,
    };
    Ok(Mark {
        last_id,
        commits,
        clean_stop: None,
    })
}

fn id_of_key(key: &[u8]) -> Option<TicketId> {
    let date =
        NaiveDate::parse_from_str(std::str::from_utf8(key.get(..8)?).ok()?, "%Y%m%d").ok()?;
    Some(TicketId::new(date, be_u64(key.get(8..16)?)))
}

/// What the check found; shown to the admin as one error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("the store at {} is damaged and was not opened: {} — run `itdesk fsck` for the whole list; `itdesk fsck --repair` keeps every record it can read and moves the damaged files aside (or restore the latest backup with `itdesk restore --replace FILE`); then `itdesk recover --since DATE` brings back mail processed since", path.display(), summary(damages, *more))]
pub struct Damaged {
    pub path: PathBuf,
    /// The first damages found, each a sentence.
    pub damages: Vec<String>,
    /// How many more were found.
    pub more: u64,
}

fn summary(damages: &[String], more: u64) -> String {
    let mut text = damages.join("; ");
    if more > 0 {
        text.push_str(&format!("; and {more} more"));
    }
    text
}

/// sled cannot open the files at all.
pub(super) fn unreadable(path: &Path, error: &sled::Error) -> Damaged {
    Damaged {
        path: path.to_path_buf(),
        damages: vec![format!("sled cannot read its files ({error})")],
        more: 0,
    }
}

/// Collects damages, keeping the first few as sentences.
#[derive(Default)]
struct Findings {
    listed: Vec<String>,
    more: u64,
}

impl Findings {
    fn add(&mut self, damage: String) {
        if self.listed.len() < LISTED {
            self.listed.push(damage);
        } else {
            self.more += 1;
        }
    }

    fn into_result(self, path: &Path) -> Result<(), Damaged> {
        if self.listed.is_empty() {
            return Ok(());
        }
        Err(Damaged {
            path: path.to_path_buf(),
            damages: self.listed,
            more: self.more,
        })
    }
}

/// Damage visible before sled opens the directory (opening would hide it).
fn precheck(dir: &Path, findings: &mut Findings) {
    if dir.join("db").exists() && !dir.join("conf").exists() {
        findings.add("sled's `conf` file is missing beside its `db` file".into());
    }
}

impl Store {
    /// Opens the store and checks it (see the module); a damaged store is
    /// refused with `StoreError::Damaged`, naming the damage and the way out.
    /// sled keeps up to `cache_bytes` of what it read in memory.
    pub fn open_checked(path: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        super::swap::finish_interrupted(path).map_err(|e| StoreError::Io(sled::Error::Io(e)))?;
        let mut findings = Findings::default();
        precheck(path, &mut findings);
        findings.into_result(path)?;
        let untouched = super::clean_stop::untouched_since_clean_stop(path)?;
        take_sled_reports();
        let opened = Store::open_with_cache(path, cache_bytes).and_then(|store| {
            if untouched {
                store.check_mark_only()?;
            } else {
                store.check()?;
                // The check read everything; sled would keep it all (`shed.rs`).
                store.shed_cache()?;
            }
            // From now on the files change: the next start checks in full
            // unless this run, too, ends in a clean stop.
            store.mark.forget_clean_stop()?;
            Ok(store)
        });
        // What sled repaired by itself on the way (e.g. blobs it dropped) is
        // said by us too; whether it cost data, the check above decides.
        let reports = take_sled_reports();
        for report in &reports {
            tracing::warn!(%report, path = %path.display(), "sled reported while opening the store");
        }
        match opened {
            Err(StoreError::Damaged(mut damaged)) => {
                damaged
                    .damages
                    .extend(reports.iter().map(|r| format!("sled reported: {r}")));
                Err(StoreError::Damaged(damaged))
            }
            opened => opened,
        }
    }

    /// The whole check: `Err(Damaged)` lists what is wrong.
    pub fn check(&self) -> Result<(), StoreError> {
        let t = self.t()?;
        let mut findings = Findings::default();
        precheck(&self.path, &mut findings);
        self.check_mark(&t, &mut findings)?;
        check_records(&t, &mut findings);
        if self.stats_ready().unwrap_or(false) {
            check_stats(&t, &mut findings);
        }
        Ok(findings.into_result(&self.path)?)
    }

    /// The check after a clean stop whose files are untouched: the mark only.
    fn check_mark_only(&self) -> Result<(), StoreError> {
        let t = self.t()?;
        let mut findings = Findings::default();
        self.check_mark(&t, &mut findings)?;
        Ok(findings.into_result(&self.path)?)
    }

    fn check_mark(&self, t: &Trees, findings: &mut Findings) -> Result<(), StoreError> {
        let found = match &self.mark.found {
            None => return Ok(()),
            Some(Err(reason)) => {
                findings.add(format!("the ID mark {MARK_FILE} is unreadable ({reason})"));
                return Ok(());
            }
            Some(Ok(mark)) => mark,
        };
        let stored = stored_mark(t)?;
        if stored.commits < found.commits {
            findings.add(format!(
                "{} committed ticket changes are missing (the store holds {} of the {} its mark recorded)",
                found.commits - stored.commits,
                stored.commits,
                found.commits
            ));
        }
        if let Some(issued) = &found.last_id {
            let counter = t
                .counters
                .get(counter_key(issued.date()))?
                .map(|v| be_u64(&v))
                .unwrap_or(0);
            if counter < issued.serial() {
                findings.add(format!(
                    "ticket {issued} was handed out but the store's counter for that day is at {counter}: tickets were lost and their IDs would be given again"
                ));
            }
        }
        Ok(())
    }

    /// After a restore or repair: the store takes up the mark found in its
    /// directory, so the IDs and changes it lacks are never counted twice.
    pub(super) fn adopt_mark(&self) -> Result<(), StoreError> {
        let Some(Ok(found)) = &self.mark.found else {
            return Ok(());
        };
        let t = self.t()?;
        let _w = self.writing();
        if let Some(issued) = &found.last_id {
            let key = counter_key(issued.date());
            let counter = t.counters.get(key)?.map(|v| be_u64(&v)).unwrap_or(0);
            if counter < issued.serial() {
                t.counters.insert(key, &issued.serial().to_be_bytes())?;
            }
        }
        let commits = t.meta.get(COMMITS_KEY)?.map(|v| be_u64(&v)).unwrap_or(0);
        if commits < found.commits {
            t.meta.insert(COMMITS_KEY, &found.commits.to_be_bytes())?;
        }
        t.db.flush()?;
        self.mark.reload(&t)
    }
}

/// Every record of every tree reads; tickets, queue entries, dead letters
/// and quarantined mail decode; counters cover serials; queued entries'
/// tickets exist.
fn check_records(t: &Trees, findings: &mut Findings) {
    for name in t.db.tree_names() {
        let tree_name = String::from_utf8_lossy(&name).into_owned();
        let Ok(tree) = t.db.open_tree(&name) else {
            findings.add(format!("tree {tree_name} cannot be opened"));
            continue;
        };
        for item in tree.iter() {
            if let Err(e) = item {
                findings.add(format!("tree {tree_name} cannot be read to its end ({e})"));
                break;
            }
        }
    }
    let mut highest: BTreeMap<[u8; 8], u64> = BTreeMap::new();
    for (key, value) in t.tickets.iter().flatten() {
        match codec::decode::<Ticket>("ticket", &value) {
            Ok(ticket) if key.as_ref() == ticket_key(&ticket.id) => {
                let serial = highest.entry(counter_key(ticket.id.date())).or_default();
                *serial = (*serial).max(ticket.id.serial());
                for a in &ticket.attachments {
                    if !t.blobs.contains_key(&a.sha256).unwrap_or(false) {
                        findings.add(format!(
                            "ticket {}'s attachment {} is missing",
                            ticket.id, a.name
                        ));
                    }
                }
            }
            Ok(ticket) => findings.add(format!("ticket {} is stored under another key", ticket.id)),
            Err(e) => findings.add(format!("a ticket does not decode ({e})")),
        }
    }
    for (day, serial) in highest {
        let counter = t
            .counters
            .get(day)
            .ok()
            .flatten()
            .map(|v| be_u64(&v))
            .unwrap_or(0);
        if counter < serial {
            findings.add(format!(
                "the ID counter for {} is at {counter}, below its ticket serial {serial}",
                String::from_utf8_lossy(&day)
            ));
        }
    }
    for (_, value) in t.queue.iter().flatten() {
        match codec::decode::<QueueEntry>("queue entry", &value) {
            Ok(entry) => {
                if let Some(id) = &entry.ticket {
                    if !t.tickets.contains_key(ticket_key(id)).unwrap_or(false) {
                        findings.add(format!(
                            "queued entry {} is for ticket {id}, which is missing",
                            entry.id
                        ));
                    }
                }
            }
            Err(e) => findings.add(format!("a queued entry does not decode ({e})")),
        }
    }
    for (_, value) in t.dead.iter().flatten() {
        if let Err(e) = codec::decode::<DeadLetter>("dead letter", &value) {
            findings.add(format!("a dead letter does not decode ({e})"));
        }
    }
    for (_, value) in t.quarantine.iter().flatten() {
        if let Err(e) = codec::decode::<Quarantined>("quarantined message", &value) {
            findings.add(format!("a quarantined message does not decode ({e})"));
        }
    }
}

/// Every ticket has its statistics record.
fn check_stats(t: &Trees, findings: &mut Findings) {
    for key in t.tickets.iter().keys().flatten() {
        if !t.stats.contains_key(&key).unwrap_or(false) {
            let id = id_of_key(&key).map(|id| id.to_string()).unwrap_or_default();
            findings.add(format!("ticket {id} has no statistics record"));
        }
    }
}

/// What sled said (warnings and errors) since the last `take_sled_reports`.
static SLED_REPORTS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
/// Reports kept at most, should sled repeat itself.
const SLED_REPORTS_KEPT: usize = 64;

fn take_sled_reports() -> Vec<String> {
    std::mem::take(&mut *SLED_REPORTS.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Catches sled's warnings and errors (its `log` records, as they reach
/// `tracing`), so that a checked open can say what sled dropped or repaired
/// on its own. The daemon's and the CLI's subscriber add it.
pub struct SledReports;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SledReports {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if *event.metadata().level() > tracing::Level::WARN {
            return;
        }
        let mut fields = ReportFields::default();
        event.record(&mut fields);
        let target = fields
            .target
            .as_deref()
            .unwrap_or(event.metadata().target());
        if !target.starts_with("sled") {
            return;
        }
        let mut reports = SLED_REPORTS.lock().unwrap_or_else(|e| e.into_inner());
        if reports.len() < SLED_REPORTS_KEPT {
            reports.push(fields.message);
        }
    }
}

#[derive(Default)]
struct ReportFields {
    message: String,
    /// A bridged `log` record's own target.
    target: Option<String>,
}

impl tracing::field::Visit for ReportFields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "log.target" {
            self.target = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}
