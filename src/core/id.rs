//! Ticket IDs: `IT` + local date `YYYYMMDD` + daily serial of at least three digits.
//!
//! The serial comes from a per-day counter that the store bumps in the same
//! transaction that stores the ticket, so an ID is never handed out twice.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TicketId(String);

impl TicketId {
    /// `serial` starts at 1 each day and grows past 999 without wrapping.
    pub fn new(date: NaiveDate, serial: u64) -> TicketId {
        TicketId(format!("IT{}{:03}", date.format("%Y%m%d"), serial))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn date(&self) -> NaiveDate {
        // Invariant: a TicketId is only built by `new` or a successful `parse`.
        NaiveDate::parse_from_str(&self.0[2..10], "%Y%m%d").expect("validated ticket id")
    }

    pub fn serial(&self) -> u64 {
        // Invariant: validated as all digits, and at most 19 of them.
        self.0[10..].parse().expect("validated ticket id")
    }

    pub fn parse(s: &str) -> Option<TicketId> {
        let s = s.trim();
        let rest = s.strip_prefix("IT").or_else(|| s.strip_prefix("it"))?;
        if rest.len() < 11 || rest.len() > 27 || !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        NaiveDate::parse_from_str(&rest[..8], "%Y%m%d").ok()?;
        Some(TicketId(format!("IT{rest}")))
    }
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for TicketId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        TicketId::parse(&s).ok_or_else(|| format!("not a ticket id: {s:?}"))
    }
}

impl From<TicketId> for String {
    fn from(id: TicketId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let d = NaiveDate::from_ymd_opt(2023, 10, 1).unwrap();
        let cases = [
            (1, "IT20231001001"),
            (42, "IT20231001042"),
            (999, "IT20231001999"),
            (1000, "IT202310011000"),
        ];
        for (serial, text) in cases {
            let id = TicketId::new(d, serial);
            assert_eq!(id.as_str(), text);
            assert_eq!(TicketId::parse(text), Some(id.clone()));
            assert_eq!(id.date(), d);
            assert_eq!(id.serial(), serial);
        }
        for bad in [
            "IT2023100101",
            "XX20231001001",
            "IT20231301001",
            "IT2023100100a",
            "",
        ] {
            assert_eq!(TicketId::parse(bad), None, "{bad}");
        }
    }
}
