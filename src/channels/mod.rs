//! Channel adapters: the only code that speaks IMAP, SMTP or Discord, and the
//! only code that imports async-imap, lettre or serenity. Each converts its
//! protocol's types to ours at this seam.

pub mod chat;
pub mod discord;
pub mod feishu;
pub mod imap;
pub mod smtp;

/// Log directives that silence what third-party crates would print of
/// credentials and message content, whatever `ITDESK_LOG` asks for:
/// async-imap traces the LOGIN and AUTHENTICATE lines it sends; lettre, with
/// its tracing feature, logs the SMTP AUTH line at debug; the HTML parsers
/// behind html2text log the characters of the mail they parse.
pub const SAFE_LOG_DIRECTIVES: [&str; 6] = [
    "async_imap::imap_stream=off",
    "lettre::transport::smtp=info",
    "html5ever=off",
    "markup5ever=off",
    "markup5ever_rcdom=off",
    "html2text=off",
];
