//! The queue's sort key: entries ordered by due time.

use crate::queue::QueueEntry;

/// Sorts by due time, then by entry id: `due_ms (8 bytes BE) ++ id (8 bytes BE)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueKey(pub [u8; 16]);

impl QueueKey {
    pub fn of(entry: &QueueEntry) -> QueueKey {
        // Offset so that instants before 1970 would still sort correctly.
        let ms = (entry.due.timestamp_millis() as i128 - i64::MIN as i128) as u64;
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&ms.to_be_bytes());
        key[8..].copy_from_slice(&entry.id.to_be_bytes());
        QueueKey(key)
    }
}
