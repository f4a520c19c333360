//! Digest timers in the outbox. At start-up `arm` makes the queue hold exactly
//! one timer per configured cadence; when one is due, the report for its
//! period becomes one prepared message per recipient — by mail the HTML page
//! with its charts by `cid:` (kept as SVG, sent as PNG) plus the plain-text `digest` template, to the staff chat (when
//! a chat channel exists) the template's short form — queued together with
//! the next timer in one transaction.
//!
//! Invariant: a digest due while the daemon was down is sent once, when it
//! starts, and the next one is armed from then; a crash between computing and
//! committing repeats the digest, never loses it.

use tracing::{info, warn};

use super::render::{NoticeContext, NoticeView, RenderError};
use super::Dispatcher;
use crate::core::effect::NoticeKind;
use crate::queue::{Cadence, Destination, EntryBody, InlineChart, PreparedMessage, QueueEntry};
use crate::stats::aggregate::Report;
use crate::stats::digest::{self, context, DigestSettings, Format};
use crate::stats::faq_known;
use crate::stats::format::words;
use crate::stats::html::{self, Page};
use crate::store::{Commit, QueueKey, Store, StoreError};

/// Makes the queued digest timers match `[digest]`: a timer armed by another
/// schedule (or for a cadence now off) is dropped, a missing one is armed for
/// the next due time after `now`. A timer already due stays: it fires now.
pub fn arm(
    store: &Store,
    settings: Option<&DigestSettings>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let mut queued: Vec<(QueueKey, Cadence, String)> = Vec::new();
    for item in store.entries() {
        let (key, entry) = item?;
        if let EntryBody::Digest { cadence, schedule } = entry.body {
            queued.push((key, cadence, schedule));
        }
    }
    let mut enqueue = Vec::new();
    for cadence in Cadence::ALL {
        let wanted = settings.and_then(|s| s.schedule(cadence).map(|sch| (s, sch)));
        let mut kept = false;
        for (key, _, schedule) in queued.iter().filter(|(_, c, _)| *c == cadence) {
            if !kept && wanted.is_some_and(|(_, w)| w.spec() == *schedule) {
                kept = true;
            } else {
                store.complete(key)?;
            }
        }
        if let (false, Some((s, schedule))) = (kept, wanted) {
            let due = schedule.next_after(now, s.basis.tz);
            enqueue.push(QueueEntry::new(
                store.generate_id()?,
                due,
                None,
                EntryBody::Digest {
                    cadence,
                    schedule: schedule.spec(),
                },
            ));
            info!(digest = cadence.key(), %due, "digest armed");
        }
    }
    if let Some(s) = settings.filter(|s| s.email.is_empty() && s.chat_channel.is_none()) {
        warn!(weekly = ?s.weekly.map(|w| w.spec()), "[digest] names no email address and no chat channel: digests go to nobody");
    }
    if !enqueue.is_empty() {
        store.commit(Commit {
            enqueue,
            ..Commit::default()
        })?;
    }
    Ok(())
}

impl Dispatcher {
    pub(super) async fn digest_due(
        &self,
        key: QueueKey,
        entry: QueueEntry,
    ) -> Result<(), StoreError> {
        let EntryBody::Digest { cadence, .. } = entry.body else {
            return Ok(());
        };
        let Some(settings) = self.digest.clone() else {
            // `[digest]` was removed after this timer was armed.
            self.store.complete(&key)?;
            return Ok(());
        };
        let now = self.clock.now();
        let period = digest::period_of(cadence, entry.due, settings.basis.tz);
        // A range scan of one period; it blocks this task for well under a
        // second even on a very large store, once a week.
        let messages = match self
            .store
            .report(settings.basis.query(period, None, settings.lang))
        {
            Ok(report) => self
                .digest_messages(&settings, cadence, &report, &self.no_faq(&report))
                .map_err(|e| format!("its template does not render: {e}")),
            Err(e) => Err(format!("the statistics could not be read: {e}")),
        };
        let mut enqueue = Vec::new();
        match messages {
            Ok(messages) => {
                for mut message in messages {
                    let id = self.store.generate_id()?;
                    message.message_id = format!("digest{id}@{}", settings.message_id_domain);
                    enqueue.push(QueueEntry::new(id, now, None, EntryBody::Prepared(message)));
                }
            }
            // Not retried: the next digest is armed and the rest of the queue goes on.
            Err(reason) => warn!(
                digest = cadence.key(),
                "digest not sent: {reason}; the next one is armed"
            ),
        }
        let copies = enqueue.len();
        if let Some(schedule) = settings.schedule(cadence) {
            let due = schedule.next_after(now, settings.basis.tz);
            enqueue.push(QueueEntry::new(
                self.store.generate_id()?,
                due,
                None,
                EntryBody::Digest {
                    cadence,
                    schedule: schedule.spec(),
                },
            ));
        }
        self.store.commit(Commit {
            enqueue,
            consumed: Some(key),
            ..Commit::default()
        })?;
        info!(digest = cadence.key(), from = %period.from, to = %period.to, copies, "digest queued");
        Ok(())
    }

