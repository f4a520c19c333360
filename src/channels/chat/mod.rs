//! The chat seam: what every chat app's adapter (`channels::discord`, …)
//! converts its events to and is asked to do (`types.rs`, `app.rs`), and the
//! work done once on our side for all of them: handling events in order
//! (`session.rs`), read-back cursors (`read_back.rs`), requesters' messages
//! to tickets (`requests.rs`), staff in chat (`staff.rs`), buttons, forms and
//! commands (`interactions.rs`), notices out as posts (`transport.rs`) and
//! the bot's replies from the templates (`replies.rs`).
//!
//! Invariant: nothing here reads a chat app's id or syntax (ids are opaque
//! strings, mentions are `Addressee`s the adapter renders), and nothing in an
//! adapter decides about tickets. Dedup keys are `<app>-<id>`, made here.

mod app;
mod interactions;
mod read_back;
mod replies;
mod requests;
mod session;
mod staff;
mod transport;
mod types;

pub use app::{ChatApp, ChatError};
pub use session::{ChatIntake, IntakeDeps, IntakeSettings};
pub use transport::ChatTransport;
pub use types::*;
