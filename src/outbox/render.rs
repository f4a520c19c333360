//! Notice rendering: a notice kind, a language and a `NoticeContext` become a subject line
//! and a plain-text body, from the templates under `templates/<lang>/<kind>.txt`.
//!
//! Invariant: every (kind, language) template is loaded and parsed when the `Renderer` is
//! built, so a missing or broken template stops start-up, never a notice in flight. Built-in
//! templates are compiled in; a file of the same relative path in the override dir wins.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use chrono::Utc;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::core::calendar::Calendar;
use crate::core::effect::NoticeKind;
use crate::core::ticket::{CloseReason, Lang, Rating, Ticket};

/// Every language a full template set exists for.
const LANGS: [Lang; 2] = [Lang::En, Lang::ZhCn];

/// `head(n)` keeps at most this many characters per requested line, so a description
/// pasted as one huge line still gives a short page.
const HEAD_CHARS_PER_LINE: usize = 100;

macro_rules! builtin_templates {
    ($($stem:literal),+ $(,)?) => {
        /// `(path under templates/, source)` of every compiled-in template.
        const BUILTIN: &[(&str, &str)] = &[$(
            (concat!("en/", $stem, ".txt"), include_str!(concat!("../../templates/en/", $stem, ".txt"))),
            (concat!("zh-CN/", $stem, ".txt"), include_str!(concat!("../../templates/zh-CN/", $stem, ".txt"))),
        )+];
    };
}

builtin_templates!(
    "accepted",
    "need_more_info",
    "progress",
    "eta_changed",
    "delayed",
    "escalated",
    "urgency_changed",
    "resolved_confirm",
    "confirm_reminder",
    "rating_thanks",
    "reopened",
    "closed",
    "relay",
    "clarify",
    "urgent_page",
    "ack_reminder",
    "breach_warning",
    "breach",
    "staff_update",
    "digest",
    "alert",
    "new_ticket",
    "ticket_card",
    "contact_escalation",
);

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {file} is missing")]
    Missing { file: String },
    #[error("template {file} must start with a `Subject: …` line followed by an empty line")]
    NoSubject { file: String },
    #[error("template {file} is broken: {error}")]
    Template {
        file: String,
        error: minijinja::Error,
    },
    #[error("template override dir {} unreadable: {error} — check [outbox] templates_dir", dir.display())]
    OverrideDir { dir: PathBuf, error: io::Error },
    #[error("template override {} unreadable: {error}", path.display())]
    OverrideFile { path: PathBuf, error: io::Error },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line, whitespace collapsed: safe to put in a mail header.
    pub subject: String,
    /// Ends with exactly one newline.
    pub body: String,
}

/// Everything a template sees.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeContext {
    pub helpdesk: HelpdeskInfo,
    /// `None` only for notices about no single ticket (digest, operational alert).
    pub ticket: Option<TicketView>,
    pub notice: NoticeView,
    /// Statistics for the digest; the shape is documented in `templates/README.md`.
    pub digest: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HelpdeskInfo {
    pub name: String,
    pub address: String,
    /// `[on_duty] phone`: told to requesters of urgent tickets.
    pub on_duty_phone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NoticeView {
    /// The template stem, e.g. `accepted`.
    pub kind: String,
    /// Text belonging to this notice only: relayed message, reason, intake warnings.
    pub text: Option<String>,
    /// Who caused the notice (the technician of a relay), when known.
    pub actor: Option<String>,
}

/// One line of 处理过程 as templates see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogView {
    pub at: String,
    pub actor: String,
    pub text: String,
}

/// What the requester asked for, and their words that say the impact is smaller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UrgencyLoweredView {
    pub asked_label: String,
    pub cue: String,
}

