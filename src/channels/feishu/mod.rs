//! The chat channel as a Feishu/Lark bot (a self-built app). Events come over
//! the long connection (`ws.rs`, frames in `frame.rs`), so the helpdesk needs
//! no public address; sends, replies in topic threads, card updates and the
//! read-back go through REST (`rest.rs`). Event JSON becomes ours in `events.rs`.
//!
//! Invariant: this folder is the only code that reads a Feishu id (`ou_…`,
//! `oc_…`, `om_…`, `omt_…`) or Feishu's JSON; elsewhere they are opaque strings.

mod events;
mod frame;
mod rest;
mod ws;
