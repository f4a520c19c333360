//! Feishu/Lark's REST API, the calls the adapter makes: the app's
//! tenant_access_token (cached, renewed before it expires), the long
//! connection's endpoint, sending and replying (in a topic thread), updating
//! a card, and listing a chat's or thread's messages for the read-back.
//!
//! Invariants: every call has a timeout; a rate limit (HTTP 429, or Feishu's
//! frequency-limit codes) is waited out and retried a few times before it is
//! reported as temporary; a token Feishu calls invalid is dropped and fetched
//! again once. The app secret and the token are never logged.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tracing::{debug, warn};

/// Feishu's answer codes that mean "too many requests, later".
const RATE_LIMIT_CODES: [i64; 2] = [99991400, 230020];
/// Codes that mean the token we sent is no longer valid.
const BAD_TOKEN_CODES: [i64; 3] = [99991661, 99991663, 99991668];
/// Rate-limited attempts of one call before it counts as a temporary failure.
const RATE_LIMIT_ATTEMPTS: u32 = 5;
pub use super::wire::{ClientConfig, Container, Content, Endpoint, Listed, Sent};

/// Page size of the message list (Feishu's maximum).
const PAGE_SIZE: u32 = 50;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeishuError {
    /// Worth retrying later: the network, Feishu's 5xx, a rate limit that outlasted our retries.
    #[error("Feishu {call}: {reason} (temporary)")]
    Temporary { call: String, reason: String },
    /// Retrying will not help: a refused id, a missing permission, bad credentials.
    #[error(
        "Feishu {call}: {reason} — check [feishu] app_id/app_secret and the app's permissions"
    )]
    Permanent { call: String, reason: String },
}

impl FeishuError {
    pub fn is_temporary(&self) -> bool {
        matches!(self, FeishuError::Temporary { .. })
    }
}

struct Token {
    value: String,
    renew_at: Instant,
}

pub struct Rest {
    http: reqwest::Client,
    base: String,
    app_id: String,
    app_secret: String,
    token: tokio::sync::Mutex<Option<Token>>,
}

