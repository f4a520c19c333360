//! The weekly and monthly digest, the pure part: when each is due (`Schedule`,
//! local wall time in the helpdesk's time zone, DST-aware), which period a
//! digest due at a given time covers, what the `digest` template sees, and the
//! settings read from `[digest]`. Sending lives in `outbox::digest`.
//!
//! Invariant: pure — "now" and the time zone are parameters.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde_json::{json, Value};

use super::aggregate::Report;
use super::format::{self, duration};
use super::period::{local_instant, Period, PeriodSpec};
use super::Basis;
use crate::core::ticket::{Lang, ProblemType, Urgency};
use crate::queue::Cadence;

/// Clusters listed in a digest.
const DIGEST_CLUSTERS: usize = 5;

/// The period a digest due at `due` reports: the last full ISO week, or the
/// last full calendar month, before it.
pub fn period_of(cadence: Cadence, due: DateTime<Utc>, tz: Tz) -> Period {
    match cadence {
        Cadence::Weekly => PeriodSpec::Week.resolve(due, tz),
        Cadence::Monthly => PeriodSpec::Month.resolve(due, tz),
    }
}

/// When a digest goes out, in local wall time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// "mon 09:00": every week on that day.
    Weekly { day: Weekday, time: NaiveTime },
    /// "1 09:00": every month on that day; 29–31 mean the last day in shorter months.
    Monthly { day: u32, time: NaiveTime },
}

impl Schedule {
    /// `None` for "off".
    pub fn parse(cadence: Cadence, s: &str) -> Result<Option<Schedule>, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let example = match cadence {
            Cadence::Weekly => "\"mon 09:00\"",
            Cadence::Monthly => "\"1 09:00\" (day of the month 1–31)",
        };
        let bad = || format!("{s:?} is not a schedule: use {example} or \"off\"");
        let (day, time) = s.split_once(char::is_whitespace).ok_or_else(bad)?;
        let time = NaiveTime::parse_from_str(time.trim(), "%H:%M").map_err(|_| bad())?;
        Ok(Some(match cadence {
            Cadence::Weekly => Schedule::Weekly {
                day: day.parse().map_err(|_| bad())?,
                time,
            },
            Cadence::Monthly => {
                let day: u32 = day.parse().map_err(|_| bad())?;
                if !(1..=31).contains(&day) {
                    return Err(bad());
                }
                Schedule::Monthly { day, time }
            }
        }))
    }

    /// The canonical text, stored with the queued timer so a changed schedule is noticed.
    pub fn spec(&self) -> String {
        match self {
            Schedule::Weekly { day, time } => format!(
                "{} {}",
                day.to_string().to_lowercase(),
                time.format("%H:%M")
            ),
            Schedule::Monthly { day, time } => format!("{day} {}", time.format("%H:%M")),
        }
    }

    /// The first time strictly after `now` that this schedule names. A wall
    /// time that a DST change skips fires at the end of the gap; one that
    /// occurs twice fires at its first occurrence.
    pub fn next_after(&self, now: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
        let today = now.with_timezone(&tz).date_naive();
        let candidates: Box<dyn Iterator<Item = (NaiveDate, NaiveTime)>> = match *self {
            Schedule::Weekly { day, time } => Box::new(
                (0..=7)
                    .map(move |n| today + Days::new(n))
                    .filter(move |d| d.weekday() == day)
                    .map(move |d| (d, time)),
            ),
            Schedule::Monthly { day, time } => {
                let first = today.with_day(1).unwrap_or(today);
                Box::new(
                    (0..=12)
                        .filter_map(move |n| first.checked_add_months(Months::new(n)))
                        .map(move |m| (clamp_day(m, day), time)),
                )
            }
        };
        candidates
            .map(|(d, t)| local_instant(tz, d.and_time(t)))
            .find(|at| *at > now)
            // Invariant: within eight days (weekly) or thirteen months (monthly) the time recurs.
            .expect("a schedule recurs within a year")
    }
}

/// `day` of the month of `first`, or its last day when the month is shorter.
fn clamp_day(first: NaiveDate, day: u32) -> NaiveDate {
    (0..4)
        .find_map(|back| first.with_day(day.saturating_sub(back)))
        .unwrap_or(first)
}

