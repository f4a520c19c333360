//! Channel adapters: the only code that speaks IMAP, SMTP or Discord, and the
//! only code that imports async-imap, lettre or serenity. Each converts its
//! protocol's types to ours at this seam.

pub mod smtp;
pub mod imap;
