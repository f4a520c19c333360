//! Sending mail: lettre's SMTP client over our own pool of connections, TLS
//! modes as for IMAP. The sockets are ours so that TCP_NODELAY is set: lettre
//! writes a message's body and its closing dot in two writes, and with Nagle's
//! algorithm on, the dot waits for the server's delayed ACK of the body —
//! 40 ms per message on Linux, which capped a connection at ~25 mails/s.
//!
//! Invariant: lettre types stop here. Every notice carries our own Message-ID
//! (stable across retries), the ticket tag in the subject, In-Reply-To the
//! requester's message, and `Auto-Submitted: auto-replied` so that well-behaved
//! autoresponders never answer it. With `[smtp] save_sent`, a copy of each
//! accepted notice is kept in the IMAP account (`imap/sent.rs`).

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::extension::ClientId;
use lettre::Message;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::imap::sent::SentCopies;
use crate::config::{Security, SmtpConfig};
use crate::outbox::transport::{DeliveryError, OutgoingMessage, Transport};
use crate::queue::Destination;

/// Connecting (TLS, EHLO, login included) is bounded by this.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Submitting one message is bounded by this (a digest can be large).
const SEND_TIMEOUT: Duration = Duration::from_secs(300);
/// Open connections kept between sends; the outbox sends 8 at a time.
const POOL_SIZE: usize = 8;
/// An unused connection older than this is closed, not reused.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error("[smtp].from {from:?} is not a valid mailbox: {reason}")]
    From { from: String, reason: String },
    #[error("[smtp].ca_file {path}: {reason}")]
    Ca { path: String, reason: String },
    #[error("SMTP TLS setup for {host}: {reason}")]
    Tls { host: String, reason: String },
}

/// Replies that refuse our session (login, encryption), not the message: a
/// config mistake the admin fixes, after which the notice must still go out.
/// 530 authentication/STARTTLS required, 534 mechanism too weak, 535 bad
/// credentials, 538 encryption required for this mechanism.
const SESSION_REFUSALS: [u16; 4] = [530, 534, 535, 538];

pub struct SmtpChannel {
    host: String,
    port: u16,
    security: Security,
    /// For STARTTLS (lettre's) and implicit TLS (ours, on our socket).
    starttls: Option<TlsParameters>,
    implicit_tls: Option<TlsConnector>,
    credentials: Option<Credentials>,
    hello: ClientId,
    /// Connections not in use, with when each was last used.
    idle: Mutex<Vec<(AsyncSmtpConnection, Instant)>>,
    from: Mailbox,
    /// `host:port`, for messages.
    server: String,
    /// `[smtp] save_sent`: where a copy of each sent notice goes.
    sent_copies: Option<SentCopies>,
}

/// Why a send failed: an error of the SMTP conversation (the server's reply
/// among them), or one of ours before it (connect, TLS, a timeout).
enum Failure {
    Smtp(lettre::transport::smtp::Error),
    Other(String),
}

impl From<lettre::transport::smtp::Error> for Failure {
    fn from(e: lettre::transport::smtp::Error) -> Failure {
        Failure::Smtp(e)
    }
}

