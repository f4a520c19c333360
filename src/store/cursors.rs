//! Chat read-back cursors: per chat channel, the last message handled there, so
//! that after a restart the messages sent while the daemon was down are read
//! back from the channel's history.
//!
//! Invariant: a cursor only moves forward. It is written without a flush (a
//! message re-read after a crash is deduplicated by its Message-ID; only
//! skipping one would lose it), so the caller advances it only past messages
//! whose change was already committed and flushed, or that needed none.

use serde::{Deserialize, Serialize};

use super::{codec, Store, StoreError};

/// What a chat channel is to the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChatPlace {
    /// A requester's direct messages with the bot.
    Dm,
    /// The help channel, where requesters mention the bot.
    Help,
    /// A ticket's thread, where technicians write.
    Thread,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatCursor {
    pub place: ChatPlace,
    /// Every message up to this id was handled.
    pub handled: u64,
}

impl Store {
    /// Moves `channel`'s cursor to `cursor.handled`, unless it is already there
    /// or further.
    pub fn advance_chat_cursor(&self, channel: &str, cursor: ChatCursor) -> Result<(), StoreError> {
        let t = self.t()?;
        let new = codec::encode(&cursor);
        let _w = self.writing();
        // An unreadable cursor is replaced: the new one is good.
        t.chat_cursors.fetch_and_update(channel, |old| match old {
            Some(v)
                if codec::decode::<ChatCursor>(channel, v)
                    .is_ok_and(|c| c.handled >= cursor.handled) =>
            {
                Some(v.to_vec())
            }
            _ => Some(new.clone()),
        })?;
        Ok(())
    }

    /// Gives `channel` its first cursor; a cursor already there stays as it is
    /// (the channel's reader moves it).
    pub fn start_chat_cursor(&self, channel: &str, cursor: ChatCursor) -> Result<(), StoreError> {
        let t = self.t()?;
        let _w = self.writing();
        // Err(CompareAndSwapError) means the channel has a cursor: nothing to do.
        let _ = t.chat_cursors.compare_and_swap(
            channel,
            None::<&[u8]>,
            Some(codec::encode(&cursor)),
        )?;
        Ok(())
    }

    /// Forgets `channel`'s cursor: it will not be read back again.
    pub fn remove_chat_cursor(&self, channel: &str) -> Result<(), StoreError> {
        let t = self.t()?;
        let _w = self.writing();
        t.chat_cursors.remove(channel)?;
        Ok(())
    }

    /// Every channel's cursor, by channel id.
    pub fn chat_cursors(
        &self,
    ) -> impl Iterator<Item = Result<(String, ChatCursor), StoreError>> + '_ {
        self.records(|t| &t.chat_cursors, b"").map(|item| {
            let (k, v) = item?;
            let channel = String::from_utf8_lossy(&k).into_owned();
            let cursor = codec::decode(&channel, &v)?;
            Ok((channel, cursor))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_only_move_forward_start_once_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let at = |handled| ChatCursor {
            place: ChatPlace::Dm,
            handled,
        };
        {
            let store = Store::open(dir.path()).unwrap();
            assert_eq!(store.chat_cursors().count(), 0);
            store.advance_chat_cursor("11", at(5)).unwrap();
            store.advance_chat_cursor("11", at(3)).unwrap();
            store
                .advance_chat_cursor(
                    "22",
                    ChatCursor {
                        place: ChatPlace::Thread,
                        handled: 7,
                    },
                )
                .unwrap();
            store.advance_chat_cursor("11", at(9)).unwrap();
            store.t().unwrap().db.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        // A channel's first cursor does not move one it has.
        store.start_chat_cursor("11", at(2)).unwrap();
        store.start_chat_cursor("33", at(4)).unwrap();
        store.remove_chat_cursor("22").unwrap();
        let cursors: Vec<_> = store.chat_cursors().map(Result::unwrap).collect();
        assert_eq!(
            cursors,
            [("11".to_string(), at(9)), ("33".to_string(), at(4))]
        );
    }
}
