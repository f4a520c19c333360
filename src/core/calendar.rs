//! The business calendar (zone, working days and hours, holidays, make-up days) and SLA spans.
//!
//! Invariant: pure and total — time comes in as a parameter, nothing panics on DST gaps or
//! folds, and `Calendar::add` is monotonic: never before `start`, never earlier for a later
//! start or a larger span of the same kind.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone,
    Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

/// An SLA duration. Elapsed time runs around the clock (to the second, so tests
/// and demos can shrink the process to seconds); working minutes/days only count
/// inside working hours on working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Span {
    Elapsed { seconds: i64 },
    WorkingMinutes { minutes: i64 },
    WorkingDays { days: u32 },
}

#[derive(Clone, Copy)]
enum Kind {
    Elapsed,
    Working,
    WorkingDays,
}

/// Seconds per unit and the kind of span, for a unit spelled in lowercase without spaces,
/// `-` or `_` (a working day counts as a calendar day only for the length bound).
fn unit(name: &str) -> Option<(i64, Kind)> {
    Some(match name {
        "s" | "sec" | "secs" | "second" | "seconds" | "秒" => (1, Kind::Elapsed),
        "m" | "min" | "mins" | "minute" | "minutes" | "分钟" | "分" => (60, Kind::Elapsed),
        "h" | "hr" | "hrs" | "hour" | "hours" | "小时" | "个小时" => (3600, Kind::Elapsed),
        "d" | "day" | "days" | "天" => (86400, Kind::Elapsed),
        "wm" | "workingminute" | "workingminutes" | "工作分钟" => (60, Kind::Working),
        "wh" | "workinghour" | "workinghours" | "工作小时" | "个工作小时" => {
            (3600, Kind::Working)
        }
        "wd" | "workingday" | "workingdays" | "工作日" | "个工作日" => {
            (86400, Kind::WorkingDays)
        }
        _ => return None,
    })
}

/// SLA targets are hours or days; ten years is surely a typo, and the bound keeps
/// `Calendar::add`'s day-by-day walk short.
const MAX_SPAN_SECONDS: i64 = 10 * 366 * 86400;

impl Span {
    /// Parses "30m", "4h", "1d" (elapsed: 1d = 24h), "90 minutes", "4 hours", "2 days",
    /// "8wh" / "8 working hours", "3wd" / "3 working days" / "1 working day",
    /// also Chinese "4小时", "30分钟", "3个工作日", "3工作日". Case/space tolerant.
    pub fn parse(s: &str) -> Result<Span, String> {
        let expected =
            || format!("expected a duration like \"4h\", \"30m\" or \"3 working days\", got {s:?}");
        let text: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        let (number, suffix) = text.split_at(
            text.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(text.len()),
        );
        let (per_unit, kind) = unit(&suffix.replace(['-', '_'], "")).ok_or_else(expected)?;
        if number.is_empty() {
            return Err(expected());
        }
        let too_long = || format!("duration {s:?} is too long: at most ten years");
        // `number` is all digits, so a parse failure can only be overflow.
        let seconds = number
            .parse::<i64>()
            .ok()
            .and_then(|n| n.checked_mul(per_unit))
            .filter(|m| *m <= MAX_SPAN_SECONDS)
            .ok_or_else(too_long)?;
        Ok(match kind {
            Kind::Elapsed => Span::Elapsed { seconds },
            Kind::Working => Span::WorkingMinutes {
                minutes: seconds / 60,
            },
            Kind::WorkingDays => Span::WorkingDays {
                days: u32::try_from(seconds / 86400).map_err(|_| too_long())?,
            },
        })
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Span::Elapsed { seconds: s } if s != 0 && s % 86400 == 0 => write!(f, "{}d", s / 86400),
            Span::Elapsed { seconds: s } if s != 0 && s % 3600 == 0 => write!(f, "{}h", s / 3600),
            Span::Elapsed { seconds: s } if s != 0 && s % 60 == 0 => write!(f, "{}m", s / 60),
            Span::Elapsed { seconds } => write!(f, "{seconds}s"),
            Span::WorkingMinutes { minutes: m } if m != 0 && m % 60 == 0 => {
                write!(f, "{}wh", m / 60)
            }
            Span::WorkingMinutes { minutes } => write!(f, "{minutes}wm"),
            Span::WorkingDays { days } => write!(f, "{days}wd"),
        }
    }
}

