//! The pure domain: tickets, their status machine, the SLA clock and the effects
//! (notices, timers) every change causes.
//!
//! Invariant: nothing in here does I/O or reads a clock. Time comes in as `now`;
//! the `tidy` test fails the build if this folder imports tokio, sled, serenity,
//! lettre or async-imap, or calls `Utc::now`/`Local::now`.

pub mod calendar;
pub mod change;
pub mod effect;
pub mod erase;
pub mod id;
pub mod lifecycle;
pub mod sla;
pub mod ticket;
pub mod words;
