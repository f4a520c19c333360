//! Status machine tests: a table of transitions, and whole ticket lives driven
//! by hand-set time (nothing sleeps).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

use super::timers::slot;
use super::{apply, open, Action, NewTicket, Refusal, ReplyIntent};
use crate::core::effect::{Audience, Effect, Notice, NoticeKind, TimerKind};
use crate::core::id::TicketId;
use crate::core::sla::Policy;
use crate::core::ticket::{
    Channel, CloseReason, Lang, LogKind, ProblemType, Rating, Requester, Status, Ticket, Timers,
    Urgency, UrgencyLowered,
};

fn at(s: &str) -> DateTime<Utc> {
    // Times in the tests are Asia/Shanghai (UTC+8) local.
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .from_local_datetime(&naive)
        .unwrap()
        .with_timezone(&Utc)
}

fn new_ticket(urgency: Urgency) -> NewTicket {
    NewTicket {
        copied: Vec::new(),
        channel: Channel::Email,
        requester: Requester {
            name: Some("张三".into()),
            email: Some("zhangsan@example.com".into()),
            ..Requester::default()
        },
        subject: "CRM 登录超时".into(),
        description: "10:00 登录CRM提示数据库连接超时".into(),
        source_message_id: Some("m1@example.com".into()),
        problem_type: ProblemType::Software,
        urgency,
        urgency_lowered: None,
        expected_time: None,
        group: "software".into(),
        lang: Lang::ZhCn,
        attachments: Vec::new(),
        vague: false,
        warnings: Vec::new(),
        related: None,
    }
}

fn open_at(urgency: Urgency, now: DateTime<Utc>) -> (Ticket, Vec<Effect>) {
    let id = TicketId::new(NaiveDate::from_ymd_opt(2023, 10, 9).unwrap(), 1);
    open(id, new_ticket(urgency), now, &Policy::default())
}

fn notices(fx: &[Effect]) -> Vec<(NoticeKind, Audience)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notify(Notice { kind, audience, .. }) => Some((*kind, *audience)),
            Effect::Wake { .. } => None,
        })
        .collect()
}

fn wakes(fx: &[Effect]) -> Vec<(TimerKind, DateTime<Utc>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Wake { kind, due } => Some((*kind, *due)),
            Effect::Notify(_) => None,
        })
        .collect()
}

fn fire(t: &mut Ticket, kind: TimerKind, now: DateTime<Utc>) -> Vec<Effect> {
    let due = *slot(&mut t.timers, kind)
        .as_ref()
        .unwrap_or_else(|| panic!("{kind:?} not armed"));
    apply(t, Action::Timer { kind, due }, now, &Policy::default()).unwrap()
}

fn by() -> String {
    "李四".into()
}

#[test]
fn opening_acknowledges_and_arms_every_sla_timer() {
    let now = at("2023-10-09 10:00"); // a Monday
    let (t, fx) = open_at(Urgency::Medium, now);
    assert_eq!(t.status, Status::New);
    assert_eq!(t.id.as_str(), "IT20231009001");
    assert_eq!(
        t.request_date,
        NaiveDate::from_ymd_opt(2023, 10, 9).unwrap()
    );
    assert_eq!(
        notices(&fx),
        vec![(NoticeKind::Accepted, Audience::Requester)]
    );
    assert_eq!(t.ack_due, now + Duration::hours(1));
    assert_eq!(t.eta, now + Duration::hours(24));
    let w = wakes(&fx);
    assert!(w.contains(&(TimerKind::AckCheck, now + Duration::hours(1))));
    assert!(w.contains(&(TimerKind::Progress, now + Duration::hours(4))));
    assert!(w.contains(&(
        TimerKind::BreachWarning,
        now + Duration::minutes(24 * 60 * 8 / 10)
    )));
    assert!(w.contains(&(TimerKind::Breach, now + Duration::hours(24))));
    assert_eq!(t.log[0].kind, LogKind::Created);
    assert_eq!(
        t.log[0].at.format("%Y-%m-%d %H:%M %z").to_string(),
        "2023-10-09 10:00 +0800"
    );
}

#[test]
fn low_urgency_eta_counts_three_working_days() {
    let (t, _) = open_at(Urgency::Low, at("2023-10-13 20:00")); // Friday evening
    assert_eq!(t.eta, at("2023-10-18 18:00")); // end of Wednesday
}

