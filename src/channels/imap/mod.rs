//! Mail intake: async-imap over rustls. Finds unprocessed messages, turns each
//! into a request for the engine (a fetched chunk goes as one batch, flushed
//! once), and only after the engine has durably committed them marks the
//! messages processed (`\Seen`, or moved). Waits with IDLE
//! when the server has it, else polls; reconnects with backoff after any drop.
//!
//! Invariant: async-imap types stop here. A crash between commit and marking
//! means the message is fetched again; the engine's Message-ID index makes that
//! a no-op, so nothing is lost and nothing is doubled.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod login;
pub mod recover;
pub mod sent;

use async_imap::types::{Fetch, UnsolicitedResponse};
use async_imap::Session;
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tracing::{debug, warn};

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::{AfterProcessing, ImapConfig};
use crate::engine::{Answer, EngineError, EngineHandle, IntakeOutcome};
use crate::health::{Health, ImapFailure};
use crate::intake::classify::Rules;
use crate::intake::directory::Directory;
use crate::intake::email::{parse_email, EmailLimits};
use crate::intake::{prepare, Request, Warning};
use crate::shutdown::Shutdown;

/// Bound on connect, login and every command but the big fetch.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
const FETCH_TIMEOUT: Duration = Duration::from_secs(300);
/// Servers drop IDLE after 30 minutes (RFC 2177); renew well before.
const IDLE_RENEW: Duration = Duration::from_secs(25 * 60);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Messages fetched per round trip: at most this many, of at most
/// BATCH_BYTES together (one message over it goes alone).
const CHUNK: usize = 200;
/// The first chunk of a drain: small, so that the engine starts early.
const FIRST_CHUNK: usize = 50;
/// Messages whose sizes are asked for per round trip.
const SIZES_CHUNK: usize = 1000;
/// A chunk's mail is at most about this many bytes (by RFC822.SIZE), so
/// that a chunk of big messages is not all in memory at once; it goes to the
/// engine as one batch.
const BATCH_BYTES: usize = 16 * 1024 * 1024;
/// Of a message over the size cap, this much of the text is read.
const OVERSIZE_TEXT_BYTES: usize = 256 * 1024;

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

    /// Processes every unprocessed message in UID order, a chunk at a time;
    /// returns how many it marked processed.
    ///
    /// Pipelined: while the engine commits one batch, the next is fetched,
    /// parsed and queued behind it; a batch is marked processed only once the
    /// engine has answered for it (committed and flushed). So at most two
    /// batches are at the engine and the session is busy only for FETCH and
    /// STORE. Shutdown stops between chunks, after the answers in flight.
    async fn drain(
        &self,
        session: &mut Session<Stream>,
        shutdown: &Shutdown,
    ) -> Result<usize, ImapError> {
        let query = match self.config.after_processing {
            AfterProcessing::Seen => "UNSEEN",
            AfterProcessing::Move => "ALL",
        };
        let uids = search_uids(session, query).await?;
        if !uids.is_empty() {
            debug!(count = uids.len(), "unprocessed messages");
        }
        let mut pipeline = Pipeline::default();
        'slices: for (i, slice) in uids.chunks(SIZES_CHUNK).enumerate() {
            if shutdown.is_set() {
                break;
            }
            for unit in units(session, slice, self.max_message_bytes, i == 0).await? {
                if shutdown.is_set() {
                    break 'slices;
                }
                match unit {
                    Unit::Chunk(uids) => self.chunk(session, &uids, &mut pipeline).await?,
                    Unit::Big(uid, size) => self.big(session, uid, size, &mut pipeline).await?,
                }
            }
        }
        if let Some(last) = pipeline.in_flight.take() {
            pipeline.processed += self.settle(session, last).await?;
        }
        Ok(pipeline.processed)
    }

    /// Fetches and parses a run of messages within the size cap and sends
    /// them to the engine as one batch.
    async fn chunk(
        &self,
        session: &mut Session<Stream>,
        uids: &[u32],
        pipeline: &mut Pipeline,
    ) -> Result<(), ImapError> {
        let fetched = fetch(session, uid_set(uids), "(UID BODY.PEEK[])", FETCH_TIMEOUT).await?;
        let mut fetched: Vec<(u32, Fetch)> = fetched
            .into_iter()
            .filter_map(|f| Some((f.uid?, f)))
            .collect();
        fetched.sort_unstable_by_key(|(uid, _)| *uid);
        let (items, requests) = fetched
            .iter()
            .enumerate()
            .filter_map(|(index, (uid, f))| Some(((*uid, index), self.request(f.body()?, None))))
            .unzip();
        self.send(session, pipeline, Mail::Fetched(fetched), items, requests)
            .await
    }

    /// A message over the size cap: its header and the beginning of its
    /// text, with a note of what was left out.
    async fn big(
        &self,
        session: &mut Session<Stream>,
        uid: u32,
        size: u32,
        pipeline: &mut Pipeline,
    ) -> Result<(), ImapError> {
        let fetched = fetch(session, uid.to_string(), &cut_query(""), FETCH_TIMEOUT).await?;
        let Some(f) = fetched.first() else {
            return Ok(());
        };
        let raw = cut_message(f);
        let request = self.request(&raw, Some(oversize_note(size, self.max_message_bytes)));
        self.send(
            session,
            pipeline,
            Mail::Cut(raw),
            vec![(uid, 0)],
            vec![request],
        )
        .await
    }

    /// Queues a batch at the engine, then settles the batch sent before it
    /// (the engine commits in the order it was sent batches).
    async fn send(
        &self,
        session: &mut Session<Stream>,
        pipeline: &mut Pipeline,
        mail: Mail,
        items: Vec<(u32, usize)>,
        requests: Vec<Request>,
    ) -> Result<(), ImapError> {
        if items.is_empty() {
            return Ok(());
        }
        let answer = self.engine.submit_batch(requests).await?;
        let sent = InFlight {
            mail,
            items,
            answer,
        };
        if let Some(previous) = pipeline.in_flight.replace(sent) {
            pipeline.processed += self.settle(session, previous).await?;
        }
        Ok(())
    }

    /// Waits for the engine's answer to a batch, quarantines what nothing can
    /// be done with instead of letting it block the mailbox, then marks the
    /// batch processed; returns how many it marked.
    async fn settle(
        &self,
        session: &mut Session<Stream>,
        sent: InFlight,
    ) -> Result<usize, ImapError> {
        let outcomes = sent.answer.outcomes().await?;
        let mut done = Vec::with_capacity(sent.items.len());
        for (&(uid, index), outcome) in sent.items.iter().zip(outcomes) {
            match outcome {
                IntakeOutcome::Unprocessable(reason) => {
                    self.quarantine(uid, sent.mail.raw(index).to_vec(), reason)
                        .await?
                }
                outcome => debug!(uid, outcome = ?outcome, "message processed"),
            }
            done.push(uid);
        }
        self.mark_processed(session, &done).await?;
        Ok(done.len())
    }

    fn request(&self, raw: &[u8], oversize: Option<Warning>) -> Request {
        to_request(
            raw,
            oversize,
            &self.limits,
            &self.rules,
            &self.directory,
            self.clock.now(),
        )
    }

    async fn quarantine(&self, uid: u32, raw: Vec<u8>, reason: String) -> Result<(), ImapError> {
        let origin = format!("imap:{} uid {uid}", self.config.mailbox);
        let id = self
            .engine
            .quarantine(origin.clone(), reason.clone(), raw)
            .await?;
        let text = format!("A message ({origin}) could not be processed and was quarantined as #{id}: {reason}.\nInspect it with `itdesk quarantine show {id}`; `itdesk quarantine retry {id}` runs it through intake again.");
        self.engine.alert(text).await?;
        Ok(())
    }

    async fn mark_processed(
        &self,
        session: &mut Session<Stream>,
        uids: &[u32],
    ) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        match self.config.after_processing {
            AfterProcessing::Seen => {
                timed("STORE", async {
                    session
                        .uid_store(&set, "+FLAGS.SILENT (\\Seen)")
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?
                .map_err(|e| protocol("STORE", e))?;
            }
            AfterProcessing::Move => {
                timed("MOVE", session.uid_mv(&set, &self.config.processed_mailbox))
                    .await?
                    .map_err(|e| protocol("MOVE", e))?;
            }
        }
        Ok(())
    }
}

