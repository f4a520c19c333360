//! `cargo bench --bench ingest [-- --n 2000 --runs 3 --attach 'CMD {pid}']`:
//! a burst of N help requests already in the helpdesk INBOX of a real Dovecot +
//! Postfix rig → time until every ticket is committed (INBOX has no UNSEEN
//! left: a message is marked only after its commit) and until every accepted
//! notice was accepted by Postfix (its cleanup logged the notice's Message-ID);
//! the daemon's peak RSS in the burst. In the same run, on the same rig, the
//! limits: a client that only UID FETCHes the N messages, and one that only
//! submits N small mails over one pooled connection (lettre). `--attach` runs a
//! profiler on the daemon for the burst (`{pid}` is replaced; it gets SIGINT);
//! `--toml 'TOML'` adds to the daemon's config (`\n` for newlines);
//! `--tickets-only` waits for the tickets alone; `--quick` skips the
//! submission limits, `--nagle-check` adds one without TCP_NODELAY.
//! `--peer CMD --peer-setup CMD` (scripts/bench-peer.sh) also runs
//! a peer helpdesk on the same N messages in a fresh rig each run: setup is
//! untimed, then CMD is timed until it exits, its peak RSS read by GNU time;
//! both get the rig's ports as IMAP_PORT, SMTP_PORT, CA_FILE in the environment.
//! See docs/benchmarks.md.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{median, notices_accepted, request, Daemon, MailRig, HELPDESK};
use futures::TryStreamExt;
use lettre::message::{Mailbox, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A burst must finish within this, or the bench fails.
const BURST_TIMEOUT: Duration = Duration::from_secs(900);
/// How often the bench looks at the INBOX and Postfix's log: the resolution
/// of the times it reports.
const POLL: Duration = Duration::from_millis(50);

struct Run {
    fetch_one: f64,
    /// Start → the first chunk marked \Seen: start-up, login, first fetch.
    first_chunk: f64,
    fetch_chunked: f64,
    committed: f64,
    notices: f64,
    peak_rss_mib: f64,
    submit: f64,
    submit_nodelay: f64,
    /// The peer's time and peak RSS, with `--peer`.
    peer: Option<(f64, f64)>,
}

fn main() {
    let n: usize = common::arg("--n", 2000);
    let runs: usize = common::arg("--runs", 3);
    let attach: String = common::arg("--attach", String::new());
    let peer: String = common::arg("--peer", String::new());
    let peer_setup: String = common::arg("--peer-setup", "true".to_string());
    println!("ingest bench: N = {n}, {runs} runs");
    println!("machine: {}", common::machine());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut all = Vec::new();
    for r in 0..runs {
        let mut run = one_run(&rt, n, r, &attach);
        if !peer.is_empty() {
            run.peer = Some(peer_run(n, r, &peer_setup, &peer));
            let (secs, rss) = run.peer.expect("just set");
            println!("run {}: peer: {secs:.2} s for {n} mails with their acknowledgements, peak RSS {rss:.1} MiB", r + 1);
        }
        let submission = if run.submit.is_finite() {
            format!(
                " | submission limit {:.2} s (raw client with TCP_NODELAY: {:.2} s)",
                run.submit, run.submit_nodelay
            )
        } else {
            String::new()
        };
        println!(
            "run {}: UID FETCH limit {:.2} s (in chunks of 50 then 200: {:.2} s) | itdesk: first chunk committed {:.2} s, all committed {:.2} s, all notices accepted {:.2} s, peak RSS {:.1} MiB{submission} | load {}",
            r + 1,
            run.fetch_one,
            run.fetch_chunked,
            run.first_chunk,
            run.committed,
            run.notices,
            run.peak_rss_mib,
            common::load()
        );
        all.push(run);
    }
    let med = |f: fn(&Run) -> f64| median(&all.iter().map(f).collect::<Vec<_>>());
    let (fetch, chunked, committed, notices) = (
        med(|r| r.fetch_one),
        med(|r| r.fetch_chunked),
        med(|r| r.committed),
        med(|r| r.notices),
    );
    let rate = |secs: f64| n as f64 / secs;
    println!("\nmedians of {runs} runs, N = {n}:");
    println!("| what | time | rate |");
    println!("|---|---|---|");
    println!(
        "| limit: UID FETCH of the N messages, one command | {fetch:.2} s | {:.0} msg/s |",
        rate(fetch)
    );
    println!(
        "| limit: UID FETCH in chunks, 50 then 200 each (as itdesk fetches) | {chunked:.2} s | {:.0} msg/s |",
        rate(chunked)
    );
    // NaN: `--quick` skipped the submission limits.
    let (submit, submit_nodelay) = (med(|r| r.submit), med(|r| r.submit_nodelay));
    if submit.is_finite() {
        println!(
            "| limit: N submissions over one pooled SMTP connection | {submit:.2} s | {:.0} msg/s |",
            rate(submit)
        );
        println!(
            "| same, hand-written SMTP client with TCP_NODELAY | {submit_nodelay:.2} s | {:.0} msg/s |",
            rate(submit_nodelay)
        );
    }
    println!(
        "| itdesk: start → first chunk of 50 committed and marked \\Seen | {:.2} s | |",
        med(|r| r.first_chunk)
    );
    println!("| itdesk: start → every ticket committed and marked \\Seen | {committed:.2} s | {:.0} tickets/s |", rate(committed));
    println!("| itdesk: start → every accepted notice accepted by Postfix | {notices:.2} s | {:.0} notices/s |", rate(notices));
    println!(
        "| itdesk peak RSS in the burst (VmHWM) | {:.1} MiB | |",
        med(|r| r.peak_rss_mib)
    );
    if !peer.is_empty() {
        let (secs, rss) = (
            med(|r| r.peer.map_or(f64::NAN, |p| p.0)),
            med(|r| r.peer.map_or(f64::NAN, |p| p.1)),
        );
        println!("| peer: start → every mail a ticket, acknowledgements sent | {secs:.2} s | {:.1} tickets/s |", rate(secs));
        println!("| peer peak RSS | {rss:.1} MiB | |");
        println!("\nitdesk commits tickets {:.0}× as fast as the peer ({:.0}× counting until every notice was accepted)", secs / committed, secs / notices);
    }
    println!(
        "\nitdesk tickets at {:.0} % of the UID FETCH limit ({:.0} % of the chunked one)",
        100.0 * fetch / committed,
        100.0 * chunked / committed,
    );
    if submit.is_finite() {
        println!(
            "itdesk notices at {:.0} % of the pooled-submission limit (lettre), {:.0} % of the TCP_NODELAY one",
            100.0 * submit / notices,
            100.0 * submit_nodelay / notices
        );
    }
}

fn one_run(rt: &tokio::runtime::Runtime, n: usize, run: usize, attach: &str) -> Run {
    let rig = MailRig::start();
    let tag = format!("r{run}");
    let raws: Vec<Vec<u8>> = (0..n).map(|i| request(i, &tag)).collect();
    rig.append_unordered(HELPDESK, "INBOX", &raws);

    let fetch_one = rt.block_on(fetch_limit(&rig, n, None));
    let fetch_chunked = rt.block_on(fetch_limit(&rig, n, Some((50, 200))));

    let dir = tempfile::Builder::new()
        .prefix("itdesk-bench")
        .tempdir()
        .expect("temp dir");
    // `--toml` adds to (or overrides) the daemon's config, for experiments.
    let extra = common::arg("--toml", String::new()).replace("\\n", "\n");
    let toml = rig.config(&format!(
        "[outbox]\nmax_notices_per_recipient_per_hour = 100000\n[imap]\nidle = true\n{extra}"
    ));
    let start = Instant::now();
    let daemon = Daemon::start(dir.path(), &toml);
    let profiler = (!attach.is_empty()).then(|| {
        Command::new("sh")
            .arg("-c")
            .arg(attach.replace("{pid}", &daemon.pid().to_string()))
            .spawn()
            .expect("start the profiler")
    });
    // `--tickets-only`: the notices are not waited for (say, with `--toml`
    // pointing [smtp] nowhere, to time the intake alone).
    let tickets_only = common::flag("--tickets-only");
    let (mut first_chunk, mut committed, mut notices) = (None, None, None);
    rt.block_on(async {
        let mut watch = rig.login(HELPDESK).await;
        let deadline = Instant::now() + BURST_TIMEOUT;
        while committed.is_none() || (notices.is_none() && !tickets_only) {
            if committed.is_none() {
                let unseen = watch
                    .status("INBOX", "(UNSEEN)")
                    .await
                    .expect("STATUS")
                    .unseen
                    .unwrap_or(u32::MAX) as usize;
                if first_chunk.is_none() && unseen < n {
                    first_chunk = Some(start.elapsed().as_secs_f64());
                }
                if unseen == 0 {
                    committed = Some(start.elapsed().as_secs_f64());
                }
            }
            if notices.is_none() && notices_accepted(&rig) >= n {
                notices = Some(start.elapsed().as_secs_f64());
            }
            daemon.assert_alive("the burst");
            assert!(
                Instant::now() < deadline,
                "the burst took longer than {BURST_TIMEOUT:?}"
            );
            tokio::time::sleep(POLL).await;
        }
        let _ = watch.logout().await;
    });
    if let Some(mut p) = profiler {
        common::signal(p.id(), "INT");
        let _ = p.wait();
    }
    let peak_rss_mib = daemon.peak_rss_kib() as f64 / 1024.0;
    daemon.stop();
    // Postfix is still delivering the notices to Dovecot; the submission limit
    // gets a quiet server, as itdesk had one.
    let deadline = Instant::now() + BURST_TIMEOUT;
    while !tickets_only && rig.count("alice", "INBOX") + rig.count("tech", "INBOX") < n {
        assert!(
            Instant::now() < deadline,
            "the notices were not delivered to the mailboxes"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // `--quick` (profiling, experiments) skips the slow submission limits.
    let quick = common::flag("--quick") || tickets_only;
    let submit = if quick {
        f64::NAN
    } else {
        rt.block_on(submit_limit(&rig, n))
    };
    let submit_nodelay = if quick {
        f64::NAN
    } else {
        rt.block_on(submit_raw(&rig, n, true))
    };
    if common::flag("--nagle-check") {
        println!(
            "raw SMTP client without TCP_NODELAY: {:.2} s",
            rt.block_on(submit_raw(&rig, n, false))
        );
    }
    Run {
        fetch_one,
        fetch_chunked,
        first_chunk: first_chunk.expect("waited for it"),
        committed: committed.expect("waited for it"),
        notices: notices.unwrap_or(f64::NAN),
        peak_rss_mib,
        submit,
        submit_nodelay,
        peer: None,
    }
}

/// Seconds for a fresh client to log in, select the INBOX and UID FETCH every
/// message's body (without marking it), in one command or in chunks (the
/// first of `.0` messages, the others of `.1`, as itdesk's `drain`).
async fn fetch_limit(rig: &MailRig, n: usize, chunk: Option<(usize, usize)>) -> f64 {
    let start = Instant::now();
    let mut s = rig.login(HELPDESK).await;
    s.select("INBOX").await.expect("SELECT");
    let mut uids: Vec<u32> = s
        .uid_search("ALL")
        .await
        .expect("SEARCH")
        .into_iter()
        .collect();
    uids.sort_unstable();
    let mut bytes = 0;
    let mut fetched = 0;
    let (first, rest) = chunk.unwrap_or((uids.len(), uids.len()));
    let (head, tail) = uids.split_at(first.min(uids.len()));
    let parts = std::iter::once(head).chain(tail.chunks(rest.max(1)));
    for part in parts.filter(|p| !p.is_empty()) {
        let set = part
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let set = if chunk.is_none() {
            "1:*".to_string()
        } else {
            set
        };
        let got: Vec<_> = s
            .uid_fetch(set, "(UID BODY.PEEK[])")
            .await
            .expect("FETCH")
            .try_collect()
            .await
            .expect("FETCH");
        fetched += got.len();
        bytes += got
            .iter()
            .map(|f| f.body().map_or(0, <[u8]>::len))
            .sum::<usize>();
    }
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(
        fetched, n,
        "the limit client fetched every message ({bytes} bytes)"
    );
    let _ = s.logout().await;
    secs
}

/// Seconds to submit `n` small mails, one after another, over one pooled,
/// authenticated SMTP connection, as itdesk's lettre transport does.
async fn submit_limit(rig: &MailRig, n: usize) -> f64 {
    let port: u16 = rig.var("SMTP_PORT").parse().expect("SMTP port");
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .credentials(Credentials::new(
            HELPDESK.into(),
            common::mailrig::PASSWORD.into(),
        ))
        .pool_config(PoolConfig::new().max_size(1))
        .build();
    let from: Mailbox = format!("IT Helpdesk <{HELPDESK}>").parse().expect("from");
    let start = Instant::now();
    for i in 0..n {
        let to: Mailbox = if i % 2 == 0 {
            "alice@example.test"
        } else {
            "tech@example.test"
        }
        .parse()
        .expect("to");
        let mail = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(format!("[IT20231002{i:04}] Your ticket was accepted"))
            .message_id(Some(format!("<limit-{i}@limit.bench>")))
            .singlepart(SinglePart::plain(
                "Hello,\n\nyour request was accepted as ticket IT20231002001 (hardware group, medium).\nWe expect to resolve it by 2023-10-03 10:05.\n\nIT Helpdesk\n".to_string(),
            ))
            .expect("mail");
        transport.send(mail).await.expect("SMTP submission");
    }
    start.elapsed().as_secs_f64()
}

/// Seconds to submit `n` small mails over one connection with a minimal SMTP
/// client that writes the body and its terminating dot as lettre does (two
/// writes) — with TCP_NODELAY, or without it to show what Nagle's algorithm
/// and the server's delayed ACK cost per message.
async fn submit_raw(rig: &MailRig, n: usize, nodelay: bool) -> f64 {
    use base64::Engine as _;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    async fn reply(r: &mut BufReader<tokio::net::TcpStream>) -> u16 {
        let mut line = String::new();
        loop {
            line.clear();
            r.read_line(&mut line).await.expect("SMTP reply");
            if line.as_bytes().get(3) != Some(&b'-') {
                return line
                    .get(..3)
                    .and_then(|c| c.parse().ok())
                    .unwrap_or_else(|| panic!("bad SMTP reply {line:?}"));
            }
        }
    }
    async fn command(r: &mut BufReader<tokio::net::TcpStream>, line: &str, want: u16) {
        r.get_mut()
            .write_all(line.as_bytes())
            .await
            .expect("SMTP write");
        let code = reply(r).await;
        assert_eq!(code, want, "SMTP {line:?}");
    }

    let port: u16 = rig.var("SMTP_PORT").parse().expect("SMTP port");
    let start = Instant::now();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to the rig's SMTP");
    tcp.set_nodelay(nodelay).expect("TCP_NODELAY");
    let mut r = BufReader::new(tcp);
    assert_eq!(reply(&mut r).await, 220);
    command(&mut r, "EHLO bench.localhost\r\n", 250).await;
    let token = base64::engine::general_purpose::STANDARD
        .encode(format!("\0{HELPDESK}\0{}", common::mailrig::PASSWORD));
    command(&mut r, &format!("AUTH PLAIN {token}\r\n"), 235).await;
    for i in 0..n {
        let to = if i % 2 == 0 {
            "alice@example.test"
        } else {
            "tech@example.test"
        };
        command(&mut r, &format!("MAIL FROM:<{HELPDESK}>\r\n"), 250).await;
        command(&mut r, &format!("RCPT TO:<{to}>\r\n"), 250).await;
        command(&mut r, "DATA\r\n", 354).await;
        let body = format!(
            "From: IT Helpdesk <{HELPDESK}>\r\nTo: <{to}>\r\nSubject: [IT20231002{i:04}] Your ticket was accepted\r\nMessage-ID: <raw-{i}-{nodelay}@limit.bench>\r\n\
             MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n\r\nyour request was accepted as ticket IT20231002001 (hardware group, medium).\r\n\
             We expect to resolve it by 2023-10-03 10:05.\r\n\r\nIT Helpdesk"
        );
        r.get_mut()
            .write_all(body.as_bytes())
            .await
            .expect("SMTP write");
        command(&mut r, "\r\n.\r\n", 250).await;
    }
    command(&mut r, "QUIT\r\n", 221).await;
    start.elapsed().as_secs_f64()
}

/// The peer on a fresh rig with the same N messages: (seconds, peak RSS MiB).
fn peer_run(n: usize, run: usize, setup: &str, cmd: &str) -> (f64, f64) {
    let rig = MailRig::start();
    let tag = format!("r{run}");
    let raws: Vec<Vec<u8>> = (0..n).map(|i| request(i, &tag)).collect();
    rig.append_unordered(HELPDESK, "INBOX", &raws);
    let env = [
        ("IMAP_PORT", rig.var("IMAP_PORT")),
        ("SMTP_PORT", rig.var("SMTP_PORT")),
        ("CA_FILE", rig.var("CA_FILE")),
    ];
    let status = Command::new("sh")
        .arg("-c")
        .arg(setup)
        .envs(env)
        .status()
        .expect("run the peer setup");
    assert!(status.success(), "peer setup failed: {setup}");
    let rss_file = tempfile::NamedTempFile::new().expect("temp file");
    let start = Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-o")
        .arg(rss_file.path())
        .args(["-f", "%M", "sh", "-c", cmd])
        .envs(env)
        .status()
        .expect("run the peer (needs GNU time in /usr/bin/time)");
    let secs = start.elapsed().as_secs_f64();
    assert!(status.success(), "the peer failed: {cmd}");
    let left = rig.count(HELPDESK, "INBOX");
    assert_eq!(left, 0, "the peer left {left} of {n} mails unprocessed");
    let acks = rig
        .postfix_log()
        .lines()
        .filter(|l| l.contains("/qmgr[") && l.contains(&format!("from=<{HELPDESK}>")))
        .count();
    assert!(
        acks >= n,
        "the peer's acknowledgements: Postfix accepted {acks}, not {n}"
    );
    let kib: f64 = std::fs::read_to_string(rss_file.path())
        .expect("GNU time output")
        .trim()
        .lines()
        .last()
        .and_then(|l| l.parse().ok())
        .expect("peak RSS from GNU time");
    (secs, kib / 1024.0)
}
