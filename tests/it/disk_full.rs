//! The store's disk fills up under a burst, then space returns: nothing is
//! lost or buried, `/healthz` says the store is failing while it is, one
//! alert goes out, and everything resumes by itself without a restart.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::mailrig::MailRig;
use crate::ops::{free_port, healthz};
use crate::support::{wait_until, Sandbox};

const HELPDESK: &str = "helpdesk@example.test";
const N: usize = 60;
const LONG: Duration = Duration::from_secs(180);

/// Request `n` with a 100 KB body, from alice or tech in turn.
fn request(n: usize) -> Vec<u8> {
    let from = if n % 2 == 0 { "alice" } else { "tech" };
    let filler: String = (0..1400)
        .map(|i| format!("line {i} of the VPN log for request {n}: error 809 again\r\n"))
        .collect();
    format!(
        "From: {from} <{from}@example.test>\r\nTo: <{HELPDESK}>\r\nSubject: VPN drops every hour ({n})\r\nMessage-ID: <full-{n}@example.test>\r\nDate: Mon, 2 Oct 2023 10:05:00 +0800\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSince Monday the VPN drops every hour.\r\n{filler}"
    )
    .into_bytes()
}

fn mount(args: &[&str], dir: &Path) {
    let out = Command::new("mount")
        .args(args)
        .arg(dir)
        .output()
        .expect("mount (the tests run as root)");
    assert!(out.status.success(), "mount {args:?}: {out:?}");
}

/// `/healthz`, or `None` when it does not answer within 10 s.
fn probe(port: u16) -> Option<(u16, serde_json::Value)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n")?.1;
    Some((status, serde_json::from_str(body).ok()?))
}

/// Unmounts the small disk however the test ends.
struct Tmpfs<'a>(&'a Path);

impl Drop for Tmpfs<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.0).status();
    }
}

#[test]
fn a_full_disk_loses_nothing_buries_nothing_and_recovers_by_itself() {
    let rig = MailRig::start();
    let port = free_port();
    let sb = Sandbox::new(&rig.config(&format!(
        "[metrics]\nlisten = \"127.0.0.1:{port}\"\n[on_duty]\nemail = [\"oncall@example.test\"]\n[outbox]\nmax_notices_per_recipient_per_hour = 1000\n[intake]\nmax_description_kb = 16\n"
    )));
    let state = sb.dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    mount(&["-t", "tmpfs", "-o", "size=3m", "tmpfs"], &state);
    let _unmount = Tmpfs(&state);

    let daemon = sb.start_daemon();
    rig.append_all(HELPDESK, "INBOX", &(0..N).map(request).collect::<Vec<_>>());
    let deadline = std::time::Instant::now() + LONG;
    loop {
        let Some((status, body)) = probe(port) else {
            panic!("/healthz did not answer:\n{}", daemon.log_text());
        };
        if status == 503 && body["store"].get("error").is_some() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the store never failed in /healthz: {body}\n{}",
            daemon.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        rig.unseen(HELPDESK, "INBOX") > 0,
        "intake pauses: what was not stored stays unread"
    );
    wait_until("the alert raised", LONG, || {
        daemon
            .log_text()
            .contains("ALERT to on-duty staff: The store cannot be used")
    });

    mount(&["-o", "remount,size=256m"], &state);
    wait_until("the store back in /healthz", LONG, || {
        healthz(port).0 == 200
    });
    wait_until("every request \\Seen", LONG, || {
        rig.unseen(HELPDESK, "INBOX") == 0
    });
    wait_until("a ticket for every request", LONG, || {
        sb.tickets().len() >= N
    });
    wait_until("the outbox drained", LONG, || {
        sb.queued_notices().is_empty()
    });
    let tickets = sb.tickets();
    assert_eq!(tickets.len(), N, "one ticket per request");
    assert!(
        sb.dead_letters().is_empty(),
        "nothing buried: {:?}",
        sb.dead_letters()
    );
    wait_until("the store alert delivered to on-duty", LONG, || {
        rig.messages("oncall", "INBOX")
            .iter()
            .any(|m| m.body.contains("The store cannot be used"))
    });
    let log = daemon.log_text();
    let raised = log
        .lines()
        .filter(|l| l.contains("ALERT to on-duty staff") && l.contains("store_failing"))
        .count();
    assert_eq!(raised, 1, "one alert for the failing store:\n{log}");
    assert!(log.contains("store reopened"), "{log}");
    daemon.stop();
}
