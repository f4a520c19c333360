//! A small week of tickets whose every figure is worked out by hand.

use chrono::{NaiveDate, TimeZone};

use super::*;
use crate::stats::period::Period;
use crate::stats::record::StatsRecord;

const H: i64 = 3600;

/// Local time in Asia/Shanghai: days 1–10 are October 2023, later days September.
fn at(day: u32, hour: u32, minute: u32) -> i64 {
    let month = if day > 10 { 9 } else { 10 };
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2023, month, day, hour, minute, 0)
        .unwrap()
        .timestamp()
}

struct R {
    record: StatsRecord,
    day: u32,
    serial: u64,
}

#[allow(clippy::too_many_arguments)]
fn r(
    day: u32,
    serial: u64,
    t: ProblemType,
    u: Urgency,
    group: &str,
    created: i64,
    ack: Option<i64>,
    resolved: Option<i64>,
    eta: i64,
) -> R {
    let month = if day > 10 { 9 } else { 10 };
    R {
        record: StatsRecord {
            erased: false,
            problem_type: t,
            urgency: u,
            channel: Channel::Email,
            open: resolved.is_none(),
            escalated: false,
            stars: None,
            reopen_count: 0,
            created,
            acknowledged: ack,
            resolved,
            closed: None,
            eta,
            group: group.into(),
            assignee: None,
            keywords: Vec::new(),
        },
        day: 20_230_000 + month * 100 + day,
        serial,
    }
}

impl R {
    fn stars(mut self, s: u8) -> R {
        self.record.stars = Some(s);
        self
    }
    fn by(mut self, who: &str) -> R {
        self.record.assignee = Some(who.into());
        self
    }
    fn words(mut self, w: &[&str]) -> R {
        self.record.keywords = w.iter().map(|s| s.to_string()).collect();
        self
    }
}

fn week() -> Vec<R> {
    use ProblemType::*;
    use Urgency::*;
    let mut closed_by_staff = r(
        7,
        1,
        Other,
        Medium,
        "service-desk",
        at(7, 9, 0),
        None,
        None,
        at(8, 9, 0),
    );
    closed_by_staff.record.closed = Some(at(7, 10, 0));
    closed_by_staff.record.open = false;
    let mut reopened = r(
        3,
        1,
        Hardware,
        Medium,
        "hardware",
        at(3, 9, 0),
        Some(at(3, 9, 20)),
        Some(at(3, 15, 0)),
        at(4, 9, 0),
    )
    .by("li.si")
    .words(&["printer", "jam"]);
    reopened.record.reopen_count = 1;
    let mut chat = r(
        5,
        1,
        Access,
        Low,
        "access",
        at(5, 9, 0),
        None,
        None,
        at(10, 9, 0),
    )
    .words(&["create", "erp", "account"]);
    chat.record.channel = Channel::Chat;
    vec![
        // Before the period: resolved in it (late), and one still open.
        r(
            29,
            1,
            Network,
            Urgent,
            "network",
            at(29, 9, 0),
            Some(at(29, 9, 5)),
            Some(at(2, 9, 0)),
            at(29, 13, 0),
        )
        .stars(1)
        .by("wang.wu"),
        r(
            20,
            1,
            Other,
            Medium,
            "service-desk",
            at(20, 9, 0),
            None,
            None,
            at(21, 9, 0),
        ),
        // The period, Monday 2 to Sunday 8 October.
        r(
            2,
            1,
            Network,
            Urgent,
            "network",
            at(2, 9, 0),
            Some(at(2, 9, 10)),
            Some(at(2, 11, 0)),
            at(2, 13, 0),
        )
        .stars(5)
        .by("li.si")
        .words(&["vpn", "disconnect"]),
        r(
            2,
            2,
            Software,
            High,
            "software",
            at(2, 10, 0),
            Some(at(2, 10, 30)),
            Some(at(2, 20, 0)),
            at(2, 18, 0),
        )
        .stars(3)
        .by("wang.wu")
        .words(&["crm", "login"]),
        reopened,
        r(
            4,
            1,
            Hardware,
            Medium,
            "hardware",
            at(4, 9, 0),
            Some(at(4, 10, 0)),
            Some(at(4, 13, 0)),
            at(5, 9, 0),
        )
        .stars(4)
        .by("li.si")
        .words(&["printer", "jam"]),
        chat,
        r(
            6,
            1,
            Network,
            High,
            "network",
            at(6, 9, 0),
            Some(at(6, 9, 5)),
            None,
            at(6, 17, 0),
        )
        .by("li.si")
        .words(&["vpn", "disconnect"]),
        closed_by_staff,
        // After the period: ignored.
        r(
            9,
            1,
            Network,
            Urgent,
            "network",
            at(9, 10, 0),
            None,
            None,
            at(9, 14, 0),
        ),
    ]
}

