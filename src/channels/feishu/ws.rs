//! The long connection: Feishu pushes events over a WebSocket the bot opens
//! itself, so the helpdesk box needs no public address or webhook. Asks the
//! endpoint (`POST /callback/ws/endpoint`), connects, pings at the interval
//! Feishu gives, joins split payloads, hands each event on and acks it;
//! reconnects when the connection drops or goes silent.
//!
//! Invariants: an event is acked only once it is in the consumer's queue,
//! which outlives any connection (a repeat Feishu pushes anyway is a no-op
//! under the engine's dedup key); every new connection is announced
//! (`Delivery::Connected`) so the consumer reads back what it may have missed.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tracing::{debug, info, warn};

use super::frame::{Frame, Parts, CONTROL, DATA};
use super::rest::{ClientConfig, Rest};
use crate::health::{GatewayState, Health};
use crate::shutdown::Shutdown;

/// A connection silent for this many ping intervals is taken for dead.
const SILENT_PINGS: u32 = 3;
/// The shortest wait between two connection attempts, whatever Feishu says.
const MIN_RECONNECT: Duration = Duration::from_millis(200);

/// What the connection hands to its consumer.
pub enum Delivery {
    /// A connection is up (the first or a new one): what was sent while the
    /// bot was away should be read back.
    Connected,
    /// An event's JSON.
    Event(Vec<u8>),
}

pub struct LongConnection {
    pub rest: Arc<Rest>,
    pub health: Health,
}

impl LongConnection {
    /// Runs until shutdown, reconnecting as Feishu's client settings say.
    pub async fn run(self, out: mpsc::UnboundedSender<Delivery>, mut shutdown: Shutdown) {
        let mut settings = ClientConfig::default();
        let mut failures: u32 = 0;
        loop {
            self.health.set_gateway(GatewayState::Connecting);
            let started = Instant::now();
            let ended = tokio::select! {
                ended = self.session(&out, &mut settings) => ended,
                _ = shutdown.wait() => break,
            };
            self.health.set_gateway(GatewayState::Disconnected);
            if out.is_closed() {
                break;
            }
            match ended {
                Ok(()) => info!("Feishu long connection closed; reconnecting"),
                Err(e) => {
                    warn!(error = %e, "Feishu long connection lost — check the network and [feishu] app_id/app_secret")
                }
            }
            // A connection that lived a while was a success: the next try
            // comes soon (with jitter), not after the failure interval.
            failures = if started.elapsed() > Duration::from_secs(settings.ping_interval) {
                0
            } else {
                failures + 1
            };
            let wait = reconnect_wait(&settings, failures);
            debug!(wait_ms = wait.as_millis() as u64, "Feishu reconnect");
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.wait() => break,
            }
        }
        self.health.set_gateway(GatewayState::Disconnected);
    }

    /// One connection, from endpoint discovery until it ends.
    async fn session(
        &self,
        out: &mpsc::UnboundedSender<Delivery>,
        settings: &mut ClientConfig,
    ) -> Result<(), String> {
        let endpoint = self.rest.endpoint().await.map_err(|e| e.to_string())?;
        *settings = endpoint.client;
        let service = service_id(&endpoint.url);
        let (socket, _) = tokio_tungstenite::connect_async(endpoint.url.as_str())
            .await
            .map_err(|e| format!("WebSocket connect: {e}"))?;
        info!("Feishu long connection up");
        self.health.set_gateway(GatewayState::Connected);
        out.send(Delivery::Connected)
            .map_err(|_| "the consumer stopped".to_string())?;
        let (mut sink, mut stream) = socket.split();
        let mut parts = Parts::default();
        let mut ping = tokio::time::interval(every(settings.ping_interval));
        let mut heard = Instant::now();
        loop {
            tokio::select! {
                message = stream.next() => {
                    let bytes = match message {
                        None | Some(Ok(Message::Close(_))) => return Ok(()),
                        Some(Err(e)) => return Err(format!("WebSocket: {e}")),
                        Some(Ok(Message::Binary(bytes))) => bytes,
                        Some(Ok(_)) => continue,
                    };
                    heard = Instant::now();
                    let frame = match Frame::decode_bytes(&bytes) {
                        Ok(frame) => frame,
                        Err(e) => {
                            warn!(error = %e, "Feishu sent a frame that does not decode; ignored");
                            continue;
                        }
                    };
                    match frame.method {
                        CONTROL if frame.kind() == "pong" => {
                            let sent: Option<ClientConfig> = frame
                                .payload
                                .as_deref()
                                .and_then(|p| serde_json::from_slice(p).ok());
                            if let Some(new) = sent.filter(|new| new.ping_interval != settings.ping_interval) {
                                *settings = new;
                                ping = tokio::time::interval_at(
                                    tokio::time::Instant::now() + every(new.ping_interval),
                                    every(new.ping_interval),
                                );
                            }
                        }
                        DATA if matches!(frame.kind(), "event" | "card") => {
                            let Some(payload) = parts.add(&frame, Instant::now()) else {
                                continue;
                            };
                            let received = Instant::now();
                            out.send(Delivery::Event(payload))
                                .map_err(|_| "the consumer stopped".to_string())?;
                            let ack = frame.ack(received.elapsed());
                            sink.send(Message::Binary(ack.to_bytes()))
                                .await
                                .map_err(|e| format!("WebSocket ack: {e}"))?;
                        }
                        _ => debug!(kind = frame.kind(), method = frame.method, "Feishu frame ignored"),
                    }
                }
                _ = ping.tick() => {
                    let silent = every(settings.ping_interval) * SILENT_PINGS;
                    if heard.elapsed() > silent {
                        return Err(format!("nothing heard for {} s", silent.as_secs()));
                    }
                    sink.send(Message::Binary(Frame::ping(service).to_bytes()))
                        .await
                        .map_err(|e| format!("WebSocket ping: {e}"))?;
                }
            }
        }
    }
}

fn every(seconds: u64) -> Duration {
    Duration::from_secs(seconds.max(1))
}

/// The `service_id` query parameter of the connection URL, which pings carry.
fn service_id(url: &str) -> i32 {
    url.split_once('?')
        .map(|(_, query)| query)
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("service_id="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// After a drop: a random part of `reconnect_nonce` (so that many bots do
/// not come back at once); after failed attempts, `reconnect_interval`.
fn reconnect_wait(settings: &ClientConfig, failures: u32) -> Duration {
    let wait = if failures <= 1 {
        let nonce_ms = settings.reconnect_nonce * 1000;
        let random = RandomState::new().hash_one(Instant::now());
        Duration::from_millis(if nonce_ms == 0 { 0 } else { random % nonce_ms })
    } else {
        Duration::from_secs(settings.reconnect_interval)
    };
    wait.max(MIN_RECONNECT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_id_comes_from_the_url() {
        assert_eq!(service_id("wss://x/ws?device_id=1&service_id=33"), 33);
        assert_eq!(service_id("wss://x/ws?service_id=abc"), 0);
        assert_eq!(service_id("wss://x/ws"), 0);
    }

    #[test]
    fn reconnects_follow_feishus_settings() {
        let settings = ClientConfig {
            ping_interval: 120,
            reconnect_interval: 7,
            reconnect_nonce: 2,
        };
        assert!(reconnect_wait(&settings, 1) <= Duration::from_secs(2));
        assert_eq!(reconnect_wait(&settings, 3), Duration::from_secs(7));
        let now = ClientConfig {
            reconnect_nonce: 0,
            ..settings
        };
        assert_eq!(reconnect_wait(&now, 0), MIN_RECONNECT);
    }
}