impl Rest {
    /// `base`: `https://open.feishu.cn`, `https://open.larksuite.com`, or a test's fake.
    pub fn new(base: &str, app_id: String, app_secret: String) -> Result<Rest, FeishuError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| FeishuError::Permanent {
                call: "client".into(),
                reason: e.to_string(),
            })?;
        Ok(Rest {
            http,
            base: base.trim_end_matches('/').to_string(),
            app_id,
            app_secret,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// The long connection's URL (`POST /callback/ws/endpoint`).
    pub async fn endpoint(&self) -> Result<Endpoint, FeishuError> {
        let call = "endpoint discovery";
        let body = json!({ "AppID": self.app_id, "AppSecret": self.app_secret });
        let answer = self
            .raw(
                call,
                reqwest::Method::POST,
                "/callback/ws/endpoint",
                None,
                Some(&body),
            )
            .await
            .map_err(|e| e.refused(call, "the app credentials were refused"))?;
        let data = &answer["data"];
        let url = data["URL"].as_str().unwrap_or_default().to_string();
        if url.is_empty() {
            return Err(temporary(call, "the answer has no URL"));
        }
        let client = serde_json::from_value(data["ClientConfig"].clone()).unwrap_or_default();
        Ok(Endpoint { url, client })
    }

    /// Sends to a user (`open_id`) or a chat (`chat_id`).
    pub async fn send(
        &self,
        receive_id_type: &str,
        receive_id: &str,
        content: &Content,
    ) -> Result<Sent, FeishuError> {
        let body = json!({
            "receive_id": receive_id,
            "msg_type": content.msg_type(),
            "content": content.encoded(),
        });
        let path = format!("/open-apis/im/v1/messages?receive_id_type={receive_id_type}");
        let data = self
            .call("send message", reqwest::Method::POST, &path, Some(&body))
            .await?;
        parse("send message", data)
    }

    /// Replies to `message_id`; `in_thread` opens (or continues) its topic thread.
    pub async fn reply(
        &self,
        message_id: &str,
        content: &Content,
        in_thread: bool,
    ) -> Result<Sent, FeishuError> {
        let body = json!({
            "msg_type": content.msg_type(),
            "content": content.encoded(),
            "reply_in_thread": in_thread,
        });
        let path = format!("/open-apis/im/v1/messages/{}/reply", segment(message_id));
        let data = self
            .call("reply", reqwest::Method::POST, &path, Some(&body))
            .await?;
        parse("reply", data)
    }

    /// Replaces a card the bot sent (`PATCH /open-apis/im/v1/messages/{id}`).
    pub async fn update_card(&self, message_id: &str, card: &Value) -> Result<(), FeishuError> {
        let body = json!({ "content": card.to_string() });
        let path = format!("/open-apis/im/v1/messages/{}", segment(message_id));
        self.call("update card", reqwest::Method::PATCH, &path, Some(&body))
            .await
            .map(drop)
    }

    /// One page of a chat's or thread's messages created at or after
    /// `since_ms` (Feishu filters by the second), oldest first, and the token
    /// of the next page if there is one.
    pub async fn list_page(
        &self,
        container: Container,
        id: &str,
        since_ms: u64,
        page: Option<&str>,
    ) -> Result<(Vec<Listed>, Option<String>), FeishuError> {
        let kind = match container {
            Container::Chat => "chat",
            Container::Thread => "thread",
        };
        let mut path = format!(
            "/open-apis/im/v1/messages?container_id_type={kind}&container_id={}&start_time={}&sort_type=ByCreateTimeAsc&page_size={PAGE_SIZE}",
            segment(id),
            since_ms / 1000
        );
        if let Some(token) = page {
            path.push_str(&format!("&page_token={}", segment(token)));
        }
        let data = self
            .call("list messages", reqwest::Method::GET, &path, None)
            .await?;
        let items: Vec<Listed> = serde_json::from_value(data["items"].clone()).unwrap_or_default();
        let next = data["page_token"]
            .as_str()
            .filter(|t| !t.is_empty() && data["has_more"].as_bool() == Some(true))
            .map(str::to_string);
        Ok((items.into_iter().filter(|m| !m.deleted).collect(), next))
    }

    /// One message (`GET /open-apis/im/v1/messages/{id}`).
    pub async fn message(&self, message_id: &str) -> Result<Listed, FeishuError> {
        let path = format!("/open-apis/im/v1/messages/{}", segment(message_id));
        let data = self
            .call("get message", reqwest::Method::GET, &path, None)
            .await?;
        let first = data["items"].get(0).cloned().unwrap_or(Value::Null);
        serde_json::from_value(first)
            .map_err(|e| permanent("get message", &format!("unexpected answer: {e}")))
    }

    /// An authorised call; its `data`. A token Feishu calls invalid is
    /// renewed and the call made once more.
    async fn call(
        &self,
        call: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, FeishuError> {
        let token = self.token(false).await?;
        let answer = match self
            .raw(call, method.clone(), path, Some(&token), body)
            .await
        {
            Err(Rejected::Token) => {
                let token = self.token(true).await?;
                self.raw(call, method, path, Some(&token), body).await
            }
            other => other,
        };
        match answer {
            Ok(answer) => Ok(answer["data"].clone()),
            Err(Rejected::Error(e)) => Err(e),
            Err(Rejected::Token) => Err(permanent(call, "a fresh tenant_access_token was refused")),
        }
    }

    /// The cached tenant_access_token, fetched when missing, due or `renew`.
    async fn token(&self, renew: bool) -> Result<String, FeishuError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if !renew && Instant::now() < token.renew_at {
                return Ok(token.value.clone());
            }
        }
        let call = "tenant_access_token";
        let body = json!({ "app_id": self.app_id, "app_secret": self.app_secret });
        let answer = self
            .raw(
                call,
                reqwest::Method::POST,
                "/open-apis/auth/v3/tenant_access_token/internal",
                None,
                Some(&body),
            )
            .await
            .map_err(|e| e.refused(call, "the app credentials were refused"))?;
        let value = answer["tenant_access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if value.is_empty() {
            return Err(permanent(call, "the answer has no token"));
        }
        let expire = answer["expire"].as_u64().unwrap_or(7200);
        // Renewed well before it expires: half its life, or 30 minutes early.
        let early = (expire / 2).min(1800);
        debug!(expire, "Feishu tenant_access_token renewed");
        *cached = Some(Token {
            value: value.clone(),
            renew_at: Instant::now() + Duration::from_secs(expire - early),
        });
        Ok(value)
    }

    /// One request, rate limits waited out; the whole JSON answer when `code` is 0.
    async fn raw(
        &self,
        call: &str,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<Value, Rejected> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .header("content-type", "application/json; charset=utf-8");
            if let Some(token) = token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            if let Some(body) = body {
                request = request.body(body.to_string());
            }
            let response = request
                .send()
                .await
                .map_err(|e| temporary(call, &without_url(e)))?;
            let status = response.status();
            let reset = response
                .headers()
                .get("x-ogw-ratelimit-reset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let text = response
                .text()
                .await
                .map_err(|e| temporary(call, &without_url(e)))?;
            let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let code = answer["code"].as_i64();
            let limited =
                status.as_u16() == 429 || code.is_some_and(|c| RATE_LIMIT_CODES.contains(&c));
            if limited {
                if attempt >= RATE_LIMIT_ATTEMPTS {
                    return Err(temporary(call, "rate limited").into());
                }
                let wait = backoff(attempt, reset);
                warn!(
                    call,
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    "Feishu rate limit; waiting"
                );
                tokio::time::sleep(wait).await;
                continue;
            }
            return match code {
                Some(0) => Ok(answer),
                Some(c) if BAD_TOKEN_CODES.contains(&c) => Err(Rejected::Token),
                Some(c) => {
                    let msg = answer["msg"].as_str().unwrap_or("");
                    let reason = format!("code {c}: {msg}");
                    Err(if status.is_server_error() {
                        temporary(call, &reason)
                    } else {
                        permanent(call, &reason)
                    }
                    .into())
                }
                None if status.is_server_error() || status.as_u16() == 408 => {
                    Err(temporary(call, &format!("HTTP {status}")).into())
                }
                None => Err(permanent(call, &format!("HTTP {status}, not a Feishu answer")).into()),
            };
        }
    }
}

