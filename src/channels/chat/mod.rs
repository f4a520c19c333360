//! The chat seam: what every chat app's adapter (`channels::discord`, …)
//! converts its events to and is asked to do, and the work done once on our
//! side for all of them — handling events in order, read-back cursors, dedup
//! keys (`<app>-<message id>`), requesters' messages to tickets, staff
//! commands to `Change`s, buttons and forms, and notices out as posts.
//!
//! Invariant: nothing here reads a chat app's id or syntax (ids are opaque
//! strings, mentions are `Addressee`s the adapter renders), and nothing in an
//! adapter decides about tickets.

mod app;
mod types;

pub use app::{ChatApp, ChatError};
pub use types::*;
