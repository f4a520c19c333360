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

use async_imap::types::{Fetch, UnsolicitedResponse};
use async_imap::{Client, Session};
use futures::TryStreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tracing::{debug, info, warn};

use crate::clock::Clock;
use crate::config::{AfterProcessing, ImapAuth, ImapConfig, Security};
use crate::engine::{Answer, EngineError, EngineHandle, IntakeOutcome};
use crate::health::{Health, ImapFailure};
use crate::intake::classify::Rules;
use crate::intake::directory::Directory;
use crate::intake::email::{parse_email, EmailLimits};
use crate::intake::{prepare, Request};
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
const MB: f64 = 1024.0 * 1024.0;

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
    #[error("IMAP mailbox {mailbox:?} cannot be selected: {reason} — check [imap].mailbox")]
    Mailbox { mailbox: String, reason: String },
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
                r = self.connect() => r,
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

    fn port(&self) -> u16 {
        self.config
            .port
            .unwrap_or(if self.config.security == Security::Tls {
                993
            } else {
                143
            })
    }

    async fn connect(&self) -> Result<Session<Stream>, ImapError> {
        let (host, port) = (self.config.host.clone(), self.port());
        let tcp = timed("connect", TcpStream::connect((host.as_str(), port)))
            .await?
            .map_err(|e| ImapError::Connect {
                host: host.clone(),
                port,
                reason: e.to_string(),
            })?;
        let client = match self.config.security {
            Security::Plain => greeted(Client::new(Box::new(tcp) as Stream)).await?,
            Security::Tls => greeted(Client::new(Box::new(self.tls(tcp).await?) as Stream)).await?,
            Security::Starttls => {
                let mut plain = greeted(Client::new(tcp)).await?;
                timed("STARTTLS", plain.run_command_and_check_ok("STARTTLS", None))
                    .await?
                    .map_err(|e| ImapError::Tls {
                        host: host.clone(),
                        reason: format!("STARTTLS refused: {e}"),
                    })?;
                Client::new(Box::new(self.tls(plain.into_inner()).await?) as Stream)
            }
        };
        let user = self.config.username.clone();
        let login = match self.config.auth {
            ImapAuth::Login => {
                let password = self.password.clone().unwrap_or_default();
                timed("login", client.login(&user, password))
                    .await?
                    .map_err(|(e, _)| ImapError::Login {
                        host: host.clone(),
                        port,
                        user: user.clone(),
                        reason: server_text(&e),
                    })
            }
            ImapAuth::Xoauth2 => {
                let token = self.token().await?;
                timed(
                    "login",
                    client.authenticate(
                        "XOAUTH2",
                        XOAuth2 {
                            user: user.clone(),
                            token,
                        },
                    ),
                )
                .await?
                .map_err(|(e, _)| {
                    // Only a refusal says the token is bad; "try later"
                    // ([UNAVAILABLE]) or a dropped connection is a failed login.
                    let refused = matches!(&e, async_imap::error::Error::No(text) if !text.contains("[UNAVAILABLE]"));
                    if !refused {
                        return ImapError::Login {
                            host: host.clone(),
                            port,
                            user: user.clone(),
                            reason: server_text(&e),
                        };
                    }
                    let source_hint = match (
                        &self.config.oauth_token_file,
                        &self.config.oauth_token_command,
                    ) {
                        (Some(f), _) => format!("[imap].oauth_token_file {}", f.display()),
                        // Not the command line itself: it may carry a client secret.
                        (_, Some(_)) => "the token printed by [imap].oauth_token_command".into(),
                        _ => "the token".into(),
                    };
                    ImapError::TokenRejected {
                        host: host.clone(),
                        user: user.clone(),
                        reason: server_text(&e),
                        source_hint,
                    }
                })
            }
        };
        let session = login?;
        info!(host = %host, port, user = %user, "IMAP logged in");
        Ok(session)
    }

    async fn tls(
        &self,
        tcp: TcpStream,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ImapError> {
        let host = &self.config.host;
        let fail = |reason: String| ImapError::Tls {
            host: host.clone(),
            reason,
        };
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &self.config.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| fail(format!("cannot read ca_file {}: {e}", path.display())))?;
            for cert in rustls_pemfile_certs(&pem)
                .map_err(|e| fail(format!("ca_file {}: {e}", path.display())))?
            {
                roots
                    .add(cert)
                    .map_err(|e| fail(format!("ca_file {}: {e}", path.display())))?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| fail(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from(host.clone())
            .map_err(|e| fail(format!("bad server name: {e}")))?;
        timed(
            "TLS handshake",
            TlsConnector::from(Arc::new(config)).connect(name, tcp),
        )
        .await?
        .map_err(|e| fail(e.to_string()))
    }

    async fn token(&self) -> Result<String, ImapError> {
        if let Some(path) = &self.config.oauth_token_file {
            return std::fs::read_to_string(path)
                .map(|t| t.trim().to_string())
                .map_err(|e| {
                    ImapError::Token(format!(
                        "cannot read [imap].oauth_token_file {}: {e}",
                        path.display()
                    ))
                });
        }
        let command = self.config.oauth_token_command.clone().unwrap_or_default();
        let out = timed(
            "token command",
            tokio::process::Command::new("sh")
                .arg("-c")
                .arg(&command)
                .output(),
        )
        .await?
        .map_err(|e| ImapError::Token(format!("cannot run [imap].oauth_token_command: {e}")))?;
        if !out.status.success() {
            return Err(ImapError::Token(format!(
                "[imap].oauth_token_command exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
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
        let mut uids: Vec<u32> = timed("SEARCH", session.uid_search(query))
            .await?
            .map_err(|e| protocol("SEARCH", e))?
            .into_iter()
            .collect();
        uids.sort_unstable();
        if !uids.is_empty() {
            debug!(count = uids.len(), "unprocessed messages");
        }
        let mut pipeline = Pipeline::default();
        'slices: for (i, slice) in uids.chunks(SIZES_CHUNK).enumerate() {
            if shutdown.is_set() {
                break;
            }
            for unit in self.units(session, slice, i == 0).await? {
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

    /// The sizes of `uids` in one round trip, cut into what is fetched
    /// together, in UID order: runs of at most CHUNK messages within the
    /// size cap, and each message over it alone.
    async fn units(
        &self,
        session: &mut Session<Stream>,
        uids: &[u32],
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
            if u64::from(size) > self.max_message_bytes {
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
        let query = format!("(UID BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.{OVERSIZE_TEXT_BYTES}>)");
        let fetched = fetch(session, uid.to_string(), &query, FETCH_TIMEOUT).await?;
        let Some(f) = fetched.first() else {
            return Ok(());
        };
        let mut raw = f.header().unwrap_or_default().to_vec();
        raw.extend_from_slice(f.text().unwrap_or_default());
        // MB as [intake].max_message_mb counts them.
        let note = format!(
            "the message was {:.1} MB, over the {:.1} MB limit: only its first part was read and its attachments were not kept",
            f64::from(size) / MB,
            self.max_message_bytes as f64 / MB
        );
        let request = self.request(&raw, Some(note));
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

    /// A raw message as the engine's request; `oversize` says the message was
    /// over the size cap and `raw` only its beginning.
    fn request(&self, raw: &[u8], oversize: Option<String>) -> Request {
        let mut message = parse_email(raw, &self.limits, self.clock.now());
        if let Some(note) = oversize {
            // The parser saw a cut-off copy: its attachment sizes and warnings
            // describe that copy, not the mail. Name the files, keep none.
            let names: Vec<String> = message.attachments.drain(..).map(|a| a.name).collect();
            message.warnings = vec![if names.is_empty() {
                note
            } else {
                format!("{note}: {}", names.join(", "))
            }];
        }
        prepare(message, &self.rules, &self.directory)
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

async fn greeted<T: AsyncRead + AsyncWrite + Unpin + Send + Debug>(
    mut client: Client<T>,
) -> Result<Client<T>, ImapError> {
    match timed("greeting", client.read_response()).await? {
        Some(Ok(_)) => Ok(client),
        Some(Err(e)) => Err(protocol("greeting", e)),
        None => Err(ImapError::Protocol {
            op: "greeting",
            reason: "server closed the connection".into(),
        }),
    }
}

struct XOAuth2 {
    user: String,
    token: String,
}

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;
    /// The first (empty) challenge gets the credentials. A later one carries
    /// the server's error details, which the client acknowledges with an
    /// empty response so that the server can answer NO.
    fn process(&mut self, challenge: &[u8]) -> String {
        if challenge.is_empty() {
            format!("user={}\x01auth=Bearer {}\x01\x01", self.user, self.token)
        } else {
            String::new()
        }
    }
}

/// The server's own words in a NO or BAD reply: async-imap words them
/// `code: None, info: Some("[AUTHENTICATIONFAILED] …")`.
fn server_text(e: &async_imap::error::Error) -> String {
    let described = e.to_string();
    described
        .split_once("info: Some(\"")
        .and_then(|(_, rest)| rest.rsplit_once("\")"))
        .map_or(described.clone(), |(text, _)| text.to_string())
}

fn rustls_pemfile_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(certs)
}

/// `1,2,3,7` — short and correct for any set.
fn uid_set(uids: &[u32]) -> String {
    uids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",")
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
    use async_imap::Authenticator;

    use super::*;

    /// The SASL XOAUTH2 initial response as Gmail and Outlook document it
    /// (async-imap base64-encodes it on the wire).
    #[test]
    fn xoauth2_response_has_the_documented_shape() {
        let mut auth = XOAuth2 {
            user: "helpdesk@example.com".into(),
            token: "ya29.token".into(),
        };
        assert_eq!(
            auth.process(b""),
            "user=helpdesk@example.com\x01auth=Bearer ya29.token\x01\x01"
        );
        // The server's error details are acknowledged, never answered with
        // the token again.
        assert_eq!(auth.process(br#"{"status":"401"}"#), "");
    }

    #[test]
    fn a_refusal_is_reported_in_the_servers_words() {
        let refusal = async_imap::error::Error::No(
            r#"code: None, info: Some("[AUTHENTICATIONFAILED] Authentication failed.")"#.into(),
        );
        assert_eq!(
            server_text(&refusal),
            "[AUTHENTICATIONFAILED] Authentication failed."
        );
        let dropped = async_imap::error::Error::ConnectionLost;
        assert_eq!(server_text(&dropped), "connection lost");
    }

    #[test]
    fn ca_files_without_a_certificate_are_refused() {
        assert!(rustls_pemfile_certs(b"not a pem")
            .unwrap_err()
            .contains("no PEM certificate"));
    }

    #[test]
    fn uid_sets_list_every_uid() {
        assert_eq!(uid_set(&[1, 2, 7]), "1,2,7");
    }
}
