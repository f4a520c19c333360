//! The long connection's wire format: one protobuf `Frame` per WebSocket
//! binary message (Feishu's `pbbp2.proto`), written out by hand with prost's
//! derive so that no protoc runs at build time. Control frames carry pings and
//! pongs; data frames carry events (JSON), possibly split in parts, and the
//! ack we send back is the same frame with a `{"code":200}` payload.
//!
//! Invariant: decoding never panics; a frame that does not decode is an error
//! value, and a part set that never completes is dropped after `PART_TTL`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use prost::Message;

/// `method` of a control frame (ping, pong).
pub const CONTROL: i32 = 0;
/// `method` of a data frame (event, card).
pub const DATA: i32 = 1;

/// How long the parts of a split payload wait for the rest (the SDKs' 5 s).
const PART_TTL: Duration = Duration::from_secs(5);

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
    pub fn decode_bytes(bytes: &[u8]) -> Result<Frame, prost::DecodeError> {
        Frame::decode(bytes)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_to_vec()
    }

    pub fn header(&self, key: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.key == key)
            .map(|h| h.value.as_str())
    }

    fn header_number(&self, key: &str) -> usize {
        self.header(key).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// `type`: "ping", "pong", "event", "card".
    pub fn kind(&self) -> &str {
        self.header("type").unwrap_or("")
    }

    pub fn ping(service: i32) -> Frame {
        Frame {
            seq_id: 0,
            log_id: 0,
            service,
            method: CONTROL,
            headers: vec![header("type", "ping")],
            payload_encoding: None,
            payload_type: None,
            payload: None,
            log_id_new: None,
        }
    }

    /// The answer to this data frame: the frame itself with a
    /// `{"code":200}` payload and how long we took in `biz_rt`.
    pub fn ack(&self, took: Duration) -> Frame {
        let mut frame = self.clone();
        frame
            .headers
            .push(header("biz_rt", &took.as_millis().to_string()));
        frame.payload = Some(serde_json::json!({ "code": 200 }).to_string().into_bytes());
        frame
    }
}

pub fn header(key: &str, value: &str) -> Header {
    Header {
        key: key.into(),
        value: value.into(),
    }
}

/// Joins payloads Feishu split into `sum` parts (`seq` 0‥sum-1) under one
/// `message_id`.
#[derive(Default)]
pub struct Parts {
    pending: HashMap<String, (Instant, Vec<Part>)>,
}

/// One part of a split payload, once it came.
type Part = Option<Vec<u8>>;

impl Parts {
    /// The whole payload once every part came; `None` while parts are missing
    /// (or for a part whose numbers make no sense, which is dropped).
    pub fn add(&mut self, frame: &Frame, now: Instant) -> Option<Vec<u8>> {
        let payload = frame.payload.clone().unwrap_or_default();
        let sum = frame.header_number("sum");
        if sum <= 1 {
            return Some(payload);
        }
        self.pending
            .retain(|_, (since, _)| now.duration_since(*since) < PART_TTL);
        let seq = frame.header_number("seq");
        let id = frame.header("message_id").unwrap_or("").to_string();
        if seq >= sum || sum > 1024 {
            return None;
        }
        let (_, parts) = self
            .pending
            .entry(id.clone())
            .or_insert_with(|| (now, vec![None; sum]));
        if parts.len() != sum {
            return None;
        }
        parts[seq] = Some(payload);
        if parts.iter().any(Option::is_none) {
            return None;
        }
        let (_, parts) = self.pending.remove(&id)?;
        Some(parts.into_iter().flatten().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(id: &str, sum: usize, seq: usize, payload: &str) -> Frame {
        Frame {
            method: DATA,
            headers: vec![
                header("type", "event"),
                header("message_id", id),
                header("sum", &sum.to_string()),
                header("seq", &seq.to_string()),
            ],
            payload: Some(payload.as_bytes().to_vec()),
            ..Frame::ping(1)
        }
    }

    #[test]
    fn a_frame_survives_the_wire() {
        let frame = data("m1", 1, 0, "{}");
        let back = Frame::decode_bytes(&frame.to_bytes()).unwrap();
        assert_eq!(back, frame);
        assert_eq!(back.kind(), "event");
        // Required fields are written even when zero, as Feishu's decoder needs.
        let ping = Frame::ping(0).to_bytes();
        assert_eq!(&ping[..4], &[0x08, 0x00, 0x10, 0x00]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&b"\xff\xff\xff"[..], b"\x0a\x05abc", b"\x2a\x02\x0a"] {
            assert!(Frame::decode_bytes(bytes).is_err(), "{bytes:?}");
        }
        // prost does not insist on required fields: an empty message is a
        // control frame of no type, which the connection ignores.
        assert_eq!(Frame::decode_bytes(b"").unwrap().kind(), "");
    }

    #[test]
    fn the_ack_carries_code_and_time() {
        let frame = data("m1", 1, 0, "{\"event\":1}");
        let ack = frame.ack(Duration::from_millis(7));
        assert_eq!(ack.payload.as_deref().unwrap(), b"{\"code\":200}");
        assert_eq!(ack.header("biz_rt"), Some("7"));
        assert_eq!(ack.header("message_id"), Some("m1"));
    }

    #[test]
    fn parts_are_joined_in_order_whatever_order_they_come_in() {
        let mut parts = Parts::default();
        let now = Instant::now();
        assert_eq!(parts.add(&data("m", 3, 2, "c"), now), None);
        assert_eq!(parts.add(&data("m", 3, 0, "a"), now), None);
        assert_eq!(parts.add(&data("m", 3, 1, "b"), now).unwrap(), b"abc");
        assert_eq!(parts.add(&data("x", 1, 0, "whole"), now).unwrap(), b"whole");
        // A part out of range, and a set that never completes, go away.
        assert_eq!(parts.add(&data("n", 2, 5, "?"), now), None);
        assert_eq!(parts.add(&data("n", 2, 0, "a"), now), None);
        let later = now + PART_TTL + Duration::from_secs(1);
        assert_eq!(parts.add(&data("n", 2, 1, "b"), later), None);
    }
}
