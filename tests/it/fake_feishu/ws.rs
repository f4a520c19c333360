//! The fake's long connection: protobuf frames over a WebSocket, as Feishu's
//! `pbbp2.proto` has them, written out here apart from the bot's own copy so
//! that the two are checked against each other.

use futures::{SinkExt, StreamExt};
use prost::Message as _;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use super::{Shared, State};

#[derive(Clone, PartialEq, prost::Message)]
pub struct Header {
    #[prost(string, required, tag = "1")]
    pub key: String,
    #[prost(string, required, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Frame {
    #[prost(uint64, required, tag = "1")]
    pub seq_id: u64,
    #[prost(uint64, required, tag = "2")]
    pub log_id: u64,
    #[prost(int32, required, tag = "3")]
    pub service: i32,
    #[prost(int32, required, tag = "4")]
    pub method: i32,
    #[prost(message, repeated, tag = "5")]
    pub headers: Vec<Header>,
    #[prost(string, optional, tag = "6")]
    pub payload_encoding: Option<String>,
    #[prost(string, optional, tag = "7")]
    pub payload_type: Option<String>,
    #[prost(bytes = "vec", optional, tag = "8")]
    pub payload: Option<Vec<u8>>,
    #[prost(string, optional, tag = "9")]
    pub log_id_new: Option<String>,
}

impl Frame {
    fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.key == key)
            .map(|h| h.value.as_str())
    }
}

fn header(key: &str, value: &str) -> Header {
    Header {
        key: key.into(),
        value: value.into(),
    }
}

pub async fn serve(listener: TcpListener, state: Shared) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(connection(state.clone(), stream));
    }
}

/// Pushes an event on the live connection (in two parts when asked), and
/// keeps it until it is acked.
pub fn send_event(s: &mut State, id: String, envelope: Value) {
    let Some(conn) = s.conn.clone() else {
        s.queued.push_back((id, envelope));
        return;
    };
    let payload = envelope.to_string().into_bytes();
    let chunks: Vec<&[u8]> = if s.split && payload.len() > 1 {
        let (a, b) = payload.split_at(payload.len() / 2);
        // The second part first: the bot must put them in order.
        vec![b, a]
    } else {
        vec![&payload]
    };
    let sum = chunks.len();
    for (n, chunk) in chunks.into_iter().enumerate() {
        let seq = if sum == 1 { 0 } else { sum - 1 - n };
        let frame = Frame {
            seq_id: 0,
            log_id: 0,
            service: 7,
            method: 1,
            headers: vec![
                header("type", "event"),
                header("message_id", &id),
                header("sum", &sum.to_string()),
                header("seq", &seq.to_string()),
                header("trace_id", &format!("trace-{id}")),
            ],
            payload_encoding: None,
            payload_type: None,
            payload: Some(chunk.to_vec()),
            log_id_new: None,
        };
        let _ = conn.send(frame.encode_to_vec());
    }
    s.unacked.insert(id, envelope);
}

async fn connection(state: Shared, stream: tokio::net::TcpStream) {
    let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut sink, mut source) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    // `drop_connection`: both halves go without a close frame.
    let (kill, mut killed) = watch::channel(false);
    let mut writer_killed = killed.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                bytes = rx.recv() => match bytes {
                    Some(bytes) => {
                        if sink.send(Message::Binary(bytes)).await.is_err() {
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
    {
        let mut s = state.lock().unwrap();
        // A second connection replaces the first, as Feishu's does.
        if let Some(old) = s.kill.take() {
            let _ = old.send(true);
        }
        s.connects += 1;
        s.conn = Some(tx.clone());
        s.kill = Some(kill);
        let queued: Vec<(String, Value)> = s.queued.drain(..).collect();
        for (id, envelope) in queued {
            send_event(&mut s, id, envelope);
        }
    }
    loop {
        let message = tokio::select! {
            message = source.next() => message,
            _ = killed.changed() => break,
        };
        let Some(Ok(message)) = message else { break };
        let Message::Binary(bytes) = message else {
            continue;
        };
        let Ok(frame) = Frame::decode(bytes.as_slice()) else {
            continue;
        };
        let mut s = state.lock().unwrap();
        match (frame.method, frame.header("type")) {
            (0, Some("ping")) => {
                s.pings += 1;
                let client = json!({"ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0, "PingInterval": 1});
                let pong = Frame {
                    headers: vec![header("type", "pong")],
                    payload: Some(client.to_string().into_bytes()),
                    ..frame.clone()
                };
                let _ = tx.send(pong.encode_to_vec());
            }
            (1, _) => {
                let acked =
                    serde_json::from_slice::<Value>(frame.payload.as_deref().unwrap_or(b""))
                        .is_ok_and(|p| p["code"] == 200);
                let id = frame.header("message_id").unwrap_or("").to_string();
                if acked && s.unacked.remove(&id).is_some() {
                    s.acks += 1;
                }
            }
            _ => {}
        }
    }
    // The bot hung up or was cut off: it is away until it connects again.
    let mut s = state.lock().unwrap();
    if s.conn.as_ref().is_some_and(|c| c.same_channel(&tx)) {
        s.conn = None;
        s.kill = None;
        let unacked = std::mem::take(&mut s.unacked);
        if !s.forget_while_away {
            for event in unacked.into_iter().rev() {
                s.queued.push_front(event);
            }
        }
    }
}
