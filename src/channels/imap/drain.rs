//! Draining the mailbox: unprocessed mail fetched a chunk at a time and sent
//! to the engine as batches, pipelined, each batch marked processed only once
//! the engine has answered for it; what it cannot use is quarantined.

use async_imap::types::Fetch;
use async_imap::Session;
use futures::TryStreamExt;
use tracing::debug;

use super::chunks::{cut_message, cut_query, oversize_note, to_request, units, Unit, SIZES_CHUNK};
use super::commands::{fetch, protocol, search_uids, timed, uid_set, FETCH_TIMEOUT};
use super::{ImapError, ImapIntake, Stream};
use crate::config::AfterProcessing;
use crate::engine::{Answer, IntakeOutcome};
use crate::intake::{Request, Warning};
use crate::shutdown::Shutdown;

impl ImapIntake {
    /// Processes every unprocessed message in UID order, a chunk at a time;
    /// returns how many it marked processed.
    ///
    /// Pipelined: while the engine commits one batch, the next is fetched,
    /// parsed and queued behind it; a batch is marked processed only once the
    /// engine has answered for it (committed and flushed). So at most two
    /// batches are at the engine and the session is busy only for FETCH and
    /// STORE. Shutdown stops between chunks, after the answers in flight.
    pub(super) async fn drain(
        &self,
        session: &mut Session<Stream>,
        shutdown: &Shutdown,
    ) -> Result<usize, ImapError> {
        let query = match self.config.after_processing {
            AfterProcessing::Seen => "UNSEEN",
            AfterProcessing::Move => "ALL",
        };
        let uids = search_uids(session, query).await?;
        if !uids.is_empty() {
            debug!(count = uids.len(), "unprocessed messages");
        }
        let mut pipeline = Pipeline::default();
        'slices: for (i, slice) in uids.chunks(SIZES_CHUNK).enumerate() {
            if shutdown.is_set() {
                break;
            }
            for unit in units(session, slice, self.max_message_bytes, i == 0).await? {
                if shutdown.is_set() {
                    break 'slices;
                }
                match unit {
                    Unit::Chunk(uids) => self.chunk(session, &uids, &mut pipeline).await?,
                    Unit::Big(uid, size) => self.big(session, uid, size, &mut pipeline).await?,
                }
            }
        }
        if let Some(last) = pipeline.in_flight.take() {
            pipeline.processed += self.settle(session, last).await?;
        }
        Ok(pipeline.processed)
    }

    /// Fetches and parses a run of messages within the size cap and sends
    /// them to the engine as one batch.
    async fn chunk(
        &self,
        session: &mut Session<Stream>,
        uids: &[u32],
        pipeline: &mut Pipeline,
    ) -> Result<(), ImapError> {
        let fetched = fetch(session, uid_set(uids), "(UID BODY.PEEK[])", FETCH_TIMEOUT).await?;
        let mut fetched: Vec<(u32, Fetch)> = fetched
            .into_iter()
            .filter_map(|f| Some((f.uid?, f)))
            .collect();
        fetched.sort_unstable_by_key(|(uid, _)| *uid);
        let (items, requests) = fetched
            .iter()
            .enumerate()
            .filter_map(|(index, (uid, f))| Some(((*uid, index), self.request(f.body()?, None))))
            .unzip();
        self.send(session, pipeline, Mail::Fetched(fetched), items, requests)
            .await
    }

    /// A message over the size cap: its header and the beginning of its
    /// text, with a note of what was left out.
    async fn big(
        &self,
        session: &mut Session<Stream>,
        uid: u32,
        size: u32,
        pipeline: &mut Pipeline,
    ) -> Result<(), ImapError> {
        let fetched = fetch(session, uid.to_string(), &cut_query(""), FETCH_TIMEOUT).await?;
        let Some(f) = fetched.first() else {
            return Ok(());
        };
        let raw = cut_message(f);
        let request = self.request(&raw, Some(oversize_note(size, self.max_message_bytes)));
        self.send(
            session,
            pipeline,
            Mail::Cut(raw),
            vec![(uid, 0)],
            vec![request],
        )
        .await
    }

    /// Queues a batch at the engine, then settles the batch sent before it
    /// (the engine commits in the order it was sent batches).
    async fn send(
        &self,
        session: &mut Session<Stream>,
        pipeline: &mut Pipeline,
        mail: Mail,
        items: Vec<(u32, usize)>,
        requests: Vec<Request>,
    ) -> Result<(), ImapError> {
        if items.is_empty() {
            return Ok(());
        }
        let answer = self.engine.submit_batch(requests).await?;
        let sent = InFlight {
            mail,
            items,
            answer,
        };
        if let Some(previous) = pipeline.in_flight.replace(sent) {
            pipeline.processed += self.settle(session, previous).await?;
        }
        Ok(())
    }

    /// Waits for the engine's answer to a batch, quarantines what nothing can
    /// be done with instead of letting it block the mailbox, then marks the
    /// batch processed; returns how many it marked.
    async fn settle(
        &self,
        session: &mut Session<Stream>,
        sent: InFlight,
    ) -> Result<usize, ImapError> {
        let outcomes = sent.answer.outcomes().await?;
        let mut done = Vec::with_capacity(sent.items.len());
        for (&(uid, index), outcome) in sent.items.iter().zip(outcomes) {
            match outcome {
                IntakeOutcome::Unprocessable(reason) => {
                    self.quarantine(uid, sent.mail.raw(index).to_vec(), reason)
                        .await?
                }
                outcome => debug!(uid, outcome = ?outcome, "message processed"),
            }
            done.push(uid);
        }
        self.mark_processed(session, &done).await?;
        Ok(done.len())
    }

    fn request(&self, raw: &[u8], oversize: Option<Warning>) -> Request {
        to_request(
            raw,
            oversize,
            &self.limits,
            &self.rules,
            &self.directory,
            self.clock.now(),
        )
    }

    async fn quarantine(&self, uid: u32, raw: Vec<u8>, reason: String) -> Result<(), ImapError> {
        let origin = format!("imap:{} uid {uid}", self.config.mailbox);
        let id = self
            .engine
            .quarantine(origin.clone(), reason.clone(), raw)
            .await?;
        let text = format!("A message ({origin}) could not be processed and was quarantined as #{id}: {reason}.\nInspect it with `itdesk quarantine show {id}`; `itdesk quarantine retry {id}` runs it through intake again.");
        self.engine.alert(text).await?;
        Ok(())
    }

    async fn mark_processed(
        &self,
        session: &mut Session<Stream>,
        uids: &[u32],
    ) -> Result<(), ImapError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uid_set(uids);
        match self.config.after_processing {
            AfterProcessing::Seen => {
                timed("STORE", async {
                    session
                        .uid_store(&set, "+FLAGS.SILENT (\\Seen)")
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?
                .map_err(|e| protocol("STORE", e))?;
            }
            AfterProcessing::Move => {
                timed("MOVE", session.uid_mv(&set, &self.config.processed_mailbox))
                    .await?
                    .map_err(|e| protocol("MOVE", e))?;
            }
        }
        Ok(())
    }
}

/// The raw mail of fetched messages, kept until the engine has answered for
/// them (a message it cannot use is quarantined as it came).
enum Mail {
    /// A FETCH's messages by UID.
    Fetched(Vec<(u32, Fetch)>),
    /// A message over the size cap: its header and the start of its text.
    Cut(Vec<u8>),
}

impl Mail {
    fn raw(&self, index: usize) -> &[u8] {
        match self {
            Mail::Fetched(fetched) => fetched
                .get(index)
                .and_then(|(_, f)| f.body())
                .unwrap_or_default(),
            Mail::Cut(raw) => raw,
        }
    }
}

/// A batch the engine has been sent: (UID, index into `mail`) per request,
/// in order, and the answer to come.
struct InFlight {
    mail: Mail,
    items: Vec<(u32, usize)>,
    answer: Answer<Vec<IntakeOutcome>>,
}

#[derive(Default)]
struct Pipeline {
    /// At most one batch awaiting its answer while the next is prepared.
    in_flight: Option<InFlight>,
    /// Messages marked processed so far.
    processed: usize,
}
