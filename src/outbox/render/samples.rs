//! Sample tickets and notice contexts: what `check-config` renders every
//! template against (so a misspelt variable fails there, not when a notice is
//! sent), what `itdesk templates preview` shows without `--ticket`, and the
//! renderer's test fixtures.
//!
//! Invariant: between them the samples set every optional field and leave
//! every optional field unset, and the digest sample has every key
//! `stats::digest::context` can produce (a test holds it to that).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};

use super::{HelpdeskInfo, NoticeContext, NoticeView, TicketView, LANGS};
use crate::core::calendar::Calendar;
use crate::core::effect::NoticeKind;
use crate::core::id::TicketId;
use crate::core::ticket::{
    Attachment, Channel, CloseReason, Lang, LogEntry, LogKind, ProblemType, Rating, Requester,
    Resolution, Status, Ticket, Timers, Urgency, UrgencyLowered,
};

pub fn utc(h: u32, m: u32) -> DateTime<Utc> {
    // Invariant: callers pass literal hours and minutes of a day.
    Utc.with_ymd_and_hms(2023, 10, 1, h, m, 0)
        .single()
        .expect("a valid time of day")
}

/// A software ticket of 张三, resolved by 李四 and rated 4 stars; times are UTC, the
/// default calendar is Asia/Shanghai (+8).
pub fn sample_ticket() -> Ticket {
    // Invariant: constants, valid.
    let date = NaiveDate::from_ymd_opt(2023, 10, 1).expect("a valid date");
    let cst = chrono::FixedOffset::east_opt(8 * 3600).expect("a valid offset");
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
        description: "10:00 登录 CRM 提示“数据库连接超时”。\n重启浏览器无效。\n同组其他人也一样。"
            .into(),
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
        known_fix: None,
        timers: Timers {
            auto_close: Some(utc(3, 0) + chrono::Duration::days(3)),
            ..Timers::default()
        },
    }
}

/// The same ticket just opened: nothing optional is set.
pub fn bare_ticket() -> Ticket {
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

/// Every optional field set: the sample that names every variable a template may use.
pub fn full_ticket() -> Ticket {
    Ticket {
        related: Some(TicketId::new(
            // Invariant: a constant, valid date.
            NaiveDate::from_ymd_opt(2023, 9, 28).expect("a valid date"),
            7,
        )),
        known_fix: Some("重启电脑后重新连接 VPN".into()),
        ..sample_ticket()
    }
}

/// The tickets templates are checked against: every status, urgent and not,
/// every close reason, all optional fields set and none.
pub fn check_tickets() -> Vec<Ticket> {
    let mut tickets = vec![full_ticket(), bare_ticket()];
    for status in Status::ALL {
        tickets.push(Ticket {
            status: *status,
            ..full_ticket()
        });
        tickets.push(Ticket {
            status: *status,
            urgency: Urgency::Urgent,
            ..bare_ticket()
        });
    }
    for reason in [
        CloseReason::Confirmed,
        CloseReason::NoAnswer,
        CloseReason::ClosedByStaff,
    ] {
        tickets.push(Ticket {
            status: Status::Closed,
            close_reason: Some(reason),
            ..full_ticket()
        });
    }
    tickets
}

/// The digest's statistics as `stats::digest::context` shapes them, every key present.
pub fn digest_sample(format: &str) -> Value {
    json!({
        "period": "weekly", "format": format, "from": "2023-09-25", "to": "2023-10-01",
        "opened": 42, "resolved": 38, "closed": 40, "open_now": 5, "breached": 2,
        "sla_met": "93 %",
        "median_resolution": "5 h 10 min",
        "satisfaction": { "average": "4.6", "rated": 30 },
        "by_type": [{ "label": "软件异常", "count": 12 }, { "label": "网络问题", "count": 9 }],
        "by_urgency": [{ "label": "高", "count": 7 }],
        "by_group": [{ "label": "软件组", "count": 20 }],
        "recurring": [{ "label": "VPN 断线", "count": 4 }],
        "no_faq": ["VPN 断线"],
    })
}

/// The same with the optional figures absent and every list empty (a quiet week).
fn quiet_digest_sample(format: &str) -> Value {
    json!({
        "period": "monthly", "format": format, "from": "2023-09-01", "to": "2023-09-30",
        "opened": 0, "resolved": 0, "closed": 0, "open_now": 0, "breached": 0,
        "sla_met": "—",
        "by_type": [], "by_urgency": [], "by_group": [], "recurring": [],
        "no_faq": [],
    })
}

pub fn helpdesk() -> HelpdeskInfo {
    HelpdeskInfo {
        name: "IT 服务台".into(),
        address: "helpdesk@example.com".into(),
        on_duty_phone: Some("8000".into()),
    }
}

/// The context a notice of `kind` about `ticket` gets (the digest's statistics for a digest).
pub fn sample_context(
    ticket: &Ticket,
    kind: NoticeKind,
    lang: Lang,
    text: Option<&str>,
    actor: Option<&str>,
) -> NoticeContext {
    NoticeContext {
        helpdesk: helpdesk(),
        ticket: (kind != NoticeKind::Digest)
            .then(|| TicketView::new(ticket, lang, &Calendar::default())),
        notice: NoticeView {
            kind: kind.template().into(),
            text: text.map(Into::into),
            actor: actor.map(Into::into),
        },
        digest: (kind == NoticeKind::Digest).then(|| digest_sample("email")),
    }
}

/// Every context the template of (`kind`, `lang`) is rendered against by `check-config`.
pub fn check_contexts(kind: NoticeKind, lang: Lang) -> Vec<NoticeContext> {
    if kind == NoticeKind::Digest {
        let base = sample_context(&full_ticket(), kind, lang, None, None);
        let mut quiet_helpdesk = helpdesk();
        quiet_helpdesk.on_duty_phone = None;
        return ["email", "chat"]
            .into_iter()
            .flat_map(|format| [digest_sample(format), quiet_digest_sample(format)])
            .map(|digest| NoticeContext {
                digest: Some(digest),
                helpdesk: quiet_helpdesk.clone(),
                ..base.clone()
            })
            .chain([base.clone()])
            .collect();
    }
    let mut out = Vec::new();
    for ticket in check_tickets() {
        for (text, actor) in [(Some("一段说明 / a note"), Some("李四")), (None, None)] {
            let mut ctx = sample_context(&ticket, kind, lang, text, actor);
            if text.is_none() {
                ctx.helpdesk.on_duty_phone = None;
            }
            out.push(ctx);
        }
    }
    // An operational alert is about no ticket.
    if kind == NoticeKind::Alert {
        let mut ctx = sample_context(&full_ticket(), kind, lang, Some("IMAP down"), None);
        ctx.ticket = None;
        out.push(ctx);
    }
    out
}

/// Every (language, kind) a template exists for.
pub fn every_template() -> impl Iterator<Item = (Lang, NoticeKind)> {
    LANGS
        .into_iter()
        .flat_map(|lang| NoticeKind::ALL.iter().map(move |&kind| (lang, kind)))
}
