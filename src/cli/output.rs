//! Printing: JSON for scripts (C1 controls escaped, as `intake::inert` wants),
//! text for people, and files only their owner can read.

use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

use super::Ctx;

/// Pretty JSON for stdout, C1 controls escaped (serde_json escapes only C0).
pub fn json_text<T: Serialize>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string_pretty(value).map(|t| crate::intake::inert::escape_json(&t))
}

/// One JSON line, likewise.
pub fn json_line<T: Serialize>(value: &T) -> String {
    crate::intake::inert::escape_json(&serde_json::to_string(value).unwrap_or_default())
}

impl Ctx {
    /// `value` as JSON with `--json`, else what `text` prints.
    pub fn emit<T: Serialize>(&self, value: &T, text: impl FnOnce(&T)) -> anyhow::Result<()> {
        if self.json {
            println!("{}", json_text(value)?);
        } else {
            text(value);
        }
        Ok(())
    }
}

/// Writes a file only its owner can read (0600), also when it existed before.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = create_private(path)?;
    std::io::Write::write_all(&mut file, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

/// Creates (or truncates) a file only its owner can read, for writing.
pub fn create_private(path: &Path) -> anyhow::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let context = || format!("cannot write {}", path.display());
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(context)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .with_context(context)?;
    Ok(file)
}
