//! `itdesk tickets …`: list (paged, filtered, streamed), show, open and every
//! staff change (one line per `Change`), and a ticket's attachments.

use std::path::PathBuf;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use clap::{Args, Subcommand};

use super::session::{request, Flow, Session};
use super::tickets_print::{fetch_attachment, print_ticket, ListPrinter};
use super::{fail, output, parse_id, parse_status, parse_type, parse_urgency, Ctx};
use crate::control::{Change, ControlRequest, ErrorCode, TicketFilter, PAGE_LIMIT};
use crate::core::id::TicketId;
use crate::core::ticket::{ProblemType, Status, Ticket, Urgency};

#[derive(Args)]
pub struct TicketsCmd {
    #[command(subcommand)]
    action: Action,
}

/// The ticket a command works on.
#[derive(Args)]
struct On {
    /// The ticket, e.g. IT20231001001.
    #[arg(value_parser = parse_id)]
    id: TicketId,
}

#[derive(Args)]
struct Actor {
    /// Acting for someone else: logged as "LOGIN (for NAME)". The actor is
    /// always your own login, from the control socket's peer credentials.
    #[arg(long)]
    by: Option<String>,
}

#[derive(Args)]
struct ListArgs {
    /// Only tickets in this status: new, acknowledged, in_progress,
    /// waiting_on_requester, escalated, resolved, closed or reopened.
    #[arg(long, value_parser = parse_status)]
    status: Option<Status>,
    /// Only this technician group's tickets.
    #[arg(long)]
    group: Option<String>,
    /// Only tickets handled by this technician.
    #[arg(long)]
    assignee: Option<String>,
    /// Only this requester's tickets: their address or chat user id (any
    /// case), or their name.
    #[arg(long)]
    requester: Option<String>,
    /// Only tickets opened on or after this day (YYYY-MM-DD, the day in the ID).
    #[arg(long, value_name = "DAY")]
    since: Option<NaiveDate>,
    /// Only tickets opened on or before this day (YYYY-MM-DD).
    #[arg(long, value_name = "DAY")]
    until: Option<NaiveDate>,
    /// At most this many tickets; stderr then says how to go on (--after).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,
    /// Start after this ticket ID (the last one of the previous page).
    #[arg(long, value_name = "ID", value_parser = parse_id)]
    after: Option<TicketId>,
}

