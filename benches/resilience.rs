//! `cargo bench --bench resilience [-- --runs 20 --mails 1000 --window-ms 1500
//! --outage-seconds 60 --dms 1000 --dm-seconds 20 --mention-every 2
//! --only sigkill|dovecot|postfix|restore|discord]` (scripts/resilience.sh): the long
//! resilience scenarios. The mail ones run against a real Dovecot + Postfix
//! rig, each on a fresh rig with `--mails` help requests waiting in the
//! helpdesk INBOX:
//!
//! - `sigkill`: the daemon is SIGKILLed at a random moment of its burst
//!   (uniform in the first `--window-ms`, which spans ticket commits and the
//!   notices after them), restarted, and left to finish; `--runs` times.
//! - `dovecot`: Dovecot is SIGKILLed mid-burst and restarted a few seconds later.
//! - `postfix`: Postfix is stopped while notices go out, for `--outage-seconds`.
//! - `restore`: with `after_processing = "move"` and `[smtp] save_sent`, a
//!   backup is taken once half the requests are tickets, the burst finishes,
//!   the store is replaced by the backup, and `itdesk recover` brings the rest
//!   back from `Processed`: each under the ID its requester was told, without
//!   a second notice; a second `recover` adds nothing.
//!
//! - `discord`: a fresh store, the daemon connected to the tests' fake Discord
//!   (tests/it/fake_discord.rs, loopback), `--dms` requesters writing once each
//!   at a steady pace over `--dm-seconds` (every `--mention-every`th mentions
//!   the bot in the help channel instead of a DM), while the fake drops the
//!   gateway four times: the connection cut (the bot resumes, Discord replays),
//!   heartbeats no longer acknowledged (serenity gives up the session and
//!   identifies anew), the connection cut with the resume refused (a new
//!   session too), cut again. What a dead session missed is only in the
//!   channels' history: the bot must read it back. Audited like the mail: DMs
//!   without a ticket, duplicate tickets, requesters without their "accepted"
//!   reply, repeated replies, dead letters. A first DM sent into a dead session
//!   is counted apart as unreachable: Discord replays nothing to a new session
//!   and a bot cannot list its DM channels, so no client could find it.
//!
//! After each, with everything delivered, the store and the requesters'
//! mailboxes are audited: lost tickets (goal 0), duplicate tickets (0),
//! missing notices (0), repeated notices — allowed only for a notice in flight
//! at the crash, which goes again with the same Message-ID — and notices
//! repeated under a different Message-ID (0). Not part of `cargo test`: the
//! short versions of these are tests/it/crash.rs, tests/it/email.rs,
//! tests/it/resilience.rs and tests/it/discord.rs.

mod common;
#[path = "common/discord.rs"]
mod discord;
#[path = "../tests/it/support.rs"]
#[allow(dead_code)] // the fake needs `wait_until`
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{message_id, notices_accepted, request, Daemon, MailRig, HELPDESK, NOTICE_DOMAIN};
use itdesk::store::Store;

/// Recovery (restart → everything delivered) must finish within this.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(600);

struct Outcome {
    scenario: String,
    /// What the fault interrupted: tickets committed and notices accepted by then.
    at_fault: String,
    tickets: usize,
    lost: usize,
    /// Chat only: first DMs sent into a dead gateway session, which no client
    /// can find (not counted in `lost`).
    unreachable: usize,
    duplicates: usize,
    missing_notices: usize,
    /// Extra copies of a notice under the same Message-ID (in flight at the crash).
    resent_in_flight: usize,
    /// Extra notices under a different Message-ID: a notice decided twice.
    repeated_different: usize,
    dead_letters: usize,
    recovery_secs: f64,
}

