//! The fake's REST side: what the bot calls, answered from the shared state.

use std::convert::Infallible;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use super::{
    add_message, message_json, next_id, ok, p2p_chat, refused, thread_messages, Answer, Call, Msg,
    Shared, State, APP_ID, APP_SECRET,
};

pub async fn serve(listener: TcpListener, state: Shared) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(call(state, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn call(state: Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let mut s = state.lock().unwrap();
    s.calls.push(Call {
        method: method.to_string(),
        path: path.clone(),
        body: body.clone(),
    });
    let (status, answer) = route(&mut s, &method, &path, auth.as_deref(), &body);
    Response::builder()
        .status(status)
        .header("content-type", "application/json; charset=utf-8")
        .body(Full::new(Bytes::from(answer.to_string())))
        .expect("response")
}

fn route(s: &mut State, method: &Method, path: &str, auth: Option<&str>, body: &Value) -> Answer {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let param = |name: &str| -> Option<String> {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .map(str::to_string)
    };
    let parts: Vec<&str> = route.trim_start_matches('/').split('/').collect();
    let credentials = |id: &Value, secret: &Value| id == APP_ID && secret == APP_SECRET;
    match (method, parts.as_slice()) {
        (&Method::POST, ["open-apis", "auth", "v3", "tenant_access_token", "internal"]) => {
            if !credentials(&body["app_id"], &body["app_secret"]) {
                return refused(400, 10014, "app secret invalid");
            }
            s.tokens_issued += 1;
            let token = format!("t-fake-{}", s.tokens_issued);
            s.valid_token = Some(token.clone());
            (
                200,
                json!({"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200}),
            )
        }
        (&Method::POST, ["callback", "ws", "endpoint"]) => {
            if !credentials(&body["AppID"], &body["AppSecret"]) {
                return refused(200, 1000040351, "invalid app");
            }
            let client = json!({"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 1});
            (
                200,
                json!({"code": 0, "msg": "ok", "data": {"URL": s.ws_url, "ClientConfig": client}}),
            )
        }
        _ if auth
            != s.valid_token
                .as_ref()
                .map(|t| format!("Bearer {t}"))
                .as_deref() =>
        {
            refused(400, 99991663, "Invalid access token for authorization")
        }
        (&Method::POST, ["open-apis", "im", "v1", "messages"]) => {
            if let Some(limited) = limited(s) {
                return limited;
            }
            let receiver = body["receive_id"].as_str().unwrap_or_default();
            let chat = match param("receive_id_type").as_deref() {
                Some("open_id") => p2p_chat(receiver),
                Some("chat_id") => receiver.to_string(),
                _ => return refused(400, 99992402, "field validation failed: receive_id_type"),
            };
            if !s.chats.contains_key(&chat) {
                return refused(400, 230001, "invalid receive_id");
            }
            created(s, &chat, None, body)
        }
        (&Method::POST, ["open-apis", "im", "v1", "messages", id, "reply"]) => {
            if let Some(limited) = limited(s) {
                return limited;
            }
            let Some(root) = find(s, id) else {
                return refused(400, 230011, "the message was withdrawn or does not exist");
            };
            let thread = match (&root.thread_id, body["reply_in_thread"].as_bool()) {
                (Some(thread), _) => Some(thread.clone()),
                (None, Some(true)) => {
                    let thread = next_id(s, "omt_");
                    s.threads.insert(
                        thread.clone(),
                        (root.chat_id.clone(), root.message_id.clone()),
                    );
                    if let Some(m) = find_mut(s, id) {
                        m.thread_id = Some(thread.clone());
                    }
                    Some(thread)
                }
                (None, _) => None,
            };
            created(s, &root.chat_id, thread.as_deref(), body)
        }
        (&Method::PATCH, ["open-apis", "im", "v1", "messages", id]) => match find_mut(s, id) {
            Some(m) if m.msg_type == "interactive" && m.sender == APP_ID => {
                m.content = body["content"].as_str().unwrap_or_default().to_string();
                ok(json!({}))
            }
            Some(_) => refused(400, 230054, "only the bot's own cards can be updated"),
            None => refused(400, 230011, "the message does not exist"),
        },
        (&Method::GET, ["open-apis", "im", "v1", "messages"]) => list(s, &param),
        _ => refused(404, 404, "no such route in the fake"),
    }
}

/// A rate-limited answer, if one is due.
fn limited(s: &mut State) -> Option<Answer> {
    s.rate_limits.pop_front().map(|http| {
        if http {
            refused(429, 99991400, "request trigger frequency limit")
        } else {
            refused(400, 99991400, "request trigger frequency limit")
        }
    })
}

/// A message the bot sent; a `uuid` seen before returns the first one.
fn created(s: &mut State, chat: &str, thread: Option<&str>, body: &Value) -> Answer {
    let uuid = body["uuid"]
        .as_str()
        .filter(|u| !u.is_empty())
        .map(str::to_string);
    if let Some(uuid) = &uuid {
        let earlier = s.chats[chat]
            .iter()
            .find(|m| m.uuid.as_ref() == Some(uuid))
            .cloned();
        if let Some(m) = earlier {
            return ok(message_json(&m));
        }
    }
    let msg_type = body["msg_type"].as_str().unwrap_or("text");
    let content = body["content"].as_str().unwrap_or_default().to_string();
    let msg = add_message(s, chat, thread, APP_ID, msg_type, content, uuid);
    ok(message_json(&msg))
}

fn list(s: &mut State, param: &dyn Fn(&str) -> Option<String>) -> Answer {
    let container = param("container_id").unwrap_or_default();
    let since = param("start_time")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(0)
        * 1000;
    let size = param("page_size")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 50);
    let skip = param("page_token")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0);
    let all: Vec<Msg> = match param("container_id_type").as_deref() {
        Some("chat") => match s.chats.get(&container) {
            Some(msgs) => msgs.clone(),
            None => return refused(400, 230001, "invalid container_id"),
        },
        Some("thread") if s.threads.contains_key(&container) => thread_messages(s, &container),
        _ => return refused(400, 230001, "invalid container_id"),
    };
    let newer: Vec<&Msg> = all.iter().filter(|m| m.create_time >= since).collect();
    let page: Vec<Value> = newer
        .iter()
        .skip(skip)
        .take(size)
        .map(|m| message_json(m))
        .collect();
    let more = skip + size < newer.len();
    ok(json!({
        "has_more": more,
        "page_token": if more { (skip + size).to_string() } else { String::new() },
        "items": page,
    }))
}

fn find(s: &State, id: &str) -> Option<Msg> {
    s.chats
        .values()
        .flatten()
        .find(|m| m.message_id == id)
        .cloned()
}

fn find_mut<'a>(s: &'a mut State, id: &str) -> Option<&'a mut Msg> {
    s.chats.values_mut().flatten().find(|m| m.message_id == id)
}
