//! An action on a ticket, decided by `core::lifecycle` and committed with
//! the notices and timers it causes in one transaction: staff and requester
//! actions, fired timers, and the effects turned into queue entries.

use chrono::{DateTime, Utc};
use tracing::warn;

use super::{Engine, EngineError, Outcome};
use crate::core::effect::{Effect, Notice};
use crate::core::id::TicketId;
use crate::core::lifecycle::{self, Action, Refusal};
use crate::core::ticket::{Lang, Ticket};
use crate::queue::{Destination, EntryBody, QueueEntry};
use crate::store::{Commit, QueueKey};

impl Engine {
    pub(super) async fn act(
        &self,
        id: &TicketId,
        action: Action,
        once: Option<String>,
    ) -> Result<Outcome, EngineError> {
        if let Some(message_id) = &once {
            if self.store.ticket_for_message(message_id)?.is_some() {
                return Ok(Outcome::AlreadySeen);
            }
        }
        let now = self.clock.now();
        Ok(
            match self
                .apply(id, action, now, once.into_iter().collect(), None)
                .await?
            {
                Ok(t) => Outcome::Applied(Box::new(t)),
                Err(refusal) => Outcome::Refused(refusal),
            },
        )
    }

    pub(super) async fn fire(&self, key: QueueKey, entry: QueueEntry) -> Result<(), EngineError> {
        let kind = match entry.body {
            EntryBody::Wake { kind } => kind,
            EntryBody::Retention => return self.retention_due(key).await,
            _ => return Ok(()), // notices are the dispatcher's
        };
        let now = self.clock.now();
        let ticket = match &entry.ticket {
            Some(id) => self.store.ticket(id)?,
            None => None,
        };
        match ticket {
            Some(t) => {
                self.decide(
                    t,
                    Action::Timer {
                        kind,
                        due: entry.due,
                    },
                    now,
                    Vec::new(),
                    Some(key),
                )
                .await?
                .ok();
            }
            None => {
                self.store.commit(Commit {
                    consumed: Some(key),
                    ..Commit::default()
                })?;
                self.store.flush().await?;
            }
        }
        Ok(())
    }

    pub(super) async fn apply(
        &self,
        id: &TicketId,
        action: Action,
        now: DateTime<Utc>,
        message_ids: Vec<String>,
        consumed: Option<QueueKey>,
    ) -> Result<Result<Ticket, Refusal>, EngineError> {
        let ticket = self
            .store
            .ticket(id)?
            .ok_or_else(|| EngineError::NotFound(id.clone()))?;
        Ok(self
            .decide(ticket, action, now, message_ids, consumed)
            .await?
            .map_err(|(_, r)| r))
    }

    /// Applies `action` to `ticket` and commits the result with its effects.
    /// A refusal commits nothing but the consumed timer.
    pub(super) async fn decide(
        &self,
        mut ticket: Ticket,
        action: Action,
        now: DateTime<Utc>,
        mut message_ids: Vec<String>,
        consumed: Option<QueueKey>,
    ) -> Result<Result<Ticket, (TicketId, Refusal)>, EngineError> {
        match lifecycle::apply(&mut ticket, action, now, &self.policy) {
            Ok(effects) => {
                let enqueue = self.entries(&ticket, effects, now, &mut message_ids)?;
                self.store.commit(Commit {
                    ticket: Some(&ticket),
                    new_serial: None,
                    recovered_serial: None,
                    message_ids,
                    enqueue,
                    consumed,
                })?;
                self.durable().await?;
                self.outbox_wake.notify_one();
                Ok(Ok(ticket))
            }
            Err(refusal) => {
                if consumed.is_some() {
                    self.store.commit(Commit {
                        consumed,
                        ..Commit::default()
                    })?;
                    self.store.flush().await?;
                }
                Ok(Err((ticket.id, refusal)))
            }
        }
    }

    /// Turns effects into queue entries; our notices' Message-IDs are indexed to
    /// the ticket so replies to them thread back.
    pub(super) fn entries(
        &self,
        ticket: &Ticket,
        effects: Vec<Effect>,
        now: DateTime<Utc>,
        message_ids: &mut Vec<String>,
    ) -> Result<Vec<QueueEntry>, EngineError> {
        let mut out = Vec::new();
        for effect in effects {
            match effect {
                Effect::Wake { kind, due } => out.push(QueueEntry::new(
                    self.store.generate_id()?,
                    due,
                    Some(ticket.id.clone()),
                    EntryBody::Wake { kind },
                )),
                Effect::Notify(notice) => {
                    let dests = self.routing.destinations(ticket, notice.audience);
                    if dests.is_empty() {
                        warn!(ticket = %ticket.id, kind = ?notice.kind, audience = ?notice.audience, "nobody to send this notice to; configure the audience's addresses");
                    }
                    for (dest, lang) in dests {
                        out.push(self.notice_entry(
                            ticket,
                            &notice,
                            dest,
                            lang,
                            now,
                            message_ids,
                        )?);
                    }
                }
            }
        }
        Ok(out)
    }

    /// One notice of `ticket` to one destination, due now; its Message-ID is
    /// added to `message_ids`.
    pub(super) fn notice_entry(
        &self,
        ticket: &Ticket,
        notice: &Notice,
        dest: Destination,
        lang: Lang,
        now: DateTime<Utc>,
        message_ids: &mut Vec<String>,
    ) -> Result<QueueEntry, EngineError> {
        let id = self.store.generate_id()?;
        let notice = self.routing.outgoing(ticket, notice, dest, lang, id);
        message_ids.push(notice.message_id.clone());
        Ok(QueueEntry::new(
            id,
            now,
            Some(ticket.id.clone()),
            EntryBody::Notice(notice),
        ))
    }
}
