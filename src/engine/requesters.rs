//! Which tickets are a chat user's: asked for every requester message (is it a
//! follow-up?) and by `/ticket status`. Scanning the store each time decoded
//! every ticket per message: half the daemon's CPU in a burst of 1000 DMs
//! (docs/benchmarks.md, chat), ≈ 0.4 s per message on a store of 100k tickets.
//!
//! Invariant: before each answer the index has every ticket committed so far
//! under a date from the day before the previous answer through today. It is
//! built by one scan at the first question, then brought up to date by reading
//! only the tickets created since: daily serials are never reused and a
//! ticket's serial is counted in its own transaction, so a date's counter says
//! which tickets are new. The day before is read again because a ticket can be
//! committed with yesterday's date just after midnight. After a jump of the
//! clock the index is rebuilt. Not seen until a restart: tickets imported with
//! an older date while the daemon runs.

use std::collections::{BTreeMap, HashMap};

use chrono::{Days, NaiveDate};
use tracing::warn;

use crate::core::id::TicketId;
use crate::core::ticket::Ticket;
use crate::store::{Store, StoreError};

/// A longer gap between two questions is a clock jump: rebuild rather than
/// read the counter of every day in between.
const MAX_GAP_DAYS: u64 = 31;

#[derive(Default)]
pub(super) struct RequesterIndex {
    /// Chat user id → their tickets, in the order seen.
    by_user: HashMap<String, Vec<TicketId>>,
    /// The recent dates read, with the highest serial read for each.
    read: BTreeMap<NaiveDate, u64>,
}

impl RequesterIndex {
    /// The user's tickets, as stored now.
    pub(super) fn tickets_of(
        &mut self,
        store: &Store,
        today: NaiveDate,
        user: &str,
    ) -> Result<Vec<Ticket>, StoreError> {
        self.catch_up(store, today)?;
        let mut tickets = Vec::new();
        for id in self.by_user.get(user).into_iter().flatten() {
            match store.ticket(id) {
                Ok(Some(t)) => tickets.push(t),
                Ok(None) => {}
                Err(e) => warn!(ticket = %id, error = %e, "unreadable ticket skipped"),
            }
        }
        Ok(tickets)
    }

    fn catch_up(&mut self, store: &Store, today: NaiveDate) -> Result<(), StoreError> {
        let fresh = self.read.last_key_value().is_some_and(|(last, _)| {
            *last <= today && (today - *last).num_days() as u64 <= MAX_GAP_DAYS
        });
        if !fresh {
            self.rebuild(store, today)?;
        }
        let (last, _) = self.read.last_key_value().expect("rebuilt above");
        let mut date = last.pred_opt().unwrap_or(*last);
        while date <= today {
            let counted = store.next_serial(date)? - 1;
            let read = self.read.get(&date).copied().unwrap_or(0);
            for serial in read + 1..=counted {
                let id = TicketId::new(date, serial);
                match store.ticket(&id) {
                    Ok(Some(t)) => self.add(&t),
                    Ok(None) => {}
                    Err(e) => warn!(ticket = %id, error = %e, "unreadable ticket skipped"),
                }
            }
            self.read.insert(date, counted);
            date = date + Days::new(1);
        }
        let yesterday = today.pred_opt().unwrap_or(today);
        self.read.retain(|d, _| *d >= yesterday);
        Ok(())
    }

    /// One scan of the store. The counters are read first: a ticket committed
    /// during the scan is read again by `catch_up` (and not added twice).
    fn rebuild(&mut self, store: &Store, today: NaiveDate) -> Result<(), StoreError> {
        self.by_user.clear();
        self.read.clear();
        let yesterday = today.pred_opt().unwrap_or(today);
        for date in [yesterday, today] {
            self.read.insert(date, store.next_serial(date)? - 1);
        }
        for t in store.tickets() {
            match t {
                Ok(t) => self.add(&t),
                Err(e) => warn!(error = %e, "unreadable ticket skipped"),
            }
        }
        Ok(())
    }

    fn add(&mut self, ticket: &Ticket) {
        let Some(user) = &ticket.requester.chat_user else {
            return;
        };
        let ids = self.by_user.entry(user.clone()).or_default();
        if !ids.contains(&ticket.id) {
            ids.push(ticket.id.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ticket::{Channel, Requester};
    use crate::store::tests::{commit_new, new_ticket};

    /// Commits the next ticket of `date` for `user`, as the engine does.
    fn commit(store: &Store, date: NaiveDate, user: &str) -> TicketId {
        let mut new = new_ticket();
        new.channel = Channel::Chat;
        new.requester = Requester {
            chat_user: Some(user.into()),
            ..Requester::default()
        };
        commit_new(store, date, new)
    }

    fn ids(index: &mut RequesterIndex, store: &Store, today: NaiveDate, user: &str) -> Vec<String> {
        index
            .tickets_of(store, today, user)
            .unwrap()
            .into_iter()
            .map(|t| t.id.as_str().to_string())
            .collect()
    }

    #[test]
    fn sees_old_tickets_new_ones_late_ones_of_yesterday_and_survives_a_clock_jump() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let day = |d: u32| NaiveDate::from_ymd_opt(2023, 10, d).unwrap();
        let old = commit(&store, day(1), "7");
        commit(&store, day(1), "8");
        let mut index = RequesterIndex::default();
        assert_eq!(ids(&mut index, &store, day(2), "7"), [old.as_str()]);

        let today = commit(&store, day(2), "7");
        assert_eq!(
            ids(&mut index, &store, day(2), "7"),
            [old.as_str(), today.as_str()]
        );
        // Committed with yesterday's date after the index moved on to today.
        let late = commit(&store, day(2), "8");
        assert_eq!(ids(&mut index, &store, day(3), "8").len(), 2);
        assert!(ids(&mut index, &store, day(3), "8").contains(&late.as_str().to_string()));
        assert!(ids(&mut index, &store, day(3), "9").is_empty());

        let later = commit(&store, day(30), "9");
        let next_year = NaiveDate::from_ymd_opt(2024, 10, 1).unwrap();
        assert_eq!(ids(&mut index, &store, next_year, "9"), [later.as_str()]);
        assert_eq!(
            ids(&mut index, &store, day(30), "7").len(),
            2,
            "the clock went back"
        );
    }
}
