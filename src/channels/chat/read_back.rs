//! Where each chat channel was read to, and reading back what was missed:
//! after a new session (the app's connection dropped and came back) every
//! known channel is read from its cursor, so messages written while the bot
//! was away are not lost.
//!
//! Invariant: a cursor moves only past messages that were handled (committed,
//! or needing no change), in the app's order; it is kept in the store through
//! the engine, so after a restart the first session reads back every known
//! channel too — DMs and the help channel seen before, and the threads of
//! tickets not closed. A message whose handling failed holds its channel's
//! cursor until the next read-back.

use tracing::{info, warn};

use super::app::ChatApp;
use super::session::{Pending, Route, Worker};
use super::types::{ChannelId, ChatMessage, Conversation, Position};
use crate::core::id::TicketId;
use crate::core::ticket::Status;
use crate::engine::{ChatCursor, ChatPlace};

/// Where a message was written.
#[derive(Debug, Clone)]
pub(super) enum Place {
    Dm,
    Help,
    Thread(TicketId),
}

/// Where a channel was left.
pub(super) struct Cursor {
    place: Place,
    /// Every message up to this position was handled.
    handled: Position,
    /// A message after `handled` failed: the cursor stays, so the next
    /// read-back (new session or restart) tries it again.
    stuck: bool,
    /// Whether the store has a cursor for the channel yet.
    stored: bool,
}

impl Cursor {
    fn new(place: Place, handled: Position, stored: bool) -> Cursor {
        Cursor {
            place,
            handled,
            stuck: false,
            stored,
        }
    }
}

/// A message that needs nothing more done, or whose handling failed.
pub(super) struct Done {
    pub(super) channel: ChannelId,
    pub(super) position: Position,
    pub(super) ok: bool,
}

impl Done {
    pub(super) fn ok(channel: ChannelId, position: Position) -> Done {
        Done {
            channel,
            position,
            ok: true,
        }
    }
}

impl<A: ChatApp> Worker<A> {
    /// Where the last run left each channel, and the threads of tickets not
    /// closed (from the thread's start). A closed ticket's thread is not read
    /// back, and its cursor is dropped. Run at every session: it also adds
    /// what others started since (a thread, a DM channel the transport
    /// opened); a channel already read keeps its cursor.
    pub(super) async fn restore_cursors(&mut self) {
        let mut restored = 0;
        let cursors: Vec<_> = self.engine.chat_cursors().collect();
        for item in cursors {
            let (channel, cursor) = match item {
                Ok(item) => item,
                Err(e) => {
                    warn!(error = %e, "cannot read a chat cursor; that channel is not read back");
                    continue;
                }
            };
            let id = ChannelId(channel.clone());
            if self.cursors.contains_key(&id) {
                continue;
            }
            let place = match cursor.place {
                ChatPlace::Dm => Place::Dm,
                // The help channel may have changed in the config since.
                ChatPlace::Help if Some(&id) == self.settings.help_channel.as_ref() => Place::Help,
                ChatPlace::Help => continue,
                ChatPlace::Thread => match self.open_ticket_of_thread(&id) {
                    Some(ticket) => Place::Thread(ticket),
                    None => {
                        if let Err(e) = self.engine.drop_chat_cursor(channel.clone()).await {
                            warn!(%channel, error = %e, "cannot drop a closed ticket's thread cursor");
                        }
                        continue;
                    }
                },
            };
            self.cursors
                .insert(id, Cursor::new(place, cursor.handled.max(1), true));
            restored += 1;
        }
        let threads: Vec<_> = self.engine.threads().collect();
        for item in threads {
            let (thread, ticket) = match item {
                Ok(item) => item,
                Err(e) => {
                    warn!(error = %e, "cannot read the thread index; threads are not read back");
                    break;
                }
            };
            let thread = ChannelId(thread);
            if self.cursors.contains_key(&thread) || !self.is_open(&ticket) {
                continue;
            }
            // Every message of a thread is newer than the thread itself.
            let start = self.app.thread_start(&thread);
            self.cursors
                .insert(thread, Cursor::new(Place::Thread(ticket), start, false));
            restored += 1;
        }
        if restored > 0 {
            info!(
                channels = restored,
                "chat channels to read back, new since the last session"
            );
        }
    }

    /// The ticket of a thread, unless it is closed (or unknown).
    fn open_ticket_of_thread(&self, thread: &ChannelId) -> Option<TicketId> {
        let ticket = match self.engine.ticket_for_thread(thread.as_str()) {
            Ok(ticket) => ticket?,
            Err(e) => {
                warn!(error = %e, "cannot look up the thread index");
                return None;
            }
        };
        self.is_open(&ticket).then_some(ticket)
    }

