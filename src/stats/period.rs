//! Report periods: "week" (the last full ISO week, Monday–Sunday), "month" (the
//! last full calendar month) or `FROM..TO` (inclusive dates), as local days of
//! the helpdesk's time zone turned into a half-open UTC interval.
//!
//! Invariant: pure — "now" and the time zone are parameters.

use chrono::{
    DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone,
    Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// What the user asked for, before it is pinned to dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodSpec {
    Week,
    Month,
    Range { from: NaiveDate, to: NaiveDate },
}

impl PeriodSpec {
    pub fn parse(s: &str) -> Result<PeriodSpec, String> {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "week" | "weekly" => return Ok(PeriodSpec::Week),
            "month" | "monthly" => return Ok(PeriodSpec::Month),
            _ => {}
        }
        let bad = || {
            format!(
                "{s:?} is not a period: use week, month or FROM..TO like 2023-10-01..2023-10-31"
            )
        };
        let (from, to) = s.split_once("..").ok_or_else(bad)?;
        let date = |d: &str| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").map_err(|_| bad());
        let (from, to) = (date(from)?, date(to)?);
        if to < from {
            return Err(format!("period {s:?} ends before it starts"));
        }
        Ok(PeriodSpec::Range { from, to })
    }

    /// The local dates this means when asked at `now`.
    pub fn resolve(self, now: DateTime<Utc>, tz: Tz) -> Period {
        let today = now.with_timezone(&tz).date_naive();
        let (from, to) = match self {
            PeriodSpec::Week => {
                let this_monday =
                    today - Days::new(u64::from(today.weekday().num_days_from_monday()));
                (this_monday - Days::new(7), this_monday - Days::new(1))
            }
            PeriodSpec::Month => {
                let first_of_this = today.with_day(1).unwrap_or(today);
                // Invariant: every month has a first day, and the month before exists past year 1.
                let first_of_last = first_of_this
                    .checked_sub_months(Months::new(1))
                    .expect("a month before");
                (first_of_last, first_of_this - Days::new(1))
            }
            PeriodSpec::Range { from, to } => (from, to),
        };
        Period::new(from, to, tz).clipped_at(now)
    }
}

/// Inclusive local dates and the UTC instants `[start, end)` they span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `end` was moved back to "now": the period runs on into the future, and
    /// what has not happened yet (an ETA still ahead) is not counted.
    #[serde(default)]
    pub clipped: bool,
}

impl Period {
    pub fn new(from: NaiveDate, to: NaiveDate, tz: Tz) -> Period {
        let midnight = |d: NaiveDate| local_instant(tz, d.and_time(NaiveTime::MIN));
        Period {
            from,
            to,
            start: midnight(from),
            end: midnight(to + Days::new(1)),
            clipped: false,
        }
    }

    /// Ends the period at `now` if it runs past it: open tickets whose ETA is
    /// still ahead are not missed, and the backlog is aged as of now.
    pub fn clipped_at(self, now: DateTime<Utc>) -> Period {
        if self.end <= now {
            return self;
        }
        // Records keep whole seconds: a ticket opened earlier in this second counts.
        let now = match now.timestamp_subsec_nanos() {
            0 => now,
            _ => DateTime::from_timestamp(now.timestamp() + 1, 0).unwrap_or(now),
        };
        Period {
            end: now.max(self.start).min(self.end),
            clipped: true,
            ..self
        }
    }

    /// A full ISO week Monday–Sunday, or a full calendar month: how the digest names it.
    pub fn is_week(&self) -> bool {
        self.from.weekday() == Weekday::Mon && self.to == self.from + Days::new(6)
    }
}