#[test]
fn urgent_pages_on_duty_and_repages_until_claimed() {
    let now = at("2023-10-09 10:00");
    let (mut t, fx) = open_at(Urgency::Urgent, now);
    assert!(notices(&fx).contains(&(NoticeKind::UrgentPage, Audience::OnDuty)));
    assert_eq!(t.ack_due, now + Duration::minutes(15));
    let fx = fire(&mut t, TimerKind::Repage, now + Duration::minutes(10));
    assert_eq!(
        notices(&fx),
        vec![(NoticeKind::UrgentPage, Audience::OnDuty)]
    );
    let repage_due = t.timers.repage.unwrap();
    apply(
        &mut t,
        Action::Claim { by: by() },
        now + Duration::minutes(12),
        &Policy::default(),
    )
    .unwrap();
    assert_eq!(t.status, Status::Acknowledged);
    assert_eq!(t.timers.repage, None);
    // The repage already queued is now stale and does nothing.
    let fx = apply(
        &mut t,
        Action::Timer {
            kind: TimerKind::Repage,
            due: repage_due,
        },
        repage_due,
        &Policy::default(),
    )
    .unwrap();
    assert!(fx.is_empty());
}

#[test]
fn vague_request_asks_for_details_and_pauses_the_clock() {
    let now = at("2023-10-09 10:00");
    let mut new = new_ticket(Urgency::Medium);
    new.vague = true;
    let (mut t, fx) = open(
        TicketId::new(now.date_naive(), 1),
        new,
        now,
        &Policy::default(),
    );
    assert_eq!(
        notices(&fx),
        vec![(NoticeKind::NeedMoreInfo, Audience::Requester)]
    );
    assert_eq!(t.status, Status::WaitingOnRequester);
    assert!(t.timers.progress.is_none() && t.timers.breach.is_none());
    let fx = apply(
        &mut t,
        Action::RequesterMessage {
            text: "打开CRM报错 ORA-12170".into(),
        },
        now + Duration::hours(2),
        &Policy::default(),
    )
    .unwrap();
    assert_eq!(t.status, Status::New);
    assert_eq!(
        t.eta,
        now + Duration::hours(26),
        "two hours waiting push the ETA back"
    );
    assert!(notices(&fx).contains(&(NoticeKind::StaffUpdate, Audience::Group)));
    assert_eq!(t.timers.progress, Some(now + Duration::hours(6)));
}

