//! Which conditions must wake the on-duty staff, what to tell them, and how
//! often: a mailbox that keeps failing, an OAuth token that was refused or is
//! about to expire, a dead-letter list that has grown past a threshold.
//!
//! Invariant: pure — `evaluate` and `RateLimiter::allow` take `now`; nothing
//! here sends or sleeps. At most one alert per condition per interval, however
//! often the condition is seen.

use std::collections::HashMap;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};

use crate::health::{Condition, ImapFailure, Observed};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thresholds {
    /// Consecutive IMAP connection/login/session failures.
    pub imap_failures: u32,
    /// Dead letters at or above this many.
    pub dead_letters: u64,
    /// Warn this long before the OAuth token expires.
    pub token_expiry_warning: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    pub condition: Condition,
    pub text: String,
}

/// Every condition that holds now, with the text for the on-duty staff.
pub fn evaluate(observed: &Observed, t: &Thresholds, now: DateTime<Utc>) -> Vec<Alarm> {
    let mut alarms = Vec::new();
    let mut raise = |condition, text: String| alarms.push(Alarm { condition, text });
    if let Some(imap) = &observed.imap {
        let since = imap
            .failing_since
            .map(|s| s.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_default();
        match &imap.last_failure {
            Some((ImapFailure::TokenRejected, error)) => raise(
                Condition::OauthRejected,
                format!("The mail server refused itdesk's OAuth (XOAUTH2) token: {error}\nNo new mail becomes a ticket until the token is refreshed."),
            ),
            Some((_, error)) if imap.consecutive_failures >= t.imap_failures => raise(
                Condition::ImapFailing,
                format!(
                    "Mail intake is failing: {} IMAP attempts in a row have failed since {since}.\nLast error: {error}\nNo new mail becomes a ticket until this is fixed; itdesk keeps retrying.",
                    imap.consecutive_failures
                ),
            ),
            _ => {}
        }
    }
    if let Some(expiry) = observed.token_expiry {
        let left = expiry - now;
        if left <= Duration::zero() {
            raise(Condition::OauthExpiring, format!("The IMAP OAuth access token expired at {} and was not refreshed: mail intake stops at the next login. Check the token refresher that writes [imap].oauth_token_file.", expiry.format("%Y-%m-%d %H:%M UTC")));
        } else if left <= t.token_expiry_warning {
            raise(
                Condition::OauthExpiring,
                format!("The IMAP OAuth access token expires at {} (in {} min) and has not been refreshed yet. Check the token refresher that writes [imap].oauth_token_file.", expiry.format("%Y-%m-%d %H:%M UTC"), left.num_minutes()),
            );
        }
    }
    if let Err(error) = &observed.store {
        raise(
            Condition::StoreFailing,
            format!("The store cannot be used: {error}\nNo new mail becomes a ticket (it stays unread) and no notice goes out until it can; itdesk reopens the store by itself once writes work again."),
        );
    }
    if let Ok(census) = &observed.store {
        if census.dead_letters >= t.dead_letters {
            raise(
                Condition::DeadLetters,
                format!(
                    "{} notices are on the dead-letter list (alert threshold {}): requesters or staff are not being told.\nSee `itdesk outbox list`; once the cause is fixed, `itdesk outbox retry ENTRY` sends one again.",
                    census.dead_letters, t.dead_letters
                ),
            );
        }
    }
    alarms
}

/// At most one alert per condition per `every`.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    every: Duration,
    last: HashMap<Condition, DateTime<Utc>>,
}

impl RateLimiter {
    pub fn new(every: Duration) -> RateLimiter {
        RateLimiter {
            every,
            last: HashMap::new(),
        }
    }

    /// Whether an alert for `condition` may go out now; if so, it is counted as sent.
    pub fn allow(&mut self, condition: Condition, now: DateTime<Utc>) -> bool {
        match self.last.get(&condition) {
            // A clock stepped back counts as "within the interval": no burst.
            Some(last) if now < *last + self.every => false,
            _ => {
                self.last.insert(condition, now);
                true
            }
        }
    }
}

