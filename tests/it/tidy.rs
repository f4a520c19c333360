//! Architecture rules that must not rot, checked on every test run.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// `file`'s path below `src/`, e.g. `store/mod.rs`.
fn relative(file: &Path) -> String {
    file.strip_prefix(src())
        .unwrap()
        .to_string_lossy()
        .to_string()
}

/// Lines that are code, not comments.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().map(str::trim).filter(|l| !l.starts_with("//"))
}

#[test]
fn core_does_no_io_and_reads_no_clock() {
    let forbidden = [
        "tokio",
        "sled",
        "serenity",
        "lettre",
        "async_imap",
        "Utc::now",
        "Local::now",
        "SystemTime",
        "std::fs",
        "std::net",
        "Instant::now",
    ];
    for file in rust_files(&src().join("core")) {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in code_lines(&text) {
            for word in forbidden {
                assert!(
                    !line.contains(word),
                    "{} uses {word}: the core must stay pure (`{line}`)",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn foreign_types_stop_at_their_adapter() {
    // crate → the only folder allowed to use it
    let owners = [
        ("sled", "store"),
        ("async_imap", "channels"),
        ("lettre", "channels"),
        ("serenity", "channels"),
        ("resvg", "outbox"),
    ];
    for file in rust_files(&src()) {
        let rel = relative(&file);
        let text = std::fs::read_to_string(&file).unwrap();
        for (krate, owner) in owners {
            if rel.starts_with(owner) {
                continue;
            }
            for line in code_lines(&text) {
                let uses =
                    line.contains(&format!("{krate}::")) || line.contains(&format!("use {krate}"));
                assert!(
                    !uses,
                    "{rel} uses {krate}; only src/{owner}/ may (`{line}`)"
                );
            }
        }
    }
}

#[test]
fn every_module_says_what_it_owns() {
    for file in rust_files(&src()) {
        let text = std::fs::read_to_string(&file).unwrap();
        let tests_only = file
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with("_tests.rs"));
        assert!(
            text.starts_with("//!") || tests_only,
            "{} must start with a //! line",
            file.display()
        );
    }
}

/// The architecture as a table: which top-level module of `src/` may import
/// which (`use crate::…`, or a `crate::…` path). Data flows channels → intake
/// → engine → core → store → outbox → channels; imports point from the user to
/// what it uses, and never back. A module missing here may import nothing.
/// `channels` does not import `store`: adapters reach it only through the
/// engine (`engine::port`), so the engine stays the one writer.
const ALLOWED_EDGES: &[(&str, &[&str])] = &[
    ("core", &[]),
    ("clock", &[]),
    ("shutdown", &[]),
    ("queue", &["core"]),
    ("intake", &["core"]),
    ("record", &["core"]),
    ("stats", &["core", "queue"]),
    ("config", &["core", "intake", "queue", "stats"]),
    ("store", &["core", "queue", "stats"]),
    ("health", &["core", "queue", "store"]),
    (
        "engine",
        &[
            "clock", "config", "core", "health", "intake", "queue", "store",
        ],
    ),
    (
        "outbox",
        &[
            "clock", "config", "core", "engine", "health", "queue", "shutdown", "stats", "store",
        ],
    ),
    (
        "channels",
        &[
            "clock", "config", "core", "engine", "health", "intake", "outbox", "queue", "record",
            "shutdown",
        ],
    ),
    (
        "control",
        &[
            "channels", "clock", "config", "core", "engine", "intake", "queue", "shutdown",
            "stats", "store",
        ],
    ),
    (
        "ops",
        &[
            "clock", "config", "core", "engine", "health", "shutdown", "store",
        ],
    ),
    (
        "app",
        &[
            "channels", "clock", "config", "control", "core", "engine", "health", "intake", "ops",
            "outbox", "queue", "shutdown", "stats", "store",
        ],
    ),
    (
        "cli",
        &[
            "app", "channels", "clock", "config", "control", "core", "intake", "outbox", "queue",
            "record", "shutdown", "stats", "store",
        ],
    ),
];

/// Every `(from, to)` edge between top-level modules in `src/`, with a line that shows it.
fn crate_edges() -> Vec<(String, String, String)> {
    let mut edges = Vec::new();
    for file in rust_files(&src()) {
        let rel = relative(&file);
        let from = rel
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        if from == "lib" || from == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code: Vec<&str> = code_lines(&text).collect();
        let joined = code.join("\n");
        for to in imported_modules(&joined) {
            if to != from && to != "self" && to != "super" {
                edges.push((from.clone(), to, rel.clone()));
            }
        }
    }
    edges
}

/// The top-level modules named after `crate::`, including inside `crate::{a, b::c}`.
fn imported_modules(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: first word after `{` or a `,` at depth 0.
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        rest = &group[i..];
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_alphanumeric() || c == '_') => {
                        out.push(ident(&group[i..]));
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out
}

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The edges the table does not allow, as messages.
fn forbidden(edges: &[(String, String, String)], table: &[(&str, &[&str])]) -> Vec<String> {
    let mut out: Vec<String> = edges
        .iter()
        .filter(|(from, to, _)| {
            !table
                .iter()
                .any(|(m, allowed)| m == from && allowed.contains(&to.as_str()))
        })
        .map(|(from, to, file)| format!("src/{file}: {from} → {to}"))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A cycle in the table, if it has one (depth-first search).
fn cycle(table: &[(&str, &[&str])]) -> Option<Vec<String>> {
    fn visit<'a>(
        m: &'a str,
        table: &[(&'a str, &[&'a str])],
        path: &mut Vec<&'a str>,
        done: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| *p == m) {
            let mut c: Vec<String> = path[at..].iter().map(|s| s.to_string()).collect();
            c.push(m.to_string());
            return Some(c);
        }
        if done.contains(&m) {
            return None;
        }
        path.push(m);
        let next = table.iter().find(|(n, _)| *n == m).map_or(&[][..], |e| e.1);
        for n in next {
            if let Some(c) = visit(n, table, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.push(m);
        None
    }
    let mut done = Vec::new();
    table
        .iter()
        .find_map(|(m, _)| visit(m, table, &mut Vec::new(), &mut done))
}

#[test]
fn imports_follow_the_allowed_edges_table() {
    let edges = crate_edges();
    assert!(edges.len() > 50, "too few edges found: the scan is broken");
    let bad = forbidden(&edges, ALLOWED_EDGES);
    assert!(
        bad.is_empty(),
        "imports outside ALLOWED_EDGES (tests/it/tidy.rs) — move the shared type down, or add the edge if the layering allows it:\n{}",
        bad.join("\n")
    );
    assert_eq!(cycle(ALLOWED_EDGES), None, "ALLOWED_EDGES has a cycle");
}

#[test]
fn the_edges_check_catches_a_new_edge_and_a_cycle() {
    assert_eq!(
        imported_modules(
            "use crate::{core::id::TicketId, store::{Store, X}};\nlet x = crate::engine::f();"
        ),
        ["core", "store", "engine"]
    );
    // The store reaching up into the engine: not in the table.
    let edges = vec![(
        "store".to_string(),
        "engine".to_string(),
        "store/mod.rs".to_string(),
    )];
    assert_eq!(
        forbidden(&edges, ALLOWED_EDGES),
        ["src/store/mod.rs: store → engine"]
    );
    // The same edge written into the table makes a cycle (engine → store → engine).
    let mut table = ALLOWED_EDGES.to_vec();
    table.retain(|(m, _)| *m != "store");
    table.push(("store", &["core", "engine"]));
    let found = cycle(&table).expect("a cycle");
    assert!(
        found.contains(&"store".to_string()) && found.contains(&"engine".to_string()),
        "{found:?}"
    );
}

/// What reads a chat app's ids or mention syntax, in `text` of the file
/// `rel` (below `src/`). Chat ids are opaque strings outside their adapter
/// (`channels/chat`); only `channels/discord` makes Discord ids and mentions
/// of them. `config` is the one other reader: it checks the `[discord]`
/// section where the admin wrote it, once at load (settings are parsed once).
fn chat_id_readers(rel: &str, text: &str) -> Vec<String> {
    if rel.starts_with("channels/discord/") || rel.starts_with("config/") {
        return Vec::new();
    }
    let made_anywhere = [
        "ChannelId::new",
        "UserId::new",
        "RoleId::new",
        "GuildId::new",
        "MessageId::new",
        "InteractionId::new",
        "\"<@",
        "<@&",
    ];
    // Where chat ids travel as opaque strings, nothing parses a number.
    let carriers = ["channels/chat/", "engine/", "store/", "outbox/", "queue.rs"];
    let carrier = carriers.iter().any(|c| rel.starts_with(c));
    let mut found = Vec::new();
    for line in code_lines(text) {
        for word in made_anywhere {
            if line.contains(word) {
                found.push(format!("{rel}: `{word}` in `{line}`"));
            }
        }
        if carrier && (line.contains("parse::<u64>") || line.contains("parse::<i64>")) {
            found.push(format!("{rel}: parses a number in `{line}`"));
        }
    }
    found
}

#[test]
fn chat_ids_are_read_only_by_their_adapter() {
    let mut found = Vec::new();
    for file in rust_files(&src()) {
        let text = std::fs::read_to_string(&file).unwrap();
        found.extend(chat_id_readers(&relative(&file), &text));
    }
    assert!(
        found.is_empty(),
        "chat ids are opaque outside their adapter (channels/chat/types.rs); mentions are `Addressee`s the adapter renders:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_chat_id_check_catches_a_reader() {
    let parse = "let id = channel.as_str().parse::<u64>().unwrap();";
    assert_eq!(chat_id_readers("channels/chat/staff.rs", parse).len(), 1);
    assert!(!chat_id_readers("engine/route.rs", "format!(\"<@&{r}>\")").is_empty());
    assert_eq!(
        chat_id_readers("outbox/mod.rs", "ChannelId::new(7)").len(),
        1
    );
    assert!(chat_id_readers("channels/discord/app.rs", parse).is_empty());
    assert!(chat_id_readers("engine/route.rs", "// `<@&ROLE>` in a comment").is_empty());
}
