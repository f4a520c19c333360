//! A damaged store never starts silently, `fsck --repair` keeps what reads,
//! and no ticket ID is handed out twice — after damage or after restoring an
//! older backup.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use itdesk::core::id::TicketId;
use itdesk::core::ticket::Attachment;
use itdesk::store::{Commit, Store};
use serde_json::Value;
use sha2::Digest;

use crate::support::{itdesk_bin, Sandbox};

const TICKETS: usize = 24;

fn open_ticket(sb: &Sandbox, n: usize) -> String {
    let t = sb.cli_json(&[
        "tickets",
        "open",
        "--from",
        &format!("user{n}@example.test"),
        "--subject",
        &format!("Marker-{n:03} printer jams on floor 3"),
        "--body",
        "The printer on floor 3 jams on every second page since this morning.",
        "--json",
    ]);
    t["id"].as_str().expect("id").to_string()
}

fn serial(id: &str) -> u64 {
    id[10..].parse().expect("serial")
}

/// A store the daemon wrote: tickets, queued notices, one attachment large
/// enough for sled to keep it in a blob file of its own.
fn build_store() -> (Sandbox, Vec<String>) {
    let sb = Sandbox::new("");
    let daemon = sb.start_daemon();
    let ids: Vec<String> = (1..=TICKETS).map(|n| open_ticket(&sb, n)).collect();
    daemon.stop();
    let state = sb.dir.path().join("state");
    let screenshot: Vec<u8> = (0..1_500_000u64).map(|i| (i * 7919 % 251) as u8).collect();
    let sha = hex::encode(sha2::Sha256::digest(&screenshot));
    let store = Store::open(&state).expect("open store");
    let id = TicketId::parse(&ids[0]).unwrap();
    let mut ticket = store.ticket(&id).unwrap().expect("first ticket");
    ticket.attachments.push(Attachment {
        name: "screenshot.png".into(),
        content_type: "image/png".into(),
        size: screenshot.len() as u64,
        sha256: sha.clone(),
    });
    store.put_blob(&sha, &screenshot).expect("blob");
    store
        .commit(Commit {
            ticket: Some(&ticket),
            ..Commit::default()
        })
        .expect("commit");
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(store.flush())
        .expect("flush");
    drop(store);
    assert_eq!(
        blob_files(&state).len(),
        1,
        "sled keeps the attachment in a blob file"
    );
    (sb, ids)
}

