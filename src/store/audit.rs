//! The access audit: who read a ticket's personal data (CLI `show`, `export`,
//! a technician's chat `/ticket status`) or changed it, and when. Entries name
//! the ticket ID, never the person, so they outlive an erasure.
//!
//! Invariant: append-only — nothing but `append` writes the tree, and no
//! command removes from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{codec, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// A login, a chat user's name, a technician's address.
    pub actor: String,
    /// `None` for what touches many (an export, an erasure).
    pub ticket: Option<String>,
    /// What was done, e.g. `show`, `export 120 tickets`, `change: resolve`.
    pub what: String,
}

/// Which entries `audit` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    pub ticket: Option<String>,
    pub actor: Option<String>,
    pub since: Option<DateTime<Utc>>,
}

/// Milliseconds since 1970 as an unsigned number, so keys sort by time.
fn millis(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp_millis()).unwrap_or(0)
}

impl Store {
    pub fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        let t = self.t()?;
        // Time first, so the tree reads in order; the id keeps equal times apart.
        let mut key = Vec::with_capacity(16);
        key.extend_from_slice(&millis(entry.at).to_be_bytes());
        key.extend_from_slice(&self.generate_id()?.to_be_bytes());
        let _w = self.writing();
        t.audit.insert(key, codec::encode(entry))?;
        Ok(())
    }

    /// The entries `q` asks for, oldest first.
    pub fn audit(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let t = self.t()?;
        let from = q.since.map_or(0, millis);
        let mut out = Vec::new();
        for item in t.audit.range(from.to_be_bytes()..) {
            let (_, v) = item?;
            let entry: AuditEntry = codec::decode("audit entry", &v)?;
            let wanted = q
                .ticket
                .as_ref()
                .is_none_or(|t| entry.ticket.as_ref() == Some(t))
                && q.actor
                    .as_ref()
                    .is_none_or(|a| entry.actor.contains(a.as_str()));
            if wanted {
                out.push(entry);
            }
        }
        Ok(out)
    }
}
