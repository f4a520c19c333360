//! `[alerts] webhook_url`: every alert the watchdog raises is also POSTed as
//! JSON, retried with backoff, to whatever the admin points it at (a chat
//! incoming webhook, an incident tool, a script).
//!
//! Why not through the durable outbox like the alert notices: the webhook is
//! the path for when the rest is down. The conditions it reports include the
//! store failing (the outbox cannot queue anything then) and the mail or chat
//! server failing (the outbox's own transports). So it is sent from memory by
//! the watchdog, needing neither; an alert not delivered before a restart is
//! lost, and the watchdog raises it again after the restart if the condition
//! still holds.
//!
//! Invariant: a slow or failing webhook never delays the watchdog: each alert
//! is delivered by its own tracked task, bounded in attempts and time.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::task::JoinSet;
use tracing::{debug, info, warn};

use crate::health::Condition;
use crate::shutdown::Shutdown;

/// Attempts per alert: 1 s, 2 s, 4 s … between them, 8 in all (about 4 min).
const ATTEMPTS: u32 = 8;
const FIRST_RETRY: Duration = Duration::from_secs(1);
const MAX_RETRY: Duration = Duration::from_secs(60);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The JSON body, one alert per request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AlertBody {
    /// Always `"itdesk"`.
    pub source: &'static str,
    /// `[helpdesk] name`, to tell several desks apart.
    pub helpdesk: String,
    /// `imap_failing`, `oauth_rejected`, `oauth_expiring`, `store_failing`, `dead_letters`.
    pub condition: &'static str,
    /// The first line of `text`: a title.
    pub summary: String,
    /// What the on-duty mail says, in full.
    pub text: String,
    /// RFC 3339, UTC.
    pub raised_at: String,
}

impl AlertBody {
    pub fn new(helpdesk: &str, condition: Condition, text: &str, now: DateTime<Utc>) -> AlertBody {
        AlertBody {
            source: "itdesk",
            helpdesk: helpdesk.to_string(),
            condition: condition.key(),
            summary: text.lines().next().unwrap_or_default().to_string(),
            text: text.to_string(),
            raised_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

/// Whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    Temporary(String),
    Permanent(String),
}

pub struct Webhook {
    client: reqwest::Client,
    url: String,
    helpdesk: String,
    deliveries: JoinSet<()>,
}

impl Webhook {
    pub fn new(url: &str, helpdesk: &str) -> Option<Webhook> {
        let client = match reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("itdesk/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(client) => client,
            Err(e) => {
                warn!(error = %e, "the alert webhook cannot be used: alerts go by mail and chat only");
                return None;
            }
        };
        Some(Webhook {
            client,
            url: url.to_string(),
            helpdesk: helpdesk.to_string(),
            deliveries: JoinSet::new(),
        })
    }

    /// Starts delivering one alert; returns at once.
    pub fn send(
        &mut self,
        condition: Condition,
        text: &str,
        now: DateTime<Utc>,
        shutdown: &Shutdown,
    ) {
        // Finished deliveries are reaped here, so the set stays small.
        while self.deliveries.try_join_next().is_some() {}
        let body = AlertBody::new(&self.helpdesk, condition, text, now);
        let (client, url, shutdown) = (self.client.clone(), self.url.clone(), shutdown.clone());
        self.deliveries.spawn(deliver(client, url, body, shutdown));
    }

    /// At shutdown: deliveries still retrying are given up (logged).
    pub async fn finish(mut self) {
        if !self.deliveries.is_empty() {
            warn!(
                pending = self.deliveries.len(),
                "shutting down with alert webhooks still retrying; they are not sent"
            );
        }
        self.deliveries.shutdown().await;
    }
}

async fn deliver(client: reqwest::Client, url: String, body: AlertBody, mut shutdown: Shutdown) {
    let mut delay = FIRST_RETRY;
    for attempt in 1..=ATTEMPTS {
        match post(&client, &url, &body).await {
            Ok(()) => {
                info!(
                    condition = body.condition,
                    attempt, "alert webhook delivered"
                );
                return;
            }
            Err(Failure::Permanent(reason)) => {
                warn!(condition = body.condition, %reason, "alert webhook refused; not retried — check [alerts] webhook_url");
                return;
            }
            Err(Failure::Temporary(reason)) if attempt < ATTEMPTS => {
                debug!(condition = body.condition, attempt, %reason, retry_in = ?delay, "alert webhook failed; retrying");
            }
            Err(Failure::Temporary(reason)) => {
                warn!(condition = body.condition, attempts = ATTEMPTS, %reason, "alert webhook given up");
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.wait() => return,
        }
        delay = (delay * 2).min(MAX_RETRY);
    }
}

async fn post(client: &reqwest::Client, url: &str, body: &AlertBody) -> Result<(), Failure> {
    // Serialising a struct of strings cannot fail.
    let json = serde_json::to_vec(body).unwrap_or_default();
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(json)
        .send()
        .await
        // Connection refused, DNS, TLS, timeout: the receiver may come back.
        // The URL may carry a token (most incoming webhooks do): never logged.
        .map_err(|e| Failure::Temporary(e.without_url().to_string()))?;
    let status = response.status();
    match status.as_u16() {
        200..=299 => Ok(()),
        408 | 425 | 429 | 500..=599 => Err(Failure::Temporary(format!("HTTP {status}"))),
        _ => Err(Failure::Permanent(format!("HTTP {status}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_body_carries_the_condition_a_summary_and_the_full_text() {
        let now = Utc.with_ymd_and_hms(2023, 10, 9, 10, 0, 0).unwrap();
        let body = AlertBody::new(
            "IT Desk",
            Condition::ImapFailing,
            "Mail intake is failing\nLast error: refused",
            now,
        );
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "source": "itdesk", "helpdesk": "IT Desk", "condition": "imap_failing",
                "summary": "Mail intake is failing",
                "text": "Mail intake is failing\nLast error: refused",
                "raised_at": "2023-10-09T10:00:00Z",
            })
        );
    }
}
