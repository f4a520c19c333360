//! `itdesk backup` (a snapshot, while the daemon runs or not), and `itdesk
//! restore` and `itdesk fsck`: the stopped daemon's store, put back from a
//! backup or checked and repaired.

use std::path::PathBuf;

use anyhow::Context;
use chrono::Utc;
use clap::Args;
use serde_json::Value;

use super::output::json_text;
use super::session::{request, COMMAND_CACHE_MB};
use super::{fail, Ctx};
use crate::config::Config;
use crate::control::{client, ControlRequest, ErrorCode};
use crate::store::{Replaced, Store, StoreError};

#[derive(Args)]
pub struct BackupCmd {
    /// Where to write the snapshot (FILE.partial until complete; mode 0600).
    /// Under the shipped unit: a path in /var/lib/itdesk/backups.
    file: PathBuf,
}

#[derive(Args)]
pub struct RestoreCmd {
    /// A file written by `itdesk backup`.
    file: PathBuf,
    /// Restore in place of the store there now, whose files are kept in
    /// [store].path/replaced-TIME (delete them when no longer needed).
    #[arg(long)]
    replace: bool,
}

#[derive(Args)]
pub struct FsckCmd {
    /// Rebuild the store from every record that reads; the damaged files
    /// are kept in [store].path/replaced-TIME.
    #[arg(long)]
    repair: bool,
}

/// Both work on the store's files: no daemon may hold them.
async fn ensure_stopped(config: &Config, what: &str) -> anyhow::Result<()> {
    let socket = config.control_socket();
    if client::connect(&socket).await?.is_some() {
        return Err(fail(
            ErrorCode::Refused,
            format!(
                "a daemon answers at {}: stop it first — {what} works on the store's files",
                socket.display()
            ),
        ));
    }
    Ok(())
}

impl BackupCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        // The daemon has another working directory: give it the full path.
        let path = std::path::absolute(&self.file)
            .with_context(|| format!("cannot resolve {}", self.file.display()))?;
        let answer = request(&ctx.config, ControlRequest::Backup { path }).await?;
        print_backup("backed up", &answer, ctx.json)
    }
}

impl RestoreCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        restore(&ctx.config, self, ctx.json).await
    }
}

impl FsckCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        fsck(&ctx.config, self, ctx.json).await
    }
}

async fn restore(config: &Config, a: RestoreCmd, json: bool) -> anyhow::Result<()> {
    ensure_stopped(config, "restore").await?;
    let dir = config.store.path.clone();
    let file = a.file;
    if a.replace {
        let replaced =
            tokio::task::spawn_blocking(move || Store::restore_replacing(&file, &dir, Utc::now()))
                .await
                .context("the restore did not finish")??;
        print_replaced("restored", &replaced, json)?;
    } else {
        let summary = tokio::task::spawn_blocking(move || Store::restore(&file, &dir))
            .await
            .context("the restore did not finish")??;
        print_backup("restored", &serde_json::to_value(&summary)?, json)?;
    }
    eprintln!(
        "restored into {}; start the daemon with this config to use it, then `itdesk recover --since DATE` brings back mail processed after the backup",
        config.store.path.display()
    );
    Ok(())
}

async fn fsck(config: &Config, a: FsckCmd, json: bool) -> anyhow::Result<()> {
    ensure_stopped(config, "fsck").await?;
    let dir = config.store.path.clone();
    if a.repair {
        let repaired = tokio::task::spawn_blocking(move || Store::repair(&dir, Utc::now()))
            .await
            .context("the repair did not finish")??;
        return print_replaced("repaired", &repaired, json);
    }
    let found = tokio::task::spawn_blocking(move || {
        Store::open_checked(&dir, COMMAND_CACHE_MB << 20).map(drop)
    })
    .await
    .context("the check did not finish")?;
    match found {
        Ok(()) if json => println!("{}", json_text(&serde_json::json!({"damaged": false}))?),
        Ok(()) => println!("{}: no damage found", config.store.path.display()),
        Err(StoreError::Damaged(d)) => {
            if json {
                println!("{}", json_text(&d)?);
            } else {
                println!("{}: damaged", d.path.display());
                for damage in &d.damages {
                    println!("  {damage}");
                }
                if d.more > 0 {
                    println!("  and {} more", d.more);
                }
            }
            anyhow::bail!("the store is damaged: `itdesk fsck --repair` keeps every record it can read, or `itdesk restore --replace FILE` puts a backup in its place");
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

fn print_replaced(what: &str, r: &Replaced, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", json_text(r)?);
        return Ok(());
    }
    print_backup(what, &serde_json::to_value(&r.restored)?, false)?;
    if let Some(s) = &r.salvage {
        for (tree, n) in &s.left_out {
            println!("left out: {n} unreadable record(s) of {tree}");
        }
        for (tree, error) in &s.unreadable {
            println!("unreadable past some point: {tree} ({error})");
        }
        if s.lost_attachments > 0 {
            println!(
                "{} attachment(s) whose files were lost taken off their tickets (noted in each ticket's log)",
                s.lost_attachments
            );
        }
    }
    println!(
        "the replaced store's files are kept in {}",
        r.kept_in.display()
    );
    Ok(())
}

fn print_backup(what: &str, summary: &Value, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", json_text(summary)?);
        return Ok(());
    }
    let trees = summary["trees"]
        .as_object()
        .map(|t| {
            t.iter()
                .map(|(name, n)| format!("{name} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    println!(
        "{what} {} records ({trees}) — {} (sha256 {})",
        summary["records"],
        summary["file"].as_str().unwrap_or_default(),
        summary["sha256"].as_str().unwrap_or_default()
    );
    Ok(())
}
