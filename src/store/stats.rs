//! The statistics trees: `stats` (ticket key → compact record, see
//! `stats::record`) and `stats_open` (ticket key → nothing, present while the
//! ticket is open), so a report reads a date range of small records instead
//! of decoding tickets.
//!
//! Invariant: a ticket's record is written in the same transaction as the
//! ticket (`commit`, `import`, `rebuild_stats`), so it never disagrees with
//! the ticket after a crash. Keys are the tickets' keys: ID date, then serial.

use chrono::{Days, NaiveDate};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use sled::Transactional;
use tracing::{info, warn};

use super::{codec, counter_key, ticket_key, Store, StoreError};
use crate::core::id::TicketId;
use crate::core::ticket::Ticket;
use crate::stats::aggregate::{Aggregator, Query, Report};
use crate::stats::record::{Rec, StatsRecord, VERSION};
use crate::stats::LOOKBACK_DAYS;

/// Meta key holding the record format the `stats` tree is complete in.
const READY_KEY: &str = "stats:version";
/// Tickets per rebuild transaction.
const REBUILD_BATCH: usize = 256;

/// One ticket's statistics, ready to write inside a transaction.
pub(super) struct StatsWrite {
    key: [u8; 16],
    record: Vec<u8>,
    open: bool,
}

impl StatsWrite {
    pub(super) fn of(t: &Ticket) -> StatsWrite {
        StatsWrite {
            key: ticket_key(&t.id),
            record: StatsRecord::of(t).encode(),
            open: t.status.is_open(),
        }
    }

    pub(super) fn apply(
        &self,
        stats: &TransactionalTree,
        open: &TransactionalTree,
    ) -> Result<(), UnabortableTransactionError> {
        stats.insert(&self.key, self.record.as_slice())?;
        if self.open {
            open.insert(&self.key, &[])?;
        } else {
            open.remove(&self.key)?;
        }
        Ok(())
    }
}

/// How a scan went: records read, and records of another format skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanCount {
    pub read: u64,
    pub skipped: u64,
}

impl Store {
    /// The report for `q`: one range scan of the records, fed to the pure aggregator.
    pub fn report(&self, q: Query) -> Result<Report, StoreError> {
        if !self.stats_ready()? {
            info!("building the statistics records from the tickets (once, for a store made before they existed)");
            let n = self.rebuild_stats()?;
            info!(tickets = n, "statistics records built");
        }
        // A ticket's ID date is its local creation date; a day's margin each side
        // covers tickets imported with an ID date that differs by a time zone.
        let lookback = q
            .period
            .to
            .checked_sub_days(Days::new(LOOKBACK_DAYS))
            .unwrap_or(q.period.from);
        let first = q.period.from.min(lookback) - Days::new(1);
        let last = q.period.to + Days::new(1);
        let mut agg = Aggregator::new(q);
        let count = self.scan_stats(first, last, |rec| agg.add(rec))?;
        if count.skipped > 0 {
            warn!(
                skipped = count.skipped,
                "statistics records of another format were skipped; run `itdesk stats --rebuild`"
            );
        }
        Ok(agg.finish())
    }

    /// True when every ticket has a current record. A new, empty store is
    /// marked so when opened; one made before the records existed is not,
    /// until `rebuild_stats`.
    pub fn stats_ready(&self) -> Result<bool, StoreError> {
        Ok(self
            .t()?
            .meta
            .get(READY_KEY)?
            .is_some_and(|v| v.as_ref() == [VERSION]))
    }

    pub(super) fn mark_stats_ready_if_empty(&self) -> Result<(), StoreError> {
        let t = self.t()?;
        if t.tickets.is_empty() && !self.stats_ready()? {
            self.set_meta(READY_KEY, &[VERSION])?;
        }
        Ok(())
    }