/// open → progress ×2 → pre-breach warning → new ETA → resolved → reminder →
/// rating → closed, with each notice at its time.
#[test]
fn whole_life_to_a_rated_close() {
    let p = Policy::default();
    let t0 = at("2023-10-09 10:00");
    let (mut t, _) = open_at(Urgency::Medium, t0);
    apply(
        &mut t,
        Action::Claim { by: by() },
        t0 + Duration::minutes(20),
        &p,
    )
    .unwrap();
    apply(
        &mut t,
        Action::Step {
            by: by(),
            text: "10:30 远程连接，数据库负载90%".into(),
        },
        t0 + Duration::minutes(30),
        &p,
    )
    .unwrap();
    assert_eq!(t.status, Status::InProgress);
    assert_eq!(t.timers.ack_check, None, "acknowledged: no reminder");

    // Every 4 working hours: 14:00, 18:00, then none at night — Tuesday 13:00.
    for due in [at("2023-10-09 14:00"), at("2023-10-09 18:00")] {
        assert_eq!(t.timers.progress, Some(due));
        let fx = fire(&mut t, TimerKind::Progress, due);
        assert_eq!(
            notices(&fx),
            vec![(NoticeKind::Progress, Audience::Requester)]
        );
    }
    assert_eq!(t.timers.progress, Some(at("2023-10-10 13:00")));
    let warn_at = t.timers.breach_warning.unwrap();
    assert_eq!(warn_at, t0 + Duration::minutes(1152));
    let fx = fire(&mut t, TimerKind::BreachWarning, warn_at);
    assert_eq!(
        notices(&fx),
        vec![
            (NoticeKind::BreachWarning, Audience::Group),
            (NoticeKind::Delayed, Audience::Requester)
        ]
    );

    let new_eta = t0 + Duration::hours(30);
    let fx = apply(
        &mut t,
        Action::SetEta {
            eta: new_eta,
            reason: "等待厂商补丁".into(),
            by: by(),
        },
        warn_at + Duration::minutes(5),
        &p,
    )
    .unwrap();
    assert_eq!(
        notices(&fx),
        vec![(NoticeKind::EtaChanged, Audience::Requester)]
    );
    assert_eq!(t.timers.breach, Some(new_eta));

    let resolved_at = t0 + Duration::hours(26);
    let fx = apply(
        &mut t,
        Action::Resolve {
            by: by(),
            fix: "重建索引后恢复".into(),
        },
        resolved_at,
        &p,
    )
    .unwrap();
    assert_eq!(t.status, Status::Resolved);
    assert_eq!(
        notices(&fx),
        vec![(NoticeKind::ResolvedConfirm, Audience::Requester)]
    );
    assert!(t.timers.progress.is_none() && t.timers.breach.is_none());
    // Tuesday 12:00 + 1 working day = Wednesday 12:00.
    assert_eq!(t.timers.confirm_reminder, Some(at("2023-10-11 12:00")));
    let fx = fire(&mut t, TimerKind::ConfirmReminder, at("2023-10-11 12:00"));
    assert_eq!(
        notices(&fx),
        vec![(NoticeKind::ConfirmReminder, Audience::Requester)]
    );

    let reply = ReplyIntent::Confirm {
        stars: Some(4),
        remark: Some("很快".into()),
    };
    let fx = apply(
        &mut t,
        Action::RequesterReply {
            intent: reply,
            text: "4星 很快".into(),
        },
        at("2023-10-11 14:00"),
        &p,
    )
    .unwrap();
    assert_eq!(
        notices(&fx),
        vec![(NoticeKind::RatingThanks, Audience::Requester)]
    );
    assert_eq!(t.status, Status::Closed);
    assert_eq!(t.close_reason, Some(CloseReason::Confirmed));
    assert_eq!(
        t.rating,
        Some(Rating {
            stars: 4,
            remark: Some("很快".into())
        })
    );
    assert_eq!(
        t.confirmation.as_ref().unwrap().date,
        NaiveDate::from_ymd_opt(2023, 10, 11).unwrap()
    );
    assert_eq!(t.timers, Timers::default(), "a closed ticket has no timers");
}

#[test]
fn rejection_reopens_and_restarts_the_sla_clock() {
    let p = Policy::default();
    let t0 = at("2023-10-09 10:00");
    let (mut t, _) = open_at(Urgency::High, t0);
    apply(
        &mut t,
        Action::Resolve {
            by: by(),
            fix: "重启服务".into(),
        },
        t0 + Duration::hours(2),
        &p,
    )
    .unwrap();
    let now = t0 + Duration::hours(3);
    let fx = apply(
        &mut t,
        Action::RequesterReply {
            intent: ReplyIntent::Reject {
                remark: Some("还是不行".into()),
            },
            text: "还是不行".into(),
        },
        now,
        &p,
    )
    .unwrap();
    assert_eq!(t.status, Status::Reopened);
    assert_eq!(t.reopen_count, 1);
    assert_eq!(t.eta, now + Duration::hours(8));
    let n = notices(&fx);
    assert!(n.contains(&(NoticeKind::Reopened, Audience::Requester)));
    assert!(n.contains(&(NoticeKind::StaffUpdate, Audience::Group)));
    assert_eq!(t.timers.progress, Some(now + Duration::hours(4)));
    assert!(t.timers.confirm_reminder.is_none() && t.timers.auto_close.is_none());
}

