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
    let record = sb.cli_ok(&["tickets", "show", &id, "--markdown"]);
    assert!(
        record.starts_with(&format!("# Ticket {id}"))
            && record.contains("## Handling log")
            && !record.contains("处理过程")
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

/// `count` copies of `ticket` under consecutive serials of its day, as
/// `export` writes them.
fn export_file(sb: &Sandbox, ticket: &Value, count: u64) -> std::path::PathBuf {
    let id = ticket["id"].as_str().unwrap();
    let mut text = String::new();
    for serial in 1..=count {
        let mut t = ticket.clone();
        t["id"] = Value::String(format!("{}{serial:04}", &id[..10]));
        t["group"] = Value::String(
            if serial % 3 == 0 {
                "hardware"
            } else {
                "network"
            }
            .into(),
        );
        text.push_str(&format!("{t}\n"));
    }
    let file = sb.dir.path().join(format!("{count}.jsonl"));
    std::fs::write(&file, text).unwrap();
    file
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// More tickets than one page, through the daemon: listing, filters, limits
/// and `--after` page in order; an interrupted import resumes.
#[test]
fn lists_stream_page_by_page_and_imports_resume() {
    let source = Sandbox::new("");
    let sample = open_ticket(&source);
    let file = export_file(&source, &sample, 1200);
    let half = source.dir.path().join("half.jsonl");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&half, lines[..700].join("\n")).unwrap();

    let sb = Sandbox::new("");
    let daemon = sb.start_daemon();
    // An import cut short at line 700, then the whole file again.
    assert_eq!(
        sb.cli_json(&["import", half.to_str().unwrap(), "--json"])["imported"],
        700
    );
    let refused = sb.cli(&["import", file.to_str().unwrap(), "--json"]);
    assert_eq!(refused.status.code(), Some(4), "{refused:?}");
    let error: Value = serde_json::from_slice(&refused.stdout).unwrap();
    assert_eq!(error["code"], "refused", "{error}");
    assert!(
        error["error"].as_str().unwrap().contains("--skip-existing"),
        "{error}"
    );
    let resumed = sb.cli_json(&[
        "import",
        file.to_str().unwrap(),
        "--skip-existing",
        "--json",
    ]);
    assert_eq!(
        (resumed["imported"].as_u64(), resumed["skipped"].as_u64()),
        (Some(500), Some(700))
    );

    let all = ids(&sb.cli_json(&["tickets", "list", "--json"]));
    assert_eq!(all.len(), 1200);
    assert!(all.windows(2).all(|w| w[0] < w[1]), "in ID order");
    let hardware = ids(&sb.cli_json(&["tickets", "list", "--group", "hardware", "--json"]));
    assert_eq!(hardware.len(), 400);

    let out = sb.cli(&["tickets", "list", "--limit", "550", "--json"]);
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&first), all[..550]);
    let hint = String::from_utf8_lossy(&out.stderr);
    assert!(hint.contains(&format!("--after {}", all[549])), "{hint}");
    let rest = ids(&sb.cli_json(&["tickets", "list", "--after", &all[549], "--json"]));
    assert_eq!(rest, all[550..]);

    let day = &all[0][2..10];
    let day = format!("{}-{}-{}", &day[..4], &day[4..6], &day[6..]);
    let by_requester = sb.cli_json(&[
        "tickets",
        "list",
        "--requester",
        "ALICE@example.test",
        "--since",
        &day,
        "--until",
        &day,
        "--status",
        "new",
        "--limit",
        "3",
        "--json",
    ]);
    assert_eq!(ids(&by_requester), all[..3]);
    let none = sb.cli_json(&["tickets", "list", "--since", "2999-01-01", "--json"]);
    assert_eq!(none, serde_json::json!([]));
    assert!(ids(&sb.cli_json(&["tickets", "list", "--assignee", "nobody", "--json"])).is_empty());
    daemon.stop();

    // Stopped: the same pages straight from the store.
    let offline = ids(&sb.cli_json(&["tickets", "list", "--after", &all[1100], "--json"]));
    assert_eq!(offline, all[1101..]);
    let table = sb.cli_ok(&["tickets", "list", "--limit", "250"]);
    assert_eq!(table.lines().count(), 251, "a header and a line per ticket");
    assert_eq!(table.lines().filter(|l| l.starts_with("ID ")).count(), 1);

    let export = sb.dir.path().join("all.jsonl");
    sb.cli_ok(&["export", "--output", export.to_str().unwrap()]);
    let exported = std::fs::read_to_string(&export).unwrap();
    assert_eq!(exported.lines().count(), 1200);
}

