//! `itdesk recover`: the mailbox as a second copy. After a restore from an
//! older backup (or damage), the requests still kept where processed mail
//! stays (`processed_mailbox` with `after_processing = "move"`, else the
//! intake mailbox) are read back since a date, and each one the store lacks
//! goes through the engine's intake again. Copies of our own notices
//! (`[smtp] save_sent`) say which ticket ID each request was given: such a
//! request opens its ticket under that ID again, and its requester is not
//! told a second time.
//!
//! Invariant: both mailboxes are only EXAMINEd (read-only) and fetched with
//! PEEK — recovering never changes, moves or deletes a message; and only the
//! engine writes (`EngineHandle::recover`), so running it twice adds nothing.

use std::collections::HashMap;
use std::sync::Arc;

use async_imap::types::Fetch;
use async_imap::Session;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tracing::info;

use super::chunks::{cut_message, cut_query, oversize_note, to_request, units, Unit, SIZES_CHUNK};
use super::commands::{fetch, search_uids, timed, uid_set, FETCH_TIMEOUT};
use super::{login, ImapError, Stream};
use crate::clock::Clock;
use crate::config::{AfterProcessing, ImapConfig};
use crate::core::id::TicketId;
use crate::engine::{EngineHandle, IntakeOutcome, OriginalTicket};
use crate::intake::classify::Rules;
use crate::intake::directory::Directory;
use crate::intake::email::{parse_email, EmailLimits};
use crate::intake::Request;

pub struct Recovery {
    pub config: ImapConfig,
    /// Resolved password for `auth = "login"`.
    pub password: Option<String>,
    /// `[smtp] save_sent`: the mailbox our notices were copied to.
    pub sent_mailbox: Option<String>,
    pub engine: EngineHandle,
    pub limits: EmailLimits,
    pub rules: Rules,
    pub directory: Arc<Directory>,
    pub clock: Arc<dyn Clock>,
}