impl TryFrom<String> for Span {
    type Error = String;
    fn try_from(s: String) -> Result<Span, String> {
        Span::parse(&s)
    }
}

impl From<Span> for String {
    fn from(span: Span) -> String {
        span.to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    tz: Tz,
    /// Indexed by `Weekday::num_days_from_monday`.
    working_days: [bool; 7],
    day_start: NaiveTime,
    day_end: NaiveTime,
    holidays: BTreeSet<NaiveDate>,
    extra_working_days: BTreeSet<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("working hours must end after they start, got {start}–{end}")]
    EmptyWorkingHours { start: NaiveTime, end: NaiveTime },
    #[error("no working days configured: at least one weekday must be a working day")]
    NoWorkingDays,
    #[error("{0} is listed both as a holiday and as an extra working day")]
    HolidayAndWorkingDay(NaiveDate),
}

/// Evaluated at compile time, so a bad default fails the build rather than a runtime unwrap.
const DEFAULT_DAY_START: NaiveTime = hm(9, 0);
const DEFAULT_DAY_END: NaiveTime = hm(18, 0);

const fn hm(hour: u32, minute: u32) -> NaiveTime {
    match NaiveTime::from_hms_opt(hour, minute, 0) {
        Some(t) => t,
        None => panic!("invalid wall-clock time"),
    }
}

impl Calendar {
    pub fn new(
        tz: Tz,
        working_days: &[Weekday],
        day_start: NaiveTime,
        day_end: NaiveTime,
        holidays: impl IntoIterator<Item = NaiveDate>,
        extra_working_days: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Calendar, CalendarError> {
        if day_end <= day_start {
            return Err(CalendarError::EmptyWorkingHours {
                start: day_start,
                end: day_end,
            });
        }
        if working_days.is_empty() {
            return Err(CalendarError::NoWorkingDays);
        }
        let holidays: BTreeSet<NaiveDate> = holidays.into_iter().collect();
        let extra_working_days: BTreeSet<NaiveDate> = extra_working_days.into_iter().collect();
        if let Some(date) = holidays.intersection(&extra_working_days).next() {
            return Err(CalendarError::HolidayAndWorkingDay(*date));
        }
        let mut days = [false; 7];
        for day in working_days {
            days[day.num_days_from_monday() as usize] = true;
        }
        Ok(Calendar {
            tz,
            working_days: days,
            day_start,
            day_end,
            holidays,
            extra_working_days,
        })
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Holidays win over working weekdays; extra working days win over weekends.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !self.holidays.contains(&date)
            && (self.extra_working_days.contains(&date)
                || self.working_days[date.weekday().num_days_from_monday() as usize])
    }

    /// The instant `span` after `start`; see the module invariant. Negative spans count as
    /// zero and spans beyond chrono's range saturate, so the result never precedes `start`.
    pub fn add(&self, start: DateTime<Utc>, span: Span) -> DateTime<Utc> {
        match span {
            Span::Elapsed { seconds } => {
                TimeDelta::try_seconds(seconds.max(0)).and_then(|d| start.checked_add_signed(d))
            }
            Span::WorkingMinutes { minutes } => {
                TimeDelta::try_minutes(minutes.max(0)).map(|d| self.add_working(start, d))
            }
            Span::WorkingDays { days } => i32::try_from(days)
                .ok()
                .and_then(|n| (self.day_end - self.day_start).checked_mul(n))
                .map(|d| self.add_working(start, d)),
        }
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Walks working windows day by day from `start`'s local date, spending `span` of real time.
    fn add_working(&self, start: DateTime<Utc>, span: TimeDelta) -> DateTime<Utc> {
        // Nothing to count: `start` itself, rather than the next working start.
        if span <= TimeDelta::zero() {
            return start;
        }
        let mut remaining = span;
        let mut date = self.local_date(start);
        loop {
            if self.is_working_day(date) {
                let open = self.resolve(date.and_time(self.day_start)).max(start);
                let close = self.resolve(date.and_time(self.day_end));
                let available = close - open;
                // `<=`: a count ending exactly at a day's end stays on that day.
                if remaining <= available {
                    return open + remaining;
                }
                // A window already past (or emptied by a DST gap) has nothing to give.
                remaining -= available.max(TimeDelta::zero());
            }
            match date.succ_opt() {
                Some(next) => date = next,
                None => return DateTime::<Utc>::MAX_UTC,
            }
        }
    }

    /// Maps a local wall-clock time to an instant: the earliest one in a fall-back fold, the
    /// first wall-clock minute after a spring-forward gap.
    fn resolve(&self, local: NaiveDateTime) -> DateTime<Utc> {
        (0..=2 * 1440)
            .find_map(|m| {
                let shifted = local.checked_add_signed(TimeDelta::minutes(m))?;
                self.tz.from_local_datetime(&shifted).earliest()
            })
            .map(|t| t.to_utc())
            // Invariant: tz gaps last at most a day (Samoa skipped 2011-12-30), so a valid
            // minute exists within two days.
            .expect("time-zone gap longer than two days")
    }

    /// Local calendar date of an instant (for ticket IDs and 申请日期).
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.tz).date_naive()
    }

