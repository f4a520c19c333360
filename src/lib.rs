//! itdesk: an IT-helpdesk intake daemon. See ARCHITECTURE.md for the map.

pub mod app;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod core;
pub mod engine;
pub mod health;
pub mod intake;
pub mod ops;
pub mod outbox;
pub mod queue;
pub mod record;
pub mod shutdown;
pub mod stats;
pub mod store;