/// Each kind of failure has its exit status, and `--json` prints it as JSON.
#[test]
fn failures_exit_by_kind_and_print_json_errors() {
    let sb = Sandbox::new("");
    let id = open_ticket(&sb)["id"].as_str().unwrap().to_string();
    sb.cli_ok(&["tickets", "close", &id, "--reason", "duplicate"]);
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["tickets", "show", "IT-nonsense"], 2, "usage"),
        (vec!["tickets", "frobnicate"], 2, "usage"),
        (vec!["tickets", "show", "IT20230101001"], 3, "not_found"),
        (vec!["stats", "--group", "nosuch"], 3, "not_found"),
        (vec!["outbox", "retry", "999"], 3, "not_found"),
        (vec!["quarantine", "show", "7"], 3, "not_found"),
        (vec!["tickets", "claim", &id], 4, "refused"),
        (vec!["retention"], 6, "config"),
    ];
    for (args, status, code) in cases {
        let out = sb.cli(&args);
        assert_eq!(out.status.code(), Some(status), "{args:?}: {out:?}");
        assert!(
            !out.stderr.is_empty() && out.stdout.is_empty(),
            "{args:?}: {out:?}"
        );
        let mut json_args = args.clone();
        json_args.push("--json");
        let out = sb.cli(&json_args);
        assert_eq!(out.status.code(), Some(status), "{json_args:?}: {out:?}");
        let error: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{json_args:?}: no JSON error ({e}): {out:?}"));
        assert_eq!(error["code"], code, "{json_args:?}: {error}");
        assert!(!error["error"].as_str().unwrap().is_empty());
    }
    let stats = sb.cli_json(&["stats", "--group", "network", "--json"]);
    assert!(stats.is_object());

    // A missing config, and a store that cannot be opened.
    let out = std::process::Command::new(crate::support::itdesk_bin())
        .args([
            "--config",
            "/nonexistent/itdesk.toml",
            "tickets",
            "list",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    let broken = Sandbox::new("");
    let text = std::fs::read_to_string(&broken.config).unwrap();
    let blocker = broken.dir.path().join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let text = text.replace(
        &format!("path = \"{}\"", broken.dir.path().join("state").display()),
        &format!("path = \"{}\"", blocker.join("store").display()),
    );
    std::fs::write(&broken.config, text).unwrap();
    let out = broken.cli(&["tickets", "list", "--json"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["code"], "unavailable", "{error}");
}

/// `outbox list` is a table in local time; `--json` keeps the data.
#[test]
fn outbox_list_is_readable() {
    let sb = Sandbox::new("");
    open_ticket(&sb);
    let text = sb.cli_ok(&["outbox", "list"]);
    assert!(!text.contains('{'), "no raw JSON: {text}");
    assert!(text.contains("queued: ") && text.contains("DUE"), "{text}");
    assert!(text.contains("timer "), "timers are named: {text}");
    let json = sb.cli_json(&["outbox", "list", "--json"]);
    assert!(
        json["queued"].as_array().is_some_and(|q| !q.is_empty()),
        "{json}"
    );
}

/// Completions and the man page need no config.
#[test]
fn completions_and_man_pages_are_generated() {
    let out = std::process::Command::new(crate::support::itdesk_bin())
        .args(["--config", "/nonexistent.toml", "completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("itdesk"));
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(crate::support::itdesk_bin())
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let top = std::fs::read_to_string(dir.path().join("itdesk.1")).unwrap();
    assert!(
        top.contains("EXIT STATUS") && top.contains("unavailable"),
        "{top}"
    );
    let list = std::fs::read_to_string(dir.path().join("itdesk-tickets-list.1")).unwrap();
    for option in ["\\-\\-limit", "\\-\\-json", "\\-\\-config"] {
        assert!(
            list.contains(option),
            "{option} in tickets list's page: {list}"
        );
    }
}

/// A list the daemon breaks off midway still leaves stdout a whole JSON array
/// of what arrived, the error after it, and a failing exit status.
#[test]
fn a_list_broken_off_midway_still_ends_its_json() {
    use std::io::{BufRead, BufReader, Write};
    let sb = Sandbox::new("");
    let state = sb.dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(state.join("control.sock")).unwrap();
    // A daemon that answers the first page, then hangs up on the second.
    let daemon = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request = String::new();
        reader.read_line(&mut request).unwrap();
        let page = serde_json::json!({"ok": {
            "tickets": [{"id": "IT20231009001"}, {"id": "IT20231009002"}],
            "next": "IT20231009002",
        }});
        writeln!(stream, "{page}").unwrap();
        request.clear();
        reader.read_line(&mut request).unwrap();
        request
    });
    let out = sb.cli(&["tickets", "list", "--json"]);
    let second = daemon.join().unwrap();
    assert!(second.contains("IT20231009002"), "paged on: {second}");
    assert!(!out.status.success(), "{out:?}");
    let printed: Vec<Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("stdout is not whole JSON ({e}): {out:?}"));
    assert_eq!(printed.len(), 2, "the array, then the error: {printed:?}");
    assert_eq!(printed[0].as_array().map(Vec::len), Some(2), "{printed:?}");
    assert!(printed[1]["error"].is_string(), "{printed:?}");
}
