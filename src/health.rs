//! The health handle (a leaf: reporters convert their own errors into its
//! plain values): one cheap-to-clone value that the IMAP intake, the chat
//! gateway, the engine and the outbox report to, and that `/metrics`,
//! `/healthz` and the alert watchdog read. Metrics live in a prometheus-client
//! registry and are encoded by it, never formatted by hand.
//!
//! Invariant: reporting takes a short lock or an atomic, never awaits and
//! never fails, so it cannot slow down or stop the work it reports on.

mod backlog;
mod channels;
mod process;

pub use backlog::Backlog;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;
use tokio::sync::Notify;
use tracing::info;

use crate::core::ticket::{Channel, Urgency};
use crate::queue::Destination;
use crate::store::{Census, Store};

/// Why an IMAP connection or session failed, as far as health is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapFailure {
    /// TCP, TLS or a timeout: the server is unreachable.
    Connection,
    /// The password was refused.
    Login,
    /// The XOAUTH2 token was refused: it will not get better by retrying.
    TokenRejected,
    /// No token could be read or fetched.
    Token,
    /// Logged in, then a command failed (mailbox, protocol, store).
    Session,
}

/// A notice that could not be delivered: retried, or given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryFailure {
    Temporary,
    Permanent,
}

/// What the alert watchdog warns the on-duty staff about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Condition {
    ImapFailing,
    OauthRejected,
    OauthExpiring,
    DeadLetters,
    StoreFailing,
}

impl Condition {
    pub const ALL: [Condition; 5] = [
        Condition::ImapFailing,
        Condition::OauthRejected,
        Condition::OauthExpiring,
        Condition::DeadLetters,
        Condition::StoreFailing,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Condition::ImapFailing => "imap_failing",
            Condition::OauthRejected => "oauth_rejected",
            Condition::OauthExpiring => "oauth_expiring",
            Condition::DeadLetters => "dead_letters",
            Condition::StoreFailing => "store_failing",
        }
    }
}

/// The chat (Discord) gateway connection, set by its adapter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum GatewayState {
    /// No chat channel configured.
    #[default]
    Disabled,
    Connecting,
    Connected,
    Disconnected,
}

impl GatewayState {
    pub const ALL: [GatewayState; 4] = [
        GatewayState::Disabled,
        GatewayState::Connecting,
        GatewayState::Connected,
        GatewayState::Disconnected,
    ];

    pub fn key(self) -> &'static str {
        match self {
            GatewayState::Disabled => "disabled",
            GatewayState::Connecting => "connecting",
            GatewayState::Connected => "connected",
            GatewayState::Disconnected => "disconnected",
        }
    }
}

/// The IMAP intake as last reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImapStatus {
    /// The last time the mailbox was read through.
    pub last_success: Option<DateTime<Utc>>,
    /// Set at the first failure after a success; cleared by the next success.
    pub failing_since: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    pub last_failure: Option<(ImapFailure, String)>,
}

/// Everything the health verdict and the alert rules look at, at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The store's counts, or why they could not be read.
    pub store: Result<Census, String>,
    /// `None`: no `[imap]` configured.
    pub imap: Option<ImapStatus>,
    pub gateway: GatewayState,
    /// When the XOAUTH2 access token expires, when that is known.
    pub token_expiry: Option<DateTime<Utc>>,
}

#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    metrics: Metrics,
    /// Shared with the channel collector, which reads it at each scrape.
    state: Arc<Mutex<State>>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct State {
    imap: Option<ImapStatus>,
    /// `None`: no `[smtp]`.
    smtp_up: Option<bool>,
    gateway: GatewayState,
    token_expiry: Option<DateTime<Utc>>,
}

type Labels<const N: usize> = [(&'static str, &'static str); N];

struct Metrics {
    registry: Registry,
    tickets_opened: Family<Labels<1>, Counter>,
    notices_sent: Family<Labels<1>, Counter>,
    notices_failed: Family<Labels<2>, Counter>,
    queued: Family<Labels<1>, Gauge>,
    oldest_due_age: Gauge<f64, AtomicU64>,
    dead_letters: Gauge,
    quarantined: Gauge,
    store_up: Gauge,
    open_tickets: Family<Labels<1>, Gauge>,
    past_eta: Gauge,
    oldest_unacknowledged: Gauge,
    token_expiry: Gauge,
    alerts: Family<Labels<1>, Counter>,
}

const NOTICE_CHANNELS: [&str; 2] = ["email", "chat"];
const FAILURE_KINDS: [&str; 2] = ["temporary", "permanent"];

