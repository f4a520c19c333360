//! `cargo bench --bench giant [-- --runs 3 --body-mib 20 --subject-kib 1024 --case body|subject|both]`:
//! one giant mail, then at once a normal request from someone else (issue 17,
//! item 5: bounded work per mail). Each run starts a fresh rig and the release
//! daemon (IMAP IDLE with the default burst polling), sends a warm-up request
//! and waits for its notice, then APPENDs to the helpdesk INBOX the giant mail
//! from tech — a `text/plain` body of `--body-mib` MiB (a log dump, under the
//! 25 MiB message cap), or in the second case a Subject header of
//! `--subject-kib` KiB — and right after it a normal short request from alice.
//! Measured: from the start of the normal mail's APPEND until its accepted
//! notice can be read in alice's INBOX (her client looks every 10 ms); the
//! same for the giant mail's notice in tech's INBOX from the start of its
//! APPEND; the daemon's peak RSS over the run (VmHWM); and, through
//! `itdesk tickets show ID --json`, that the giant ticket's description and
//! subject and the notice's Subject are capped. Medians of the runs.
//! Targets: normal notice ≤ 2 s, peak RSS < 128 MB. See docs/benchmarks.md.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{median, request, Daemon, MailRig, HELPDESK};
use serde_json::Value;

const ALICE: &str = "alice@example.test";
const TECH: &str = "tech@example.test";
/// How long a notice may take before the bench gives up (the issue's
/// original finding was 175 s).
const NOTICE_TIMEOUT: Duration = Duration::from_secs(600);
/// The targets.
const NORMAL_NOTICE_TARGET_S: f64 = 2.0;
const PEAK_RSS_TARGET_MB: f64 = 128.0;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Case {
    /// A `text/plain` body of this many bytes.
    Body(usize),
    /// A Subject header of this many bytes.
    Subject(usize),
}

impl Case {
    fn describe(self) -> String {
        match self {
            Case::Body(bytes) => format!("{} MiB text/plain body", bytes >> 20),
            Case::Subject(bytes) => format!("{} KiB Subject header", bytes >> 10),
        }
    }
}

/// What one run measured.
struct Figures {
    /// Normal mail: APPEND start → accepted notice readable, seconds.
    normal_s: f64,
    /// Giant mail: APPEND start → accepted notice readable, seconds.
    giant_s: f64,
    /// How long the giant APPEND itself took (the rig, not itdesk), seconds.
    giant_append_s: f64,
    /// VmHWM after the warm-up request, before the giant mail, MiB.
    peak_before_mib: f64,
    /// VmHWM at the end of the run, MiB.
    peak_mib: f64,
    /// The giant ticket as stored.
    description_bytes: usize,
    description_chars: usize,
    subject_chars: usize,
    /// `body.txt`'s size, if the ticket has one.
    full_body_bytes: Option<u64>,
    /// The giant mail's notice: its decoded Subject, in characters, and the
    /// raw (unfolded) Subject header, in bytes.
    notice_subject_chars: usize,
    notice_subject_header_bytes: usize,
}

