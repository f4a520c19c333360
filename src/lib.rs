//! itdesk: an IT-helpdesk intake daemon. See ARCHITECTURE.md for the map.

pub mod clock;
pub mod config;
pub mod core;
pub mod engine;
pub mod intake;
pub mod store;
pub mod outbox;
pub mod record;
pub mod shutdown;
pub mod control;
pub mod app;
pub mod cli;
pub mod channels;
pub mod ops;
pub mod stats;