    /// Local time truncated to the minute, with its UTC offset (handling-log timestamps).
    pub fn local_minute(&self, at: DateTime<Utc>) -> DateTime<FixedOffset> {
        let local = at.with_timezone(&self.tz).fixed_offset();
        // Subtracting the local seconds truncates the local minute even for offsets with seconds.
        local
            - TimeDelta::seconds(i64::from(local.second()))
            - TimeDelta::nanoseconds(i64::from(local.nanosecond()))
    }

    /// Formats an instant in local time as "YYYY-MM-DD HH:MM" (for notices).
    pub fn format_local(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.tz)
            .format("%Y-%m-%d %H:%M")
            .to_string()
    }
}

impl Default for Calendar {
    /// Asia/Shanghai, Mon–Fri, 09:00–18:00, no holidays.
    fn default() -> Calendar {
        Calendar {
            tz: chrono_tz::Asia::Shanghai,
            working_days: [true, true, true, true, true, false, false],
            day_start: DEFAULT_DAY_START,
            day_end: DEFAULT_DAY_END,
            holidays: BTreeSet::new(),
            extra_working_days: BTreeSet::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Weekday::{Fri, Mon, Sat, Sun, Thu, Tue, Wed};
    use chrono_tz::{America, Asia, Europe};

    const WEEK: &[Weekday] = &[Mon, Tue, Wed, Thu, Fri];

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// "MM-DD HH:MM" in 2023 in the calendar's zone (must be unambiguous), or with " +HHMM".
    fn at(cal: &Calendar, s: &str) -> DateTime<Utc> {
        let s = format!("2023-{s}");
        if let Ok(t) = DateTime::parse_from_str(&s, "%Y-%m-%d %H:%M %z") {
            return t.to_utc();
        }
        let local = NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M").unwrap();
        cal.tz
            .from_local_datetime(&local)
            .single()
            .unwrap()
            .to_utc()
    }

    fn office(tz: Tz) -> Calendar {
        Calendar::new(tz, WEEK, hm(9, 0), hm(18, 0), [], []).unwrap()
    }

    /// China 2023: Mid-Autumn + National Day off 09-29..10-06, made up on Sat 10-07, Sun 10-08.
    fn golden_week() -> Calendar {
        let holidays = date("2023-09-29").iter_days().take(8);
        let extra = [date("2023-10-07"), date("2023-10-08")];
        Calendar::new(Asia::Shanghai, WEEK, hm(9, 0), hm(18, 0), holidays, extra).unwrap()
    }

    /// Every day 02:00–04:00 Berlin time, so the DST switches fall inside working hours.
    fn berlin_night() -> Calendar {
        let every_day = [Mon, Tue, Wed, Thu, Fri, Sat, Sun];
        Calendar::new(Europe::Berlin, &every_day, hm(2, 0), hm(4, 0), [], []).unwrap()
    }

    /// Rows read "name: start + span = expected", local "MM-DD HH:MM" in 2023 (a UTC offset
    /// where the wall clock is ambiguous); 2023-10-16 is a Monday.
    #[test]
    fn add_spans() {
        let (sh, gw, night) = (Calendar::default(), golden_week(), berlin_night());
        let (be, ny) = (office(Europe::Berlin), office(America::New_York));
        let cases: [(&Calendar, &[&str]); 5] = [
            (
                &sh,
                &[
                    "same working day: 10-16 10:00 + 4wh = 10-16 14:00",
                    "ends exactly at day end: 10-16 10:00 + 8wh = 10-16 18:00",
                    "crosses a night: 10-16 16:00 + 4wh = 10-17 11:00",
                    "crosses a weekend: 10-20 16:00 + 4wh = 10-23 11:00",
                    "starts on a Saturday: 10-21 10:00 + 1wh = 10-23 10:00",
                    "starts on a Sunday night: 10-22 23:00 + 30wm = 10-23 09:30",
                    "starts at night: 10-17 22:00 + 2wh = 10-18 11:00",
                    "starts before day start: 10-17 07:30 + 2wh = 10-17 11:00",
                    "starts exactly at day end: 10-16 18:00 + 1wm = 10-17 09:01",
                    "3wd from Monday 10:00: 10-16 10:00 + 3wd = 10-19 10:00",
                    "3wd from Friday night ends at day end: 10-20 20:00 + 3wd = 10-25 18:00",
                    "zero span stays put off hours: 10-21 10:00 + 0wm = 10-21 10:00",
                    "Saturday without make-up days: 10-07 17:00 + 2wh = 10-09 11:00",
                    "elapsed ignores weekend: 10-21 10:00 + 4h = 10-21 14:00",
                    "elapsed ignores night: 10-20 20:00 + 1d = 10-21 20:00",
                ],
            ),
            (
                &gw,
                &[
                    "holiday skipped, make-up Saturday works: 09-29 10:00 + 1wh = 10-07 10:00",
                    "make-up Sunday works: 10-07 17:00 + 2wh = 10-08 10:00",
                    "low 3wd across golden week: 09-28 17:00 + 3wd = 10-09 17:00",
                    "elapsed ignores holidays: 10-01 10:00 + 24h = 10-02 10:00",
                ],
            ),
            (
                &be,
                &[
                    "working hours, spring DST: 03-24 17:00 + 2wh = 03-27 10:00",
                    "elapsed, spring DST: 03-25 12:00 + 24h = 03-26 13:00",
                    "working hours, autumn DST: 10-27 17:00 + 2wh = 10-30 10:00",
                    "elapsed, autumn DST: 10-28 12:00 + 24h = 10-29 11:00",
                ],
            ),
            (
                &ny,
                &[
                    "working hours, DST: 03-10 17:00 + 2wh = 03-13 10:00",
                    "elapsed, DST: 03-11 12:00 + 24h = 03-12 13:00",
                ],
            ),
            // 02:00 does not exist on 03-26: that window is 03:00–04:00 CEST, one hour.
            // 02:00 happens twice on 10-29: that window is 02:00 CEST–04:00 CET, three hours.
            (
                &night,
                &[
                    "window opens in a gap: 03-26 00:00 +0100 + 90wm = 03-27 02:30 +0200",
                    "window spans a fold: 10-29 00:00 +0200 + 150wm = 10-29 03:30 +0100",
                    "fold window's end: 10-29 00:00 +0200 + 3wh = 10-29 04:00 +0100",
                ],
            ),
        ];
        for (cal, rows) in cases {
            for row in rows {
                let (start, rest) = row.split_once(": ").unwrap().1.split_once(" + ").unwrap();
                let (span, want) = rest.split_once(" = ").unwrap();
                let got = cal.add(at(cal, start), Span::parse(span).unwrap());
                assert_eq!(got, at(cal, want), "{row}: got {}", cal.local_minute(got));
            }
        }
    }

    #[test]
    fn add_is_monotonic() {
        let grids = [
            (golden_week(), "2023-09-25T00:00:00Z"),
            (office(Europe::Berlin), "2023-03-20T00:00:00Z"),
            (office(Europe::Berlin), "2023-10-23T00:00:00Z"),
            (office(America::New_York), "2023-03-06T00:00:00Z"),
            (berlin_night(), "2023-03-20T00:00:00Z"),
            (berlin_night(), "2023-10-23T00:00:00Z"),
        ];
        let ladders = [
            [0, 1, 59, 60, 480, 540, 541, 1000, 3000]
                .map(|minutes| Span::WorkingMinutes { minutes }),
            [0, 1, 2, 3, 4, 5, 6, 7, 8].map(|days| Span::WorkingDays { days }),
            [0, 1, 60, 1440, 4320, 4321, 5000, 9000, 9999].map(|minutes| Span::Elapsed {
                seconds: minutes * 60,
            }),
        ];
        for (cal, base) in &grids {
            for ladder in &ladders {
                let mut previous = [DateTime::<Utc>::MIN_UTC; 9];
                // Every 37 minutes over two weeks.
                for start in (0..14 * 1440 / 37).map(|k| utc(base) + TimeDelta::minutes(37 * k)) {
                    let row = ladder.map(|span| cal.add(start, span));
                    assert!(row[0] >= start, "{start}: before start");
                    assert!(
                        row.windows(2).all(|w| w[0] <= w[1]),
                        "{start}: larger span earlier"
                    );
                    assert!(
                        previous.iter().zip(&row).all(|(a, b)| a <= b),
                        "{start}: went back"
                    );
                    previous = row;
                }
            }
        }
    }

    #[test]
    fn span_parses_and_displays() {
        use Span::{Elapsed, WorkingDays, WorkingMinutes};
        let cases = [
            ("4h", Elapsed { seconds: 14400 }, "4h"),
            ("30m", Elapsed { seconds: 1800 }, "30m"),
            ("1d", Elapsed { seconds: 86400 }, "1d"),
            ("24h", Elapsed { seconds: 86400 }, "1d"),
            ("90 minutes", Elapsed { seconds: 5400 }, "90m"),
            (" 4 Hours ", Elapsed { seconds: 14400 }, "4h"),
            ("2 days", Elapsed { seconds: 172800 }, "2d"),
            ("0m", Elapsed { seconds: 0 }, "0s"),
            ("5s", Elapsed { seconds: 5 }, "5s"),
            ("90 seconds", Elapsed { seconds: 90 }, "90s"),
            ("3秒", Elapsed { seconds: 3 }, "3s"),
            ("8wh", WorkingMinutes { minutes: 480 }, "8wh"),
            ("8 Working Hours", WorkingMinutes { minutes: 480 }, "8wh"),
            ("90 working minutes", WorkingMinutes { minutes: 90 }, "90wm"),
            ("3wd", WorkingDays { days: 3 }, "3wd"),
            ("3 working days", WorkingDays { days: 3 }, "3wd"),
            ("1 working-day", WorkingDays { days: 1 }, "1wd"),
            ("4小时", Elapsed { seconds: 14400 }, "4h"),
            ("30分钟", Elapsed { seconds: 1800 }, "30m"),
            ("3个工作日", WorkingDays { days: 3 }, "3wd"),
            ("3 工作日", WorkingDays { days: 3 }, "3wd"),
            ("8个工作小时", WorkingMinutes { minutes: 480 }, "8wh"),
        ];
        for (text, span, shown) in cases {
            assert_eq!(Span::parse(text), Ok(span), "parse {text:?}");
            assert_eq!(span.to_string(), shown, "display {span:?}");
            assert_eq!(Span::parse(shown), Ok(span), "round trip {shown:?}");
        }
    }

    #[test]
    fn span_rejects_bad_text() {
        let expected: fn(&str) -> String = |got| {
            format!(r#"expected a duration like "4h", "30m" or "3 working days", got "{got}""#)
        };
        let too_long: fn(&str) -> String =
            |got| format!(r#"duration "{got}" is too long: at most ten years"#);
        let cases = [
            ("unknown unit", "4x", expected),
            ("empty", "", expected),
            ("no number", "h", expected),
            ("negative", "-4h", expected),
            ("fraction", "4.5h", expected),
            ("chinese numeral", "三个工作日", expected),
            ("overflow", "99999999999999999999h", too_long),
            ("over ten years", "5000wd", too_long),
        ];
        for (name, text, message) in cases {
            assert_eq!(Span::parse(text), Err(message(text)), "{name}");
        }
    }

    #[test]
    fn span_serde_uses_text() {
        let span = Span::WorkingDays { days: 3 };
        assert_eq!(serde_json::to_string(&span).unwrap(), r#""3wd""#);
        assert_eq!(
            serde_json::from_str::<Span>(r#""3 个工作日""#).unwrap(),
            span
        );
        let error = serde_json::from_str::<Span>(r#""4x""#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("expected a duration"), "{error}");
    }

    #[test]
    fn new_rejects_bad_calendars() {
        let error = |start, end, days: &[Weekday], extra: Option<&str>| {
            let (start, end, extra) = (hm(start, 0), hm(end, 0), extra.map(date));
            let holidays = [date("2023-10-02")];
            Calendar::new(Asia::Shanghai, days, start, end, holidays, extra)
                .unwrap_err()
                .to_string()
        };
        let cases = [
            (
                error(18, 9, WEEK, None),
                "working hours must end after they start, got 18:00:00–09:00:00",
            ),
            (
                error(9, 9, WEEK, None),
                "working hours must end after they start, got 09:00:00–09:00:00",
            ),
            (
                error(9, 18, &[], None),
                "no working days configured: at least one weekday must be a working day",
            ),
            (
                error(9, 18, WEEK, Some("2023-10-02")),
                "2023-10-02 is listed both as a holiday and as an extra working day",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
        assert_eq!(office(Asia::Shanghai), Calendar::default());
    }

    /// Rows read "name: date on|off".
    #[test]
    fn working_days() {
        let (gw, sh) = (golden_week(), Calendar::default());
        let cases: [(&Calendar, &[&str]); 2] = [
            (
                &gw,
                &[
                    "national holiday Monday: 2023-10-02 off",
                    "make-up Saturday: 2023-10-07 on",
                    "make-up Sunday: 2023-10-08 on",
                    "ordinary Saturday: 2023-10-14 off",
                    "ordinary Monday: 2023-10-09 on",
                ],
            ),
            (
                &sh,
                &[
                    "that Monday without holidays: 2023-10-02 on",
                    "that Sunday without make-up days: 2023-10-08 off",
                ],
            ),
        ];
        for (cal, rows) in cases {
            for row in rows {
                let (day, on) = row.split_once(": ").unwrap().1.split_once(' ').unwrap();
                assert_eq!(cal.is_working_day(date(day)), on == "on", "{row}");
            }
        }
    }

    /// Rows read "name: instant = local minute"; `local_date` and `format_local` must agree.
    #[test]
    fn local_views() {
        let (sh, be, ny) = (
            Calendar::default(),
            office(Europe::Berlin),
            office(America::New_York),
        );
        let cases: [(&Calendar, &[&str]); 3] = [
            (
                &sh,
                &[
                    "after midnight: 2023-09-30T16:30:00Z = 2023-10-01T00:30:00+08:00",
                    "before midnight: 2023-09-30T15:59:59Z = 2023-09-30T23:59:00+08:00",
                ],
            ),
            (
                &ny,
                &["UTC is a day ahead: 2023-10-01T03:00:00Z = 2023-09-30T23:00:00-04:00"],
            ),
            (
                &be,
                &[
                    "summer, fraction: 2023-07-01T08:15:42.5Z = 2023-07-01T10:15:00+02:00",
                    "winter, new year: 2023-12-31T23:30:59Z = 2024-01-01T00:30:00+01:00",
                ],
            ),
        ];
        for (cal, rows) in cases {
            for row in rows {
                let (instant, minute) = row.split_once(": ").unwrap().1.split_once(" = ").unwrap();
                let t = utc(instant);
                assert_eq!(cal.local_minute(t).to_rfc3339(), minute, "{row}");
                assert_eq!(cal.local_date(t), date(&minute[..10]), "{row}");
                assert_eq!(cal.format_local(t), minute[..16].replace('T', " "), "{row}");
            }
        }
        assert_eq!(sh.tz(), Asia::Shanghai);
    }
}
