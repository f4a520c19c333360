//! Operations against the real daemon: `/metrics` and `/healthz` while it
//! works, one rate-limited alert for a dead mailbox, backup and restore (a full
//! round trip, and snapshots taken while tickets pour in), and no password in
//! its logs even at trace level.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use serde_json::Value;

use itdesk::core::id::TicketId;
use itdesk::queue::EntryBody;
use itdesk::store::Store;

use crate::mailrig::{MailRig, PASSWORD};
use crate::support::{wait_until, Sandbox};

const WAIT: Duration = Duration::from_secs(30);

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A plain HTTP/1.1 GET: (status, body).
pub fn get(port: u16, path: &str) -> (u16, String) {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).expect("connect to the metrics endpoint");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

pub fn healthz(port: u16) -> (u16, Value) {
    let (status, body) = get(port, "/healthz");
    (
        status,
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("/healthz is not JSON ({e}): {body}")),
    )
}

/// The value of one series (name with labels, exactly as exposed).
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

fn open_ticket(sb: &Sandbox, n: usize) -> Value {
    sb.cli_json(&[
        "tickets",
        "open",
        "--from",
        &format!("user{n}@example.test"),
        "--subject",
        &format!("Printer {n} jams"),
        "--body",
        "The printer on the 3rd floor jams on every page, error E-204.",
        "--json",
    ])
}

