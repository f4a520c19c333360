//! Putting fresh store files in place of the old ones, inside the store's own
//! directory (the daemon may own nothing above it, e.g. systemd's
//! StateDirectory): a backup of what to keep is restored into a fresh store,
//! whose files then take the old ones' place. A swap cut short by a crash is
//! finished or undone by `finish_interrupted`, which every checked open runs.
//!
//! The ID mark, the quarantine's key and the kept copies of earlier stores
//! stay where they are.

use std::path::{Path, PathBuf};

use super::backup::{BackupError, BackupSummary};
use super::integrity::MARK_FILE;
use super::seal::KEY_FILE;
use super::Store;

/// The swap's own files inside the store directory.
const FILE: &str = ".rewrite.backup";
pub(super) const FRESH: &str = ".rewrite.fresh";
pub(super) const OLD: &str = ".rewrite.old";
/// A copy of a store sled cannot open, without its snapshot (`fsck --repair`).
const SALVAGE: &str = ".rewrite.salvage";
/// Present while the fresh files move in: from then on, finish instead of undo.
pub(super) const MOVING_IN: &str = ".rewrite.moving-in";
/// Prefix of a kept copy of replaced store files (`fsck --repair`, `restore --replace`).
pub const KEPT_PREFIX: &str = "replaced-";

/// Where the backup of what to keep goes before `swap_in`.
pub(super) fn backup_file(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Finishes or undoes a swap cut short, and removes its leftovers.
pub fn finish_interrupted(dir: &Path) -> std::io::Result<()> {
    let (fresh, old) = (dir.join(FRESH), dir.join(OLD));
    let moving_in = dir.join(MOVING_IN);
    if moving_in.exists() {
        move_entries(&fresh, dir)?;
    } else if old.exists() {
        move_entries(&old, dir)?;
    }
    for leftover in [&fresh, &old, &dir.join(SALVAGE)] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover)?;
        }
    }
    for leftover in [&dir.join(FILE), &moving_in] {
        if leftover.exists() {
            std::fs::remove_file(leftover)?;
        }
    }
    Ok(())
}

/// Restores `backup` into a fresh store and puts its files in place of the
/// old ones, which are removed, or kept in the directory `keep_old` inside
/// `dir`. `backup` is removed when it is the swap's own (`backup_file`).
pub(super) fn swap_in(
    dir: &Path,
    backup: &Path,
    keep_old: Option<&str>,
) -> Result<BackupSummary, BackupError> {
    let io = |source| BackupError::Write {
        path: dir.to_path_buf(),
        source,
    };
    let (file, fresh, old) = (dir.join(FILE), dir.join(FRESH), dir.join(OLD));
    let moving_in = dir.join(MOVING_IN);
    let summary = Store::restore(backup, &fresh)?;
    std::fs::create_dir(&old).map_err(io)?;
    move_entries(dir, &old).map_err(io)?;
    std::fs::File::create(&moving_in).map_err(io)?;
    move_entries(&fresh, dir).map_err(io)?;
    std::fs::remove_file(&moving_in).map_err(io)?;
    match keep_old {
        Some(name) => std::fs::rename(&old, dir.join(name)).map_err(io)?,
        None => std::fs::remove_dir_all(&old).map_err(io)?,
    }
    std::fs::remove_dir_all(&fresh).map_err(io)?;
    if backup == file {
        std::fs::remove_file(&file).map_err(io)?;
    }
    Ok(summary)
}

/// Copies the store's files except sled's snapshot into a scratch directory:
/// sled then rebuilds its state from the log, up to where it is damaged,
/// instead of refusing a snapshot that disagrees with the log.
pub(super) fn copy_without_snapshot(dir: &Path) -> std::io::Result<PathBuf> {
    let salvage = dir.join(SALVAGE);
    if salvage.exists() {
        std::fs::remove_dir_all(&salvage)?;
    }
    copy_tree(dir, &salvage, &|name| {
        is_store_file(name) && !name.starts_with("snap.")
    })?;
    Ok(salvage)
}

fn copy_tree(from: &Path, to: &Path, wanted: &dyn Fn(&str) -> bool) -> std::io::Result<()> {
    std::fs::create_dir(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if !wanted(&name.to_string_lossy()) {
            continue;
        }
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &to.join(&name), &|_| true)?;
        } else {
            std::fs::copy(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}

/// Whether `name` in a store directory is one of sled's files (not the
/// swap's own, the ID mark, or a kept copy).
pub(super) fn is_store_file(name: &str) -> bool {
    !(name.starts_with(".rewrite.")
        || name == MARK_FILE
        || name == KEY_FILE
        || name.starts_with(KEPT_PREFIX))
}

/// Moves every store file of `from` into `to`.
pub(super) fn move_entries(from: &Path, to: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if is_store_file(&name.to_string_lossy()) {
            std::fs::rename(entry.path(), to.join(&name))?;
        }
    }
    Ok(())
}
