//! `itdesk outbox …` (queued notices and timers, dead letters) and
//! `itdesk quarantine …` (mail that could not be processed). Times are shown
//! in the [calendar] time zone, as `tickets show` does; `--json` keeps UTC.

use clap::{Args, Subcommand};
use serde_json::Value;

use super::session::request;
use super::table::Columns;
use super::Ctx;
use crate::control::ControlRequest;
use crate::core::calendar::Calendar;
use crate::queue::{DeadLetter, EntryBody, QueueEntry};

#[derive(Args)]
pub struct OutboxCmd {
    #[command(subcommand)]
    action: OutboxAction,
}

#[derive(Subcommand)]
enum OutboxAction {
    /// What waits in the queue (notices and timers) and the dead letters.
    List,
    /// Put a dead letter back in the queue.
    Retry {
        /// The dead letter's entry number, as `outbox list` shows it.
        entry: u64,
    },
}

#[derive(Args)]
pub struct QuarantineCmd {
    #[command(subcommand)]
    action: QuarantineAction,
}

#[derive(Subcommand)]
enum QuarantineAction {
    /// Every quarantined message: when, from where, why.
    List,
    /// Print the message as it came, with secrets masked.
    Show {
        /// The message's number, as `quarantine list` shows it.
        id: u64,
    },
    /// Run it through intake again; it leaves the quarantine if that works.
    Retry {
        /// The message's number.
        id: u64,
    },
    /// Remove it from the quarantine for good.
    Delete {
        /// The message's number.
        id: u64,
    },
}

const QUEUE_COLUMNS: Columns = Columns(&[
    ("ENTRY", Some(8)),
    ("DUE", Some(17)),
    ("TICKET", Some(16)),
    ("TRIES", Some(6)),
    ("WHAT", Some(26)),
    ("TO", None),
]);

const DEAD_COLUMNS: Columns = Columns(&[
    ("ENTRY", Some(8)),
    ("BURIED", Some(17)),
    ("TICKET", Some(16)),
    ("WHAT", Some(26)),
    ("TO", Some(32)),
    ("ERROR", None),
]);

impl OutboxCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        match self.action {
            OutboxAction::List => {
                let answer = request(&ctx.config, ControlRequest::OutboxList).await?;
                let queued: Vec<QueueEntry> = serde_json::from_value(answer["queued"].clone())?;
                let dead: Vec<DeadLetter> = serde_json::from_value(answer["dead_letters"].clone())?;
                let cal = ctx.config.policy().calendar;
                ctx.emit(&answer, |_| print_outbox(&cal, &queued, &dead))
            }
            OutboxAction::Retry { entry } => {
                let answer = request(&ctx.config, ControlRequest::OutboxRetry { entry }).await?;
                ctx.emit(&answer, |_| println!("dead letter {entry} queued again"))
            }
        }
    }
}

fn print_outbox(cal: &Calendar, queued: &[QueueEntry], dead: &[DeadLetter]) {
    let entry_row = |e: &QueueEntry, when: String| {
        let (what, to) = describe(&e.body);
        let ticket = e.ticket.as_ref().map_or("-".into(), ToString::to_string);
        (e.id.to_string(), when, ticket, what, to)
    };
    println!("queued: {}", queued.len());
    let rows: Vec<Vec<String>> = queued
        .iter()
        .map(|e| {
            let (id, due, ticket, what, to) = entry_row(e, cal.format_local(e.due));
            vec![id, due, ticket, e.attempts.to_string(), what, to]
        })
        .collect();
    if !rows.is_empty() {
        print!("{}", QUEUE_COLUMNS.render(&rows, true));
    }
    println!("dead letters: {}", dead.len());
    let rows: Vec<Vec<String>> = dead
        .iter()
        .map(|d| {
            let (id, buried, ticket, what, to) = entry_row(&d.entry, cal.format_local(d.buried_at));
            vec![id, buried, ticket, what, to, d.error.clone()]
        })
        .collect();
    if !rows.is_empty() {
        print!("{}", DEAD_COLUMNS.render(&rows, true));
    }
}

/// What an entry is and whom it goes to, in a few words.
fn describe(body: &EntryBody) -> (String, String) {
    match body {
        EntryBody::Notice(n) => (format!("notice {}", key(&n.kind)), n.dest.to_string()),
        EntryBody::Prepared(p) => (format!("message {}", key(&p.kind)), p.dest.to_string()),
        EntryBody::Wake { kind } => (format!("timer {}", key(kind)), "-".into()),
        EntryBody::Digest { cadence, .. } => (format!("digest {}", cadence.key()), "-".into()),
        EntryBody::Retention => ("retention run".into(), "-".into()),
    }
}

/// The serde name of a unit enum value (`accepted`, `ack_due`, …).
fn key<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        other => other.map(|v| v.to_string()).unwrap_or_default(),
    }
}

impl QuarantineCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        let req = match self.action {
            QuarantineAction::List => ControlRequest::QuarantineList,
            QuarantineAction::Show { id } => ControlRequest::QuarantineShow { id },
            QuarantineAction::Retry { id } => ControlRequest::QuarantineRetry { id },
            QuarantineAction::Delete { id } => ControlRequest::QuarantineDelete { id },
        };
        let answer = request(&ctx.config, req).await?;
        let cal = ctx.config.policy().calendar;
        ctx.emit(&answer, |answer| match answer {
            Value::Array(items) => {
                for q in items {
                    let at = q["at"]
                        .as_str()
                        .and_then(|t| t.parse().ok())
                        .map_or_else(String::new, |t| cal.format_local(t));
                    println!(
                        "{:<6} {at}  {:<30} {}",
                        q["id"],
                        q["origin"].as_str().unwrap_or(""),
                        q["reason"].as_str().unwrap_or("")
                    );
                }
                eprintln!("{} quarantined message(s)", items.len());
            }
            other => match other["masked"].as_str() {
                Some(text) => print!("{text}"),
                None => println!("{}", super::output::json_line(other)),
            },
        })
    }
}