/// Alert notices in `outbox list --json`, queued or dead-lettered.
fn alert_texts(sb: &Sandbox) -> Vec<String> {
    let outbox = sb.cli_json(&["outbox", "list", "--json"]);
    let queued = outbox["queued"].as_array().unwrap().iter();
    let dead = outbox["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["entry"]);
    queued
        .chain(dead)
        .filter(|e| e["body"]["notice"]["kind"] == "alert")
        .map(|e| {
            e["body"]["notice"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn metrics_and_healthz_follow_the_daemon() {
    let port = free_port();
    let sb = Sandbox::new(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    let daemon = sb.start_daemon();
    let desk = r#"itdesk_tickets_opened_total{channel="desk"}"#;

    let (status, health) = healthz(port);
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["store"], "ok");
    assert_eq!(health["imap"], "off");
    assert_eq!(health["chat_gateway"], "disabled");
    let before = get(port, "/metrics").1;
    assert!(before.ends_with("# EOF\n"), "OpenMetrics text: {before}");
    assert_eq!(metric(&before, desk), 0.0);
    // Channels that are off have no series; the process and the build always do.
    for absent in [
        "itdesk_imap_up",
        "itdesk_smtp_up",
        "itdesk_chat_gateway_state",
    ] {
        assert!(!before.contains(absent), "{absent} in\n{before}");
    }
    let build = format!(
        r#"itdesk_build_info{{version="{}","#,
        env!("CARGO_PKG_VERSION")
    );
    assert!(before.contains(&build), "{before}");
    assert!(metric(&before, "process_resident_memory_bytes") > 1.0e6);
    assert!(metric(&before, "process_open_fds") >= 3.0);
    assert!(metric(&before, "process_cpu_seconds_total") >= 0.0);
    let started = metric(&before, "process_start_time_seconds");
    // The start time has hundredths of a second (clock ticks); now, millis.
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    assert!(
        started <= now + 0.01 && started > now - 600.0,
        "{started} vs {now}"
    );
    assert_eq!(
        metric(&before, r#"itdesk_open_tickets{urgency="medium"}"#),
        0.0
    );
    assert_eq!(
        metric(&before, "itdesk_oldest_unacknowledged_age_seconds"),
        0.0
    );

    open_ticket(&sb, 1);
    open_ticket(&sb, 2);
    let after = get(port, "/metrics").1;
    assert_eq!(metric(&after, desk), 2.0);
    let open: f64 = ["urgent", "high", "medium", "low"]
        .iter()
        .map(|u| metric(&after, &format!(r#"itdesk_open_tickets{{urgency="{u}"}}"#)))
        .sum();
    assert_eq!(open, 2.0, "{after}");
    assert_eq!(metric(&after, "itdesk_tickets_past_eta"), 0.0);
    assert!(metric(&after, "itdesk_oldest_unacknowledged_age_seconds") >= 0.0);
    assert_eq!(
        metric(&after, r#"itdesk_tickets_opened_total{channel="email"}"#),
        0.0
    );
    assert!(
        metric(&after, r#"itdesk_outbox_queued{type="timer"}"#) >= 2.0,
        "each ticket arms its timers"
    );
    // Without [smtp] every acceptance notice fails for good: counted, and dead-lettered.
    wait_until("failed notices and dead letters in /metrics", WAIT, || {
        let m = get(port, "/metrics").1;
        metric(
            &m,
            r#"itdesk_notices_failed_total{channel="email",kind="permanent"}"#,
        ) >= 2.0
            && metric(&m, "itdesk_dead_letters") >= 2.0
    });
    let (status, health) = healthz(port);
    assert_eq!(
        status, 200,
        "dead letters alone do not make the daemon unhealthy: {health}"
    );
    assert!(health["dead_letters"].as_u64().unwrap() >= 2);
    assert!(health["queue_depth"].as_u64().unwrap() >= 2);
    assert_eq!(get(port, "/nothing-here").0, 404);
    daemon.stop();
}

#[test]
fn a_dead_mailbox_raises_one_alert_not_one_per_retry() {
    let (port, closed) = (free_port(), free_port());
    let sb = Sandbox::new(&format!(
        r#"
[imap]
host = "127.0.0.1"
port = {closed}
security = "plain"
username = "helpdesk@example.test"
password_env = "ITDESK_TEST_IMAP_PASSWORD"

[on_duty]
email = ["oncall@example.test"]

[alerts]
imap_failures = 2

[metrics]
listen = "127.0.0.1:{port}"
imap_unhealthy_after = "1s"
"#
    ));
    let daemon = sb.start_daemon_with(&[], &[("ITDESK_TEST_IMAP_PASSWORD", "not-used")]);
    wait_until("the IMAP alert", WAIT, || !alert_texts(&sb).is_empty());
    // The intake keeps retrying (backoff 1 s, 2 s, 4 s …); the alert is not repeated.
    wait_until("four failed connection attempts", WAIT, || {
        metric(&get(port, "/metrics").1, "itdesk_imap_consecutive_failures") >= 4.0
    });
    let alerts = alert_texts(&sb);
    assert_eq!(
        alerts.len(),
        1,
        "one alert per condition per interval: {alerts:?}"
    );
    assert!(
        alerts[0].contains("Mail intake is failing")
            && alerts[0].contains(&format!("127.0.0.1:{closed}")),
        "{}",
        alerts[0]
    );
    let metrics = get(port, "/metrics").1;
    assert_eq!(
        metric(&metrics, r#"itdesk_alerts_total{condition="imap_failing"}"#),
        1.0
    );
    assert_eq!(metric(&metrics, "itdesk_imap_up"), 0.0);
    assert_eq!(
        metric(&metrics, "itdesk_imap_last_success_timestamp_seconds"),
        0.0
    );

    let (status, health) = healthz(port);
    assert_eq!(
        status, 503,
        "IMAP failing for longer than imap_unhealthy_after: {health}"
    );
    assert_eq!(health["imap"]["state"], "failing");
    assert!(
        health["problems"][0]
            .as_str()
            .unwrap()
            .contains("IMAP has been failing"),
        "{health}"
    );
    let log = daemon.log_text();
    assert_eq!(log.matches("ALERT to on-duty staff").count(), 1, "{log}");
    daemon.stop();
}

/// A mail with a PDF attachment, as a mail client writes it.
fn mail_with_attachment(pdf: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(pdf);
    format!(
        "From: Alice <alice@example.test>\r\nTo: helpdesk@example.test\r\nSubject: Screen flickers\r\nMessage-ID: <flicker-1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy monitor flickers since this morning, see the attached scan.\r\n--b1\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b1--\r\n"
    )
    .into_bytes()
}

/// sled may let go of its file lock a moment after the last handle is dropped.
fn open_store(dir: &Path) -> Store {
    let mut store = None;
    wait_until("the store to be free to open", WAIT, || {
        store = Store::open(dir).ok();
        store.is_some()
    });
    store.expect("opened")
}

fn state(sb: &Sandbox) -> PathBuf {
    sb.dir.path().join("state")
}

#[test]
fn backup_and_restore_round_trip_every_record_and_ids_continue() {
    let rig = MailRig::start();
    let password = rig.root.join("ops.password");
    std::fs::write(&password, PASSWORD).unwrap();
    let sb = Sandbox::new(&format!(
        "[imap]\nhost = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\nusername = \"helpdesk@example.test\"\npassword_file = \"{}\"\n\n[on_duty]\nemail = [\"oncall@example.test\"]\n",
        rig.var("IMAP_PORT"),
        password.display()
    ));
    let pdf = b"%PDF-1.4\n% a scan of the flickering screen \x00\x01\x02\xff\n%%EOF\n".to_vec();
    rig.append("helpdesk", "INBOX", &mail_with_attachment(&pdf));
    rig.append("helpdesk", "INBOX", b"To: helpdesk@example.test\r\nSubject: ???\r\nMessage-ID: <nobody-1@example.test>\r\n\r\nno sender at all\r\n");
    let daemon = sb.start_daemon();
    open_ticket(&sb, 1);
    open_ticket(&sb, 2);
    wait_until(
        "the mail ticket, the quarantined mail and every notice dead-lettered (no [smtp])",
        WAIT,
        || {
            let outbox = sb.cli_json(&["outbox", "list", "--json"]);
            let queued_notices = outbox["queued"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["body"].get("notice").is_some())
                .count();
            sb.cli_json(&["tickets", "list", "--json"])
                .as_array()
                .unwrap()
                .len()
                == 3
                && sb
                    .cli_json(&["quarantine", "list", "--json"])
                    .as_array()
                    .unwrap()
                    .len()
                    == 1
                && queued_notices == 0
                && outbox["dead_letters"].as_array().unwrap().len() >= 4
        },
    );
    let file = sb.dir.path().join("itdesk.backup");
    let summary = sb.cli_json(&["backup", file.to_str().unwrap(), "--json"]);
    for tree in [
        "tickets",
        "counters",
        "message_ids",
        "queue",
        "dead_letters",
        "blobs",
        "quarantine",
        "meta",
    ] {
        assert!(
            summary["trees"][tree].as_u64().unwrap_or(0) > 0,
            "backup lacks {tree}: {summary}"
        );
    }
    let tickets = sb.cli_json(&["tickets", "list", "--json"]);
    let outbox = sb.cli_json(&["outbox", "list", "--json"]);
    let quarantine = sb.cli_json(&["quarantine", "list", "--json"]);
    daemon.stop();

    let b = Sandbox::new("[on_duty]\nemail = [\"oncall@example.test\"]\n");
    let restored = b.cli_json(&["restore", file.to_str().unwrap(), "--json"]);
    assert_eq!(restored["records"], summary["records"]);
    assert_eq!(restored["sha256"], summary["sha256"]);
    assert_eq!(b.cli_json(&["tickets", "list", "--json"]), tickets);
    assert_eq!(b.cli_json(&["outbox", "list", "--json"]), outbox);
    // Quarantined mail is sealed under a key the backup does not hold:
    // listed, but not to be opened until the key is copied over.
    let sealed = b.cli_json(&["quarantine", "list", "--json"]);
    assert_eq!(sealed[0]["id"], quarantine[0]["id"]);
    assert_eq!(sealed[0]["sealed"], true, "{sealed}");
    let key = "state/quarantine.key";
    std::fs::copy(sb.dir.path().join(key), b.dir.path().join(key)).unwrap();
    assert_eq!(b.cli_json(&["quarantine", "list", "--json"]), quarantine);
    let mail_ticket = tickets
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["channel"] == "email")
        .expect("the mail's ticket");
    let sha = mail_ticket["attachments"][0]["sha256"]
        .as_str()
        .expect("the PDF was kept");
    {
        let store = open_store(&state(&b));
        assert_eq!(
            store.blob(sha).unwrap().as_deref(),
            Some(pdf.as_slice()),
            "attachment bytes restored"
        );
    }

    // New work on the restored store reuses no ID: ticket serials, queue
    // entries, Message-IDs (a reused desk Message-ID would read as a duplicate).
    let old_ids: BTreeSet<String> = tickets
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    let old_entries = entry_ids(&outbox);
    let new = open_ticket(&b, 3);
    let new_id = new["id"].as_str().unwrap().to_string();
    assert!(!old_ids.contains(&new_id), "{new_id} reused");
    if let Some(last) = old_ids.iter().filter(|id| id[..10] == new_id[..10]).max() {
        assert!(new_id > *last, "{new_id} continues after {last}");
    }
    let after = b.cli_json(&["outbox", "list", "--json"]);
    let fresh: Vec<u64> = entry_ids(&after)
        .difference(&old_entries)
        .copied()
        .collect();
    assert!(!fresh.is_empty());
    assert!(
        fresh
            .iter()
            .all(|id| id > old_entries.iter().max().unwrap()),
        "new entry IDs {fresh:?} come after every restored one"
    );
}

fn entry_ids(outbox: &Value) -> BTreeSet<u64> {
    let queued = outbox["queued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap());
    let dead = outbox["dead_letters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["entry"]["id"].as_u64().unwrap());
    queued.chain(dead).collect()
}

/// What must hold in any snapshot: ID counters agree with the tickets, every
/// ticket's Message-ID points back at it, and each ticket's timers and
/// notices (queued or dead) came with it.
fn check_consistent(dir: &Path) -> usize {
    let store = open_store(dir);
    let tickets: Vec<_> = store.tickets().map(Result::unwrap).collect();
    let mut serials: BTreeMap<NaiveDate, Vec<u64>> = BTreeMap::new();
    for t in &tickets {
        serials.entry(t.id.date()).or_default().push(t.id.serial());
        let mid = t
            .source_message_id
            .as_deref()
            .expect("desk tickets have a Message-ID");
        assert_eq!(store.ticket_for_message(mid).unwrap().as_ref(), Some(&t.id));
    }
    for (date, mut list) in serials {
        list.sort_unstable();
        let n = list.len() as u64;
        assert_eq!(
            list,
            (1..=n).collect::<Vec<_>>(),
            "serials of {date} have a gap"
        );
        assert_eq!(
            store.next_serial(date).unwrap(),
            n + 1,
            "the counter of {date} disagrees with its tickets"
        );
    }
    let mut timers: BTreeMap<TicketId, usize> = BTreeMap::new();
    let mut notices: BTreeMap<TicketId, usize> = BTreeMap::new();
    for (_, e) in store.entries().map(Result::unwrap) {
        let map = if matches!(e.body, EntryBody::Wake { .. }) {
            &mut timers
        } else {
            &mut notices
        };
        *map.entry(e.ticket.clone().unwrap()).or_default() += 1;
    }
    for d in store.dead_letters().map(Result::unwrap) {
        *notices.entry(d.entry.ticket.clone().unwrap()).or_default() += 1;
    }
    for t in &tickets {
        assert!(timers.contains_key(&t.id), "{} lost its timers", t.id);
        assert!(
            notices.contains_key(&t.id),
            "{} lost its acceptance notice",
            t.id
        );
    }
    tickets.len()
}

#[test]
fn backups_taken_while_tickets_pour_in_are_consistent() {
    let sb = Sandbox::new("");
    let daemon = sb.start_daemon();
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let config = sb.config.clone();
            std::thread::spawn(move || {
                for n in 0..12 {
                    let out = std::process::Command::new(crate::support::itdesk_bin())
                        .arg("--config")
                        .arg(&config)
                        .args([
                            "tickets",
                            "open",
                            "--from",
                            &format!("w{w}n{n}@example.test"),
                            "--subject",
                            "VPN drops",
                            "--body",
                            "The VPN drops every hour, error 809.",
                        ])
                        .env("ITDESK_LOG", "warn")
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    let mut files = Vec::new();
    while files.len() < 3 || writers.iter().any(|w| !w.is_finished()) {
        let file = sb.dir.path().join(format!("during-{}.backup", files.len()));
        sb.cli_ok(&["backup", file.to_str().unwrap()]);
        files.push(file);
    }
    for w in writers {
        w.join().unwrap();
    }
    let last = sb.dir.path().join("after.backup");
    sb.cli_ok(&["backup", last.to_str().unwrap()]);
    files.push(last);
    daemon.stop();

    let mut counts = Vec::new();
    for (n, file) in files.iter().enumerate() {
        let dir = sb.dir.path().join(format!("restored-{n}"));
        Store::restore(file, &dir).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        counts.push(check_consistent(&dir));
    }
    assert_eq!(
        counts.last(),
        Some(&24),
        "the final backup has every ticket: {counts:?}"
    );
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
}

#[test]
fn restore_refuses_a_non_empty_state_dir_and_a_running_daemon() {
    let a = Sandbox::new("");
    open_ticket(&a, 1);
    let file = a.dir.path().join("a.backup");
    // The daemon is stopped: the CLI takes the snapshot itself.
    let line = a.cli_ok(&["backup", file.to_str().unwrap()]);
    assert!(
        line.starts_with("backed up") && line.contains("tickets 1"),
        "{line}"
    );

    let b = Sandbox::new("");
    let existing = open_ticket(&b, 2);
    let out = b.cli(&["restore", file.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("holds a store") && err.contains("restore --replace"),
        "{err}"
    );
    assert_eq!(
        b.cli_json(&["tickets", "list", "--json"]),
        Value::Array(vec![existing]),
        "nothing was overwritten"
    );

    let c = Sandbox::new("");
    let daemon = c.start_daemon();
    let out = c.cli(&["restore", file.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stop it first"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    daemon.stop();
}

#[test]
fn no_password_reaches_the_logs_even_at_trace_level() {
    const WRONG: &str = "Wr0ng-Secret-4711";
    let rig = MailRig::start();
    let password = rig.root.join("wrong.password");
    std::fs::write(&password, format!("{WRONG}\n")).unwrap();
    let sb = Sandbox::new(&format!(
        "[imap]\nhost = \"127.0.0.1\"\nport = {imap}\nsecurity = \"plain\"\nusername = \"helpdesk@example.test\"\npassword_file = \"{pw}\"\n\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp}\nsecurity = \"plain\"\nusername = \"helpdesk@example.test\"\npassword_file = \"{pw}\"\nfrom = \"IT Helpdesk <helpdesk@example.test>\"\n",
        imap = rig.var("IMAP_PORT"),
        smtp = rig.var("SMTP_PORT"),
        pw = password.display()
    ));
    let daemon = sb.start_daemon_with(&["--log-format", "json"], &[("ITDESK_LOG", "trace")]);
    open_ticket(&sb, 1);
    wait_until(
        "a refused IMAP login and a refused SMTP session in the log",
        WAIT,
        || {
            let log = daemon.log_text();
            log.contains("IMAP connection failed") && log.contains("notice not delivered")
        },
    );
    daemon.stop();
    let log = std::fs::read_to_string(sb.dir.path().join("daemon.log")).unwrap();
    assert!(
        log.contains("\"level\":\"TRACE\"") || log.contains("\"level\":\"DEBUG\""),
        "the log ran at a verbose level"
    );
    assert!(!log.contains(WRONG), "the password is in the daemon's log");
}

/// Writes the `accepted` override in both languages, saying `marker`.
fn accepted_override(dir: &Path, body: &str) {
    for lang in ["en", "zh-CN"] {
        std::fs::create_dir_all(dir.join(lang)).unwrap();
        std::fs::write(
            dir.join(lang).join("accepted.txt"),
            format!("Subject: [{{{{ ticket.id }}}}] accepted\n\n{body}\n"),
        )
        .unwrap();
    }
}

#[test]
fn sighup_reloads_checked_templates_and_keeps_them_when_a_reload_is_broken() {
    let rig = MailRig::start();
    let templates = tempfile::tempdir().unwrap();
    accepted_override(templates.path(), "first-version {{ ticket.subject }}");
    let sb = Sandbox::new(&rig.config(&format!(
        "[outbox]\ntemplates_dir = \"{}\"\n",
        templates.path().display()
    )));
    let daemon = sb.start_daemon();
    let open = |n: usize| {
        sb.cli_json(&[
            "tickets",
            "open",
            "--from",
            "alice@example.test",
            "--subject",
            &format!("Printer {n} jams"),
            "--body",
            "The printer jams on every page.",
            "--json",
        ])["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let notice_body = |id: &str| {
        let mut body = None;
        wait_until(&format!("the accepted notice of {id}"), WAIT, || {
            body = rig
                .messages("alice", "INBOX")
                .into_iter()
                .find(|m| m.subject.contains(id))
                .map(|m| m.body);
            body.is_some()
        });
        body.unwrap()
    };
    let first = open(1);
    assert!(notice_body(&first).contains("first-version Printer 1 jams"));

    accepted_override(templates.path(), "second-version {{ ticket.subject }}");
    daemon.signal("HUP");
    wait_until("the reload in the log", WAIT, || {
        daemon.log_text().contains("reloaded")
    });
    let second = open(2);
    assert!(notice_body(&second).contains("second-version Printer 2 jams"));

    // A misspelt variable: refused with file and line, the daemon goes on with the old set.
    accepted_override(templates.path(), "third-version\n{{ ticket.subjct }}");
    daemon.signal("HUP");
    wait_until("the refused reload in the log", WAIT, || {
        daemon.log_text().contains("reload refused")
    });
    let log = daemon.log_text();
    assert!(
        log.contains("accepted.txt:4") && log.contains("ticket.subjct"),
        "{log}"
    );
    let third = open(3);
    assert!(notice_body(&third).contains("second-version Printer 3 jams"));
    daemon.stop();
}

#[test]
fn backlog_gauges_count_overdue_and_unacknowledged_tickets() {
    // A ticket opened elsewhere, exported, and imported here as if long overdue.
    let elsewhere = Sandbox::new("");
    open_ticket(&elsewhere, 1);
    let export = elsewhere.dir.path().join("export.jsonl");
    elsewhere.cli_ok(&["export", "--output", &export.display().to_string()]);
    let mut ticket: Value =
        serde_json::from_str(std::fs::read_to_string(&export).unwrap().trim()).unwrap();
    for (key, at) in [
        ("created_at", "2023-10-02T01:00:00Z"),
        ("sla_start", "2023-10-02T01:00:00Z"),
        ("ack_due", "2023-10-02T02:00:00Z"),
        ("eta", "2023-10-03T01:00:00Z"),
    ] {
        ticket[key] = Value::String(at.into());
    }
    ticket["acknowledged_at"] = Value::Null;
    std::fs::write(&export, format!("{ticket}\n")).unwrap();

    let port = free_port();
    let sb = Sandbox::new(&format!("[metrics]\nlisten = \"127.0.0.1:{port}\"\n"));
    sb.cli_ok(&["import", &export.display().to_string()]);
    let daemon = sb.start_daemon();
    let m = get(port, "/metrics").1;
    let urgency = ticket["urgency"].as_str().unwrap();
    assert_eq!(
        metric(
            &m,
            &format!(r#"itdesk_open_tickets{{urgency="{urgency}"}}"#)
        ),
        1.0
    );
    assert_eq!(metric(&m, "itdesk_tickets_past_eta"), 1.0);
    let created = chrono::DateTime::parse_from_rfc3339("2023-10-02T01:00:00Z").unwrap();
    let waited = (chrono::Utc::now() - created.to_utc()).num_seconds() as f64;
    let age = metric(&m, "itdesk_oldest_unacknowledged_age_seconds");
    assert!((age - waited).abs() < 120.0, "{age} vs {waited}");
    daemon.stop();
}

/// A webhook receiver on 127.0.0.1: answers 503 to the first `failures`
/// requests, 200 after; keeps every request's body.
fn webhook_receiver(failures: usize) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = bodies.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if std::io::BufRead::read_line(&mut reader, &mut line).unwrap_or(0) == 0 {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            let status = if n < failures {
                "503 Service Unavailable"
            } else {
                "200 OK"
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    (port, bodies)
}

#[test]
fn alerts_go_to_the_webhook_too_retried_until_it_answers() {
    let (hook, bodies) = webhook_receiver(1);
    let closed = free_port();
    let sb = Sandbox::new(&format!(
        r#"
[imap]
host = "127.0.0.1"
port = {closed}
security = "plain"
username = "helpdesk@example.test"
password_env = "ITDESK_TEST_IMAP_PASSWORD"

[alerts]
imap_failures = 2
webhook_url = "http://127.0.0.1:{hook}/hooks/itdesk?token=s3cret"
"#
    ));
    let daemon = sb.start_daemon_with(&[], &[("ITDESK_TEST_IMAP_PASSWORD", "not-used")]);
    // No [on_duty]: mail and chat reach nobody; the webhook still does.
    wait_until("the webhook's second attempt", WAIT, || {
        bodies.lock().unwrap().len() >= 2
    });
    wait_until("the delivery in the log", WAIT, || {
        daemon.log_text().contains("alert webhook delivered")
    });
    let bodies = bodies.lock().unwrap().clone();
    assert_eq!(bodies[0], bodies[1], "the same alert, retried");
    let body: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(body["source"], "itdesk");
    assert_eq!(body["helpdesk"], "Test Desk");
    assert_eq!(body["condition"], "imap_failing");
    assert!(
        body["summary"]
            .as_str()
            .unwrap()
            .contains("Mail intake is failing"),
        "{body}"
    );
    assert!(body["raised_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        !daemon.log_text().contains("s3cret"),
        "the URL's token was logged"
    );
    daemon.stop();
}