fn blob_files(state: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(state.join("blobs"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "control.sock" {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn overwrite(file: &Path, at: u64, len: usize) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    f.seek(SeekFrom::Start(at)).unwrap();
    let noise: Vec<u8> = (0..len).map(|i| (i * 131 + 17) as u8 ^ 0x5a).collect();
    f.write_all(&noise).unwrap();
}

/// Where in the log the live copy of ticket `n` is (sled appends; the last
/// copy is the live one). Damage aimed there hits data, not free space.
fn live_copy_of(db: &Path, n: usize) -> u64 {
    let bytes = std::fs::read(db).unwrap();
    let marker = format!("Marker-{n:03}");
    bytes
        .windows(marker.len())
        .rposition(|w| w == marker.as_bytes())
        .expect("marker in the log") as u64
}

/// The seven damages of the issue, applied to a copy of the store.
fn damage(state: &Path, kind: &str) {
    let db = state.join("db");
    let cut = |len: u64| {
        std::fs::File::options()
            .write(true)
            .open(&db)
            .unwrap()
            .set_len(len)
            .unwrap()
    };
    match kind {
        "truncated to half" => cut(live_copy_of(&db, TICKETS / 2)),
        "truncated to 0" => cut(0),
        "random bytes mid-file" => overwrite(&db, live_copy_of(&db, TICKETS / 2), 64),
        "random bytes near the end" => overwrite(&db, live_copy_of(&db, TICKETS), 64),
        "garbled blob" => overwrite(&blob_files(state)[0], 700_000, 256),
        "deleted blob" => std::fs::remove_file(&blob_files(state)[0]).unwrap(),
        "deleted conf" => std::fs::remove_file(state.join("conf")).unwrap(),
        other => unreachable!("{other}"),
    }
}

/// `itdesk run` must exit by itself, unsuccessfully; returns its stderr.
fn run_refuses(sb: &Sandbox, kind: &str) -> String {
    let log = sb.dir.path().join("run.log");
    let mut child = Command::new(itdesk_bin())
        .arg("--config")
        .arg(&sb.config)
        .arg("run")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start itdesk run");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "the daemon started on a store with {kind}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!status.success(), "exit {status}: {text}");
    text
}

#[test]
fn every_damage_refuses_start_up_and_repair_keeps_what_reads_without_reusing_ids() {
    let (original, ids) = build_store();
    let last = ids.last().unwrap().clone();
    let mut repaired = Vec::new();
    for kind in [
        "truncated to half",
        "truncated to 0",
        "random bytes mid-file",
        "random bytes near the end",
        "garbled blob",
        "deleted blob",
        "deleted conf",
    ] {
        let sb = Sandbox::new("");
        let state = sb.dir.path().join("state");
        copy_dir(&original.dir.path().join("state"), &state);
        damage(&state, kind);

        let log = run_refuses(&sb, kind);
        assert!(
            log.contains("is damaged") && log.contains("itdesk fsck --repair"),
            "{kind}: start-up must name the damage and the way out:\n{log}"
        );
        if kind == "garbled blob" {
            // sled drops the blob itself, with a warning: said as ours too.
            assert!(log.contains("sled reported"), "{log}");
        }
        let fsck = sb.cli(&["fsck"]);
        assert!(
            !fsck.status.success(),
            "{kind}: fsck passed a damaged store"
        );

        let repair = sb.cli(&["fsck", "--repair", "--json"]);
        if !repair.status.success() {
            // Nothing readable: the way out is a backup, and the message says
            // so (with --json, as a JSON error on stdout).
            let err = String::from_utf8_lossy(&repair.stdout);
            assert!(err.contains("restore --replace"), "{kind}: {err}");
            continue;
        }
        let report: Value = serde_json::from_slice(&repair.stdout).expect("repair JSON");
        assert!(
            report["kept_in"]
                .as_str()
                .is_some_and(|p| Path::new(p).exists()),
            "{kind}: the damaged files are kept: {report}"
        );
        sb.cli_ok(&["fsck"]);
        let kept = sb.tickets();
        assert!(
            !kept.is_empty(),
            "{kind}: a repair that keeps nothing must refuse"
        );
        for t in &kept {
            assert!(ids.contains(&t["id"].as_str().unwrap().to_string()), "{t}");
        }
        repaired.push(kind);
        let next = open_ticket(&sb, 99);
        assert!(
            serial(&next) > serial(&last),
            "{kind}: {next} reuses an ID handed out before the damage (last was {last})"
        );
    }
    // Only an emptied log leaves sled nothing to read: a backup is the way out.
    assert_eq!(repaired.len(), 6, "repaired: {repaired:?}");
}

#[test]
fn restoring_an_older_backup_never_hands_out_an_id_again() {
    let sb = Sandbox::new("");
    let daemon = sb.start_daemon();
    open_ticket(&sb, 1);
    let backup = sb.dir.path().join("before.itdesk");
    sb.cli_ok(&["backup", backup.to_str().unwrap()]);
    let later: Vec<String> = (2..=11).map(|n| open_ticket(&sb, n)).collect();
    daemon.stop();

    let plain = sb.cli(&["restore", backup.to_str().unwrap()]);
    assert!(
        String::from_utf8_lossy(&plain.stderr).contains("--replace"),
        "a restore over a store points at --replace"
    );
    let replaced = sb.cli_json(&["restore", "--replace", backup.to_str().unwrap(), "--json"]);
    assert!(Path::new(replaced["kept_in"].as_str().unwrap()).exists());
    assert_eq!(sb.tickets().len(), 1, "the backup's one ticket is back");

    let daemon = sb.start_daemon();
    let next = open_ticket(&sb, 12);
    daemon.stop();
    let highest = later.iter().map(|id| serial(id)).max().unwrap();
    assert_eq!(
        serial(&next),
        highest + 1,
        "{next}: IDs continue after the ten opened since the backup"
    );
}