#[test]
fn no_answer_closes_without_recording_a_confirmation() {
    let p = Policy::default();
    let t0 = at("2023-10-09 10:00");
    let (mut t, _) = open_at(Urgency::Medium, t0);
    apply(
        &mut t,
        Action::Resolve {
            by: by(),
            fix: "已更换键盘".into(),
        },
        t0,
        &p,
    )
    .unwrap();
    let close_at = t.timers.auto_close.unwrap();
    assert_eq!(close_at, at("2023-10-12 10:00"), "3 working days");
    let fx = fire(&mut t, TimerKind::AutoClose, close_at);
    assert_eq!(
        notices(&fx),
        vec![(NoticeKind::Closed, Audience::Requester)]
    );
    assert_eq!(t.status, Status::Closed);
    assert_eq!(t.close_reason, Some(CloseReason::NoAnswer));
    assert_eq!(t.confirmation, None);
    // A late rating is still welcome.
    let late = ReplyIntent::Confirm {
        stars: Some(5),
        remark: None,
    };
    apply(
        &mut t,
        Action::RequesterReply {
            intent: late,
            text: "5".into(),
        },
        close_at + Duration::hours(1),
        &p,
    )
    .unwrap();
    assert_eq!(t.rating.as_ref().map(|r| r.stars), Some(5));
    assert_eq!(t.close_reason, Some(CloseReason::NoAnswer));
}

#[test]
fn unclear_reply_gets_one_question_then_goes_to_staff() {
    let p = Policy::default();
    let t0 = at("2023-10-09 10:00");
    let (mut t, _) = open_at(Urgency::Medium, t0);
    apply(
        &mut t,
        Action::Resolve {
            by: by(),
            fix: "fix".into(),
        },
        t0,
        &p,
    )
    .unwrap();
    let first = apply(
        &mut t,
        Action::RequesterReply {
            intent: ReplyIntent::Unclear,
            text: "嗯".into(),
        },
        t0,
        &p,
    )
    .unwrap();
    assert_eq!(
        notices(&first),
        vec![(NoticeKind::Clarify, Audience::Requester)]
    );
    let second = apply(
        &mut t,
        Action::RequesterReply {
            intent: ReplyIntent::Unclear,
            text: "嗯嗯".into(),
        },
        t0,
        &p,
    )
    .unwrap();
    assert_eq!(
        notices(&second),
        vec![(NoticeKind::StaffUpdate, Audience::Group)]
    );
    assert_eq!(t.status, Status::Resolved);
}

#[test]
fn missed_progress_updates_fire_once_after_downtime() {
    let p = Policy::default();
    let t0 = at("2023-10-09 10:00");
    let (mut t, _) = open_at(Urgency::Low, t0);
    let due = t.timers.progress.unwrap();
    // The daemon was down for 13 hours (until 03:00): one update, and the next
    // one 4 working hours from now.
    let now = due + Duration::hours(13);
    let fx = apply(
        &mut t,
        Action::Timer {
            kind: TimerKind::Progress,
            due,
        },
        now,
        &p,
    )
    .unwrap();
    assert_eq!(notices(&fx).len(), 1);
    assert_eq!(
        wakes(&fx),
        vec![(TimerKind::Progress, at("2023-10-10 13:00"))]
    );
}

/// Progress updates count working hours: none at night, at the weekend or on
/// a holiday; a wall-clock `progress_every` sends them around the clock.
#[test]
fn progress_updates_wait_for_working_hours() {
    let monday = NaiveDate::from_ymd_opt(2023, 10, 16).unwrap();
    let calendar = crate::core::calendar::Calendar::new(
        chrono_tz::Asia::Shanghai,
        &[
            chrono::Weekday::Mon,
            chrono::Weekday::Tue,
            chrono::Weekday::Wed,
            chrono::Weekday::Thu,
            chrono::Weekday::Fri,
        ],
        chrono::NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        chrono::NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
        [monday],
        [],
    )
    .unwrap();
    let mut p = Policy {
        calendar,
        ..Policy::default()
    };
    let friday = at("2023-10-13 16:00");
    let id = TicketId::new(friday.date_naive(), 1);
    let (mut t, _) = open(id.clone(), new_ticket(Urgency::Low), friday, &p);
    // Two working hours on Friday, none at the weekend or on Monday's holiday.
    let due = t.timers.progress.unwrap();
    assert_eq!(due, at("2023-10-17 11:00"));
    let fx = apply(
        &mut t,
        Action::Timer {
            kind: TimerKind::Progress,
            due,
        },
        due,
        &p,
    )
    .unwrap();
    assert_eq!(
        notices(&fx),
        vec![(NoticeKind::Progress, Audience::Requester)]
    );
    assert_eq!(t.timers.progress, Some(at("2023-10-17 15:00")));

    p.progress_every = crate::core::calendar::Span::parse("4h").unwrap();
    let (t, _) = open(id, new_ticket(Urgency::Low), friday, &p);
    assert_eq!(t.timers.progress, Some(at("2023-10-13 20:00")));
}

