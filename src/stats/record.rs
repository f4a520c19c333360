//! The compact per-ticket statistics record: what `itdesk stats` needs of a
//! ticket, in a small binary form that is read without allocating, so a month
//! over a million tickets is a range scan, not a million JSON decodes.
//!
//! Layout (little-endian), format `VERSION`:
//! `version u8 · type u8 · urgency u8 · channel u8 · flags u8 · stars u8 ·
//! reopens u8 · created i64 · acknowledged i64 · resolved i64 · closed i64 ·
//! eta i64` (seconds since the epoch, `NONE` when absent) `· group (u8 len +
//! UTF-8) · assignee (same, empty = none) · keyword count u8 · keywords (same)`.
//!
//! Invariant: derived from the ticket alone (`StatsRecord::of`), so it can be
//! rebuilt from the tickets at any time and is written with them in one transaction.

use chrono::{DateTime, Utc};

use super::keywords;
use crate::core::ticket::{Channel, ProblemType, Ticket, Urgency};

/// Bumped when the layout changes; a store with older records rebuilds them.
pub const VERSION: u8 = 1;
const NONE: i64 = i64::MIN;
const FIXED: usize = 7 + 5 * 8;
const OPEN: u8 = 1;
const ESCALATED: u8 = 2;
/// The ticket's personal data was erased (retention, or an erasure request).
const ERASED: u8 = 4;

/// The owned record, built from a ticket (or by hand in tests and benchmarks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRecord {
    pub problem_type: ProblemType,
    pub urgency: Urgency,
    pub channel: Channel,
    pub open: bool,
    pub escalated: bool,
    pub erased: bool,
    pub stars: Option<u8>,
    pub reopen_count: u32,
    pub created: i64,
    pub acknowledged: Option<i64>,
    pub resolved: Option<i64>,
    pub closed: Option<i64>,
    pub eta: i64,
    pub group: String,
    pub assignee: Option<String>,
    pub keywords: Vec<String>,
}

impl StatsRecord {
    pub fn of(t: &Ticket) -> StatsRecord {
        let secs = |at: DateTime<Utc>| at.timestamp();
        StatsRecord {
            problem_type: t.problem_type,
            urgency: t.urgency,
            channel: t.channel,
            open: t.status.is_open(),
            escalated: t.escalated,
            erased: t.erased_at.is_some(),
            stars: t.rating.as_ref().map(|r| r.stars),
            reopen_count: t.reopen_count,
            created: secs(t.created_at),
            acknowledged: t.acknowledged_at.map(secs),
            resolved: t.resolved_at.map(secs),
            closed: t.closed_at.map(secs),
            eta: secs(t.eta),
            group: t.group.clone(),
            assignee: t.assignee.clone(),
            // An erased ticket's words are gone with it.
            keywords: match t.erased_at {
                Some(_) => Vec::new(),
                None => keywords::extract(&t.subject, &t.description),
            },
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED + 64);
        out.push(VERSION);
        out.push(index(ProblemType::ALL, self.problem_type));
        out.push(index(Urgency::ALL, self.urgency));
        out.push(index(Channel::ALL, self.channel));
        let flag = |on: bool, bit: u8| if on { bit } else { 0 };
        out.push(
            flag(self.open, OPEN) | flag(self.escalated, ESCALATED) | flag(self.erased, ERASED),
        );
        out.push(self.stars.unwrap_or(0));
        out.push(u8::try_from(self.reopen_count).unwrap_or(u8::MAX));
        for at in [
            Some(self.created),
            self.acknowledged,
            self.resolved,
            self.closed,
            Some(self.eta),
        ] {
            out.extend_from_slice(&at.unwrap_or(NONE).to_le_bytes());
        }
        put_str(&mut out, &self.group);
        put_str(&mut out, self.assignee.as_deref().unwrap_or(""));
        let words: Vec<&String> = self.keywords.iter().take(usize::from(u8::MAX)).collect();
        out.push(words.len() as u8);
        for word in words {
            put_str(&mut out, word);
        }
        out
    }
}

fn index<T: PartialEq>(all: &[T], value: T) -> u8 {
    // Invariant: `value` is one of `all` (the enums' ALL lists), at most 8 long.
    all.iter()
        .position(|v| *v == value)
        .expect("enum value in its ALL list") as u8
}

/// Strings longer than 255 bytes are cut at a character boundary.
fn put_str(out: &mut Vec<u8>, s: &str) {
    let mut end = s.len().min(usize::from(u8::MAX));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    out.push(end as u8);
    out.extend_from_slice(&s.as_bytes()[..end]);
}

/// A record read in place: numbers decoded, strings borrowed from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rec<'a> {
    /// The ticket's ID date as `YYYYMMDD` and its serial.
    pub day: u32,
    pub serial: u64,
    pub problem_type: ProblemType,
    pub urgency: Urgency,
    pub channel: Channel,
    pub open: bool,
    pub escalated: bool,
    pub erased: bool,
    pub stars: Option<u8>,
    pub reopen_count: u8,
    pub created: i64,
    pub acknowledged: Option<i64>,
    pub resolved: Option<i64>,
    pub closed: Option<i64>,
    pub eta: i64,
    pub group: &'a str,
    pub assignee: Option<&'a str>,
    keywords: &'a [u8],
}

