//! How a mailbox is read in pieces: which messages are fetched together (by
//! count and bytes), a message over the size cap fetched cut short, and each
//! raw message made a request. Shared by the intake loop and `recover`.

use async_imap::types::Fetch;
use async_imap::Session;
use chrono::{DateTime, Utc};

use super::commands::{fetch, uid_set, COMMAND_TIMEOUT};
use super::{ImapError, Stream};
use crate::intake::classify::Rules;
use crate::intake::directory::Directory;
use crate::intake::email::{parse_email, EmailLimits};
use crate::intake::{prepare, Request, Warning};

/// Messages fetched per round trip: at most this many, of at most
/// BATCH_BYTES together (one message over it goes alone).
const CHUNK: usize = 200;
/// The first chunk of a drain: small, so that the engine starts early.
const FIRST_CHUNK: usize = 50;
/// Messages whose sizes are asked for per round trip.
pub(super) const SIZES_CHUNK: usize = 1000;
/// A chunk's mail is at most about this many bytes (by RFC822.SIZE), so
/// that a chunk of big messages is not all in memory at once; it goes to the
/// engine as one batch.
const BATCH_BYTES: usize = 16 * 1024 * 1024;
/// Of a message over the size cap, this much of the text is read.
const OVERSIZE_TEXT_BYTES: usize = 256 * 1024;

/// What `drain` fetches in one command.
pub(super) enum Unit {
    /// Messages within the size cap, at most CHUNK, in UID order.
    Chunk(Vec<u32>),
    /// A message over the cap (UID, size), fetched cut short.
    Big(u32, u32),
}

/// The sizes of `uids` in one round trip, cut into what is fetched
/// together, in UID order: runs of at most CHUNK messages within the
/// size cap, and each message over it alone.
pub(super) async fn units(
    session: &mut Session<Stream>,
    uids: &[u32],
    max_message_bytes: u64,
    first: bool,
) -> Result<Vec<Unit>, ImapError> {
    let sizes = fetch(session, uid_set(uids), "(UID RFC822.SIZE)", COMMAND_TIMEOUT).await?;
    let mut sizes: Vec<(u32, u32)> = sizes
        .iter()
        .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
        .collect();
    sizes.sort_unstable();
    let mut units = Vec::new();
    let (mut chunk, mut bytes) = (Vec::new(), 0);
    for (uid, size) in sizes {
        let size_bytes = size as usize;
        if u64::from(size) > max_message_bytes {
            if !chunk.is_empty() {
                units.push(Unit::Chunk(std::mem::take(&mut chunk)));
                bytes = 0;
            }
            units.push(Unit::Big(uid, size));
            continue;
        }
        if !chunk.is_empty() && bytes + size_bytes > BATCH_BYTES {
            units.push(Unit::Chunk(std::mem::take(&mut chunk)));
            bytes = 0;
        }
        chunk.push(uid);
        bytes += size_bytes;
        // The first chunk of a drain is small, so that the engine starts
        // early; later ones are bigger: fewer FETCH and STORE round trips.
        let most = if first && units.is_empty() {
            FIRST_CHUNK
        } else {
            CHUNK
        };
        if chunk.len() == most {
            units.push(Unit::Chunk(std::mem::take(&mut chunk)));
            bytes = 0;
        }
    }
    if !chunk.is_empty() {
        units.push(Unit::Chunk(chunk));
    }
    Ok(units)
}

/// A raw message as the engine's request; `oversize` says the message was
/// over the size cap and `raw` only its beginning.
pub(super) fn to_request(
    raw: &[u8],
    oversize: Option<Warning>,
    limits: &EmailLimits,
    rules: &Rules,
    directory: &Directory,
    now: DateTime<Utc>,
) -> Request {
    let mut message = parse_email(raw, limits, now);
    if let Some(Warning::MessageCut { size, limit, .. }) = oversize {
        // The parser saw a cut-off copy: its attachment sizes and warnings
        // describe that copy, not the mail. Name the files, keep none.
        let names: Vec<String> = message.attachments.drain(..).map(|a| a.name).collect();
        message.warnings = vec![Warning::MessageCut { size, limit, names }];
    }
    prepare(message, rules, directory)
}

/// The FETCH items of a message over the size cap: its header and the start
/// of its text (`extra`: more items, e.g. " INTERNALDATE").
pub(super) fn cut_query(extra: &str) -> String {
    format!("(UID{extra} BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.{OVERSIZE_TEXT_BYTES}>)")
}

/// A message over the size cap as `cut_query` fetched it.
pub(super) fn cut_message(f: &Fetch) -> Vec<u8> {
    let mut raw = f.header().unwrap_or_default().to_vec();
    raw.extend_from_slice(f.text().unwrap_or_default());
    raw
}

/// What the requester and the ticket are told of a message over the cap.
pub(super) fn oversize_note(size: u32, max_message_bytes: u64) -> Warning {
    Warning::MessageCut {
        size: u64::from(size),
        limit: max_message_bytes,
        names: Vec::new(),
    }
}
