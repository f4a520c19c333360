//! `cargo bench --bench cli [-- --tickets 100000 --runs 5]`: the CLI over a
//! large store (issue 15). Wall time of `itdesk tickets list --limit 50`, and
//! wall time and peak RSS of `itdesk export` of every ticket — each as a child
//! process, its VmHWM read from /proc until it exits — first with the daemon
//! stopped (the CLI opens the store itself), then through the running daemon
//! (pages over the control socket). The store is built through the library
//! (`common::store`). Figures: docs/benchmarks.md, "The CLI".

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::store::build_store;
use common::{arg, machine, median, proc_status, status_kib, Daemon};

/// One CLI run: wall time, and the process's peak RSS in MiB.
struct Run {
    seconds: f64,
    peak_mib: f64,
}

fn run(config: &Path, args: &[&str]) -> Run {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_itdesk"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("ITDESK_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start itdesk");
    let mut peak_kib = 0;
    let status = loop {
        peak_kib = peak_kib.max(status_kib(&proc_status(child.id()), "VmHWM:"));
        if let Some(status) = child.try_wait().expect("wait for itdesk") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let seconds = start.elapsed().as_secs_f64();
    if !status.success() {
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut err)
            .expect("read stderr");
        panic!("itdesk {args:?} failed: {err}");
    }
    Run {
        seconds,
        peak_mib: peak_kib as f64 / 1024.0,
    }
}

fn report(what: &str, runs: &[Run]) {
    let ms: Vec<f64> = runs.iter().map(|r| r.seconds * 1000.0).collect();
    let peak = runs.iter().map(|r| r.peak_mib).fold(0.0, f64::max);
    let worst = ms.iter().copied().fold(0.0, f64::max);
    println!(
        "{what}: median {:.0} ms, slowest {worst:.0} ms, peak RSS {peak:.1} MiB ({} runs)",
        median(&ms),
        runs.len()
    );
}

fn main() {
    let tickets: usize = arg("--tickets", 100_000);
    let runs: usize = arg("--runs", 5);
    println!("machine: {}", machine());
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    let t = Instant::now();
    build_store(&state, tickets);
    println!(
        "built a store of {tickets} tickets in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let config = dir.path().join("itdesk.toml");
    std::fs::write(
        &config,
        format!(
            "[helpdesk]\nname = \"Bench Desk\"\n\n[store]\npath = \"{}\"\n",
            state.display()
        ),
    )
    .expect("write config");
    let export = dir.path().join("export.jsonl");
    let export_args = ["export", "--output", export.to_str().expect("utf-8 path")];
    let list_args = ["tickets", "list", "--limit", "50"];

    // A store nobody stopped cleanly gets the full check once.
    report(
        "first open (full integrity check), tickets list --limit 50",
        &[run(&config, &list_args)],
    );
    let list: Vec<Run> = (0..runs).map(|_| run(&config, &list_args)).collect();
    report("daemon stopped: tickets list --limit 50", &list);
    let filtered = ["tickets", "list", "--group", "access", "--limit", "50"];
    let list: Vec<Run> = (0..runs).map(|_| run(&config, &filtered)).collect();
    report(
        "daemon stopped: tickets list --group access --limit 50",
        &list,
    );
    let exports: Vec<Run> = (0..runs.min(3))
        .map(|_| run(&config, &export_args))
        .collect();
    report(
        &format!("daemon stopped: export of {tickets} tickets"),
        &exports,
    );
    let lines = std::fs::read_to_string(&export)
        .expect("export")
        .lines()
        .count();
    assert_eq!(lines, tickets, "every ticket exported");

    let daemon = Daemon::start(dir.path(), "");
    let list: Vec<Run> = (0..runs).map(|_| run(&config, &list_args)).collect();
    report("daemon running: tickets list --limit 50", &list);
    let before = daemon.resident();
    let exports: Vec<Run> = (0..runs.min(3))
        .map(|_| run(&config, &export_args))
        .collect();
    report(
        &format!("daemon running: export of {tickets} tickets (the CLI)"),
        &exports,
    );
    let after = daemon.resident();
    println!(
        "daemon running: the daemon's RSS {:.1} MiB before the exports, {:.1} MiB after, peak {:.1} MiB",
        before.rss, after.rss, after.peak
    );
    daemon.stop();
}