fn main() {
    let runs: usize = common::arg("--runs", 3);
    let body_mib: usize = common::arg("--body-mib", 20);
    let subject_kib: usize = common::arg("--subject-kib", 1024);
    let which: String = common::arg("--case", "both".to_string());
    let cases = match which.as_str() {
        "body" => vec![Case::Body(body_mib << 20)],
        "subject" => vec![Case::Subject(subject_kib << 10)],
        "both" => vec![Case::Body(body_mib << 20), Case::Subject(subject_kib << 10)],
        other => panic!("--case body|subject|both, not {other}"),
    };
    println!("giant-mail bench: {runs} runs per case, each on a fresh rig and daemon");
    println!("machine: {}", common::machine());
    let mut results = Vec::new();
    for &case in &cases {
        println!("\ncase: {}, then a normal request", case.describe());
        let mut figures = Vec::new();
        for run in 0..runs {
            let f = one_run(case, run);
            println!(
                "run {}: normal notice {:.2} s | giant notice {:.2} s (its APPEND {:.2} s) | peak RSS {:.1} MiB (before the giant {:.1}) | ticket: description {} bytes / {} chars, subject {} chars, body.txt {} | notice Subject {} chars, header {} bytes | load {}",
                run + 1,
                f.normal_s,
                f.giant_s,
                f.giant_append_s,
                f.peak_mib,
                f.peak_before_mib,
                f.description_bytes,
                f.description_chars,
                f.subject_chars,
                f.full_body_bytes
                    .map_or("none".to_string(), |b| format!("{b} bytes")),
                f.notice_subject_chars,
                f.notice_subject_header_bytes,
                common::load()
            );
            figures.push(f);
        }
        results.push((case, figures));
    }

    println!("\nmedians of {runs} runs (runs in brackets)");
    println!("| giant mail | normal notice | giant notice | peak RSS (VmHWM) | stored description | stored subject | notice Subject |");
    println!("|---|---|---|---|---|---|---|");
    for (case, figures) in &results {
        let col = |get: &dyn Fn(&Figures) -> f64, unit: &str, digits: usize| {
            let values: Vec<f64> = figures.iter().map(get).collect();
            let runs: Vec<String> = values.iter().map(|v| format!("{v:.digits$}")).collect();
            format!("{:.digits$} {unit} ({})", median(&values), runs.join(", "))
        };
        let max = |get: &dyn Fn(&Figures) -> usize| figures.iter().map(get).max().unwrap_or(0);
        println!(
            "| {} | {} | {} | {} | ≤ {} bytes | ≤ {} chars | ≤ {} chars |",
            case.describe(),
            col(&|f| f.normal_s, "s", 2),
            col(&|f| f.giant_s, "s", 2),
            col(&|f| f.peak_mib, "MiB", 1),
            max(&|f| f.description_bytes),
            max(&|f| f.subject_chars),
            max(&|f| f.notice_subject_chars),
        );
    }
    for (case, figures) in &results {
        let normal = median(&figures.iter().map(|f| f.normal_s).collect::<Vec<_>>());
        let peak_mb = figures
            .iter()
            .map(|f| f.peak_mib * 1024.0 * 1024.0 / 1e6)
            .fold(0.0, f64::max);
        println!(
            "{}: normal notice ≤ {NORMAL_NOTICE_TARGET_S} s: {} (median {normal:.2} s); peak RSS < {PEAK_RSS_TARGET_MB} MB: {} (highest run {peak_mb:.1} MB)",
            case.describe(),
            if normal <= NORMAL_NOTICE_TARGET_S { "met" } else { "MISSED" },
            if peak_mb < PEAK_RSS_TARGET_MB { "met" } else { "MISSED" },
        );
    }
}

