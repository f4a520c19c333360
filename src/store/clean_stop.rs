//! A clean stop, remembered: the full check reads every record, which costs
//! seconds and fills sled's cache on a large store (docs/scaling.md), so a
//! start after a clean stop whose files nobody touched since checks only the
//! ID mark. A clean stop records each of sled's files (name, size, modified
//! time) in the mark once sled has let go of them; any difference — a crash,
//! damage, a copy, a restore — means the full check. The record is dropped at
//! the next open, before anything is written.

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};

use super::integrity::{read_mark, write_mark_file};
use super::swap::is_store_file;
use super::StoreError;

/// sled's files: path below the store directory → (size, modified, ns).
pub type Fingerprint = BTreeMap<String, (u64, i128)>;

/// How long a clean stop waits for sled to close its files.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

fn io(e: std::io::Error) -> StoreError {
    StoreError::Io(sled::Error::Io(e))
}

pub(super) fn fingerprint(dir: &Path) -> Result<Fingerprint, StoreError> {
    let mut files = Fingerprint::new();
    let mut dirs = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = dirs.pop() {
        for entry in std::fs::read_dir(&d).map_err(io)? {
            let entry = entry.map_err(io)?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if prefix.is_empty() && !is_store_file(&name) || name == "control.sock" {
                continue;
            }
            let meta = entry.metadata().map_err(io)?;
            let rel = format!("{prefix}{name}");
            if meta.is_dir() {
                dirs.push((entry.path(), format!("{rel}/")));
            } else {
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos() as i128);
                files.insert(rel, (meta.len(), modified));
            }
        }
    }
    Ok(files)
}

/// Whether sled's files are as a clean stop left them.
pub(super) fn untouched_since_clean_stop(dir: &Path) -> Result<bool, StoreError> {
    let Some(Ok(mark)) = read_mark(dir) else {
        return Ok(false);
    };
    Ok(match mark.clean_stop {
        Some(recorded) => recorded == fingerprint(dir)?,
        None => false,
    })
}

/// Records a clean stop of the store at `dir`, once no sled database of this
/// process holds it any more; `Ok(false)` when sled did not let go in time
/// (the next start then runs the full check).
pub fn record_clean_stop(dir: &Path) -> Result<bool, StoreError> {
    let Some(Ok(mut mark)) = read_mark(dir) else {
        return Ok(false);
    };
    if !closed(&dir.join("db"))? {
        return Ok(false);
    }
    mark.clean_stop = Some(fingerprint(dir)?);
    write_mark_file(dir, &mark)?;
    Ok(true)
}

/// Waits until nobody holds sled's lock on `db`.
fn closed(db: &Path) -> Result<bool, StoreError> {
    use rustix::fs::{flock, FlockOperation};
    let file = match std::fs::File::open(db) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io(e)),
    };
    let deadline = Instant::now() + CLOSE_WAIT;
    loop {
        if flock(file.as_fd(), FlockOperation::NonBlockingLockExclusive).is_ok() {
            return Ok(true);
        }
        if Instant::now() > deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{commit_new, new_ticket};
    use crate::store::Store;

    fn flushed_store(dir: &Path) {
        let store = Store::open_checked(dir, crate::store::DEFAULT_CACHE_BYTES).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2023, 10, 9).unwrap();
        commit_new(&store, day, new_ticket());
        tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(store.flush())
            .unwrap();
    }

    #[test]
    fn only_untouched_files_after_a_clean_stop_skip_the_full_check() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("state");
        flushed_store(&dir);
        assert!(
            !untouched_since_clean_stop(&dir).unwrap(),
            "no clean stop yet"
        );
        assert!(record_clean_stop(&dir).unwrap());
        assert!(untouched_since_clean_stop(&dir).unwrap());

        // Opening drops the record: a crash from here on means a full check.
        drop(Store::open_checked(&dir, crate::store::DEFAULT_CACHE_BYTES).unwrap());
        assert!(read_mark(&dir).unwrap().unwrap().clean_stop.is_none());

        assert!(record_clean_stop(&dir).unwrap());
        let conf = dir.join("conf");
        let mut bytes = std::fs::read(&conf).unwrap();
        bytes.push(b'\n');
        std::fs::write(&conf, bytes).unwrap();
        assert!(!untouched_since_clean_stop(&dir).unwrap(), "a touched file");
    }
}