impl Metrics {
    fn new(state: Arc<Mutex<State>>) -> Metrics {
        let mut root = Registry::default();
        root.register_collector(Box::new(process::ProcessCollector));
        let registry = root.sub_registry_with_prefix("itdesk");
        registry.register(
            "build",
            "The running build: 1, with its version in the labels",
            Info::new([
                ("version", env!("CARGO_PKG_VERSION")),
                (
                    "profile",
                    if cfg!(debug_assertions) {
                        "debug"
                    } else {
                        "release"
                    },
                ),
                ("arch", std::env::consts::ARCH),
                ("os", std::env::consts::OS),
            ]),
        );
        registry.register_collector(Box::new(channels::ChannelCollector { state }));
        let m = Metrics {
            registry: Registry::default(),
            tickets_opened: Family::default(),
            notices_sent: Family::default(),
            notices_failed: Family::default(),
            queued: Family::default(),
            oldest_due_age: Gauge::default(),
            dead_letters: Gauge::default(),
            quarantined: Gauge::default(),
            store_up: Gauge::default(),
            open_tickets: Family::default(),
            past_eta: Gauge::default(),
            oldest_unacknowledged: Gauge::default(),
            token_expiry: Gauge::default(),
            alerts: Family::default(),
        };
        registry.register(
            "tickets_opened",
            "Tickets opened, by the channel the request came in on",
            m.tickets_opened.clone(),
        );
        registry.register(
            "notices_sent",
            "Notices handed to their channel",
            m.notices_sent.clone(),
        );
        registry.register("notices_failed", "Failed delivery attempts, by channel and kind (temporary: retried; permanent: dead-lettered)", m.notices_failed.clone());
        registry.register(
            "outbox_queued",
            "Entries waiting in the outbox queue, by type (notice or timer)",
            m.queued.clone(),
        );
        registry.register(
            "outbox_oldest_due_age_seconds",
            "How long the earliest due outbox entry has been waiting (0: nothing overdue)",
            m.oldest_due_age.clone(),
        );
        registry.register(
            "dead_letters",
            "Notices on the dead-letter list (itdesk outbox list)",
            m.dead_letters.clone(),
        );
        registry.register(
            "quarantined",
            "Messages in the quarantine (itdesk quarantine list)",
            m.quarantined.clone(),
        );
        registry.register(
            "store_up",
            "1 when the store could be read at the last scrape",
            m.store_up.clone(),
        );
        registry.register(
            "open_tickets",
            "Tickets not closed, by urgency",
            m.open_tickets.clone(),
        );
        registry.register(
            "tickets_past_eta",
            "Open tickets not resolved by their resolution target",
            m.past_eta.clone(),
        );
        registry.register(
            "oldest_unacknowledged_age_seconds",
            "How long the oldest open ticket nobody acknowledged has waited (0: none)",
            m.oldest_unacknowledged.clone(),
        );
        registry.register(
            "oauth_token_expiry_timestamp_seconds",
            "Unix time the IMAP XOAUTH2 token expires (0: unknown)",
            m.token_expiry.clone(),
        );
        registry.register(
            "alerts",
            "Alerts sent to the on-duty staff, by condition",
            m.alerts.clone(),
        );
        // Every series exists from the start, so a rate or an absent() works before the first event.
        for channel in Channel::ALL {
            let _ = m
                .tickets_opened
                .get_or_create(&[("channel", channel.key())]);
        }
        for channel in NOTICE_CHANNELS {
            let _ = m.notices_sent.get_or_create(&[("channel", channel)]);
            for kind in FAILURE_KINDS {
                let _ = m
                    .notices_failed
                    .get_or_create(&[("channel", channel), ("kind", kind)]);
            }
        }
        for condition in Condition::ALL {
            let _ = m.alerts.get_or_create(&[("condition", condition.key())]);
        }
        for urgency in Urgency::ALL {
            let _ = m.open_tickets.get_or_create(&[("urgency", urgency.key())]);
        }
        m.store_up.set(1);
        Metrics {
            registry: root,
            ..m
        }
    }
}

impl Default for Health {
    fn default() -> Health {
        Health::new()
    }
}

