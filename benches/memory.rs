//! `cargo bench --bench memory [-- --tickets 100000 --runs 3 --idle-seconds 10]`:
//! resident memory of the idle daemon over a store of 100k tickets. The store
//! is built fast through the library (`core::lifecycle::open` then
//! `Store::import`, which writes the statistics record as the engine does);
//! the daemon then starts on it, connected to a real rig (IMAP IDLE, SMTP
//! pool), and its VmRSS is read after it has idled; then, in the same run, one
//! Chinese and one English help request are appended to the helpdesk INBOX,
//! and once both are tickets (no UNSEEN left) and the daemon has idled again,
//! VmRSS/VmHWM are read a second time: the first ticket loads the jieba
//! dictionary for the keywords of its statistics record. See docs/benchmarks.md.

mod common;

use std::time::{Duration, Instant};

use chrono::{Duration as Span, NaiveDate, TimeZone, Utc};
use common::{median, Daemon, MailRig, HELPDESK};
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
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (mut idle_rss, mut peak) = (Vec::new(), Vec::new());
    let (mut mail_rss, mut mail_peak) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let t = Instant::now();
        let daemon = Daemon::start(dir.path(), &toml);
        let up = t.elapsed();
        daemon.wait_for("the IMAP session", Duration::from_secs(60), || {
            daemon.log_text().matches("IMAP logged in").count() > run
        });
        // Idling means: logged in, nothing to do, waiting in IDLE.
        let m = after_idling(
            &daemon,
            idle,
            &format!(
                "run {}: control socket up after {:.2} s",
                run + 1,
                up.as_secs_f64()
            ),
        );
        idle_rss.push(m.rss);
        peak.push(m.peak);

        // The first mails since start: one Chinese, one English request.
        let tag = format!("mem{run}");
        rig.append_all(
            HELPDESK,
            "INBOX",
            &[chinese_request(&tag), common::request(0, &tag)],
        );
        let t = Instant::now();
        rt.block_on(async {
            let mut watch = rig.login(HELPDESK).await;
            loop {
                let unseen = watch
                    .status("INBOX", "(UNSEEN)")
                    .await
                    .expect("STATUS")
                    .unseen
                    .unwrap_or(u32::MAX);
                if unseen == 0 {
                    break;
                }
                daemon.assert_alive("the first mails");
                assert!(
                    t.elapsed() < Duration::from_secs(60),
                    "the first mails were not processed within 60 s"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = watch.logout().await;
        });
        let m = after_idling(
            &daemon,
            idle,
            &format!(
                "run {}: 2 mails tickets after {:.2} s",
                run + 1,
                t.elapsed().as_secs_f64()
            ),
        );
        mail_rss.push(m.rss);
        mail_peak.push(m.peak);
        daemon.stop();
    }
    let each = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.1}"))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    println!("\n{runs} starts over {tickets} tickets (median; each start):");
    println!("| idle, {tickets} tickets | RSS (VmRSS) | peak since start (VmHWM) |");
    println!("|---|---|---|");
    println!(
        "| before any mail | **{:.1} MiB** ({} MiB) | {:.1} MiB ({} MiB) |",
        median(&idle_rss),
        each(&idle_rss),
        median(&peak),
        each(&peak)
    );
    println!(
        "| after the first mails (1 Chinese, 1 English) | **{:.1} MiB** ({} MiB) | {:.1} MiB ({} MiB) |",
        median(&mail_rss),
        each(&mail_rss),
        median(&mail_peak),
        each(&mail_peak)
    );
}

/// The daemon's resident set after it has idled for `idle`, printed after
/// `what` with what it is made of (heap and stacks, mapped files).
fn after_idling(daemon: &Daemon, idle: Duration, what: &str) -> common::Resident {
    std::thread::sleep(idle);
    let m = daemon.resident();
    println!(
        "{what}; idle RSS {:.1} MiB (anonymous {:.1} MiB, files {:.1} MiB), peak so far {:.1} MiB | load {}",
        m.rss,
        m.anon,
        m.file,
        m.peak,
        common::load()
    );
    m
}

/// A Chinese help request, from alice (as `common::request`, not bob, whose
/// vacation autoresponder would answer the notice).
fn chinese_request(tag: &str) -> Vec<u8> {
    format!(
        "From: Alice Wang <alice@example.test>\r\nTo: IT Helpdesk <{HELPDESK}>\r\n\
         Subject: =?UTF-8?B?{}?=\r\nDate: Mon, 2 Oct 2023 10:05:00 +0800\r\n\
         Message-ID: <{}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         你好，\r\n\r\n在家办公时 VPN 每小时掉线一次，每次都要重新登录，\r\n\
         视频会议也会中断。已经重启过电脑和路由器，问题依旧。\r\n\r\n谢谢，\r\n王丽\r\n",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "VPN 经常断线，需要重新登录"
        ),
        common::message_id(1000, &format!("{tag}-zh"))
    )
    .into_bytes()
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