fn main() {
    let runs: usize = common::arg("--runs", 20);
    let mails: usize = common::arg("--mails", 1000);
    let window = Duration::from_millis(common::arg("--window-ms", 1500));
    let outage = Duration::from_secs(common::arg("--outage-seconds", 60));
    let only: String = common::arg("--only", String::new());
    let dms: usize = common::arg("--dms", 1000);
    let dm_time = Duration::from_secs_f64(common::arg("--dm-seconds", 20.0));
    let mention_every: usize = common::arg("--mention-every", 2);
    println!("resilience: {mails} mails per scenario; {runs} SIGKILL runs in the first {window:?}; Postfix outage {outage:?}; Discord: {dms} requesters over {dm_time:?}, 1 in {mention_every} a help-channel mention");
    println!("machine: {}", common::machine());
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ u64::from(std::process::id());
    let mut outcomes = Vec::new();
    if only.is_empty() || only == "sigkill" {
        for run in 0..runs {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = Duration::from_millis(seed % window.as_millis().max(1) as u64);
            outcomes.push(report(sigkill(mails, run, at)));
        }
    }
    if only.is_empty() || only == "dovecot" {
        outcomes.push(report(dovecot_killed(mails)));
    }
    if only.is_empty() || only == "postfix" {
        outcomes.push(report(postfix_stopped(mails, outage)));
    }
    if only.is_empty() || only == "restore" {
        outcomes.push(report(restored_then_recovered(mails)));
    }
    if only.is_empty() || only == "discord" {
        outcomes.push(report(discord_dropped(dms, dm_time, mention_every)));
    }
    println!("\n| scenario | at the fault | tickets | lost | duplicate | missing notices | resent in flight (same Message-ID) | repeated under a new Message-ID | dead letters | recovery |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for o in &outcomes {
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} s |",
            o.scenario,
            o.at_fault,
            o.tickets,
            lost_cell(o),
            o.duplicates,
            o.missing_notices,
            o.resent_in_flight,
            o.repeated_different,
            o.dead_letters,
            o.recovery_secs
        );
    }
    let bad = outcomes
        .iter()
        .filter(|o| {
            o.lost + o.duplicates + o.missing_notices + o.repeated_different + o.dead_letters > 0
        })
        .count();
    println!(
        "\n{} scenarios, {bad} with a loss, a duplicate or a wrong repeat; load {}",
        outcomes.len(),
        common::load()
    );
    assert_eq!(bad, 0, "resilience goals missed");
}

fn lost_cell(o: &Outcome) -> String {
    match o.unreachable {
        0 => o.lost.to_string(),
        u => format!("{} (+ {u} unreachable)", o.lost),
    }
}

fn report(o: Outcome) -> Outcome {
    println!(
        "{}: at the fault {}; {} tickets, lost {}, duplicates {}, missing notices {}, resent in flight {}, repeated under a new Message-ID {}, dead letters {}, recovered in {:.1} s",
        o.scenario, o.at_fault, o.tickets, lost_cell(&o), o.duplicates, o.missing_notices, o.resent_in_flight, o.repeated_different, o.dead_letters, o.recovery_secs
    );
    o
}

/// A fresh rig with `mails` requests tagged `tag` in the helpdesk INBOX, and
/// the daemon's config for it. Production-like backoff, long enough to outlast
/// a minute's outage without burying anything.
fn setup(mails: usize, tag: &str) -> (MailRig, tempfile::TempDir, String) {
    let rig = MailRig::start();
    let raws: Vec<Vec<u8>> = (0..mails).map(|i| request(i, tag)).collect();
    rig.append_unordered(HELPDESK, "INBOX", &raws);
    let dir = tempfile::Builder::new()
        .prefix("itdesk-resilience")
        .tempdir()
        .expect("temp dir");
    let toml = rig.config("[outbox]\nmax_notices_per_recipient_per_hour = 100000\nretry_base_seconds = 2\nretry_max_seconds = 10\nmax_attempts = 12\n[imap]\nidle = true\n");
    (rig, dir, toml)
}

