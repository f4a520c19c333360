//! `cargo bench --bench memory [-- --tickets 100000 --runs 3 --idle-seconds 10]`:
//! resident memory of the idle daemon over a store of 100k tickets. The store
//! is built fast through the library (`core::lifecycle::open` then
//! `Store::import`, which writes the statistics record as the engine does);
//! the daemon then starts on it, connected to a real rig (IMAP IDLE, SMTP
//! pool), and its VmRSS is read after it has idled. See docs/benchmarks.md.

mod common;

use std::time::{Duration, Instant};

use chrono::{Duration as Span, NaiveDate, TimeZone, Utc};
use common::{median, Daemon, MailRig};
use itdesk::core::id::TicketId;
use itdesk::core::lifecycle::{open, NewTicket};
use itdesk::core::sla::Policy;
use itdesk::core::ticket::{Channel, Lang, ProblemType, Requester, Urgency};
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

fn main() {
    let tickets: usize = common::arg("--tickets", 100_000);
    let runs: usize = common::arg("--runs", 3);
    let idle = Duration::from_secs(common::arg("--idle-seconds", 10));
    println!("memory bench: {tickets} tickets, {runs} daemon starts, RSS after {idle:?} idle");
    println!("machine: {}", common::machine());
    let dir = tempfile::Builder::new()
        .prefix("itdesk-bench")
        .tempdir()
        .expect("temp dir");
    let start = Instant::now();
    build_store(&dir.path().join("state"), tickets);
    println!(
        "store of {tickets} tickets built in {:.1} s, {:.0} MB on disk",
        start.elapsed().as_secs_f64(),
        du(&dir.path().join("state")) as f64 / 1e6
    );

    let rig = MailRig::start();
    let toml = rig.config("[imap]\nidle = true\n");
    let mut idle_rss = Vec::new();
    let mut peak = Vec::new();
    for run in 0..runs {
        let t = Instant::now();
        let daemon = Daemon::start(dir.path(), &toml);
        let up = t.elapsed();
        daemon.wait_for("the IMAP session", Duration::from_secs(60), || {
            daemon.log_text().matches("IMAP logged in").count() > run
        });
        // Idling means: logged in, nothing to do, waiting in IDLE.
        std::thread::sleep(idle);
        let rss = daemon.rss_kib() as f64 / 1024.0;
        let hwm = daemon.peak_rss_kib() as f64 / 1024.0;
        println!("run {}: control socket up after {:.2} s; idle RSS {rss:.1} MiB, peak so far {hwm:.1} MiB | load {}", run + 1, up.as_secs_f64(), common::load());
        idle_rss.push(rss);
        peak.push(hwm);
        daemon.stop();
    }
    println!("\nmedians of {runs} starts over {tickets} tickets:");
    println!("| idle RSS (VmRSS) | peak RSS since start (VmHWM) |");
    println!("|---|---|");
    println!(
        "| {:.1} MiB | {:.1} MiB |",
        median(&idle_rss),
        median(&peak)
    );
}

/// `count` tickets over the days up to 2023-10-31, 1000 a day, each opened
/// through the lifecycle as the engine opens it.
fn build_store(path: &std::path::Path, count: usize) {
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
            expected_time: None,
            group: problem_type.key().into(),
            lang: Lang::detect(subject),
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

/// Bytes under `path`.
fn du(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => du(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
