//! `itdesk erase`, `itdesk retention` and `itdesk audit`: forgetting personal
//! data, and who looked at it.

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::Value;

use super::{json_text, request};
use crate::config::Config;
use crate::control::{client, ControlRequest};
use crate::store::AuditQuery;

#[derive(Args)]
pub struct EraseArgs {
    /// The requester: an email address or chat user id.
    #[arg(long)]
    requester: String,
    /// List what would be erased; erase nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RetentionArgs {
    /// List the closed tickets past [retention] closed_after; erase nothing.
    #[arg(long)]
    dry_run: bool,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AuditArgs {
    #[arg(long)]
    ticket: Option<String>,
    /// Entries whose actor contains this.
    #[arg(long)]
    actor: Option<String>,
    /// From this time on, e.g. "2026-12-01T00:00:00Z".
    #[arg(long)]
    since: Option<DateTime<Utc>>,
    #[arg(long)]
    json: bool,
}

pub async fn erase(config: &Config, a: EraseArgs) -> anyhow::Result<()> {
    let req = ControlRequest::Erase {
        requester: a.requester,
        dry_run: a.dry_run,
    };
    run_erasure(config, req, a.json).await
}

pub async fn retention(config: &Config, a: RetentionArgs) -> anyhow::Result<()> {
    if config.settings.retention.is_none() && !a.dry_run {
        anyhow::bail!("no [retention] closed_after in the config: nothing is due for erasure");
    }
    run_erasure(
        config,
        ControlRequest::Retention { dry_run: a.dry_run },
        a.json,
    )
    .await
}

/// Runs an erasure; with no daemon holding the store, rewrites it at once so
/// the erased data leaves the disk now.
async fn run_erasure(config: &Config, req: ControlRequest, json: bool) -> anyhow::Result<()> {
    let daemon = client::connect(&config.control_socket()).await?.is_some();
    let mut answer = request(config, req).await?;
    let pending = answer["rewrite_pending"].as_bool().unwrap_or(false);
    if pending && !daemon {
        let dir = config.store.path.clone();
        tokio::task::spawn_blocking(move || crate::store::rewrite(&dir, Utc::now()))
            .await
            .context("the rewrite did not finish")??;
        answer["rewrite_pending"] = Value::Bool(false);
        answer["rewritten"] = Value::Bool(true);
    }
    if json {
        println!("{}", json_text(&answer)?);
        return Ok(());
    }
    print_erasure(&answer, daemon);
    Ok(())
}

fn print_erasure(answer: &Value, daemon: bool) {
    let dry = answer["dry_run"].as_bool().unwrap_or(false);
    let tickets = answer["tickets"].as_array().cloned().unwrap_or_default();
    println!(
        "{} {} ticket(s):",
        if dry { "would erase" } else { "erased" },
        tickets.len()
    );
    for t in &tickets {
        let closed = t["closed_at"].as_str().unwrap_or("open");
        println!("  {}  closed {closed}", t["id"].as_str().unwrap_or("?"));
    }
    if let Some(counts) = answer["erased"].as_object() {
        let parts: Vec<String> = counts
            .iter()
            .filter(|(k, n)| *k != "tickets" && n.as_u64().unwrap_or(0) > 0)
            .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
            .collect();
        if !parts.is_empty() {
            println!("and {}", parts.join(", "));
        }
    }
    if dry {
        return;
    }
    if answer["rewritten"].as_bool().unwrap_or(false) {
        println!("the store was rewritten: the erased data is gone from its files");
    } else if answer["rewrite_pending"].as_bool().unwrap_or(false) && daemon {
        println!("the erased data leaves the store's files when the daemon next starts (it rewrites the store then): restart it, e.g. systemctl restart itdesk");
    }
    let backups = answer["older_backups"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !backups.is_empty() {
        println!(
            "{} backup(s) older than this erasure still contain the data:",
            backups.len()
        );
        for b in &backups {
            println!("  {}", b["path"].as_str().unwrap_or("?"));
        }
    }
}

pub async fn audit(config: &Config, a: AuditArgs) -> anyhow::Result<()> {
    let query = AuditQuery {
        ticket: a.ticket,
        actor: a.actor,
        since: a.since,
    };
    let answer = request(config, ControlRequest::Audit { query }).await?;
    if a.json {
        println!("{}", json_text(&answer)?);
        return Ok(());
    }
    for e in answer.as_array().cloned().unwrap_or_default() {
        println!(
            "{}  {:<24} {:<16} {}",
            e["at"].as_str().unwrap_or("?"),
            e["actor"].as_str().unwrap_or("?"),
            e["ticket"].as_str().unwrap_or("-"),
            e["what"].as_str().unwrap_or("")
        );
    }
    Ok(())
}
