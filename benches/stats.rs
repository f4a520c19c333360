//! `cargo bench --bench stats [-- --tickets N --runs R --keep DIR]`: builds a
//! store of N (default 1,000,000) tickets' statistics records spread over two
//! years, written directly through the store API in batches, then — in a
//! fresh process, so its peak RSS is the query's own — times the report for
//! one month (October 2023) R times and prints the median, the spread and the
//! peak RSS. The store lives in a temp dir that is removed afterwards (unless
//! `--keep DIR`); it takes about 0.4 GB for a million tickets.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use itdesk::core::id::TicketId;
use itdesk::core::ticket::{Channel, Lang, ProblemType, Urgency};
use itdesk::stats::aggregate::PerUrgency;
use itdesk::stats::keywords::extract;
use itdesk::stats::period::Period;
use itdesk::stats::record::StatsRecord;
use itdesk::stats::Basis;
use itdesk::store::Store;

const BATCH: usize = 10_000;
const SUBJECTS: &[&str] = &[
    "VPN disconnects every hour",
    "VPN断线",
    "打印机卡纸",
    "Printer paper jam",
    "CRM 登录报错",
    "Cannot log in to CRM",
    "Outlook 无法发送邮件",
    "电脑开不了机",
    "wifi连不上",
    "申请开通ERP系统账号",
    "显示器黑屏",
    "网速很慢",
    "共享盘打不开",
    "Password reset",
    "邮箱已满",
    "Excel crashes when opening large files",
    "Teams meeting has no sound",
    "键盘失灵",
    "新员工电脑安装软件",
    "SAP 报错 数据同步失败",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let runs: usize = value("--runs").and_then(|v| v.parse().ok()).unwrap_or(7);
    if let Some(dir) = value("--query") {
        query(Path::new(&dir), runs);
        return;
    }
    let tickets: usize = value("--tickets")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let keep = value("--keep").map(PathBuf::from);
    let temp = tempfile::Builder::new()
        .prefix("itdesk-stats-bench")
        .tempdir()
        .expect("temp dir");
    let dir = keep.clone().unwrap_or_else(|| temp.path().join("store"));

    println!("machine: {}", machine());
    let started = Instant::now();
    build(&dir, tickets);
    println!(
        "built {tickets} records in {:.1} s; store on disk {:.0} MB",
        started.elapsed().as_secs_f64(),
        du(&dir) as f64 / 1e6
    );

    let status = Command::new(std::env::current_exe().expect("own path"))
        .args([
            "--query",
            &dir.display().to_string(),
            "--runs",
            &runs.to_string(),
        ])
        .status()
        .expect("query process");
    assert!(status.success(), "query process failed");
    if keep.is_none() {
        drop(temp);
    }
}

/// A small deterministic generator (64-bit LCG), so every run builds the same store.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn build(dir: &Path, tickets: usize) {
    let store = Store::open(dir).expect("open store");
    let keywords: Vec<Vec<String>> = SUBJECTS.iter().map(|s| extract(s, "")).collect();
    let groups = ["hardware", "software", "network", "access", "service-desk"];
    let techs: Vec<String> = (0..40).map(|i| format!("tech{i:02}")).collect();
    let first = NaiveDate::from_ymd_opt(2022, 1, 1).unwrap();
    let days = 730u64;
    let per_day = (tickets as u64).div_ceil(days);
    let mut rng = Rng(42);
    let mut batch = Vec::with_capacity(BATCH);
    for n in 0..tickets as u64 {
        let date = first + chrono::Days::new(n / per_day);
        let serial = n % per_day + 1;
        let day_start = Utc
            .from_utc_datetime(&date.and_hms_opt(1, 0, 0).unwrap())
            .timestamp();
        let created = day_start + rng.below(9 * 3600) as i64;
        let urgency = Urgency::ALL[[0, 1, 1, 2, 2, 2, 2, 3, 3, 3][rng.below(10) as usize]];
        let allowed = match urgency {
            Urgency::Urgent => 4 * 3600,
            Urgency::High => 8 * 3600,
            Urgency::Medium => 24 * 3600,
            Urgency::Low => 72 * 3600,
        };
        let took = (allowed as f64 * (0.1 + rng.below(1000) as f64 / 700.0)) as i64;
        let open = rng.below(100) < 2 || date >= NaiveDate::from_ymd_opt(2023, 12, 28).unwrap();
        let t = rng.below(5) as usize;
        batch.push((
            TicketId::new(date, serial),
            StatsRecord {
                erased: false,
                problem_type: ProblemType::ALL[t],
                urgency,
                channel: Channel::ALL[rng.below(3) as usize],
                open,
                escalated: rng.below(50) == 0,
                stars: (!open && rng.below(10) < 4)
                    .then(|| [5, 5, 5, 4, 4, 3, 2, 1][rng.below(8) as usize]),
                reopen_count: u32::from(rng.below(30) == 0),
                created,
                acknowledged: Some(created + 300 + rng.below(7200) as i64),
                resolved: (!open).then_some(created + took),
                closed: (!open).then_some(created + took + 86_400),
                eta: created + allowed,
                group: groups[t].to_string(),
                assignee: Some(techs[rng.below(40) as usize].clone()),
                keywords: keywords[rng.below(keywords.len() as u64) as usize].clone(),
            },
        ));
        if batch.len() == BATCH {
            store.load_stats(&batch).expect("load");
            batch.clear();
        }
    }
    store.load_stats(&batch).expect("load");
    futures::executor::block_on(store.flush()).expect("flush");
}

fn query(dir: &Path, runs: usize) {
    let opened = Instant::now();
    let store = Store::open(dir).expect("open store");
    let open_time = opened.elapsed();
    let basis = Basis {
        targets: PerUrgency {
            urgent: "4h".into(),
            high: "8h".into(),
            medium: "24h".into(),
            low: "3wd".into(),
        },
        timezone: "UTC".into(),
        tz: chrono_tz::UTC,
    };
    let october = Period::new(
        NaiveDate::from_ymd_opt(2023, 10, 1).unwrap(),
        NaiveDate::from_ymd_opt(2023, 10, 31).unwrap(),
        chrono_tz::UTC,
    );
    let mut times: Vec<Duration> = Vec::new();
    let mut opened_in_month = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let report = store
            .report(basis.query(october, None, Lang::En))
            .expect("report");
        times.push(t.elapsed());
        opened_in_month = report.totals.opened;
        assert!(!report.recurring.is_empty());
    }
    let first = times[0];
    times.sort();
    let median = times[times.len() / 2];
    println!("store opened in {:.2} s", open_time.as_secs_f64());
    println!("month report (October 2023, {opened_in_month} tickets created in it, 90-day lookback): {runs} runs");
    println!(
        "  first {:.3} s, median {:.3} s, min {:.3} s, max {:.3} s",
        first.as_secs_f64(),
        median.as_secs_f64(),
        times[0].as_secs_f64(),
        times[times.len() - 1].as_secs_f64()
    );
    println!(
        "  peak RSS of the query process: {} MB",
        peak_rss_kb() / 1024
    );
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or_else(
            || "?".into(),
            |kb| format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0),
        );
    format!(
        "{cpu}, {} cores, {mem} RAM",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
}

fn du(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => du(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}
