//! `itdesk restore` and `itdesk fsck`: the stopped daemon's store, put back
//! from a backup or checked and repaired.

use std::path::PathBuf;

use anyhow::{bail, Context};
use chrono::Utc;
use clap::Args;

use super::{json_text, print_backup};
use crate::config::Config;
use crate::control::client;
use crate::store::{Replaced, Store, StoreError};

#[derive(Args)]
pub struct RestoreArgs {
    file: PathBuf,
    /// Restore in place of the store there now, whose files are kept in
    /// [store].path/replaced-TIME (delete them when no longer needed).
    #[arg(long)]
    replace: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct FsckArgs {
    /// Rebuild the store from every record that reads; the damaged files
    /// are kept in [store].path/replaced-TIME.
    #[arg(long)]
    repair: bool,
    #[arg(long)]
    json: bool,
}

/// Both work on the store's files: no daemon may hold them.
async fn ensure_stopped(config: &Config, what: &str) -> anyhow::Result<()> {
    let socket = config.control_socket();
    if client::connect(&socket).await?.is_some() {
        bail!(
            "a daemon answers at {}: stop it first — {what} works on the store's files",
            socket.display()
        );
    }
    Ok(())
}

pub async fn restore(config: &Config, a: RestoreArgs) -> anyhow::Result<()> {
    ensure_stopped(config, "restore").await?;
    let dir = config.store.path.clone();
    let file = a.file;
    if a.replace {
        let replaced =
            tokio::task::spawn_blocking(move || Store::restore_replacing(&file, &dir, Utc::now()))
                .await
                .context("the restore did not finish")??;
        print_replaced("restored", &replaced, a.json)?;
    } else {
        let summary = tokio::task::spawn_blocking(move || Store::restore(&file, &dir))
            .await
            .context("the restore did not finish")??;
        print_backup("restored", &serde_json::to_value(&summary)?, a.json)?;
    }
    eprintln!(
        "restored into {}; start the daemon with this config to use it, then `itdesk recover --since DATE` brings back mail processed after the backup",
        config.store.path.display()
    );
    Ok(())
}

pub async fn fsck(config: &Config, a: FsckArgs) -> anyhow::Result<()> {
    ensure_stopped(config, "fsck").await?;
    let dir = config.store.path.clone();
    if a.repair {
        let repaired = tokio::task::spawn_blocking(move || Store::repair(&dir, Utc::now()))
            .await
            .context("the repair did not finish")??;
        return print_replaced("repaired", &repaired, a.json);
    }
    let found = tokio::task::spawn_blocking(move || Store::open_checked(&dir).map(drop))
        .await
        .context("the check did not finish")?;
    match found {
        Ok(()) if a.json => println!("{}", json_text(&serde_json::json!({"damaged": false}))?),
        Ok(()) => println!("{}: no damage found", config.store.path.display()),
        Err(StoreError::Damaged(d)) => {
            if a.json {
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
            bail!("the store is damaged: `itdesk fsck --repair` keeps every record it can read, or `itdesk restore --replace FILE` puts a backup in its place");
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