    /// Writes every ticket's record again, a batch of tickets per transaction
    /// (each ticket read inside it, so a change committed meanwhile is never
    /// overwritten by an older record). Returns how many tickets it read.
    pub fn rebuild_stats(&self) -> Result<u64, StoreError> {
        let t = self.t()?;
        let mut done = 0u64;
        let mut start: Option<sled::IVec> = None;
        loop {
            let range = match &start {
                Some(after) => t.tickets.range::<&[u8], _>((
                    std::ops::Bound::Excluded(after.as_ref()),
                    std::ops::Bound::Unbounded,
                )),
                None => t.tickets.range::<&[u8], _>(..),
            };
            let keys: Vec<sled::IVec> =
                range.keys().take(REBUILD_BATCH).collect::<Result<_, _>>()?;
            let Some(last) = keys.last().cloned() else {
                break;
            };
            let _w = self.writing();
            let result =
                (&t.tickets, &t.stats, &t.stats_open).transaction(|(tickets, stats, open)| {
                    for key in &keys {
                        if let Some(bytes) = tickets.get(key)? {
                            let ticket: Ticket = codec::decode("ticket", &bytes)
                                .map_err(ConflictableTransactionError::Abort)?;
                            StatsWrite::of(&ticket).apply(stats, open)?;
                        }
                    }
                    Ok(())
                });
            result.map_err(|e| match e {
                TransactionError::Abort(e) => e,
                TransactionError::Storage(e) => StoreError::Io(e),
            })?;
            done += keys.len() as u64;
            start = Some(last);
        }
        self.set_meta(READY_KEY, &[VERSION])?;
        Ok(done)
    }

    /// Bulk-loads records without their tickets (benchmarks build a large
    /// statistics store this way). Not for live data: it bypasses the
    /// one-transaction rule that keeps records and tickets in step.
    pub fn load_stats(&self, records: &[(TicketId, StatsRecord)]) -> Result<(), StoreError> {
        let t = self.t()?;
        let mut stats = sled::Batch::default();
        let mut open = sled::Batch::default();
        for (id, record) in records {
            let key = ticket_key(id);
            stats.insert(&key, record.encode());
            if record.open {
                open.insert(&key, &[]);
            } else {
                open.remove(&key);
            }
        }
        let _w = self.writing();
        t.stats.apply_batch(stats)?;
        t.stats_open.apply_batch(open)?;
        Ok(())
    }

    /// Calls `f` with the record of every ticket dated `first..=last` (ID
    /// date), then with every ticket dated before `first` that is open now.
    pub fn scan_stats(
        &self,
        first: NaiveDate,
        last: NaiveDate,
        mut f: impl FnMut(&Rec<'_>),
    ) -> Result<ScanCount, StoreError> {
        let t = self.t()?;
        let mut count = ScanCount::default();
        let mut visit = |key: &[u8], bytes: &[u8]| match split_key(key)
            .and_then(|(day, serial)| Rec::decode(day, serial, bytes))
        {
            Some(rec) => {
                count.read += 1;
                f(&rec);
            }
            None => count.skipped += 1,
        };
        let mut lo = [0u8; 16];
        lo[..8].copy_from_slice(&counter_key(first));
        let mut hi = [0xffu8; 16];
        hi[..8].copy_from_slice(&counter_key(last));
        for item in t.stats.range(lo..=hi) {
            let (key, bytes) = item?;
            visit(&key, &bytes);
        }
        for item in t.stats_open.range(..lo) {
            let (key, _) = item?;
            if let Some(bytes) = t.stats.get(&key)? {
                visit(&key, &bytes);
            }
        }
        Ok(count)
    }
}

/// `YYYYMMDD` (ASCII) + serial (big-endian) → (20231001, serial).
fn split_key(key: &[u8]) -> Option<(u32, u64)> {
    let day = std::str::from_utf8(key.get(..8)?).ok()?.parse().ok()?;
    let serial = u64::from_be_bytes(key.get(8..16)?.try_into().ok()?);
    Some((day, serial))
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::core::lifecycle::{apply, open, Action, NewTicket};
    use crate::core::sla::Policy;
    use crate::core::ticket::{Channel, Lang, ProblemType, Requester, Urgency};
    use crate::store::Commit;

    fn ticket(date: NaiveDate, serial: u64, subject: &str) -> Ticket {
        let new = NewTicket {
            copied: Vec::new(),
            channel: Channel::Email,
            requester: Requester {
                email: Some("a@example.test".into()),
                ..Requester::default()
            },
            subject: subject.into(),
            description: String::new(),
            source_message_id: None,
            problem_type: ProblemType::Network,
            urgency: Urgency::High,
            urgency_lowered: None,
            expected_time: None,
            group: "network".into(),
            lang: Lang::En,
            attachments: Vec::new(),
            vague: false,
            warnings: Vec::new(),
            related: None,
        };
        let now = Utc.from_utc_datetime(&date.and_hms_opt(2, 0, 0).unwrap());
        open(TicketId::new(date, serial), new, now, &Policy::default()).0
    }

    fn scan(store: &Store, first: NaiveDate, last: NaiveDate) -> Vec<(String, bool, Vec<String>)> {
        let mut out = Vec::new();
        store
            .scan_stats(first, last, |r| {
                out.push((
                    r.ticket_id(),
                    r.open,
                    r.keywords().map(String::from).collect(),
                ))
            })
            .unwrap();
        out
    }

    #[test]
    fn records_follow_their_tickets_and_old_open_ones_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(
            store.stats_ready().unwrap(),
            "an empty store needs no rebuild"
        );
        let d = |day| NaiveDate::from_ymd_opt(2023, 10, day).unwrap();
        let mut old = ticket(d(1), 1, "VPN disconnects");
        let mut done = ticket(d(2), 1, "Printer jam");
        let inside = ticket(d(20), 1, "VPN 断线");
        for (t, serial) in [(&old, 1), (&done, 1), (&inside, 1)] {
            store
                .commit(Commit {
                    ticket: Some(t),
                    new_serial: Some((t.id.date(), serial)),
                    ..Commit::default()
                })
                .unwrap();
        }
        let later = Utc.with_ymd_and_hms(2023, 10, 3, 2, 0, 0).unwrap();
        apply(
            &mut done,
            Action::Resolve {
                by: "li".into(),
                fix: "cleared".into(),
            },
            later,
            &Policy::default(),
        )
        .unwrap();
        store
            .commit(Commit {
                ticket: Some(&done),
                ..Commit::default()
            })
            .unwrap();

        let all = scan(&store, d(1), d(31));
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[0],
            (
                "IT20231001001".into(),
                true,
                vec!["vpn".into(), "disconnect".into()]
            )
        );
        assert!(
            !all[1].1,
            "the resolved ticket's record was rewritten with it"
        );
        // Before the range, only the ticket that is still open is read.
        let late = scan(&store, d(15), d(31));
        assert_eq!(
            late.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
            ["IT20231020001", "IT20231001001"]
        );

