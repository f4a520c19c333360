//! The backlog as `/metrics` shows it: open tickets by urgency, tickets past
//! their ETA, the oldest ticket nobody acknowledged — read from the statistics
//! records of open tickets (an index of them), never from the tickets.

use chrono::{DateTime, NaiveDate, Utc};

use crate::core::ticket::Urgency;
use crate::store::{Store, StoreError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backlog {
    /// In `Urgency::ALL` order.
    pub open_by_urgency: [u64; 4],
    /// Not yet resolved, and the resolution target has passed.
    pub past_eta: u64,
    /// Seconds since the oldest open, unacknowledged ticket was opened (0: none).
    pub oldest_unacknowledged_s: i64,
}

/// Later than any ticket's ID date: the scan reads only the open-ticket index.
fn beyond_every_ticket() -> NaiveDate {
    NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or(NaiveDate::MAX)
}

impl Backlog {
    pub fn read(store: &Store, now: DateTime<Utc>) -> Result<Backlog, StoreError> {
        let now = now.timestamp();
        let mut b = Backlog::default();
        let mut oldest: Option<i64> = None;
        let last = beyond_every_ticket();
        store.scan_stats(last, last, |rec| {
            if !rec.open {
                return;
            }
            if let Some(i) = Urgency::ALL.iter().position(|u| *u == rec.urgency) {
                b.open_by_urgency[i] += 1;
            }
            if rec.resolved.is_none() && rec.eta < now {
                b.past_eta += 1;
            }
            if rec.acknowledged.is_none() {
                oldest = Some(oldest.map_or(rec.created, |o| o.min(rec.created)));
            }
        })?;
        b.oldest_unacknowledged_s = oldest.map_or(0, |created| (now - created).max(0));
        Ok(b)
    }
}