#[derive(Subcommand)]
enum Action {
    /// Log a request that came in by phone or in person (same intake as mail).
    Open {
        /// The requester's mail address.
        #[arg(long)]
        from: String,
        /// The requester's name.
        #[arg(long)]
        name: Option<String>,
        /// What the request is about, in one line.
        #[arg(long)]
        subject: String,
        /// The request in the requester's words.
        #[arg(long)]
        body: String,
        /// Urgency chosen at the desk (else guessed from the text).
        #[arg(long, value_parser = parse_urgency)]
        urgency: Option<Urgency>,
        /// Problem type chosen at the desk (else guessed from the text).
        #[arg(long = "type", value_parser = parse_type)]
        problem_type: Option<ProblemType>,
    },
    /// Tickets in ID order, filtered and a page at a time; streamed, so any
    /// store size lists in constant memory.
    List(ListArgs),
    /// One ticket in full: requester, times, description, log.
    Show {
        #[command(flatten)]
        on: On,
        /// The whole record as Markdown, in the form's field order.
        #[arg(long)]
        markdown: bool,
    },
    /// Take the ticket yourself.
    Claim {
        #[command(flatten)]
        on: On,
        #[command(flatten)]
        actor: Actor,
    },
    /// Give the ticket to a technician.
    Assign {
        #[command(flatten)]
        on: On,
        /// The technician's login or name.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Internal note, never shown to the requester.
    Note {
        #[command(flatten)]
        on: On,
        /// The note.
        text: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// A remark (备注) kept with the ticket, e.g. "需现场支持".
    Remark {
        #[command(flatten)]
        on: On,
        /// The remark.
        text: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// The ticket's attachments: name, type, size.
    Attachments {
        #[command(flatten)]
        on: On,
    },
    /// Write one attachment of the ticket to FILE.
    Attachment {
        #[command(flatten)]
        on: On,
        /// The attachment's name, as `attachments` lists it.
        name: String,
        /// Where to write it (mode 0600).
        #[arg(long, value_name = "FILE")]
        output: PathBuf,
    },
    /// A handling step (处理过程), shown in progress updates.
    Step {
        #[command(flatten)]
        on: On,
        /// What was done.
        text: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Send a message to the requester.
    Reply {
        #[command(flatten)]
        on: On,
        /// The message.
        text: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Ask the requester something; the SLA clock pauses until they answer.
    Ask {
        #[command(flatten)]
        on: On,
        /// The question.
        text: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Change the urgency; the requester is told the new ETA.
    Urgency {
        #[command(flatten)]
        on: On,
        /// urgent, high, medium or low.
        #[arg(value_parser = parse_urgency)]
        urgency: Urgency,
        /// Why (logged: urgency is not changed silently).
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        actor: Actor,
    },
    /// Change the problem type (and so the group).
    Type {
        #[command(flatten)]
        on: On,
        /// hardware, software, network, access or other.
        #[arg(value_parser = parse_type)]
        problem_type: ProblemType,
        #[command(flatten)]
        actor: Actor,
    },
    /// Set a new ETA ("YYYY-MM-DD HH:MM" local time); the requester is told why.
    Eta {
        #[command(flatten)]
        on: On,
        /// The new ETA, "YYYY-MM-DD HH:MM" in the [calendar] time zone.
        eta: String,
        /// Why, as the requester is told.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// To the lead, or with --to to an outside contact ([contacts.NAME]),
    /// who is mailed the ticket's masked summary.
    Escalate {
        #[command(flatten)]
        on: On,
        /// Why (required: the escalation is logged with it).
        #[arg(long)]
        reason: String,
        /// An outside contact's name from [contacts.NAME], e.g. a vendor.
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        actor: Actor,
    },
    /// Mark it resolved; the requester is asked to confirm and rate.
    Resolve {
        #[command(flatten)]
        on: On,
        /// What fixed it, as the requester is told.
        #[arg(long)]
        fix: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Open a resolved or closed ticket again.
    Reopen {
        #[command(flatten)]
        on: On,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Close the ticket without the requester's confirmation.
    Close {
        #[command(flatten)]
        on: On,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
    /// Record the requester's confirmation (and rating) for them, e.g. given
    /// by phone: logged as "LOGIN (for REQUESTER)".
    Confirm {
        #[command(flatten)]
        on: On,
        /// Their rating, 1–5.
        #[arg(long)]
        stars: Option<u8>,
        /// Their remark.
        #[arg(long)]
        remark: Option<String>,
        #[command(flatten)]
        actor: Actor,
    },
    /// Record the requester's "still broken" for them: reopens the ticket.
    Reject {
        #[command(flatten)]
        on: On,
        /// What they said is still wrong.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        actor: Actor,
    },
}

impl TicketsCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        let (id, actor, change) = match self.action {
            Action::List(args) => return list(ctx, args).await,
            Action::Open {
                from,
                name,
                subject,
                body,
                urgency,
                problem_type,
            } => {
                let req = ControlRequest::Open {
                    from,
                    name,
                    subject,
                    body,
                    urgency,
                    problem_type,
                };
                return print_answer(ctx, request(&ctx.config, req).await?);
            }
            Action::Show { on, markdown } => {
                let answer = request(&ctx.config, ControlRequest::Show { id: on.id }).await?;
                let ticket: Ticket = serde_json::from_value(answer.clone())?;
                return ctx.emit(&answer, |_| match markdown {
                    true => print!(
                        "{}",
                        crate::record::markdown(
                            &ticket,
                            &ctx.config.policy().calendar,
                            ctx.config.default_lang(),
                        )
                    ),
                    false => print_ticket(&ctx.config, &ticket),
                });
            }
            Action::Attachments { on } => {
                let answer = request(&ctx.config, ControlRequest::Show { id: on.id }).await?;
                return ctx.emit(&answer["attachments"], |list| {
                    for a in list.as_array().into_iter().flatten() {
                        println!(
                            "{}  {}  {} bytes",
                            a["name"].as_str().unwrap_or("?"),
                            a["content_type"].as_str().unwrap_or("?"),
                            a["size"]
                        );
                    }
                });
            }
            Action::Attachment { on, name, output } => {
                let mut session = Session::open(&ctx.config).await?;
                let data = fetch_attachment(&mut session, &on.id, &name).await;
                session.close().await?;
                let data = data?;
                output::write_private(&output, &data)?;
                let summary =
                    serde_json::json!({ "name": name, "bytes": data.len(), "file": output });
                return ctx.emit(&summary, |_| {
                    eprintln!(
                        "wrote {name} ({} bytes) to {}",
                        data.len(),
                        output.display()
                    )
                });
            }
            Action::Claim { on, actor } => (on, actor, Change::Claim),
            Action::Assign { on, to, actor } => (on, actor, Change::Assign { to }),
            Action::Note { on, text, actor } => (on, actor, Change::Note { text }),
            Action::Remark { on, text, actor } => (on, actor, Change::Remark { text }),
            Action::Step { on, text, actor } => (on, actor, Change::Step { text }),
            Action::Reply { on, text, actor } => (on, actor, Change::Reply { text }),
            Action::Ask { on, text, actor } => (on, actor, Change::Ask { text }),
            Action::Urgency {
                on,
                urgency,
                reason,
                actor,
            } => (
                on,
                actor,
                Change::Urgency {
                    to: urgency,
                    reason,
                },
            ),
            Action::Type {
                on,
                problem_type,
                actor,
            } => (on, actor, Change::Type { to: problem_type }),
            Action::Eta {
                on,
                eta,
                reason,
                actor,
            } => {
                let eta = parse_local(ctx, &eta)?;
                (on, actor, Change::Eta { eta, reason })
            }
            Action::Escalate {
                on,
                reason,
                to,
                actor,
            } => (on, actor, escalation(ctx, reason, to)?),
            Action::Resolve { on, fix, actor } => (on, actor, Change::Resolve { fix }),
            Action::Reopen { on, reason, actor } => (on, actor, Change::Reopen { reason }),
            Action::Close { on, reason, actor } => (on, actor, Change::Close { reason }),
            Action::Confirm {
                on,
                stars,
                remark,
                actor,
            } => (on, actor, Change::ConfirmForRequester { stars, remark }),
            Action::Reject { on, reason, actor } => {
                (on, actor, Change::RejectForRequester { reason })
            }
        };
        let req = ControlRequest::Act {
            id: id.id,
            on_behalf_of: actor.by,
            change,
        };
        print_answer(ctx, request(&ctx.config, req).await?)
    }
}

/// To the lead, or to a configured outside contact; always with a reason.
fn escalation(ctx: &Ctx, reason: String, to: Option<String>) -> anyhow::Result<Change> {
    if reason.trim().is_empty() {
        return Err(fail(
            ErrorCode::Usage,
            "--reason must say why the ticket is escalated",
        ));
    }
    match to {
        Some(contact) if !ctx.config.contacts.contains_key(&contact) => Err(fail(
            ErrorCode::NotFound,
            format!(
                "no outside contact {contact:?}: add [contacts.{contact}] email = \"…\" to {}",
                ctx.config.source.display()
            ),
        )),
        Some(contact) => Ok(Change::EscalateTo { contact, reason }),
        None => Ok(Change::Escalate { reason }),
    }
}

/// The changed (or opened) ticket, in full or as JSON.
fn print_answer(ctx: &Ctx, answer: serde_json::Value) -> anyhow::Result<()> {
    if ctx.json {
        return ctx.emit(&answer, |_| {});
    }
    let ticket: Ticket = serde_json::from_value(answer)?;
    print_ticket(&ctx.config, &ticket);
    Ok(())
}

/// Streams the matching tickets page by page: a table, or a JSON array.
async fn list(ctx: &Ctx, args: ListArgs) -> anyhow::Result<()> {
    let filter = TicketFilter {
        status: args.status,
        group: args.group,
        assignee: args.assignee,
        requester: args.requester,
        since: args.since,
        until: args.until,
    };
    let limit = args.limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let page_limit = limit.map_or(PAGE_LIMIT, |n| n.min(PAGE_LIMIT));
    let start = args.after;
    let mut printer = ListPrinter::new(ctx.json);
    let mut session = Session::open(&ctx.config).await?;
    let listed = session
        .pages(
            |after| ControlRequest::List {
                filter: filter.clone(),
                after: after.or_else(|| start.clone()),
                limit: Some(page_limit),
            },
            |ticket| {
                printer.push(ticket)?;
                Ok(match limit.is_some_and(|n| printer.count() >= n) {
                    true => Flow::Stop,
                    false => Flow::More,
                })
            },
        )
        .await;
    let closed = session.close().await;
    // A failure midway still ends what stdout began (the JSON array, the
    // table's last rows); the error follows it.
    if listed.is_ok() || printer.count() > 0 {
        printer.finish();
    }
    let (_, more_after) = listed?;
    closed?;
    eprintln!("{} ticket(s)", printer.count());
    if let Some(id) = more_after {
        eprintln!("more may follow: --after {id}");
    }
    Ok(())
}

fn parse_local(ctx: &Ctx, text: &str) -> anyhow::Result<DateTime<Utc>> {
    let usage = |m: String| super::fail(crate::control::ErrorCode::Usage, m);
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .map_err(|_| usage(format!("{text:?} is not a time like \"2023-10-01 17:30\"")))?;
    let tz = ctx.config.policy().calendar.tz();
    let local = naive
        .and_local_timezone(tz)
        .earliest()
        .with_context(|| format!("{text} does not exist in {tz} (DST gap)"))?;
    Ok(local.with_timezone(&Utc))
}
