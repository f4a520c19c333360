//! A fake Discord on loopback, for the chat tests: the REST API under
//! `/api/v10` (what the bot calls) and the gateway websocket (what it listens
//! to), with one guild, its channels and members. Tests act as Discord users
//! (DMs, thread posts, slash commands, button presses, form submits) and read
//! back everything the bot posted; every REST call is recorded.
//!
//! Covers: GET /gateway and /gateway/bot, GET /users/@me, POST
//! /users/@me/channels (DM), channel messages (create, list with `after`, get
//! one), a thread from a message, member lookup, PUT application commands
//! (global and guild), interaction callbacks, attachment downloads. Gateway:
//! HELLO, IDENTIFY → READY + GUILD_CREATE, heartbeat ACK, RESUME → replay +
//! RESUMED (or INVALID_SESSION), MESSAGE_CREATE and INTERACTION_CREATE, op 7
//! RECONNECT, and a "zombie" mode that swallows heartbeat ACKs and dispatches,
//! as a dead connection does. Faults for the resilience bench: the connection
//! dropped without a close frame (the bot resumes and the session's events
//! queued meanwhile are replayed, as Discord does), optionally with the resume
//! refused (INVALID_SESSION: what the old session queued is never delivered,
//! as with a zombie — it exists only in the channels' history, where the
//! bot can read it back if it knows the channel). Message history honours
//! `after` and `limit` (default 50, at most 100, the oldest after `after`)
//! as Discord does. Not covered: rate limits (429), permissions,
//! message edits/deletes, reactions, embeds, zlib compression, sharding, and
//! the real payloads' every field (only what serenity 0.12 needs to parse).
//!
//! Invariant: listens on 127.0.0.1 only; all state is behind one mutex, so a
//! test sees the fake exactly as the bot left it.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message as Frame;

use crate::support::wait_until;

pub const BOT: u64 = 9_000_000_000_000_001;
pub const GUILD: u64 = 9_000_000_000_000_100;
pub const HELP_CHANNEL: u64 = 9_000_000_000_000_200;
pub const ON_DUTY_CHANNEL: u64 = 9_000_000_000_000_201;
/// Staff channel of each technician group (the default routing's names).
pub const GROUP_CHANNELS: [(&str, u64); 5] = [
    ("hardware", 9_000_000_000_000_210),
    ("software", 9_000_000_000_000_211),
    ("network", 9_000_000_000_000_212),
    ("access", 9_000_000_000_000_213),
    ("service-desk", 9_000_000_000_000_214),
];
pub const TECH_ROLE: u64 = 9_000_000_000_000_300;
pub const LEAD_ROLE: u64 = 9_000_000_000_000_301;
pub const ON_DUTY_ROLE: u64 = 9_000_000_000_000_302;
/// Requesters.
pub const ALICE: u64 = 9_000_000_000_001_001;
pub const BOB: u64 = 9_000_000_000_001_002;
/// A technician (has TECH_ROLE) and a colleague who does not.
pub const TECH: u64 = 9_000_000_000_001_101;
pub const OUTSIDER: u64 = 9_000_000_000_001_102;
/// The gateway's heartbeat interval: short, so a lost ACK shows quickly.
const HEARTBEAT_MS: u64 = 1000;

pub fn group_channel(group: &str) -> u64 {
    GROUP_CHANNELS
        .iter()
        .find(|(g, _)| *g == group)
        .map(|(_, c)| *c)
        .expect("known group")
}

/// One REST request the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Under `/api/v10`, with the query string.
    pub path: String,
    pub body: Value,
}

#[derive(Debug, Clone)]
struct Chan {
    /// 0 guild text, 1 DM, 11 public thread.
    kind: u8,
    parent: Option<u64>,
    name: String,
    /// The DM's user.
    recipient: Option<u64>,
    messages: Vec<Value>,
}

struct Session {
    id: String,
    seq: u64,
    /// Every dispatch of the session, for RESUME.
    events: Vec<(u64, Value)>,
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    channels: BTreeMap<u64, Chan>,
    users: HashMap<u64, (String, Vec<u64>)>,
    next_id: u64,
    interaction_responses: Vec<(u64, Value)>,
    /// How many messages the bot posted in DMs, kept so that a poll is cheap.
    bot_dm_posts: usize,
    attachments: HashMap<String, Vec<u8>>,
    session: Option<Session>,
    /// The live connection's writer; `None` while the bot is away.
    conn: Option<mpsc::UnboundedSender<Frame>>,
    /// Cuts the live connection without a close frame.
    kill: Option<Arc<watch::Sender<bool>>>,
    /// Ids of the messages whose MESSAGE_CREATE was written to a connection
    /// (live or in a RESUME's replay).
    on_wire: std::collections::HashSet<u64>,
    refuse_resume: bool,
    identifies: u32,
    resumes: u32,
    readies: u32,
    zombie: bool,
    replay_overlap: bool,
    ws_url: String,
}