/// The `exp` claim of a JWT access token (e.g. Microsoft 365's); `None` for an
/// opaque token. The signature is not checked: the server does that.
pub fn jwt_expiry(token: &str) -> Option<DateTime<Utc>> {
    let mut parts = token.trim().split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    DateTime::from_timestamp(claims.get("exp")?.as_i64()?, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{GatewayState, ImapStatus};
    use crate::store::Census;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2023, 10, 9, 10, 0, 0).unwrap()
    }

    fn thresholds() -> Thresholds {
        Thresholds {
            imap_failures: 3,
            dead_letters: 10,
            token_expiry_warning: Duration::minutes(15),
        }
    }

    fn observed(
        imap: Option<ImapStatus>,
        dead_letters: u64,
        token_expiry: Option<DateTime<Utc>>,
    ) -> Observed {
        let census = Census {
            dead_letters,
            ..Census::default()
        };
        Observed {
            store: Ok(census),
            imap,
            gateway: GatewayState::Disabled,
            token_expiry,
        }
    }

    fn imap(failures: u32, failure: ImapFailure) -> Option<ImapStatus> {
        Some(ImapStatus {
            last_success: None,
            failing_since: Some(now() - Duration::minutes(5)),
            consecutive_failures: failures,
            last_failure: Some((
                failure,
                "IMAP login to mail:993 as helpdesk@ failed: authentication failed".into(),
            )),
        })
    }

    fn conditions(obs: &Observed) -> Vec<Condition> {
        evaluate(obs, &thresholds(), now())
            .into_iter()
            .map(|a| a.condition)
            .collect()
    }

    #[test]
    fn conditions_raise_at_their_thresholds() {
        use Condition::*;
        let cases: Vec<(&str, Observed, Vec<Condition>)> = vec![
            ("all quiet", observed(None, 0, None), vec![]),
            (
                "two failures",
                observed(imap(2, ImapFailure::Connection), 0, None),
                vec![],
            ),
            (
                "three failures",
                observed(imap(3, ImapFailure::Login), 0, None),
                vec![ImapFailing],
            ),
            (
                "token refused at once",
                observed(imap(1, ImapFailure::TokenRejected), 0, None),
                vec![OauthRejected],
            ),
            ("dead letters below", observed(None, 9, None), vec![]),
            (
                "dead letters at",
                observed(None, 10, None),
                vec![DeadLetters],
            ),
            (
                "token far",
                observed(None, 0, Some(now() + Duration::minutes(16))),
                vec![],
            ),
            (
                "token near",
                observed(None, 0, Some(now() + Duration::minutes(15))),
                vec![OauthExpiring],
            ),
            (
                "token expired",
                observed(None, 0, Some(now() - Duration::minutes(1))),
                vec![OauthExpiring],
            ),
        ];
        for (case, obs, expected) in cases {
            assert_eq!(conditions(&obs), expected, "{case}");
        }
        let text = &evaluate(
            &observed(imap(3, ImapFailure::Login), 0, None),
            &thresholds(),
            now(),
        )[0]
        .text;
        assert!(
            text.contains("3 IMAP attempts in a row") && text.contains("authentication failed"),
            "{text}"
        );
    }

    #[test]
    fn rate_limiter_allows_one_per_condition_per_interval() {
        let mut limiter = RateLimiter::new(Duration::hours(1));
        let t0 = now();
        assert!(limiter.allow(Condition::ImapFailing, t0));
        assert!(!limiter.allow(Condition::ImapFailing, t0 + Duration::seconds(1)));
        assert!(!limiter.allow(Condition::ImapFailing, t0 + Duration::minutes(59)));
        assert!(
            limiter.allow(Condition::DeadLetters, t0 + Duration::minutes(1)),
            "conditions are limited independently"
        );
        assert!(limiter.allow(Condition::ImapFailing, t0 + Duration::hours(1)));
        assert!(
            !limiter.allow(Condition::ImapFailing, t0 + Duration::minutes(30)),
            "a clock stepped back sends nothing"
        );
        assert!(!limiter.allow(Condition::ImapFailing, t0 + Duration::minutes(119)));
        assert!(limiter.allow(Condition::ImapFailing, t0 + Duration::hours(2)));
    }

    #[test]
    fn reads_the_expiry_of_a_jwt() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let token = format!(
            "{}.{}.c2lnbmF0dXJl",
            b64(r#"{"alg":"RS256"}"#),
            b64(r#"{"aud":"https://outlook.office.com","exp":1696845600}"#)
        );
        assert_eq!(
            jwt_expiry(&token),
            Some(Utc.with_ymd_and_hms(2023, 10, 9, 10, 0, 0).unwrap())
        );
        assert_eq!(jwt_expiry("ya29.opaque-google-token"), None);
        assert_eq!(jwt_expiry(""), None);
        assert_eq!(
            jwt_expiry(&format!("{}.{}.x", b64("{}"), b64(r#"{"sub":"1"}"#))),
            None
        );
    }
}