/// What `drain` fetches in one command.
enum Unit {
    /// Messages within the size cap, at most CHUNK, in UID order.
    Chunk(Vec<u32>),
    /// A message over the cap (UID, size), fetched cut short.
    Big(u32, u32),
}

/// The sizes of `uids` in one round trip, cut into what is fetched
/// together, in UID order: runs of at most CHUNK messages within the
/// size cap, and each message over it alone.
async fn units(
    session: &mut Session<Stream>,
    uids: &[u32],
    max_message_bytes: u64,
    first: bool,
) -> Result<Vec<Unit>, ImapError> {
    let sizes = fetch(session, uid_set(uids), "(UID RFC822.SIZE)", COMMAND_TIMEOUT).await?;
    let mut sizes: Vec<(u32, u32)> = sizes
        .iter()
        .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
        .collect();
    sizes.sort_unstable();
    let mut units = Vec::new();
    let (mut chunk, mut bytes) = (Vec::new(), 0);
    for (uid, size) in sizes {
        let size_bytes = size as usize;
        if u64::from(size) > max_message_bytes {
            if !chunk.is_empty() {
                units.push(Unit::Chunk(std::mem::take(&mut chunk)));
                bytes = 0;
            }
            units.push(Unit::Big(uid, size));
            continue;
        }
        if !chunk.is_empty() && bytes + size_bytes > BATCH_BYTES {
            units.push(Unit::Chunk(std::mem::take(&mut chunk)));
            bytes = 0;
        }
        chunk.push(uid);
        bytes += size_bytes;
        // The first chunk of a drain is small, so that the engine starts
        // early; later ones are bigger: fewer FETCH and STORE round trips.
        let most = if first && units.is_empty() {
            FIRST_CHUNK
        } else {
            CHUNK
        };
        if chunk.len() == most {
            units.push(Unit::Chunk(std::mem::take(&mut chunk)));
            bytes = 0;
        }
    }
    if !chunk.is_empty() {
        units.push(Unit::Chunk(chunk));
    }
    Ok(units)
}

