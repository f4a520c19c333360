//! The shutdown signal every long-running task listens to, and the end of a
//! server's connection tasks.

use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::debug;

/// Cheap to clone; `wait` resolves once shutdown has been requested.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// Held by whoever may stop the daemon (the signal handler, a test).
pub struct ShutdownTrigger(watch::Sender<bool>);

pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), Shutdown(rx))
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    pub async fn wait(&mut self) {
        // An error means the trigger is gone, which also means: stop.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// How long open connections (CLI, metrics) get to finish after shutdown.
const CONNECTION_GRACE: Duration = Duration::from_secs(5);

/// Waits for a server's connection tasks to end, then aborts the stragglers:
/// no task outlives the server that spawned it.
pub async fn finish(mut connections: JoinSet<()>, what: &str) {
    let drained = tokio::time::timeout(CONNECTION_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        debug!(
            server = what,
            open = connections.len(),
            "connections still open at shutdown; closed"
        );
        connections.shutdown().await;
    }
}