fn query(group: Option<&str>) -> Query {
    let d = |day| NaiveDate::from_ymd_opt(2023, 10, day).unwrap();
    Query {
        period: Period::new(d(2), d(8), chrono_tz::Asia::Shanghai),
        group: group.map(String::from),
        targets: PerUrgency {
            urgent: "4h".into(),
            high: "8h".into(),
            medium: "1d".into(),
            low: "3wd".into(),
        },
        timezone: "Asia/Shanghai".into(),
        lang: Lang::En,
        top_clusters: 10,
    }
}

fn run(records: &[R], q: Query) -> Report {
    let bytes: Vec<(u32, u64, Vec<u8>)> = records
        .iter()
        .map(|r| (r.day, r.serial, r.record.encode()))
        .collect();
    let mut agg = Aggregator::new(q);
    for (day, serial, b) in &bytes {
        agg.add(&Rec::decode(*day, *serial, b).unwrap());
    }
    agg.finish()
}

/// The report of `week()`, for other modules' tests.
pub fn report_fixture() -> Report {
    run(&week(), query(None))
}

/// name, handled, resolved, median resolution, CSAT, rated.
type TechRow<'a> = (&'a str, u64, u64, Option<f64>, Option<f64>, u64);

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[test]
fn counts_volume_by_type_urgency_channel_and_group() {
    let rep = report_fixture();
    assert_eq!(
        rep.totals,
        Totals {
            opened: 7,
            resolved: 5,
            closed: 1,
            open_at_end: 3,
            breached: 3
        }
    );
    assert_eq!(
        rep.by_type,
        PerType {
            hardware: 2,
            software: 1,
            network: 2,
            access: 1,
            other: 1
        }
    );
    assert_eq!(
        rep.by_urgency,
        PerUrgency {
            urgent: 1,
            high: 2,
            medium: 3,
            low: 1
        }
    );
    assert_eq!(
        rep.by_channel,
        PerChannel {
            email: 6,
            chat: 1,
            desk: 0
        }
    );
    let groups: Vec<(&str, u64)> = rep
        .by_group
        .iter()
        .map(|g| (g.name.as_str(), g.count))
        .collect();
    assert_eq!(
        groups,
        [
            ("hardware", 2),
            ("network", 2),
            ("access", 1),
            ("service-desk", 1),
            ("software", 1)
        ]
    );
}

#[test]
fn medians_p90_and_means_of_response_and_resolution() {
    let rep = report_fixture();
    // (durations, count, mean, median, p90) in seconds
    let cases = [
        (&rep.first_response.all, 5, 1500.0, 1200.0, 3600.0),
        (
            &rep.first_response.by_urgency.high,
            2,
            1050.0,
            1050.0,
            1800.0,
        ),
        (
            &rep.first_response.by_urgency.medium,
            2,
            2400.0,
            2400.0,
            3600.0,
        ),
        (&rep.resolution.all, 5, 67680.0, 21600.0, 259200.0),
        (
            &rep.resolution.by_urgency.urgent,
            2,
            133200.0,
            133200.0,
            259200.0,
        ),
        (
            &rep.resolution.by_urgency.high,
            1,
            36000.0,
            36000.0,
            36000.0,
        ),
        (
            &rep.resolution.by_urgency.medium,
            2,
            18000.0,
            18000.0,
            21600.0,
        ),
    ];
    for (i, (d, count, mean, median, p90)) in cases.into_iter().enumerate() {
        assert_eq!(d.count, count, "case {i}");
        assert!(
            close(d.mean_s, mean) && close(d.median_s, median) && close(d.p90_s, p90),
            "case {i}: {d:?}"
        );
    }
    assert_eq!(
        rep.resolution.by_urgency.low,
        Durations::default(),
        "no data is None, not 0"
    );
}