/// The ticket as templates see it: labels in the notice's language, times formatted local.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketView {
    pub id: String,
    /// Machine key (`in_progress`), for conditions in templates.
    pub status: String,
    pub status_label: String,
    /// Machine key (`software`).
    pub problem_type: String,
    pub type_label: String,
    /// Machine key (`urgent`).
    pub urgency: String,
    pub urgency_label: String,
    /// Intake set a lower urgency than the requester asked for.
    pub urgency_lowered: Option<UrgencyLoweredView>,
    pub group: String,
    pub assignee: Option<String>,
    pub requester_name: String,
    pub requester_department: Option<String>,
    pub requester_contact: Option<String>,
    /// What the requester is asked to add (name, department, contact), in `lang`.
    pub requester_missing: Vec<String>,
    pub subject: String,
    pub description: String,
    pub created_local: String,
    /// The completion time the requester was last given.
    pub eta_local: String,
    /// The resolution target the breach is measured against (staff notices).
    pub target_local: String,
    pub ack_due_local: String,
    pub auto_close_local: Option<String>,
    pub expected_time: Option<String>,
    pub last_public_log: Option<LogView>,
    pub fix: Option<String>,
    pub rating_stars_text: Option<String>,
    pub rating_remark: Option<String>,
    /// `confirmed`, `no_answer` or `closed_by_staff`.
    pub close_reason: Option<String>,
    /// `"name (size)"` each.
    pub attachments: Vec<String>,
    /// The closed ticket this one continues.
    pub related: Option<String>,
}

impl TicketView {
    pub fn new(ticket: &Ticket, lang: Lang, calendar: &Calendar) -> TicketView {
        let local = |at| calendar.format_local(at);
        TicketView {
            id: ticket.id.to_string(),
            status: ticket.status.key().to_string(),
            status_label: ticket.status.label(lang).to_string(),
            problem_type: ticket.problem_type.key().to_string(),
            type_label: ticket.problem_type.label(lang).to_string(),
            urgency: ticket.urgency.key().to_string(),
            urgency_label: ticket.urgency.label(lang).to_string(),
            urgency_lowered: ticket.urgency_lowered.as_ref().map(|l| UrgencyLoweredView {
                asked_label: l.from.label(lang).to_string(),
                cue: l.cue.clone(),
            }),
            group: ticket.group.clone(),
            assignee: ticket.assignee.clone(),
            requester_name: ticket.requester.display().to_string(),
            requester_department: ticket.requester.department.clone(),
            requester_contact: ticket.requester.contact.clone(),
            requester_missing: ticket
                .requester
                .missing()
                .into_iter()
                .map(|f| f.label(lang).to_string())
                .collect(),
            subject: ticket.subject.clone(),
            description: ticket.description.clone(),
            created_local: local(ticket.created_at),
            eta_local: local(ticket.eta_told()),
            target_local: local(ticket.eta),
            ack_due_local: local(ticket.ack_due),
            auto_close_local: ticket.timers.auto_close.map(local),
            expected_time: ticket.expected_time.clone(),
            last_public_log: ticket.last_public_log().map(|e| LogView {
                at: local(e.at.with_timezone(&Utc)),
                actor: e.actor.clone(),
                text: e.text.clone(),
            }),
            fix: ticket.resolution.as_ref().map(|r| r.fix.clone()),
            rating_stars_text: ticket.rating.as_ref().map(Rating::stars_text),
            rating_remark: ticket.rating.as_ref().and_then(|r| r.remark.clone()),
            close_reason: ticket.close_reason.map(|r| close_reason_key(r).to_string()),
            attachments: ticket
                .attachments
                .iter()
                .map(|a| format!("{} ({})", a.name, human_size(a.size)))
                .collect(),
            related: ticket.related.as_ref().map(ToString::to_string),
        }
    }
}

fn close_reason_key(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::Confirmed => "confirmed",
        CloseReason::NoAnswer => "no_answer",
        CloseReason::ClosedByStaff => "closed_by_staff",
    }
}

fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    if bytes < KIB {
        format!("{bytes} B")
    } else if bytes < KIB * KIB {
        format!("{} KB", bytes.div_ceil(KIB))
    } else {
        // Precision loss is irrelevant at one decimal of a megabyte.
        format!("{:.1} MB", bytes as f64 / (KIB * KIB) as f64)
    }
}

/// `text|head(n)`: the first `n` lines, "…" when anything was cut — pages stay short.
fn head(text: &str, lines: usize) -> String {
    let text = text.trim();
    let mut kept = text.lines().take(lines).collect::<Vec<_>>().join("\n");
    let mut cut = text.lines().nth(lines).is_some();
    if let Some((at, _)) = kept
        .char_indices()
        .nth(lines.saturating_mul(HEAD_CHARS_PER_LINE))
    {
        kept.truncate(at);
        cut = true;
    }
    if cut {
        kept.push_str(" …");
    }
    kept
}

