//! `cargo bench --bench chat [-- --dms 1000 --runs 3 --attach 'CMD {pid}']`:
//! N DMs from N distinct requesters through the fake Discord of the tests
//! (`tests/it/fake_discord.rs`, REST + gateway on loopback) to the release
//! daemon, whose real serenity client is connected to it. The DMs are injected
//! as gateway MESSAGE_CREATE events as fast as the fake sends them; then the
//! time until every ticket is committed (the daemon logs "chat request opened
//! a ticket" once the engine answered, i.e. after the flush) and until every
//! "ticket accepted" reply reached the fake's REST endpoint; the daemon's peak
//! RSS. In the same run, the fake's own limits, with serenity and without
//! itdesk: a serenity client receiving the N DMs, and serenity's `Http` making
//! the calls the daemon makes for N DMs (reply, ticket card, its thread), 8 at
//! a time as the outbox does. `--attach` runs a profiler on the daemon for the
//! burst (`{pid}` is replaced; it gets SIGINT). See docs/benchmarks.md.

mod common;
#[path = "common/discord.rs"]
mod discord;
#[path = "../tests/it/support.rs"]
#[allow(dead_code)] // the fake needs `wait_until`
mod support;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use common::{median, Daemon};
use discord::fake_discord::{FakeDiscord, GROUP_CHANNELS};
use discord::{discord_toml, dm_text, requester, LogCount, TICKET_LOGGED};
use futures::StreamExt;
use serenity::all::{
    ChannelId, ClientBuilder, Context, CreateMessage, CreateThread, EventHandler, GatewayIntents,
    Http, HttpBuilder, Message,
};

/// A burst must finish within this, or the bench fails.
const BURST_TIMEOUT: Duration = Duration::from_secs(300);
/// How often the bench looks at the daemon's log and the fake: the resolution
/// of the times it reports.
const POLL: Duration = Duration::from_millis(10);
/// Notices the outbox sends at once (`PARALLEL_SENDS` in src/outbox).
const PARALLEL_SENDS: usize = 8;

struct Run {
    /// The fake alone: N DMs received by a bare serenity client.
    gateway_limit: f64,
    /// The fake alone: the REST calls for N DMs by serenity's `Http`.
    rest_limit: f64,
    /// How long the fake took to queue the N MESSAGE_CREATE events.
    injected: f64,
    tickets: f64,
    replies: f64,
    peak_rss_mib: f64,
}

fn main() {
    let n: usize = common::arg("--dms", 1000);
    let runs: usize = common::arg("--runs", 3);
    let attach: String = common::arg("--attach", String::new());
    println!("chat bench: N = {n} DMs from {n} requesters, {runs} runs");
    println!("machine: {}", common::machine());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut all = Vec::new();
    for r in 0..runs {
        let gateway_limit = gateway_limit(&rt, n);
        let rest_limit = rest_limit(&rt, n);
        let run = Run {
            gateway_limit,
            rest_limit,
            ..itdesk_run(n, &attach)
        };
        println!(
            "run {}: fake alone: {n} DMs to a bare serenity client {:.2} s, REST calls for {n} DMs by serenity's Http {:.2} s | itdesk: injected {:.2} s, all tickets committed {:.2} s, all replies posted {:.2} s, peak RSS {:.1} MiB | load {}",
            r + 1,
            run.gateway_limit,
            run.rest_limit,
            run.injected,
            run.tickets,
            run.replies,
            run.peak_rss_mib,
            common::load()
        );
        all.push(run);
    }
    let med = |f: fn(&Run) -> f64| median(&all.iter().map(f).collect::<Vec<_>>());
    let rate = |secs: f64| n as f64 / secs;
    println!("\nmedians of {runs} runs, N = {n}:");
    println!("| what | time | rate |");
    println!("|---|---|---|");
    let (gateway, rest) = (med(|r| r.gateway_limit), med(|r| r.rest_limit));
    println!(
        "| limit: the fake → a bare serenity client, N DMs | {gateway:.2} s | {:.0} DMs/s |",
        rate(gateway)
    );
    println!("| limit: serenity's Http → the fake, the calls for N DMs (reply, card, thread), {PARALLEL_SENDS} at a time | {rest:.2} s | {:.0} DMs/s |", rate(rest));
    println!(
        "| the fake queues the N MESSAGE_CREATE events | {:.2} s | |",
        med(|r| r.injected)
    );
    let (tickets, replies) = (med(|r| r.tickets), med(|r| r.replies));
    println!(
        "| **itdesk: first DM → every ticket committed** | {tickets:.2} s | {:.0} DMs/s |",
        rate(tickets)
    );
    println!(
        "| **itdesk: first DM → every \"ticket accepted\" reply posted** | {replies:.2} s | {:.0} DMs/s |",
        rate(replies)
    );
    println!(
        "| itdesk peak RSS (VmHWM) | {:.1} MiB | |",
        med(|r| r.peak_rss_mib)
    );
}

