//! Short versions of the resilience scenarios (the long ones are
//! `scripts/resilience.sh`): the mail server failing under the daemon in the
//! middle of a burst. Nothing may be lost or doubled: one ticket per request,
//! one notice per ticket — a notice in flight at the fault may arrive twice,
//! but only as the same message (same Message-ID).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::mailrig::MailRig;
use crate::support::{wait_until, Sandbox};

const HELPDESK: &str = "helpdesk@example.test";
const LONG: Duration = Duration::from_secs(120);

/// Request `n`, from alice or tech in turn (bob answers with a vacation notice).
fn request(n: usize) -> Vec<u8> {
    let from = if n % 2 == 0 { "alice" } else { "tech" };
    format!(
        "From: {from} <{from}@example.test>\r\nTo: <{HELPDESK}>\r\nSubject: VPN drops every hour ({n})\r\nMessage-ID: <res-{n}@example.test>\r\nDate: Mon, 2 Oct 2023 10:05:00 +0800\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSince Monday the VPN drops every hour with error 809 ({n}).\r\n"
    )
    .into_bytes()
}

/// Message-IDs of our notices in alice's and tech's INBOX, by the request
/// they answer.
fn notices(rig: &MailRig) -> BTreeMap<String, Vec<String>> {
    let mut by_request: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for user in ["alice", "tech"] {
        for m in rig.messages(user, "INBOX") {
            if m.from == HELPDESK && m.message_id.ends_with("@itdesk.test") {
                by_request
                    .entry(m.in_reply_to.unwrap_or_default())
                    .or_default()
                    .push(m.message_id);
            }
        }
    }
    by_request
}

/// After the burst of `n`: one ticket per request, one notice per ticket
/// (a repeat only as the same message), nothing left queued or buried.
fn assert_exactly_once(rig: &MailRig, sb: &Sandbox, n: usize) {
    wait_until("a ticket for every request", LONG, || {
        sb.tickets().len() >= n
    });
    wait_until("every request \\Seen", LONG, || {
        rig.unseen(HELPDESK, "INBOX") == 0
    });
    wait_until("the outbox drained", LONG, || {
        sb.queued_notices().is_empty()
    });
    wait_until("every notice delivered", LONG, || {
        rig.count("alice", "INBOX") + rig.count("tech", "INBOX") >= n && notices(rig).len() >= n
    });
    let sources: BTreeSet<String> = sb
        .tickets()
        .iter()
        .map(|t| t["source_message_id"].as_str().expect("source").to_string())
        .collect();
    let expected: BTreeSet<String> = (0..n).map(|i| format!("res-{i}@example.test")).collect();
    assert_eq!(sb.tickets().len(), n, "exactly one ticket per request");
    assert_eq!(sources, expected, "every request has its ticket");
    let got = notices(rig);
    assert_eq!(
        got.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "a notice for every request, and only for them"
    );
    for (request, ids) in &got {
        let distinct: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(
            distinct.len(),
            1,
            "{request} was answered by different notices: {ids:?}"
        );
    }
    assert!(sb.dead_letters().is_empty(), "nothing buried");
}

#[test]
fn dovecot_killed_mid_burst_loses_and_doubles_nothing() {
    const N: usize = 200;
    let mut rig = MailRig::start();
    let sb = Sandbox::new(&rig.config("[outbox]\nmax_notices_per_recipient_per_hour = 1000\n"));
    rig.append_unordered(HELPDESK, "INBOX", &(0..N).map(request).collect::<Vec<_>>());
    let daemon = sb.start_daemon();
    wait_until("the burst under way", LONG, || {
        daemon.log_text().contains("ticket opened")
    });
    rig.kill_dovecot();
    wait_until("the daemon to lose its session", LONG, || {
        daemon.log_text().contains("IMAP session ended")
    });
    rig.restart();
    assert_exactly_once(&rig, &sb, N);
    daemon.stop();
}

#[test]
fn postfix_stopped_mid_burst_then_every_notice_goes_out_once() {
    const N: usize = 60;
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config("[outbox]\nmax_notices_per_recipient_per_hour = 1000\n"));
    // The first half goes through; then Postfix stops and the second half's
    // notices meet the outage (a kill timed against the burst would race it).
    rig.append_unordered(
        HELPDESK,
        "INBOX",
        &(0..N / 2).map(request).collect::<Vec<_>>(),
    );
    let daemon = sb.start_daemon();
    wait_until("the first half answered", LONG, || {
        notices(&rig).len() == N / 2
    });
    rig.stop_postfix();
    rig.append_unordered(
        HELPDESK,
        "INBOX",
        &(N / 2..N).map(request).collect::<Vec<_>>(),
    );
    wait_until("a delivery that failed and waits for a retry", LONG, || {
        sb.queued_notices()
            .iter()
            .any(|e| e["attempts"].as_u64() >= Some(1))
    });
    rig.start_postfix();
    assert_exactly_once(&rig, &sb, N);
    daemon.stop();
}