pub struct FakeDiscord {
    /// What `[discord] api_base` should say.
    pub api_base: String,
    state: Arc<Mutex<State>>,
    _rt: tokio::runtime::Runtime,
}

impl FakeDiscord {
    pub fn start() -> FakeDiscord {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let state = Arc::new(Mutex::new(State {
            next_id: 9_100_000_000_000_000,
            ..State::default()
        }));
        let (rest, ws) = rt.block_on(async {
            (
                TcpListener::bind("127.0.0.1:0").await.expect("bind REST"),
                TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind gateway"),
            )
        });
        let api_base = format!("http://{}", rest.local_addr().expect("addr"));
        {
            let mut s = state.lock().unwrap();
            s.ws_url = format!("ws://{}", ws.local_addr().expect("addr"));
            let users = [
                (BOT, "itdesk", vec![]),
                (ALICE, "alice", vec![]),
                (BOB, "bob", vec![]),
                (TECH, "lisi", vec![TECH_ROLE, ON_DUTY_ROLE]),
                (OUTSIDER, "wangwu", vec![]),
            ];
            for (id, name, roles) in users {
                s.users.insert(id, (name.to_string(), roles));
            }
            let mut guild_channels = vec![
                (HELP_CHANNEL, "help".to_string()),
                (ON_DUTY_CHANNEL, "on-duty".to_string()),
            ];
            guild_channels.extend(
                GROUP_CHANNELS
                    .iter()
                    .map(|(g, c)| (*c, format!("staff-{g}"))),
            );
            for (id, name) in guild_channels {
                s.channels.insert(
                    id,
                    Chan {
                        kind: 0,
                        parent: None,
                        name,
                        recipient: None,
                        messages: Vec::new(),
                    },
                );
            }
        }
        let rest_state = state.clone();
        rt.spawn(async move {
            loop {
                let Ok((stream, _)) = rest.accept().await else {
                    continue;
                };
                let state = rest_state.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(rest_call(state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let ws_state = state.clone();
        rt.spawn(async move {
            loop {
                let Ok((stream, _)) = ws.accept().await else {
                    continue;
                };
                tokio::spawn(gateway_connection(ws_state.clone(), stream));
            }
        });
        FakeDiscord {
            api_base,
            state,
            _rt: rt,
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Every REST call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.with(|s| s.calls.clone())
    }

    pub fn called(&self, method: &str, path_prefix: &str) -> bool {
        self.calls()
            .iter()
            .any(|c| c.method == method && c.path.starts_with(path_prefix))
    }

    /// Waits for the bot's READY, and checks it asked us (not the real
    /// Discord) for the gateway: serenity falls back silently otherwise.
    pub fn wait_ready(&self) {
        wait_until(
            "the bot to connect to the fake gateway",
            Duration::from_secs(20),
            || self.with(|s| s.readies >= 1),
        );
        assert!(
            self.called("GET", "/gateway"),
            "the bot never asked the fake for the gateway URL: {:?}",
            self.calls()
        );
        wait_until(
            "the bot to register its commands",
            Duration::from_secs(10),
            || {
                self.called(
                    "PUT",
                    &format!("/applications/{BOT}/guilds/{GUILD}/commands"),
                )
            },
        );
    }

    pub fn identifies(&self) -> u32 {
        self.with(|s| s.identifies)
    }

    pub fn resumes(&self) -> u32 {
        self.with(|s| s.resumes)
    }

    /// Op 7: the bot must reconnect and resume. Dispatches until then are held
    /// for the RESUME, as Discord does.
    pub fn send_reconnect(&self) {
        self.with(|s| {
            if let Some(conn) = s.conn.take() {
                let _ = conn.send(Frame::Text(json!({"op": 7, "d": null}).to_string()));
            }
        });
    }

    /// A dead connection: heartbeats are not acknowledged and dispatches do not
    /// arrive, until the bot gives up on it and connects again.
    pub fn go_zombie(&self) {
        self.with(|s| s.zombie = true);
    }

    /// The connection ends without a close frame, as a dropped TCP connection
    /// does. Serenity resumes; what the session queued meanwhile is replayed,
    /// as Discord does — unless `refuse_next_resume` was called.
    #[allow(dead_code)] // used by benches/resilience.rs
    pub fn drop_gateway(&self) {
        self.with(|s| {
            s.conn = None;
            if let Some(kill) = s.kill.take() {
                let _ = kill.send(true);
            }
        });
    }

    /// The next RESUME is answered with INVALID_SESSION (not resumable): the
    /// bot identifies anew, and the old session's undelivered events are lost
    /// to the gateway (they stay in the channels' history).
    #[allow(dead_code)] // used by benches/resilience.rs
    pub fn refuse_next_resume(&self) {
        self.with(|s| s.refuse_resume = true);
    }

    /// Whether the bot is connected, identified or resumed, and heard.
    #[allow(dead_code)] // used by benches/resilience.rs
    pub fn connected(&self) -> bool {
        self.with(|s| s.conn.is_some() && !s.zombie)
    }

    /// Whether the gateway ever sent this message's MESSAGE_CREATE to the bot
    /// (live or in a RESUME's replay); if not, the bot can only read it back.
    #[allow(dead_code)] // used by benches/resilience.rs
    pub fn sent_on_gateway(&self, message: u64) -> bool {
        self.with(|s| s.on_wire.contains(&message))
    }

    /// On RESUME, send again the last event the bot had already received too,
    /// so a test sees that a repeat changes nothing.
    pub fn replay_overlap(&self, on: bool) {
        self.with(|s| s.replay_overlap = on);
    }

    /// An attachment the fake serves; returns the URL to put in a message.
    pub fn host_attachment(&self, name: &str, data: &[u8]) -> String {
        self.with(|s| s.attachments.insert(name.to_string(), data.to_vec()));
        format!("{}/attachments/{name}", self.api_base)
    }

    pub fn dm_channel_of(&self, user: u64) -> u64 {
        self.with(|s| dm_channel(s, user))
    }

    /// A requester writes to the bot; returns the message id.
    pub fn dm(&self, user: u64, text: &str) -> u64 {
        self.dm_with_attachments(user, text, &[])
    }

    /// `attachments`: `(filename, url, size)`.
    pub fn dm_with_attachments(
        &self,
        user: u64,
        text: &str,
        attachments: &[(&str, &str, usize)],
    ) -> u64 {
        self.with(|s| {
            let channel = dm_channel(s, user);
            let id = next_id(s);
            let files: Vec<Value> = attachments
                .iter()
                .map(|(name, url, size)| {
                    json!({"id": next_id(s).to_string(), "filename": name, "size": size, "url": url, "proxy_url": url, "content_type": "image/png"})
                })
                .collect();
            let mut message = message_json(s, id, channel, user, text);
            message["attachments"] = Value::Array(files);
            s.channels.get_mut(&channel).expect("dm").messages.push(message.clone());
            dispatch(s, "MESSAGE_CREATE", message);
            id
        })
    }

    /// A guild member posts in a channel or thread; `mention_bot` mentions the bot.
    pub fn post(&self, user: u64, channel: u64, text: &str, mention_bot: bool) -> u64 {
        self.with(|s| {
            let id = next_id(s);
            let content = if mention_bot {
                format!("<@{BOT}> {text}")
            } else {
                text.to_string()
            };
            let mut message = message_json(s, id, channel, user, &content);
            if mention_bot {
                message["mentions"] = json!([user_json(s, BOT)]);
            }
            s.channels
                .get_mut(&channel)
                .expect("known channel")
                .messages
                .push(message.clone());
            message["guild_id"] = json!(GUILD.to_string());
            message["member"] = member_json(s, user, false);
            dispatch(s, "MESSAGE_CREATE", message);
            id
        })
    }

    /// A slash command. `options` is Discord's option list (subcommand first).
    pub fn command(&self, user: u64, channel: u64, name: &str, options: Value) -> u64 {
        let resolved = self.with(|s| {
            let mut users = serde_json::Map::new();
            let mut members = serde_json::Map::new();
            for o in options
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|sub| sub["options"].as_array().cloned().unwrap_or_default())
            {
                if o["type"] == 6 {
                    let id: u64 = o["value"]
                        .as_str()
                        .and_then(|v| v.parse().ok())
                        .expect("user option");
                    users.insert(id.to_string(), user_json(s, id));
                    members.insert(id.to_string(), member_json(s, id, false));
                }
            }
            json!({"users": users, "members": members})
        });
        let data =
            json!({"id": "1", "name": name, "type": 1, "options": options, "resolved": resolved});
        self.interaction(2, user, channel, data, None)
    }

    /// A button press on `message` (in `channel`).
    pub fn press(&self, user: u64, channel: u64, message: u64, custom_id: &str) -> u64 {
        let msg = self
            .with(|s| {
                s.channels[&channel]
                    .messages
                    .iter()
                    .find(|m| has_id(m, message))
                    .cloned()
            })
            .expect("the pressed message");
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.interaction(3, user, channel, data, Some(msg))
    }

    /// A modal form submitted: `fields` are (custom_id, value).
    pub fn submit(&self, user: u64, channel: u64, custom_id: &str, fields: &[(&str, &str)]) -> u64 {
        let rows: Vec<Value> = fields.iter().map(|(id, value)| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]})).collect();
        self.interaction(
            5,
            user,
            channel,
            json!({"custom_id": custom_id, "components": rows}),
            None,
        )
    }

    fn interaction(
        &self,
        kind: u8,
        user: u64,
        channel: u64,
        data: Value,
        message: Option<Value>,
    ) -> u64 {
        self.with(|s| {
            let id = next_id(s);
            let in_guild = s.channels.get(&channel).is_some_and(|c| c.kind != 1);
            let mut i = json!({
                "id": id.to_string(),
                "application_id": BOT.to_string(),
                "type": kind,
                "data": data,
                "channel_id": channel.to_string(),
                "token": format!("token-{id}"),
                "version": 1,
                "locale": "en-US",
                "entitlements": [],
                "attachment_size_limit": 26_214_400,
                "app_permissions": "0",
            });
            if in_guild {
                i["guild_id"] = json!(GUILD.to_string());
                i["member"] = member_json(s, user, true);
                i["guild_locale"] = json!("en-US");
            } else {
                i["user"] = user_json(s, user);
            }
            if let Some(m) = message {
                i["message"] = m;
            }
            dispatch(s, "INTERACTION_CREATE", i);
            id
        })
    }

    /// Every message in a channel, oldest first.
    pub fn messages(&self, channel: u64) -> Vec<Value> {
        self.with(|s| {
            s.channels
                .get(&channel)
                .map(|c| c.messages.clone())
                .unwrap_or_default()
        })
    }

    /// What the bot posted in a channel, oldest first.
    pub fn bot_posts(&self, channel: u64) -> Vec<Value> {
        self.messages(channel)
            .into_iter()
            .filter(|m| m["author"]["id"].as_str() == Some(BOT.to_string().as_str()))
            .collect()
    }

    /// How many messages the bot has posted in DMs, to anyone.
    // Polled by benches/chat.rs; the tests read the posts themselves.
    #[allow(dead_code)]
    pub fn bot_dm_posts(&self) -> usize {
        self.with(|s| s.bot_dm_posts)
    }

    /// The bot's DMs to a user.
    pub fn dms_to(&self, user: u64) -> Vec<String> {
        let channel = self.dm_channel_of(user);
        self.bot_posts(channel)
            .iter()
            .map(|m| m["content"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Threads: (thread id, parent channel, name).
    pub fn threads(&self) -> Vec<(u64, u64, String)> {
        self.with(|s| {
            s.channels
                .iter()
                .filter(|(_, c)| c.kind == 11)
                .map(|(id, c)| (*id, c.parent.unwrap_or_default(), c.name.clone()))
                .collect()
        })
    }

    /// The bot's answers to an interaction.
    pub fn responses(&self, interaction: u64) -> Vec<Value> {
        self.with(|s| {
            s.interaction_responses
                .iter()
                .filter(|(id, _)| *id == interaction)
                .map(|(_, r)| r.clone())
                .collect()
        })
    }

    /// Waits for the bot's (first) answer to an interaction.
    pub fn response(&self, interaction: u64) -> Value {
        wait_until(
            &format!("the bot to answer interaction {interaction}"),
            Duration::from_secs(15),
            || !self.responses(interaction).is_empty(),
        );
        self.responses(interaction).remove(0)
    }
}

fn has_id(message: &Value, id: u64) -> bool {
    message["id"].as_str().and_then(|v| v.parse::<u64>().ok()) == Some(id)
}

fn next_id(s: &mut State) -> u64 {
    s.next_id += 1;
    s.next_id
}

fn dm_channel(s: &mut State, user: u64) -> u64 {
    if let Some((id, _)) = s
        .channels
        .iter()
        .find(|(_, c)| c.kind == 1 && c.recipient == Some(user))
    {
        return *id;
    }
    let id = next_id(s);
    s.channels.insert(
        id,
        Chan {
            kind: 1,
            parent: None,
            name: String::new(),
            recipient: Some(user),
            messages: Vec::new(),
        },
    );
    id
}

fn user_json(s: &State, id: u64) -> Value {
    let name = s
        .users
        .get(&id)
        .map(|(n, _)| n.clone())
        .unwrap_or_else(|| format!("user{id}"));
    json!({"id": id.to_string(), "username": name, "discriminator": "0", "global_name": null, "avatar": null, "bot": id == BOT})
}

fn member_json(s: &State, id: u64, with_user: bool) -> Value {
    let roles: Vec<String> = s
        .users
        .get(&id)
        .map(|(_, r)| r.iter().map(u64::to_string).collect())
        .unwrap_or_default();
    let mut m = json!({"roles": roles, "joined_at": "2023-01-01T00:00:00+00:00", "deaf": false, "mute": false, "flags": 0, "nick": null});
    if with_user {
        m["user"] = user_json(s, id);
    }
    m
}

fn message_json(s: &State, id: u64, channel: u64, author: u64, content: &str) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel.to_string(),
        "author": user_json(s, author),
        "content": content,
        "timestamp": "2023-10-09T02:00:00+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "components": [],
    })
}

fn channel_json(id: u64, c: &Chan) -> Value {
    let mut v =
        json!({"id": id.to_string(), "type": c.kind, "name": c.name, "last_message_id": null});
    if c.kind == 1 {
        v["recipients"] = json!([{"id": c.recipient.unwrap_or_default().to_string(), "username": "requester", "discriminator": "0", "global_name": null, "avatar": null}]);
    } else {
        v["guild_id"] = json!(GUILD.to_string());
        v["position"] = json!(0);
        v["permission_overwrites"] = json!([]);
        v["nsfw"] = json!(false);
    }
    if let Some(parent) = c.parent {
        v["parent_id"] = json!(parent.to_string());
        v["owner_id"] = json!(BOT.to_string());
        v["thread_metadata"] = json!({"archived": false, "auto_archive_duration": 10080, "archive_timestamp": "2023-10-09T02:00:00+00:00", "locked": false});
    }
    v
}

fn guild_json(s: &State) -> Value {
    let channels: Vec<Value> = s
        .channels
        .iter()
        .filter(|(_, c)| c.kind == 0)
        .map(|(id, c)| channel_json(*id, c))
        .collect();
    let mut guild = json!({
        "id": GUILD.to_string(), "name": "Example Corp", "icon": null, "icon_hash": null, "splash": null, "discovery_splash": null,
        "owner_id": TECH.to_string(), "afk_channel_id": null, "afk_timeout": 300, "widget_enabled": false, "widget_channel_id": null,
        "verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0, "roles": [], "emojis": [],
        "features": [], "mfa_level": 0, "application_id": null, "system_channel_id": null, "system_channel_flags": 0,
        "rules_channel_id": null, "max_presences": null, "max_members": 500000, "vanity_url_code": null, "description": null,
    });
    let more = json!({
        "banner": null, "premium_tier": 0, "premium_subscription_count": 0, "preferred_locale": "en-US",
        "public_updates_channel_id": null, "max_video_channel_users": 25, "max_stage_video_channel_users": 50,
        "nsfw_level": 0, "stickers": [], "premium_progress_bar_enabled": false, "joined_at": "2023-01-01T00:00:00+00:00",
        "large": false, "unavailable": false, "member_count": s.users.len(), "voice_states": [], "members": [],
        "channels": channels, "threads": [], "presences": [], "stage_instances": [], "guild_scheduled_events": [],
        "safety_alerts_channel_id": null, "incidents_data": null,
    });
    for (k, v) in more.as_object().expect("object") {
        guild[k] = v.clone();
    }
    guild
}

/// Queues a dispatch in the session and sends it if the bot is listening.
fn dispatch(s: &mut State, event: &str, d: Value) {
    let Some(session) = s.session.as_mut() else {
        panic!("dispatch of {event} before the bot identified; call wait_ready first");
    };
    session.seq += 1;
    let payload = json!({"op": 0, "s": session.seq, "t": event, "d": d});
    session.events.push((session.seq, payload.clone()));
    if !s.zombie {
        if let Some(conn) = &s.conn {
            let _ = conn.send(Frame::Text(payload.to_string()));
            mark_on_wire(&mut s.on_wire, &payload);
        }
    }
}

fn mark_on_wire(on_wire: &mut std::collections::HashSet<u64>, payload: &Value) {
    if payload["t"] == "MESSAGE_CREATE" {
        if let Some(id) = payload["d"]["id"].as_str().and_then(|v| v.parse().ok()) {
            on_wire.insert(id);
        }
    }
}

async fn gateway_connection(state: Arc<Mutex<State>>, stream: tokio::net::TcpStream) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Frame>();
    // `drop_gateway`: both halves go without a close frame, so the socket
    // just ends, as a dropped connection does.
    let (kill, mut killed) = watch::channel(false);
    let kill = Arc::new(kill);
    let mut writer_killed = killed.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = rx.recv() => match frame {
                    Some(frame) => {
                        if sink.send(frame).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
                _ = writer_killed.changed() => return,
            }
        }
        let _ = sink.close().await;
    });
    let _ = tx.send(Frame::Text(
        json!({"op": 10, "d": {"heartbeat_interval": HEARTBEAT_MS}}).to_string(),
    ));
    loop {
        let frame = tokio::select! {
            frame = source.next() => frame,
            _ = killed.changed() => break,
        };
        let Some(Ok(frame)) = frame else { break };
        let Frame::Text(text) = frame else { continue };
        let Ok(payload) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let mut s = state.lock().unwrap();
        match payload["op"].as_u64() {
            Some(1) if !s.zombie => {
                let _ = tx.send(Frame::Text(json!({"op": 11}).to_string()));
            }
            Some(2) => {
                s.identifies += 1;
                s.zombie = false;
                let id = format!("session-{}", s.identifies);
                s.session = Some(Session {
                    id: id.clone(),
                    seq: 0,
                    events: Vec::new(),
                });
                s.conn = Some(tx.clone());
                s.kill = Some(kill.clone());
                let ready = json!({
                    "v": 10, "user": user_json(&s, BOT), "guilds": [{"id": GUILD.to_string(), "unavailable": true}],
                    "session_id": id, "resume_gateway_url": s.ws_url.clone(), "shard": [0, 1],
                    "application": {"id": BOT.to_string(), "flags": 0},
                });
                s.readies += 1;
                dispatch(&mut s, "READY", ready);
                let guild = guild_json(&s);
                dispatch(&mut s, "GUILD_CREATE", guild);
            }
            Some(6) => {
                let d = &payload["d"];
                let resumable = s
                    .session
                    .as_ref()
                    .is_some_and(|x| d["session_id"] == x.id.as_str());
                if !resumable || s.refuse_resume {
                    s.refuse_resume = false;
                    let _ = tx.send(Frame::Text(json!({"op": 9, "d": false}).to_string()));
                    continue;
                }
                s.resumes += 1;
                s.zombie = false;
                let after = d["seq"].as_u64().unwrap_or(0);
                let overlap = u64::from(s.replay_overlap && after > 0);
                let State {
                    session, on_wire, ..
                } = &mut *s;
                let session = session.as_ref().expect("checked");
                for (_, event) in session
                    .events
                    .iter()
                    .filter(|(seq, _)| *seq + overlap > after)
                {
                    let _ = tx.send(Frame::Text(event.to_string()));
                    mark_on_wire(on_wire, event);
                }
                s.conn = Some(tx.clone());
                s.kill = Some(kill.clone());
                dispatch(&mut s, "RESUMED", json!({}));
            }
            _ => {}
        }
    }
    // The bot hung up: it is away until it identifies or resumes.
    let mut s = state.lock().unwrap();
    if s.conn.as_ref().is_some_and(|c| c.same_channel(&tx)) {
        s.conn = None;
        s.kill = None;
    }
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let bytes = if status == StatusCode::NO_CONTENT {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(bytes))
        .expect("response")
}

