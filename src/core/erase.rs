//! Forgetting a ticket's personal data (PIPL, GDPR): what is left is what the
//! statistics need — the ID, type, urgency, channel, group, handler, status,
//! every time stamp, the rating's stars and the log's shape (kinds, times,
//! staff names) — and nothing that names or describes the requester.
//!
//! Invariant: pure; erasing twice changes nothing more.

use chrono::{DateTime, Utc};

use super::ticket::{LogKind, Requester, Ticket};

/// What stands where personal data was.
pub const ERASED: &str = "[erased]";

/// The ticket with its personal data gone; `now` is recorded as `erased_at`.
pub fn anonymize(t: &Ticket, now: DateTime<Utc>) -> Ticket {
    let mut a = t.clone();
    // Words that name the requester or the people they copied, wherever
    // staff wrote them into an actor ("李四 (for 张三)").
    let mut names: Vec<String> = [
        &t.requester.name,
        &t.requester.email,
        &t.requester.chat_user,
    ]
    .into_iter()
    .flatten()
    .cloned()
    .chain(t.copied.iter().cloned())
    .filter(|n| !n.is_empty())
    .collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    a.requester = Requester {
        name: Some(ERASED.into()),
        ..Requester::default()
    };
    a.subject = ERASED.into();
    a.description = String::new();
    a.source_message_id = None;
    a.expected_time = None;
    for e in &mut a.log {
        e.text = String::new();
        let by_someone_outside = matches!(
            e.kind,
            LogKind::Created
                | LogKind::RequesterMessage
                | LogKind::ThirdParty
                | LogKind::Confirmed
                | LogKind::Rejected
                | LogKind::Rated
                | LogKind::Bounce
        );
        if by_someone_outside {
            e.actor = ERASED.into();
        } else {
            for n in &names {
                e.actor = e.actor.replace(n.as_str(), ERASED);
            }
        }
    }
    if let Some(r) = &mut a.resolution {
        r.fix = ERASED.into();
    }
    if let Some(c) = &mut a.confirmation {
        c.by = ERASED.into();
        c.text = String::new();
    }
    if let Some(r) = &mut a.rating {
        r.remark = None;
    }
    a.attachments.clear();
    a.remarks.clear();
    a.copied.clear();
    a.erased_at = Some(t.erased_at.unwrap_or(now));
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::id::TicketId;
    use crate::core::lifecycle::{apply, open, Action, NewTicket, ReplyIntent};
    use crate::core::sla::Policy;
    use crate::core::ticket::{Attachment, Channel, Lang, ProblemType, Status, Urgency};

    #[test]
    fn nothing_personal_is_left_and_the_statistics_still_are() {
        let p = Policy::default();
        let now = "2023-10-09T02:00:00Z".parse().unwrap();
        let new = NewTicket {
            copied: vec!["bob@example.com".into()],
            channel: Channel::Email,
            requester: Requester {
                name: Some("张三".into()),
                email: Some("zhangsan@example.com".into()),
                department: Some("销售部".into()),
                contact: Some("分机 8001".into()),
                chat_user: None,
            },
            subject: "CRM 登录超时".into(),
            description: "我的猫叫咪咪，密码写在便签上".into(),
            source_message_id: Some("m1@example.com".into()),
            problem_type: ProblemType::Software,
            urgency: Urgency::High,
            urgency_lowered: None,
            expected_time: Some("2小时内".into()),
            group: "software".into(),
            lang: Lang::ZhCn,
            attachments: vec![Attachment {
                name: "张三的截图.png".into(),
                content_type: "image/png".into(),
                size: 3,
                sha256: "ab".into(),
            }],
            vague: false,
            warnings: Vec::new(),
            related: None,
        };
        let id = TicketId::new(chrono::NaiveDate::from_ymd_opt(2023, 10, 9).unwrap(), 1);
        let (mut t, _) = open(id, new, now, &p);
        let resolve = Action::Resolve {
            by: "李四".into(),
            fix: "给张三重置了密码".into(),
        };
        apply(&mut t, resolve, now, &p).unwrap();
        let answer = Action::AnswerForRequester {
            by: "李四".into(),
            intent: ReplyIntent::Confirm {
                stars: Some(4),
                remark: Some("张三很满意".into()),
            },
            text: "好了".into(),
        };
        apply(&mut t, answer, now, &p).unwrap();
        let later = "2024-10-10T02:00:00Z".parse().unwrap();
        let a = anonymize(&t, later);
        let text = serde_json::to_string(&a).unwrap();
        for secret in [
            "张三",
            "zhangsan",
            "bob@",
            "销售部",
            "8001",
            "咪咪",
            "便签",
            "截图",
            "m1@example",
            "2小时内",
        ] {
            assert!(!text.contains(secret), "{secret} left in {text}");
        }
        assert_eq!(a.status, Status::Closed);
        assert_eq!(a.rating.as_ref().unwrap().stars, 4);
        assert_eq!((a.problem_type, a.urgency), (t.problem_type, t.urgency));
        assert_eq!((a.created_at, a.closed_at), (t.created_at, t.closed_at));
        assert_eq!(a.log.len(), t.log.len());
        assert!(a.log.iter().any(|e| e.actor == "李四"), "staff names stay");
        assert_eq!(a.erased_at, Some(later));
        assert_eq!(anonymize(&a, now), a, "erasing twice changes nothing more");
    }
}
