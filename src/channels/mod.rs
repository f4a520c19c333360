//! Channel adapters: the only code that speaks IMAP, SMTP or Discord, and the
//! only code that imports async-imap, lettre or serenity. Each converts its
//! protocol's types to ours at this seam.

pub mod discord;
pub mod imap;
pub mod smtp;

/// Log directives that silence the protocol crates' wire logging, which would
/// print credentials: async-imap traces the LOGIN and AUTHENTICATE lines it
/// sends; lettre, with its tracing feature, logs the SMTP AUTH line at debug.
pub const CREDENTIAL_SAFE_LOG_DIRECTIVES: [&str; 2] = [
    "async_imap::imap_stream=off",
    "lettre::transport::smtp=info",
];
