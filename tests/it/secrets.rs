//! Masking that holds: the seeded mails in `tests/fixtures/secrets` carry every
//! secret of `secrets.txt` in its place (subject, plain and HTML body,
//! signature, quoted reply, text attachments, an attachment's name), and not
//! one may survive `parse_email` + `prepare`. No servers: intake alone.

use std::path::{Path, PathBuf};

use chrono::DateTime;
use itdesk::core::ticket::Lang;
use itdesk::intake::classify::Rules;
use itdesk::intake::directory::Directory;
use itdesk::intake::email::{parse_email, EmailLimits};
use itdesk::intake::{prepare, redact, InboundMessage, Request, Warning};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/secrets")
}

/// The seeded values: every line of `secrets.txt` that is not a comment.
fn secrets() -> Vec<String> {
    let path = fixture_dir().join("secrets.txt");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn inbound(name: &str) -> InboundMessage {
    let raw = std::fs::read(fixture_dir().join(name)).expect("fixture mail");
    parse_email(&raw, &EmailLimits::default(), DateTime::UNIX_EPOCH)
}

/// Everything of a message a person could read, attachments as (lossy) text.
fn readable(
    subject: &str,
    bodies: &[&str],
    warnings: &[Warning],
    attachments: &[(&str, &[u8])],
) -> String {
    let mut text = vec![subject.to_string()];
    text.extend(bodies.iter().map(|b| b.to_string()));
    for w in warnings {
        text.extend([w.text(Lang::En), w.text(Lang::ZhCn)]);
    }
    for (name, data) in attachments {
        text.push(name.to_string());
        text.push(String::from_utf8_lossy(data).into_owned());
    }
    text.join("\n")
}

fn readable_request(r: &Request) -> String {
    let requester = [
        r.requester.name.as_deref(),
        r.requester.department.as_deref(),
        r.requester.contact.as_deref(),
        r.expected_time.as_deref(),
    ];
    let attachments: Vec<(&str, &[u8])> = r
        .attachments
        .iter()
        .map(|a| (a.name.as_str(), a.data.as_slice()))
        .collect();
    let bodies: Vec<&str> = std::iter::once(r.body.as_str())
        .chain(requester.into_iter().flatten())
        .collect();
    readable(&r.subject, &bodies, &r.warnings, &attachments)
}

/// A secret leaked if it appears whole, or (a pass phrase) any of its words of
/// five letters or more does.
fn leaked<'a>(secrets: &'a [String], text: &str) -> Vec<&'a str> {
    secrets
        .iter()
        .filter(|s| {
            text.contains(s.as_str())
                || (s.contains(' ')
                    && s.split(' ').any(|w| {
                        w.len() >= 5 && w.chars().all(char::is_alphabetic) && text.contains(w)
                    }))
        })
        .map(String::as_str)
        .collect()
}

#[test]
fn no_seeded_secret_survives_intake() {
    let secrets = secrets();
    assert!(secrets.len() >= 40, "only {} seeded secrets", secrets.len());
    let (mut seeded, mut kept) = (String::new(), String::new());
    for name in ["plain.eml", "html.eml"] {
        let msg = inbound(name);
        let attachments: Vec<(&str, &[u8])> = msg
            .attachments
            .iter()
            .map(|a| (a.name.as_str(), a.data.as_slice()))
            .collect();
        seeded += &readable(&msg.subject, &[&msg.body], &msg.warnings, &attachments);
        // The whole body, quoted history and signature included, masks clean
        // too: chat keeps everything, and quote stripping is a guess.
        kept += &redact::mask(&msg.body);
        let request = prepare(msg, &Rules::default(), &Directory::default());
        kept += &readable_request(&request);
    }
    // Proof that the fixture seeds what it claims: each value reached intake.
    let missing: Vec<&String> = secrets
        .iter()
        .filter(|s| !seeded.contains(s.as_str()))
        .collect();
    assert!(missing.is_empty(), "not in the parsed mails: {missing:?}");
    let leaks = leaked(&secrets, &kept);
    assert!(
        leaks.is_empty(),
        "{} of {} secrets leaked: {leaks:?}\n{kept}",
        leaks.len(),
        secrets.len()
    );
}

#[test]
fn text_attachments_are_masked_and_binary_ones_kept() {
    let plain = inbound("plain.eml");
    let html = inbound("html.eml");
    let before: Vec<_> = plain
        .attachments
        .iter()
        .chain(&html.attachments)
        .cloned()
        .collect();
    let mut after = prepare(plain, &Rules::default(), &Directory::default()).attachments;
    after.extend(prepare(html, &Rules::default(), &Directory::default()).attachments);
    assert_eq!(before.len(), after.len());
    for (b, a) in before.iter().zip(&after) {
        match b.name.as_str() {
            "screen.png" => assert_eq!(a, b, "a binary file keeps its bytes"),
            // Refused: no data, the name masked, the original size kept.
            "pwd=NameSecret7.exe" => {
                let kept = (a.name.as_str(), a.data.len(), a.size);
                assert_eq!(kept, ("pwd=[masked]", 0, b.size));
            }
            name => {
                assert_eq!(a.name, name, "a text file keeps its name");
                assert_ne!(a.data, b.data, "{name} was not masked");
                assert_eq!(a.size, a.data.len() as u64, "{name}: the masked size");
                let text = std::str::from_utf8(&a.data).expect("masked text is UTF-8");
                assert!(
                    text.contains("[masked]") || text.contains("[已隐藏]"),
                    "{name}: {text}"
                );
            }
        }
    }
    // The GBK log was decoded to be masked: its Chinese survives, as UTF-8.
    let log = after
        .iter()
        .find(|a| a.name == "登录.log")
        .expect("the log");
    assert_eq!(
        std::str::from_utf8(&log.data).expect("UTF-8"),
        "2023-10-02 09:00 登录失败 用户 zhangsan 密码：[已隐藏]\r\n"
    );
}

