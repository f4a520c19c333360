//! The outbox dispatcher: one task that waits for "new entry or next due time",
//! hands due timers back to the engine and due notices, rendered, to their
//! transport. Temporary failures retry with backoff; permanent ones, or too many
//! retries, go to the dead-letter list that `itdesk outbox list` shows.
//!
//! Invariant: an entry leaves the queue only after its transport accepted it (or
//! it was buried). A crash in between sends it again, with the same Message-ID.

pub mod digest;
pub mod live;
pub mod raster;
pub mod render;
pub mod transport;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::sync::Notify;
use tracing::{debug, info, warn};

use crate::clock::Clock;
use crate::config::{Config, OutboxConfig};
use crate::core::calendar::Calendar;
use crate::core::ticket::Ticket;
use crate::engine::EngineHandle;
use crate::health::Health;
use crate::queue::{
    DeadLetter, Destination, EntryBody, OutgoingNotice, PreparedMessage, QueueEntry,
};
use crate::shutdown::Shutdown;
use crate::store::{QueueKey, Store, StoreError};

use live::LiveNotices;
use render::NoticeContext;
use transport::{DeliveryError, InlineImage, OutgoingMessage, Transports};

/// How many notices are sent at once; transports pool their connections.
const PARALLEL_SENDS: usize = 8;
/// How many due entries one pass takes from the queue.
const BATCH: usize = 256;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    pub fn from_config(c: &OutboxConfig) -> RetryPolicy {
        RetryPolicy {
            max_attempts: c.max_attempts.max(1),
            base: Duration::from_secs(c.retry_base_seconds.max(1)),
            max: Duration::from_secs(c.retry_max_seconds.max(1)),
        }
    }

    /// Exponential: base, 2×base, 4×base … capped at `max`.
    pub fn delay(&self, attempts: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempts.saturating_sub(1).min(20))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

pub struct Dispatcher {
    pub store: Store,
    pub engine: EngineHandle,
    /// Templates and what notices show of the helpdesk: reloaded on SIGHUP.
    pub notices: LiveNotices,
    pub transports: Transports,
    pub calendar: Calendar,
    pub clock: Arc<dyn Clock>,
    pub wake: Arc<Notify>,
    pub retry: RetryPolicy,
    pub per_recipient_hourly_cap: usize,
    /// The same for staff addresses: a runaway-loop guard, far above any busy hour.
    pub per_staff_hourly_cap: usize,
    /// When each address was last sent to, for the cap. In memory: the cap is a
    /// safety net against loops, not an accounting record.
    pub sent_recently: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
    /// Counts sent and failed notices for `/metrics`.
    pub health: Health,
    /// `[digest]`, for digest timers; `None` when it is off.
    pub digest: Option<Arc<crate::stats::digest::DigestSettings>>,
}

/// What the dispatcher works with besides the config.
pub struct DispatcherParts {
    pub store: Store,
    pub engine: EngineHandle,
    pub notices: LiveNotices,
    pub transports: Transports,
    pub clock: Arc<dyn Clock>,
    pub wake: Arc<Notify>,
    pub health: Health,
}

impl Dispatcher {
    pub fn new(config: &Config, parts: DispatcherParts) -> Dispatcher {
        let DispatcherParts {
            store,
            engine,
            notices,
            transports,
            clock,
            wake,
            health,
        } = parts;
        Dispatcher {
            store,
            engine,
            notices,
            transports,
            calendar: config.settings.policy.calendar.clone(),
            clock,
            wake,
            retry: RetryPolicy::from_config(&config.outbox),
            per_recipient_hourly_cap: config.outbox.max_notices_per_recipient_per_hour,
            per_staff_hourly_cap: config.outbox.max_notices_per_staff_address_per_hour,
            sent_recently: Default::default(),
            health,
            digest: config.settings.digest.clone().map(Arc::new),
        }
    }