fn sigkill(mails: usize, run: usize, at: Duration) -> Outcome {
    let tag = format!("k{run}");
    let (rig, dir, toml) = setup(mails, &tag);
    let daemon = Daemon::start(dir.path(), &toml);
    std::thread::sleep(at);
    daemon.kill();
    let committed = Store::open(&dir.path().join("state"))
        .expect("the store reopens after SIGKILL")
        .tickets()
        .count();
    let at_fault = format!(
        "{} ms: {committed} tickets, {} notices",
        at.as_millis(),
        notices_accepted(&rig)
    );
    let restarted = Instant::now();
    let daemon = Daemon::start(dir.path(), &toml);
    settle_and_audit(
        &rig,
        dir.path(),
        daemon,
        mails,
        &tag,
        format!("SIGKILL #{}", run + 1),
        at_fault,
        restarted,
    )
}

fn dovecot_killed(mails: usize) -> Outcome {
    let tag = "dovecot";
    let (mut rig, dir, toml) = setup(mails, tag);
    let daemon = Daemon::start(dir.path(), &toml);
    let mut watch = Watch::new(&rig);
    daemon.wait_for("the first tickets", Duration::from_secs(120), || {
        watch.unseen() <= mails.saturating_sub(100)
    });
    let unseen = watch.unseen();
    rig.kill_dovecot();
    let at_fault = format!(
        "{} of {mails} requests processed, {} notices",
        mails - unseen,
        notices_accepted(&rig)
    );
    drop(watch);
    daemon.wait_for("the daemon to notice", Duration::from_secs(60), || {
        daemon.log_text().contains("IMAP session ended")
            || daemon.log_text().contains("IMAP connection failed")
    });
    std::thread::sleep(Duration::from_secs(3)); // the outage
    let restarted = Instant::now();
    rig.restart();
    settle_and_audit(
        &rig,
        dir.path(),
        daemon,
        mails,
        tag,
        "Dovecot SIGKILLed mid-burst, back after 3 s".into(),
        at_fault,
        restarted,
    )
}

fn postfix_stopped(mails: usize, outage: Duration) -> Outcome {
    let tag = "postfix";
    let (rig, dir, toml) = setup(mails, tag);
    let daemon = Daemon::start(dir.path(), &toml);
    daemon.wait_for("the first notices", Duration::from_secs(120), || {
        notices_accepted(&rig) >= 50
    });
    rig.stop_postfix();
    let at_fault = format!("{} notices accepted", notices_accepted(&rig));
    std::thread::sleep(outage);
    let restarted = Instant::now();
    rig.start_postfix();
    settle_and_audit(
        &rig,
        dir.path(),
        daemon,
        mails,
        tag,
        format!("Postfix stopped for {} s mid-burst", outage.as_secs()),
        at_fault,
        restarted,
    )
}