impl Health {
    pub fn new() -> Health {
        let state = Arc::new(Mutex::new(State::default()));
        let health = Health {
            inner: Arc::new(Inner {
                metrics: Metrics::new(state.clone()),
                state,
                changed: Notify::new(),
            }),
        };
        health.set_gateway(GatewayState::Disabled);
        health
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is a few plain values, consistent after any panic.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Resolves when something worth a new look happened (a failure was reported).
    pub async fn changed(&self) {
        self.inner.changed.notified().await
    }

    pub fn ticket_opened(&self, channel: Channel) {
        self.metrics()
            .tickets_opened
            .get_or_create(&[("channel", channel.key())])
            .inc();
    }

    pub fn notice_sent(&self, dest: &Destination) {
        if let Destination::Email { .. } = dest {
            self.smtp_seen(true);
        }
        self.metrics()
            .notices_sent
            .get_or_create(&[("channel", channel_of(dest))])
            .inc();
    }

    pub fn notice_failed(&self, dest: &Destination, failure: DeliveryFailure) {
        let kind = match failure {
            DeliveryFailure::Temporary => "temporary",
            DeliveryFailure::Permanent => "permanent",
        };
        if let (Destination::Email { .. }, DeliveryFailure::Temporary) = (dest, failure) {
            self.smtp_seen(false);
        }
        self.metrics()
            .notices_failed
            .get_or_create(&[("channel", channel_of(dest)), ("kind", kind)])
            .inc();
        self.inner.changed.notify_one();
    }

    /// The daemon sends mail: from now on `smtp_up` is shown.
    pub fn track_smtp(&self) {
        self.state().smtp_up.get_or_insert(true);
    }

    fn smtp_seen(&self, up: bool) {
        if let Some(smtp) = self.state().smtp_up.as_mut() {
            *smtp = up;
        }
    }

    /// The daemon reads a mailbox: from now on IMAP counts for health.
    pub fn track_imap(&self) {
        self.state().imap.get_or_insert_with(ImapStatus::default);
    }

    /// The mailbox was read through.
    pub fn imap_polled(&self, now: DateTime<Utc>) {
        let mut state = self.state();
        let imap = state.imap.get_or_insert_with(ImapStatus::default);
        if imap.consecutive_failures > 0 {
            info!(failures = imap.consecutive_failures, since = ?imap.failing_since, "IMAP intake works again");
        }
        imap.last_success = Some(now);
        imap.failing_since = None;
        imap.consecutive_failures = 0;
        imap.last_failure = None;
    }

    /// A connection, login or session failed (the intake retries by itself).
    pub fn imap_failed(&self, now: DateTime<Utc>, failure: ImapFailure, error: &str) {
        {
            let mut state = self.state();
            let imap = state.imap.get_or_insert_with(ImapStatus::default);
            imap.consecutive_failures += 1;
            imap.failing_since.get_or_insert(now);
            imap.last_failure = Some((failure, error.to_string()));
        }
        self.inner.changed.notify_one();
    }

    /// For the chat adapter: its gateway connection changed.
    pub fn set_gateway(&self, gateway: GatewayState) {
        self.state().gateway = gateway;
    }

    pub fn set_token_expiry(&self, expiry: Option<DateTime<Utc>>) {
        self.state().token_expiry = expiry;
        self.metrics()
            .token_expiry
            .set(expiry.map_or(0, |t| t.timestamp()));
    }

    pub fn alert_raised(&self, condition: Condition) {
        self.metrics()
            .alerts
            .get_or_create(&[("condition", condition.key())])
            .inc();
    }

    /// What is known now, with fresh counts from the store.
    pub fn observe(&self, store: &Store) -> Observed {
        let census = store.census().map_err(|e| e.to_string());
        let state = self.state();
        Observed {
            store: census,
            imap: state.imap.clone(),
            gateway: state.gateway,
            token_expiry: state.token_expiry,
        }
    }

    /// The OpenMetrics text for `/metrics`, store gauges refreshed from
    /// `observed` and the backlog gauges from `backlog` (left as they were
    /// when it could not be read: `store_up` says so).
    pub fn encode_metrics(
        &self,
        observed: &Observed,
        backlog: Option<&Backlog>,
        now: DateTime<Utc>,
    ) -> String {
        let m = self.metrics();
        if let Some(b) = backlog {
            for (urgency, n) in Urgency::ALL.iter().zip(b.open_by_urgency) {
                m.open_tickets
                    .get_or_create(&[("urgency", urgency.key())])
                    .set(gauge(n));
            }
            m.past_eta.set(gauge(b.past_eta));
            m.oldest_unacknowledged.set(b.oldest_unacknowledged_s);
        }
        match &observed.store {
            Ok(census) => {
                m.store_up.set(1);
                m.queued
                    .get_or_create(&[("type", "notice")])
                    .set(gauge(census.queued_notices));
                m.queued
                    .get_or_create(&[("type", "timer")])
                    .set(gauge(census.queued_timers));
                let overdue = census.first_due.map_or(0.0, |due| {
                    (now - due).num_milliseconds().max(0) as f64 / 1000.0
                });
                m.oldest_due_age.set(overdue);
                m.dead_letters.set(gauge(census.dead_letters));
                m.quarantined.set(gauge(census.quarantined));
            }
            Err(_) => {
                m.store_up.set(0);
            }
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        encode(&mut out, &m.registry).expect("encoding metrics into a String");
        out
    }
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn channel_of(dest: &Destination) -> &'static str {
    match dest {
        Destination::Email { .. } => "email",
        Destination::ChatUser { .. } | Destination::ChatChannel { .. } => "chat",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn value(text: &str, series: &str) -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"));
        line[series.len()..].trim().parse().unwrap()
    }

    #[test]
    fn metrics_follow_reports() {
        let h = Health::new();
        let now = Utc.with_ymd_and_hms(2023, 10, 9, 10, 0, 0).unwrap();
        h.ticket_opened(Channel::Desk);
        h.notice_sent(&Destination::Email {
            to: "a@example.test".into(),
        });
        h.notice_failed(
            &Destination::ChatUser { user: "1".into() },
            DeliveryFailure::Permanent,
        );
        h.imap_failed(now, ImapFailure::Connection, "refused");
        h.imap_failed(now, ImapFailure::Connection, "refused");
        h.set_gateway(GatewayState::Connected);
        let census = Census {
            queued_notices: 2,
            queued_timers: 5,
            first_due: Some(now - chrono::Duration::seconds(90)),
            dead_letters: 1,
            quarantined: 0,
        };
        let obs = Observed {
            store: Ok(census),
            imap: None,
            gateway: GatewayState::Connected,
            token_expiry: None,
        };
        let backlog = Backlog {
            open_by_urgency: [1, 0, 3, 0],
            past_eta: 2,
            oldest_unacknowledged_s: 600,
        };
        let text = h.encode_metrics(&obs, Some(&backlog), now);
        assert_eq!(
            value(&text, r#"itdesk_open_tickets{urgency="urgent"}"#),
            1.0
        );
        assert_eq!(
            value(&text, r#"itdesk_open_tickets{urgency="medium"}"#),
            3.0
        );
        assert_eq!(value(&text, "itdesk_tickets_past_eta"), 2.0);
        assert_eq!(
            value(&text, "itdesk_oldest_unacknowledged_age_seconds"),
            600.0
        );
        assert_eq!(
            value(&text, r#"itdesk_tickets_opened_total{channel="desk"}"#),
            1.0
        );
        assert_eq!(
            value(&text, r#"itdesk_tickets_opened_total{channel="email"}"#),
            0.0
        );
        assert_eq!(
            value(&text, r#"itdesk_notices_sent_total{channel="email"}"#),
            1.0
        );
        assert_eq!(
            value(
                &text,
                r#"itdesk_notices_failed_total{channel="chat",kind="permanent"}"#
            ),
            1.0
        );
        assert_eq!(value(&text, r#"itdesk_outbox_queued{type="timer"}"#), 5.0);
        assert_eq!(value(&text, "itdesk_outbox_oldest_due_age_seconds"), 90.0);
        assert_eq!(value(&text, "itdesk_imap_consecutive_failures"), 2.0);
        assert_eq!(value(&text, "itdesk_imap_up"), 0.0);
        assert_eq!(
            value(&text, r#"itdesk_chat_gateway_state{state="connected"}"#),
            1.0
        );
        assert!(!text.contains(r#"state="disabled""#), "{text}");
        assert!(
            !text.contains("itdesk_smtp_up"),
            "no [smtp], no series: {text}"
        );

        h.imap_polled(now);
        h.track_smtp();
        h.notice_failed(
            &Destination::Email {
                to: "a@example.test".into(),
            },
            DeliveryFailure::Temporary,
        );
        let text = h.encode_metrics(&obs, None, now);
        assert_eq!(value(&text, "itdesk_smtp_up"), 0.0);
        assert_eq!(value(&text, "itdesk_imap_up"), 1.0);
        assert_eq!(
            value(&text, "itdesk_tickets_past_eta"),
            2.0,
            "kept when the backlog could not be read"
        );
        assert_eq!(value(&text, "itdesk_imap_consecutive_failures"), 0.0);
        assert_eq!(
            value(&text, "itdesk_imap_last_success_timestamp_seconds"),
            now.timestamp() as f64
        );
        let version = format!(
            r#"itdesk_build_info{{version="{}","#,
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.contains(&version), "{text}");
        assert!(value(&text, "process_resident_memory_bytes") > 0.0);
        assert!(value(&text, "process_open_fds") > 0.0);
        assert!(text.contains("process_cpu_seconds_total "), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn channels_that_are_off_have_no_series() {
        let text = Health::new().encode_metrics(
            &Observed {
                store: Ok(Census::default()),
                imap: None,
                gateway: GatewayState::Disabled,
                token_expiry: None,
            },
            None,
            Utc::now(),
        );
        for absent in ["itdesk_imap_", "smtp_up", "chat_gateway_state"] {
            assert!(!text.contains(absent), "{absent} in\n{text}");
        }
    }
}
