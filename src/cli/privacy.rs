//! `itdesk erase`, `itdesk retention` and `itdesk audit`: forgetting personal
//! data, and who looked at it.

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::Value;

use super::output::json_text;
use super::session::Session;
use super::{fail, Ctx};
use crate::config::Config;
use crate::control::{ControlRequest, ErrorCode};
use crate::store::AuditQuery;

#[derive(Args)]
pub struct EraseCmd {
    /// The requester: an email address or chat user id.
    #[arg(long)]
    requester: String,
    /// List what would be erased; erase nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
pub struct RetentionCmd {
    /// List the closed tickets past [retention] closed_after; erase nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
pub struct AuditCmd {
    /// Entries about this ticket.
    #[arg(long)]
    ticket: Option<String>,
    /// Entries whose actor contains this.
    #[arg(long)]
    actor: Option<String>,
    /// From this time on, e.g. "2026-12-01T00:00:00Z".
    #[arg(long)]
    since: Option<DateTime<Utc>>,
}

impl EraseCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        let req = ControlRequest::Erase {
            requester: self.requester,
            dry_run: self.dry_run,
        };
        run_erasure(&ctx.config, req, ctx.json).await
    }
}

impl RetentionCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        if ctx.config.settings.retention.is_none() && !self.dry_run {
            return Err(fail(
                ErrorCode::Config,
                "no [retention] closed_after in the config: nothing is due for erasure",
            ));
        }
        let req = ControlRequest::Retention {
            dry_run: self.dry_run,
        };
        run_erasure(&ctx.config, req, ctx.json).await
    }
}

/// Runs an erasure; with no daemon holding the store, rewrites it at once so
/// the erased data leaves the disk now.
async fn run_erasure(config: &Config, req: ControlRequest, json: bool) -> anyhow::Result<()> {
    let mut session = Session::open(config).await?;
    let daemon = session.is_daemon();
    let answer = session.call(req).await;
    session.close().await?;
    let mut answer = answer?;
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

impl AuditCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        let query = AuditQuery {
            ticket: self.ticket,
            actor: self.actor,
            since: self.since,
        };
        let answer = super::session::request(&ctx.config, ControlRequest::Audit { query }).await?;
        let cal = ctx.config.policy().calendar;
        ctx.emit(&answer, |answer| {
            for e in answer.as_array().into_iter().flatten() {
                let at = e["at"]
                    .as_str()
                    .and_then(|t| t.parse().ok())
                    .map_or_else(|| "?".into(), |t| cal.format_local(t));
                println!(
                    "{at}  {:<24} {:<16} {}",
                    e["actor"].as_str().unwrap_or("?"),
                    e["ticket"].as_str().unwrap_or("-"),
                    e["what"].as_str().unwrap_or("")
                );
            }
        })
    }
}