/// One burst through the daemon: (injected, tickets, replies, peak RSS) in a `Run`.
fn itdesk_run(n: usize, attach: &str) -> Run {
    let fake = FakeDiscord::start();
    let dir = tempfile::Builder::new()
        .prefix("itdesk-bench")
        .tempdir()
        .expect("temp dir");
    let token_file = dir.path().join("discord.token");
    std::fs::write(&token_file, "fake-token\n").expect("token file");
    let daemon = Daemon::start(dir.path(), &discord_toml(&fake, &token_file));
    fake.wait_ready();
    let profiler = (!attach.is_empty()).then(|| {
        Command::new("sh")
            .arg("-c")
            .arg(attach.replace("{pid}", &daemon.pid().to_string()))
            .spawn()
            .expect("start the profiler")
    });
    let mut log = LogCount::new(&daemon.log, TICKET_LOGGED);
    let start = Instant::now();
    for i in 0..n {
        fake.dm(requester(i), &dm_text(i));
    }
    let injected = start.elapsed().as_secs_f64();
    let (mut tickets, mut replies) = (None, None);
    let deadline = start + BURST_TIMEOUT;
    while tickets.is_none() || replies.is_none() {
        if tickets.is_none() && log.count() >= n {
            tickets = Some(start.elapsed().as_secs_f64());
        }
        if replies.is_none() && fake.bot_dm_posts() >= n {
            replies = Some(start.elapsed().as_secs_f64());
        }
        daemon.assert_alive("the burst");
        assert!(
            Instant::now() < deadline,
            "the burst took longer than {BURST_TIMEOUT:?}: {} tickets, {} replies",
            log.count(),
            fake.bot_dm_posts()
        );
        std::thread::sleep(POLL);
    }
    if let Some(mut p) = profiler {
        common::signal(p.id(), "INT");
        let _ = p.wait();
    }
    let peak_rss_mib = daemon.peak_rss_kib() as f64 / 1024.0;
    check_outcome(&fake, &daemon, n);
    daemon.stop();
    Run {
        gateway_limit: f64::NAN,
        rest_limit: f64::NAN,
        injected,
        tickets: tickets.expect("waited for it"),
        replies: replies.expect("waited for it"),
        peak_rss_mib,
    }
}

/// Every DM became its own ticket and each requester got exactly one reply,
/// the accepted notice naming that ticket.
fn check_outcome(fake: &FakeDiscord, daemon: &Daemon, n: usize) {
    let out = Command::new(env!("CARGO_BIN_EXE_itdesk"))
        .arg("--config")
        .arg(daemon.dir.join("itdesk.toml"))
        .args(["tickets", "list", "--json"])
        .env("ITDESK_LOG", "warn")
        .output()
        .expect("itdesk tickets list");
    let tickets: serde_json::Value = serde_json::from_slice(&out.stdout).expect("tickets JSON");
    let tickets = tickets.as_array().expect("a list");
    assert_eq!(tickets.len(), n, "one ticket per DM");
    for t in tickets {
        let user: u64 = t["requester"]["chat_user"]
            .as_str()
            .and_then(|u| u.parse().ok())
            .expect("a chat requester");
        let id = t["id"].as_str().expect("ticket id");
        let dms = fake.dms_to(user);
        assert!(
            dms.len() == 1
                && dms[0].contains(id)
                && (dms[0].contains("服务单已受理") || dms[0].contains("Request accepted")),
            "requester {user}'s replies for {id}: {dms:?}"
        );
    }
}

