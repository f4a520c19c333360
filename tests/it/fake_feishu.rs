//! A fake Feishu/Lark on loopback, for the chat tests: the REST calls the bot
//! makes (`rest.rs`) and the long connection it listens on (`ws.rs`), with a
//! few users, their one-to-one chats with the bot and the technician groups'
//! chats. Tests act as Feishu users (DMs, messages in a ticket's topic thread,
//! card button presses) and read back everything the bot sent; every REST
//! call is recorded.
//!
//! Covers: tenant_access_token (issued, expirable at will), endpoint
//! discovery with its ClientConfig, send (to an open_id or a chat_id, `uuid`
//! honoured as Feishu does: a repeat returns the first message), reply (in a
//! topic thread or not), card update, the message list of a chat or thread
//! (`start_time` in seconds, ascending, paged), rate limits on demand (HTTP
//! 429 or code 99991400). Long connection: protobuf frames, ping → pong with
//! the client settings, events pushed as data frames (optionally split in two
//! parts), acks counted; events pushed but not acked when the connection
//! drops are pushed again on the next, as Feishu does, and so are events that
//! arose while the bot was away — unless `forget_while_away`, when they exist
//! only in the chats' history, where the bot can read them back. Not covered:
//! files and images, chat management, message recall, encryption of events.
//!
//! Invariant: listens on 127.0.0.1 only; all state is behind one mutex, so a
//! test sees the fake exactly as the bot left it.

#[path = "fake_feishu/rest.rs"]
mod rest;
#[path = "fake_feishu/ws.rs"]
mod ws;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::support::wait_until;

pub const APP_ID: &str = "cli_fake0000000001";
pub const APP_SECRET: &str = "fake-app-secret";
/// Requesters.
pub const ALICE: &str = "ou_alice";
pub const BOB: &str = "ou_bob";
/// A technician, the on-duty person, and a colleague who is neither.
pub const TECH: &str = "ou_tech";
pub const ON_DUTY: &str = "ou_onduty";
pub const STRANGER: &str = "ou_stranger";
pub const ON_DUTY_CHAT: &str = "oc_onduty";
/// Each technician group's chat (the default routing's names).
pub const GROUP_CHATS: [(&str, &str); 5] = [
    ("hardware", "oc_hardware"),
    ("software", "oc_software"),
    ("network", "oc_network"),
    ("access", "oc_access"),
    ("service-desk", "oc_servicedesk"),
];

pub fn group_chat(group: &str) -> &'static str {
    GROUP_CHATS
        .iter()
        .find(|(g, _)| *g == group)
        .map(|(_, c)| *c)
        .expect("known group")
}

/// The one-to-one chat of a user with the bot.
pub fn p2p_chat(user: &str) -> String {
    format!("oc_p2p_{}", user.trim_start_matches("ou_"))
}

/// One REST request the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// With the query string.
    pub path: String,
    pub body: Value,
}

/// A message in a chat, as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Msg {
    pub message_id: String,
    pub chat_id: String,
    pub thread_id: Option<String>,
    pub root_id: Option<String>,
    /// An open_id, or the app id for the bot's own.
    pub sender: String,
    pub msg_type: String,
    /// The content as sent: JSON in a string.
    pub content: String,
    pub create_time: u64,
    pub uuid: Option<String>,
}

impl Msg {
    pub fn by_bot(&self) -> bool {
        self.sender == APP_ID
    }

    /// The text of a text message, or the card's JSON as a string.
    pub fn text(&self) -> String {
        let json: Value = serde_json::from_str(&self.content).unwrap_or(Value::Null);
        match json["text"].as_str() {
            Some(text) if self.msg_type == "text" => text.to_string(),
            _ => self.content.clone(),
        }
    }

