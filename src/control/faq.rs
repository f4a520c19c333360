//! Staff review of the self-service FAQ: approving a recurring cluster's fix
//! (offered to new requests that match it), listing and revoking approvals.

use serde_json::Value;

use super::peers::Caller;
use super::{ControlContext, ControlError};
use crate::core::ticket::{Lang, Ticket};
use crate::stats::faq;
use crate::stats::faq_known::{cluster_keywords, Approved};

/// Approves `cluster` (keywords joined by `+`, as `itdesk faq` shows them)
/// with `fix`, or with the fix its requesters confirmed most often.
pub async fn approve(
    ctx: &ControlContext,
    caller: &Caller,
    cluster: &str,
    fix: Option<String>,
) -> Result<Value, ControlError> {
    let keywords = keywords_of(cluster)?;
    let fix = match fix.map(|f| f.trim().to_string()).filter(|f| !f.is_empty()) {
        Some(fix) => fix,
        None => most_confirmed_fix(ctx, &keywords)?.ok_or_else(|| {
            ControlError::NotFound(format!(
                "no recurring problem `{cluster}` with a confirmed fix (see `itdesk faq`); give the fix with --fix"
            ))
        })?,
    };
    let entry = Approved {
        cluster: keywords.join("+"),
        keywords,
        fix,
        by: caller.login.clone(),
        at: ctx.clock.now(),
    };
    let stored = ctx.engine.approve_faq(entry).await?;
    Ok(to_json(&stored))
}

pub fn approved(ctx: &ControlContext) -> Result<Value, ControlError> {
    Ok(to_json(&ctx.store.faq_approved()?))
}

pub async fn revoke(ctx: &ControlContext, cluster: &str) -> Result<Value, ControlError> {
    let keywords = keywords_of(cluster)?;
    if ctx.engine.revoke_faq(keywords).await? {
        Ok(Value::Null)
    } else {
        Err(ControlError::NotFound(format!(
            "no approved FAQ entry `{cluster}` (see `itdesk faq approved`)"
        )))
    }
}

fn keywords_of(cluster: &str) -> Result<Vec<String>, ControlError> {
    cluster_keywords(cluster).ok_or_else(|| {
        ControlError::Refused(format!(
            "`{cluster}` names no cluster: give its keywords joined by `+`, as `itdesk faq` shows them"
        ))
    })
}

fn most_confirmed_fix(
    ctx: &ControlContext,
    keywords: &[String],
) -> Result<Option<String>, ControlError> {
    let tickets: Vec<Ticket> = ctx.store.tickets().collect::<Result<_, _>>()?;
    // The language only shapes labels, which are not used here.
    let entries = faq::entries(&tickets, None, Lang::En);
    let same = |e: &&faq::Entry| {
        let words: Vec<&str> = e.cluster.split('+').collect();
        words.len() == keywords.len() && keywords.iter().all(|k| words.contains(&k.as_str()))
    };
    Ok(entries
        .iter()
        .find(same)
        .and_then(|e| e.fixes.first())
        .map(|f| f.text.clone()))
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    // Invariant: approved entries are plain data.
    serde_json::to_value(value).expect("FAQ entries serialise")
}
