//! Erasure and retention through the one writer: a person's tickets and
//! traces on request (`itdesk erase`), and closed tickets past `[retention]`
//! every day (a queued `Retention` timer); both recorded in the audit trail
//! without the erased data. The access audit's entries come in here too.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use tracing::info;

use super::{Command, Engine, EngineError, EngineHandle};
use crate::core::erase::anonymize;
use crate::core::id::TicketId;
use crate::queue::{EntryBody, QueueEntry};
use crate::store::{AuditEntry, Commit, Erased, Erasure, QueueKey};

/// Whose data goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EraseTarget {
    /// An email address or chat user id: every ticket they requested, and
    /// their mail, notices and suppressions anywhere.
    Requester(String),
    /// Closed tickets whose retention period has passed.
    Retention,
}

/// What an erasure did (or, dry, would do); no personal data in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureReport {
    /// The tickets erased, with when they were closed (if they were).
    pub tickets: Vec<(String, Option<DateTime<Utc>>)>,
    pub erased: Erased,
    /// The erased values leave the disk when the store is rewritten.
    pub rewrite_pending: bool,
}

/// The daily retention run, at this local time.
const RETENTION_AT: (u32, u32) = (3, 0);

impl EngineHandle {
    pub async fn erase(
        &self,
        target: EraseTarget,
        dry_run: bool,
        by: String,
    ) -> Result<ErasureReport, EngineError> {
        self.call(|reply| Command::Erase {
            target,
            dry_run,
            by,
            reply,
        })
        .await
    }

    /// Records a read or change of personal data by staff.
    pub async fn audit(&self, entry: AuditEntry) -> Result<(), EngineError> {
        self.call(|reply| Command::Audit(entry, reply)).await
    }

    /// Makes the queue hold one retention timer when `[retention]` is set, none otherwise.
    pub async fn arm_retention(&self) -> Result<(), EngineError> {
        self.call(Command::ArmRetention).await
    }
}

impl Engine {
    pub(super) async fn erase(
        &self,
        target: EraseTarget,
        dry_run: bool,
        by: &str,
    ) -> Result<ErasureReport, EngineError> {
        let now = self.clock.now();
        let (tickets, people) = match &target {
            EraseTarget::Requester(who) => self.tickets_of_person(&who.trim().to_lowercase())?,
            EraseTarget::Retention => match self.retention {
                Some(after) => (self.closed_before(now - after)?, Vec::new()),
                None => (Vec::new(), Vec::new()),
            },
        };
        let listed = tickets
            .iter()
            .map(|t| (t.id.to_string(), t.closed_at))
            .collect();
        let erasure = Erasure {
            tickets: tickets
                .iter()
                .map(|t| {
                    let shas = t.attachments.iter().map(|a| a.sha256.clone()).collect();
                    (anonymize(t, now), shas)
                })
                .collect(),
            people,
        };
        let erased = self.store.erase(&erasure, dry_run)?;
        if !dry_run {
            let what = match target {
                EraseTarget::Requester(_) => "erasure of one requester",
                EraseTarget::Retention => "retention",
            };
            self.store.append_audit(&AuditEntry {
                at: now,
                actor: by.to_string(),
                ticket: None,
                what: format!("{what}: {erased:?}"),
            })?;
            self.store.flush().await?;
            self.forget_requesters();
            info!(tickets = erased.tickets, by, "personal data erased");
        }
        Ok(ErasureReport {
            tickets: listed,
            erased,
            rewrite_pending: self.store.rewrite_pending()?,
        })
    }

    /// Every ticket `who` (an address or chat id) requested, not yet erased,
    /// and every identity of theirs those tickets show.
    fn tickets_of_person(
        &self,
        who: &str,
    ) -> Result<(Vec<crate::core::ticket::Ticket>, Vec<String>), EngineError> {
        let mut people = vec![who.to_string()];
        let mut found = Vec::new();
        for t in self.store.tickets() {
            let t = t?;
            let r = &t.requester;
            let theirs = [&r.email, &r.chat_user]
                .into_iter()
                .flatten()
                .any(|id| id.eq_ignore_ascii_case(who));
            if theirs && t.erased_at.is_none() {
                people.extend(
                    [&r.email, &r.chat_user]
                        .into_iter()
                        .flatten()
                        .map(|id| id.to_lowercase()),
                );
                found.push(t);
            }
        }
        people.sort();
        people.dedup();
        Ok((found, people))
    }

    /// Closed tickets closed before `cutoff`, not yet erased: found in the
    /// statistics records, which carry both, so only those are read in full.
    fn closed_before(
        &self,
        cutoff: DateTime<Utc>,
    ) -> Result<Vec<crate::core::ticket::Ticket>, EngineError> {
        let mut ids = Vec::new();
        let first = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
        let last = cutoff.date_naive();
        self.store.scan_stats(first, last, |rec| {
            if !rec.open && !rec.erased && rec.closed.is_some_and(|c| c < cutoff.timestamp()) {
                ids.push(rec.ticket_id());
            }
        })?;
        let mut tickets = Vec::new();
        for id in ids.iter().filter_map(|id| TicketId::parse(id)) {
            if let Some(t) = self.store.ticket(&id)? {
                tickets.push(t);
            }
        }
        Ok(tickets)
    }

    /// The retention timer fired: erase what is due, queue the next run.
    pub(super) async fn retention_due(&self, key: QueueKey) -> Result<(), EngineError> {
        let report = self
            .erase(EraseTarget::Retention, false, "retention")
            .await?;
        let mut enqueue = Vec::new();
        if self.retention.is_some() {
            let due = self.next_retention_run(self.clock.now());
            let id = self.store.generate_id()?;
            enqueue.push(QueueEntry::new(id, due, None, EntryBody::Retention));
        }
        self.store.commit(Commit {
            enqueue,
            consumed: Some(key),
            ..Commit::default()
        })?;
        self.store.flush().await?;
        self.outbox_wake.notify_one();
        info!(tickets = report.erased.tickets, "retention run done");
        Ok(())
    }

    pub(super) async fn arm_retention(&self) -> Result<(), EngineError> {
        let mut queued = Vec::new();
        for item in self.store.entries() {
            let (key, entry) = item?;
            if matches!(entry.body, EntryBody::Retention) {
                queued.push(key);
            }
        }
        let keep = usize::from(self.retention.is_some());
        for key in queued.iter().skip(keep) {
            self.store.complete(key)?;
        }
        if self.retention.is_some() && queued.is_empty() {
            let due = self.next_retention_run(self.clock.now());
            let entry = QueueEntry::new(self.store.generate_id()?, due, None, EntryBody::Retention);
            self.store.commit(Commit {
                enqueue: vec![entry],
                ..Commit::default()
            })?;
            info!(%due, "retention armed");
        }
        self.store.flush().await?;
        Ok(())
    }

    /// The next 03:00 in the helpdesk's time zone after `now`.
    fn next_retention_run(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let tz = self.policy.calendar.tz();
        let at = NaiveTime::from_hms_opt(RETENTION_AT.0, RETENTION_AT.1, 0).unwrap_or_default();
        let today = now.with_timezone(&tz).date_naive();
        [today, today + Duration::days(1)]
            .into_iter()
            .filter_map(|d| d.and_time(at).and_local_timezone(tz).earliest())
            .map(|t| t.with_timezone(&Utc))
            .find(|t| *t > now)
            .unwrap_or(now + Duration::days(1))
    }
}
