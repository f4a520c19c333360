//! The archived record of a ticket as readable Markdown, in the field order of
//! the helpdesk's own form (SPEC §2), with the Chinese and English field names.
//!
//! Invariant: pure formatting of what the ticket holds; it invents nothing (an
//! empty field says so).

use std::fmt::Write as _;

use crate::core::calendar::Calendar;
use crate::core::ticket::{CloseReason, Lang, Status, Ticket};

pub fn markdown(t: &Ticket, cal: &Calendar) -> String {
    let none = "—".to_string();
    let r = &t.requester;
    let requester = [
        r.name.clone(),
        r.department.clone(),
        r.contact.clone(),
        r.email.clone(),
        r.chat_user.as_ref().map(|c| format!("chat {c}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("; ");
    // Every labelled value is shown in both languages, Chinese first.
    macro_rules! both {
        ($v:expr) => {{
            let v = $v;
            format!("{} / {}", v.label(Lang::ZhCn), v.label(Lang::En))
        }};
    }
    let result = both!(match t.status {
        Status::Resolved | Status::Closed => Status::Resolved,
        Status::Escalated => Status::Escalated,
        _ => Status::InProgress,
    });
    let confirmation = match (&t.confirmation, t.close_reason) {
        (Some(c), _) => format!("{}, {}: {}", c.by, c.date, c.text),
        (None, Some(CloseReason::NoAnswer)) => {
            "closed without confirmation (no answer) / 未确认，超时关闭".into()
        }
        _ => none.clone(),
    };
    let rating = t.rating.as_ref().map(|x| match &x.remark {
        Some(remark) => format!("{} ({}/5) — {remark}", x.stars_text(), x.stars),
        None => format!("{} ({}/5)", x.stars_text(), x.stars),
    });

    let mut out = format!("# 服务单 {} — {}\n\n", t.id, t.subject);
    let mut field = |zh: &str, en: &str, value: String| {
        let _ = writeln!(out, "- **{zh} / {en}**: {value}");
    };
    field("服务单编号", "Ticket ID", t.id.to_string());
    field("申请日期", "Request date", t.request_date.to_string());
    field(
        "申请人信息",
        "Requester",
        if requester.is_empty() {
            none.clone()
        } else {
            requester
        },
    );
    field("问题类型", "Problem type", both!(t.problem_type));
    field("紧急程度", "Urgency", both!(t.urgency));
    field(
        "期望解决时间",
        "Expected time",
        t.expected_time.clone().unwrap_or_else(|| none.clone()),
    );
    field(
        "处理人员",
        "Handler",
        format!(
            "{} ({})",
            t.assignee.clone().unwrap_or_else(|| none.clone()),
            t.group
        ),
    );
    field("预计完成时间", "ETA", cal.format_local(t.eta));
    field("解决结果", "Result", result);
    field("申请人确认", "Requester confirmation", confirmation);
    field(
        "满意度评价",
        "Satisfaction",
        rating.unwrap_or_else(|| none.clone()),
    );
    field("状态", "Status", both!(t.status));

    let _ = write!(
        out,
        "\n## 问题描述 / Description\n\n{}\n",
        t.description.trim()
    );
    if !t.attachments.is_empty() {
        let _ = writeln!(out, "\nAttachments / 附件:");
        for a in &t.attachments {
            let _ = writeln!(
                out,
                "- {} ({}, {} bytes, sha256 {})",
                a.name,
                a.content_type,
                a.size,
                &a.sha256[..12.min(a.sha256.len())]
            );
        }
    }
    let _ = writeln!(out, "\n## 处理过程 / Handling log\n");
    for e in &t.log {
        let visibility = if e.public { "" } else { " *(internal)*" };
        let _ = writeln!(
            out,
            "- {} **{}** {:?}{visibility}: {}",
            e.at.format("%Y-%m-%d %H:%M"),
            e.actor,
            e.kind,
            e.text.replace('\n', " ")
        );
    }
    if let Some(res) = &t.resolution {
        let _ = write!(
            out,
            "\n## 解决方案 / Fix\n\n{} ({}, {})\n",
            res.fix.trim(),
            res.by,
            cal.format_local(res.at)
        );
    }
    if !t.remarks.is_empty() || t.related.is_some() {
        let _ = writeln!(out, "\n## 备注 / Remarks\n");
        for remark in &t.remarks {
            let _ = writeln!(out, "- {remark}");
        }
        if let Some(related) = &t.related {
            let _ = writeln!(out, "- continues {related}");
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
        let md = markdown(&t, &p.calendar);
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
            "高 / High",
            "2小时内",
            "已解决 / Resolved",
            "已恢复正常 4星 很快",
            "★★★★☆ (4/5) — 很快",
            "重建索引",
        ] {
            assert!(md.contains(expected), "{expected:?} missing:\n{md}");
        }
    }
}