impl<'a> Rec<'a> {
    /// Reads a record; `None` if it is of another format version or truncated.
    pub fn decode(day: u32, serial: u64, bytes: &'a [u8]) -> Option<Rec<'a>> {
        if bytes.len() < FIXED || bytes[0] != VERSION {
            return None;
        }
        let time = |i: usize| {
            let at = 7 + 8 * i;
            let v = i64::from_le_bytes(bytes[at..at + 8].try_into().ok()?);
            Some((v != NONE).then_some(v))
        };
        let mut rest = &bytes[FIXED..];
        let group = take_str(&mut rest)?;
        let assignee = take_str(&mut rest)?;
        Some(Rec {
            day,
            serial,
            problem_type: *ProblemType::ALL.get(usize::from(bytes[1]))?,
            urgency: *Urgency::ALL.get(usize::from(bytes[2]))?,
            channel: *Channel::ALL.get(usize::from(bytes[3]))?,
            open: bytes[4] & OPEN != 0,
            escalated: bytes[4] & ESCALATED != 0,
            erased: bytes[4] & ERASED != 0,
            stars: (bytes[5] != 0).then_some(bytes[5]),
            reopen_count: bytes[6],
            created: time(0)??,
            acknowledged: time(1)?,
            resolved: time(2)?,
            closed: time(3)?,
            eta: time(4)??,
            group,
            assignee: (!assignee.is_empty()).then_some(assignee),
            keywords: rest,
        })
    }

    /// The normalised keywords, most telling first.
    pub fn keywords(&self) -> impl Iterator<Item = &'a str> {
        let mut rest = self.keywords.get(1..).unwrap_or_default();
        let count = self.keywords.first().copied().unwrap_or(0);
        (0..count).map_while(move |_| take_str(&mut rest))
    }

    /// `IT` + date + serial, as `TicketId` formats it.
    pub fn ticket_id(&self) -> String {
        format!("IT{:08}{:03}", self.day, self.serial)
    }

    /// When the ticket stopped being open: resolved, or closed without a resolution.
    pub fn done(&self) -> Option<i64> {
        self.resolved.or(self.closed)
    }
}

fn take_str<'a>(rest: &mut &'a [u8]) -> Option<&'a str> {
    let (&len, tail) = rest.split_first()?;
    let len = usize::from(len);
    let s = std::str::from_utf8(tail.get(..len)?).ok()?;
    *rest = &tail[len..];
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> StatsRecord {
        StatsRecord {
            erased: false,
            problem_type: ProblemType::Network,
            urgency: Urgency::High,
            channel: Channel::Email,
            open: false,
            escalated: true,
            stars: Some(4),
            reopen_count: 300,
            created: 1_696_118_400,
            acknowledged: Some(1_696_119_000),
            resolved: Some(1_696_130_000),
            closed: None,
            eta: 1_696_147_200,
            group: "network".into(),
            assignee: Some("李四".into()),
            keywords: vec!["vpn".into(), "disconnect".into()],
        }
    }

    #[test]
    fn round_trips_through_bytes() {
        let r = sample();
        let bytes = r.encode();
        let rec = Rec::decode(20231001, 7, &bytes).unwrap();
        assert_eq!(rec.ticket_id(), "IT20231001007");
        assert_eq!(
            (rec.problem_type, rec.urgency, rec.channel),
            (r.problem_type, r.urgency, r.channel)
        );
        assert_eq!(
            (rec.open, rec.escalated, rec.stars, rec.reopen_count),
            (false, true, Some(4), 255)
        );
        assert_eq!(
            (
                rec.created,
                rec.acknowledged,
                rec.resolved,
                rec.closed,
                rec.eta
            ),
            (r.created, r.acknowledged, r.resolved, None, r.eta)
        );
        assert_eq!((rec.group, rec.assignee), ("network", Some("李四")));
        assert_eq!(rec.keywords().collect::<Vec<_>>(), ["vpn", "disconnect"]);
        assert_eq!(rec.done(), r.resolved);
    }

    #[test]
    fn refuses_other_versions_and_truncation() {
        let mut bytes = sample().encode();
        assert!(Rec::decode(20231001, 1, &bytes[..FIXED - 1]).is_none());
        assert!(
            Rec::decode(20231001, 1, &bytes[..FIXED + 3]).is_none(),
            "group cut short"
        );
        bytes[0] = VERSION + 1;
        assert!(Rec::decode(20231001, 1, &bytes).is_none());
    }

    #[test]
    fn cuts_long_strings_at_a_character_boundary() {
        let mut r = sample();
        r.group = "组".repeat(100); // 300 bytes
        r.assignee = None;
        let bytes = r.encode();
        let rec = Rec::decode(20231001, 1, &bytes).unwrap();
        assert_eq!(rec.group, "组".repeat(85));
        assert_eq!(rec.assignee, None);
    }
}
