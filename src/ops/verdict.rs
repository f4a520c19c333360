//! Whether the daemon is healthy: the answer `/healthz` gives (200 or 503 and a
//! short JSON body).
//!
//! Invariant: pure — what was observed, the threshold and `now` come in; a
//! verdict comes out. Unhealthy means an admin must act: the store cannot be
//! read, or the mailbox has been failing for longer than the threshold (a
//! short outage is only reported, not failed on: the intake retries by itself).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::health::Observed;

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub healthy: bool,
    pub body: Value,
}

pub fn verdict(observed: &Observed, now: DateTime<Utc>, imap_unhealthy_after: Duration) -> Verdict {
    let mut problems = Vec::new();
    let store = match &observed.store {
        Ok(_) => json!("ok"),
        Err(e) => {
            problems.push(format!("the store cannot be read: {e}"));
            json!({ "error": e })
        }
    };
    let imap = match &observed.imap {
        None => json!("off"),
        Some(status) => {
            let state = match status.failing_since {
                Some(since) if now - since >= imap_unhealthy_after => {
                    problems.push(format!(
                        "IMAP has been failing since {since} ({} failures in a row)",
                        status.consecutive_failures
                    ));
                    "failing"
                }
                Some(_) => "retrying",
                None if status.last_success.is_none() => "starting",
                None => "ok",
            };
            json!({
                "state": state,
                "last_success": status.last_success,
                "failing_since": status.failing_since,
                "consecutive_failures": status.consecutive_failures,
                "last_error": status.last_failure.as_ref().map(|(_, e)| e),
            })
        }
    };
    let counts = observed.store.as_ref().ok();
    let healthy = problems.is_empty();
    let body = json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "problems": problems,
        "store": store,
        "imap": imap,
        "queue_depth": counts.map(|c| c.queued_notices + c.queued_timers),
        "dead_letters": counts.map(|c| c.dead_letters),
        "quarantined": counts.map(|c| c.quarantined),
        "chat_gateway": observed.gateway.key(),
    });
    Verdict { healthy, body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{GatewayState, ImapFailure, ImapStatus};
    use crate::store::Census;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2023, 10, 9, 10, 0, 0).unwrap()
    }

    fn observed(imap: Option<ImapStatus>) -> Observed {
        let census = Census {
            queued_notices: 1,
            queued_timers: 2,
            first_due: None,
            dead_letters: 3,
            quarantined: 0,
        };
        Observed {
            store: Ok(census),
            imap,
            gateway: GatewayState::Disabled,
            token_expiry: None,
        }
    }

    fn failing(minutes: i64) -> ImapStatus {
        ImapStatus {
            last_success: None,
            failing_since: Some(now() - Duration::minutes(minutes)),
            consecutive_failures: 4,
            last_failure: Some((ImapFailure::Connection, "connection refused".into())),
        }
    }

    #[test]
    fn decisions() {
        let ok = ImapStatus {
            last_success: Some(now()),
            ..ImapStatus::default()
        };
        let threshold = Duration::minutes(15);
        // (case, observed, healthy, imap state)
        let cases = [
            ("imap off", observed(None), true, None),
            (
                "imap not polled yet",
                observed(Some(ImapStatus::default())),
                true,
                Some("starting"),
            ),
            ("imap fine", observed(Some(ok)), true, Some("ok")),
            (
                "short outage",
                observed(Some(failing(14))),
                true,
                Some("retrying"),
            ),
            (
                "long outage",
                observed(Some(failing(15))),
                false,
                Some("failing"),
            ),
            (
                "store broken",
                Observed {
                    store: Err("I/O error".into()),
                    ..observed(None)
                },
                false,
                None,
            ),
        ];
        for (case, obs, healthy, imap_state) in cases {
            let v = verdict(&obs, now(), threshold);
            assert_eq!(v.healthy, healthy, "{case}: {}", v.body);
            assert_eq!(
                v.body["status"],
                if healthy { "ok" } else { "unhealthy" },
                "{case}"
            );
            if let Some(state) = imap_state {
                assert_eq!(v.body["imap"]["state"], state, "{case}");
            }
        }
        let v = verdict(&observed(Some(failing(30))), now(), threshold);
        assert_eq!(v.body["queue_depth"], 3);
        assert_eq!(v.body["dead_letters"], 3);
        assert_eq!(v.body["imap"]["last_error"], "connection refused");
        assert!(v.body["problems"][0]
            .as_str()
            .unwrap()
            .contains("4 failures in a row"));
    }
}
