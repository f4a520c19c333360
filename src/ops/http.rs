//! `/metrics` (OpenMetrics text, for Prometheus) and `/healthz` (200 or 503
//! with a short JSON body) over HTTP/1 on `[metrics].listen`.
//!
//! Invariant: read-only, one request per connection, every connection bounded
//! in time; the address is loopback unless `[metrics].allow_remote` (checked
//! when the config is loaded).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tracing::{debug, warn};

use super::verdict::verdict;
use crate::clock::Clock;
use crate::health::{Backlog, Health};
use crate::shutdown::Shutdown;
use crate::store::Store;

/// A scraper that does not finish its request in this time is dropped.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen for /metrics and /healthz on {addr}: {source} — check [metrics].listen (is the port already in use?)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

pub struct OpsEndpoint {
    pub health: Health,
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// `/healthz` fails once IMAP has been failing this long.
    pub imap_unhealthy_after: chrono::Duration,
}

pub async fn bind(addr: SocketAddr) -> Result<TcpListener, HttpError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })
}

/// Serves until shutdown.
pub async fn serve(listener: TcpListener, endpoint: Arc<OpsEndpoint>, mut shutdown: Shutdown) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let endpoint = endpoint.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |req| {
                            let endpoint = endpoint.clone();
                            async move { Ok::<_, Infallible>(endpoint.respond(&req)) }
                        });
                        let conn = http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(REQUEST_TIMEOUT)
                            .keep_alive(false)
                            .serve_connection(TokioIo::new(stream), service);
                        match tokio::time::timeout(REQUEST_TIMEOUT, conn).await {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => debug!(error = %e, "metrics connection ended with an error"),
                            Err(_) => debug!("metrics connection timed out"),
                        }
                    });
                }
                Err(e) => warn!(error = %e, "metrics listener accept failed"),
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = shutdown.wait() => break,
        }
    }
    crate::shutdown::finish(connections, "metrics").await;
    debug!("metrics endpoint stopped");
}

impl OpsEndpoint {
    fn respond(&self, req: &Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() != Method::GET {
            return reply(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain; charset=utf-8",
                "only GET\n".into(),
            );
        }
        let now = self.clock.now();
        match req.uri().path() {
            "/metrics" => {
                let observed = self.health.observe(&self.store);
                let backlog = Backlog::read(&self.store, now)
                    .map_err(|e| debug!(error = %e, "backlog gauges not refreshed"))
                    .ok();
                reply(
                    StatusCode::OK,
                    OPENMETRICS,
                    self.health.encode_metrics(&observed, backlog.as_ref(), now),
                )
            }
            "/healthz" => {
                let v = verdict(
                    &self.health.observe(&self.store),
                    now,
                    self.imap_unhealthy_after,
                );
                let status = if v.healthy {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                };
                reply(status, "application/json", format!("{}\n", v.body))
            }
            _ => reply(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                "not found: try /metrics or /healthz\n".into(),
            ),
        }
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
