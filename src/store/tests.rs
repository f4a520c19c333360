//! Store tests: ID counters per local day, never reused after a restart, and
//! the one-transaction commit of a ticket with its queue entries.

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::core::lifecycle::{open, NewTicket};
use crate::core::sla::Policy;
use crate::core::ticket::{Channel, Lang, ProblemType, Requester, Urgency};

/// A desk ticket of `a@example.test`, for tests here and elsewhere.
pub(crate) fn new_ticket() -> NewTicket {
    NewTicket {
        copied: Vec::new(),
        channel: Channel::Desk,
        requester: Requester {
            email: Some("a@example.test".into()),
            ..Requester::default()
        },
        subject: "s".into(),
        description: "d".into(),
        source_message_id: None,
        problem_type: ProblemType::Other,
        urgency: Urgency::Low,
        urgency_lowered: None,
        expected_time: None,
        group: "g".into(),
        lang: Lang::En,
        attachments: Vec::new(),
        vague: false,
        warnings: Vec::new(),
        related: None,
    }
}

/// Allocates the next ID of `date` and commits a ticket with it, as the engine does.
fn commit_next(store: &Store, date: NaiveDate) -> TicketId {
    commit_new(store, date, new_ticket())
}

/// Allocates the next ID of `date` and commits `new` under it, as the engine does.
pub(crate) fn commit_new(store: &Store, date: NaiveDate, new: NewTicket) -> TicketId {
    let serial = store.next_serial(date).unwrap();
    let id = TicketId::new(date, serial);
    let now = Utc.with_ymd_and_hms(2023, 10, 1, 2, 0, 0).unwrap();
    let (ticket, _) = open(id.clone(), new, now, &Policy::default());
    store
        .commit(Commit {
            ticket: Some(&ticket),
            new_serial: Some((date, serial)),
            ..Commit::default()
        })
        .unwrap();
    id
}

#[test]
fn serials_are_per_day_grow_past_999_and_survive_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let d1 = NaiveDate::from_ymd_opt(2023, 10, 1).unwrap();
    let d2 = NaiveDate::from_ymd_opt(2023, 10, 2).unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(commit_next(&store, d1).as_str(), "IT20231001001");
        assert_eq!(
            commit_next(&store, d2).as_str(),
            "IT20231002001",
            "each local day starts at 001"
        );
        assert_eq!(commit_next(&store, d1).as_str(), "IT20231001002");
        for _ in 3..=999 {
            commit_next(&store, d1);
        }
        assert_eq!(commit_next(&store, d1).as_str(), "IT202310011000");
        store.t().unwrap().db.flush().unwrap();
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        commit_next(&store, d1).as_str(),
        "IT202310011001",
        "no reuse after a restart"
    );
    let ids: Vec<String> = store.tickets().map(|t| t.unwrap().id.to_string()).collect();
    assert_eq!(ids.len(), 1002);
    assert_eq!(
        ids[998..1001],
        ["IT20231001999", "IT202310011000", "IT202310011001"],
        "tickets iterate in ID order"
    );
}

#[test]
fn a_stale_serial_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let d = NaiveDate::from_ymd_opt(2023, 10, 1).unwrap();
    commit_next(&store, d);
    let now = Utc.with_ymd_and_hms(2023, 10, 1, 2, 0, 0).unwrap();
    let (ticket, _) = open(TicketId::new(d, 1), new_ticket(), now, &Policy::default());
    let err = store
        .commit(Commit {
            ticket: Some(&ticket),
            new_serial: Some((d, 1)),
            ..Commit::default()
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::CounterMoved { .. }), "{err}");
    assert_eq!(store.ticket_count().unwrap(), 1);
}

#[test]
fn import_keeps_the_counter_ahead_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let d = NaiveDate::from_ymd_opt(2023, 10, 1).unwrap();
    let now = Utc.with_ymd_and_hms(2023, 10, 1, 2, 0, 0).unwrap();
    let (ticket, _) = open(TicketId::new(d, 41), new_ticket(), now, &Policy::default());
    store.import(&ticket).unwrap();
    assert!(matches!(store.import(&ticket), Err(StoreError::Exists(_))));
    assert_eq!(commit_next(&store, d).as_str(), "IT20231001042");
}

#[test]
fn a_recovered_id_raises_the_counter_and_is_never_given_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let d = NaiveDate::from_ymd_opt(2023, 10, 1).unwrap();
    commit_next(&store, d);
    let now = Utc.with_ymd_and_hms(2023, 10, 1, 2, 0, 0).unwrap();
    let recover = |serial: u64| {
        let (ticket, _) = open(
            TicketId::new(d, serial),
            new_ticket(),
            now,
            &Policy::default(),
        );
        store.commit(Commit {
            ticket: Some(&ticket),
            recovered_serial: Some((d, serial)),
            message_ids: vec![format!("m{serial}@example.test")],
            ..Commit::default()
        })
    };
    // Out of order and with a gap: the counter only ever moves up.
    recover(4).unwrap();
    recover(3).unwrap();
    assert!(matches!(recover(4), Err(StoreError::Exists(_))));
    assert!(matches!(recover(1), Err(StoreError::Exists(_))));
    assert_eq!(store.ticket_count().unwrap(), 3);
    assert_eq!(
        store.mark.current().last_id,
        Some(TicketId::new(d, 4)),
        "the ID mark holds a recovered ID"
    );
    assert_eq!(commit_next(&store, d).as_str(), "IT20231001005");
}

#[test]
fn unknown_record_formats_are_refused_clearly() {
    let err = codec::decode::<Ticket>("IT20231001001", &[9, b'{', b'}']).unwrap_err();
    assert!(err.to_string().contains("unknown record format 9"), "{err}");
}
