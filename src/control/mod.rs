//! The admin's way in while the daemon runs: a Unix socket that only the
//! daemon's user can open (mode 0600), one JSON request per line, one JSON
//! response per line. sled lets one process hold the store, so the CLI talks to
//! the daemon through this; with the daemon stopped, the CLI runs the same
//! handler in-process on the store.

pub mod client;
mod faq;
pub mod peers;
mod privacy;
mod recover;
pub mod server;
mod tickets;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::channels::imap::ImapError;
use crate::clock::Clock;
use crate::config::{ConfigError, ImapConfig};
use crate::core::id::TicketId;
use crate::core::ticket::{Channel, ProblemType, Ticket, Urgency};
pub use crate::engine::Change;
use crate::engine::{EngineError, EngineHandle, EraseTarget, IntakeOutcome, Outcome, Routing};
use crate::intake::classify::Rules;
use crate::intake::directory::Directory;
use crate::intake::email::{parse_email, EmailLimits};
use crate::intake::{prepare, InboundMessage, Sender};
use crate::store::{BackupError, Store, StoreError};
use peers::Caller;
pub use tickets::{TicketFilter, PAGE_LIMIT};

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("cannot reach the daemon at {path}: {source}")]
    Connect {
        path: String,
        source: std::io::Error,
    },
    #[error("control socket {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("bad control message: {0}")]
    Protocol(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    NotFound(String),
    #[error("refused: {0}")]
    Refused(String),
    /// The daemon's answer to a request that failed there, with its kind.
    #[error("{message}")]
    Daemon { message: String, code: ErrorCode },
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("you may not use the control socket {path} (permission denied): ask an admin to add you to the staff group ([control].group)")]
    NotAllowed { path: String },
    #[error("[control].group names {0:?}, which is not a group on this machine — create it (groupadd {0}) or remove the setting")]
    NoGroup(String),
}

/// What kind of failure a request met: sent over the socket with the
/// message, printed by `--json`, and the CLI's exit status (`cli::exit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Anything not below.
    #[default]
    Failed,
    /// The command line itself is wrong.
    Usage,
    /// No such ticket, entry, message or group.
    NotFound,
    /// Understood, and refused: not allowed now, by the rules or to this caller.
    Refused,
    /// The daemon or the store cannot be reached or used now.
    Unavailable,
    /// The config file is missing, unreadable or wrong.
    Config,
}

impl ControlError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ControlError::Connect { .. } | ControlError::Io { .. } | ControlError::Imap(_) => {
                ErrorCode::Unavailable
            }
            ControlError::Protocol(_) | ControlError::Backup(_) => ErrorCode::Failed,
            ControlError::Engine(e) => engine_code(e),
            ControlError::Store(e) => store_code(e),
            ControlError::NotFound(_) => ErrorCode::NotFound,
            ControlError::Refused(_) | ControlError::NotAllowed { .. } => ErrorCode::Refused,
            ControlError::Daemon { code, .. } => *code,
            ControlError::Config(_) | ControlError::NoGroup(_) => ErrorCode::Config,
        }
    }
}

pub fn engine_code(e: &EngineError) -> ErrorCode {
    match e {
        EngineError::Store(e) => store_code(e),
        EngineError::NotFound(_) => ErrorCode::NotFound,
        EngineError::Stopped => ErrorCode::Unavailable,
    }
}

