//! The one integration-test binary. Support code starts real servers (Dovecot,
//! Postfix) and the daemon itself; see `support`.

mod cli;
mod config;
mod crash;
mod support;
mod tidy;