    /// The labels of the report's recurring problems no approved FAQ entry
    /// covers; none when the approvals cannot be read (the digest still goes).
    fn no_faq(&self, report: &Report) -> Vec<String> {
        match self.store.faq_approved() {
            Ok(approved) => faq_known::unapproved(&report.recurring, &approved)
                .into_iter()
                .map(|c| c.label.clone())
                .collect(),
            Err(e) => {
                warn!("the approved FAQ entries could not be read: {e}");
                Vec::new()
            }
        }
    }

    /// One message per mail recipient and, with a chat transport, one for the staff channel.
    fn digest_messages(
        &self,
        s: &DigestSettings,
        cadence: Cadence,
        report: &Report,
        no_faq: &[String],
    ) -> Result<Vec<PreparedMessage>, RenderError> {
        let notices = self.notices.current();
        let render = |format: Format| {
            let ctx = NoticeContext {
                helpdesk: notices.helpdesk.clone(),
                ticket: None,
                notice: NoticeView {
                    kind: NoticeKind::Digest.template().to_string(),
                    text: None,
                    actor: None,
                },
                digest: Some({
                    let mut digest =
                        context(report, cadence, s.lang, format, &notices.group_labels);
                    digest["no_faq"] = serde_json::json!(no_faq);
                    digest
                }),
            };
            notices.renderer.render(NoticeKind::Digest, s.lang, &ctx)
        };
        let prepared = |dest: Destination,
                        subject: String,
                        body: String,
                        html: Option<String>,
                        charts: Vec<InlineChart>| PreparedMessage {
            kind: NoticeKind::Digest,
            dest,
            lang: s.lang,
            subject,
            body,
            html,
            message_id: String::new(),
            charts,
        };
        let mut out = Vec::new();
        if !s.email.is_empty() {
            let mail = render(Format::Email)?;
            let w = words(s.lang);
            let title = match cadence {
                Cadence::Weekly => w.weekly,
                Cadence::Monthly => w.monthly,
            };
            let page = Page {
                helpdesk: notices.helpdesk.name.clone(),
                title: title.into(),
                lang: s.lang,
                group_labels: notices.group_labels.clone(),
            };
            // The charts go by `cid:` as PNG, rasterised when each copy is sent.
            let (html, charts) = html::render_mail_with(
                report,
                &page,
                &notices.report_template,
                &s.message_id_domain,
            )
            .map_err(|error| RenderError::Template {
                file: "report.html".into(),
                error,
            })?;
            for to in &s.email {
                out.push(prepared(
                    Destination::Email { to: to.clone() },
                    mail.subject.clone(),
                    mail.body.clone(),
                    Some(html.clone()),
                    charts.clone(),
                ));
            }
        }
        match (&s.chat_channel, self.transports.chat.is_some()) {
            (Some(channel), true) => {
                let chat = render(Format::Chat)?;
                out.push(prepared(
                    Destination::ChatChannel {
                        channel: channel.clone(),
                        page: None,
                    },
                    chat.subject,
                    chat.body,
                    None,
                    Vec::new(),
                ));
            }
            (Some(channel), false) => {
                info!(%channel, "no chat channel configured ([discord]); the digest summary goes by mail only")
            }
            (None, _) => {}
        }
        Ok(out)
    }
}