fn not_found(what: &str) -> Response<Full<Bytes>> {
    reply(
        StatusCode::NOT_FOUND,
        json!({"message": format!("Unknown {what}"), "code": 10003}),
    )
}

async fn rest_call(state: Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let full_path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if let Some(name) = full_path.strip_prefix("/attachments/") {
        return match state.lock().unwrap().attachments.get(name) {
            Some(data) => Response::new(Full::new(Bytes::from(data.clone()))),
            None => not_found("attachment"),
        };
    }
    let Some(path) = full_path.strip_prefix("/api/v10") else {
        return not_found("route");
    };
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let mut s = state.lock().unwrap();
    s.calls.push(Call {
        method: method.to_string(),
        path: path.to_string(),
        body: body.clone(),
    });
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let parts: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    let id = |i: usize| {
        parts
            .get(i)
            .and_then(|p| p.parse::<u64>().ok())
            .unwrap_or_default()
    };
    match (&method, parts.as_slice()) {
        (&Method::GET, ["gateway"]) => reply(StatusCode::OK, json!({"url": s.ws_url})),
        (&Method::GET, ["gateway", "bot"]) => reply(
            StatusCode::OK,
            json!({"url": s.ws_url, "shards": 1, "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}}),
        ),
        (&Method::GET, ["users", "@me"]) => reply(StatusCode::OK, user_json(&s, BOT)),
        (&Method::POST, ["users", "@me", "channels"]) => {
            let user: u64 = body["recipient_id"]
                .as_str()
                .and_then(|v| v.parse().ok())
                .or(body["recipient_id"].as_u64())
                .unwrap_or_default();
            let channel = dm_channel(&mut s, user);
            let mut c = channel_json(channel, &s.channels[&channel]);
            c["recipients"] = json!([user_json(&s, user)]);
            reply(StatusCode::OK, c)
        }
        (&Method::POST, ["channels", _, "messages"]) => {
            let channel = id(1);
            if !s.channels.contains_key(&channel) {
                return not_found("channel");
            }
            let mid = next_id(&mut s);
            let mut message = message_json(
                &s,
                mid,
                channel,
                BOT,
                body["content"].as_str().unwrap_or_default(),
            );
            if body["components"].is_array() {
                message["components"] = body["components"].clone();
            }
            // Not part of a Discord message: kept so tests can see who the post may ping.
            message["allowed_mentions"] = body["allowed_mentions"].clone();
            let chan = s.channels.get_mut(&channel).expect("checked");
            chan.messages.push(message.clone());
            if chan.kind == 1 {
                s.bot_dm_posts += 1;
            }
            reply(StatusCode::OK, message)
        }
        (&Method::GET, ["channels", _, "messages"]) => {
            let Some(c) = s.channels.get(&id(1)) else {
                return not_found("channel");
            };
            let param = |name: &str| -> Option<u64> {
                query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
                    .and_then(|v| v.parse().ok())
            };
            let after = param("after");
            let limit = param("limit").unwrap_or(50).clamp(1, 100) as usize;
            // With `after`, the `limit` oldest after it (Discord's page
            // forward); without, the newest `limit`.
            let skip = match after {
                Some(_) => 0,
                None => c.messages.len().saturating_sub(limit),
            };
            let after = after.unwrap_or(0);
            let mut newer: Vec<Value> = c
                .messages
                .iter()
                .filter(|m| {
                    m["id"]
                        .as_str()
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                        > after
                })
                .skip(skip)
                .take(limit)
                .cloned()
                .collect();
            newer.reverse(); // Discord lists newest first
            reply(StatusCode::OK, Value::Array(newer))
        }
        (&Method::GET, ["channels", _, "messages", _]) => {
            let found = s
                .channels
                .get(&id(1))
                .and_then(|c| c.messages.iter().find(|m| m["id"] == parts[3]).cloned());
            found.map_or_else(|| not_found("message"), |m| reply(StatusCode::OK, m))
        }
        (&Method::POST, ["channels", _, "messages", _, "threads"]) => {
            let (parent, starter) = (id(1), id(3));
            if !s
                .channels
                .get(&parent)
                .is_some_and(|c| c.messages.iter().any(|m| has_id(m, starter)))
            {
                return not_found("message");
            }
            let name = body["name"].as_str().unwrap_or_default().to_string();
            // Discord gives a thread started from a message that message's id.
            let starter_message = s.channels[&parent]
                .messages
                .iter()
                .find(|m| has_id(m, starter))
                .cloned()
                .expect("checked");
            let thread = Chan {
                kind: 11,
                parent: Some(parent),
                name,
                recipient: None,
                messages: vec![starter_message],
            };
            let json = channel_json(starter, &thread);
            s.channels.insert(starter, thread);
            reply(StatusCode::CREATED, json)
        }
        (&Method::GET, ["guilds", _, "members", _]) => {
            let user = id(3);
            if !s.users.contains_key(&user) {
                return not_found("member");
            }
            let mut m = member_json(&s, user, true);
            m["guild_id"] = json!(GUILD.to_string());
            reply(StatusCode::OK, m)
        }
        (&Method::PUT, ["applications", _, "commands"])
        | (&Method::PUT, ["applications", _, "guilds", _, "commands"]) => {
            reply(StatusCode::OK, json!([]))
        }
        (&Method::POST, ["interactions", _, _, "callback"]) => {
            let interaction = id(1);
            s.interaction_responses.push((interaction, body));
            reply(StatusCode::NO_CONTENT, Value::Null)
        }
        _ => not_found("route"),
    }
}

#[cfg(test)]
mod tests {
    use serenity::all::{GuildChannel, Interaction, Member, Message, PrivateChannel, Ready};
    use serenity::model::event::GuildCreateEvent;

    use super::*;

    /// Serenity drops a dispatch it cannot parse without advancing its sequence
    /// number, which would break RESUME: every payload must parse.
    #[test]
    fn payloads_parse_as_serenity_expects() {
        let mut s = State {
            next_id: 1,
            ..State::default()
        };
        for (id, name, roles) in [(BOT, "itdesk", vec![]), (TECH, "lisi", vec![TECH_ROLE])] {
            s.users.insert(id, (name.to_string(), roles));
        }
        s.channels.insert(
            HELP_CHANNEL,
            Chan {
                kind: 0,
                parent: None,
                name: "help".into(),
                recipient: None,
                messages: Vec::new(),
            },
        );
        let ready = json!({
            "v": 10, "user": user_json(&s, BOT), "guilds": [{"id": GUILD.to_string(), "unavailable": true}],
            "session_id": "x", "resume_gateway_url": "ws://127.0.0.1:1", "shard": [0, 1], "application": {"id": BOT.to_string(), "flags": 0},
        });
        serde_json::from_value::<Ready>(ready).expect("READY");
        serde_json::from_value::<GuildCreateEvent>(guild_json(&s)).expect("GUILD_CREATE");
        let mut message = message_json(&s, 5, HELP_CHANNEL, TECH, "hi");
        serde_json::from_value::<Message>(message.clone()).expect("message");
        message["guild_id"] = json!(GUILD.to_string());
        message["member"] = member_json(&s, TECH, false);
        serde_json::from_value::<Message>(message.clone()).expect("guild message");
        let dm = dm_channel(&mut s, TECH);
        let mut c = channel_json(dm, &s.channels[&dm]);
        c["recipients"] = json!([user_json(&s, TECH)]);
        serde_json::from_value::<PrivateChannel>(c).expect("DM channel");
        let thread = Chan {
            kind: 11,
            parent: Some(HELP_CHANNEL),
            name: "t".into(),
            recipient: None,
            messages: Vec::new(),
        };
        serde_json::from_value::<GuildChannel>(channel_json(77, &thread)).expect("thread");
        serde_json::from_value::<Member>(member_json(&s, TECH, true)).expect("member");
        let base = json!({
            "id": "9", "application_id": BOT.to_string(), "channel_id": HELP_CHANNEL.to_string(), "token": "t", "version": 1,
            "locale": "en-US", "entitlements": [], "attachment_size_limit": 1, "app_permissions": "0",
            "guild_id": GUILD.to_string(), "member": member_json(&s, TECH, true),
        });
        let with = |kind: u8, data: Value, extra: Option<(&str, Value)>| {
            let mut i = base.clone();
            i["type"] = json!(kind);
            i["data"] = data;
            if let Some((k, v)) = extra {
                i[k] = v;
            }
            i
        };
        let options = json!([{"name": "assign", "type": 1, "options": [{"name": "user", "type": 6, "value": TECH.to_string()}]}]);
        let resolved = json!({"users": {TECH.to_string(): user_json(&s, TECH)}, "members": {TECH.to_string(): member_json(&s, TECH, false)}});
        let command = with(
            2,
            json!({"id": "1", "name": "desk", "type": 1, "options": options, "resolved": resolved}),
            None,
        );
        assert!(matches!(
            serde_json::from_value::<Interaction>(command).expect("command"),
            Interaction::Command(_)
        ));
        let press = with(
            3,
            json!({"custom_id": "claim:IT20231009001", "component_type": 2}),
            Some(("message", message)),
        );
        assert!(matches!(
            serde_json::from_value::<Interaction>(press).expect("press"),
            Interaction::Component(_)
        ));
        let rows =
            json!([{"type": 1, "components": [{"type": 4, "custom_id": "remark", "value": "ok"}]}]);
        let form = with(
            5,
            json!({"custom_id": "remark:IT20231009001:4", "components": rows}),
            None,
        );
        assert!(matches!(
            serde_json::from_value::<Interaction>(form).expect("modal"),
            Interaction::Modal(_)
        ));
    }
}