fn one_run(case: Case, run: usize) -> Figures {
    let rig = MailRig::start();
    let dir = tempfile::Builder::new()
        .prefix("itdesk-bench-giant")
        .tempdir()
        .expect("temp dir");
    let toml = rig.config(
        "[outbox]\nmax_notices_per_recipient_per_hour = 100000\n[imap]\nidle = true\npoll_seconds = 3600\n",
    );
    let daemon = Daemon::start(dir.path(), &toml);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let tag = format!("giant{run}");
    let giant_id = format!("bench-{tag}-giant@example.test");
    // Built before the clock starts.
    let giant = match case {
        Case::Body(bytes) => giant_body_request(&giant_id, bytes),
        Case::Subject(bytes) => giant_subject_request(&giant_id, bytes),
    };
    // Even requests are alice's.
    let normal = request(2, &tag);
    let normal_id = common::message_id(2, &tag);

    let (seen_tx, seen_rx) = mpsc::channel::<Notice>();
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let (stop_tx2, stop_rx2) = mpsc::channel::<()>();
    let rig_ref = &rig;
    std::thread::scope(|scope| {
        let tx2 = seen_tx.clone();
        scope.spawn(move || watch(rig_ref, ALICE, seen_tx, stop_rx));
        scope.spawn(move || watch(rig_ref, TECH, tx2, stop_rx2));

        // A warm-up request: the daemon has processed mail and is in its
        // burst polling when the giant one arrives, as in a working day.
        let mut appender = rt.block_on(rig.login(HELPDESK));
        let warm_id = common::message_id(0, &format!("{tag}w"));
        rt.block_on(appender.append("INBOX", None, None, request(0, &format!("{tag}w"))))
            .expect("APPEND");
        let warm = seen_rx
            .recv_timeout(NOTICE_TIMEOUT)
            .expect("the warm-up notice");
        assert_eq!(warm.in_reply_to, warm_id);
        let peak_before_mib = daemon.peak_rss_kib() as f64 / 1024.0;

        let giant_appended = Instant::now();
        rt.block_on(appender.append("INBOX", None, None, &giant))
            .expect("APPEND of the giant mail");
        let normal_appended = Instant::now();
        rt.block_on(appender.append("INBOX", None, None, &normal))
            .expect("APPEND");
        let giant_append_s = normal_appended.duration_since(giant_appended).as_secs_f64();
        drop(giant);

        let mut notices: HashMap<String, Notice> = HashMap::new();
        while !(notices.contains_key(&giant_id) && notices.contains_key(&normal_id)) {
            let notice = seen_rx.recv_timeout(NOTICE_TIMEOUT).unwrap_or_else(|_| {
                panic!(
                    "no notice for {} within {NOTICE_TIMEOUT:?}; log tail:\n{}",
                    if notices.contains_key(&giant_id) {
                        "the normal mail"
                    } else {
                        "the giant mail"
                    },
                    common::tail(&daemon.log_text(), 30)
                )
            });
            notices.insert(notice.in_reply_to.clone(), notice);
        }
        let peak_mib = daemon.peak_rss_kib() as f64 / 1024.0;
        let _ = stop_tx.send(());
        let _ = stop_tx2.send(());
        let _ = rt.block_on(appender.logout());

        let ticket = stored_ticket(dir.path(), &giant_id);
        let text = |key: &str| ticket[key].as_str().unwrap_or_default().to_string();
        let description = text("description");
        let full_body_bytes = ticket["attachments"].as_array().and_then(|all| {
            all.iter()
                .find(|a| a["name"] == "body.txt")
                .and_then(|a| a["size"].as_u64())
        });
        let giant_notice = &notices[&giant_id];
        let figures = Figures {
            normal_s: notices[&normal_id]
                .at
                .duration_since(normal_appended)
                .as_secs_f64(),
            giant_s: giant_notice.at.duration_since(giant_appended).as_secs_f64(),
            giant_append_s,
            peak_before_mib,
            peak_mib,
            description_bytes: description.len(),
            description_chars: description.chars().count(),
            subject_chars: text("subject").chars().count(),
            full_body_bytes,
            notice_subject_chars: giant_notice.subject_chars,
            notice_subject_header_bytes: giant_notice.subject_header_bytes,
        };
        daemon.stop();
        figures
    })
}

/// A log dump of `bytes` bytes as the body of a request from tech.
fn giant_body_request(message_id: &str, bytes: usize) -> Vec<u8> {
    let mut raw = format!(
        "From: Tech Li <{TECH}>\r\nTo: IT Helpdesk <{HELPDESK}>\r\nSubject: Order server crashed at 09:14, full log below\r\n\
         Date: Mon, 2 Oct 2023 10:05:00 +0800\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Hello,\r\n\r\nthe order server crashed at 09:14 and again at 09:40. Its whole log is below.\r\n\r\n"
    )
    .into_bytes();
    let body_start = raw.len();
    let mut n: u64 = 0;
    while raw.len() - body_start < bytes {
        let line = format!(
            "2023-10-02 09:{:02}:{:02}.{:03} INFO  [worker-{}] GET /api/orders/{} 200 {} ms client=10.0.{}.{}\r\n",
            (n / 60_000) % 60,
            (n / 1000) % 60,
            n % 1000,
            n % 8,
            100_000 + n * 7 % 900_000,
            n * 13 % 997,
            n % 250,
            n * 31 % 250
        );
        raw.extend_from_slice(line.as_bytes());
        n += 1;
    }
    raw.truncate(body_start + bytes);
    raw.extend_from_slice(b"\r\n");
    raw
}

