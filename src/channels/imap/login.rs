//! Logging in to the IMAP account: TCP, TLS (implicit or STARTTLS, our CA
//! file on top of the web roots), then LOGIN or XOAUTH2. Shared by the intake
//! loop, the sent-notice copies (`sent.rs`) and `itdesk recover` (`recover.rs`).
//!
//! Invariant: every step is bounded by a timeout, and a password or token is
//! never part of an error or a log line.

use std::fmt::Debug;
use std::sync::Arc;

use async_imap::{Client, Session};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;
use tracing::info;

use super::commands::{protocol, timed};
use super::{ImapError, Stream};
use crate::config::{ImapAuth, ImapConfig, Security};

/// Logs in to `config`'s account; `password` is the resolved secret for
/// `auth = "login"`.
pub(super) async fn connect(
    config: &ImapConfig,
    password: Option<&str>,
) -> Result<Session<Stream>, ImapError> {
    Login { config, password }.connect().await
}

struct Login<'a> {
    config: &'a ImapConfig,
    password: Option<&'a str>,
}

impl Login<'_> {
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
                let password = self.password.unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use async_imap::Authenticator;

    use super::*;

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
}
