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
mod recover;
mod storage;
mod templates;
mod tickets;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use chrono::Utc;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde_json::Value;

use crate::app::{self, Core};
use crate::clock::SystemClock;
use crate::config::Config;
use crate::control::peers::Caller;
use crate::control::{client, handle, ControlRequest};
use crate::core::id::TicketId;
use crate::core::ticket::{Lang, ProblemType, Status, Ticket, Urgency};
use crate::stats::aggregate::Report;
use crate::stats::period::PeriodSpec;
use crate::stats::{format::words, html, text};

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
    Tickets(tickets::TicketCommand),
    /// Preview notices and export the built-in templates.
    #[command(subcommand)]
    Templates(templates::TemplatesCommand),
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
    /// Restore a backup into [store].path, which must hold no store (or use
    /// --replace); the daemon must be stopped.
    Restore(storage::RestoreArgs),
    /// Check the stopped daemon's store for damage; --repair rebuilds it from
    /// every record that reads.
    Fsck(storage::FsckArgs),
    /// Erase one requester's personal data: their tickets (kept anonymous for
    /// the statistics), mail, notices and files.
    Erase(privacy::EraseArgs),
    /// Erase closed tickets past [retention] closed_after now (the daemon does
    /// it daily), or list them with --dry-run.
    Retention(privacy::RetentionArgs),
    /// Who read or changed which ticket, and when.
    Audit(privacy::AuditArgs),
    /// After a restore: take in again the mail the store lacks from the mailbox
    /// where processed mail stays ([imap] processed_mailbox), under the original
    /// ticket IDs where copies of the notices ([smtp] save_sent) show them.
    Recover(recover::RecoverArgs),
}

#[derive(Subcommand)]
enum QuarantineCommand {
    List {
        #[arg(long)]
        json: bool,
    },
    /// Print the message as it came, with secrets masked.
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
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.finish().with(crate::store::SledReports).init(),
        LogFormat::Json => builder
            .json()
            .finish()
            .with(crate::store::SledReports)
            .init(),
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
            // What `run` loads at start: a broken override fails here first.
            app::load_templates(&config)?;
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
        Command::Tickets(cmd) => tickets::tickets(&config, cmd).await,
        Command::Templates(cmd) => templates::templates(&config, cmd).await,
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
                tickets::export_attachments(&config, &tickets, &dir).await?;
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
                (other, false) => print!("{}", other["masked"].as_str().unwrap_or_default()),
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
            let template = app::load_templates(&config)?.report_template;
            write_private(
                &path,
                html::render_with(&report, &page, &template)?.as_bytes(),
            )?;
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
        Command::Restore(args) => storage::restore(&config, args).await,
        Command::Fsck(args) => storage::fsck(&config, args).await,
        Command::Erase(args) => privacy::erase(&config, args).await,
        Command::Retention(args) => privacy::retention(&config, args).await,
        Command::Audit(args) => privacy::audit(&config, args).await,
        Command::Recover(args) => recover::recover(&config, args).await,
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
