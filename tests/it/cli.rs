//! The CLI against a running daemon (through the control socket) and against a
//! stopped one (directly on the store).

use serde_json::Value;

use crate::support::Sandbox;

const TICKET_FIELDS: &[&str] = &[
    "id",
    "status",
    "type",
    "urgency",
    "channel",
    "requester",
    "subject",
    "description",
    "group",
    "assignee",
    "created_at",
    "ack_due",
    "eta",
    "log",
    "resolution",
    "confirmation",
    "rating",
    "attachments",
];

fn open_ticket(sb: &Sandbox) -> Value {
    sb.cli_json(&[
        "tickets",
        "open",
        "--from",
        "Alice@Example.test",
        "--name",
        "Alice",
        "--subject",
        "VPN disconnects every hour",
        "--body",
        "Since Monday the VPN drops every hour with error 809; I lose my remote session.",
        "--urgency",
        "high",
        "--json",
    ])
}

#[test]
fn cli_works_against_a_running_daemon_and_a_stopped_one() {
    let sb = Sandbox::new("");
    let daemon = sb.start_daemon();

    let t = open_ticket(&sb);
    for field in TICKET_FIELDS {
        assert!(t.get(field).is_some(), "ticket JSON lacks {field:?}: {t}");
    }
    let id = t["id"].as_str().unwrap().to_string();
    assert!(
        id.starts_with("IT") && id.len() == 13 && id.ends_with("001"),
        "{id}"
    );
    assert_eq!(t["status"], "new");
    assert_eq!(t["type"], "network");
    assert_eq!(t["urgency"], "high");
    assert_eq!(t["channel"], "desk");
    assert_eq!(t["group"], "network");
    assert_eq!(t["requester"]["email"], "alice@example.test");
    assert_eq!(t["requester"]["name"], "Alice");

    let second = sb.cli_json(&[
        "tickets",
        "open",
        "--from",
        "bob@example.test",
        "--subject",
        "Printer jam",
        "--body",
        "The 3rd floor printer jams on every page, error E-204.",
        "--json",
    ]);
    assert!(second["id"].as_str().unwrap().ends_with("002"));

    let list = sb.cli_json(&["tickets", "list", "--json"]);
    assert_eq!(list.as_array().unwrap().len(), 2);
    let human = sb.cli_ok(&["tickets", "list"]);
    assert!(human.contains(&id) && human.contains("VPN disconnects"));

    let assigned = sb.cli_json(&[
        "tickets", "assign", &id, "--to", "li.si", "--by", "lead", "--json",
    ]);
    assert_eq!(assigned["assignee"], "li.si");
    assert_eq!(assigned["status"], "acknowledged");

    sb.cli_ok(&[
        "tickets",
        "note",
        &id,
        "checked the VPN concentrator logs",
        "--by",
        "li.si",
    ]);
    let resolved = sb.cli_json(&[
        "tickets",
        "resolve",
        &id,
        "--fix",
        "MTU lowered to 1400 on the VPN profile",
        "--by",
        "li.si",
        "--json",
    ]);
    assert_eq!(resolved["status"], "resolved");
    assert_eq!(
        resolved["resolution"]["fix"],
        "MTU lowered to 1400 on the VPN profile"
    );
    let log: Vec<&str> = resolved["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(log, ["created", "note", "assigned", "note", "resolved"]);
    assert_eq!(
        resolved["log"][1]["text"], "opened at the desk",
        "who took it down"
    );
    assert!(
        resolved["log"][1]["at"]
            .as_str()
            .unwrap()
            .ends_with(":00+08:00"),
        "minute precision, local offset"
    );

    // Refusals are clear and change nothing.
    let again = sb.cli(&["tickets", "claim", &id]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("ticket is resolved"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let outbox = sb.cli_json(&["outbox", "list", "--json"]);
    let dead = outbox["dead_letters"].as_array().unwrap();
    assert!(
        dead.iter()
            .any(|d| d["error"].as_str().unwrap().contains("no [smtp] section")),
        "without [smtp], mail notices are dead letters: {outbox}"
    );

    daemon.stop();

    // Daemon stopped: the CLI opens the store itself and sees the same state.
    let shown = sb.cli_json(&["tickets", "show", &id, "--json"]);
    assert_eq!(shown["status"], "resolved");
    assert_eq!(shown["assignee"], "li.si");
    let human = sb.cli_ok(&["tickets", "show", &id]);
    assert!(human.contains("MTU lowered") && human.contains("li.si"));
    // The record is in the staff's language ([helpdesk] default_language, en).
    let record = sb.cli_ok(&["tickets", "show", &id, "--markdown"]);
    assert!(
        record.starts_with(&format!("# Ticket {id}"))
            && record.contains("## Handling log")
            && record.contains("MTU lowered"),
        "{record}"
    );
    let all = sb.cli_ok(&["export", "--format", "markdown"]);
    assert_eq!(all.matches("# Ticket IT").count(), 2, "{all}");
}

#[test]
fn export_and_import_round_trip_without_reusing_ids() {
    let a = Sandbox::new("");
    let first = open_ticket(&a);
    let export = a.dir.path().join("tickets.jsonl");
    a.cli_ok(&["export", "--output", export.to_str().unwrap()]);

    let b = Sandbox::new("");
    b.cli_ok(&["import", export.to_str().unwrap()]);
    let shown = b.cli_json(&["tickets", "show", first["id"].as_str().unwrap(), "--json"]);
    assert_eq!(shown, first);
    let dup = b.cli(&["import", export.to_str().unwrap()]);
    assert!(
        !dup.status.success(),
        "importing an existing ID must be refused"
    );
    // The next ticket on the importing side does not reuse the imported serial.
    let next = open_ticket(&b);
    assert_ne!(next["id"], first["id"]);
}

#[test]
fn bad_ids_and_unknown_tickets_are_clear_errors() {
    let sb = Sandbox::new("");
    let out = sb.cli(&["tickets", "show", "IT-nonsense"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a ticket ID like IT20231001001"));
    let out = sb.cli(&["tickets", "show", "IT20230101001"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no ticket IT20230101001"));
}

/// Text from strangers cannot drive the admin's terminal: escape sequences and
/// control characters are gone on intake, and whatever is stored is printed
/// inert anyway (table and JSON alike).
#[test]
fn escape_laden_text_prints_inert() {
    let sb = Sandbox::new("");
    let evil = "\u{1b}]0;pwned\u{7}\u{1b}[2JVPN \u{1b}]8;;https://evil.test\u{1b}\\断线\u{1b}]8;;\u{1b}\\\u{9b}31m";
    let t = sb.cli_json(&[
        "tickets",
        "open",
        "--from",
        "a@example.test",
        "--name",
        "张三\r\nBcc: all@example.test",
        "--subject",
        evil,
        "--body",
        "VPN 每小时掉线一次，错误 809。",
        "--json",
    ]);
    assert_eq!(t["subject"], "VPN 断线", "{t}");
    assert_eq!(t["requester"]["name"], "张三 Bcc: all@example.test", "{t}");

    // A ticket stored with escapes (an older store, an import) prints inert.
    let mut raw = t.clone();
    raw["subject"] = serde_json::Value::String(evil.to_string());
    let id = raw["id"].as_str().unwrap().to_string();
    let file = sb.dir.path().join("evil.jsonl");
    std::fs::write(&file, format!("{raw}\n")).unwrap();
    let other = Sandbox::new("");
    other.cli_ok(&["import", file.to_str().unwrap()]);
    for args in [
        vec!["tickets", "list"],
        vec!["tickets", "show", &id],
        vec!["tickets", "show", &id, "--json"],
        vec!["tickets", "list", "--json"],
        vec!["export"],
    ] {
        let out = other.cli(&args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{7}'),
            "{args:?} printed a control character: {text:?}"
        );
        assert!(text.contains("断线"), "{args:?}: {text}");
    }
    let json = other.cli_ok(&["tickets", "show", &id, "--json"]);
    assert!(
        json.contains("\\u001b") && json.contains("\\u009b"),
        "JSON keeps them, escaped: {json}"
    );
}
