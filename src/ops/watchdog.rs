//! The alert watchdog: one task that looks at the daemon's health when
//! something failed and once a minute, and tells the on-duty staff (through
//! the engine's Alert notice) about what `alerts::evaluate` raises — each
//! condition at most once per `[alerts].every`, with a clear log line each time.
//!
//! Invariant: the rate limit holds however often failures are reported; the
//! watchdog only reads and alerts, it never changes a ticket.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, info, warn};

use super::alerts::{evaluate, jwt_expiry, RateLimiter, Thresholds};
use super::webhook::Webhook;
use crate::clock::Clock;
use crate::engine::EngineHandle;
use crate::health::{Condition, Health};
use crate::shutdown::Shutdown;
use crate::store::Store;

/// How often conditions that nobody reports (dead letters, token expiry) are looked at.
const LOOK_EVERY: Duration = Duration::from_secs(60);
/// How often a failed store is tried again.
const REOPEN_EVERY: Duration = Duration::from_secs(5);

pub struct Watchdog {
    pub health: Health,
    pub store: Store,
    pub engine: EngineHandle,
    pub clock: Arc<dyn Clock>,
    pub thresholds: Thresholds,
    /// At most one alert per condition per this long.
    pub every: chrono::Duration,
    /// `[imap].oauth_token_file` under XOAUTH2: its expiry is watched.
    pub token_file: Option<PathBuf>,
    /// `[alerts] webhook_url`: every alert is POSTed there too.
    pub webhook_url: Option<String>,
    /// `[helpdesk] name`, in the webhook's body.
    pub helpdesk: String,
}

impl Watchdog {
    pub async fn run(self, mut shutdown: Shutdown) {
        let mut limiter = RateLimiter::new(self.every);
        let mut active = BTreeSet::new();
        let mut unsent = Vec::new();
        let mut webhook = self
            .webhook_url
            .as_deref()
            .and_then(|url| Webhook::new(url, &self.helpdesk));
        while !shutdown.is_set() {
            self.reopen_failed_store().await;
            let outside = webhook.as_mut().map(|w| (w, &shutdown));
            self.look(&mut limiter, &mut active, &mut unsent, outside)
                .await;
            let pause = match self.store.failure() {
                Some(_) => REOPEN_EVERY,
                None => LOOK_EVERY,
            };
            tokio::select! {
                _ = self.health.changed() => {}
                _ = self.store.stopped() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.wait() => {}
            }
        }
        if let Some(webhook) = webhook {
            webhook.finish().await;
        }
        debug!("alert watchdog stopped");
    }

    /// A store that stopped after a failed write is opened again as soon as
    /// it takes writes: everything waiting on it then resumes by itself.
    async fn reopen_failed_store(&self) {
        let Some(failure) = self.store.failure() else {
            return;
        };
        let store = self.store.clone();
        let attempt = tokio::task::spawn_blocking(move || store.reopen());
        // An attempt that hangs (sled on a disk still full) goes on alone;
        // the watchdog keeps looking, and the next attempt waits for it.
        match tokio::time::timeout(REOPEN_EVERY * 6, attempt).await {
            Ok(Ok(Ok(true))) => info!(%failure, "store reopened: writes work again"),
            Ok(Ok(Ok(false))) => {}
            Ok(Ok(Err(e))) => debug!(error = %e, "store not reopened yet"),
            Ok(Err(e)) => warn!(error = %e, "reopening the store did not finish"),
            Err(_) => warn!("reopening the store is taking long; still trying"),
        }
    }

    /// `unsent` holds alerts the engine could not queue yet (e.g. the store
    /// itself was failing): they go out once it can. The webhook, if any, gets
    /// each alert at once, whatever the store does.
    async fn look(
        &self,
        limiter: &mut RateLimiter,
        active: &mut BTreeSet<Condition>,
        unsent: &mut Vec<(Condition, String)>,
        mut webhook: Option<(&mut Webhook, &Shutdown)>,
    ) {
        if let Some(path) = &self.token_file {
            // The token itself is never logged; only its expiry is kept.
            let expiry = std::fs::read_to_string(path)
                .ok()
                .and_then(|t| jwt_expiry(&t));
            self.health.set_token_expiry(expiry);
        }
        let now = self.clock.now();
        let alarms = evaluate(&self.health.observe(&self.store), &self.thresholds, now);
        let raised: BTreeSet<Condition> = alarms.iter().map(|a| a.condition).collect();
        for gone in active.difference(&raised) {
            info!(condition = gone.key(), "alert condition cleared");
        }
        *active = raised;
        for alarm in alarms {
            if !limiter.allow(alarm.condition, now) {
                debug!(
                    condition = alarm.condition.key(),
                    "alert condition persists; on-duty staff were told within the alert interval"
                );
                continue;
            }
            warn!(
                condition = alarm.condition.key(),
                "ALERT to on-duty staff: {}",
                alarm.text.replace('\n', " ")
            );
            self.health.alert_raised(alarm.condition);
            if let Some((webhook, shutdown)) = webhook.as_mut() {
                webhook.send(alarm.condition, &alarm.text, now, shutdown);
            }
            unsent.push((alarm.condition, alarm.text));
        }
        let mut still_unsent = Vec::new();
        for (condition, text) in unsent.drain(..) {
            // The first line of the text is the notice's subject.
            if let Err(e) = self.engine.alert(text.clone()).await {
                warn!(error = %e, condition = condition.key(), "the alert could not be queued yet; trying again");
                still_unsent.push((condition, text));
            }
        }
        *unsent = still_unsent;
    }
}
