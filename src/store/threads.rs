//! The chat thread ↔ ticket index: which thread a technician message belongs to,
//! and where a ticket's group notices go.
//!
//! Invariant: both directions are written in one transaction, so a thread never
//! points at a ticket that does not point back (a relink keeps the old thread's
//! entry: messages still arriving there reach the ticket).

use serde::{Deserialize, Serialize};
use sled::transaction::ConflictableTransactionError;

use super::{codec, storage_error, Store, StoreError};
use crate::core::id::TicketId;

/// A ticket's chat thread and the staff channel it was opened from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadLink {
    pub thread: String,
    pub channel: String,
}

fn by_thread(thread: &str) -> Vec<u8> {
    format!("thread:{thread}").into_bytes()
}

fn by_ticket(id: &TicketId) -> Vec<u8> {
    format!("ticket:{id}").into_bytes()
}

impl Store {
    pub fn link_thread(&self, ticket: &TicketId, link: &ThreadLink) -> Result<(), StoreError> {
        let t = self.t()?;
        let record = codec::encode(link);
        let (thread_key, ticket_key) = (by_thread(&link.thread), by_ticket(ticket));
        let _w = self.writing();
        t.threads
            .transaction(|t| {
                t.insert(thread_key.as_slice(), ticket.as_str().as_bytes())?;
                t.insert(ticket_key.as_slice(), record.as_slice())?;
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(storage_error)
    }

    pub fn ticket_for_thread(&self, thread: &str) -> Result<Option<TicketId>, StoreError> {
        Ok(self
            .t()?
            .threads
            .get(by_thread(thread))?
            .and_then(|v| TicketId::parse(&String::from_utf8_lossy(&v))))
    }

    /// Every thread that reaches a ticket (a relinked ticket's old ones too).
    pub fn threads(&self) -> impl Iterator<Item = Result<(String, TicketId), StoreError>> + '_ {
        self.records(|t| &t.threads, b"thread:")
            .filter_map(|item| match item {
                Ok((k, v)) => {
                    let thread = String::from_utf8_lossy(&k["thread:".len()..]).into_owned();
                    TicketId::parse(&String::from_utf8_lossy(&v)).map(|id| Ok((thread, id)))
                }
                Err(e) => Some(Err(e)),
            })
    }

    pub fn thread_of(&self, ticket: &TicketId) -> Result<Option<ThreadLink>, StoreError> {
        let t = self.t()?;
        match t.threads.get(by_ticket(ticket))? {
            Some(v) => Ok(Some(codec::decode("thread link", &v)?)),
            None => Ok(None),
        }
    }
}

impl Store {
    /// Forgets the ticket's thread, both directions.
    pub(super) fn unlink_thread(&self, ticket: &TicketId) -> Result<bool, StoreError> {
        let t = self.t()?;
        let Some(link) = self.thread_of(ticket)? else {
            return Ok(false);
        };
        t.threads.remove(by_thread(&link.thread))?;
        t.threads.remove(by_ticket(ticket))?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn links_both_ways_and_relinks() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = TicketId::new(NaiveDate::from_ymd_opt(2023, 10, 1).unwrap(), 1);
        assert_eq!(store.thread_of(&id).unwrap(), None);
        let first = ThreadLink {
            thread: "11".into(),
            channel: "1".into(),
        };
        store.link_thread(&id, &first).unwrap();
        assert_eq!(store.thread_of(&id).unwrap(), Some(first));
        assert_eq!(store.ticket_for_thread("11").unwrap(), Some(id.clone()));
        let moved = ThreadLink {
            thread: "22".into(),
            channel: "2".into(),
        };
        store.link_thread(&id, &moved).unwrap();
        assert_eq!(store.thread_of(&id).unwrap(), Some(moved));
        assert_eq!(
            store.ticket_for_thread("11").unwrap(),
            Some(id.clone()),
            "the old thread still reaches the ticket"
        );
        assert_eq!(store.ticket_for_thread("33").unwrap(), None);
        let all: Vec<_> = store.threads().map(Result::unwrap).collect();
        assert_eq!(all, [("11".into(), id.clone()), ("22".into(), id)]);
    }
}
