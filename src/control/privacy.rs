//! The admin's side of personal data: erasing one requester, running or
//! previewing retention, reading the access audit, and recording each staff
//! read of a ticket in it.

use serde_json::{json, Value};

use super::peers::Caller;
use super::{ControlContext, ControlError};
use crate::engine::EraseTarget;
use crate::store::{AuditEntry, AuditQuery};

/// Records that `caller` read or changed personal data (`ticket`: which one).
pub async fn record(
    ctx: &ControlContext,
    caller: &Caller,
    ticket: Option<String>,
    what: String,
) -> Result<(), ControlError> {
    let entry = AuditEntry {
        at: ctx.clock.now(),
        actor: caller.login.clone(),
        ticket,
        what,
    };
    Ok(ctx.engine.audit(entry).await?)
}

/// An erasure, or a retention run, through the engine; with the backups
/// that still hold what it erased.
pub async fn erase(
    ctx: &ControlContext,
    caller: &Caller,
    target: EraseTarget,
    dry_run: bool,
) -> Result<Value, ControlError> {
    let now = ctx.clock.now();
    let report = ctx
        .engine
        .erase(target, dry_run, caller.login.clone())
        .await?;
    let backups: Vec<Value> = ctx
        .store
        .backups_before(now)?
        .into_iter()
        .map(|(at, path)| json!({ "at": at, "path": path }))
        .collect();
    Ok(json!({
        "dry_run": dry_run,
        "tickets": report.tickets.iter().map(|(id, closed)| json!({ "id": id, "closed_at": closed })).collect::<Vec<_>>(),
        "erased": report.erased,
        "rewrite_pending": report.rewrite_pending,
        "older_backups": backups,
    }))
}

pub fn audit(ctx: &ControlContext, query: &AuditQuery) -> Result<Value, ControlError> {
    let entries = ctx.store.audit(query)?;
    serde_json::to_value(entries).map_err(|e| ControlError::Protocol(e.to_string()))
}