#[derive(Debug)]
pub struct Renderer {
    env: Environment<'static>,
    /// Where each template came from, for error messages.
    files: HashMap<(Lang, NoticeKind), String>,
}

impl Renderer {
    /// Built-in templates are compiled in (include_str! of every file under templates/, so the
    /// binary works without the folder); a file of the same relative path in `override_dir`
    /// replaces the built-in one. All templates are parsed up front so a broken one fails at
    /// start-up, not when a notice goes out.
    pub fn new(override_dir: Option<&Path>) -> Result<Renderer, RenderError> {
        if let Some(dir) = override_dir {
            std::fs::read_dir(dir).map_err(|error| RenderError::OverrideDir {
                dir: dir.to_path_buf(),
                error,
            })?;
        }
        let mut env = Environment::new();
        // A variable a template uses but the context lacks is a bug: fail loudly.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // Plain-text mail and chat: nothing may be HTML-escaped.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.add_filter("head", head);

        let mut files = HashMap::new();
        for lang in LANGS {
            for &kind in NoticeKind::ALL {
                let rel = relative_path(lang, kind);
                let (file, source) = load(override_dir, &rel)?;
                let (subject, body) = split_subject(&source)
                    .ok_or_else(|| RenderError::NoSubject { file: file.clone() })?;
                let broken = |error| RenderError::Template {
                    file: file.clone(),
                    error,
                };
                env.add_template_owned(subject_name(&rel), subject)
                    .map_err(broken)?;
                env.add_template_owned(rel, body).map_err(broken)?;
                files.insert((lang, kind), file);
            }
        }
        Ok(Renderer { env, files })
    }

    pub fn render(
        &self,
        kind: NoticeKind,
        lang: Lang,
        ctx: &NoticeContext,
    ) -> Result<Rendered, RenderError> {
        let rel = relative_path(lang, kind);
        let file = self
            .files
            .get(&(lang, kind))
            .ok_or_else(|| RenderError::Missing {
                file: format!("templates/{rel}"),
            })?;
        let broken = |error| RenderError::Template {
            file: file.clone(),
            error,
        };
        let subject = self
            .env
            .get_template(&subject_name(&rel))
            .and_then(|t| t.render(ctx))
            .map_err(broken)?;
        let body = self
            .env
            .get_template(&rel)
            .and_then(|t| t.render(ctx))
            .map_err(broken)?;
        Ok(Rendered {
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            body: format!("{}\n", body.trim_start_matches('\n').trim_end()),
        })
    }
}

fn relative_path(lang: Lang, kind: NoticeKind) -> String {
    format!("{}/{}.txt", lang.code(), kind.template())
}

fn subject_name(rel: &str) -> String {
    format!("{rel} (Subject line)")
}

/// The override file if there is one, else the built-in: `(name for errors, source)`.
fn load(override_dir: Option<&Path>, rel: &str) -> Result<(String, String), RenderError> {
    if let Some(dir) = override_dir {
        let path = dir.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(source) => return Ok((path.display().to_string(), source)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(RenderError::OverrideFile { path, error }),
        }
    }
    BUILTIN
        .iter()
        .find(|(path, _)| *path == rel)
        .map(|(_, source)| (format!("templates/{rel} (built-in)"), (*source).to_string()))
        .ok_or_else(|| RenderError::Missing {
            file: format!("templates/{rel}"),
        })
}