    pub fn card(&self) -> Value {
        serde_json::from_str(&self.content).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct State {
    calls: Vec<Call>,
    /// chat id → its messages, oldest first.
    chats: BTreeMap<String, Vec<Msg>>,
    /// thread id → (chat, root message).
    threads: BTreeMap<String, (String, String)>,
    tokens_issued: u32,
    valid_token: Option<String>,
    next: u64,
    last_time: u64,
    /// Rate-limited answers still to give: (HTTP 429 rather than code 99991400).
    rate_limits: VecDeque<bool>,
    /// The live connection's writer; `None` while the bot is away.
    conn: Option<mpsc::UnboundedSender<Vec<u8>>>,
    kill: Option<watch::Sender<bool>>,
    /// Events to push once the bot is back, oldest first.
    queued: VecDeque<(String, Value)>,
    /// Pushed on the live connection, not acked yet: frame message_id → event.
    unacked: BTreeMap<String, Value>,
    forget_while_away: bool,
    split: bool,
    connects: u32,
    pings: u32,
    acks: u32,
    ws_url: String,
}

pub struct FakeFeishu {
    /// What `[feishu] base_url` should say.
    pub base_url: String,
    state: Arc<Mutex<State>>,
    _rt: tokio::runtime::Runtime,
}

impl FakeFeishu {
    pub fn start() -> FakeFeishu {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (rest_listener, ws_listener) = rt.block_on(async {
            (
                TcpListener::bind("127.0.0.1:0").await.expect("bind REST"),
                TcpListener::bind("127.0.0.1:0").await.expect("bind WS"),
            )
        });
        let base_url = format!("http://{}", rest_listener.local_addr().expect("addr"));
        let mut state = State {
            ws_url: format!(
                "ws://{}/ws?device_id=fake&service_id=7",
                ws_listener.local_addr().expect("addr")
            ),
            ..State::default()
        };
        for user in [ALICE, BOB, TECH, ON_DUTY, STRANGER] {
            state.chats.insert(p2p_chat(user), Vec::new());
        }
        for chat in GROUP_CHATS.iter().map(|(_, c)| *c).chain([ON_DUTY_CHAT]) {
            state.chats.insert(chat.to_string(), Vec::new());
        }
        let state = Arc::new(Mutex::new(state));
        rt.spawn(rest::serve(rest_listener, state.clone()));
        rt.spawn(ws::serve(ws_listener, state.clone()));
        FakeFeishu {
            base_url,
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

    /// Waits for the bot's long connection (the `n`th since the start).
    pub fn wait_connected(&self, n: u32) {
        wait_until(
            "the bot to open the long connection",
            Duration::from_secs(20),
            || self.with(|s| s.connects >= n && s.conn.is_some()),
        );
    }

    pub fn connects(&self) -> u32 {
        self.with(|s| s.connects)
    }

    pub fn pings(&self) -> u32 {
        self.with(|s| s.pings)
    }

    pub fn acks(&self) -> u32 {
        self.with(|s| s.acks)
    }

    pub fn tokens_issued(&self) -> u32 {
        self.with(|s| s.tokens_issued)
    }

    /// The token the bot holds stops working, as when it expired early.
    pub fn expire_token(&self) {
        self.with(|s| s.valid_token = None);
    }

    /// The next `n` sends or replies are refused as rate-limited, HTTP 429
    /// (`http`) or code 99991400 in a 400.
    pub fn rate_limit(&self, n: usize, http: bool) {
        self.with(|s| s.rate_limits.extend(std::iter::repeat_n(http, n)));
    }

    /// Events are pushed in two parts from now on.
    pub fn split_events(&self, on: bool) {
        self.with(|s| s.split = on);
    }

    /// Events that arise while the bot is away are not pushed when it comes
    /// back: they are only in the chats' history.
    pub fn forget_while_away(&self, on: bool) {
        self.with(|s| s.forget_while_away = on);
    }

    /// The connection ends without a close frame, as a dropped TCP
    /// connection does; what was pushed and not acked is pushed again later.
    pub fn drop_connection(&self) {
        self.with(|s| {
            s.conn = None;
            if let Some(kill) = s.kill.take() {
                let _ = kill.send(true);
            }
            let unacked = std::mem::take(&mut s.unacked);
            if !s.forget_while_away {
                for event in unacked.into_iter().rev() {
                    s.queued.push_front(event);
                }
            }
        });
    }

    /// A user writes to the bot in their one-to-one chat; the message id.
    pub fn dm(&self, user: &str, text: &str) -> String {
        self.with(|s| {
            let chat = p2p_chat(user);
            let content = json!({ "text": text }).to_string();
            let msg = add_message(s, &chat, None, user, "text", content, None);
            push_message(s, &msg, "p2p");
            msg.message_id
        })
    }

    /// A user writes in a topic thread; the message id.
    pub fn post_in_thread(&self, user: &str, thread: &str, text: &str) -> String {
        self.with(|s| {
            let (chat, _) = s.threads.get(thread).cloned().expect("known thread");
            let content = json!({ "text": text }).to_string();
            let msg = add_message(s, &chat, Some(thread), user, "text", content, None);
            push_message(s, &msg, "group");
            msg.message_id
        })
    }

    /// A user presses a card button whose `value` is as given.
    pub fn press(&self, user: &str, message_id: &str, value: Value) {
        self.card_action(user, message_id, json!({"tag": "button", "value": value}));
    }

    /// A user submits a card form: the button's `value` and the fields.
    pub fn submit(&self, user: &str, message_id: &str, value: Value, fields: Value) {
        self.card_action(
            user,
            message_id,
            json!({"tag": "button", "value": value, "form_value": fields}),
        );
    }

    fn card_action(&self, user: &str, message_id: &str, action: Value) {
        self.with(|s| {
            let chat = s
                .chats
                .iter()
                .find(|(_, msgs)| msgs.iter().any(|m| m.message_id == message_id))
                .map(|(c, _)| c.clone())
                .unwrap_or_default();
            let at = now_ms(s);
            let event = json!({
                "operator": {"open_id": user, "union_id": format!("on_{user}")},
                "token": format!("c-{at}"),
                "action": action,
                "host": "im_message",
                "context": {"open_message_id": message_id, "open_chat_id": chat},
            });
            push(s, "card.action.trigger", at, event);
        });
    }

    /// Every message of a chat, oldest first.
    pub fn messages(&self, chat: &str) -> Vec<Msg> {
        self.with(|s| s.chats.get(chat).cloned().unwrap_or_default())
    }

    /// What the bot sent a user in their one-to-one chat.
    pub fn dms_to(&self, user: &str) -> Vec<Msg> {
        self.messages(&p2p_chat(user))
            .into_iter()
            .filter(Msg::by_bot)
            .collect()
    }

    /// Every topic thread: (thread id, chat, root message).
    pub fn threads(&self) -> Vec<(String, String, String)> {
        self.with(|s| {
            s.threads
                .iter()
                .map(|(t, (c, r))| (t.clone(), c.clone(), r.clone()))
                .collect()
        })
    }
}

fn thread_messages(s: &State, thread: &str) -> Vec<Msg> {
    let Some((chat, root)) = s.threads.get(thread) else {
        return Vec::new();
    };
    s.chats[chat]
        .iter()
        .filter(|m| m.thread_id.as_deref() == Some(thread) || &m.message_id == root)
        .cloned()
        .collect()
}

/// Milliseconds since the epoch, strictly growing: Feishu's create times.
fn now_ms(s: &mut State) -> u64 {
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64;
    s.last_time = wall.max(s.last_time + 1);
    s.last_time
}

fn next_id(s: &mut State, prefix: &str) -> String {
    s.next += 1;
    format!("{prefix}{:08}", s.next)
}

fn add_message(
    s: &mut State,
    chat: &str,
    thread: Option<&str>,
    sender: &str,
    msg_type: &str,
    content: String,
    uuid: Option<String>,
) -> Msg {
    let message_id = next_id(s, "om_");
    let root_id = thread
        .and_then(|t| s.threads.get(t))
        .map(|(_, r)| r.clone());
    let msg = Msg {
        message_id,
        chat_id: chat.to_string(),
        thread_id: thread.map(str::to_string),
        root_id,
        sender: sender.to_string(),
        msg_type: msg_type.to_string(),
        content,
        create_time: now_ms(s),
        uuid,
    };
    s.chats
        .entry(chat.to_string())
        .or_default()
        .push(msg.clone());
    msg
}

/// `im.message.receive_v1` for a user's message.
fn push_message(s: &mut State, m: &Msg, chat_type: &str) {
    let event = json!({
        "sender": {"sender_id": {"open_id": m.sender, "union_id": format!("on_{}", m.sender)}, "sender_type": "user", "tenant_key": "fake"},
        "message": {
            "message_id": m.message_id, "root_id": m.root_id, "parent_id": m.root_id,
            "create_time": m.create_time.to_string(), "update_time": m.create_time.to_string(),
            "chat_id": m.chat_id, "thread_id": m.thread_id, "chat_type": chat_type,
            "message_type": m.msg_type, "content": m.content, "mentions": [],
        }
    });
    push(s, "im.message.receive_v1", m.create_time, event);
}

/// An event in its schema 2.0 envelope, pushed now or queued for later.
fn push(s: &mut State, kind: &str, at: u64, event: Value) {
    let id = next_id(s, "ev_");
    let envelope = json!({
        "schema": "2.0",
        "header": {"event_id": id, "event_type": kind, "create_time": at.to_string(), "token": "", "app_id": APP_ID, "tenant_key": "fake"},
        "event": event,
    });
    match &s.conn {
        Some(_) => ws::send_event(s, id, envelope),
        None if s.forget_while_away => {}
        None => s.queued.push_back((id, envelope)),
    }
}

type Shared = Arc<Mutex<State>>;

/// What the fake answers: status and JSON.
type Answer = (u16, Value);

fn ok(data: Value) -> Answer {
    (200, json!({"code": 0, "msg": "success", "data": data}))
}

fn refused(status: u16, code: i64, msg: &str) -> Answer {
    (status, json!({"code": code, "msg": msg}))
}

fn message_json(m: &Msg) -> Value {
    json!({
        "message_id": m.message_id, "root_id": m.root_id, "parent_id": m.root_id,
        "thread_id": m.thread_id, "msg_type": m.msg_type,
        "create_time": m.create_time.to_string(), "update_time": m.create_time.to_string(),
        "deleted": false, "updated": false, "chat_id": m.chat_id,
        "sender": if m.by_bot() {
            json!({"id": APP_ID, "id_type": "app_id", "sender_type": "app", "tenant_key": "fake"})
        } else {
            json!({"id": m.sender, "id_type": "open_id", "sender_type": "user", "tenant_key": "fake"})
        },
        "body": {"content": m.content},
        "mentions": [],
    })
}
