//! Crash safety: a child process commits tickets as fast as it can and is
//! SIGKILLed at random moments. Every reopening of the store must show whole
//! tickets with their queued notices, consecutive IDs, and every ID the child
//! reported as committed.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use itdesk::core::effect::NoticeKind;
use itdesk::queue::EntryBody;
use itdesk::store::Store;

/// The child process: `examples/crash_child.rs`, built by `cargo test`.
fn crash_child() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/it-… → target/debug/examples/crash_child
    let child = exe
        .parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("examples")
        .join("crash_child");
    assert!(
        child.exists(),
        "{} is missing: `cargo test` builds it (or `cargo build --example crash_child`)",
        child.display()
    );
    child
}

#[test]
fn sigkill_at_random_moments_never_tears_or_loses_a_ticket() {
    let sb = crate::support::Sandbox::new("[groups.hardware]\nemail = [\"hw@example.test\"]\n[groups.software]\n[groups.network]\n[groups.access]\n[groups.service-desk]\n");
    let child_exe = crash_child();
    let mut reported = BTreeSet::new();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..8 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_millis(seed % 400);
        let mut child = Command::new(&child_exe)
            .arg(&sb.config)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut ids = Vec::new();
            for id in BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| l.strip_prefix("committed ").map(String::from))
            {
                let _ = tx.send(());
                ids.push(id);
            }
            ids
        });
        // The kill comes at a random moment after the child is up and
        // committing, however slow its start on a loaded machine.
        rx.recv_timeout(Duration::from_secs(60))
            .expect("the child committed its first ticket");
        let start = Instant::now();
        while start.elapsed() < run_for {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let ids = reader.join().unwrap();
        reported.extend(ids);
        verify(&sb.dir.path().join("state"), &reported);
    }
    assert!(
        reported.len() > 20,
        "too few commits to mean anything: {}",
        reported.len()
    );
}

fn verify(state: &std::path::Path, reported: &BTreeSet<String>) {
    let store = Store::open(state).expect("store reopens after SIGKILL");
    let tickets: Vec<_> = store
        .tickets()
        .collect::<Result<_, _>>()
        .expect("every ticket decodes whole");
    let ids: BTreeSet<String> = tickets.iter().map(|t| t.id.to_string()).collect();
    for id in reported {
        assert!(
            ids.contains(id),
            "{id} was reported committed but is gone after the crash"
        );
    }
    // Serials are consecutive per day, starting at 1.
    let mut by_day: std::collections::BTreeMap<chrono::NaiveDate, Vec<u64>> = Default::default();
    for t in &tickets {
        by_day.entry(t.id.date()).or_default().push(t.id.serial());
    }
    for (day, serials) in by_day {
        let expected: Vec<u64> = (1..=serials.len() as u64).collect();
        assert!(
            serials == expected,
            "gap or reuse in the serials of {day}, or tickets not in ID order"
        );
    }
    // Each ticket has its acceptance notice and its timers queued with it.
    let entries: Vec<_> = store.entries().collect::<Result<_, _>>().unwrap();
    for t in &tickets {
        let mine: Vec<_> = entries
            .iter()
            .filter(|(_, e)| e.ticket.as_ref() == Some(&t.id))
            .collect();
        let accepted = mine
            .iter()
            .filter(
                |(_, e)| matches!(&e.body, EntryBody::Notice(n) if n.kind == NoticeKind::Accepted),
            )
            .count();
        let notices_to_group = mine
            .iter()
            .filter(|(_, e)| matches!(&e.body, EntryBody::Notice(_)))
            .count();
        let timers = mine
            .iter()
            .filter(|(_, e)| matches!(e.body, EntryBody::Wake { .. }))
            .count();
        assert_eq!(
            accepted, 1,
            "{} must have exactly one queued acceptance",
            t.id
        );
        assert!(
            notices_to_group >= 1 && timers >= 3,
            "{} lost part of its effects: {notices_to_group} notices, {timers} timers",
            t.id
        );
        assert_eq!(
            store
                .ticket_for_message(t.source_message_id.as_deref().unwrap())
                .unwrap()
                .as_ref(),
            Some(&t.id),
            "message index torn"
        );
    }
}