/// Splits `Subject: …`, an empty line, and the body. The body template gets two newlines in
/// place of the header, so minijinja's line numbers in errors match the file.
fn split_subject(source: &str) -> Option<(String, String)> {
    // Files saved by Windows editors may carry a BOM and CRLF line ends.
    let source = source
        .strip_prefix('\u{feff}')
        .unwrap_or(source)
        .replace("\r\n", "\n");
    let (first, rest) = source.split_once('\n')?;
    let subject = first
        .get(..8)
        .filter(|p| p.eq_ignore_ascii_case("subject:"))
        .map(|_| &first[8..])?;
    let (blank, body) = rest.split_once('\n').unwrap_or((rest, ""));
    if !blank.trim().is_empty() {
        return None;
    }
    Some((subject.trim().to_string(), format!("\n\n{body}")))
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, NaiveDate, TimeZone};

    use super::*;
    use crate::core::id::TicketId;
    use crate::core::ticket::{
        Attachment, Channel, LogEntry, LogKind, ProblemType, Requester, Resolution, Status, Timers,
        Urgency, UrgencyLowered,
    };

    fn utc(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2023, 10, 1, h, m, 0).unwrap()
    }

    /// A software ticket of 张三, resolved by 李四 and rated 4 stars; times are UTC, the
    /// default calendar is Asia/Shanghai (+8).
    fn sample_ticket() -> Ticket {
        let date = NaiveDate::from_ymd_opt(2023, 10, 1).unwrap();
        let cst = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        Ticket {
            copied: Vec::new(),
            contacts: Vec::new(),
            erased_at: None,
            id: TicketId::new(date, 1),
            status: Status::Resolved,
            problem_type: ProblemType::Software,
            urgency: Urgency::High,
            channel: Channel::Email,
            requester: Requester {
                name: Some("张三".into()),
                email: Some("zhangsan@example.com".into()),
                chat_user: None,
                department: Some("销售部".into()),
                contact: Some("ext 8001".into()),
            },
            subject: "CRM 登录报错".into(),
            source_message_id: Some("<abc@example.com>".into()),
            description:
                "10:00 登录 CRM 提示“数据库连接超时”。\n重启浏览器无效。\n同组其他人也一样。".into(),
            expected_time: Some("2小时内".into()),
            group: "软件组".into(),
            assignee: Some("李四".into()),
            created_at: utc(2, 0),
            request_date: date,
            ack_due: utc(3, 0),
            acknowledged_at: Some(utc(2, 10)),
            eta: utc(10, 0),
            revised_eta: None,
            urgency_lowered: Some(UrgencyLowered {
                from: Urgency::Urgent,
                cue: "不影响工作".into(),
            }),
            sla_start: utc(2, 0),
            paused_minutes: 0,
            paused_since: None,
            log: vec![
                LogEntry {
                    at: utc(2, 15).with_timezone(&cst),
                    actor: "李四".into(),
                    kind: LogKind::Step,
                    text: "远程连接，发现数据库负载 90%".into(),
                    public: true,
                },
                LogEntry {
                    at: utc(2, 20).with_timezone(&cst),
                    actor: "李四".into(),
                    kind: LogKind::Note,
                    text: "internal: vendor ticket 4711".into(),
                    public: false,
                },
            ],
            resolution: Some(Resolution {
                by: "李四".into(),
                at: utc(3, 0),
                fix: "重建了 CRM 数据库索引".into(),
            }),
            resolved_at: Some(utc(3, 0)),
            confirmation: None,
            rating: Some(Rating {
                stars: 4,
                remark: Some("很快，谢谢".into()),
            }),
            closed_at: None,
            close_reason: Some(CloseReason::Confirmed),
            attachments: vec![Attachment {
                name: "error.png".into(),
                content_type: "image/png".into(),
                size: 2 * 1024 * 1024 + 300 * 1024,
                sha256: "ab".repeat(32),
            }],
            remarks: vec![],
            lang: Lang::ZhCn,
            reopen_count: 0,
            clarify_asked: false,
            escalated: false,
            related: None,
            timers: Timers {
                auto_close: Some(utc(3, 0) + chrono::Duration::days(3)),
                ..Timers::default()
            },
        }
    }

    /// The same ticket just opened: nothing optional is set.
    fn bare_ticket() -> Ticket {
        Ticket {
            status: Status::New,
            assignee: None,
            log: vec![],
            resolution: None,
            resolved_at: None,
            rating: None,
            close_reason: None,
            attachments: vec![],
            requester: Requester {
                email: Some("someone@example.com".into()),
                ..Requester::default()
            },
            timers: Timers::default(),
            urgency_lowered: None,
            ..sample_ticket()
        }
    }

    fn ctx(
        ticket: &Ticket,
        kind: NoticeKind,
        lang: Lang,
        text: Option<&str>,
        actor: Option<&str>,
    ) -> NoticeContext {
        let digest = (kind == NoticeKind::Digest).then(|| {
            serde_json::json!({
                "period": "weekly", "from": "2023-09-25", "to": "2023-10-01",
                "opened": 42, "closed": 40, "open_now": 5, "breached": 2,
                "median_resolution": "5 h 10 min",
                "satisfaction": { "average": "4.6", "rated": 30 },
                "by_type": [{ "label": "软件异常", "count": 12 }, { "label": "网络问题", "count": 9 }],
                "recurring": [{ "label": "VPN 断线", "count": 4 }],
            })
        });
        NoticeContext {
            helpdesk: HelpdeskInfo {
                name: "IT 服务台".into(),
                address: "helpdesk@example.com".into(),
                on_duty_phone: Some("8000".into()),
            },
            ticket: (kind != NoticeKind::Digest)
                .then(|| TicketView::new(ticket, lang, &Calendar::default())),
            notice: NoticeView {
                kind: kind.template().into(),
                text: text.map(Into::into),
                actor: actor.map(Into::into),
            },
            digest,
        }
    }

    fn render(r: &Renderer, kind: NoticeKind, lang: Lang, text: Option<&str>) -> Rendered {
        r.render(
            kind,
            lang,
            &ctx(&sample_ticket(), kind, lang, text, Some("李四")),
        )
        .unwrap_or_else(|e| panic!("{kind:?} {lang:?}: {e}"))
    }

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn a_staff_update_says_in_its_language_that_the_ticket_was_escalated() {
        let r = Renderer::new(None).unwrap();
        let mut ticket = sample_ticket();
        ticket.status = Status::Escalated;
        for (lang, says) in [
            (Lang::ZhCn, "该服务单已升级"),
            (Lang::En, "The ticket was escalated"),
        ] {
            let kind = NoticeKind::StaffUpdate;
            let out = r
                .render(
                    kind,
                    lang,
                    &ctx(&ticket, kind, lang, Some("核心交换机故障"), Some("李四")),
                )
                .unwrap();
            assert!(out.body.contains(says), "{lang:?}:\n{}", out.body);
            assert!(out.body.contains("核心交换机故障") && out.body.contains("李四"));
        }
    }

    #[test]
    fn every_kind_renders_in_both_languages_with_and_without_optional_fields() {
        let r = Renderer::new(None).unwrap();
        for ticket in [sample_ticket(), bare_ticket()] {
            for lang in LANGS {
                for &kind in NoticeKind::ALL {
                    for (text, actor) in [(Some("一段说明"), Some("李四")), (None, None)] {
                        let out = r
                            .render(kind, lang, &ctx(&ticket, kind, lang, text, actor))
                            .unwrap_or_else(|e| panic!("{kind:?} {lang:?}: {e}"));
                        let what = format!("{kind:?} {lang:?}:\n{}\n\n{}", out.subject, out.body);
                        assert!(
                            !out.subject.is_empty() && !out.subject.contains('\n'),
                            "{what}"
                        );
                        // Digest and alert are about no single ticket.
                        if !matches!(kind, NoticeKind::Digest | NoticeKind::Alert) {
                            assert!(out.subject.contains("[IT20231001001]"), "{what}");
                            assert!(out.body.contains("IT20231001001"), "{what}");
                        }
                        assert!(
                            out.body.ends_with('\n') && !out.body.ends_with("\n\n"),
                            "{what}"
                        );
                        assert!(!out.body.starts_with(char::is_whitespace), "{what}");
                        assert!(!out.body.contains("\n\n\n"), "blank-line run in {what}");
                        // An unguarded `Option` prints as "none".
                        assert!(
                            !out.subject.contains("none") && !out.body.contains("none"),
                            "{what}"
                        );
                        assert!(
                            out.body.contains("IT 服务台"),
                            "signature missing in {what}"
                        );
                    }
                }
            }
        }
    }

    /// Before the breach the requester hears why and a new ETA; the group
    /// still sees the target.
    #[test]
    fn a_delay_tells_the_requester_why_and_the_new_eta() {
        let r = Renderer::new(None).unwrap();
        let ticket = Ticket {
            status: Status::InProgress,
            revised_eta: Some(utc(12, 0) + chrono::Duration::hours(24)),
            ..sample_ticket()
        };
        for (lang, says) in [
            (
                Lang::ZhCn,
                [
                    "原定时间（2023-10-01 18:00）",
                    "原因：排查和修复问题所需的时间超出了预期",
                    "新的预计完成时间：2023-10-02 20:00",
                ],
            ),
            (
                Lang::En,
                [
                    "by 2023-10-01 18:00",
                    "Reason: finding and fixing the cause",
                    "New estimated completion: 2023-10-02 20:00",
                ],
            ),
        ] {
            let kind = NoticeKind::Delayed;
            let out = r
                .render(kind, lang, &ctx(&ticket, kind, lang, None, None))
                .unwrap();
            for needle in says {
                assert!(
                    out.body.contains(needle),
                    "{needle:?} missing:\n{}",
                    out.body
                );
            }
            let kind = NoticeKind::BreachWarning;
            let staff = r
                .render(kind, lang, &ctx(&ticket, kind, lang, None, None))
                .unwrap();
            assert!(
                staff.subject.contains("2023-10-01 18:00"),
                "{}",
                staff.subject
            );
            assert!(staff.body.contains("2023-10-02 20:00"), "{}", staff.body);
        }
        let unstarted = Ticket {
            status: Status::New,
            ..ticket
        };
        let out = render_ticket(&r, &unstarted, NoticeKind::Delayed, Lang::ZhCn);
        assert!(out.body.contains("尚未开始处理"), "{}", out.body);
    }

    #[test]
    fn a_lowered_urgency_is_said_in_the_acceptance() {
        let r = Renderer::new(None).unwrap();
        let ticket = Ticket {
            urgency: Urgency::Low,
            ..sample_ticket()
        };
        let zh = render_ticket(&r, &ticket, NoticeKind::Accepted, Lang::ZhCn);
        assert!(
            zh.body
                .contains("您标注的紧急程度为“紧急”，但您在描述中提到“不影响工作”，因此按“低”处理"),
            "{}",
            zh.body
        );
        let en = render_ticket(&r, &ticket, NoticeKind::Accepted, Lang::En);
        assert!(
            en.body.contains(
                "You marked it Urgent, but you wrote \"不影响工作\", so we set the urgency to Low"
            ),
            "{}",
            en.body
        );
        let plain = Ticket {
            urgency_lowered: None,
            ..ticket
        };
        let zh = render_ticket(&r, &plain, NoticeKind::Accepted, Lang::ZhCn);
        assert!(!zh.body.contains("您标注的紧急程度"), "{}", zh.body);
    }

    fn render_ticket(r: &Renderer, ticket: &Ticket, kind: NoticeKind, lang: Lang) -> Rendered {
        r.render(kind, lang, &ctx(ticket, kind, lang, None, None))
            .unwrap()
    }

    #[test]
    fn chinese_accepted_notice_has_every_field() {
        let r = Renderer::new(None).unwrap();
        let out = render(
            &r,
            NoticeKind::Accepted,
            Lang::ZhCn,
            Some("附件 video.mp4 超过 20 MB，未保存"),
        );
        assert!(
            out.subject.starts_with("[IT20231001001]"),
            "{}",
            out.subject
        );
        assert!(out.subject.contains("服务单已受理"));
        for want in [
            "服务单已受理",
            "IT20231001001",
            "软件异常",
            "紧急程度：高",
            "软件组",
            "李四",
            "预计完成时间：2023-10-01 18:00",
            "error.png (2.3 MB)",
            "附件 video.mp4 超过 20 MB，未保存",
        ] {
            assert!(out.body.contains(want), "{want:?} missing:\n{}", out.body);
        }
    }

    #[test]
    fn english_accepted_notice_uses_english_labels() {
        let r = Renderer::new(None).unwrap();
        let out = render(&r, NoticeKind::Accepted, Lang::En, None);
        assert!(out.subject.contains("accepted"), "{}", out.subject);
        for want in [
            "Software issue",
            "Urgency:              High",
            "2023-10-01 18:00",
            "keep [IT20231001001]",
        ] {
            assert!(out.body.contains(want), "{want:?} missing:\n{}", out.body);
        }
        assert!(
            !out.body.contains("Please note"),
            "no notice text, no note:\n{}",
            out.body
        );
    }

    #[test]
    fn an_urgent_ticket_tells_the_requester_the_number_to_call() {
        let r = Renderer::new(None).unwrap();
        let mut urgent = sample_ticket();
        urgent.urgency = Urgency::Urgent;
        for (lang, want) in [
            (Lang::ZhCn, "致电值班技术人员：8000"),
            (Lang::En, "on-duty technician: 8000"),
        ] {
            let kind = NoticeKind::Accepted;
            let out = r
                .render(kind, lang, &ctx(&urgent, kind, lang, None, None))
                .unwrap();
            assert!(out.body.contains(want), "{lang:?}:\n{}", out.body);
            let high = render(&r, kind, lang, None);
            assert!(
                !high.body.contains("8000"),
                "only when urgent:\n{}",
                high.body
            );
        }
    }

    #[test]
    fn progress_shows_only_the_latest_public_log_entry() {
        let r = Renderer::new(None).unwrap();
        let out = render(&r, NoticeKind::Progress, Lang::ZhCn, None);
        assert!(out.body.contains("2023-10-01 10:15，李四"), "{}", out.body);
        assert!(out.body.contains("远程连接，发现数据库负载 90%"));
        assert!(
            !out.body.contains("vendor ticket"),
            "internal note leaked:\n{}",
            out.body
        );
    }

    #[test]
    fn relay_shows_message_and_sender() {
        let r = Renderer::new(None).unwrap();
        let out = render(
            &r,
            NoticeKind::Relay,
            Lang::En,
            Some("Please restart your PC and try again."),
        );
        assert!(
            out.body.contains("Please restart your PC and try again."),
            "{}",
            out.body
        );
        assert!(out.body.contains("李四"));
        assert!(out.subject.contains("李四"));
    }

    #[test]
    fn rating_thanks_shows_stars_and_remark() {
        let r = Renderer::new(None).unwrap();
        for lang in LANGS {
            let out = render(&r, NoticeKind::RatingThanks, lang, None);
            assert!(out.body.contains("★★★★☆"), "{}", out.body);
            assert!(out.body.contains("很快，谢谢"));
        }
    }

    #[test]
    fn confirm_reminder_says_when_the_ticket_closes() {
        let r = Renderer::new(None).unwrap();
        let out = render(&r, NoticeKind::ConfirmReminder, Lang::ZhCn, None);
        assert!(
            out.body.contains("2023-10-04 11:00 自动关闭"),
            "{}",
            out.body
        );
    }

    #[test]
    fn closed_notice_tells_confirmation_from_timeout() {
        let r = Renderer::new(None).unwrap();
        let close = |reason, lang| {
            let ticket = Ticket {
                close_reason: Some(reason),
                status: Status::Closed,
                ..sample_ticket()
            };
            r.render(
                NoticeKind::Closed,
                lang,
                &ctx(&ticket, NoticeKind::Closed, lang, None, None),
            )
            .unwrap()
            .body
        };
        assert!(close(CloseReason::Confirmed, Lang::En).contains("Thank you for confirming"));
        assert!(close(CloseReason::NoAnswer, Lang::En).contains("without confirmation"));
        assert!(close(CloseReason::ClosedByStaff, Lang::En).contains("by our staff"));
        assert!(close(CloseReason::NoAnswer, Lang::ZhCn).contains("未经确认"));
    }

    #[test]
    fn urgent_page_cuts_long_descriptions() {
        let r = Renderer::new(None).unwrap();
        let description = (1..=20)
            .map(|i| format!("line {i}"))
            .collect::<Vec<_>>()
            .join("\n");
        let ticket = Ticket {
            urgency: Urgency::Urgent,
            description,
            ..sample_ticket()
        };
        let out = r
            .render(
                NoticeKind::UrgentPage,
                Lang::En,
                &ctx(&ticket, NoticeKind::UrgentPage, Lang::En, None, None),
            )
            .unwrap();
        assert!(out.body.contains("URGENT"));
        assert!(out.body.contains("line 8 …"), "{}", out.body);
        assert!(!out.body.contains("line 9"));
        assert!(out.body.contains("ext 8001"));
    }

    #[test]
    fn subject_is_one_line_even_if_the_ticket_subject_is_not() {
        let r = Renderer::new(None).unwrap();
        let ticket = Ticket {
            subject: "printer\r\n  broken".into(),
            ..sample_ticket()
        };
        let out = r
            .render(
                NoticeKind::Progress,
                Lang::En,
                &ctx(&ticket, NoticeKind::Progress, Lang::En, None, None),
            )
            .unwrap();
        assert_eq!(
            out.subject,
            "[IT20231001001] Progress update: printer broken"
        );
    }

    #[test]
    fn digest_renders_the_statistics() {
        let r = Renderer::new(None).unwrap();
        let out = render(&r, NoticeKind::Digest, Lang::ZhCn, None);
        assert!(
            out.subject.contains("周报 2023-09-25 至 2023-10-01"),
            "{}",
            out.subject
        );
        for want in [
            "新建服务单：42",
            "软件异常：12",
            "VPN 断线：4 次",
            "平均 4.6 星",
        ] {
            assert!(out.body.contains(want), "{want:?} missing:\n{}", out.body);
        }
        assert!(
            !out.body.contains("按紧急程度"),
            "absent section shown:\n{}",
            out.body
        );
    }

    #[test]
    fn override_dir_replaces_one_template_only() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "en/accepted.txt",
            "Subject: Got it [{{ ticket.id }}]\r\n\r\nHi {{ ticket.requester_name }}!\r\n",
        );
        let r = Renderer::new(Some(dir.path())).unwrap();
        let out = render(&r, NoticeKind::Accepted, Lang::En, None);
        assert_eq!(
            out,
            Rendered {
                subject: "Got it [IT20231001001]".into(),
                body: "Hi 张三!\n".into()
            }
        );
        let zh = render(&r, NoticeKind::Accepted, Lang::ZhCn, None);
        assert!(
            zh.body.contains("服务单已受理"),
            "built-in zh-CN kept:\n{}",
            zh.body
        );
    }

    #[test]
    fn broken_override_fails_at_start_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "zh-CN/progress.txt",
            "Subject: [{{ ticket.id }}]\n\nline 3\n{{ ticket.id | }}\n",
        );
        let err = Renderer::new(Some(dir.path())).unwrap_err().to_string();
        assert!(
            err.contains(&dir.path().join("zh-CN/progress.txt").display().to_string()),
            "{err}"
        );
        assert!(
            err.contains("progress.txt:4"),
            "line number should match the file: {err}"
        );
    }

    #[test]
    fn override_using_an_unknown_variable_fails_when_rendering_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "en/relay.txt",
            "Subject: [{{ ticket.id }}]\n\n{{ ticket.no_such_field }}\n",
        );
        let r = Renderer::new(Some(dir.path())).unwrap();
        let err = r
            .render(
                NoticeKind::Relay,
                Lang::En,
                &ctx(&sample_ticket(), NoticeKind::Relay, Lang::En, None, None),
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("en/relay.txt"), "{err}");
        assert!(err.contains("undefined"), "{err}");
    }

    #[test]
    fn template_without_subject_line_is_refused_naming_the_file() {
        for text in [
            "Hello {{ ticket.id }}\n\nbody\n",
            "Subject: x\nbody right away\n",
            "Subject: only",
        ] {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), "en/closed.txt", text);
            let err = Renderer::new(Some(dir.path())).unwrap_err();
            assert!(
                matches!(err, RenderError::NoSubject { .. }),
                "{text:?}: {err}"
            );
            assert!(err.to_string().contains("en/closed.txt"), "{err}");
        }
    }

    #[test]
    fn subject_line_parsing() {
        assert_eq!(
            split_subject("\u{feff}subject:  Hi {{ x }} \r\n\r\nbody\r\n"),
            Some(("Hi {{ x }}".to_string(), "\n\nbody\n".to_string()))
        );
        assert_eq!(
            split_subject("Subject: Hi\n\n"),
            Some(("Hi".to_string(), "\n\n".to_string()))
        );
        assert_eq!(split_subject("Subj: Hi\n\nbody"), None);
        assert_eq!(split_subject("主题: Hi\n\nbody"), None);
    }

    #[test]
    fn unreadable_override_dir_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = Renderer::new(Some(&missing)).unwrap_err();
        assert!(matches!(err, RenderError::OverrideDir { .. }));
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn every_builtin_file_belongs_to_a_kind() {
        for (path, _) in BUILTIN {
            let known = LANGS.iter().any(|&lang| {
                NoticeKind::ALL
                    .iter()
                    .any(|&kind| relative_path(lang, kind) == *path)
            });
            assert!(known, "{path} is compiled in but no NoticeKind uses it");
        }
        assert_eq!(BUILTIN.len(), LANGS.len() * NoticeKind::ALL.len());
    }

    #[test]
    fn head_and_sizes() {
        assert_eq!(head("a\nb\nc", 2), "a\nb …");
        assert_eq!(head(" a\nb \n", 2), "a\nb");
        assert_eq!(head(&"x".repeat(250), 2), format!("{} …", "x".repeat(200)));
        assert_eq!(human_size(800), "800 B");
        assert_eq!(human_size(1500), "2 KB");
        assert_eq!(human_size(5 * 1024 * 1024), "5.0 MB");
    }
}