impl SmtpChannel {
    /// `password` is the resolved secret, when `[smtp].username` is set.
    /// `sent_copies`: `[smtp] save_sent`, through the `[imap]` account.
    pub fn new(
        cfg: &SmtpConfig,
        password: Option<String>,
        sent_copies: Option<SentCopies>,
    ) -> Result<SmtpChannel, SmtpSetupError> {
        let from: Mailbox = cfg
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| SmtpSetupError::From {
                from: cfg.from.clone(),
                reason: e.to_string(),
            })?;
        let port = cfg.port.unwrap_or(match cfg.security {
            Security::Tls => 465,
            Security::Starttls => 587,
            Security::Plain => 25,
        });
        let (starttls, implicit_tls) = match cfg.security {
            Security::Plain => (None, None),
            Security::Starttls => (Some(tls_parameters(cfg)?), None),
            Security::Tls => (None, Some(tls_connector(cfg)?)),
        };
        Ok(SmtpChannel {
            host: cfg.host.clone(),
            port,
            security: cfg.security,
            starttls,
            implicit_tls,
            credentials: cfg
                .username
                .clone()
                .zip(password)
                .map(|(user, pw)| Credentials::new(user, pw)),
            hello: ClientId::default(),
            idle: Mutex::default(),
            from,
            server: format!("{}:{port}", cfg.host),
            sent_copies,
        })
    }

    /// An idle connection that still answers, or a new one.
    async fn connection(&self) -> Result<AsyncSmtpConnection, Failure> {
        loop {
            let next = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some((mut conn, since)) = next else { break };
            let alive = since.elapsed() < IDLE_TIMEOUT
                && !conn.has_broken()
                && tokio::time::timeout(SMTP_TIMEOUT, conn.test_connected())
                    .await
                    .unwrap_or(false);
            if alive {
                return Ok(conn);
            }
            conn.abort().await;
        }
        match tokio::time::timeout(SMTP_TIMEOUT, self.connect()).await {
            Ok(r) => r,
            Err(_) => Err(Failure::Other(format!(
                "SMTP server {} did not complete the session setup within {SMTP_TIMEOUT:?}",
                self.server
            ))),
        }
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, Failure> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                Failure::Other(format!(
                    "cannot connect to SMTP server {}: {e} — check [smtp].host/port",
                    self.server
                ))
            })?;
        tcp.set_nodelay(true)
            .map_err(|e| Failure::Other(format!("SMTP socket: {e}")))?;
        let stream: Box<dyn AsyncTokioStream> = match &self.implicit_tls {
            Some(connector) => {
                let name = ServerName::try_from(self.host.clone()).map_err(|e| {
                    Failure::Other(format!("bad SMTP server name {}: {e}", self.host))
                })?;
                let tls = connector.connect(name, tcp).await.map_err(|e| {
                    Failure::Other(format!(
                        "TLS with SMTP server {}: {e} — check [smtp].security and ca_file",
                        self.server
                    ))
                })?;
                Box::new(TlsSocket(tls))
            }
            None => Box::new(tcp),
        };
        let mut conn = AsyncSmtpConnection::connect_with_transport(stream, &self.hello).await?;
        if let (Security::Starttls, Some(params)) = (self.security, &self.starttls) {
            conn.starttls(params.clone(), &self.hello).await?;
        }
        if let Some(credentials) = &self.credentials {
            conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await?;
        }
        Ok(conn)
    }

    /// Sends `email`; the bytes the server accepted.
    async fn submit(&self, email: &Message) -> Result<Vec<u8>, Failure> {
        let raw = email.formatted();
        let mut conn = self.connection().await?;
        match tokio::time::timeout(SEND_TIMEOUT, conn.send(email.envelope(), &raw)).await {
            Ok(Ok(_)) => {
                let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
                if idle.len() < POOL_SIZE {
                    idle.push((conn, Instant::now()));
                }
                Ok(raw)
            }
            // lettre has already closed a connection its command failed on.
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(Failure::Other(format!(
                "SMTP server {} did not take the message within {SEND_TIMEOUT:?}",
                self.server
            ))),
        }
    }

    fn message(&self, msg: &OutgoingMessage) -> Result<Message, DeliveryError> {
        let Destination::Email { to } = &msg.dest else {
            return Err(DeliveryError::Permanent(format!(
                "{} is not an email destination",
                msg.dest
            )));
        };
        let to: Mailbox = to
            .parse()
            .map_err(|e| DeliveryError::Permanent(format!("bad recipient address {to:?}: {e}")))?;
        let subject = match &msg.ticket {
            Some(id) if !msg.subject.contains(id.as_str()) => format!("[{id}] {}", msg.subject),
            _ => msg.subject.clone(),
        };
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<{}>", msg.message_id)))
            .header(AutoSubmitted);
        if let Some(parent) = &msg.in_reply_to {
            builder = builder
                .in_reply_to(format!("<{parent}>"))
                .references(format!("<{parent}>"));
        }
        // `singlepart` adds MIME-Version, without which readers may leave the
        // base64 or quoted-printable body undecoded.
        let built = match &msg.html {
            // The digest: the page as HTML with the plain text as the
            // alternative; its charts as PNG parts the page refers to by `cid:`.
            Some(html) if !msg.images.is_empty() => {
                let png = ContentType::parse("image/png")
                    .map_err(|e| DeliveryError::Permanent(format!("cannot build the mail: {e}")))?;
                let related = msg.images.iter().fold(
                    MultiPart::related().singlepart(SinglePart::html(html.clone())),
                    |related, image| {
                        related.singlepart(
                            Attachment::new_inline(image.cid.clone())
                                .body(image.png.clone(), png.clone()),
                        )
                    },
                );
                builder.multipart(
                    MultiPart::alternative()
                        .singlepart(SinglePart::plain(msg.body.clone()))
                        .multipart(related),
                )
            }
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(
                msg.body.clone(),
                html.clone(),
            )),
            None => builder.singlepart(SinglePart::plain(msg.body.clone())),
        };
        built.map_err(|e| DeliveryError::Permanent(format!("cannot build the mail: {e}")))
    }
}