        apply(
            &mut old,
            Action::Resolve {
                by: "li".into(),
                fix: "MTU".into(),
            },
            later,
            &Policy::default(),
        )
        .unwrap();
        store
            .commit(Commit {
                ticket: Some(&old),
                ..Commit::default()
            })
            .unwrap();
        assert_eq!(
            scan(&store, d(15), d(31)).len(),
            1,
            "resolved: out of the open index"
        );
    }

    #[test]
    fn a_store_without_records_is_rebuilt_from_its_tickets() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = NaiveDate::from_ymd_opt(2023, 10, 1).unwrap();
        for serial in 1..=600 {
            let t = ticket(d, serial, "Outlook crashes");
            store
                .commit(Commit {
                    ticket: Some(&t),
                    new_serial: Some((d, serial)),
                    ..Commit::default()
                })
                .unwrap();
        }
        // As a store from before the records existed: tickets only.
        store.t().unwrap().stats.clear().unwrap();
        store.t().unwrap().stats_open.clear().unwrap();
        store.t().unwrap().meta.remove(READY_KEY).unwrap();
        assert!(!store.stats_ready().unwrap());
        assert_eq!(scan(&store, d, d).len(), 0);
        assert_eq!(store.rebuild_stats().unwrap(), 600, "more than two batches");
        assert!(store.stats_ready().unwrap());
        let all = scan(&store, d, d);
        assert_eq!(all.len(), 600);
        assert_eq!(all[599].0, "IT20231001600");
        assert_eq!(all[0].2, ["outlook", "crash"]);
    }

    #[test]
    fn bulk_loaded_records_are_scanned_like_committed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = NaiveDate::from_ymd_opt(2023, 10, 5).unwrap();
        let t = ticket(d, 7, "Password reset");
        store
            .load_stats(&[(t.id.clone(), StatsRecord::of(&t))])
            .unwrap();
        assert_eq!(
            scan(&store, d, d),
            [(
                "IT20231005007".to_string(),
                true,
                vec!["password".to_string(), "reset".to_string()]
            )]
        );
    }
}