#[test]
fn breach_escalates_to_the_lead_without_counting_as_acknowledgement() {
    let t0 = at("2023-10-09 10:00");
    let (mut t, _) = open_at(Urgency::Urgent, t0);
    let fx = fire(&mut t, TimerKind::Breach, t0 + Duration::hours(4));
    assert!(notices(&fx).contains(&(NoticeKind::Breach, Audience::Lead)));
    assert_eq!(t.status, Status::Escalated);
    assert!(t.escalated);
    assert_eq!(t.acknowledged_at, None);
}

#[test]
fn urgency_change_is_logged_and_moves_the_eta() {
    let p = Policy::default();
    let t0 = at("2023-10-09 10:00");
    let (mut t, _) = open_at(Urgency::Urgent, t0);
    apply(
        &mut t,
        Action::SetUrgency {
            to: Urgency::Medium,
            by: by(),
            reason: Some("只影响一人".into()),
        },
        t0 + Duration::minutes(5),
        &p,
    )
    .unwrap();
    assert_eq!(t.eta, t0 + Duration::hours(24));
    let entry = t.log.last().unwrap();
    assert_eq!(entry.kind, LogKind::UrgencyChanged);
    assert!(entry.text.contains("urgent → medium") && entry.text.contains("只影响一人"));
    assert!(!entry.public);
}

#[test]
fn closed_ticket_reopens_only_within_the_window() {
    let p = Policy::default();
    let t0 = at("2023-10-09 10:00");
    let (mut t, _) = open_at(Urgency::Medium, t0);
    apply(
        &mut t,
        Action::Close {
            by: by(),
            reason: "duplicate".into(),
        },
        t0,
        &p,
    )
    .unwrap();
    let mut late = t.clone();
    apply(
        &mut t,
        Action::RequesterMessage {
            text: "又坏了".into(),
        },
        t0 + Duration::days(2),
        &p,
    )
    .unwrap();
    assert_eq!(t.status, Status::Reopened);
    let refused = apply(
        &mut late,
        Action::RequesterMessage {
            text: "又坏了".into(),
        },
        t0 + Duration::days(30),
        &p,
    );
    assert_eq!(refused, Err(Refusal::ReopenWindowPassed));
    assert_eq!(
        late.status,
        Status::Closed,
        "a refusal leaves the ticket unchanged"
    );
}