/// Every file below `dir`, as lossy text.
fn files_text(dir: &Path) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            text += &files_text(&path);
        } else if let Ok(bytes) = std::fs::read(&path) {
            text += &String::from_utf8_lossy(&bytes);
            text.push('\n');
        }
    }
    text
}

/// A backup's records with their base64 values decoded.
fn backup_text(file: &Path) -> String {
    use base64::Engine as _;
    let text = std::fs::read_to_string(file).expect("backup");
    let mut out = String::new();
    for line in text.lines() {
        let Ok(record) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        for field in ["key", "value"] {
            if let Some(b64) = record[field].as_str() {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .expect("base64 in a backup record");
                out += &String::from_utf8_lossy(&bytes);
                out.push('\n');
            }
        }
    }
    out
}

/// The seeded mails as our rig's requesters send them; a third without a
/// sender is quarantined as it came.
fn seeded_mails() -> Vec<Vec<u8>> {
    let fixture = |name: &str, from: &str, to: &str| {
        std::fs::read_to_string(fixture_dir().join(name))
            .expect("fixture mail")
            .replace(from, to)
            .replace("helpdesk@example.com", "helpdesk@example.test")
    };
    let plain = fixture("plain.eml", "zhangwei@example.com", "alice@example.test");
    let html = fixture("html.eml", "lina@example.com", "tech@example.test");
    let nameless: String = plain
        .lines()
        .filter(|l| !l.starts_with("From:"))
        .map(|l| l.replace("seeded-secrets-plain", "seeded-secrets-nameless") + "\n")
        .collect();
    [plain, html, nameless]
        .into_iter()
        .map(String::into_bytes)
        .collect()
}

#[test]
fn no_seeded_secret_reaches_the_store_a_backup_an_export_the_trace_log_or_a_notice() {
    use crate::mailrig::MailRig;
    use crate::support::{wait_until, Sandbox};
    use std::time::Duration;

    const WAIT: Duration = Duration::from_secs(60);
    let secrets = secrets();
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config(""));
    let daemon = sb.start_daemon_with(&[], &[("ITDESK_LOG", "trace")]);
    rig.append_all("helpdesk@example.test", "INBOX", &seeded_mails());
    wait_until("two tickets and one quarantined mail", WAIT, || {
        sb.tickets().len() == 2
            && sb
                .cli_json(&["quarantine", "list", "--json"])
                .as_array()
                .is_some_and(|q| q.len() == 1)
    });
    wait_until("the accepted notices delivered", WAIT, || {
        sb.queued_notices().is_empty()
            && rig.count("alice", "INBOX") + rig.count("tech", "INBOX") >= 2
    });

    let out = sb.dir.path();
    let backup = out.join("all.itdesk");
    sb.cli_ok(&["backup", backup.to_str().unwrap()]);
    let export = out.join("export.jsonl");
    let files = out.join("attachments");
    sb.cli_ok(&[
        "export",
        "--output",
        export.to_str().unwrap(),
        "--with-attachments",
        files.to_str().unwrap(),
    ]);
    let quarantined = sb.cli_json(&["quarantine", "list", "--json"]);
    let id = quarantined[0]["id"].to_string();
    let shown = sb.cli_ok(&["quarantine", "show", &id]);
    assert!(
        shown.contains("[masked]"),
        "quarantine show prints the message, masked: {shown}"
    );
    let log = daemon.log.clone();
    daemon.stop();

    let notices: String = ["alice", "tech"]
        .iter()
        .flat_map(|u| rig.messages(u, "INBOX"))
        .map(|m| format!("{}\n{}\n", m.subject, m.body))
        .collect();
    let places = [
        ("the store's files", files_text(&out.join("state"))),
        ("the backup", backup_text(&backup)),
        ("the export", std::fs::read_to_string(&export).unwrap()),
        ("the exported attachments", files_text(&files)),
        ("quarantine show", shown),
        ("the trace log", std::fs::read_to_string(&log).unwrap()),
        ("the notices", notices),
    ];
    // The scans read plain text where it is: the tickets' words are there.
    for (place, text) in &places[..3] {
        assert!(text.contains("VPN"), "{place} was not read as text");
    }
    assert!(!places[3].1.is_empty(), "the attachments were exported");
    assert!(places[5].1.contains("TRACE"), "the log is at trace level");
    let mut report = Vec::new();
    for (place, text) in &places {
        let leaks = leaked(&secrets, text);
        if !leaks.is_empty() {
            report.push(format!("{place}: {leaks:?}"));
        }
    }
    assert!(report.is_empty(), "secrets leaked:\n{}", report.join("\n"));
    // The retry needs the message as it came: the seal opens.
    let retry = sb.cli(&["quarantine", "retry", &id]);
    let err = String::from_utf8_lossy(&retry.stderr);
    assert!(err.contains("still cannot be processed"), "{err}");
}