/// A backup taken once the first half of the requests are tickets and their
/// notices out (as a nightly backup finds a quiet desk), the second half
/// taken in after it, the store then replaced by the backup, and `itdesk
/// recover` run on the restored daemon (twice). Besides the common audit,
/// every ticket must be back under the ID its requester was told (`lost`
/// counts one that is not) and no notice may go a second time.
fn restored_then_recovered(mails: usize) -> Outcome {
    let tag = "restore";
    let rig = MailRig::start();
    let raws: Vec<Vec<u8>> = (0..mails).map(|i| request(i, tag)).collect();
    let (before, after) = raws.split_at(mails / 2);
    rig.append_unordered(HELPDESK, "INBOX", before);
    let dir = tempfile::Builder::new()
        .prefix("itdesk-resilience")
        .tempdir()
        .expect("temp dir");
    let toml = rig.config("[outbox]\nmax_notices_per_recipient_per_hour = 100000\nretry_base_seconds = 2\nretry_max_seconds = 10\nmax_attempts = 12\n[imap]\nidle = true\nafter_processing = \"move\"\nprocessed_mailbox = \"Processed\"\n[smtp]\nsave_sent = \"Sent\"\n");
    let config = dir.path().join("itdesk.toml");
    let daemon = Daemon::start(dir.path(), &toml);
    let settled = |n: usize| {
        daemon.wait_for("every request processed", SETTLE_TIMEOUT, || {
            rig.count(HELPDESK, "INBOX") == 0
        });
        daemon.wait_for(
            "the outbox drained and every notice kept",
            SETTLE_TIMEOUT,
            || queued_notices(&config) == 0 && rig.count(HELPDESK, "Sent") >= n,
        );
    };
    settled(before.len());
    let backup = dir.path().join("nightly.backup");
    itdesk(&config, &["backup", backup.to_str().unwrap(), "--json"]);
    rig.append_unordered(HELPDESK, "INBOX", after);
    settled(mails);
    daemon.stop();
    let told = ids_by_request(&dir.path().join("state"));

    let state = dir.path().join("state");
    std::fs::rename(&state, dir.path().join("state-lost")).expect("set the store aside");
    itdesk(&config, &["restore", backup.to_str().unwrap(), "--json"]);
    let restored = ids_by_request(&state).len();
    let at_fault = format!(
        "backup with {restored} of {mails} tickets; {} lost in the restore",
        mails - restored
    );
    let daemon = Daemon::start(dir.path(), &toml);
    let since = (chrono::Utc::now() - chrono::Duration::days(1))
        .date_naive()
        .to_string();
    let started = Instant::now();
    let first = itdesk(&config, &["recover", "--since", &since, "--json"]);
    let first_secs = started.elapsed().as_secs_f64();
    let again_at = Instant::now();
    let again = itdesk(&config, &["recover", "--since", &since, "--json"]);
    let again_secs = again_at.elapsed().as_secs_f64();
    let count = |r: &serde_json::Value, key: &str| r[key].as_array().map_or(0, Vec::len);
    println!(
        "restore: recover scanned {}, already present {}, original ID {}, new ID {}, failed {} in {first_secs:.1} s; again: scanned {}, already present {}, recovered {} in {again_secs:.1} s",
        first["scanned"], first["already_present"], count(&first, "original_id"), count(&first, "new_id"), count(&first, "failed"),
        again["scanned"], again["already_present"], count(&again, "original_id") + count(&again, "new_id"),
    );
    let mut outcome = settle_and_audit(
        &rig,
        dir.path(),
        daemon,
        mails,
        tag,
        "Store restored from a backup taken halfway, then `itdesk recover`".into(),
        at_fault,
        started,
    );
    let now = ids_by_request(&state);
    let other_id = told
        .iter()
        .filter(|(m, id)| now.get(*m) != Some(id))
        .count();
    println!("restore: {other_id} tickets not under the ID their requester was told");
    outcome.lost += other_id;
    outcome
}

/// Ticket ID by the Message-ID of its request, from the store in `state`.
fn ids_by_request(state: &std::path::Path) -> BTreeMap<String, String> {
    Store::open(state)
        .expect("open the store")
        .tickets()
        .map(|t| {
            let t = t.expect("every ticket decodes");
            (t.source_message_id.unwrap_or_default(), t.id.to_string())
        })
        .collect()
}