/// Which actions each status accepts: `Ok(next status)` or the refusal.
#[test]
fn transition_table() {
    use Status::*;
    let p = Policy::default();
    let t0 = at("2023-10-09 10:00");
    let reach = |status: Status| -> Ticket {
        let (mut t, _) = open_at(Urgency::Medium, t0);
        let step = |t: &mut Ticket, a: Action| {
            apply(t, a, t0, &p).unwrap();
        };
        match status {
            New => {}
            Acknowledged => step(&mut t, Action::Claim { by: by() }),
            InProgress => step(
                &mut t,
                Action::Step {
                    by: by(),
                    text: "s".into(),
                },
            ),
            WaitingOnRequester => step(
                &mut t,
                Action::AskRequester {
                    by: by(),
                    text: "截图?".into(),
                },
            ),
            Escalated => step(
                &mut t,
                Action::Escalate {
                    by: by(),
                    reason: "vendor".into(),
                },
            ),
            Resolved => step(
                &mut t,
                Action::Resolve {
                    by: by(),
                    fix: "f".into(),
                },
            ),
            Closed => step(
                &mut t,
                Action::Close {
                    by: by(),
                    reason: "r".into(),
                },
            ),
            Reopened => {
                step(
                    &mut t,
                    Action::Close {
                        by: by(),
                        reason: "r".into(),
                    },
                );
                step(
                    &mut t,
                    Action::Reopen {
                        by: by(),
                        reason: "again".into(),
                    },
                );
            }
        }
        assert_eq!(t.status, status);
        t
    };
    let claim = || Action::Claim {
        by: "王五".into()
    };
    let stepping = || Action::Step {
        by: by(),
        text: "x".into(),
    };
    let resolve = || Action::Resolve {
        by: by(),
        fix: "x".into(),
    };
    let reopen = || Action::Reopen {
        by: by(),
        reason: "x".into(),
    };
    let message = || Action::RequesterMessage {
        text: "more".into(),
    };
    let confirm = || Action::RequesterReply {
        intent: ReplyIntent::Confirm {
            stars: None,
            remark: None,
        },
        text: "ok".into(),
    };
    let stranger = || Action::ThirdPartyMessage {
        from: "mallory@evil.test".into(),
        text: "已解决 1星 太差".into(),
    };
    let colleague = || Action::ColleagueMessage {
        from: "bob@example.com".into(),
        text: "已解决 5星".into(),
    };
    let for_requester = || Action::AnswerForRequester {
        by: by(),
        intent: ReplyIntent::Confirm {
            stars: Some(5),
            remark: None,
        },
        text: "电话确认已恢复".into(),
    };
    let cases: Vec<(Status, Action, Result<Status, Refusal>)> = vec![
        (New, claim(), Ok(Acknowledged)),
        (New, stepping(), Ok(InProgress)),
        (New, resolve(), Ok(Resolved)),
        (
            New,
            reopen(),
            Err(Refusal::NoChange("ticket is already open".into())),
        ),
        (New, confirm(), Err(Refusal::NotResolved(New))),
        (Acknowledged, stepping(), Ok(InProgress)),
        (
            InProgress,
            Action::AskRequester {
                by: by(),
                text: "?".into(),
            },
            Ok(WaitingOnRequester),
        ),
        (InProgress, message(), Ok(InProgress)),
        (WaitingOnRequester, message(), Ok(InProgress)),
        (WaitingOnRequester, stepping(), Ok(InProgress)),
        (WaitingOnRequester, resolve(), Ok(Resolved)),
        (Escalated, stepping(), Ok(Escalated)),
        (Escalated, resolve(), Ok(Resolved)),
        (Resolved, confirm(), Ok(Closed)),
        (Resolved, message(), Ok(Reopened)),
        (Resolved, reopen(), Ok(Reopened)),
        (Resolved, claim(), Err(Refusal::NotOpen(Resolved))),
        (Closed, reopen(), Ok(Reopened)),
        (Closed, resolve(), Err(Refusal::NotOpen(Closed))),
        (
            Closed,
            Action::Close {
                by: by(),
                reason: "x".into(),
            },
            Err(Refusal::AlreadyClosed),
        ),
        (Reopened, claim(), Ok(Acknowledged)),
        (Reopened, resolve(), Ok(Resolved)),
        // Who speaks matters: only the requester's "已解决 1星" closes a ticket.
        (Resolved, stranger(), Ok(Resolved)),
        (Closed, stranger(), Ok(Closed)),
        (WaitingOnRequester, stranger(), Ok(WaitingOnRequester)),
        (Resolved, colleague(), Ok(Resolved)),
        (New, colleague(), Ok(New)),
        (Resolved, for_requester(), Ok(Closed)),
        (New, for_requester(), Err(Refusal::NotResolved(New))),
        (
            New,
            Action::SetUrgency {
                to: Urgency::Urgent,
                by: by(),
                reason: None,
            },
            Err(Refusal::ReasonRequired("say why the urgency changes")),
        ),
    ];
    for (from, action, expected) in cases {
        let mut t = reach(from);
        let label = format!("{from:?} + {action:?}");
        let got = apply(&mut t, action, t0, &p).map(|_| t.status);
        assert_eq!(got, expected, "{label}");
    }
}

#[test]
fn a_technician_answering_for_the_requester_is_logged_as_such() {
    let p = Policy::default();
    let (mut t, _) = open_at(Urgency::Medium, at("2023-10-09 10:00"));
    let resolve = Action::Resolve {
        by: by(),
        fix: "f".into(),
    };
    apply(&mut t, resolve, at("2023-10-09 11:00"), &p).unwrap();
    let answer = Action::AnswerForRequester {
        by: by(),
        intent: ReplyIntent::Confirm {
            stars: Some(5),
            remark: None,
        },
        text: "电话确认已恢复".into(),
    };
    apply(&mut t, answer, at("2023-10-09 12:00"), &p).unwrap();
    assert_eq!(t.status, Status::Closed);
    assert_eq!(t.confirmation.as_ref().unwrap().by, "李四 (for 张三)");
    assert_eq!(t.rating.as_ref().unwrap().stars, 5);
}

