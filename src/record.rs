//! The archived record of a ticket as readable Markdown, in the field order of
//! the helpdesk's own form (SPEC §2), in the staff's language.
//!
//! Invariant: pure formatting of what the ticket holds; it invents nothing (an
//! empty field says so).

use std::fmt::Write as _;

use crate::core::calendar::Calendar;
use crate::core::ticket::{CloseReason, Lang, LogKind, Status, Ticket};

/// The record's own words: field names, headings, the log's kinds.
struct Labels {
    fields: [&'static str; 13],
    description: &'static str,
    attachments: &'static str,
    bytes: &'static str,
    log: &'static str,
    internal: &'static str,
    fix: &'static str,
    remarks: &'static str,
    continues: &'static str,
    no_answer: &'static str,
    title: &'static str,
}

const EN: Labels = Labels {
    fields: [
        "Ticket ID",
        "Request date",
        "Requester",
        "Problem type",
        "Urgency",
        "Expected time",
        "Handler",
        "ETA",
        "Result",
        "Requester confirmation",
        "Satisfaction",
        "Status",
        "Chat",
    ],
    description: "Description",
    attachments: "Attachments",
    bytes: "bytes",
    log: "Handling log",
    internal: "internal",
    fix: "Fix",
    remarks: "Remarks",
    continues: "continues",
    no_answer: "closed without confirmation (no answer)",
    title: "Ticket",
};

const ZH: Labels = Labels {
    fields: [
        "服务单编号",
        "申请日期",
        "申请人信息",
        "问题类型",
        "紧急程度",
        "期望解决时间",
        "处理人员",
        "预计完成时间",
        "解决结果",
        "申请人确认",
        "满意度评价",
        "状态",
        "聊天",
    ],
    description: "问题描述",
    attachments: "附件",
    bytes: "字节",
    log: "处理过程",
    internal: "内部",
    fix: "解决方案",
    remarks: "备注",
    continues: "接续",
    no_answer: "未确认，超时关闭",
    title: "服务单",
};

/// What a handling-log entry records, as the record names it.
pub fn log_kind_label(kind: LogKind, lang: Lang) -> &'static str {
    let (en, zh) = match kind {
        LogKind::Created => ("created", "提交"),
        LogKind::Acknowledged => ("acknowledged", "受理"),
        LogKind::Assigned => ("assigned", "指派"),
        LogKind::Step => ("step", "处理步骤"),
        LogKind::Note => ("note", "内部备注"),
        LogKind::Relayed => ("message to requester", "回复申请人"),
        LogKind::RequesterMessage => ("requester wrote", "申请人留言"),
        LogKind::WaitingOnRequester => ("asked the requester", "询问申请人"),
        LogKind::UrgencyChanged => ("urgency changed", "紧急程度调整"),
        LogKind::TypeChanged => ("type changed", "问题类型调整"),
        LogKind::EtaChanged => ("ETA changed", "预计完成时间调整"),
        LogKind::Escalated => ("escalated", "升级处理"),
        LogKind::Resolved => ("resolved", "已解决"),
        LogKind::Confirmed => ("confirmed", "申请人确认"),
        LogKind::Rejected => ("rejected", "申请人未确认"),
        LogKind::Rated => ("rated", "评价"),
        LogKind::Reopened => ("reopened", "重新打开"),
        LogKind::Closed => ("closed", "关闭"),
        LogKind::Reminder => ("reminder", "提醒"),
        LogKind::Bounce => ("bounce", "退信"),
        LogKind::ThirdParty => ("third party", "第三方来信"),
    };
    match lang {
        Lang::En => en,
        Lang::ZhCn => zh,
    }
}