/// `itdesk ARGS…` on `config`, which must succeed; its JSON output.
fn itdesk(config: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_itdesk"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("ITDESK_LOG", "warn")
        .output()
        .expect("run itdesk");
    assert!(
        out.status.success(),
        "itdesk {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// The chat scenario must settle within this after the last DM, or it fails.
const CHAT_SETTLE_TIMEOUT: Duration = Duration::from_secs(300);
/// No new ticket or reply for this long, the bot connected and the outbox
/// empty: nothing more is coming.
const CHAT_QUIET: Duration = Duration::from_secs(10);
/// What the fake does to the gateway, and when (a fraction of the flow).
const GATEWAY_FAULTS: [(f64, GatewayFault); 4] = [
    (0.1, GatewayFault::Cut),
    (0.2, GatewayFault::Zombie),
    (0.6, GatewayFault::CutResumeRefused),
    (0.9, GatewayFault::Cut),
];

#[derive(Clone, Copy)]
enum GatewayFault {
    /// The connection ends without a close frame; the bot resumes and Discord
    /// replays what the session queued.
    Cut,
    /// Heartbeats are no longer acknowledged nor events sent; serenity gives
    /// the session up and identifies anew.
    Zombie,
    /// Cut, and the resume answered with INVALID_SESSION: a new session.
    CutResumeRefused,
}

impl GatewayFault {
    fn label(self) -> &'static str {
        match self {
            GatewayFault::Cut => "cut",
            GatewayFault::Zombie => "heartbeats unanswered",
            GatewayFault::CutResumeRefused => "cut + resume refused",
        }
    }

    fn inject(self, fake: &discord::fake_discord::FakeDiscord) {
        match self {
            GatewayFault::Cut => fake.drop_gateway(),
            GatewayFault::Zombie => fake.go_zombie(),
            GatewayFault::CutResumeRefused => {
                fake.refuse_next_resume();
                fake.drop_gateway();
            }
        }
    }
}

/// The faults of the chat scenario, each injected at its time once the bot is
/// connected (else as soon as it is back), and when the bot was back.
struct FaultLog {
    start: Instant,
    over: Duration,
    next: usize,
    /// (fault, injected at, back at), since `start`.
    fired: Vec<(GatewayFault, Duration, Option<Duration>)>,
}

impl FaultLog {
    fn tick(&mut self, fake: &discord::fake_discord::FakeDiscord) {
        let now = self.start.elapsed();
        if let Some(last) = self.fired.last_mut() {
            if last.2.is_none() {
                if fake.connected() {
                    last.2 = Some(now);
                }
                return;
            }
        }
        if let Some((at, fault)) = GATEWAY_FAULTS.get(self.next) {
            if now >= self.over.mul_f64(*at) && fake.connected() {
                fault.inject(fake);
                self.fired.push((*fault, now, None));
                self.next += 1;
            }
        }
    }

    fn done(&self) -> bool {
        self.next == GATEWAY_FAULTS.len() && self.fired.iter().all(|f| f.2.is_some())
    }
}

fn discord_dropped(n: usize, over: Duration, mention_every: usize) -> Outcome {
    use discord::fake_discord::{FakeDiscord, HELP_CHANNEL};
    use discord::{dm_text, requester};

    let fake = FakeDiscord::start();
    let dir = tempfile::Builder::new()
        .prefix("itdesk-resilience")
        .tempdir()
        .expect("temp dir");
    let token_file = dir.path().join("discord.token");
    std::fs::write(&token_file, "fake-token\n").expect("token file");
    let toml = format!(
        "[outbox]\nmax_notices_per_recipient_per_hour = 100000\nretry_base_seconds = 2\nretry_max_seconds = 10\nmax_attempts = 12\n\n{}",
        discord::discord_toml(&fake, &token_file)
    );
    let daemon = Daemon::start(dir.path(), &toml);
    fake.wait_ready();
    let mut tickets_logged = discord::LogCount::new(&daemon.log, discord::TICKET_LOGGED);
    let mentions = |i: usize| mention_every > 0 && i % mention_every == mention_every - 1;

    // The flow: requester i writes at i/n of `over`; the faults in between.
    let start = Instant::now();
    let mut faults = FaultLog {
        start,
        over,
        next: 0,
        fired: Vec::new(),
    };
    let mut sent: Vec<u64> = Vec::with_capacity(n);
    for i in 0..n {
        let due = over.mul_f64(i as f64 / n as f64);
        loop {
            faults.tick(&fake);
            if start.elapsed() >= due {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        sent.push(if mentions(i) {
            fake.post(requester(i), HELP_CHANNEL, &dm_text(i), true)
        } else {
            fake.dm(requester(i), &dm_text(i))
        });
    }
    let flow_end = start.elapsed();
    daemon.wait_for(
        "the bot back after every gateway fault",
        CHAT_SETTLE_TIMEOUT,
        || {
            faults.tick(&fake);
            faults.done()
        },
    );
    let back = faults.fired.last().and_then(|f| f.2).expect("done");

    // Settled: every request has a ticket and a reply, or nothing moves for
    // CHAT_QUIET with the bot connected and no notice queued.
    let config = dir.path().join("itdesk.toml");
    let (mut seen, mut last_progress) = ((0, 0), start.elapsed());
    loop {
        let now = (tickets_logged.count(), fake.bot_dm_posts());
        if now != seen {
            seen = now;
            last_progress = start.elapsed();
        }
        if seen.0 >= n && seen.1 >= n {
            break;
        }
        if start.elapsed() - last_progress > CHAT_QUIET
            && fake.connected()
            && queued_notices(&config) == 0
        {
            break;
        }
        daemon.assert_alive("the chat recovery");
        assert!(
            start.elapsed() < flow_end + CHAT_SETTLE_TIMEOUT,
            "the chat scenario did not settle within {CHAT_SETTLE_TIMEOUT:?} of its last DM: {} of {n} tickets, {} replies; log tail:\n{}",
            seen.0,
            seen.1,
            common::tail(&daemon.log_text(), 30)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    daemon.wait_for("the outbox drained of notices", CHAT_SETTLE_TIMEOUT, || {
        queued_notices(&config) == 0
    });
    // From the bot's return after the last fault (or the last request, if
    // later) until the last ticket or reply.
    let recovery_secs = last_progress
        .saturating_sub(back.max(flow_end))
        .as_secs_f64();
    daemon.stop();

    let store = Store::open(&dir.path().join("state")).expect("open the store");
    let tickets: Vec<_> = store
        .tickets()
        .collect::<Result<_, _>>()
        .expect("every ticket decodes");
    let dead_letters = store.dead_letters().count();
    let mut by_source: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &tickets {
        by_source
            .entry(t.source_message_id.clone().unwrap_or_default())
            .or_default()
            .push(t.id.as_str().to_string());
    }
    let duplicates = by_source.values().map(|v| v.len().saturating_sub(1)).sum();
    let (mut lost, mut unreachable, mut read_back) = (0, 0, 0);
    let (mut missing_replies, mut resent_same, mut repeated_different) = (0, 0, 0);
    for (i, id) in sent.iter().enumerate() {
        let on_gateway = fake.sent_on_gateway(*id);
        read_back += usize::from(!on_gateway);
        let posts = fake.dms_to(requester(i));
        let distinct: BTreeSet<&String> = posts.iter().collect();
        resent_same += posts.len() - distinct.len();
        repeated_different += distinct.len().saturating_sub(1);
        let Some(ticket) = by_source.get(&format!("discord-{id}")).map(|v| &v[0]) else {
            // A first DM (its channel new to the bot) that no session delivered.
            if !mentions(i) && !on_gateway {
                unreachable += 1;
            } else {
                lost += 1;
            }
            continue;
        };
        let accepted = |p: &&String| {
            p.contains(ticket.as_str())
                && (p.contains("Request accepted") || p.contains("服务单已受理"))
        };
        if !posts.iter().any(|p| accepted(&p)) {
            missing_replies += 1;
        }
    }
    let fired: Vec<String> = faults
        .fired
        .iter()
        .map(|(f, at, back)| {
            format!(
                "{} at {:.1} s (back after {:.1} s)",
                f.label(),
                at.as_secs_f64(),
                back.unwrap_or_default().saturating_sub(*at).as_secs_f64()
            )
        })
        .collect();
    let at_fault = format!(
        "{n} requests over {:.1} s, {}; {read_back} never sent on the gateway (new sessions: {})",
        flow_end.as_secs_f64(),
        fired.join(", "),
        fake.identifies() - 1
    );
    Outcome {
        scenario: format!(
            "Discord gateway dropped 4 times during {n} requests (1 in {mention_every} a help-channel mention)"
        ),
        at_fault,
        tickets: tickets.len(),
        lost,
        unreachable,
        duplicates,
        missing_notices: missing_replies,
        resent_in_flight: resent_same,
        repeated_different,
        dead_letters,
        recovery_secs,
    }
}

/// The helpdesk INBOX's UNSEEN count, over one IMAP connection.
struct Watch {
    rt: tokio::runtime::Runtime,
    session: async_imap::Session<tokio::net::TcpStream>,
}

impl Watch {
    fn new(rig: &MailRig) -> Watch {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let session = rt.block_on(rig.login(HELPDESK));
        Watch { rt, session }
    }

    fn unseen(&mut self) -> usize {
        let status = self
            .rt
            .block_on(self.session.status("INBOX", "(UNSEEN)"))
            .expect("STATUS");
        status.unseen.unwrap_or(u32::MAX) as usize
    }
}

/// Waits until every request is processed and every notice handed to Postfix
/// and delivered, stops the daemon, and audits the store and the mailboxes.
#[allow(clippy::too_many_arguments)]
fn settle_and_audit(
    rig: &MailRig,
    dir: &std::path::Path,
    daemon: Daemon,
    mails: usize,
    tag: &str,
    scenario: String,
    at_fault: String,
    since: Instant,
) -> Outcome {
    let mut watch = Watch::new(rig);
    daemon.wait_for("every request processed", SETTLE_TIMEOUT, || {
        watch.unseen() == 0
    });
    drop(watch);
    let config = dir.join("itdesk.toml");
    daemon.wait_for("the outbox drained of notices", SETTLE_TIMEOUT, || {
        queued_notices(&config) == 0
    });
    let recovery_secs = since.elapsed().as_secs_f64();
    daemon.stop();
    // Every message Postfix accepted (repeats included) has left its queue
    // for a mailbox. (Its log is no count: cleanup also logs the Message-ID
    // of a message whose sender was killed before the final dot.)
    let deadline = Instant::now() + SETTLE_TIMEOUT;
    while !rig.postfix_queue_empty() {
        assert!(
            Instant::now() < deadline,
            "Postfix did not deliver the accepted notices"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let store = Store::open(&dir.join("state")).expect("open the store");
    let tickets: Vec<_> = store
        .tickets()
        .collect::<Result<_, _>>()
        .expect("every ticket decodes");
    let dead_letters = store.dead_letters().count();
    let mut by_source: BTreeMap<String, usize> = BTreeMap::new();
    for t in &tickets {
        *by_source
            .entry(t.source_message_id.clone().unwrap_or_default())
            .or_default() += 1;
    }
    let requests: BTreeSet<String> = (0..mails).map(|i| message_id(i, tag)).collect();
    let lost = requests
        .iter()
        .filter(|m| !by_source.contains_key(*m))
        .count();
    let duplicates = by_source.values().map(|&n| n.saturating_sub(1)).sum();

    // Notices by the request they answer (In-Reply-To), each with its Message-IDs.
    let mut notices: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for user in ["alice", "tech"] {
        for m in rig.messages(user, "INBOX") {
            if m.from == HELPDESK && m.message_id.ends_with(&format!("@{NOTICE_DOMAIN}")) {
                notices
                    .entry(m.in_reply_to.clone().unwrap_or_default())
                    .or_default()
                    .push(m.message_id);
            }
        }
    }
    let missing_notices = requests
        .iter()
        .filter(|r| by_source.contains_key(*r) && !notices.contains_key(*r))
        .count();
    let (mut resent_in_flight, mut repeated_different) = (0, 0);
    for ids in notices.values() {
        let distinct: BTreeSet<&String> = ids.iter().collect();
        resent_in_flight += ids.len() - distinct.len();
        repeated_different += distinct.len() - 1;
    }
    Outcome {
        scenario,
        at_fault,
        tickets: tickets.len(),
        lost,
        unreachable: 0,
        duplicates,
        missing_notices,
        resent_in_flight,
        repeated_different,
        dead_letters,
        recovery_secs,
    }
}

/// Notices still queued in the running daemon (`itdesk outbox list --json`).
fn queued_notices(config: &std::path::Path) -> usize {
    let out = Command::new(env!("CARGO_BIN_EXE_itdesk"))
        .arg("--config")
        .arg(config)
        .args(["outbox", "list", "--json"])
        .env("ITDESK_LOG", "warn")
        .output()
        .expect("run itdesk outbox list");
    assert!(
        out.status.success(),
        "itdesk outbox list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("outbox list --json");
    v["queued"].as_array().map_or(0, |q| {
        q.iter()
            .filter(|e| e["body"].get("notice").is_some())
            .count()
    })
}
