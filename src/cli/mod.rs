//! The command line: `itdesk run` starts the daemon; every other command talks to
//! the running daemon over the control socket, or — when it is stopped — opens
//! the store itself. Data goes to stdout (`--json` for scripts), logs to stderr.
//! This is the binary's edge, the one place that uses `anyhow`.

/// Everything the CLI prints is made inert first: tickets hold text from
/// strangers' mail, and a terminal obeys the escape sequences in what it
/// prints. These shadow `std`'s macros in this module and the ones below it.
macro_rules! println {
    () => { ::std::println!() };
    ($($arg:tt)*) => {
        ::std::println!("{}", $crate::intake::inert::for_terminal(&format!($($arg)*)))
    };
}
macro_rules! print {
    ($($arg:tt)*) => {
        ::std::print!("{}", $crate::intake::inert::for_terminal(&format!($($arg)*)))
    };
}
macro_rules! eprintln {
    ($($arg:tt)*) => {
        ::std::eprintln!("{}", $crate::intake::inert::for_terminal(&format!($($arg)*)))
    };
}

mod privacy;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use chrono::{DateTime, NaiveDateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;

use crate::app::{self, Core};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::control::peers::Caller;
use crate::control::{client, handle, Change, ControlRequest};
use crate::core::id::TicketId;
use crate::core::ticket::{Lang, ProblemType, Status, Ticket, Urgency};
use crate::stats::aggregate::Report;
use crate::stats::period::PeriodSpec;
use crate::stats::{format::words, html, text};
use crate::store::Store;

#[derive(Parser)]
#[command(
    name = "itdesk",
    version,
    about = "IT-helpdesk intake daemon: email and chat in, tickets out"
)]
pub struct Cli {
    /// Config file (TOML); see config/itdesk.example.toml.
    #[arg(
        long,
        short,
        global = true,
        env = "ITDESK_CONFIG",
        default_value = "/etc/itdesk/itdesk.toml"
    )]
    config: PathBuf,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    Jsonl,
    Markdown,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (SIGTERM/SIGINT stop it in order, losing nothing).
    Run,
    /// Check a config file: exit 0 if good, else name the key and what is wrong.
    CheckConfig,
    /// Work with tickets.
    #[command(subcommand)]
    Tickets(TicketCommand),
    /// Write every ticket as JSON lines (or readable Markdown records).
    Export {
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
        /// Also write every ticket's attachments to DIR/<ticket ID>/<name>.
        #[arg(long)]
        with_attachments: Option<PathBuf>,
    },
    /// Read tickets written by `export` (refuses IDs that exist).
    Import { file: PathBuf },
    /// The queue of outgoing notices and timers, and the dead letters.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Messages that could not be processed, kept raw.
    #[command(subcommand)]
    Quarantine(QuarantineCommand),
    /// Statistics of a period: volume, response and resolution times, SLA,
    /// satisfaction, backlog, technicians, recurring problems.
    Stats {
        #[command(flatten)]
        what: StatsArgs,
        #[arg(long)]
        json: bool,
        /// Rewrite every ticket's statistics record first (a store made before
        /// they existed is rebuilt on its own the first time).
        #[arg(long)]
        rebuild: bool,
    },
    /// The statistics as an HTML page with charts, as the digest mails it.
    Report {
        #[command(flatten)]
        what: StatsArgs,
        /// Where to write the page.
        #[arg(long)]
        html: PathBuf,
    },
    /// Write a consistent snapshot of the whole store to FILE (while the daemon
    /// runs, the daemon writes it: FILE must be writable by its user).
    Backup {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup into [store].path, which must be empty or absent (the
    /// daemon must be stopped).
    Restore {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Erase one requester's personal data: their tickets (kept anonymous for
    /// the statistics), mail, notices and files.
    Erase(privacy::EraseArgs),
    /// Erase closed tickets past [retention] closed_after now (the daemon does
    /// it daily), or list them with --dry-run.
    Retention(privacy::RetentionArgs),
    /// Who read or changed which ticket, and when.
    Audit(privacy::AuditArgs),
}

#[derive(Subcommand)]
enum QuarantineCommand {
    List {
        #[arg(long)]
        json: bool,
    },
    /// Print the raw message.
    Show {
        id: u64,
    },
    /// Run it through intake again; it leaves the quarantine if that works.
    Retry {
        id: u64,
    },
    Delete {
        id: u64,
    },
}

#[derive(Args)]
struct Actor {
    /// Acting for someone else: logged as "LOGIN (for NAME)". The actor is
    /// always your own login, from the control socket's peer credentials.
    #[arg(long)]
    by: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum TicketCommand {
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

#[derive(Subcommand)]
enum OutboxCommand {
    List {
        #[arg(long)]
        json: bool,
    },
    /// Put a dead letter back in the queue.
    Retry { entry: u64 },
}

fn parse_urgency(s: &str) -> Result<Urgency, String> {
    Urgency::parse(s)
        .ok_or_else(|| format!("unknown urgency {s:?}: use urgent, high, medium or low"))
}
fn parse_type(s: &str) -> Result<ProblemType, String> {
    ProblemType::parse(s).ok_or_else(|| {
        format!("unknown type {s:?}: use hardware, software, network, access or other")
    })
}
/// The period, group and language of a statistics command.
#[derive(Args)]
struct StatsArgs {
    /// "week" (last full ISO week), "month" (last full month) or FROM..TO,
    /// e.g. 2023-10-01..2023-10-31, in the [calendar] time zone.
    #[arg(long, default_value = "week", value_parser = PeriodSpec::parse)]
    period: PeriodSpec,
    /// Only this technician group's tickets.
    #[arg(long)]
    group: Option<String>,
    /// Language of labels, "en" or "zh-CN" (default [helpdesk].default_language).
    #[arg(long, value_parser = parse_lang)]
    lang: Option<Lang>,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::parse(s).ok_or_else(|| format!("unknown language {s:?}: use en or zh-CN"))
}

fn parse_status(s: &str) -> Result<Status, String> {
    Status::parse(s).ok_or_else(|| format!("unknown status {s:?}"))
}
fn parse_id(s: &str) -> anyhow::Result<TicketId> {
    TicketId::parse(s).with_context(|| format!("{s:?} is not a ticket ID like IT20231001001"))
}

pub fn main() -> std::process::ExitCode {
    // Whatever this process writes — the store, exports, backups, reports —
    // holds personal data: its owner's only, whatever the caller's umask.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = Cli::parse();
    init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("itdesk: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("itdesk: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn init_logging(format: LogFormat) {
    let mut filter =
        tracing_subscriber::EnvFilter::try_from_env("ITDESK_LOG").unwrap_or_else(|_| "info".into());
    // Whatever ITDESK_LOG asks for, no crate may log a password or a mail's text.
    for directive in crate::channels::SAFE_LOG_DIRECTIVES {
        // Invariant: constant, well-formed directives.
        filter = filter.add_directive(directive.parse().expect("valid log directive"));
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn execute(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(&cli.config)?;
    match cli.command {
        Command::Run => {
            let (trigger, shutdown) = crate::shutdown::channel();
            let run = app::run(config, shutdown);
            tokio::pin!(run);
            // A signal starts the shutdown; the daemon then finishes it.
            tokio::select! {
                result = &mut run => result?,
                () = wait_for_signal() => {
                    trigger.trigger();
                    run.await?;
                }
            }
            Ok(())
        }
        Command::CheckConfig => {
            config.check_secrets()?;
            for warning in config.exposed_secrets() {
                eprintln!("warning: {warning}");
            }
            let channels: Vec<&str> = [
                config.imap.as_ref().map(|_| "imap"),
                config.smtp.as_ref().map(|_| "smtp"),
            ]
            .into_iter()
            .flatten()
            .collect();
            println!(
                "{}: ok (store {}, channels: {})",
                cli.config.display(),
                config.store.path.display(),
                if channels.is_empty() {
                    "none".into()
                } else {
                    channels.join(", ")
                }
            );
            Ok(())
        }
        Command::Tickets(cmd) => tickets(&config, cmd).await,
        Command::Export {
            output,
            format,
            with_attachments,
        } => {
            let Value::Array(tickets) = request(&config, ControlRequest::Export).await? else {
                bail!("unexpected answer to export")
            };
            let mut text = String::new();
            for t in &tickets {
                if format == ExportFormat::Markdown {
                    let ticket: Ticket = serde_json::from_value(t.clone())?;
                    text.push_str(&crate::record::markdown(&ticket, &config.policy().calendar));
                    text.push_str("\n---\n\n");
                } else {
                    text.push_str(&json_line(t));
                    text.push('\n');
                }
            }
            match output {
                Some(path) => {
                    write_private(&path, text.as_bytes())?;
                    eprintln!("exported {} tickets to {}", tickets.len(), path.display());
                }
                None => print!("{text}"),
            }
            if let Some(dir) = with_attachments {
                export_attachments(&config, &tickets, &dir).await?;
            }
            Ok(())
        }
        Command::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let tickets = text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty())
                .map(|(i, l)| {
                    serde_json::from_str::<Ticket>(l)
                        .with_context(|| format!("{} line {}: not a ticket", file.display(), i + 1))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let answer = request(&config, ControlRequest::Import { tickets }).await?;
            println!("{answer}");
            Ok(())
        }
        Command::Outbox(OutboxCommand::List { json }) => {
            let answer = request(&config, ControlRequest::OutboxList).await?;
            if json {
                println!("{}", json_text(&answer)?);
            } else {
                print_outbox(&answer);
            }
            Ok(())
        }
        Command::Quarantine(cmd) => {
            let (req, json) = match cmd {
                QuarantineCommand::List { json } => (ControlRequest::QuarantineList, json),
                QuarantineCommand::Show { id } => (ControlRequest::QuarantineShow { id }, false),
                QuarantineCommand::Retry { id } => (ControlRequest::QuarantineRetry { id }, true),
                QuarantineCommand::Delete { id } => (ControlRequest::QuarantineDelete { id }, true),
            };
            let answer = request(&config, req).await?;
            match (&answer, json) {
                (_, true) => println!("{}", json_text(&answer)?),
                (Value::Array(items), false) => {
                    for q in items {
                        println!(
                            "{:<6} {}  {:<30} {}",
                            q["id"],
                            q["at"].as_str().unwrap_or(""),
                            q["origin"].as_str().unwrap_or(""),
                            q["reason"].as_str().unwrap_or("")
                        );
                    }
                    eprintln!("{} quarantined message(s)", items.len());
                }
                (other, false) => print!("{}", other["raw"].as_str().unwrap_or_default()),
            }
            Ok(())
        }
        Command::Stats {
            what,
            json,
            rebuild,
        } => {
            let lang = what.lang.unwrap_or_else(|| config.default_lang());
            let report = stats_report(&config, &what, lang, rebuild).await?;
            if json {
                println!("{}", json_text(&report)?);
            } else {
                print!("{}", text::render(&report, lang));
            }
            Ok(())
        }
        Command::Report { what, html: path } => {
            let lang = what.lang.unwrap_or_else(|| config.default_lang());
            let report = stats_report(&config, &what, lang, false).await?;
            let w = words(lang);
            let title = match what.period {
                PeriodSpec::Week => w.weekly,
                PeriodSpec::Month => w.monthly,
                PeriodSpec::Range { .. } => w.report,
            };
            let page = html::Page {
                helpdesk: config.helpdesk.name.clone(),
                title: title.into(),
                lang,
                group_labels: config.settings.group_labels.clone(),
            };
            write_private(&path, html::render(&report, &page).as_bytes())?;
            eprintln!(
                "report {} – {} written to {}",
                report.period.from,
                report.period.to,
                path.display()
            );
            Ok(())
        }
        Command::Outbox(OutboxCommand::Retry { entry }) => {
            request(&config, ControlRequest::OutboxRetry { entry }).await?;
            println!("dead letter {entry} queued again");
            Ok(())
        }
        Command::Backup { file, json } => {
            // The daemon has another working directory: give it the full path.
            let path = std::path::absolute(&file)
                .with_context(|| format!("cannot resolve {}", file.display()))?;
            let answer = request(&config, ControlRequest::Backup { path }).await?;
            print_backup("backed up", &answer, json)
        }
        Command::Restore { file, json } => {
            let socket = config.control_socket();
            if client::connect(&socket).await?.is_some() {
                bail!("a daemon answers at {}: stop it first — restore writes only into an empty state directory", socket.display());
            }
            let dir = config.store.path.clone();
            let summary = tokio::task::spawn_blocking(move || Store::restore(&file, &dir))
                .await
                .context("the restore did not finish")??;
            print_backup("restored", &serde_json::to_value(&summary)?, json)?;
            eprintln!(
                "restored into {}; start the daemon with this config to use it",
                config.store.path.display()
            );
            Ok(())
        }
        Command::Erase(args) => privacy::erase(&config, args).await,
        Command::Retention(args) => privacy::retention(&config, args).await,
        Command::Audit(args) => privacy::audit(&config, args).await,
    }
}

async fn stats_report(
    config: &Config,
    what: &StatsArgs,
    lang: Lang,
    rebuild: bool,
) -> anyhow::Result<Report> {
    let basis = config.settings.basis.clone();
    let period = what.period.resolve(Utc::now(), basis.tz);
    let query = basis.query(period, what.group.clone(), lang);
    let answer = request(config, ControlRequest::Stats { query, rebuild }).await?;
    Ok(serde_json::from_value(answer)?)
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

async fn tickets(config: &Config, cmd: TicketCommand) -> anyhow::Result<()> {
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
                    crate::record::markdown(&ticket, &config.policy().calendar)
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
            let req = ControlRequest::Attachment {
                id: parse_id(&id)?,
                name: name.clone(),
            };
            let answer = request(config, req).await?;
            let data = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                answer["data"].as_str().unwrap_or_default(),
            )
            .context("the daemon sent an unreadable attachment")?;
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

/// Through the running daemon if there is one, else on the store directly.
async fn request(config: &Config, req: ControlRequest) -> anyhow::Result<Value> {
    let socket = config.control_socket();
    if let Some(mut stream) = client::connect(&socket).await? {
        return Ok(client::call(&mut stream, &socket, &req).await?);
    }
    offline(config, req).await
}

async fn offline(config: &Config, req: ControlRequest) -> anyhow::Result<Value> {
    let core = Core::start(config, Arc::new(SystemClock))
        .with_context(|| no_daemon_hint(&config.control_socket()))?;
    let result = handle(req, &core.control, &Caller::this_process()).await;
    core.stop().await?;
    Ok(result?)
}

fn no_daemon_hint(socket: &Path) -> String {
    format!(
        "no daemon answered at {} and the store could not be opened directly",
        socket.display()
    )
}

fn print_list(answer: &Value) {
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

fn print_ticket(config: &Config, t: &Ticket) {
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
            "    {} {:<10} {:?}: {}",
            e.at.format("%Y-%m-%d %H:%M"),
            e.actor,
            e.kind,
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

fn print_outbox(answer: &Value) {
    let show = |label: &str, items: &Value| {
        let list = items.as_array().cloned().unwrap_or_default();
        println!("{label}: {}", list.len());
        for item in list {
            println!("  {}", json_line(&item));
        }
    };
    show("queued", &answer["queued"]);
    show("dead letters", &answer["dead_letters"]);
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

/// Every attachment of `tickets` into `dir/<ticket ID>/<name>`, private.
async fn export_attachments(config: &Config, tickets: &[Value], dir: &Path) -> anyhow::Result<()> {
    let mut written = 0;
    for t in tickets {
        let id = t["id"].as_str().unwrap_or_default();
        for a in t["attachments"].as_array().cloned().unwrap_or_default() {
            let name = a["name"].as_str().unwrap_or_default().to_string();
            let req = ControlRequest::Attachment {
                id: parse_id(id)?,
                name: name.clone(),
            };
            let answer = match request(config, req).await {
                Ok(answer) => answer,
                Err(e) => {
                    eprintln!("{id}: {name}: not exported: {e}");
                    continue;
                }
            };
            let data = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                answer["data"].as_str().unwrap_or_default(),
            )
            .context("the daemon sent an unreadable attachment")?;
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

/// Writes a file only its owner can read (0600), also when it existed before.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let context = || format!("cannot write {}", path.display());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(context)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .with_context(context)?;
    std::io::Write::write_all(&mut file, bytes).with_context(context)
}

/// Pretty JSON for stdout, C1 controls escaped (serde_json escapes only C0).
fn json_text<T: serde::Serialize>(value: &T) -> serde_json::Result<String> {
    serde_json::to_string_pretty(value).map(|t| crate::intake::inert::escape_json(&t))
}

/// One JSON line, likewise.
fn json_line<T: serde::Serialize>(value: &T) -> String {
    crate::intake::inert::escape_json(&serde_json::to_string(value).unwrap_or_default())
}