#[test]
fn sla_compliance_counts_late_resolutions_and_overdue_open_tickets() {
    let rep = report_fixture();
    let s = &rep.sla.by_urgency;
    assert_eq!(
        (s.urgent.met, s.urgent.breached, s.urgent.compliance),
        (1, 1, Some(0.5))
    );
    assert_eq!(
        (s.high.met, s.high.breached, s.high.compliance),
        (0, 2, Some(0.0)),
        "late + open past its ETA"
    );
    assert_eq!(
        (s.medium.met, s.medium.breached, s.medium.compliance),
        (2, 0, Some(1.0))
    );
    assert_eq!(
        (s.low.met, s.low.breached, s.low.compliance),
        (0, 0, None),
        "open, ETA after the period"
    );
    assert_eq!(
        (
            rep.sla.all.met,
            rep.sla.all.breached,
            rep.sla.all.compliance
        ),
        (3, 3, Some(0.5))
    );
    assert_eq!(s.low.target.as_deref(), Some("3wd"));
    // Resolution time as a share of the allowed time: urgent 2 h of 4 h and 72 h of 4 h.
    assert!(close(s.urgent.median_of_target, 9.25) && close(s.urgent.p90_of_target, 18.0));
    assert!(close(s.medium.median_of_target, (0.25 + 4.0 / 24.0) / 2.0));
    assert!(close(s.high.p90_of_target, 1.25));
}

#[test]
fn satisfaction_reopen_backlog_and_technicians() {
    let rep = report_fixture();
    assert_eq!(rep.csat.distribution, [1, 0, 1, 1, 1]);
    assert_eq!((rep.csat.rated, rep.csat.resolved), (4, 5));
    assert!(close(rep.csat.average, 3.25) && close(rep.csat.response_rate, 0.8));
    assert_eq!(
        (rep.reopen.reopened, rep.reopen.resolved, rep.reopen.rate),
        (1, 5, Some(0.2))
    );

    assert_eq!(rep.backlog.open, 3);
    let ages: Vec<u64> = rep.backlog.by_age.iter().map(|b| b.count).collect();
    assert_eq!(
        ages,
        [0, 1, 1, 1, 0],
        "2 d 15 h, 3 d 15 h, 18 d 15 h at the period's end"
    );
    assert_eq!(
        rep.backlog.by_urgency,
        PerUrgency {
            urgent: 0,
            high: 1,
            medium: 1,
            low: 1
        }
    );

    let techs: Vec<TechRow> = rep
        .technicians
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                t.handled,
                t.resolved,
                t.median_resolution_s,
                t.csat_average,
                t.rated,
            )
        })
        .collect();
    assert_eq!(
        techs,
        [
            ("li.si", 4, 3, Some(4.0 * H as f64), Some(4.5), 2),
            ("wang.wu", 2, 2, Some(147600.0), Some(2.0), 2)
        ]
    );
}