/// The first instant at or after the local wall time `at`: a time that a DST
/// change skips becomes the end of the gap; a repeated one, its first occurrence.
pub fn local_instant(tz: Tz, at: NaiveDateTime) -> DateTime<Utc> {
    (0..=48 * 60)
        .find_map(|m| {
            tz.from_local_datetime(&(at + TimeDelta::minutes(m)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        // Invariant: time-zone gaps last at most a day, so a valid minute exists within two.
        .expect("time-zone gap longer than two days")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_period_is_clipped_at_now_only_when_it_runs_past_it() {
        let tz = chrono_tz::Asia::Shanghai;
        let week = Period::new(d("2023-10-09"), d("2023-10-15"), tz);
        let wednesday = week.start + chrono::Duration::days(2);
        let clipped = week.clipped_at(wednesday);
        assert_eq!((clipped.end, clipped.clipped), (wednesday, true));
        assert_eq!(
            (clipped.from, clipped.to),
            (week.from, week.to),
            "named as asked"
        );
        assert_eq!(week.clipped_at(week.end), week);
        let before = week.clipped_at(week.start - chrono::Duration::days(1));
        assert_eq!(
            before.end, week.start,
            "a future period is empty, not negative"
        );
        let asked = PeriodSpec::Range {
            from: week.from,
            to: week.to,
        }
        .resolve(wednesday, tz);
        assert!(asked.clipped && asked.end == wednesday);
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_specs() {
        assert_eq!(PeriodSpec::parse("week"), Ok(PeriodSpec::Week));
        assert_eq!(PeriodSpec::parse(" Month "), Ok(PeriodSpec::Month));
        assert_eq!(
            PeriodSpec::parse("2023-10-01..2023-10-31"),
            Ok(PeriodSpec::Range {
                from: d("2023-10-01"),
                to: d("2023-10-31")
            })
        );
        assert_eq!(
            PeriodSpec::parse("2023-10-05..2023-10-05"),
            Ok(PeriodSpec::Range {
                from: d("2023-10-05"),
                to: d("2023-10-05")
            })
        );
        for bad in [
            "fortnight",
            "2023-10-01",
            "2023-10-01..",
            "2023-13-01..2023-10-31",
            "2023/10/01..2023/10/31",
        ] {
            assert!(
                PeriodSpec::parse(bad)
                    .unwrap_err()
                    .contains("is not a period"),
                "{bad}"
            );
        }
        assert!(PeriodSpec::parse("2023-10-31..2023-10-01")
            .unwrap_err()
            .contains("ends before it starts"));
    }

    #[test]
    fn resolves_in_the_local_time_zone() {
        let shanghai = chrono_tz::Asia::Shanghai;
        let berlin = chrono_tz::Europe::Berlin;
        // (spec, now, zone, from, to, start, end)
        let cases = [
            // Wednesday 2023-10-11 in Shanghai: last full week is Oct 2–8.
            (
                PeriodSpec::Week,
                "2023-10-11T03:00:00Z",
                shanghai,
                "2023-10-02",
                "2023-10-08",
                "2023-10-01T16:00:00Z",
                "2023-10-08T16:00:00Z",
            ),
            // Monday 00:30 local is already the new week; in UTC it is still Sunday.
            (
                PeriodSpec::Week,
                "2023-10-08T16:30:00Z",
                shanghai,
                "2023-10-02",
                "2023-10-08",
                "2023-10-01T16:00:00Z",
                "2023-10-08T16:00:00Z",
            ),
            // Sunday: the week in progress is not full; the one before is reported.
            (
                PeriodSpec::Week,
                "2023-10-08T10:00:00Z",
                shanghai,
                "2023-09-25",
                "2023-10-01",
                "2023-09-24T16:00:00Z",
                "2023-10-01T16:00:00Z",
            ),
            (
                PeriodSpec::Month,
                "2023-11-01T01:00:00Z",
                shanghai,
                "2023-10-01",
                "2023-10-31",
                "2023-09-30T16:00:00Z",
                "2023-10-31T16:00:00Z",
            ),
            (
                PeriodSpec::Month,
                "2024-01-15T00:00:00Z",
                shanghai,
                "2023-12-01",
                "2023-12-31",
                "2023-11-30T16:00:00Z",
                "2023-12-31T16:00:00Z",
            ),
            (
                PeriodSpec::Month,
                "2024-03-10T00:00:00Z",
                shanghai,
                "2024-02-01",
                "2024-02-29",
                "2024-01-31T16:00:00Z",
                "2024-02-29T16:00:00Z",
            ),
            // Berlin October holds the switch from summer time (+2) to winter time (+1).
            (
                PeriodSpec::Month,
                "2023-11-02T12:00:00Z",
                berlin,
                "2023-10-01",
                "2023-10-31",
                "2023-09-30T22:00:00Z",
                "2023-10-31T23:00:00Z",
            ),
            // The ISO week of the March switch (Mar 26) is an hour shorter.
            (
                PeriodSpec::Week,
                "2023-03-28T12:00:00Z",
                berlin,
                "2023-03-20",
                "2023-03-26",
                "2023-03-19T23:00:00Z",
                "2023-03-26T22:00:00Z",
            ),
        ];
        for (spec, now, tz, from, to, start, end) in cases {
            let p = spec.resolve(utc(now), tz);
            assert_eq!(
                (p.from, p.to),
                (d(from), d(to)),
                "{spec:?} at {now} in {tz}"
            );
            assert_eq!(
                (p.start, p.end),
                (utc(start), utc(end)),
                "{spec:?} at {now} in {tz}"
            );
        }
        let range = PeriodSpec::Range {
            from: d("2023-10-01"),
            to: d("2023-10-31"),
        }
        .resolve(utc("2030-01-01T00:00:00Z"), shanghai);
        assert_eq!(
            (range.start, range.end),
            (utc("2023-09-30T16:00:00Z"), utc("2023-10-31T16:00:00Z"))
        );
        assert!(PeriodSpec::Week
            .resolve(utc("2023-10-11T03:00:00Z"), shanghai)
            .is_week());
        assert!(!range.is_week());
    }

    #[test]
    fn a_skipped_midnight_starts_the_day_at_the_end_of_the_gap() {
        // Santiago moved clocks from 00:00 to 01:00 on 2023-09-03.
        let tz = chrono_tz::America::Santiago;
        let p = Period::new(d("2023-09-03"), d("2023-09-03"), tz);
        assert_eq!(p.start, utc("2023-09-03T04:00:00Z"));
    }
}