/// A request from tech whose Subject header is `bytes` bytes of an error
/// message pasted over and over, folded at 78 columns.
fn giant_subject_request(message_id: &str, bytes: usize) -> Vec<u8> {
    let mut subject = String::with_capacity(bytes + bytes / 38);
    let mut line = 9; // "Subject: "
    let words = "ORA-12541: TNS no listener at db01 port 1521 "
        .split(' ')
        .filter(|w| !w.is_empty())
        .cycle();
    for word in words {
        if subject.len() >= bytes {
            break;
        }
        if line + 1 + word.len() > 78 {
            subject.push_str("\r\n ");
            line = 1;
        } else if !subject.is_empty() {
            subject.push(' ');
            line += 1;
        }
        subject.push_str(word);
        line += word.len();
    }
    format!(
        "From: Tech Li <{TECH}>\r\nTo: IT Helpdesk <{HELPDESK}>\r\nSubject: {subject}\r\n\
         Date: Mon, 2 Oct 2023 10:05:00 +0800\r\nMessage-ID: <{message_id}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Hello,\r\n\r\nthe sales database refuses connections since 09:14, see the subject.\r\n"
    )
    .into_bytes()
}

/// A notice as the requester's client first saw it.
struct Notice {
    in_reply_to: String,
    at: Instant,
    subject_chars: usize,
    subject_header_bytes: usize,
}

/// Looks for new mail in `user`'s INBOX every 10 ms until told to stop.
fn watch(rig: &MailRig, user: &str, seen: mpsc::Sender<Notice>, stop: mpsc::Receiver<()>) {
    common::watch_headers(rig, user, stop, |header, now| {
        let Some(parsed) = mail_parser::MessageParser::default().parse_headers(header) else {
            return;
        };
        let in_reply_to = parsed.in_reply_to().as_text().map(|id| {
            id.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        });
        let raw_subject = parsed
            .headers_raw()
            .find(|(name, _)| name.eq_ignore_ascii_case("Subject"))
            .map(|(_, value)| value.replace(['\r', '\n'], "").trim().len())
            .unwrap_or(0);
        if let Some(mid) = in_reply_to {
            let _ = seen.send(Notice {
                in_reply_to: mid,
                at: now,
                subject_chars: parsed.subject().unwrap_or_default().chars().count(),
                subject_header_bytes: raw_subject,
            });
        }
    });
}

/// The ticket opened by `message_id`, through the CLI: `tickets list --json`
/// finds its ID, `tickets show ID --json` reads it.
fn stored_ticket(dir: &Path, message_id: &str) -> Value {
    let list = itdesk_json(dir, &["tickets", "list", "--json"]);
    let id = list
        .as_array()
        .into_iter()
        .flatten()
        .find(|t| t["source_message_id"].as_str() == Some(message_id))
        .and_then(|t| t["id"].as_str())
        .unwrap_or_else(|| panic!("no ticket opened by {message_id}"))
        .to_string();
    itdesk_json(dir, &["tickets", "show", &id, "--json"])
}

fn itdesk_json(dir: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_itdesk"))
        .arg("--config")
        .arg(dir.join("itdesk.toml"))
        .args(args)
        .output()
        .expect("run itdesk");
    assert!(
        out.status.success(),
        "itdesk {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("itdesk printed JSON")
}
