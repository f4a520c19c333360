//! `itdesk recover`: after a restore, take in again the mail the store lost,
//! from the mailbox where processed mail stays; a summary, or `--json`.

use chrono::NaiveDate;
use clap::Args;
use serde_json::Value;

use super::session::request;
use super::{fail, Ctx};
use crate::control::{ControlRequest, ErrorCode};

#[derive(Args)]
pub struct RecoverCmd {
    /// Mail the server received on or after this day (YYYY-MM-DD): the date
    /// of the backup that was restored.
    #[arg(long)]
    since: NaiveDate,
    /// Report what would be recovered; change nothing.
    #[arg(long)]
    dry_run: bool,
}

impl RecoverCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        if ctx.config.imap.is_none() {
            return Err(fail(
                ErrorCode::Config,
                "the config has no [imap] section: there is no mailbox to recover from",
            ));
        }
        let req = ControlRequest::Recover {
            since: self.since,
            dry_run: self.dry_run,
        };
        let report = request(&ctx.config, req).await?;
        ctx.emit(&report, print_report)
    }
}

fn print_report(r: &Value) {
    let dry = r["dry_run"].as_bool().unwrap_or(false);
    let count = |key: &str| r[key].as_array().map_or(0, Vec::len);
    let (would, recovered) = if dry {
        ("would be ", "would be recovered")
    } else {
        ("", "recovered")
    };
    println!(
        "{} since {}{}",
        r["mailbox"].as_str().unwrap_or("?"),
        r["since"].as_str().unwrap_or("?"),
        if dry {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    );
    if let Some(sent) = r["sent_mailbox"].as_str() {
        println!("  original IDs known from {sent}: {}", r["known_ids"]);
    }
    println!("  scanned:                      {}", r["scanned"]);
    println!("  already present:              {}", r["already_present"]);
    println!("  {recovered} with original ID: {}", count("original_id"));
    println!("  {recovered} with new ID:      {}", count("new_id"));
    println!("  replies {would}applied:        {}", count("replies"));
    if dry {
        println!("  to intake (no ID known):      {}", count("to_intake"));
    }
    println!("  ignored:                      {}", count("ignored"));
    println!("  failed:                       {}", count("failed"));
    for (key, label) in [
        ("original_id", "original ID"),
        ("new_id", "new ID"),
        ("replies", "reply"),
        ("to_intake", "to intake"),
    ] {
        for m in r[key].as_array().into_iter().flatten() {
            println!(
                "  {label:<12} {:<16} uid {:<6} <{}>{}",
                m["ticket"].as_str().unwrap_or("-"),
                m["uid"],
                m["message_id"].as_str().unwrap_or("?"),
                m["note"]
                    .as_str()
                    .map(|n| format!(" — {n}"))
                    .unwrap_or_default()
            );
        }
    }
    for (key, label) in [("ignored", "ignored"), ("failed", "failed")] {
        for m in r[key].as_array().into_iter().flatten() {
            println!(
                "  {label:<12} uid {:<6} <{}>: {}",
                m["uid"],
                m["message_id"].as_str().unwrap_or("?"),
                m["reason"].as_str().unwrap_or("?")
            );
        }
    }
    for note in r["notes"].as_array().into_iter().flatten() {
        println!("note: {}", note.as_str().unwrap_or_default());
    }
}