#[test]
fn bad_rating_is_refused() {
    let p = Policy::default();
    let (mut t, _) = open_at(Urgency::Medium, at("2023-10-09 10:00"));
    apply(
        &mut t,
        Action::Resolve {
            by: by(),
            fix: "f".into(),
        },
        at("2023-10-09 11:00"),
        &p,
    )
    .unwrap();
    let r = apply(
        &mut t,
        Action::RequesterReply {
            intent: ReplyIntent::Confirm {
                stars: Some(9),
                remark: None,
            },
            text: "9".into(),
        },
        at("2023-10-09 12:00"),
        &p,
    );
    assert_eq!(r, Err(Refusal::BadRating(9)));
    assert_eq!(t.status, Status::Resolved);
}

fn set_eta(t: &mut Ticket, eta: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Effect> {
    let action = Action::SetEta {
        eta,
        reason: "等待厂商补丁".into(),
        by: by(),
    };
    apply(t, action, now, &Policy::default()).unwrap()
}

fn requester_notices(fx: &[Effect]) -> Vec<NoticeKind> {
    notices(fx)
        .into_iter()
        .filter(|(_, audience)| *audience == Audience::Requester)
        .map(|(kind, _)| kind)
        .collect()
}

/// SPEC §3: "told before it passes, with the reason and a new ETA". The
/// target stays what the breach (and the statistics) measure against.
#[test]
fn the_requester_hears_before_the_breach_and_at_it_once_each() {
    let t0 = at("2023-10-09 10:00");
    let (mut t, _) = open_at(Urgency::Medium, t0);
    let target = t.eta;
    let fx = fire(&mut t, TimerKind::BreachWarning, at("2023-10-10 05:12"));
    assert_eq!(
        notices(&fx),
        vec![
            (NoticeKind::BreachWarning, Audience::Group),
            (NoticeKind::Delayed, Audience::Requester)
        ]
    );
    assert_eq!(t.eta, target, "the target does not move");
    assert_eq!(t.revised_eta, Some(target + Duration::hours(24)));
    assert_eq!(t.eta_told(), target + Duration::hours(24));

    // Waiting on the requester in between re-arms the warning, which finds
    // the requester already told.
    let p = Policy::default();
    let ask = Action::AskRequester {
        by: by(),
        text: "截图?".into(),
    };
    apply(&mut t, ask, at("2023-10-10 06:00"), &p).unwrap();
    let answer = Action::RequesterMessage {
        text: "截图附上".into(),
    };
    apply(&mut t, answer, at("2023-10-10 07:00"), &p).unwrap();
    assert_eq!(t.revised_eta, Some(target + Duration::hours(25)));
    let fx = fire(&mut t, TimerKind::BreachWarning, at("2023-10-10 07:00"));
    assert_eq!(requester_notices(&fx), vec![]);

    let fx = fire(&mut t, TimerKind::Breach, target + Duration::hours(1));
    assert_eq!(
        notices(&fx),
        vec![
            (NoticeKind::Breach, Audience::Lead),
            (NoticeKind::Escalated, Audience::Requester)
        ]
    );
    assert_eq!(t.status, Status::Escalated);
    assert_eq!(
        t.eta_told(),
        target + Duration::hours(25),
        "the ETA given before the breach stands"
    );
    assert!(
        t.log
            .iter()
            .all(|e| !e.public || e.kind != LogKind::EtaChanged),
        "what the requester was told is logged for staff only"
    );
}

#[test]
fn a_new_eta_from_staff_first_means_no_automatic_notice_for_the_old_target() {
    let t0 = at("2023-10-09 10:00");
    let (mut t, fx0) = open_at(Urgency::Medium, t0);
    let old_warning = t.timers.breach_warning.unwrap();
    let old_breach = t.timers.breach.unwrap();
    let fx = set_eta(&mut t, at("2023-10-12 18:00"), at("2023-10-09 15:00"));
    assert_eq!(requester_notices(&fx), vec![NoticeKind::EtaChanged]);
    let p = Policy::default();
    for (kind, due) in [
        (TimerKind::BreachWarning, old_warning),
        (TimerKind::Breach, old_breach),
    ] {
        assert!(wakes(&fx0).contains(&(kind, due)));
        let fx = apply(&mut t, Action::Timer { kind, due }, due, &p).unwrap();
        assert!(fx.is_empty(), "{kind:?} of the old target is stale");
    }
    assert_eq!(t.status, Status::New);
}

#[test]
fn staff_acting_between_warning_and_breach_causes_no_duplicate() {
    let t0 = at("2023-10-09 10:00");
    let (mut t, _) = open_at(Urgency::Medium, t0);
    let old_breach = t.timers.breach.unwrap();
    let fx = fire(&mut t, TimerKind::BreachWarning, at("2023-10-10 05:12"));
    assert_eq!(requester_notices(&fx), vec![NoticeKind::Delayed]);
    let p = Policy::default();
    apply(
        &mut t,
        Action::Claim { by: by() },
        at("2023-10-10 06:00"),
        &p,
    )
    .unwrap();
    let new_eta = at("2023-10-10 16:00");
    let fx = set_eta(&mut t, new_eta, at("2023-10-10 06:30"));
    assert_eq!(requester_notices(&fx), vec![NoticeKind::EtaChanged]);
    assert_eq!((t.eta, t.revised_eta), (new_eta, None));
    let stale = Action::Timer {
        kind: TimerKind::Breach,
        due: old_breach,
    };
    assert!(apply(&mut t, stale, old_breach, &p).unwrap().is_empty());
    // The new target's warning and breach tell the requester once each.
    let fx = fire(&mut t, TimerKind::BreachWarning, at("2023-10-10 14:00"));
    assert_eq!(requester_notices(&fx), vec![NoticeKind::Delayed]);
    let fx = fire(&mut t, TimerKind::Breach, new_eta);
    assert_eq!(requester_notices(&fx), vec![NoticeKind::Escalated]);
    assert!(t.timers.breach.is_none() && t.timers.breach_warning.is_none());
}

#[test]
fn an_urgency_change_needs_a_reason_and_tells_the_requester_the_new_eta() {
    let p = Policy::default();
    let t0 = at("2023-10-09 10:00");
    let (mut t, _) = open_at(Urgency::Low, t0);
    for reason in [None, Some("  ".to_string())] {
        let raise = Action::SetUrgency {
            to: Urgency::Urgent,
            by: by(),
            reason,
        };
        assert_eq!(
            apply(&mut t, raise, t0, &p),
            Err(Refusal::ReasonRequired("say why the urgency changes"))
        );
    }
    let raise = Action::SetUrgency {
        to: Urgency::Urgent,
        by: by(),
        reason: Some("全部门无法打印".into()),
    };
    let fx = apply(&mut t, raise, t0 + Duration::minutes(5), &p).unwrap();
    assert_eq!(
        notices(&fx),
        vec![
            (NoticeKind::UrgencyChanged, Audience::Requester),
            (NoticeKind::UrgentPage, Audience::OnDuty)
        ]
    );
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Notify(Notice { kind: NoticeKind::UrgencyChanged, text: Some(r), .. }) if r == "全部门无法打印"
    )));
    assert_eq!(t.eta, t0 + Duration::hours(4));
    let entry = t.log.last().unwrap();
    assert_eq!(entry.kind, LogKind::UrgencyChanged);
    assert!(entry.text.contains("low → urgent: 全部门无法打印"));
}

#[test]
fn a_lowered_urgency_is_logged_and_pages_nobody() {
    let now = at("2023-10-09 10:00");
    let mut new = new_ticket(Urgency::Low);
    new.urgency_lowered = Some(UrgencyLowered {
        from: Urgency::Urgent,
        cue: "不影响工作".into(),
    });
    let (t, fx) = open(
        TicketId::new(now.date_naive(), 1),
        new,
        now,
        &Policy::default(),
    );
    assert_eq!(
        notices(&fx),
        vec![(NoticeKind::Accepted, Audience::Requester)]
    );
    let entry = t.log.last().unwrap();
    assert_eq!(entry.kind, LogKind::UrgencyChanged);
    assert_eq!(
        entry.text,
        "urgency lowered: text says 不影响工作 (urgent → low)"
    );
    assert!(!entry.public);
}
