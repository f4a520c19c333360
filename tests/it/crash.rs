//! Crash safety: a child process commits tickets as fast as it can and is
//! SIGKILLed at random moments. Every reopening of the store must show whole
//! tickets with their queued notices, consecutive IDs, and every ID the child
//! reported as committed.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use itdesk::app::Core;
use itdesk::clock::SystemClock;
use itdesk::config::Config;
use itdesk::core::effect::NoticeKind;
use itdesk::core::ticket::{Channel, Lang, ProblemType, Requester, Urgency};
use itdesk::engine::IntakeOutcome;
use itdesk::intake::Request;
use itdesk::queue::EntryBody;
use itdesk::store::Store;

const CHILD_ENV: &str = "ITDESK_CRASH_CHILD_CONFIG";

fn request(n: u64) -> Request {
    Request {
        channel: Channel::Email,
        message_id: format!("crash-{n}-{}@example.test", std::process::id()),
        references: Vec::new(),
        ticket_tag: None,
        requester: Requester {
            email: Some(format!("user{n}@example.test")),
            ..Requester::default()
        },
        subject: format!("request {n}"),
        body: "The monitor flickers and goes black after ten minutes.".into(),
        problem_type: ProblemType::Hardware,
        urgency: Urgency::Medium,
        expected_time: None,
        vague: false,
        lang: Lang::En,
        attachments: Vec::new(),
        automated: None,
        bounce: None,
        warnings: Vec::new(),
        received_at: chrono::Utc::now(),
    }
}

/// The child: not a test of its own; runs only when the parent sets CHILD_ENV.
#[test]
fn crash_child() {
    let Ok(config) = std::env::var(CHILD_ENV) else {
        return;
    };
    let config = Config::load(std::path::Path::new(&config)).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let core = Core::start(&config, Arc::new(SystemClock)).unwrap();
        for n in 0.. {
            if let IntakeOutcome::Created(id) = core.engine.intake(request(n)).await.unwrap() {
                // Printed only after the engine flushed: the parent may rely on it.
                println!("committed {id}");
            }
        }
    });
}

#[test]
fn sigkill_at_random_moments_never_tears_or_loses_a_ticket() {
    let sb = crate::support::Sandbox::new("[groups.hardware]\nemail = [\"hw@example.test\"]\n[groups.software]\n[groups.network]\n[groups.access]\n[groups.service-desk]\n");
    let me = std::env::current_exe().unwrap();
    let mut reported = BTreeSet::new();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..8 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_millis(seed % 400);
        let mut child = Command::new(&me)
            .args([
                "--exact",
                "crash::crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &sb.config)
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