/// A store that cannot be opened or written is unavailable; a ticket that
/// exists already is a refusal; an unreadable record is a plain failure.
pub fn store_code(e: &StoreError) -> ErrorCode {
    match e {
        StoreError::Exists(_) => ErrorCode::Refused,
        StoreError::Corrupt { .. } | StoreError::CounterMoved { .. } | StoreError::Seal { .. } => {
            ErrorCode::Failed
        }
        _ => ErrorCode::Unavailable,
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ControlRequest {
    /// A request phoned in to the desk; same intake path as mail.
    Open {
        from: String,
        name: Option<String>,
        subject: String,
        body: String,
        urgency: Option<Urgency>,
        problem_type: Option<ProblemType>,
    },
    /// One page of tickets in ID order: up to `limit` matching `filter`
    /// after `after`; `next` in the answer continues it (`tickets.rs`).
    List {
        #[serde(default)]
        filter: TicketFilter,
        #[serde(default)]
        after: Option<TicketId>,
        #[serde(default)]
        limit: Option<usize>,
    },
    Show {
        id: TicketId,
    },
    /// A staff change, logged under the caller's login (from the socket's
    /// peer credentials), "for" `on_behalf_of` when set.
    Act {
        id: TicketId,
        #[serde(default)]
        on_behalf_of: Option<String>,
        change: Change,
    },
    OutboxList,
    OutboxRetry {
        entry: u64,
    },
    /// One page of the export, as `List` without a filter; the first page
    /// (no `after`) is the one the access audit records.
    Export {
        #[serde(default)]
        after: Option<TicketId>,
        #[serde(default)]
        limit: Option<usize>,
    },
    /// A statistics report; `rebuild` first rewrites every ticket's stats record.
    Stats {
        query: crate::stats::aggregate::Query,
        rebuild: bool,
    },
    /// A batch of exported tickets; with `skip_existing`, an ID the store
    /// holds is counted and passed over instead of failing the batch.
    Import {
        tickets: Vec<Ticket>,
        #[serde(default)]
        skip_existing: bool,
    },
    /// Write a consistent snapshot of the store to `path` (absolute; written by
    /// whoever holds the store: the daemon, or the CLI when it is stopped).
    Backup {
        path: std::path::PathBuf,
    },
    QuarantineList,
    QuarantineShow {
        id: u64,
    },
    /// Run a quarantined message through intake again; released if it now works.
    QuarantineRetry {
        id: u64,
    },
    QuarantineDelete {
        id: u64,
    },
    /// Erase one requester's personal data (an address or chat user id).
    Erase {
        requester: String,
        dry_run: bool,
    },
    /// Erase closed tickets past `[retention]` now, or list them.
    Retention {
        dry_run: bool,
    },
    /// The access audit.
    Audit {
        query: crate::store::AuditQuery,
    },
    /// One attachment of a ticket, by name (base64 in `data`).
    Attachment {
        id: TicketId,
        name: String,
    },
    /// Take in again the mail kept in the mailbox since `since` that the
    /// store lacks (after a restore), under the original ticket IDs where
    /// copies of our notices show them; `dry_run` changes nothing.
    Recover {
        since: chrono::NaiveDate,
        dry_run: bool,
    },
    /// Approve a recurring cluster's fix for the self-service FAQ; without
    /// `fix`, the one its requesters confirmed most often.
    FaqApprove {
        cluster: String,
        #[serde(default)]
        fix: Option<String>,
    },
    FaqApproved,
    FaqRevoke {
        cluster: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlResponse {
    Ok(Value),
    Error {
        message: String,
        #[serde(default)]
        code: ErrorCode,
    },
}

/// What the handler needs; built by the daemon, or by the CLI when the daemon is stopped.
pub struct ControlContext {
    pub engine: EngineHandle,
    pub store: Store,
    pub routing: std::sync::Arc<Routing>,
    pub rules: Rules,
    pub directory: std::sync::Arc<Directory>,
    pub clock: std::sync::Arc<dyn Clock>,
    pub message_id_domain: String,
    pub limits: EmailLimits,
    /// The mail account `recover` reads back from, and `[smtp] save_sent`.
    pub imap: Option<ImapConfig>,
    pub sent_mailbox: Option<String>,
}

/// Answers one request from `caller`, whose login every change is logged under.
pub async fn handle(
    req: ControlRequest,
    ctx: &ControlContext,
    caller: &Caller,
) -> Result<Value, ControlError> {
    match req {
        ControlRequest::Open {
            from,
            name,
            subject,
            body,
            urgency,
            problem_type,
        } => {
            let message = InboundMessage {
                cc: Vec::new(),
                auth: Default::default(),
                channel: Channel::Desk,
                message_id: format!("desk{}@{}", ctx.store.generate_id()?, ctx.message_id_domain),
                references: Vec::new(),
                from: Sender {
                    name,
                    address: from.trim().to_lowercase(),
                },
                subject,
                body,
                attachments: Vec::new(),
                received_at: ctx.clock.now(),
                automated: None,
                bounce: None,
                warnings: Vec::new(),
            };
            let mut request = prepare(message, &ctx.rules, &ctx.directory);
            // The desk chose these on the phone; they beat the keyword guess.
            if let Some(u) = urgency {
                request.urgency = u;
            }
            if let Some(t) = problem_type {
                request.problem_type = t;
            }
            request.vague = false;
            match ctx.engine.intake(request).await? {
                IntakeOutcome::Created(id) => {
                    // Who took it down at the desk, under their own login.
                    let note = Change::Note {
                        text: "opened at the desk".into(),
                    };
                    ctx.engine
                        .change(id.clone(), caller.login.clone(), note, None)
                        .await?;
                    show(ctx, &id)
                }
                other => Err(ControlError::Refused(format!("{other:?}"))),
            }
        }
        ControlRequest::List {
            filter,
            after,
            limit,
        } => {
            let page = tickets::list(ctx, &filter, after, limit)?;
            tickets::shed_if_scanned(ctx).await;
            Ok(page)
        }
        ControlRequest::Show { id } => {
            let ticket = show(ctx, &id)?;
            privacy::record(ctx, caller, Some(id.to_string()), "show".into()).await?;
            Ok(ticket)
        }
        ControlRequest::Erase { requester, dry_run } => {
            privacy::erase(ctx, caller, EraseTarget::Requester(requester), dry_run).await
        }
        ControlRequest::Retention { dry_run } => {
            privacy::erase(ctx, caller, EraseTarget::Retention, dry_run).await
        }
        ControlRequest::Audit { query } => privacy::audit(ctx, &query),
        ControlRequest::Recover { since, dry_run } => {
            recover::recover(ctx, caller, since, dry_run).await
        }
        ControlRequest::Attachment { id, name } => {
            let ticket = ctx.store.ticket(&id)?.ok_or_else(|| no_ticket(&id))?;
            let Some(a) = ticket.attachments.iter().find(|a| a.name == name) else {
                return Err(ControlError::NotFound(format!(
                    "{id} has no attachment {name:?}"
                )));
            };
            let data = ctx.store.blob(&a.sha256)?.ok_or_else(|| {
                ControlError::Refused(format!("{name:?} of {id} is no longer stored"))
            })?;
            privacy::record(
                ctx,
                caller,
                Some(id.to_string()),
                format!("attachment {name}"),
            )
            .await?;
            Ok(json!({
                "name": a.name,
                "content_type": a.content_type,
                "data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &data),
            }))
        }
        ControlRequest::Act {
            id,
            on_behalf_of,
            change,
        } => {
            let by = caller.actor(on_behalf_of.as_deref());
            let what = serde_json::to_value(&change)
                .ok()
                .and_then(|v| v["change"].as_str().map(String::from))
                .unwrap_or_default();
            privacy::record(ctx, caller, Some(id.to_string()), format!("change: {what}")).await?;
            match ctx.engine.change(id.clone(), by, change, None).await? {
                Outcome::Applied(t) => Ok(to_json(&t)),
                Outcome::Refused(refusal) => Err(ControlError::Refused(refusal.to_string())),
                // Not for a change without a message id; said plainly all the same.
                Outcome::AlreadySeen => Err(ControlError::Refused("already done".into())),
            }
        }
        ControlRequest::OutboxList => {
            let queued = ctx
                .store
                .entries()
                .map(|e| e.map(|(_, e)| e))
                .collect::<Result<Vec<_>, _>>()?;
            let dead = ctx.store.dead_letters().collect::<Result<Vec<_>, _>>()?;
            Ok(json!({ "queued": queued, "dead_letters": dead }))
        }
        ControlRequest::OutboxRetry { entry } => {
            if ctx.store.resurrect(entry, ctx.clock.now())? {
                ctx.store.flush().await?;
                Ok(json!({ "requeued": entry }))
            } else {
                Err(ControlError::NotFound(format!(
                    "no dead letter with id {entry}"
                )))
            }
        }
        ControlRequest::Stats { query, rebuild } => {
            if rebuild {
                let n = ctx.store.rebuild_stats()?;
                ctx.store.flush().await?;
                tracing::info!(tickets = n, "statistics records rebuilt");
            }
            let report = ctx.store.report(query)?;
            // Invariant: a Report is plain data, like a Ticket.
            Ok(serde_json::to_value(report).expect("reports serialise"))
        }
        ControlRequest::FaqApprove { cluster, fix } => {
            faq::approve(ctx, caller, &cluster, fix).await
        }
        ControlRequest::FaqApproved => faq::approved(ctx),
        ControlRequest::FaqRevoke { cluster } => faq::revoke(ctx, &cluster).await,
        ControlRequest::Export { after, limit } => tickets::export(ctx, caller, after, limit).await,
        req @ (ControlRequest::QuarantineList
        | ControlRequest::QuarantineShow { .. }
        | ControlRequest::QuarantineRetry { .. }
        | ControlRequest::QuarantineDelete { .. }) => quarantine(req, ctx).await,
        ControlRequest::Backup { path } => {
            let (store, now) = (ctx.store.clone(), ctx.clock.now());
            // Reading every tree is blocking work; writers wait meanwhile (see
            // store::backup). Then sled lets go of all it read (store::shed).
            let summary = tokio::task::spawn_blocking(move || {
                let summary = store.backup(&path, now)?;
                if let Err(e) = store.shed_cache() {
                    tracing::warn!("after the backup: {e}");
                }
                Ok::<_, BackupError>(summary)
            })
            .await
            .map_err(|e| ControlError::Daemon {
                message: format!("the backup did not finish: {e}"),
                code: ErrorCode::Failed,
            })??;
            ctx.store.record_backup(&summary.file, now)?;
            Ok(serde_json::to_value(summary).map_err(|e| ControlError::Protocol(e.to_string()))?)
        }
        ControlRequest::Import {
            tickets,
            skip_existing,
        } => tickets::import(ctx, tickets, skip_existing).await,
    }
}

async fn quarantine(req: ControlRequest, ctx: &ControlContext) -> Result<Value, ControlError> {
    let item = |id: u64| {
        ctx.store
            .quarantined_item(id)?
            .ok_or_else(|| ControlError::NotFound(format!("nothing quarantined under id {id}")))
    };
    match req {
        ControlRequest::QuarantineList => {
            let items = ctx.store.quarantined().collect::<Result<Vec<_>, _>>()?;
            Ok(Value::Array(items.iter().map(|q| match q.sealed {
                // Its key is not in this store directory (a backup restored elsewhere).
                true => json!({ "id": q.id, "at": q.at, "origin": q.origin, "reason": q.reason, "sealed": true }),
                false => json!({ "id": q.id, "at": q.at, "origin": q.origin, "reason": q.reason, "size": q.raw.len() }),
            }).collect()))
        }
        ControlRequest::QuarantineShow { id } => {
            let q = item(id)?;
            // Masked like everything else shown; a record from before masking
            // is masked now.
            let text = match q.masked.is_empty() {
                true => crate::intake::redact::mask(&String::from_utf8_lossy(&q.raw)),
                false => q.masked,
            };
            Ok(
                json!({ "id": q.id, "at": q.at, "origin": q.origin, "reason": q.reason, "masked": text }),
            )
        }
        ControlRequest::QuarantineRetry { id } => {
            let q = item(id)?;
            if q.sealed {
                return Err(ControlError::Refused(format!(
                    "quarantined message {id} is sealed and its key ({}) is not in the store directory: it can be shown masked, not retried",
                    crate::store::QUARANTINE_KEY_FILE
                )));
            }
            let message = parse_email(&q.raw, &ctx.limits, ctx.clock.now());
            match ctx
                .engine
                .intake(prepare(message, &ctx.rules, &ctx.directory))
                .await?
            {
                IntakeOutcome::Unprocessable(reason) => Err(ControlError::Refused(format!(
                    "still cannot be processed: {reason}"
                ))),
                outcome => {
                    ctx.store.release(id)?;
                    ctx.store.flush().await?;
                    Ok(json!({ "released": id, "outcome": format!("{outcome:?}") }))
                }
            }
        }
        ControlRequest::QuarantineDelete { id } => {
            item(id)?;
            ctx.store.release(id)?;
            ctx.store.flush().await?;
            Ok(json!({ "deleted": id }))
        }
        _ => unreachable!("only quarantine requests are routed here"),
    }
}

fn show(ctx: &ControlContext, id: &TicketId) -> Result<Value, ControlError> {
    let t = ctx.store.ticket(id)?.ok_or_else(|| no_ticket(id))?;
    Ok(to_json(&t))
}

fn no_ticket(id: &TicketId) -> ControlError {
    ControlError::NotFound(format!("no ticket {id}"))
}

fn to_json(t: &Ticket) -> Value {
    // Invariant: a Ticket is plain data; see store::codec.
    serde_json::to_value(t).expect("tickets serialise")
}
