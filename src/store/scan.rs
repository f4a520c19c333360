//! Tickets in ID order from a point on, one at a time: what a paged listing
//! and a streaming export walk. An ID starts with the local day it was opened
//! (`core::id`), so a range of days is a range of keys and is read without
//! touching the tickets outside it.
//!
//! Invariant: nothing here holds more than the ticket being read.

use std::ops::Bound;

use chrono::NaiveDate;

use super::{codec, counter_key, ticket_key, Held, Store, StoreError};
use crate::core::id::TicketId;
use crate::core::ticket::Ticket;

/// Which part of the ticket tree to read, in ID order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketRange {
    /// Only IDs after this one (the last ID of the previous page).
    pub after: Option<TicketId>,
    /// Only tickets opened on or after this day (the day in the ID).
    pub since: Option<NaiveDate>,
    /// Only tickets opened on or before this day (the day in the ID).
    pub until: Option<NaiveDate>,
}

impl Store {
    /// The tickets of `range` in ID order, read lazily.
    pub fn tickets_in(
        &self,
        range: &TicketRange,
    ) -> impl Iterator<Item = Result<Ticket, StoreError>> + '_ {
        let day_start = range.since.map(|d| day_key(d, 0));
        let lower = match (range.after.as_ref().map(ticket_key), day_start) {
            (Some(after), Some(start)) if start.as_slice() > after.as_slice() => {
                Bound::Included(start)
            }
            (Some(after), _) => Bound::Excluded(after.to_vec()),
            (None, Some(start)) => Bound::Included(start),
            (None, None) => Bound::Unbounded,
        };
        let upper = match range.until {
            Some(day) => Bound::Included(day_key(day, u64::MAX)),
            None => Bound::Unbounded,
        };
        let (scan, failed) = match self.t() {
            Ok(t) => (
                Some(Held::new(t.tickets.range::<Vec<u8>, _>((lower, upper)), t)),
                None,
            ),
            Err(e) => (None, Some(Err(e))),
        };
        failed
            .into_iter()
            .chain(scan.into_iter().flatten().map(|item| {
                let (key, bytes) = item?;
                self.shedding.read(1);
                codec::decode(&String::from_utf8_lossy(&key[..8]), &bytes)
            }))
    }
}

fn day_key(day: NaiveDate, serial: u64) -> Vec<u8> {
    let mut key = counter_key(day).to_vec();
    key.extend_from_slice(&serial.to_be_bytes());
    key
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::core::lifecycle::open;
    use crate::core::sla::Policy;
    use crate::store::tests::new_ticket;
    use crate::store::Commit;

    /// Stores a ticket under the ID of `day` and `serial`.
    fn ticket_on(store: &Store, day: NaiveDate, serial: u64) {
        let now = Utc.with_ymd_and_hms(2023, 10, 1, 2, 0, 0).unwrap();
        let (ticket, _) = open(
            TicketId::new(day, serial),
            new_ticket(),
            now,
            &Policy::default(),
        );
        let commit = Commit {
            ticket: Some(&ticket),
            ..Commit::default()
        };
        store.commit(commit).unwrap();
    }

    fn ids(store: &Store, range: TicketRange) -> Vec<String> {
        store
            .tickets_in(&range)
            .map(|t| t.unwrap().id.to_string())
            .collect()
    }

    #[test]
    fn reads_a_range_of_days_after_an_id_in_id_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let day = |d| NaiveDate::from_ymd_opt(2023, 10, d).unwrap();
        for (d, serial) in [(2, 1), (1, 2), (1, 1), (3, 1), (2, 1000), (2, 2)] {
            ticket_on(&store, day(d), serial);
        }
        let all = ids(&store, TicketRange::default());
        assert_eq!(
            all,
            [
                "IT20231001001",
                "IT20231001002",
                "IT20231002001",
                "IT20231002002",
                "IT202310021000",
                "IT20231003001"
            ]
        );
        let after = |id: &str| Some(TicketId::parse(id).unwrap());
        let cases = [
            (after("IT20231001002"), None, None, &all[2..]),
            (None, Some(day(2)), Some(day(2)), &all[2..5]),
            (
                after("IT20231002001"),
                Some(day(2)),
                Some(day(2)),
                &all[3..5],
            ),
            // `after` before the first day asked for: the day wins.
            (after("IT20231001001"), Some(day(3)), None, &all[5..]),
            (after("IT20231003001"), None, None, &all[6..]),
            (None, Some(day(4)), None, &all[6..]),
            (None, None, Some(day(1)), &all[..2]),
        ];
        for (after, since, until, expected) in cases {
            let range = TicketRange {
                after,
                since,
                until,
            };
            assert_eq!(ids(&store, range.clone()), expected, "{range:?}");
        }
    }
}
