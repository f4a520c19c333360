//! `itdesk recover` against real Dovecot + Postfix: the store restored from an
//! older backup, the tickets opened since then come back from the
//! `Processed` mailbox — under their original IDs, without a second accepted
//! notice, when `[smtp] save_sent` kept copies of the notices; as new tickets
//! with an accepted notice otherwise. Twice adds nothing; the mailbox is
//! never changed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::email::{log_entries, mail, notice_ticket, notices, str_of, ALICE, HELPDESK, WAIT};
use crate::mailrig::{MailRig, ParsedMail};
use crate::support::{wait_until, Sandbox};

const MALLORY: (&str, &str) = ("Mallory Chen", "mallory@example.test");

/// Request `n`, from alice for odd `n` and mallory for even.
fn request(n: usize) -> Vec<u8> {
    let from = if n % 2 == 1 { ALICE } else { MALLORY };
    mail(
        from,
        &format!("Printer on floor {n} shows error E-{n}"),
        &format!("req-{n}@example.test"),
        "",
        &format!("The printer on floor {n} shows error code E-{n} and prints nothing.\n"),
    )
}

fn user(n: usize) -> &'static str {
    if n % 2 == 1 {
        "alice"
    } else {
        "mallory"
    }
}

/// The day before today (UTC), so that mail received around midnight in the
/// server's time zone is still covered.
fn since() -> String {
    (chrono::Utc::now() - chrono::Duration::days(1))
        .date_naive()
        .to_string()
}

/// Ticket ID by the Message-ID of the request that opened it.
fn ids_by_request(sb: &Sandbox) -> BTreeMap<String, String> {
    sb.tickets()
        .iter()
        .map(|t| {
            (
                str_of(t, "source_message_id").to_string(),
                str_of(t, "id").to_string(),
            )
        })
        .collect()
}

/// The requests `ns` sent, each waited for until its accepted notice arrived
/// (and, with `save_sent`, its copy was kept).
fn send_requests(rig: &MailRig, sb: &Sandbox, ns: std::ops::RangeInclusive<usize>) {
    let before = sb.tickets().len();
    let count = ns.clone().count();
    for n in ns.clone() {
        rig.send(user(n), HELPDESK, &request(n));
    }
    wait_until("the requests' tickets and accepted notices", WAIT, || {
        sb.tickets().len() == before + count
            && ns.clone().all(|n| {
                notices(rig, user(n))
                    .iter()
                    .any(|m| m.in_reply_to.as_deref() == Some(&format!("req-{n}@example.test")))
            })
    });
}

/// The notices in `user`'s INBOX that answer request `n`.
fn notices_for(rig: &MailRig, n: usize) -> Vec<ParsedMail> {
    let request = format!("req-{n}@example.test");
    notices(rig, user(n))
        .into_iter()
        .filter(|m| m.in_reply_to.as_deref() == Some(request.as_str()))
        .collect()
}

/// Stops the daemon and puts the backup `file` in place of the store.
fn restore(sb: &Sandbox, file: &std::path::Path) {
    let state = sb.dir.path().join("state");
    std::fs::rename(&state, sb.dir.path().join("state-lost")).expect("set the store aside");
    sb.cli_json(&["restore", file.to_str().unwrap(), "--json"]);
}

fn recover(sb: &Sandbox, dry_run: bool) -> Value {
    let since = since();
    let mut args = vec!["recover", "--since", since.as_str(), "--json"];
    if dry_run {
        args.push("--dry-run");
    }
    sb.cli_json(&args)
}

fn list(report: &Value, key: &str) -> Vec<Value> {
    report[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} in {report}"))
        .clone()
}

