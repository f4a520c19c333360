//! Tickets a page at a time: `tickets list`, `export` and `import` stream
//! through these, so neither the daemon nor the CLI ever holds more than one
//! page, however large the store.
//!
//! Invariant: a page is bounded twice — by `limit` matches and by
//! `SCAN_BUDGET` tickets read — so one request never walks the whole store
//! while other callers wait; `next` says where the following page starts.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::peers::Caller;
use super::{privacy, to_json, ControlContext, ControlError};
use crate::core::id::TicketId;
use crate::core::ticket::{Status, Ticket};
use crate::engine::EngineError;
use crate::store::{StoreError, TicketRange};

/// The most tickets one page holds.
pub const PAGE_LIMIT: usize = 500;

/// The most tickets one page reads when few of them match.
const SCAN_BUDGET: usize = 20_000;

/// Which tickets `tickets list` shows; every field that is set must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TicketFilter {
    pub status: Option<Status>,
    pub group: Option<String>,
    pub assignee: Option<String>,
    /// The requester's address or chat user id (any case), or their name.
    pub requester: Option<String>,
    /// Opened on or after this day (the day in the ID, local time).
    pub since: Option<NaiveDate>,
    /// Opened on or before this day.
    pub until: Option<NaiveDate>,
}

impl TicketFilter {
    fn matches(&self, t: &Ticket) -> bool {
        let requester = |wanted: &str| {
            let r = &t.requester;
            let same =
                |v: &Option<String>| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(wanted));
            same(&r.email) || same(&r.chat_user) || r.name.as_deref() == Some(wanted)
        };
        self.status.is_none_or(|s| s == t.status)
            && self.group.as_ref().is_none_or(|g| *g == t.group)
            && self
                .assignee
                .as_ref()
                .is_none_or(|a| t.assignee.as_ref() == Some(a))
            && self.requester.as_deref().is_none_or(requester)
    }
}

/// Up to `limit` tickets matching `filter` after `after`, and where the next
/// page starts (`null` at the end).
pub fn list(
    ctx: &ControlContext,
    filter: &TicketFilter,
    after: Option<TicketId>,
    limit: Option<usize>,
) -> Result<Value, ControlError> {
    let limit = limit.unwrap_or(PAGE_LIMIT).clamp(1, PAGE_LIMIT);
    let range = TicketRange {
        after,
        since: filter.since,
        until: filter.until,
    };
    let mut tickets = Vec::new();
    let mut next = None;
    for (read, ticket) in ctx.store.tickets_in(&range).enumerate() {
        let ticket = ticket?;
        let full = filter.matches(&ticket) && {
            tickets.push(to_json(&ticket));
            tickets.len() == limit
        };
        if full || read + 1 == SCAN_BUDGET {
            next = Some(ticket.id);
            break;
        }
    }
    Ok(json!({ "tickets": tickets, "next": next }))
}

/// After pages that together read many tickets, sled lets go of them
/// (`store::shed`), so a long export or listing does not stay resident. A
/// failure to reopen leaves the store to its failure path; the page stands.
pub async fn shed_if_scanned(ctx: &ControlContext) {
    if !ctx.store.shed_due() {
        return;
    }
    let store = ctx.store.clone();
    match tokio::task::spawn_blocking(move || store.shed_cache()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!("after a long read: {e}"),
        Err(e) => tracing::warn!("after a long read: the reopen did not finish: {e}"),
    }
}

/// One page of every ticket; the first page is audited (an export is a read
/// of everyone's data) and says how many there are, for a progress bar.
pub async fn export(
    ctx: &ControlContext,
    caller: &Caller,
    after: Option<TicketId>,
    limit: Option<usize>,
) -> Result<Value, ControlError> {
    // Counted before the first page, so that what counting read is let go
    // of before the page is read too.
    let total = match after {
        None => Some(ctx.store.ticket_count()?),
        Some(_) => None,
    };
    shed_if_scanned(ctx).await;
    let mut page = list(ctx, &TicketFilter::default(), after, limit)?;
    shed_if_scanned(ctx).await;
    if let Some(total) = total {
        privacy::record(ctx, caller, None, format!("export of {total} tickets")).await?;
        page["total"] = json!(total);
    }
    Ok(page)
}

/// Imports a batch; a failure names how many of it went in before.
pub async fn import(
    ctx: &ControlContext,
    tickets: Vec<Ticket>,
    skip_existing: bool,
) -> Result<Value, ControlError> {
    let (mut imported, mut skipped) = (0, 0);
    for ticket in tickets {
        match ctx.engine.import(ticket).await {
            Ok(()) => imported += 1,
            Err(EngineError::Store(StoreError::Exists(_))) if skip_existing => skipped += 1,
            Err(EngineError::Store(e @ StoreError::Exists(_))) => {
                return Err(ControlError::Refused(format!(
                    "{e} ({imported} of this batch imported before it): `import --skip-existing` passes over tickets the store holds"
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(json!({ "imported": imported, "skipped": skipped }))
}