/// The raw mail of fetched messages, kept until the engine has answered for
/// them (a message it cannot use is quarantined as it came).
enum Mail {
    /// A FETCH's messages by UID.
    Fetched(Vec<(u32, Fetch)>),
    /// A message over the size cap: its header and the start of its text.
    Cut(Vec<u8>),
}

impl Mail {
    fn raw(&self, index: usize) -> &[u8] {
        match self {
            Mail::Fetched(fetched) => fetched
                .get(index)
                .and_then(|(_, f)| f.body())
                .unwrap_or_default(),
            Mail::Cut(raw) => raw,
        }
    }
}

/// A batch the engine has been sent: (UID, index into `mail`) per request,
/// in order, and the answer to come.
struct InFlight {
    mail: Mail,
    items: Vec<(u32, usize)>,
    answer: Answer<Vec<IntakeOutcome>>,
}

#[derive(Default)]
struct Pipeline {
    /// At most one batch awaiting its answer while the next is prepared.
    in_flight: Option<InFlight>,
    /// Messages marked processed so far.
    processed: usize,
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

/// A raw message as the engine's request; `oversize` says the message was
/// over the size cap and `raw` only its beginning.
fn to_request(
    raw: &[u8],
    oversize: Option<Warning>,
    limits: &EmailLimits,
    rules: &Rules,
    directory: &Directory,
    now: DateTime<Utc>,
) -> Request {
    let mut message = parse_email(raw, limits, now);
    if let Some(Warning::MessageCut { size, limit, .. }) = oversize {
        // The parser saw a cut-off copy: its attachment sizes and warnings
        // describe that copy, not the mail. Name the files, keep none.
        let names: Vec<String> = message.attachments.drain(..).map(|a| a.name).collect();
        message.warnings = vec![Warning::MessageCut { size, limit, names }];
    }
    prepare(message, rules, directory)
}

/// The FETCH items of a message over the size cap: its header and the start
/// of its text (`extra`: more items, e.g. " INTERNALDATE").
fn cut_query(extra: &str) -> String {
    format!("(UID{extra} BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.{OVERSIZE_TEXT_BYTES}>)")
}

/// A message over the size cap as `cut_query` fetched it.
fn cut_message(f: &Fetch) -> Vec<u8> {
    let mut raw = f.header().unwrap_or_default().to_vec();
    raw.extend_from_slice(f.text().unwrap_or_default());
    raw
}

/// What the requester and the ticket are told of a message over the cap.
fn oversize_note(size: u32, max_message_bytes: u64) -> Warning {
    Warning::MessageCut {
        size: u64::from(size),
        limit: max_message_bytes,
        names: Vec::new(),
    }
}

/// `1,2,3,7` — short and correct for any set.
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// `UID SEARCH query`, in UID order (the order the mail came in).
async fn search_uids(session: &mut Session<Stream>, query: &str) -> Result<Vec<u32>, ImapError> {
    let mut uids: Vec<u32> = timed("SEARCH", session.uid_search(query))
        .await?
        .map_err(|e| protocol("SEARCH", e))?
        .into_iter()
        .collect();
    uids.sort_unstable();
    Ok(uids)
}

fn protocol(op: &'static str, e: impl std::fmt::Display) -> ImapError {
    ImapError::Protocol {
        op,
        reason: e.to_string(),
    }
}

async fn timed<T>(
    op: &'static str,
    fut: impl std::future::Future<Output = T>,
) -> Result<T, ImapError> {
    tokio::time::timeout(COMMAND_TIMEOUT, fut)
        .await
        .map_err(|_| ImapError::Timeout(op))
}

/// `UID FETCH set query`, every response collected, within `limit`.
async fn fetch(
    session: &mut Session<Stream>,
    set: String,
    query: &str,
    limit: Duration,
) -> Result<Vec<Fetch>, ImapError> {
    let all = async { session.uid_fetch(set, query).await?.try_collect().await };
    tokio::time::timeout(limit, all)
        .await
        .map_err(|_| ImapError::Timeout("FETCH"))?
        .map_err(|e| protocol("FETCH", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_list_every_uid() {
        assert_eq!(uid_set(&[1, 2, 7]), "1,2,7");
    }
}