/// `(message_id, ticket)` of a report list, sorted.
fn pairs(report: &Value, key: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = list(report, key)
        .iter()
        .map(|e| {
            (
                str_of(e, "message_id").to_string(),
                e["ticket"].as_str().unwrap_or("-").to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

/// UIDs and flags of the Processed mailbox: what recovering must not change.
fn processed(rig: &MailRig) -> Vec<(u32, Vec<String>)> {
    rig.messages(HELPDESK, "Processed")
        .into_iter()
        .map(|m| (m.uid, m.flags))
        .collect()
}

fn backup(sb: &Sandbox) -> PathBuf {
    let file = sb.dir.path().join("before.backup");
    sb.cli_json(&["backup", file.to_str().unwrap(), "--json"]);
    file
}

#[test]
fn recover_brings_lost_tickets_back_under_their_original_ids() {
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config(
        "[imap]\nafter_processing = \"move\"\nprocessed_mailbox = \"Processed\"\n\n[smtp]\nsave_sent = \"Sent\"\n",
    ));
    let daemon = sb.start_daemon();
    send_requests(&rig, &sb, 1..=5);
    let file = backup(&sb);

    // After the backup: three more requests, and alice's reply to the first
    // of them, threaded to its ticket by the [ID] tag and In-Reply-To.
    send_requests(&rig, &sb, 6..=8);
    let lost = ids_by_request(&sb);
    let notice = notices_for(&rig, 7).remove(0);
    let reply = mail(
        ALICE,
        &format!("Re: {}", notice.subject),
        "reply-7@example.test",
        &format!("In-Reply-To: <{}>\r\n", notice.message_id),
        "Still broken after a restart.\n",
    );
    rig.send(ALICE.1, HELPDESK, &reply);
    let id7 = lost["req-7@example.test"].clone();
    wait_until("the reply on its ticket", WAIT, || {
        log_entries(&sb.ticket(&id7), "requester_message").len() == 1
    });
    wait_until("a kept copy of every notice", WAIT, || {
        rig.count(HELPDESK, "Sent") == 8
    });
    let sent = rig.messages(HELPDESK, "Sent");
    assert!(
        sent.iter().all(|m| m.seen() && m.from == HELPDESK),
        "copies are our notices, filed as read"
    );
    let mut copied: Vec<String> = sent.iter().map(notice_ticket).collect();
    copied.sort();
    let mut tickets: Vec<String> = lost.values().cloned().collect();
    tickets.sort();
    assert_eq!(
        copied, tickets,
        "one copy per notice, one notice per ticket"
    );
    daemon.stop();

    restore(&sb, &file);
    let daemon = sb.start_daemon();
    assert_eq!(sb.tickets().len(), 5, "the restore lost three tickets");
    let mailbox = processed(&rig);
    assert_eq!(mailbox.len(), 9, "eight requests and a reply in Processed");

    let preview = recover(&sb, true);
    assert_eq!(preview["scanned"], 9, "{preview}");
    assert_eq!(preview["already_present"], 5, "{preview}");
    assert_eq!(preview["known_ids"], 8, "{preview}");
    let expected: Vec<(String, String)> = (6..=8)
        .map(|n| {
            let mid = format!("req-{n}@example.test");
            (mid.clone(), lost[&mid].clone())
        })
        .collect();
    assert_eq!(pairs(&preview, "original_id"), expected, "{preview}");
    assert_eq!(
        pairs(&preview, "to_intake"),
        [("reply-7@example.test".to_string(), "-".to_string())],
        "{preview}"
    );
    assert_eq!(sb.tickets().len(), 5, "a dry run changes nothing");

    let report = recover(&sb, false);
    assert_eq!(report["scanned"], 9, "{report}");
    assert_eq!(report["already_present"], 5, "{report}");
    assert_eq!(pairs(&report, "original_id"), expected, "{report}");
    assert!(list(&report, "new_id").is_empty(), "{report}");
    assert!(list(&report, "failed").is_empty(), "{report}");
    assert_eq!(
        pairs(&report, "replies"),
        [("reply-7@example.test".to_string(), id7.clone())],
        "the reply threads onto the recovered ticket: {report}"
    );
    assert_eq!(ids_by_request(&sb), lost, "every ticket back, under its ID");
    assert_eq!(
        log_entries(&sb.ticket(&id7), "requester_message").len(),
        1,
        "the reply is on its ticket once"
    );

    // The counter is ahead of the recovered IDs: the next request gets a new one.
    send_requests(&rig, &sb, 9..=9);
    let id9 = ids_by_request(&sb)["req-9@example.test"].clone();
    assert!(
        lost.values().all(|id| *id < id9),
        "{id9} comes after every recovered ID"
    );
    wait_until("the copy of the ninth notice", WAIT, || {
        rig.count(HELPDESK, "Sent") >= 9
    });
    // Sent after the recovery, so a second accepted notice would be out by now.
    assert_eq!(rig.count(HELPDESK, "Sent"), 9, "no notice but the ninth's");
    for n in 1..=9 {
        assert_eq!(
            notices_for(&rig, n).len(),
            1,
            "one accepted notice for request {n}"
        );
    }

    let again = recover(&sb, false);
    assert_eq!(again["scanned"], 10, "{again}");
    assert_eq!(again["already_present"], 10, "{again}");
    for key in ["original_id", "new_id", "replies", "failed"] {
        assert!(list(&again, key).is_empty(), "{key}: {again}");
    }
    assert_eq!(sb.tickets().len(), 9, "a second run adds nothing");
    let mut after = processed(&rig);
    after.truncate(mailbox.len());
    assert_eq!(after, mailbox, "recovering changes nothing in Processed");
    daemon.stop();
}

#[test]
fn without_kept_notices_a_lost_request_opens_a_new_ticket_and_is_answered_with_its_id() {
    let rig = MailRig::start();
    let sb = Sandbox::new(
        &rig.config("[imap]\nafter_processing = \"move\"\nprocessed_mailbox = \"Processed\"\n"),
    );
    let daemon = sb.start_daemon();
    send_requests(&rig, &sb, 1..=2);
    let file = backup(&sb);
    send_requests(&rig, &sb, 3..=3);
    daemon.stop();

    // Recovered before the daemon starts, on the store directly, so that no
    // new mail can take a lost ticket's ID first.
    restore(&sb, &file);
    let preview = recover(&sb, true);
    assert_eq!(preview["known_ids"], 0, "{preview}");
    assert_eq!(list(&preview, "to_intake").len(), 1, "{preview}");
    assert!(
        list(&preview, "notes")[0]
            .as_str()
            .unwrap()
            .contains("save_sent"),
        "the report says why no ID is known: {preview}"
    );

    let report = recover(&sb, false);
    assert_eq!(report["already_present"], 2, "{report}");
    let new = list(&report, "new_id");
    assert_eq!(new.len(), 1, "{report}");
    assert_eq!(new[0]["message_id"], "req-3@example.test");
    let id = str_of(&new[0], "ticket").to_string();
    assert_eq!(sb.tickets().len(), 3);
    let daemon = sb.start_daemon();
    wait_until("the accepted notice for the new ticket", WAIT, || {
        notices_for(&rig, 3).len() == 2
    });
    assert_eq!(notice_ticket(&notices_for(&rig, 3)[1]), id);

    let again = recover(&sb, false);
    assert_eq!(again["already_present"], 3, "{again}");
    assert!(list(&again, "new_id").is_empty(), "{again}");
    daemon.stop();
}

#[test]
fn a_copy_that_cannot_be_kept_is_logged_and_the_notice_goes_once() {
    let mut rig = MailRig::start();
    let sb = Sandbox::new(&rig.config("[smtp]\nsave_sent = \"Sent\"\n"));
    let daemon = sb.start_daemon();
    send_requests(&rig, &sb, 1..=1);
    wait_until("the first copy", WAIT, || rig.count(HELPDESK, "Sent") == 1);

    // Dovecot down: Postfix still takes the notice (and queues it for
    // delivery), but no copy can be kept.
    rig.kill_dovecot();
    sb.cli_json(&[
        "tickets",
        "open",
        "--from",
        ALICE.1,
        "--subject",
        "Monitor flickers",
        "--body",
        "The monitor in room 3 flickers since this morning; restarting does not help.",
        "--json",
    ]);
    wait_until("the warning about the copy", WAIT, || {
        daemon
            .log_text()
            .contains("no copy of it could be kept in [smtp].save_sent")
    });
    wait_until("the notice done with, as sent", WAIT, || {
        sb.queued_notices().is_empty()
    });
    rig.restart();
    wait_until("the notice delivered", WAIT, || {
        notices(&rig, "alice").len() == 2
    });

    // Copies are kept again once the server is back.
    send_requests(&rig, &sb, 3..=3);
    wait_until("the next copy", WAIT, || rig.count(HELPDESK, "Sent") == 2);
    assert!(sb.dead_letters().is_empty(), "nothing buried");
    assert_eq!(notices(&rig, "alice").len(), 3, "each notice went once");
    daemon.stop();
}