enum Rejected {
    Token,
    Error(FeishuError),
}

impl Rejected {
    /// For a call made without a token: a token code means the credentials.
    fn refused(self, call: &str, reason: &str) -> FeishuError {
        match self {
            Rejected::Error(e) => e,
            Rejected::Token => permanent(call, reason),
        }
    }
}

impl From<FeishuError> for Rejected {
    fn from(e: FeishuError) -> Rejected {
        Rejected::Error(e)
    }
}

fn temporary(call: &str, reason: &str) -> FeishuError {
    FeishuError::Temporary {
        call: call.into(),
        reason: reason.into(),
    }
}

fn permanent(call: &str, reason: &str) -> FeishuError {
    FeishuError::Permanent {
        call: call.into(),
        reason: reason.into(),
    }
}

fn parse(call: &str, data: Value) -> Result<Sent, FeishuError> {
    serde_json::from_value(data).map_err(|e| permanent(call, &format!("unexpected answer: {e}")))
}

/// How long to wait before rate-limited attempt `attempt + 1`: what Feishu
/// said (`x-ogw-ratelimit-reset`, seconds, at most a minute), else 0.5 s doubling.
fn backoff(attempt: u32, reset: Option<u64>) -> Duration {
    match reset {
        Some(s) => Duration::from_secs(s.clamp(1, 60)),
        None => Duration::from_millis(500 << attempt.min(6)),
    }
}

/// An id as one URL path segment or query value: Feishu's ids are
/// `[A-Za-z0-9_-]`; anything else is escaped rather than trusted.
fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// reqwest's error without the URL, which may carry a page token.
fn without_url(e: reqwest::Error) -> String {
    e.without_url().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_break_out_of_their_segment() {
        assert_eq!(segment("om_abc-1"), "om_abc-1");
        assert_eq!(segment("om/../x?y=1"), "om%2F..%2Fx%3Fy%3D1");
    }

    #[test]
    fn backoff_follows_feishu_then_doubles() {
        assert_eq!(backoff(1, Some(3)), Duration::from_secs(3));
        assert_eq!(backoff(1, Some(0)), Duration::from_secs(1));
        assert_eq!(backoff(1, Some(9999)), Duration::from_secs(60));
        assert_eq!(backoff(1, None), Duration::from_millis(1000));
        assert_eq!(backoff(2, None), Duration::from_millis(2000));
    }
}