/// `[digest]` resolved: the schedules, recipients and what a report needs.
#[derive(Debug, Clone)]
pub struct DigestSettings {
    pub weekly: Option<Schedule>,
    pub monthly: Option<Schedule>,
    pub email: Vec<String>,
    pub chat_channel: Option<String>,
    pub lang: Lang,
    pub basis: Basis,
    /// Domain of the digests' Message-IDs.
    pub message_id_domain: String,
}

impl DigestSettings {
    pub fn schedule(&self, cadence: Cadence) -> Option<Schedule> {
        match cadence {
            Cadence::Weekly => self.weekly,
            Cadence::Monthly => self.monthly,
        }
    }
}

/// How the digest is shown: the full mail, or the few lines for the staff chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Email,
    Chat,
}

/// The `digest` variable of the `digest` template (shape in templates/README.md).
pub fn context(
    r: &Report,
    cadence: Cadence,
    lang: Lang,
    format: Format,
    group_labels: &std::collections::HashMap<String, String>,
) -> Value {
    let rows = |items: Vec<(String, u64)>| {
        items
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(label, count)| json!({ "label": label, "count": count }))
            .collect::<Vec<_>>()
    };
    let by_type = rows(
        ProblemType::ALL
            .iter()
            .map(|t| (t.label(lang).to_string(), *r.by_type.get(*t)))
            .collect(),
    );
    let by_urgency = rows(
        Urgency::ALL
            .iter()
            .map(|u| (u.label(lang).to_string(), *r.by_urgency.get(*u)))
            .collect(),
    );
    let by_group = rows(
        r.by_group
            .iter()
            .map(|g| {
                (
                    group_labels
                        .get(&g.name)
                        .cloned()
                        .unwrap_or_else(|| g.name.clone()),
                    g.count,
                )
            })
            .collect(),
    );
    let recurring = rows(
        r.recurring
            .iter()
            .take(DIGEST_CLUSTERS)
            .map(|c| (c.label.clone(), c.count))
            .collect(),
    );
    let mut digest = json!({
        "period": cadence.key(),
        "format": match format { Format::Email => "email", Format::Chat => "chat" },
        "from": r.period.from.to_string(),
        "to": r.period.to.to_string(),
        "opened": r.totals.opened,
        "resolved": r.totals.resolved,
        "closed": r.totals.closed,
        "open_now": r.totals.open_at_end,
        "breached": r.totals.breached,
        "sla_met": format::percent(r.sla.all.compliance),
        "by_type": by_type,
        "by_urgency": by_urgency,
        "by_group": by_group,
        "recurring": recurring,
    });
    if let Some(median) = r.resolution.all.median_s {
        digest["median_resolution"] = json!(duration(Some(median), lang));
    }
    if let Some(average) = r.csat.average {
        digest["satisfaction"] =
            json!({ "average": format::average(Some(average)), "rated": r.csat.rated });
    }
    digest
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn weekly(s: &str) -> Schedule {
        Schedule::parse(Cadence::Weekly, s).unwrap().unwrap()
    }

    fn monthly(s: &str) -> Schedule {
        Schedule::parse(Cadence::Monthly, s).unwrap().unwrap()
    }

    #[test]
    fn parses_schedules() {
        assert_eq!(weekly("mon 09:00").spec(), "mon 09:00");
        assert_eq!(weekly("Friday  17:30").spec(), "fri 17:30");
        assert_eq!(monthly("1 09:00").spec(), "1 09:00");
        assert_eq!(Schedule::parse(Cadence::Weekly, "off"), Ok(None));
        for bad in ["monday", "mon 9", "mon 25:00", "someday 09:00", ""] {
            assert!(Schedule::parse(Cadence::Weekly, bad).is_err(), "{bad}");
        }
        for bad in ["0 09:00", "32 09:00", "mon 09:00", "1"] {
            assert!(Schedule::parse(Cadence::Monthly, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn next_due_in_a_zone_without_dst() {
        let tz = chrono_tz::Asia::Shanghai;
        // (schedule, now, next) — 2023-10-09 is a Monday; Shanghai is UTC+8.
        let cases = [
            (
                weekly("mon 09:00"),
                "2023-10-09T00:59:59Z",
                "2023-10-09T01:00:00Z",
            ),
            (
                weekly("mon 09:00"),
                "2023-10-09T01:00:00Z",
                "2023-10-16T01:00:00Z",
            ),
            (
                weekly("mon 09:00"),
                "2023-10-11T05:00:00Z",
                "2023-10-16T01:00:00Z",
            ),
            (
                weekly("sun 23:30"),
                "2023-10-15T15:00:00Z",
                "2023-10-15T15:30:00Z",
            ),
            (
                monthly("1 09:00"),
                "2023-10-09T01:00:00Z",
                "2023-11-01T01:00:00Z",
            ),
            (
                monthly("1 09:00"),
                "2023-12-20T00:00:00Z",
                "2024-01-01T01:00:00Z",
            ),
            (
                monthly("31 18:00"),
                "2024-02-10T00:00:00Z",
                "2024-02-29T10:00:00Z",
            ),
            (
                monthly("31 18:00"),
                "2024-02-29T10:00:00Z",
                "2024-03-31T10:00:00Z",
            ),
        ];
        for (schedule, now, next) in cases {
            assert_eq!(
                schedule.next_after(utc(now), tz),
                utc(next),
                "{} after {now}",
                schedule.spec()
            );
        }
    }

    #[test]
    fn next_due_across_dst_changes() {
        let tz = chrono_tz::Europe::Berlin;
        let cases = [
            // Summer time (+2) before the switch on 2023-10-29, winter time (+1) after.
            (
                weekly("mon 09:00"),
                "2023-10-24T12:00:00Z",
                "2023-10-30T08:00:00Z",
            ),
            (
                weekly("mon 09:00"),
                "2023-10-20T12:00:00Z",
                "2023-10-23T07:00:00Z",
            ),
            // 02:30 on 2023-03-26 does not exist: the end of the gap, 03:00 CEST.
            (
                weekly("sun 02:30"),
                "2023-03-25T12:00:00Z",
                "2023-03-26T01:00:00Z",
            ),
            // 02:30 on 2023-10-29 happens twice: the first, still CEST.
            (
                weekly("sun 02:30"),
                "2023-10-28T12:00:00Z",
                "2023-10-29T00:30:00Z",
            ),
            (
                weekly("sun 02:30"),
                "2023-10-29T00:30:00Z",
                "2023-11-05T01:30:00Z",
            ),
            (
                monthly("1 09:00"),
                "2023-03-15T00:00:00Z",
                "2023-04-01T07:00:00Z",
            ),
        ];
        for (schedule, now, next) in cases {
            assert_eq!(
                schedule.next_after(utc(now), tz),
                utc(next),
                "{} after {now}",
                schedule.spec()
            );
        }
    }

    #[test]
    fn a_digest_reports_the_full_period_before_it_is_due() {
        let tz = chrono_tz::Asia::Shanghai;
        let week = period_of(Cadence::Weekly, utc("2023-10-09T01:00:00Z"), tz);
        assert_eq!(
            (week.from.to_string(), week.to.to_string()),
            ("2023-10-02".into(), "2023-10-08".into())
        );
        let month = period_of(Cadence::Monthly, utc("2023-11-01T01:00:00Z"), tz);
        assert_eq!(
            (month.from.to_string(), month.to.to_string()),
            ("2023-10-01".into(), "2023-10-31".into())
        );
    }

    #[test]
    fn the_template_context_follows_the_documented_shape() {
        let report = crate::stats::aggregate::tests::report_fixture();
        let labels = [("network".to_string(), "网络组".to_string())].into();
        let c = context(&report, Cadence::Weekly, Lang::ZhCn, Format::Chat, &labels);
        assert_eq!(c["period"], "weekly");
        assert_eq!(c["format"], "chat");
        assert_eq!(
            (c["from"].as_str(), c["to"].as_str()),
            (Some("2023-10-02"), Some("2023-10-08"))
        );
        assert_eq!(
            (
                c["opened"].as_u64(),
                c["closed"].as_u64(),
                c["open_now"].as_u64(),
                c["breached"].as_u64()
            ),
            (Some(7), Some(1), Some(3), Some(3))
        );
        assert_eq!(c["median_resolution"], "6小时");
        assert_eq!(c["satisfaction"], json!({ "average": "3.2", "rated": 4 }));
        assert_eq!(c["by_type"][0], json!({ "label": "硬件故障", "count": 2 }));
        assert_eq!(c["by_group"][1], json!({ "label": "网络组", "count": 2 }));
        assert_eq!(
            c["recurring"][0],
            json!({ "label": "VPN disconnects", "count": 2 })
        );
    }
}
