//! `cargo bench --bench latency [-- --n 200 --per-second 5 --runs 3 --mode idle|idle-only|poll]`:
//! help requests APPENDed to the helpdesk INBOX at a steady rate while the
//! daemon waits in IDLE with the default burst polling (`idle-only`: without
//! it; `poll`: polls every second, no IDLE) → time from
//! the start of each APPEND until the requester's mail client can read the
//! accepted notice (the client looks for new mail every 10 ms): p50, p99, max.
//! See docs/benchmarks.md.

mod common;

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{median, message_id, quantile, request, Daemon, MailRig, HELPDESK};

const ALICE: &str = "alice@example.test";
/// How long the last notice may take before the bench gives up.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

fn main() {
    let n: usize = common::arg("--n", 200);
    let per_second: f64 = common::arg("--per-second", 5.0);
    let runs: usize = common::arg("--runs", 3);
    let mode: String = common::arg("--mode", "idle".to_string());
    let imap = match mode.as_str() {
        "idle" => "idle = true\npoll_seconds = 3600",
        "idle-only" => "idle = true\npoll_seconds = 3600\nburst_seconds = 0",
        "poll" => "idle = false\npoll_seconds = 1\nburst_seconds = 0",
        other => panic!("--mode idle|idle-only|poll, not {other}"),
    };
    println!("latency bench: {n} requests at {per_second}/s, {runs} runs, IMAP {mode}");
    println!("machine: {}", common::machine());
    let mut summaries = Vec::new();
    for run in 0..runs {
        let ms = one_run(n, per_second, imap, run);
        let s = [
            quantile(&ms, 0.5),
            quantile(&ms, 0.99),
            quantile(&ms, 1.0),
            quantile(&ms, 0.0),
        ];
        println!(
            "run {}: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms, min {:.0} ms | load {}",
            run + 1,
            s[0],
            s[1],
            s[2],
            s[3],
            common::load()
        );
        summaries.push(s);
    }
    let med = |i: usize| median(&summaries.iter().map(|s| s[i]).collect::<Vec<_>>());
    println!(
        "\nmedians of {runs} runs: APPEND → accepted notice readable in the requester's INBOX"
    );
    println!("| p50 | p99 | max | min |");
    println!("|---|---|---|---|");
    println!(
        "| {:.0} ms | {:.0} ms | {:.0} ms | {:.0} ms |",
        med(0),
        med(1),
        med(2),
        med(3)
    );
}

/// Latencies of one run, in milliseconds.
fn one_run(n: usize, per_second: f64, imap: &str, run: usize) -> Vec<f64> {
    let rig = MailRig::start();
    let dir = tempfile::Builder::new()
        .prefix("itdesk-bench")
        .tempdir()
        .expect("temp dir");
    let toml = rig.config(&format!(
        "[outbox]\nmax_notices_per_recipient_per_hour = 100000\n[imap]\n{imap}\n"
    ));
    let daemon = Daemon::start(dir.path(), &toml);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tag = format!("lat{run}");
    let probe = rt.block_on(idle_probe(&rig, 10));
    println!("run {}: Dovecot's IDLE delay (APPEND → EXISTS pushed to an IDLE session): median {:.0} ms, min {:.0}, max {:.0}", run + 1, median(&probe), quantile(&probe, 0.0), quantile(&probe, 1.0));

    // The requester's client: polls alice's INBOX and reports each notice's
    // In-Reply-To with the moment it was first readable.
    let (seen_tx, seen_rx) = mpsc::channel::<(String, Instant)>();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let rig_ref = &rig;
    std::thread::scope(|scope| {
        scope.spawn(move || watch(rig_ref, seen_tx, stop_rx));

        // One warm-up request: the session is up and waiting when the clock starts.
        let mut appender = rt.block_on(rig.login(HELPDESK));
        rt.block_on(appender.append("INBOX", None, None, request(0, &format!("{tag}w"))))
            .expect("APPEND");
        let (warm, _) = seen_rx
            .recv_timeout(DRAIN_TIMEOUT)
            .expect("the warm-up notice");
        assert_eq!(warm, message_id(0, &format!("{tag}w")));

        let interval = Duration::from_secs_f64(1.0 / per_second);
        let start = Instant::now();
        let mut sent = HashMap::new();
        for i in 0..n {
            let due = start + interval * i as u32;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            // Even requests only: alice's, so the one watched mailbox gets every notice.
            let raw = request(2 * i, &tag);
            sent.insert(message_id(2 * i, &tag), Instant::now());
            rt.block_on(appender.append("INBOX", None, None, raw))
                .expect("APPEND");
        }
        let mut latencies = Vec::with_capacity(n);
        while latencies.len() < n {
            let (mid, at) = seen_rx
                .recv_timeout(DRAIN_TIMEOUT)
                .unwrap_or_else(|_| panic!("only {} of {n} notices arrived", latencies.len()));
            if let Some(appended) = sent.remove(&mid) {
                latencies.push(at.duration_since(appended).as_secs_f64() * 1000.0);
            }
        }
        let _ = stop_tx.send(());
        let _ = rt.block_on(appender.logout());
        daemon.stop();
        latencies
    })
}

/// Looks for new mail in alice's INBOX every 10 ms until told to stop.
fn watch(rig: &MailRig, seen: mpsc::Sender<(String, Instant)>, stop: mpsc::Receiver<()>) {
    common::watch_headers(rig, ALICE, stop, |header, now| {
        let header = String::from_utf8_lossy(header);
        let in_reply_to = header.lines().find_map(|l| l.strip_prefix("In-Reply-To:"));
        if let Some(mid) = in_reply_to
            .and_then(|v| v.split('<').nth(1))
            .and_then(|v| v.split('>').next())
        {
            let _ = seen.send((mid.to_string(), now));
        }
    });
}

/// Milliseconds from an APPEND to the EXISTS an IDLE session on the same
/// mailbox is sent, `k` times: what the server adds before any client can react.
async fn idle_probe(rig: &MailRig, k: usize) -> Vec<f64> {
    let mut watcher = rig.login(ALICE).await;
    let _ = watcher.create("Probe").await; // exists already: harmless
    watcher.select("Probe").await.expect("SELECT");
    let mut appender = rig.login(ALICE).await;
    let mut delays = Vec::with_capacity(k);
    for i in 0..k {
        let mut idle = watcher.idle();
        idle.init().await.expect("IDLE");
        let (wait, _stop) = idle.wait_with_timeout(Duration::from_secs(10));
        let appended = Instant::now();
        let raw = format!("From: <{ALICE}>\r\nSubject: probe {i}\r\nMessage-ID: <probe-{i}@example.test>\r\n\r\nprobe\r\n");
        let (notified, appended_ok) = tokio::join!(
            async {
                let r = wait.await;
                (r, Instant::now())
            },
            appender.append("Probe", None, None, raw.as_bytes())
        );
        appended_ok.expect("APPEND");
        let (response, at) = notified;
        assert!(
            matches!(
                response,
                Ok(async_imap::extensions::idle::IdleResponse::NewData(_))
            ),
            "no EXISTS within 10 s: {response:?}"
        );
        delays.push(at.duration_since(appended).as_secs_f64() * 1000.0);
        watcher = idle.done().await.expect("DONE");
    }
    let _ = appender.logout().await;
    let _ = watcher.logout().await;
    delays
}
