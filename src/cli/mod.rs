//! The command line: `itdesk run` starts the daemon; every other command talks to
//! the running daemon over the control socket, or — when it is stopped — opens
//! the store itself (`session.rs`). One struct per command family, each with
//! its own `execute`. Data goes to stdout (`--json` for scripts, errors too),
//! logs to stderr; the exit status says what kind of failure it was
//! (`exit.rs`). This is the binary's edge, the one place that uses `anyhow`.

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

mod daemon;
mod docs;
mod exit;
mod faq;
mod logging;
mod outbox;
mod output;
mod privacy;
mod recover;
mod session;
mod stats;
mod storage;
mod table;
mod templates;
mod tickets;
mod tickets_print;
mod transfer;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::control::ErrorCode;
use crate::core::id::TicketId;
use crate::core::ticket::{Lang, ProblemType, Status, Urgency};
pub use exit::{status_of, EXIT_CODES};

#[derive(Parser)]
#[command(
    name = "itdesk",
    version,
    about = "IT-helpdesk intake daemon: email and chat in, tickets out",
    after_help = exit::AFTER_HELP
)]
pub struct Cli {
    /// Config file (TOML); see /usr/share/doc/itdesk/itdesk.example.toml.
    #[arg(
        long,
        short,
        global = true,
        env = "ITDESK_CONFIG",
        default_value = "/etc/itdesk/itdesk.toml"
    )]
    config: PathBuf,
    /// Log format on stderr ("human" leaves out timestamps and colours under journald).
    #[arg(long, global = true, value_enum, default_value_t = logging::LogFormat::Human)]
    log_format: logging::LogFormat,
    /// Print data as JSON on stdout, and errors as {"error": …, "code": …} there too.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    WithConfig(ConfigCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(docs::CompletionsCmd),
    /// Print the man page, or write one page per command into a directory.
    Man(docs::ManCmd),
}

/// The commands that read the config.
#[derive(Subcommand)]
enum ConfigCommand {
    /// Run the daemon (SIGTERM/SIGINT stop it in order, losing nothing).
    Run(daemon::RunCmd),
    /// Check a config file: exit 0 if good, else name the key and what is wrong.
    CheckConfig(daemon::CheckConfigCmd),
    /// Work with tickets: list, show, open, and every staff change.
    Tickets(tickets::TicketsCmd),
    /// Preview notices and export the built-in templates.
    Templates(templates::TemplatesCmd),
    /// Write every ticket as JSON lines (or readable Markdown records), one at a time.
    Export(transfer::ExportCmd),
    /// Read tickets written by `export` (refuses IDs that exist, or skips them).
    Import(transfer::ImportCmd),
    /// The queue of outgoing notices and timers, and the dead letters.
    Outbox(outbox::OutboxCmd),
    /// Messages that could not be processed, kept raw.
    Quarantine(outbox::QuarantineCmd),
    /// Statistics of a period: volume, response and resolution times, SLA,
    /// satisfaction, backlog, technicians, recurring problems.
    Stats(stats::StatsCmd),
    /// Self-service FAQ candidates: per recurring problem, the fixes requesters confirmed.
    Faq(faq::FaqCmd),
    /// The statistics as an HTML page with charts, as the digest mails it.
    Report(stats::ReportCmd),
    /// Write a consistent snapshot of the whole store to FILE (while the daemon
    /// runs, the daemon writes it: FILE must be writable by its user).
    Backup(storage::BackupCmd),
    /// Restore a backup into [store].path, which must hold no store (or use
    /// --replace); the daemon must be stopped.
    Restore(storage::RestoreCmd),
    /// Check the stopped daemon's store for damage; --repair rebuilds it from
    /// every record that reads.
    Fsck(storage::FsckCmd),
    /// Erase one requester's personal data: their tickets (kept anonymous for
    /// the statistics), mail, notices and files.
    Erase(privacy::EraseCmd),
    /// Erase closed tickets past [retention] closed_after now (the daemon does
    /// it daily), or list them with --dry-run.
    Retention(privacy::RetentionCmd),
    /// Who read or changed which ticket, and when.
    Audit(privacy::AuditCmd),
    /// After a restore: take in again the mail the store lacks from the mailbox
    /// where processed mail stays ([imap] processed_mailbox), under the original
    /// ticket IDs where copies of the notices ([smtp] save_sent) show them.
    Recover(recover::RecoverCmd),
}

/// What every command gets: the loaded config and how to print.
pub(crate) struct Ctx {
    pub config: Config,
    pub config_path: PathBuf,
    pub json: bool,
}

pub fn main() -> std::process::ExitCode {
    // Whatever this process writes — the store, exports, backups, reports —
    // holds personal data: its owner's only, whatever the caller's umask.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return exit::usage(e),
    };
    logging::init(cli.log_format);
    let json = cli.json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let e = anyhow::Error::new(e).context("cannot start the async runtime");
            return exit::report(&e, json);
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => exit::report(&e, json),
    }
}

async fn execute(cli: Cli) -> anyhow::Result<()> {
    let command = match cli.command {
        // These two describe the CLI itself and need no config.
        Command::Completions(cmd) => return cmd.execute(),
        Command::Man(cmd) => return cmd.execute(),
        Command::WithConfig(command) => command,
    };
    let config = Config::load(&cli.config)?;
    let ctx = Ctx {
        config,
        config_path: cli.config,
        json: cli.json,
    };
    match command {
        ConfigCommand::Run(cmd) => cmd.execute(ctx).await,
        ConfigCommand::CheckConfig(cmd) => cmd.execute(&ctx),
        ConfigCommand::Tickets(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Templates(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Export(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Import(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Outbox(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Quarantine(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Stats(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Faq(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Report(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Backup(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Restore(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Fsck(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Erase(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Retention(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Audit(cmd) => cmd.execute(&ctx).await,
        ConfigCommand::Recover(cmd) => cmd.execute(&ctx).await,
    }
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

fn parse_lang(s: &str) -> Result<Lang, String> {
    Lang::parse(s).ok_or_else(|| format!("unknown language {s:?}: use en or zh-CN"))
}

fn parse_status(s: &str) -> Result<Status, String> {
    Status::parse(s).ok_or_else(|| format!("unknown status {s:?}"))
}

fn parse_id(s: &str) -> Result<TicketId, String> {
    TicketId::parse(s).ok_or_else(|| format!("{s:?} is not a ticket ID like IT20231001001"))
}

/// A failure of a known kind, raised by the CLI itself.
pub(crate) fn fail(code: ErrorCode, message: impl Into<String>) -> anyhow::Error {
    exit::Coded {
        code,
        message: message.into(),
    }
    .into()
}
