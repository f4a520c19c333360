//! The one integration-test binary. Support code starts real servers (Dovecot,
//! Postfix), the fake Discord and the daemon itself; see `support`, `mailrig`
//! and `fake_discord`.

mod cli;
mod config;
mod crash;
mod damage;
mod desk;
mod digest_mail;
mod discord;
mod disk_full;
mod email;
mod fake_discord;
mod fake_feishu;
mod faq;
mod feishu;
mod feishu_life;
mod handlers;
mod identity;
mod lifecycle;
mod mailrig;
mod oauth;
mod ops;
mod privacy;
mod process;
mod recover;
mod requesters;
mod resilience;
mod secrets;
mod stats;
mod support;
mod tidy;
