//! `cargo run --release --example store_check_timing -- STORE_DIR`: opens a
//! store as every start does and times the two steps apart — `Store::open`
//! (sled's snapshot and log replay, the trees) and `Store::check`, the
//! integrity scan `Store::open_checked` adds (`src/store/integrity.rs`) —
//! then prints them with the process's peak RSS. One open per process, so
//! the caller chooses warm or cold page cache. docs/scaling.md, Start-up check.

use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: store_check_timing STORE_DIR"),
    );
    let started = Instant::now();
    let store = itdesk::store::Store::open(&dir).expect("open the store");
    let opened = started.elapsed();
    let verdict = store.check();
    let checked = started.elapsed() - opened;
    // After the check, so that a cold run's check reads the files first.
    let tickets = store.ticket_count().expect("count tickets");
    let peak_kib = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    println!(
        "{tickets} tickets: open {:.3} s, check {:.3} s ({}), peak RSS {:.1} MiB",
        opened.as_secs_f64(),
        checked.as_secs_f64(),
        match verdict {
            Ok(()) => "no damage".to_string(),
            Err(e) => format!("{e}"),
        },
        peak_kib as f64 / 1024.0
    );
}
