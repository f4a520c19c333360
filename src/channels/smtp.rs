//! Sending mail: lettre over a pooled SMTP connection, TLS modes as for IMAP.
//!
//! Invariant: lettre types stop here. Every notice carries our own Message-ID
//! (stable across retries), the ticket tag in the subject, In-Reply-To the
//! requester's message, and `Auto-Submitted: auto-replied` so that well-behaved
//! autoresponders never answer it.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Security, SmtpConfig};
use crate::outbox::transport::{DeliveryError, OutgoingMessage, Transport};
use crate::store::Destination;

/// Every network step of a send is bounded by this.
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

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
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for messages.
    server: String,
}

impl SmtpChannel {
    /// `password` is the resolved secret, when `[smtp].username` is set.
    pub fn new(cfg: &SmtpConfig, password: Option<String>) -> Result<SmtpChannel, SmtpSetupError> {
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
        let tls = match cfg.security {
            Security::Plain => Tls::None,
            Security::Tls => Tls::Wrapper(tls_parameters(cfg)?),
            Security::Starttls => Tls::Required(tls_parameters(cfg)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.clone())
            .port(port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT))
            .pool_config(
                PoolConfig::new()
                    .max_size(8)
                    .idle_timeout(Duration::from_secs(60)),
            );
        if let (Some(user), Some(password)) = (&cfg.username, password) {
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(SmtpChannel {
            transport: builder.build(),
            from,
            server: format!("{}:{port}", cfg.host),
        })
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
            // The digest: its charts as HTML, with the plain text as the alternative.
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
        match self.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(e) if e.status().is_some_and(|code| SESSION_REFUSALS.contains(&u16::from(code))) => Err(DeliveryError::Temporary(format!(
                "SMTP server {} refused our session: {e} — check [smtp].username, password_file / password_env and security",
                self.server
            ))),
            // Other 5xx: the server said no for good (unknown user, rejected content).
            Err(e) if e.is_permanent() => Err(DeliveryError::Permanent(e.to_string())),
            Err(e) => Err(DeliveryError::Temporary(e.to_string())),
        }
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
