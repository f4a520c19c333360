//! `[smtp] save_sent`: a copy of every notice the SMTP server accepted goes
//! into a mailbox of the `[imap]` account, as a mail client keeps its sent
//! mail. Those copies are what `itdesk recover` reads a lost ticket's
//! original ID back from (`recover.rs`).
//!
//! Invariant: keeping a copy never fails or repeats a send — the notice is
//! already out; a copy that cannot be kept is logged and given up.

use async_imap::Session;
use tokio::sync::Mutex;
use tracing::{debug, warn};

use super::commands::{protocol, timed};
use super::{login, ImapError, Stream};
use crate::config::ImapConfig;

pub struct SentCopies {
    config: ImapConfig,
    /// Resolved password for `auth = "login"`.
    password: Option<String>,
    mailbox: String,
    /// One session, kept between notices; copies are appended one at a time.
    session: Mutex<Option<Session<Stream>>>,
}

impl SentCopies {
    pub fn new(config: ImapConfig, password: Option<String>, mailbox: String) -> SentCopies {
        SentCopies {
            config,
            password,
            mailbox,
            session: Mutex::new(None),
        }
    }

    /// Appends `raw`, the notice exactly as it was sent; a failure is logged.
    pub async fn keep(&self, raw: &[u8], message_id: &str) {
        match self.append(raw).await {
            Ok(()) => debug!(mailbox = %self.mailbox, %message_id, "copy of the notice kept"),
            Err(e) => warn!(
                mailbox = %self.mailbox,
                %message_id,
                error = %e,
                "the notice was sent, but no copy of it could be kept in [smtp].save_sent; `itdesk recover` cannot read this ticket's ID back from it"
            ),
        }
    }

    async fn append(&self, raw: &[u8]) -> Result<(), ImapError> {
        let mut slot = self.session.lock().await;
        // A kept session the server has since closed fails once; a fresh one
        // is tried before giving up.
        if let Some(session) = slot.as_mut() {
            if self.append_on(session, raw).await.is_ok() {
                return Ok(());
            }
            *slot = None;
        }
        let mut session = login::connect(&self.config, self.password.as_deref()).await?;
        // Creating an existing mailbox fails harmlessly.
        let _ = timed("CREATE", session.create(&self.mailbox)).await;
        self.append_on(&mut session, raw).await?;
        *slot = Some(session);
        Ok(())
    }

    async fn append_on(&self, session: &mut Session<Stream>, raw: &[u8]) -> Result<(), ImapError> {
        timed(
            "APPEND",
            session.append(&self.mailbox, Some("(\\Seen)"), None, raw),
        )
        .await?
        .map_err(|e| protocol("APPEND", e))
    }
}