#[test]
fn recurring_problems_come_from_the_period_s_new_tickets() {
    let rep = report_fixture();
    let got: Vec<(&str, u64, Vec<&str>)> = rep
        .recurring
        .iter()
        .map(|c| {
            (
                c.label.as_str(),
                c.count,
                c.examples.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("VPN disconnects", 2, vec!["IT20231002001", "IT20231006001"]),
            (
                "Printer paper jam",
                2,
                vec!["IT20231003001", "IT20231004001"]
            )
        ]
    );
}

#[test]
fn a_group_filter_keeps_only_that_group() {
    let rep = run(&week(), query(Some("network")));
    assert_eq!(
        rep.totals,
        Totals {
            opened: 2,
            resolved: 2,
            closed: 0,
            open_at_end: 1,
            breached: 2
        }
    );
    assert_eq!(rep.by_type.network, 2);
    assert_eq!(rep.by_type.hardware, 0);
    assert_eq!(rep.period.group.as_deref(), Some("network"));
    let empty = run(&week(), query(Some("nobody")));
    assert_eq!(empty.totals, Totals::default());
    assert_eq!(empty.csat.average, None);
    assert!(empty.recurring.is_empty() && empty.technicians.is_empty());
}

#[test]
fn the_json_shape_is_stable() {
    let json = serde_json::to_value(report_fixture()).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "period",
        "totals",
        "by_type",
        "by_urgency",
        "by_channel",
        "by_group",
        "first_response",
        "resolution",
        "sla",
        "csat",
        "reopen",
        "backlog",
        "technicians",
        "recurring",
    ];
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(json["by_type"]["hardware"], 2);
    assert_eq!(
        json["resolution"]["by_urgency"]["urgent"]["median_s"],
        133200.0
    );
    assert_eq!(json["sla"]["by_urgency"]["high"]["compliance"], 0.0);
    assert_eq!(
        json["csat"]["distribution"],
        serde_json::json!([1, 0, 1, 1, 1])
    );
    assert_eq!(
        json["backlog"]["by_age"][3],
        serde_json::json!({ "name": "7-30d", "count": 1 })
    );
    assert_eq!(json["period"]["from"], "2023-10-02");
    let back: Report = serde_json::from_value(json).unwrap();
    assert_eq!(back, report_fixture());
}

/// A week asked for on its Wednesday: the ticket due on Friday is not missed
/// yet, the one due on Tuesday is; rates with nothing to divide by are `None`.
#[test]
fn a_period_running_into_the_future_is_counted_up_to_now() {
    use Urgency::*;
    let due_tuesday = r(
        2,
        1,
        ProblemType::Other,
        Medium,
        "desk",
        at(2, 9, 0),
        None,
        None,
        at(3, 9, 0),
    );
    let due_friday = r(
        4,
        1,
        ProblemType::Other,
        Medium,
        "desk",
        at(4, 9, 0),
        None,
        None,
        at(6, 9, 0),
    );
    let wednesday_noon = chrono::DateTime::from_timestamp(at(4, 12, 0), 0).unwrap();
    let mut q = query(None);
    q.period = q.period.clipped_at(wednesday_noon);
    let report = run(&[due_tuesday, due_friday], q.clone());
    assert_eq!(report.totals.breached, 1, "only the ETA already passed");
    assert_eq!(report.totals.open_at_end, 2);
    assert_eq!(report.period.until, Some(wednesday_noon));
    assert_eq!(report.sla.all.compliance, Some(0.0));
    assert_eq!(report.csat.response_rate, None, "nothing resolved: no rate");
    assert_eq!(report.reopen.rate, None);
    assert_eq!(
        crate::stats::format::percent(report.csat.response_rate),
        "—"
    );

    // The whole week, as asked after it ended: both missed, nothing clipped.
    q.period = query(None)
        .period
        .clipped_at(wednesday_noon + chrono::Duration::days(30));
    let done = run(
        &[
            r(
                2,
                1,
                ProblemType::Other,
                Medium,
                "desk",
                at(2, 9, 0),
                None,
                None,
                at(3, 9, 0),
            ),
            r(
                4,
                1,
                ProblemType::Other,
                Medium,
                "desk",
                at(4, 9, 0),
                None,
                None,
                at(6, 9, 0),
            ),
        ],
        q,
    );
    assert_eq!(done.totals.breached, 2);
    assert_eq!(done.period.until, None);
}