fn tls_parameters(cfg: &SmtpConfig) -> Result<TlsParameters, SmtpSetupError> {
    let mut params = TlsParameters::builder(cfg.host.clone());
    if let Some(path) = &cfg.ca_file {
        let ca = |reason: String| SmtpSetupError::Ca {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| ca(e.to_string()))?;
        params = params
            .add_root_certificate(Certificate::from_pem(&pem).map_err(|e| ca(e.to_string()))?);
    }
    params.build_rustls().map_err(|e| SmtpSetupError::Tls {
        host: cfg.host.clone(),
        reason: e.to_string(),
    })
}

#[async_trait]
impl Transport for SmtpChannel {
    async fn send(&self, msg: &OutgoingMessage) -> Result<(), DeliveryError> {
        let email = self.message(msg)?;
        match self.submit(&email).await {
            Ok(raw) => {
                if let Some(copies) = &self.sent_copies {
                    copies.keep(&raw, &msg.message_id).await;
                }
                Ok(())
            }
            Err(Failure::Other(reason)) => Err(DeliveryError::Temporary(reason)),
            Err(Failure::Smtp(e)) if e.status().is_some_and(|code| SESSION_REFUSALS.contains(&u16::from(code))) => Err(DeliveryError::Temporary(format!(
                "SMTP server {} refused our session: {e} — check [smtp].username, password_file / password_env and security",
                self.server
            ))),
            // Other 5xx: the server said no for good (unknown user, rejected content).
            Err(Failure::Smtp(e)) if e.is_permanent() => Err(DeliveryError::Permanent(e.to_string())),
            Err(Failure::Smtp(e)) => Err(DeliveryError::Temporary(e.to_string())),
        }
    }
}

/// Implicit TLS (`security = "tls"`) for our own connector, on our own socket.
fn tls_connector(cfg: &SmtpConfig) -> Result<TlsConnector, SmtpSetupError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &cfg.ca_file {
        let ca = |reason: String| SmtpSetupError::Ca {
            path: path.display().to_string(),
            reason,
        };
        let pem = std::fs::read(path).map_err(|e| ca(e.to_string()))?;
        use tokio_rustls::rustls::pki_types::pem::PemObject;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            roots
                .add(cert.map_err(|e| ca(e.to_string()))?)
                .map_err(|e| ca(e.to_string()))?;
        }
    }
    let tls = |reason: String| SmtpSetupError::Tls {
        host: cfg.host.clone(),
        reason,
    };
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

/// A TLS stream lettre can drive as if it were a plain socket.
#[derive(Debug)]
struct TlsSocket(tokio_rustls::client::TlsStream<TcpStream>);

impl AsyncRead for TlsSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsSocket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl AsyncTokioStream for TlsSocket {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.0.get_ref().0.peer_addr()
    }
}

/// `Auto-Submitted: auto-replied` (RFC 3834).
#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-replied".to_string())
    }
}
