//! Mail intake: async-imap over rustls. Finds unprocessed messages, turns each
//! into a request for the engine (a fetched chunk goes as one batch, flushed
//! once), and only after the engine has durably committed them marks the
//! messages processed (`\Seen`, or moved). Waits with IDLE
//! when the server has it, else polls; reconnects with backoff after any drop.
//! This file holds the session loop and the channel's error; reading the
//! mailbox through is `drain.rs`, its pieces `chunks.rs`, the shared commands
//! `commands.rs`.
//!
//! Invariant: async-imap types stop here. A crash between commit and marking
//! means the message is fetched again; the engine's Message-ID index makes that
//! a no-op, so nothing is lost and nothing is doubled.

mod chunks;
mod commands;
mod drain;
mod login;
pub mod recover;
pub mod sent;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_imap::types::UnsolicitedResponse;
use async_imap::Session;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, warn};

use crate::clock::Clock;
use crate::config::{AfterProcessing, ImapConfig};
use crate::engine::{EngineError, EngineHandle};
use crate::health::{Health, ImapFailure};
use crate::intake::classify::Rules;
use crate::intake::directory::Directory;
use crate::intake::email::EmailLimits;
use crate::shutdown::Shutdown;
use commands::{protocol, timed};

/// Servers drop IDLE after 30 minutes (RFC 2177); renew well before.
const IDLE_RENEW: Duration = Duration::from_secs(25 * 60);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error("cannot connect to IMAP server {host}:{port}: {reason} — check [imap].host/port and that the server is up")]
    Connect {
        host: String,
        port: u16,
        reason: String,
    },
    #[error("TLS with IMAP server {host}: {reason} — check [imap].security and [imap].ca_file")]
    Tls { host: String, reason: String },
    #[error("IMAP login to {host}:{port} as {user} failed: {reason} — check [imap].password_file / password_env")]
    Login {
        host: String,
        port: u16,
        user: String,
        reason: String,
    },
    #[error("IMAP XOAUTH2 login to {host} as {user} was rejected: {reason} — the access token has probably EXPIRED; refresh {source_hint}")]
    TokenRejected {
        host: String,
        user: String,
        reason: String,
        source_hint: String,
    },
    #[error("cannot get an XOAUTH2 token: {0}")]
    Token(String),
    #[error("IMAP {op} failed: {reason}")]
    Protocol { op: &'static str, reason: String },
    #[error("IMAP {0} timed out")]
    Timeout(&'static str),
    #[error("IMAP mailbox {mailbox:?} cannot be selected: {reason} — check {setting}")]
    Mailbox {
        mailbox: String,
        reason: String,
        /// The setting that names it, e.g. `[imap].mailbox`.
        setting: &'static str,
    },
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl From<&ImapError> for ImapFailure {
    fn from(e: &ImapError) -> ImapFailure {
        match e {
            ImapError::Connect { .. } | ImapError::Tls { .. } | ImapError::Timeout(_) => {
                ImapFailure::Connection
            }
            ImapError::Login { .. } => ImapFailure::Login,
            ImapError::TokenRejected { .. } => ImapFailure::TokenRejected,
            ImapError::Token(_) => ImapFailure::Token,
            _ => ImapFailure::Session,
        }
    }
}

trait ImapIo: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> ImapIo for T {}
type Stream = Box<dyn ImapIo>;

pub struct ImapIntake {
    pub config: ImapConfig,
    /// Resolved password for `auth = "login"`.
    pub password: Option<String>,
    pub engine: EngineHandle,
    pub limits: EmailLimits,
    pub max_message_bytes: u64,
    pub rules: Rules,
    pub directory: Arc<Directory>,
    pub clock: Arc<dyn Clock>,
    /// Told of every failure and every mailbox read-through (metrics, alerts).
    pub health: Health,
}

impl ImapIntake {
    /// Runs until shutdown; every failure ends in a logged reconnect, never an exit.
    pub async fn run(self, mut shutdown: Shutdown) {
        let mut backoff = Duration::from_secs(1);
        while !shutdown.is_set() {
            let result = tokio::select! {
                r = login::connect(&self.config, self.password.as_deref()) => r,
                _ = shutdown.wait() => break,
            };
            match result {
                Ok(session) => {
                    backoff = Duration::from_secs(1);
                    match self.serve(session, &mut shutdown).await {
                        Ok(()) => break,
                        Err(e) => {
                            warn!(error = %e, "IMAP session ended; reconnecting");
                            self.health
                                .imap_failed(self.clock.now(), (&e).into(), &e.to_string());
                        }
                    }
                }
                Err(e) => {
                    warn!(error = %e, retry_in = ?backoff, "IMAP connection failed");
                    self.health
                        .imap_failed(self.clock.now(), (&e).into(), &e.to_string());
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.wait() => break,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        debug!("IMAP intake stopped");
    }

    /// Selects the mailbox, then alternates "process what is there" and "wait".
    async fn serve(
        &self,
        mut session: Session<Stream>,
        shutdown: &mut Shutdown,
    ) -> Result<(), ImapError> {
        let mailbox = self.config.mailbox.clone();
        let selected = timed("SELECT", session.select(&mailbox))
            .await?
            .map_err(|e| ImapError::Mailbox {
                mailbox: mailbox.clone(),
                reason: e.to_string(),
                setting: "[imap].mailbox",
            })?;
        self.note_uidvalidity(selected.uid_validity).await?;
        let capabilities = timed("CAPABILITY", session.capabilities())
            .await?
            .map_err(|e| protocol("CAPABILITY", e))?;
        let idle = self.config.idle && capabilities.has_str("IDLE");
        if self.config.after_processing == AfterProcessing::Move {
            // Creating an existing mailbox fails harmlessly.
            let _ = timed("CREATE", session.create(&self.config.processed_mailbox)).await;
        }
        let burst = Duration::from_secs(self.config.burst_seconds);
        let mut last_mail: Option<Instant> = None;
        loop {
            // What the server reported before the SEARCH, the SEARCH covers.
            while session.unsolicited_responses.try_recv().is_ok() {}
            let processed = self.drain(&mut session, shutdown).await?;
            self.health.imap_polled(self.clock.now());
            if shutdown.is_set() {
                let _ = timed("LOGOUT", session.logout()).await;
                return Ok(());
            }
            // Mail that arrived during the drain was announced (EXISTS) in a
            // reply to one of its commands; IDLE would not announce it again
            // and it would wait for the next mail. Look again instead.
            if processed > 0 || new_mail_announced(&session) {
                last_mail = Some(Instant::now());
                continue;
            }
            if let Some(until) = last_mail.take().map(|at| at + burst) {
                if self.burst_wait(&mut session, until, shutdown).await? {
                    continue;
                }
            }
            if idle {
                let mut handle = session.idle();
                timed("IDLE", handle.init())
                    .await?
                    .map_err(|e| protocol("IDLE", e))?;
                let (wait, stop) = handle.wait_with_timeout(IDLE_RENEW);
                tokio::select! {
                    r = wait => { r.map_err(|e| protocol("IDLE", e))?; }
                    _ = shutdown.wait() => {}
                }
                drop(stop);
                session = timed("DONE", handle.done())
                    .await?
                    .map_err(|e| protocol("IDLE DONE", e))?;
            } else {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(self.config.poll_seconds)) => {}
                    _ = shutdown.wait() => {}
                }
            }
        }
    }

    /// Mail comes in bursts, and Dovecot tells an IDLE client of new mail
    /// only 500 ms after it arrived (NOTIFY_DELAY_MSECS), where a NOOP makes
    /// it look at once: until `until`, asks every `burst_poll_ms`. Returns
    /// whether to look again: new mail was announced, or shutdown began.
    async fn burst_wait(
        &self,
        session: &mut Session<Stream>,
        until: Instant,
        shutdown: &mut Shutdown,
    ) -> Result<bool, ImapError> {
        let every = Duration::from_millis(self.config.burst_poll_ms);
        while Instant::now() + every < until {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = shutdown.wait() => return Ok(true),
            }
            timed("NOOP", session.noop())
                .await?
                .map_err(|e| protocol("NOOP", e))?;
            if new_mail_announced(session) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A new UIDVALIDITY means the server renumbered the mailbox; the
    /// Message-ID index keeps already-ticketed mail from being ticketed again.
    async fn note_uidvalidity(&self, validity: Option<u32>) -> Result<(), ImapError> {
        let key = format!(
            "imap:{}:{}:uidvalidity",
            self.config.username, self.config.mailbox
        );
        let now = validity.unwrap_or(0).to_be_bytes();
        match self.engine.meta(&key)? {
            Some(old) if old.as_slice() != now => {
                warn!(mailbox = %self.config.mailbox, "UIDVALIDITY changed; relying on Message-ID de-duplication")
            }
            _ => {}
        }
        self.engine.set_meta(key, now.to_vec()).await?;
        Ok(())
    }
}

/// Whether the server announced new messages since the responses were last read.
fn new_mail_announced(session: &Session<Stream>) -> bool {
    let mut announced = false;
    while let Ok(response) = session.unsolicited_responses.try_recv() {
        announced |= matches!(
            response,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        );
    }
    announced
}
