//! Operations: what an admin watches. `health` is the handle the channels, the
//! engine and the outbox report to; `verdict` and `alerts` decide (pure, `now`
//! as input) whether the daemon is healthy and whom to wake; `watchdog` sends
//! those alerts, rate-limited; `http` serves `/metrics` and `/healthz`.
//!
//! Invariant: reporting never blocks and never fails the work it reports on.

pub mod alerts;
pub mod http;
pub mod verdict;
pub mod watchdog;
pub mod webhook;

use std::sync::Arc;

use tokio::task::JoinSet;
use tracing::info;

use crate::clock::Clock;
use crate::config::{Config, ImapAuth};
use crate::engine::EngineHandle;
use crate::health::Health;
use crate::shutdown::Shutdown;
use crate::store::Store;

/// Starts the alert watchdog and, with `[metrics]`, the HTTP endpoint, in
/// `tasks`; both stop on `shutdown`. Await them before the engine is stopped.
pub async fn spawn(
    tasks: &mut JoinSet<()>,
    config: &Config,
    store: &Store,
    engine: &EngineHandle,
    health: &Health,
    clock: Arc<dyn Clock>,
    shutdown: &Shutdown,
) -> Result<(), http::HttpError> {
    if let Some(metrics) = &config.settings.metrics {
        let listener = http::bind(metrics.addr).await?;
        let endpoint = http::OpsEndpoint {
            health: health.clone(),
            store: store.clone(),
            clock: clock.clone(),
            imap_unhealthy_after: metrics.imap_unhealthy_after,
        };
        info!(addr = %metrics.addr, "serving /metrics and /healthz");
        tasks.spawn(http::serve(listener, Arc::new(endpoint), shutdown.clone()));
    }
    let a = &config.settings.alerts;
    let watchdog = watchdog::Watchdog {
        health: health.clone(),
        store: store.clone(),
        engine: engine.clone(),
        clock,
        thresholds: alerts::Thresholds {
            imap_failures: a.imap_failures,
            dead_letters: a.dead_letters,
            token_expiry_warning: a.token_expiry_warning,
        },
        every: a.every,
        token_file: config
            .imap
            .as_ref()
            .filter(|i| i.auth == ImapAuth::Xoauth2)
            .and_then(|i| i.oauth_token_file.clone()),
        webhook_url: a.webhook_url.clone(),
        helpdesk: config.helpdesk.name.clone(),
    };
    tasks.spawn(watchdog.run(shutdown.clone()));
    Ok(())
}
