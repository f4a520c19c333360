//! The one integration-test binary. Support code starts real servers (Dovecot,
//! Postfix) and the daemon itself; see `support` and `mailrig`.

mod cli;
mod config;
mod crash;
mod email;
mod lifecycle;
mod mailrig;
mod support;
mod tidy;
