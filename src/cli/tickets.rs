//! `itdesk tickets …`: list, show, open and every staff change (one line per
//! `Change`), a ticket's attachments, and printing tickets.

use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::{DateTime, NaiveDateTime, Utc};
use clap::{Args, Subcommand};
use serde_json::Value;

use super::{json_text, parse_id, parse_status, parse_type, parse_urgency, request, write_private};
use crate::config::Config;
use crate::control::{Change, ControlRequest};
use crate::core::ticket::{ProblemType, Status, Ticket, Urgency};

#[derive(Args)]
pub(super) struct Actor {
    /// Acting for someone else: logged as "LOGIN (for NAME)". The actor is
    /// always your own login, from the control socket's peer credentials.
    #[arg(long)]
    by: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub(super) enum TicketCommand {
    /// Log a request that came in by phone or in person (same intake as mail).
    Open {
        #[arg(long)]
        from: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        body: String,
        #[arg(long, value_parser = parse_urgency)]
        urgency: Option<Urgency>,
        #[arg(long = "type", value_parser = parse_type)]
        problem_type: Option<ProblemType>,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long, value_parser = parse_status)]
        status: Option<Status>,
        #[arg(long)]
        json: bool,
    },
    Show {
        id: String,
        #[arg(long)]
        json: bool,
        /// The whole record as Markdown, in the form's field order.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
    },
    /// Take the ticket yourself.
    Claim {
        id: String,
        #[command(flatten)]
        actor: Actor,
    },
    Assign {
        id: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Internal note, never shown to the requester.
    Note {
        id: String,
        text: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// A remark (备注) kept with the ticket, e.g. "需现场支持".
    Remark {
        id: String,
        text: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// The ticket's attachments: name, type, size.
    Attachments {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Write one attachment of the ticket to FILE.
    Attachment {
        id: String,
        name: String,
        #[arg(long)]
        output: PathBuf,
    },
    /// A handling step (处理过程), shown in progress updates.
    Step {
        id: String,
        text: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Send a message to the requester.
    Reply {
        id: String,
        text: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Ask the requester something; the SLA clock pauses until they answer.
    Ask {
        id: String,
        text: String,
        #[command(flatten)]
        actor: Actor,
    },
    Urgency {
        id: String,
        #[arg(value_parser = parse_urgency)]
        urgency: Urgency,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        actor: Actor,
    },
    Type {
        id: String,
        #[arg(value_parser = parse_type)]
        problem_type: ProblemType,
        #[command(flatten)]
        actor: Actor,
    },
    /// Set a new ETA ("YYYY-MM-DD HH:MM" local time); the requester is told why.
    Eta {
        id: String,
        eta: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
    Escalate {
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
    Resolve {
        id: String,
        #[arg(long)]
        fix: String,
        #[command(flatten)]
        actor: Actor,
    },
    Reopen {
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
    Close {
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Record the requester's confirmation (and rating) for them, e.g. given
    /// by phone: logged as "LOGIN (for REQUESTER)".
    Confirm {
        id: String,
        /// 1–5.
        #[arg(long)]
        stars: Option<u8>,
        #[arg(long)]
        remark: Option<String>,
        #[command(flatten)]
        actor: Actor,
    },
    /// Record the requester's "still broken" for them: reopens the ticket.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
}

pub(super) async fn tickets(config: &Config, cmd: TicketCommand) -> anyhow::Result<()> {
    let (req, json) = match cmd {
        TicketCommand::Open {
            from,
            name,
            subject,
            body,
            urgency,
            problem_type,
            json,
        } => (
            ControlRequest::Open {
                from,
                name,
                subject,
                body,
                urgency,
                problem_type,
            },
            json,
        ),
        TicketCommand::List { status, json } => {
            let answer = request(config, ControlRequest::List { status }).await?;
            if json {
                println!("{}", json_text(&answer)?);
            } else {
                print_list(&answer);
            }
            return Ok(());
        }
        TicketCommand::Show { id, json, markdown } => {
            let answer = request(config, ControlRequest::Show { id: parse_id(&id)? }).await?;
            let ticket: Ticket = serde_json::from_value(answer.clone())?;
            match (json, markdown) {
                (true, _) => println!("{}", json_text(&answer)?),
                (_, true) => print!(
                    "{}",
                    crate::record::markdown(
                        &ticket,
                        &config.policy().calendar,
                        config.default_lang()
                    )
                ),
                _ => print_ticket(config, &ticket),
            }
            return Ok(());
        }
        TicketCommand::Claim { id, actor } => act(&id, actor, Change::Claim)?,
        TicketCommand::Assign { id, to, actor } => act(&id, actor, Change::Assign { to })?,
        TicketCommand::Note { id, text, actor } => act(&id, actor, Change::Note { text })?,
        TicketCommand::Remark { id, text, actor } => act(&id, actor, Change::Remark { text })?,
        TicketCommand::Attachments { id, json } => {
            let answer = request(config, ControlRequest::Show { id: parse_id(&id)? }).await?;
            if json {
                println!("{}", json_text(&answer["attachments"])?);
            } else {
                for a in answer["attachments"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                {
                    println!(
                        "{}  {}  {} bytes",
                        a["name"].as_str().unwrap_or("?"),
                        a["content_type"].as_str().unwrap_or("?"),
                        a["size"]
                    );
                }
            }
            return Ok(());
        }
        TicketCommand::Attachment { id, name, output } => {
            let data = fetch_attachment(config, &id, &name).await?;
            write_private(&output, &data)?;
            eprintln!(
                "wrote {name} ({} bytes) to {}",
                data.len(),
                output.display()
            );
            return Ok(());
        }
        TicketCommand::Step { id, text, actor } => act(&id, actor, Change::Step { text })?,
        TicketCommand::Reply { id, text, actor } => act(&id, actor, Change::Reply { text })?,
        TicketCommand::Ask { id, text, actor } => act(&id, actor, Change::Ask { text })?,
        TicketCommand::Urgency {
            id,
            urgency,
            reason,
            actor,
        } => act(
            &id,
            actor,
            Change::Urgency {
                to: urgency,
                reason,
            },
        )?,
        TicketCommand::Type {
            id,
            problem_type,
            actor,
        } => act(&id, actor, Change::Type { to: problem_type })?,
        TicketCommand::Eta {
            id,
            eta,
            reason,
            actor,
        } => {
            let eta = parse_local(config, &eta)?;
            act(&id, actor, Change::Eta { eta, reason })?
        }
        TicketCommand::Escalate { id, reason, actor } => {
            act(&id, actor, Change::Escalate { reason })?
        }
        TicketCommand::Resolve { id, fix, actor } => act(&id, actor, Change::Resolve { fix })?,
        TicketCommand::Reopen { id, reason, actor } => act(&id, actor, Change::Reopen { reason })?,
        TicketCommand::Close { id, reason, actor } => act(&id, actor, Change::Close { reason })?,
        TicketCommand::Confirm {
            id,
            stars,
            remark,
            actor,
        } => act(&id, actor, Change::ConfirmForRequester { stars, remark })?,
        TicketCommand::Reject { id, reason, actor } => {
            act(&id, actor, Change::RejectForRequester { reason })?
        }
    };
    let answer = request(config, req).await?;
    if json {
        println!("{}", json_text(&answer)?);
    } else {
        let ticket: Ticket = serde_json::from_value(answer)?;
        print_ticket(config, &ticket);
    }
    Ok(())
}

fn act(id: &str, actor: Actor, change: Change) -> anyhow::Result<(ControlRequest, bool)> {
    Ok((
        ControlRequest::Act {
            id: parse_id(id)?,
            on_behalf_of: actor.by,
            change,
        },
        actor.json,
    ))
}

fn parse_local(config: &Config, text: &str) -> anyhow::Result<DateTime<Utc>> {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .with_context(|| format!("{text:?} is not a time like \"2023-10-01 17:30\""))?;
    let tz = config.policy().calendar.tz();
    let local = naive
        .and_local_timezone(tz)
        .earliest()
        .with_context(|| format!("{text} does not exist in {tz} (DST gap)"))?;
    Ok(local.with_timezone(&Utc))
}

pub(super) fn print_list(answer: &Value) {
    let tickets: Vec<Ticket> = serde_json::from_value(answer.clone()).unwrap_or_default();
    println!(
        "{:<15} {:<21} {:<7} {:<9} {:<13} {:<10} SUBJECT",
        "ID", "STATUS", "URGENCY", "TYPE", "GROUP", "ASSIGNEE"
    );
    for t in &tickets {
        println!(
            "{:<15} {:<21} {:<7} {:<9} {:<13} {:<10} {}",
            t.id,
            t.status.key(),
            t.urgency.key(),
            t.problem_type.key(),
            t.group,
            t.assignee.as_deref().unwrap_or("-"),
            t.subject
        );
    }
    eprintln!("{} ticket(s)", tickets.len());
}

pub(super) fn print_ticket(config: &Config, t: &Ticket) {
    let cal = config.policy().calendar;
    let r = &t.requester;
    println!("{}  [{}]  {}", t.id, t.status.key(), t.subject);
    println!(
        "  requester : {} <{}> {} {}",
        r.display(),
        r.email.as_deref().unwrap_or("-"),
        r.department.as_deref().unwrap_or(""),
        r.contact.as_deref().unwrap_or("")
    );
    println!(
        "  type      : {} · urgency {} · group {} · handler {}",
        t.problem_type.key(),
        t.urgency.key(),
        t.group,
        t.assignee.as_deref().unwrap_or("-")
    );
    println!(
        "  created   : {} · ack due {} · ETA {}",
        cal.format_local(t.created_at),
        cal.format_local(t.ack_due),
        cal.format_local(t.eta)
    );
    if let Some(e) = &t.expected_time {
        println!("  expected  : {e}");
    }
    println!("  description:");
    for line in t.description.lines() {
        println!("    {line}");
    }
    for a in &t.attachments {
        println!(
            "  attachment: {} ({}, {} bytes)",
            a.name, a.content_type, a.size
        );
    }
    println!("  log:");
    for e in &t.log {
        println!(
            "    {} {:<10} {}: {}",
            e.at.format("%Y-%m-%d %H:%M"),
            e.actor,
            crate::record::log_kind_label(e.kind, config.default_lang()),
            e.text
        );
    }
    if let Some(res) = &t.resolution {
        println!("  fix       : {}", res.fix);
    }
    if let Some(c) = &t.confirmation {
        println!("  confirmed : {} on {}: {}", c.by, c.date, c.text);
    }
    if let Some(rt) = &t.rating {
        println!(
            "  rating    : {} {}",
            rt.stars_text(),
            rt.remark.as_deref().unwrap_or("")
        );
    }
}

/// Every attachment of `tickets` into `dir/<ticket ID>/<name>`, private.
pub(super) async fn export_attachments(
    config: &Config,
    tickets: &[Value],
    dir: &Path,
) -> anyhow::Result<()> {
    let mut written = 0;
    for t in tickets {
        let id = t["id"].as_str().unwrap_or_default();
        for a in t["attachments"].as_array().cloned().unwrap_or_default() {
            let name = a["name"].as_str().unwrap_or_default().to_string();
            let data = match fetch_attachment(config, id, &name).await {
                Ok(data) => data,
                Err(e) => {
                    eprintln!("{id}: {name}: not exported: {e}");
                    continue;
                }
            };
            let folder = dir.join(id);
            std::fs::create_dir_all(&folder)
                .with_context(|| format!("cannot create {}", folder.display()))?;
            // A name is the sender's: only its last component, never a path.
            let file = Path::new(&name)
                .file_name()
                .map_or_else(|| "attachment".into(), |n| n.to_owned());
            write_private(&folder.join(file), &data)?;
            written += 1;
        }
    }
    eprintln!("wrote {written} attachment(s) under {}", dir.display());
    Ok(())
}

/// One attachment's bytes, through the daemon (or the store when it is stopped).
async fn fetch_attachment(config: &Config, id: &str, name: &str) -> anyhow::Result<Vec<u8>> {
    let req = ControlRequest::Attachment {
        id: parse_id(id)?,
        name: name.to_string(),
    };
    let answer = request(config, req).await?;
    base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        answer["data"].as_str().unwrap_or_default(),
    )
    .context("the daemon sent an unreadable attachment")
}
