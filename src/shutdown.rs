//! The shutdown signal every long-running task listens to.

use tokio::sync::watch;

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