/// A REST client for the fake, as the daemon builds it for an `api_base`.
fn fake_http(fake: &FakeDiscord) -> Http {
    HttpBuilder::new("fake-token")
        .proxy(&fake.api_base)
        .ratelimiter_disabled(true)
        .build()
}

/// Counts the messages a bare serenity client receives.
struct Counter {
    messages: Arc<AtomicUsize>,
}

#[async_trait]
impl EventHandler for Counter {
    async fn message(&self, _ctx: Context, _message: Message) {
        self.messages.fetch_add(1, Ordering::Relaxed);
    }
}

/// Seconds from the first injected DM until a serenity client with the
/// daemon's intents, doing nothing else, has received all N.
fn gateway_limit(rt: &tokio::runtime::Runtime, n: usize) -> f64 {
    let fake = FakeDiscord::start();
    let messages = Arc::new(AtomicUsize::new(0));
    let intents = GatewayIntents::GUILDS
        | GatewayIntents::GUILD_MESSAGES
        | GatewayIntents::DIRECT_MESSAGES
        | GatewayIntents::MESSAGE_CONTENT;
    let mut client = rt
        .block_on(async {
            ClientBuilder::new_with_http(fake_http(&fake), intents)
                .event_handler(Counter {
                    messages: messages.clone(),
                })
                .await
        })
        .expect("serenity client");
    let shards = client.shard_manager.clone();
    let running = rt.spawn(async move { client.start().await });
    support::wait_until(
        "the bare client to identify",
        Duration::from_secs(20),
        || fake.identifies() >= 1,
    );
    let start = Instant::now();
    for i in 0..n {
        fake.dm(requester(i), &dm_text(i));
    }
    support::wait_until("the bare client to receive every DM", BURST_TIMEOUT, || {
        messages.load(Ordering::Relaxed) >= n
    });
    let secs = start.elapsed().as_secs_f64();
    rt.block_on(shards.shutdown_all());
    let _ = rt.block_on(running);
    secs
}

/// Seconds for serenity's `Http` to make the daemon's calls for N DMs, 8 at a
/// time as the outbox sends: the reply in the requester's DM (the daemon knows
/// that channel from the DM), the ticket card in a group channel, a thread
/// from the card.
fn rest_limit(rt: &tokio::runtime::Runtime, n: usize) -> f64 {
    let fake = FakeDiscord::start();
    let http = fake_http(&fake);
    let dms: Vec<ChannelId> = (0..n)
        .map(|i| ChannelId::new(fake.dm_channel_of(requester(i))))
        .collect();
    let group = ChannelId::new(GROUP_CHANNELS[0].1);
    let reply = format!(
        "**[IT20231009001] Request accepted: printer**\n\n{}",
        "x".repeat(600)
    );
    let card = format!("**[IT20231009001] printer**\n\n{}", "x".repeat(300));
    let start = Instant::now();
    rt.block_on(
        futures::stream::iter(dms.iter().enumerate())
            .map(|(i, dm)| {
                let (http, reply, card) = (&http, &reply, &card);
                async move {
                    dm.send_message(http, CreateMessage::new().content(reply))
                        .await
                        .expect("post the reply");
                    let starter = group
                        .send_message(http, CreateMessage::new().content(card))
                        .await
                        .expect("post the card");
                    group
                        .create_thread_from_message(
                            http,
                            starter.id,
                            CreateThread::new(format!("IT20231009{i:03}")),
                        )
                        .await
                        .expect("open the thread");
                }
            })
            .buffer_unordered(PARALLEL_SENDS)
            .collect::<Vec<()>>(),
    );
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(fake.bot_dm_posts(), n, "every reply reached the fake");
    secs
}