    /// Runs until shutdown. What is in flight when shutdown comes is finished.
    pub async fn run(self, mut shutdown: Shutdown) {
        while !shutdown.is_set() {
            match self.run_due().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {}
                Err(e) => warn!(error = %e, "outbox pass failed; retrying shortly"),
            }
            let pause = match self.store.first_entry() {
                Ok(Some((_, e))) => (e.due - self.clock.now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(Duration::from_secs(60)),
                Ok(None) => Duration::from_secs(60),
                // The store is failing: the watchdog reopens it.
                Err(_) => Duration::from_secs(5),
            };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
                _ = shutdown.wait() => {}
            }
        }
        debug!("outbox dispatcher stopped");
    }

    /// Processes every entry due now; returns how many it handled.
    pub async fn run_due(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let mut due = Vec::new();
        for item in self.store.entries() {
            let (key, entry) = item?;
            if entry.due > now || due.len() >= BATCH {
                break;
            }
            due.push((key, entry));
        }
        let count = due.len();
        let (timers, notices): (Vec<_>, Vec<_>) = due.into_iter().partition(|(_, e)| {
            matches!(
                e.body,
                EntryBody::Wake { .. } | EntryBody::Digest { .. } | EntryBody::Retention
            )
        });
        let (digests, timers): (Vec<_>, Vec<_>) = timers
            .into_iter()
            .partition(|(_, e)| matches!(e.body, EntryBody::Digest { .. }));
        for (key, entry) in digests {
            self.digest_due(key, entry).await?;
        }
        for (key, entry) in timers {
            if let Err(e) = self.engine.fire(key, entry).await {
                warn!(error = %e, "timer could not be handed to the engine; it stays queued");
            }
        }
        if !notices.is_empty() {
            // Whoever committed these may not have flushed yet (the engine
            // flushes a batch once, at its end): a notice must never leave for
            // a ticket that a crash could still take back.
            self.store.flush().await?;
        }
        let results: Vec<Result<(), StoreError>> = futures::stream::iter(notices)
            .map(|(key, entry)| self.deliver(key, entry))
            .buffer_unordered(PARALLEL_SENDS)
            .collect()
            .await;
        results.into_iter().collect::<Result<(), _>>()?;
        Ok(count)
    }

    async fn deliver(&self, key: QueueKey, mut entry: QueueEntry) -> Result<(), StoreError> {
        // Prepared messages are digests, for staff.
        let (kind, dest, staff) = match &entry.body {
            EntryBody::Notice(n) => (n.kind, n.dest.clone(), n.staff),
            EntryBody::Prepared(p) => (p.kind, p.dest.clone(), true),
            EntryBody::Wake { .. } | EntryBody::Digest { .. } | EntryBody::Retention => {
                return Ok(())
            }
        };
        // Our own store failing is never the notice's fault: it stays queued
        // as it is, and this pass ends with the error.
        let ticket = match &entry.ticket {
            Some(id) => self.store.ticket(id)?,
            None => None,
        };
        let result = match self.hold_back(&dest, staff) {
            Some(reason) => Err(DeliveryError::Permanent(reason)),
            None => match self.message(&entry, ticket.as_ref()).await {
                Ok(msg) => self.transports.send(&msg).await,
                Err(reason) => Err(DeliveryError::Permanent(reason)),
            },
        };
        match &result {
            Ok(()) => self.health.notice_sent(&dest),
            Err(e) => self.health.notice_failed(&dest, e.failure()),
        }
        match result {
            Ok(()) => {
                self.store.complete(&key)?;
                // Made durable at once: after a crash only the notices then in
                // flight (at most PARALLEL_SENDS) go out again. Left to sled's
                // 500 ms flush, every notice sent in that time did: over a
                // hundred in a burst (scripts/resilience.sh).
                self.store.flush().await?;
                let ticket = entry.ticket.as_ref().map(ToString::to_string);
                info!(ticket = ticket.as_deref().unwrap_or("-"), kind = kind.template(), dest = %dest, "notice sent");
            }
            Err(DeliveryError::Temporary(reason))
                if entry.attempts + 1 < self.retry.max_attempts =>
            {
                entry.attempts += 1;
                let delay = self.retry.delay(entry.attempts);
                warn!(dest = %dest, attempt = entry.attempts, retry_in = ?delay, %reason, "notice not delivered; will retry");
                entry.last_error = Some(reason);
                entry.due =
                    self.clock.now() + chrono::Duration::from_std(delay).unwrap_or_default();
                self.store.reschedule(&key, &entry)?;
            }
            Err(e) => {
                warn!(dest = %dest, error = %e, "notice moved to the dead-letter list (see `itdesk outbox list`)");
                entry.attempts += 1;
                let error = e.to_string();
                entry.last_error = Some(error.clone());
                self.store.bury(
                    &key,
                    &DeadLetter {
                        entry,
                        error,
                        buried_at: self.clock.now(),
                    },
                )?;
            }
        }
        Ok(())
    }

    /// Loop protection on the way out: no mail to an address that bounced
    /// recently, and no more than the cap per address per hour — the
    /// requesters' cap, or for staff a much higher guard against a runaway
    /// loop, so that a busy hour never holds back an urgent page.
    fn hold_back(&self, dest: &Destination, staff: bool) -> Option<String> {
        let Destination::Email { to } = dest else {
            return None;
        };
        let now = self.clock.now();
        if let Ok(Some(until)) = self.store.suppressed_until(to) {
            if until > now {
                return Some(format!(
                    "{to} bounced a notice; notices to it are suppressed until {until}"
                ));
            }
        }
        let mut sent = self.sent_recently.lock().unwrap_or_else(|e| e.into_inner());
        let times = sent.entry(to.to_lowercase()).or_default();
        times.retain(|t| now - *t < chrono::Duration::hours(1));
        let cap = if staff {
            self.per_staff_hourly_cap
        } else {
            self.per_recipient_hourly_cap
        };
        if times.len() >= cap {
            return Some(format!(
                "more than {cap} notices to {to} within an hour: held back as a possible mail loop"
            ));
        }
        times.push(now);
        None
    }

    /// A notice rendered now, or a prepared message as it was queued.
    async fn message(
        &self,
        entry: &QueueEntry,
        ticket: Option<&Ticket>,
    ) -> Result<OutgoingMessage, String> {
        match &entry.body {
            EntryBody::Notice(notice) => self.render(entry, ticket, notice),
            EntryBody::Prepared(p) => Ok(OutgoingMessage {
                kind: p.kind,
                dest: p.dest.clone(),
                subject: p.subject.clone(),
                body: p.body.clone(),
                html: p.html.clone(),
                images: images(p).await,
                message_id: p.message_id.clone(),
                in_reply_to: None,
                ticket: entry.ticket.clone(),
                lang: p.lang,
            }),
            EntryBody::Wake { .. } | EntryBody::Digest { .. } | EntryBody::Retention => {
                Err("a timer is not a message".into())
            }
        }
    }

    fn render(
        &self,
        entry: &QueueEntry,
        ticket: Option<&Ticket>,
        notice: &OutgoingNotice,
    ) -> Result<OutgoingMessage, String> {
        if let (Some(id), None) = (&entry.ticket, ticket) {
            return Err(format!("ticket {id} no longer exists"));
        }
        let notices = self.notices.current();
        let ctx = NoticeContext::for_notice(&notices, ticket, notice, &self.calendar);
        let rendered = notices
            .renderer
            .render(notice.kind, notice.lang, &ctx)
            .map_err(|e| e.to_string())?;
        Ok(OutgoingMessage {
            kind: notice.kind,
            dest: notice.dest.clone(),
            subject: rendered.subject,
            body: rendered.body,
            html: None,
            images: Vec::new(),
            message_id: notice.message_id.clone(),
            in_reply_to: ticket.and_then(|t| t.source_message_id.clone()),
            ticket: entry.ticket.clone(),
            lang: notice.lang,
        })
    }
}

/// A prepared mail's charts as PNG, made now rather than kept in the queue,
/// on a blocking thread (the first also loads the system's fonts). A chart
/// that cannot be rasterised costs the pictures, never the message: the HTML
/// then shows each chart's alt text (its heading) instead.
async fn images(p: &PreparedMessage) -> Vec<InlineImage> {
    if p.charts.is_empty() || !matches!(p.dest, Destination::Email { .. }) {
        return Vec::new();
    }
    let charts = p.charts.clone();
    let failure = match tokio::task::spawn_blocking(move || raster::rasterise(&charts)).await {
        Ok(Ok(images)) => return images,
        Ok(Err(e)) => e.to_string(),
        Err(e) => format!("rasterising stopped: {e}"),
    };
    warn!(message_id = %p.message_id, "digest mail sent without its charts: {failure}");
    Vec::new()
}