    /// Whether the ticket (of a thread) is stored and not closed.
    fn is_open(&self, ticket: &TicketId) -> bool {
        match self.engine.ticket(ticket) {
            Ok(Some(t)) => t.status != Status::Closed,
            Ok(None) => false,
            Err(e) => {
                warn!(ticket = %ticket, error = %e, "cannot read the ticket of a thread");
                false
            }
        }
    }

    /// Moves the channels' cursors past what was handled, in order, in memory
    /// and in the store (no flush: the engine flushed the changes themselves;
    /// a cursor lost in a crash only makes a repeat, which the Message-ID
    /// index drops). A failure holds its channel's cursor.
    pub(super) async fn handled(&mut self, mut done: Vec<Done>) {
        done.sort_by_key(|d| d.position);
        // Each channel whose cursor moved is written once, where it ended.
        let mut moved: Vec<ChannelId> = Vec::new();
        for d in done {
            let Some(cursor) = self.cursors.get_mut(&d.channel) else {
                continue;
            };
            if !d.ok {
                cursor.stuck = true;
                continue;
            }
            if cursor.stuck || d.position <= cursor.handled {
                continue;
            }
            cursor.handled = d.position;
            if !moved.contains(&d.channel) {
                moved.push(d.channel);
            }
        }
        for channel in moved {
            let Some(cursor) = self.cursors.get_mut(&channel) else {
                continue;
            };
            let stored = ChatCursor {
                place: match cursor.place {
                    Place::Dm => ChatPlace::Dm,
                    Place::Help => ChatPlace::Help,
                    Place::Thread(_) => ChatPlace::Thread,
                },
                handled: cursor.handled,
            };
            // A channel's first cursor is flushed at once (once per channel):
            // without it, a restart would not read the channel.
            let first = !cursor.stored;
            match self
                .engine
                .advance_chat_cursor(channel.0.clone(), stored, first)
                .await
            {
                Ok(()) => cursor.stored = true,
                Err(e) => {
                    warn!(%channel, error = %e, "cannot record where the chat channel was read to")
                }
            }
        }
    }

    /// Reads every known channel from the last message handled there, a page
    /// at a time until the app says there is no more. A page is handled as
    /// live events are (requester messages grouped into one commit); repeats
    /// are dropped by their ids.
    pub(super) async fn catch_up(&mut self) {
        let known: Vec<(ChannelId, Position)> = self
            .cursors
            .iter_mut()
            .map(|(c, cursor)| {
                cursor.stuck = false;
                (c.clone(), cursor.handled)
            })
            .collect();
        for (channel, mut after) in known {
            loop {
                let mut page = match self.app.history(&channel, after).await {
                    Ok(page) => page,
                    Err(e) => {
                        warn!(%channel, error = %e, "cannot read back missed messages");
                        break;
                    }
                };
                page.messages.sort_by_key(|m| m.position);
                let Some(last) = page.messages.last().map(|m| m.position) else {
                    break;
                };
                info!(%channel, count = page.messages.len(), "reading messages sent while the bot was away");
                after = last;
                let mut pending = Pending::default();
                for message in page.messages {
                    self.message(message, &mut pending).await;
                }
                self.submit_group(&mut pending).await;
                if !page.more {
                    break;
                }
            }
        }
    }

    fn place_of(&self, message: &ChatMessage) -> Option<Place> {
        if let Some(cursor) = self.cursors.get(&message.channel) {
            return Some(cursor.place.clone());
        }
        match message.conversation {
            Conversation::Direct => Some(Place::Dm),
            Conversation::Help => Some(Place::Help),
            Conversation::Other => match self.engine.ticket_for_thread(message.channel.as_str()) {
                Ok(ticket) => ticket.map(Place::Thread),
                Err(e) => {
                    warn!(error = %e, "cannot look up the thread index");
                    None
                }
            },
        }
    }

    /// Who the message is for; the channel is read from now on (its cursor
    /// moves once the message is handled).
    pub(super) fn route(&mut self, message: &ChatMessage) -> Route {
        if message.author.bot {
            return Route::Ignore;
        }
        let Some(place) = self.place_of(message) else {
            return Route::Ignore;
        };
        self.cursors
            .entry(message.channel.clone())
            .or_insert_with(|| {
                let before = message.position.saturating_sub(1).max(1);
                Cursor::new(place.clone(), before, false)
            });
        match place {
            Place::Dm => Route::Requester { dm: true },
            Place::Help if message.mentions_bot => Route::Requester { dm: false },
            Place::Help => Route::Ignore,
            Place::Thread(ticket) => Route::Staff(ticket),
        }
    }
}