/// What a run found and did, message by message where anything happened.
#[derive(Debug, Default, Serialize)]
pub struct RecoveryReport {
    pub dry_run: bool,
    pub since: NaiveDate,
    /// The mailbox read back.
    pub mailbox: String,
    /// Where the notices' copies were read, if anywhere.
    pub sent_mailbox: Option<String>,
    /// Requests whose ticket ID a kept notice shows.
    pub known_ids: usize,
    pub scanned: usize,
    pub already_present: usize,
    /// Tickets opened again under the ID the requester was given.
    pub original_id: Vec<Recovered>,
    /// Tickets opened under a new ID (and the requester told it).
    pub new_id: Vec<Recovered>,
    /// Replies and delivery reports applied to a ticket in the store.
    pub replies: Vec<Recovered>,
    /// With `dry_run`: not in the store and no ID known — intake decides
    /// whether each is a new ticket or a reply.
    pub to_intake: Vec<Recovered>,
    /// Mail intake takes in without a ticket (automatic replies, …).
    pub ignored: Vec<Skipped>,
    pub failed: Vec<Skipped>,
    pub notes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Recovered {
    pub uid: u32,
    pub message_id: String,
    pub ticket: Option<TicketId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Skipped {
    pub uid: u32,
    pub message_id: String,
    pub reason: String,
}

/// One message read back: its request, and when the server received it.
struct ReadBack {
    uid: u32,
    request: Request,
    arrived_at: Option<DateTime<Utc>>,
}

impl Recovery {
    pub async fn run(&self, since: NaiveDate, dry_run: bool) -> Result<RecoveryReport, ImapError> {
        let mailbox = match self.config.after_processing {
            AfterProcessing::Move => self.config.processed_mailbox.clone(),
            AfterProcessing::Seen => self.config.mailbox.clone(),
        };
        let mut report = RecoveryReport {
            dry_run,
            since,
            mailbox: mailbox.clone(),
            ..RecoveryReport::default()
        };
        let mut session = login::connect(&self.config, self.password.as_deref()).await?;
        let known = match &self.sent_mailbox {
            Some(sent) => {
                self.original_ids(&mut session, sent, since, &mut report)
                    .await?
            }
            None => {
                report.notes.push("[smtp] save_sent is not set: no copies of our notices to read the original ticket IDs from, so every lost request opens a new ticket and its requester is told the new ID".into());
                HashMap::new()
            }
        };
        report.known_ids = known.len();
        let setting = match self.config.after_processing {
            AfterProcessing::Move => "[imap].processed_mailbox",
            AfterProcessing::Seen => "[imap].mailbox",
        };
        timed("EXAMINE", session.examine(&mailbox))
            .await?
            .map_err(|e| ImapError::Mailbox {
                mailbox: mailbox.clone(),
                reason: e.to_string(),
                setting,
            })?;
        let uids = search_since(&mut session, since).await?;
        let max_bytes = self.limits.max_total_bytes;
        for slice in uids.chunks(SIZES_CHUNK) {
            for unit in units(&mut session, slice, max_bytes, false).await? {
                for message in self.read(&mut session, unit).await? {
                    report.scanned += 1;
                    let original =
                        known
                            .get(&message.request.message_id)
                            .map(|id| OriginalTicket {
                                id: id.clone(),
                                arrived_at: message.arrived_at.unwrap_or_else(|| self.clock.now()),
                            });
                    if dry_run {
                        self.preview(message, original, &mut report);
                    } else {
                        self.recover(message, original, &mut report).await;
                    }
                }
            }
        }
        let _ = timed("LOGOUT", session.logout()).await;
        info!(
            %mailbox, %since, dry_run, scanned = report.scanned,
            already_present = report.already_present,
            original_id = report.original_id.len(), new_id = report.new_id.len(),
            replies = report.replies.len(), failed = report.failed.len(),
            "mailbox recovery finished"
        );
        Ok(report)
    }

    /// Request Message-ID → the ticket ID our notices about it carried, from
    /// the copies in `sent` since `since` (a notice is never older than its
    /// request); the first notice about a request names its ticket.
    async fn original_ids(
        &self,
        session: &mut Session<Stream>,
        sent: &str,
        since: NaiveDate,
        report: &mut RecoveryReport,
    ) -> Result<HashMap<String, TicketId>, ImapError> {
        report.sent_mailbox = Some(sent.to_string());
        if let Err(e) = timed("EXAMINE", session.examine(sent)).await? {
            report.notes.push(format!("the mailbox of sent notices {sent:?} ([smtp].save_sent) cannot be read ({e}): no original ticket IDs are known"));
            return Ok(HashMap::new());
        }
        let mut known = HashMap::new();
        let now = self.clock.now();
        for slice in search_since(session, since).await?.chunks(SIZES_CHUNK) {
            let headers = fetch(
                session,
                uid_set(slice),
                "(UID BODY.PEEK[HEADER])",
                FETCH_TIMEOUT,
            )
            .await?;
            let mut headers: Vec<(u32, &Fetch)> =
                headers.iter().filter_map(|f| Some((f.uid?, f))).collect();
            headers.sort_unstable_by_key(|(uid, _)| *uid);
            for (_, f) in headers {
                let notice = parse_email(f.header().unwrap_or_default(), &self.limits, now);
                let ticket = notice_ticket(&notice.message_id, &self.limits.own_message_id_domain);
                if let (Some(ticket), Some(request)) = (ticket, notice.references.first()) {
                    known.entry(request.clone()).or_insert(ticket);
                }
            }
        }
        Ok(known)
    }

    /// Fetches a unit of the mailbox and turns each message into a request.
    async fn read(
        &self,
        session: &mut Session<Stream>,
        unit: Unit,
    ) -> Result<Vec<ReadBack>, ImapError> {
        let now = self.clock.now();
        let (set, query, cut) = match unit {
            Unit::Chunk(uids) => (
                uid_set(&uids),
                "(UID INTERNALDATE BODY.PEEK[])".to_string(),
                None,
            ),
            Unit::Big(uid, size) => (
                uid.to_string(),
                cut_query(" INTERNALDATE"),
                Some(oversize_note(size, self.limits.max_total_bytes)),
            ),
        };
        let mut fetched: Vec<(u32, Fetch)> = fetch(session, set, &query, FETCH_TIMEOUT)
            .await?
            .into_iter()
            .filter_map(|f| Some((f.uid?, f)))
            .collect();
        fetched.sort_unstable_by_key(|(uid, _)| *uid);
        let mut out = Vec::with_capacity(fetched.len());
        for (uid, f) in fetched {
            let raw = match &cut {
                Some(_) => cut_message(&f),
                // Expunged meanwhile: nothing to read back.
                None => match f.body() {
                    Some(body) => body.to_vec(),
                    None => continue,
                },
            };
            let request = to_request(
                &raw,
                cut.clone(),
                &self.limits,
                &self.rules,
                &self.directory,
                now,
            );
            out.push(ReadBack {
                uid,
                request,
                arrived_at: f.internal_date().map(|d| d.with_timezone(&Utc)),
            });
        }
        Ok(out)
    }

    /// Through the engine's intake, as the mail came the first time.
    async fn recover(
        &self,
        message: ReadBack,
        original: Option<OriginalTicket>,
        report: &mut RecoveryReport,
    ) {
        let (uid, message_id) = (message.uid, message.request.message_id.clone());
        let wanted = original.as_ref().map(|o| o.id.clone());
        let entry = |ticket: Option<TicketId>, note: Option<String>| Recovered {
            uid,
            message_id: message_id.clone(),
            ticket,
            note,
        };
        let skipped = |reason: String| Skipped {
            uid,
            message_id: message_id.clone(),
            reason,
        };
        match self.engine.recover(message.request, original).await {
            Ok(IntakeOutcome::Duplicate(_)) => report.already_present += 1,
            Ok(IntakeOutcome::Created(id)) => match wanted {
                Some(w) if w == id => report.original_id.push(entry(Some(id), None)),
                Some(w) => report.new_id.push(entry(
                    Some(id),
                    Some(format!("its original ID {w} is another ticket's now")),
                )),
                None => report.new_id.push(entry(Some(id), None)),
            },
            Ok(IntakeOutcome::Updated(id)) => report.replies.push(entry(Some(id), None)),
            Ok(IntakeOutcome::Bounce(Some(id))) => report
                .replies
                .push(entry(Some(id), Some("delivery report".into()))),
            Ok(IntakeOutcome::Bounce(None)) => report
                .ignored
                .push(skipped("delivery report about no known ticket".into())),
            Ok(IntakeOutcome::Ignored(reason)) => report.ignored.push(skipped(reason)),
            Ok(IntakeOutcome::Unprocessable(reason)) => report.failed.push(skipped(reason)),
            Err(e) => report.failed.push(skipped(e.to_string())),
        }
    }

    /// What `recover` would do, from the store as it is; changes nothing.
    fn preview(
        &self,
        message: ReadBack,
        original: Option<OriginalTicket>,
        report: &mut RecoveryReport,
    ) {
        let request = &message.request;
        let entry = |ticket: Option<TicketId>, note: Option<String>| Recovered {
            uid: message.uid,
            message_id: request.message_id.clone(),
            ticket,
            note,
        };
        let skipped = |reason: String| Skipped {
            uid: message.uid,
            message_id: request.message_id.clone(),
            reason,
        };
        match self.engine.seen_request(request) {
            Ok(None) => {}
            Ok(Some(_)) => return report.already_present += 1,
            Err(e) => return report.failed.push(skipped(e.to_string())),
        }
        // Intake's order: duplicates, then delivery reports, then machine mail.
        if let (None, Some(reason)) = (&request.bounce, &request.automated) {
            return report.ignored.push(skipped(format!("{reason:?}")));
        }
        let Some(o) = original else {
            return report.to_intake.push(entry(None, None));
        };
        match self.engine.ticket(&o.id) {
            Ok(None) => report.original_id.push(entry(Some(o.id), None)),
            Ok(Some(_)) => report.new_id.push(entry(
                None,
                Some(format!("its original ID {} is another ticket's now", o.id)),
            )),
            Err(e) => report.failed.push(skipped(e.to_string())),
        }
    }
}

/// `UID SEARCH SINCE date`, in UID order (the order the mail came in).
async fn search_since(
    session: &mut Session<Stream>,
    since: NaiveDate,
) -> Result<Vec<u32>, ImapError> {
    search_uids(session, &format!("SINCE {}", imap_date(since))).await
}

/// A date as IMAP SEARCH writes it (RFC 3501 `date`): `1-Oct-2023`.
fn imap_date(date: NaiveDate) -> String {
    date.format("%-d-%b-%Y").to_string()
}

/// The ticket one of our notices is about, from its Message-ID
/// `n<entry>.<ticket>@<message_id_domain>`; None for anyone else's mail.
fn notice_ticket(message_id: &str, own_domain: &str) -> Option<TicketId> {
    let (local, domain) = message_id.rsplit_once('@')?;
    if !domain.eq_ignore_ascii_case(own_domain) {
        return None;
    }
    let (entry, ticket) = local.split_once('.')?;
    entry.strip_prefix('n')?.parse::<u64>().ok()?;
    TicketId::parse(ticket)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_dates_are_written_as_imap_wants_them() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(imap_date(d(2023, 10, 1)), "1-Oct-2023");
        assert_eq!(imap_date(d(2024, 2, 29)), "29-Feb-2024");
    }

    #[test]
    fn only_our_notices_name_a_ticket() {
        let cases = [
            ("n17.IT20231001004@itdesk.test", Some("IT20231001004")),
            ("n17.IT202310011000@ITDESK.test", Some("IT202310011000")),
            // Another domain's, a request's, a mangled one.
            ("n17.IT20231001004@example.test", None),
            ("req-1@itdesk.test", None),
            ("x17.IT20231001004@itdesk.test", None),
            ("n17.IT2023@itdesk.test", None),
            ("", None),
        ];
        for (message_id, expected) in cases {
            assert_eq!(
                notice_ticket(message_id, "itdesk.test").map(|t| t.to_string()),
                expected.map(String::from),
                "{message_id}"
            );
        }
    }
}