/// The record in `lang` (the staff's language): field names, headings and
/// labels from the tables above; what people wrote, as they wrote it.
pub fn markdown(t: &Ticket, cal: &Calendar, lang: Lang) -> String {
    let w = match lang {
        Lang::En => &EN,
        Lang::ZhCn => &ZH,
    };
    let none = "—".to_string();
    let r = &t.requester;
    let requester = [
        r.name.clone(),
        r.department.clone(),
        r.contact.clone(),
        r.email.clone(),
        r.chat_user
            .as_ref()
            .map(|c| format!("{} {c}", w.fields[12])),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ");
    let result = match t.status {
        Status::Resolved | Status::Closed => Status::Resolved,
        Status::Escalated => Status::Escalated,
        _ => Status::InProgress,
    }
    .label(lang);
    let confirmation = match (&t.confirmation, t.close_reason) {
        (Some(c), _) => format!("{}, {}: {}", c.by, c.date, c.text),
        (None, Some(CloseReason::NoAnswer)) => w.no_answer.into(),
        _ => none.clone(),
    };
    let rating = t.rating.as_ref().map(|x| match &x.remark {
        Some(remark) => format!("{} ({}/5) — {remark}", x.stars_text(), x.stars),
        None => format!("{} ({}/5)", x.stars_text(), x.stars),
    });

    let mut out = format!("# {} {} — {}\n\n", w.title, t.id, t.subject);
    let values = [
        t.id.to_string(),
        t.request_date.to_string(),
        if requester.is_empty() {
            none.clone()
        } else {
            requester
        },
        t.problem_type.label(lang).to_string(),
        t.urgency.label(lang).to_string(),
        t.expected_time.clone().unwrap_or_else(|| none.clone()),
        format!(
            "{} ({})",
            t.assignee.clone().unwrap_or_else(|| none.clone()),
            t.group
        ),
        cal.format_local(t.eta),
        result.to_string(),
        confirmation,
        rating.unwrap_or_else(|| none.clone()),
        t.status.label(lang).to_string(),
    ];
    for (name, value) in w.fields.iter().zip(values) {
        let _ = writeln!(out, "- **{name}**: {value}");
    }

    let _ = write!(out, "\n## {}\n\n{}\n", w.description, t.description.trim());
    if !t.attachments.is_empty() {
        let _ = writeln!(out, "\n{}:", w.attachments);
        for a in &t.attachments {
            let _ = writeln!(
                out,
                "- {} ({}, {} {}, sha256 {})",
                a.name,
                a.content_type,
                a.size,
                w.bytes,
                &a.sha256[..12.min(a.sha256.len())]
            );
        }
    }
    let _ = writeln!(out, "\n## {}\n", w.log);
    for e in &t.log {
        let visibility = if e.public {
            String::new()
        } else {
            format!(" *({})*", w.internal)
        };
        let _ = writeln!(
            out,
            "- {} **{}** {}{visibility}: {}",
            e.at.format("%Y-%m-%d %H:%M"),
            e.actor,
            log_kind_label(e.kind, lang),
            e.text.replace('\n', " ")
        );
    }
    if let Some(res) = &t.resolution {
        let _ = write!(
            out,
            "\n## {}\n\n{} ({}, {})\n",
            w.fix,
            res.fix.trim(),
            res.by,
            cal.format_local(res.at)
        );
    }
    if !t.remarks.is_empty() || t.related.is_some() {
        let _ = writeln!(out, "\n## {}\n", w.remarks);
        for remark in &t.remarks {
            let _ = writeln!(out, "- {remark}");
        }
        if let Some(related) = &t.related {
            let _ = writeln!(out, "- {} {related}", w.continues);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::core::id::TicketId;
    use crate::core::lifecycle::{apply, open, Action, NewTicket, ReplyIntent};
    use crate::core::sla::Policy;
    use crate::core::ticket::{Channel, ProblemType, Requester, Urgency};

    #[test]
    fn record_lists_the_fields_in_form_order() {
        let p = Policy::default();
        let now = Utc.with_ymd_and_hms(2023, 10, 1, 2, 0, 0).unwrap();
        let new = NewTicket {
            copied: Vec::new(),
            channel: Channel::Email,
            requester: Requester {
                name: Some("张三".into()),
                department: Some("销售部".into()),
                contact: Some("ext 8001".into()),
                ..Requester::default()
            },
            subject: "CRM 登录超时".into(),
            description: "10:00 登录CRM提示数据库连接超时".into(),
            source_message_id: None,
            problem_type: ProblemType::Software,
            urgency: Urgency::High,
            urgency_lowered: None,
            expected_time: Some("2小时内".into()),
            group: "software".into(),
            lang: Lang::ZhCn,
            attachments: Vec::new(),
            vague: false,
            warnings: Vec::new(),
            related: None,
        };
        let (mut t, _) = open(TicketId::new(now.date_naive(), 1), new, now, &p);
        apply(
            &mut t,
            Action::Resolve {
                by: "李四".into(),
                fix: "重建索引".into(),
            },
            now,
            &p,
        )
        .unwrap();
        let reply = ReplyIntent::Confirm {
            stars: Some(4),
            remark: Some("很快".into()),
        };
        apply(
            &mut t,
            Action::RequesterReply {
                intent: reply,
                text: "已恢复正常 4星 很快".into(),
            },
            now,
            &p,
        )
        .unwrap();
        let md = markdown(&t, &p.calendar, Lang::ZhCn);
        let order = [
            "服务单编号",
            "申请日期",
            "申请人信息",
            "问题类型",
            "紧急程度",
            "期望解决时间",
            "处理人员",
            "解决结果",
            "申请人确认",
            "满意度评价",
            "问题描述",
            "处理过程",
            "解决方案",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|k| md.find(k).unwrap_or_else(|| panic!("{k} missing:\n{md}")))
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "fields out of order:\n{md}"
        );
        for expected in [
            "IT20231001001",
            "2023-10-01",
            "张三; 销售部; ext 8001",
            "软件异常",
            "- **紧急程度**: 高",
            "2小时内",
            "- **解决结果**: 已解决",
            "已恢复正常 4星 很快",
            "★★★★☆ (4/5) — 很快",
            "重建索引",
        ] {
            assert!(md.contains(expected), "{expected:?} missing:\n{md}");
        }
    }
}
