//! How a command ends: the exit status for each kind of failure, and the
//! error printed as text on stderr or, with `--json`, as one JSON line on
//! stdout (where a script already reads the data).

use std::process::ExitCode;

use crate::app::AppError;
use crate::config::ConfigError;
use crate::control::{engine_code, store_code, ControlError, ErrorCode};
use crate::store::StoreError;

/// Every exit status, as the man page and `--help` list them.
pub const EXIT_CODES: [(u8, ErrorCode, &str); 6] = [
    (
        1,
        ErrorCode::Failed,
        "failed (anything not below; fsck found damage)",
    ),
    (2, ErrorCode::Usage, "usage: the command line is wrong"),
    (
        3,
        ErrorCode::NotFound,
        "not found: no such ticket, entry, message or group",
    ),
    (
        4,
        ErrorCode::Refused,
        "refused: not allowed now, by the rules or to you",
    ),
    (
        5,
        ErrorCode::Unavailable,
        "unavailable: the daemon or the store cannot be reached or used",
    ),
    (
        6,
        ErrorCode::Config,
        "config: the config file is missing, unreadable or wrong",
    ),
];

pub const AFTER_HELP: &str = "Exit status: 0 ok, 1 failed, 2 usage, 3 not found, 4 refused, \
5 unavailable (daemon or store), 6 config. With --json, errors are printed on stdout as \
{\"error\": MESSAGE, \"code\": \"failed|usage|not_found|refused|unavailable|config\"}.";

/// The exit status of a kind of failure.
pub fn status_of(code: ErrorCode) -> u8 {
    EXIT_CODES
        .iter()
        .find(|(_, c, _)| *c == code)
        .map_or(1, |(status, _, _)| *status)
}

/// A failure of a known kind, raised by the CLI itself (see `cli::fail`).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Coded {
    pub code: ErrorCode,
    pub message: String,
}

/// The kind of the first error in the chain that has one.
fn classify(e: &anyhow::Error) -> ErrorCode {
    for cause in e.chain() {
        if let Some(c) = cause.downcast_ref::<Coded>() {
            return c.code;
        }
        if let Some(c) = cause.downcast_ref::<ControlError>() {
            return c.code();
        }
        if let Some(c) = cause.downcast_ref::<AppError>() {
            return app_code(c);
        }
        if let Some(c) = cause.downcast_ref::<StoreError>() {
            return store_code(c);
        }
        if cause.is::<ConfigError>() {
            return ErrorCode::Config;
        }
    }
    ErrorCode::Failed
}

fn app_code(e: &AppError) -> ErrorCode {
    match e {
        AppError::Store(e) => store_code(e),
        AppError::Config(_) | AppError::Templates(_) | AppError::Directory(_) => ErrorCode::Config,
        AppError::Control(e) => e.code(),
        AppError::Engine(e) => engine_code(e),
        AppError::Smtp(_) | AppError::Metrics(_) | AppError::Rewrite(_) => ErrorCode::Failed,
    }
}

/// Prints `e` (as JSON with `--json`) and gives its exit status.
pub fn report(e: &anyhow::Error, json: bool) -> ExitCode {
    let code = classify(e);
    if json {
        let body = serde_json::json!({ "error": format!("{e:#}"), "code": code });
        std::println!("{}", super::output::json_line(&body));
    } else {
        eprintln!("itdesk: {e:#}");
    }
    ExitCode::from(status_of(code))
}

/// A command line clap could not read: help and version are not failures.
pub fn usage(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return match e.kind() {
            ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                ExitCode::from(status_of(ErrorCode::Usage))
            }
            _ => ExitCode::SUCCESS,
        };
    }
    // `--json` is known only once parsing worked; a script that asked for it
    // still gets JSON.
    if std::env::args().any(|a| a == "--json") {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default();
        let message = first.strip_prefix("error: ").unwrap_or(first);
        let body = serde_json::json!({ "error": message, "code": ErrorCode::Usage });
        std::println!("{}", super::output::json_line(&body));
    } else {
        let _ = e.print();
    }
    ExitCode::from(status_of(ErrorCode::Usage))
}
