//! A large store built fast through the library: each ticket opened through
//! the lifecycle as the engine opens it, then `Store::import`, which writes
//! its statistics record as the engine does (`memory`, `cli`).

use chrono::{Duration as Span, NaiveDate, TimeZone, Utc};
use itdesk::core::id::TicketId;
use itdesk::core::lifecycle::{open, NewTicket};
use itdesk::core::sla::Policy;
use itdesk::core::ticket::{Channel, Lang, ProblemType, Requester, Urgency, Written};
use itdesk::store::Store;

const PROBLEMS: [(&str, &str, ProblemType); 4] = [
    (
        "VPN 经常断线",
        "在家办公，VPN 每小时掉线一次，需要重新登录。",
        ProblemType::Network,
    ),
    (
        "Printer paper jam on 2nd floor",
        "The 2nd floor printer jams on every page since Monday.",
        ProblemType::Hardware,
    ),
    (
        "CRM 登录报错",
        "10:00 登录 CRM 提示“数据库连接超时”，影响客户跟进。",
        ProblemType::Software,
    ),
    (
        "New account for the finance system",
        "Please create an account for our new colleague in finance.",
        ProblemType::Access,
    ),
];

/// `count` tickets over the days up to 2023-10-31, 1000 a day, each opened
/// through the lifecycle as the engine opens it.
pub fn build_store(path: &std::path::Path, count: usize) {
    let store = Store::open(path).expect("open the store");
    let policy = Policy::default();
    let last = NaiveDate::from_ymd_opt(2023, 10, 31).expect("date");
    const PER_DAY: usize = 1000;
    let days = count.div_ceil(PER_DAY) as i64;
    for i in 0..count {
        let day = last - Span::days(days - 1 - (i / PER_DAY) as i64);
        let created = Utc.from_utc_datetime(&day.and_hms_opt(1, 0, 0).expect("time"))
            + Span::seconds((i % PER_DAY) as i64 * 30);
        let (subject, body, problem_type) = PROBLEMS[i % PROBLEMS.len()];
        let new = NewTicket {
            copied: Vec::new(),
            channel: Channel::Email,
            requester: Requester {
                name: Some(format!("user{}", i % 3000)),
                email: Some(format!("user{}@example.com", i % 3000)),
                ..Requester::default()
            },
            subject: subject.into(),
            description: body.into(),
            source_message_id: Some(format!("mem-{i}@example.com")),
            problem_type,
            urgency: [
                Urgency::Low,
                Urgency::Medium,
                Urgency::Medium,
                Urgency::High,
            ][i % 4],
            urgency_lowered: None,
            expected_time: None,
            group: problem_type.key().into(),
            lang: Written::of(subject).lang().unwrap_or(Lang::ZhCn),
            attachments: Vec::new(),
            vague: false,
            warnings: Vec::new(),
            related: None,
        };
        let (ticket, _) = open(
            TicketId::new(day, (i % PER_DAY) as u64 + 1),
            new,
            created,
            &policy,
        );
        store.import(&ticket).expect("import");
    }
    futures::executor::block_on(store.flush()).expect("flush");
}
