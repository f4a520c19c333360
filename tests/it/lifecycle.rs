//! Whole ticket lives. First with a hand-moved clock through the real engine,
//! store, templates and outbox (a recording transport stands in for SMTP), so
//! every notice's time and content is checked without sleeping; then once
//! end to end against the real daemon and the real mail servers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use itdesk::app::Core;
use itdesk::clock::{Clock, ManualClock};
use itdesk::config::Config;
use itdesk::core::lifecycle::Action;
use itdesk::core::ticket::{Channel, Status, Ticket};
use itdesk::engine::IntakeOutcome;
use itdesk::intake::{prepare, InboundMessage, Sender};
use itdesk::outbox::live::{LiveNotices, NoticeSettings};
use itdesk::outbox::transport::{DeliveryError, OutgoingMessage, Transport, Transports};
use itdesk::outbox::{Dispatcher, DispatcherParts};

use crate::mailrig::MailRig;
use crate::support::{wait_until, Sandbox};

/// Keeps what was sent, with the fake time it was sent at.
struct Recorder {
    clock: Arc<ManualClock>,
    sent: Mutex<Vec<(DateTime<Utc>, OutgoingMessage)>>,
}

#[async_trait]
impl Transport for Recorder {
    async fn send(&self, msg: &OutgoingMessage) -> Result<(), DeliveryError> {
        self.sent
            .lock()
            .unwrap()
            .push((self.clock.now(), msg.clone()));
        Ok(())
    }
}

struct Desk {
    core: Core,
    dispatcher: Dispatcher,
    clock: Arc<ManualClock>,
    recorder: Arc<Recorder>,
    seen: usize,
}

/// 2023-10-09 is a Monday; times are Asia/Shanghai.
fn local(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2023, 10, day, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

impl Desk {
    fn new(sb: &Sandbox) -> Desk {
        let config = Config::load(&sb.config).unwrap();
        let clock = Arc::new(ManualClock::new(local(9, 10, 0)));
        let recorder = Arc::new(Recorder {
            clock: clock.clone(),
            sent: Mutex::new(Vec::new()),
        });
        let core = Core::start(&config, clock.clone()).unwrap();
        let dispatcher = Dispatcher::new(
            &config,
            DispatcherParts {
                store: core.store.clone(),
                engine: core.engine.clone(),
                notices: LiveNotices::new(NoticeSettings::load(&config).unwrap()),
                transports: Transports {
                    email: Some(recorder.clone()),
                    chat: None,
                },
                clock: clock.clone(),
                wake: core.outbox_wake.clone(),
                health: core.health.clone(),
            },
        );
        Desk {
            core,
            dispatcher,
            clock,
            recorder,
            seen: 0,
        }
    }

    /// Moves the clock to `at`, runs everything due, returns what was sent since the last call.
    async fn at(&mut self, at: DateTime<Utc>) -> Vec<OutgoingMessage> {
        self.clock.set(at);
        // Timers queue notices that are due at once: run until nothing is due.
        while self.dispatcher.run_due().await.unwrap() > 0 {}
        let sent = self.recorder.sent.lock().unwrap();
        let new: Vec<_> = sent[self.seen..].iter().map(|(_, m)| m.clone()).collect();
        self.seen = sent.len();
        new
    }

    async fn mail(&self, subject: &str, body: &str) -> IntakeOutcome {
        let message = InboundMessage {
            cc: Vec::new(),
            auth: Default::default(),
            channel: Channel::Email,
            message_id: format!("{}@example.test", self.core.store.generate_id().unwrap()),
            references: Vec::new(),
            from: Sender {
                name: Some("张三".into()),
                address: "zhangsan@example.test".into(),
            },
            subject: subject.into(),
            body: body.into(),
            attachments: Vec::new(),
            received_at: self.clock.now(),
            automated: None,
            bounce: None,
            warnings: Vec::new(),
        };
        let rules = itdesk::intake::classify::Rules::default();
        self.core
            .engine
            .intake(prepare(message, &rules, &Default::default()))
            .await
            .unwrap()
    }

    /// A technician's change, which must be accepted.
    async fn act(&self, id: &itdesk::core::id::TicketId, action: Action) {
        self.core
            .engine
            .act(id.clone(), action)
            .await
            .unwrap()
            .applied()
            .expect("the action applies");
    }

    fn ticket(&self, id: &itdesk::core::id::TicketId) -> Ticket {
        self.core.store.ticket(id).unwrap().unwrap()
    }
}

fn to_requester(msgs: &[OutgoingMessage]) -> Vec<&OutgoingMessage> {
    msgs.iter()
        .filter(|m| m.dest.to_string() == "email:zhangsan@example.test")
        .collect()
}

fn created(outcome: IntakeOutcome) -> itdesk::core::id::TicketId {
    match outcome {
        IntakeOutcome::Created(id) => id,
        other => panic!("expected a new ticket, got {other:?}"),
    }
}

const GROUPS: &str = "[groups.software]\nlabel = \"软件组\"\nemail = [\"software@example.test\"]\n[groups.hardware]\n[groups.network]\n[groups.access]\n[groups.service-desk]\n[escalation]\nemail = [\"lead@example.test\"]\n[outbox]\nmax_notices_per_recipient_per_hour = 100\n";

/// open → progress ×2 → pre-breach warning (group and requester) → new ETA →
/// resolved → reminder → rating → closed: each notice at its time, with its
/// content.
#[tokio::test]
async fn a_whole_life_with_a_fake_clock() {
    let sb = Sandbox::new(GROUPS);
    let mut desk = Desk::new(&sb);
    let id = created(
        desk.mail(
            "CRM 登录报错",
            "10:00 登录CRM提示“数据库连接超时”，影响客户跟进。",
        )
        .await,
    );
    let sent = desk.at(local(9, 10, 0)).await;
    let accepted = to_requester(&sent);
    assert_eq!(accepted.len(), 1, "{sent:?}");
    assert!(
        accepted[0].subject.contains(&format!("[{id}]"))
            && accepted[0].subject.contains("服务单已受理")
    );
    assert!(
        accepted[0].body.contains("软件组") && accepted[0].body.contains("2023-10-10 10:00"),
        "ETA = +24 h:\n{}",
        accepted[0].body
    );

    desk.act(
        &id,
        Action::Step {
            by: "李四".into(),
            text: "远程查看数据库负载".into(),
        },
    )
    .await;
    // Every 4 working hours: 14:00 and 18:00, then nothing at night.
    for (n, hour) in [(1, 14), (2, 18)] {
        let sent = desk.at(local(9, hour, 0)).await;
        let progress = to_requester(&sent);
        assert_eq!(
            progress.len(),
            1,
            "progress update {n} at {hour}:00: {sent:?}"
        );
        assert!(
            progress[0].body.contains("远程查看数据库负载"),
            "shows the latest public step:\n{}",
            progress[0].body
        );
    }
    assert!(desk.at(local(9, 22, 0)).await.is_empty());
    // 80 % of 24 h after 10:00 is 05:12 the next day: the group is warned.
    // The requester is told too, in advance: the reason and a new ETA.
    let sent = desk.at(local(10, 5, 12)).await;
    assert!(
        sent.iter()
            .any(|m| m.dest.to_string() == "email:software@example.test"
                && m.body.contains("2023-10-10 10:00")),
        "{sent:?}"
    );
    let delayed = to_requester(&sent);
    assert_eq!(delayed.len(), 1, "{sent:?}");
    assert!(
        delayed[0].subject.contains("无法按时完成")
            && delayed[0]
                .body
                .contains("原因：排查和修复问题所需的时间超出了预期")
            && delayed[0]
                .body
                .contains("新的预计完成时间：2023-10-11 10:00"),
        "{}",
        delayed[0].body
    );

    let new_eta = local(10, 16, 0);
    desk.act(
        &id,
        Action::SetEta {
            eta: new_eta,
            reason: "等待厂商补丁".into(),
            by: "李四".into(),
        },
    )
    .await;
    let sent = desk.at(local(10, 5, 20)).await;
    let eta_notice = to_requester(&sent);
    assert_eq!(eta_notice.len(), 1);
    assert!(
        eta_notice[0].body.contains("等待厂商补丁")
            && eta_notice[0].body.contains("2023-10-10 16:00"),
        "{}",
        eta_notice[0].body
    );

    desk.act(
        &id,
        Action::Resolve {
            by: "李四".into(),
            fix: "安装补丁后恢复".into(),
        },
    )
    .await;
    let sent = desk.at(local(10, 12, 0)).await;
    let confirm = to_requester(&sent);
    assert_eq!(
        confirm.len(),
        1,
        "only the confirmation request; no progress after resolution: {sent:?}"
    );
    assert!(confirm[0].body.contains("安装补丁后恢复"));
    // The old breach timer is stale and silent; the reminder comes 1 working day later.
    assert!(desk.at(local(10, 16, 30)).await.is_empty());
    let sent = desk.at(local(11, 12, 0)).await;
    assert_eq!(
        to_requester(&sent).len(),
        1,
        "confirmation reminder: {sent:?}"
    );

    let reply = desk
        .mail(&format!("Re: [{id}] 服务单已解决"), "4星 很快")
        .await;
    assert_eq!(reply, IntakeOutcome::Updated(id.clone()));
    let sent = desk.at(local(11, 12, 5)).await;
    let thanks = to_requester(&sent);
    assert_eq!(thanks.len(), 1);
    assert!(
        thanks[0].body.contains("★★★★☆") && thanks[0].body.contains("很快"),
        "{}",
        thanks[0].body
    );
    let t = desk.ticket(&id);
    assert_eq!(t.status, Status::Closed);
    assert_eq!(
        t.rating.as_ref().map(|r| (r.stars, r.remark.as_deref())),
        Some((4, Some("很快")))
    );
    assert!(
        desk.at(local(20, 12, 0)).await.is_empty(),
        "a closed ticket sends nothing more"
    );
}

#[tokio::test]
async fn rejection_reopens_and_tells_both_sides() {
    let sb = Sandbox::new(GROUPS);
    let mut desk = Desk::new(&sb);
    let id = created(desk.mail("CRM 登录报错", "登录CRM提示数据库连接超时").await);
    desk.act(
        &id,
        Action::Resolve {
            by: "李四".into(),
            fix: "重启服务".into(),
        },
    )
    .await;
    desk.at(local(9, 11, 0)).await;
    desk.mail(&format!("回复: [{id}] 服务单已解决"), "还是不行，还是超时")
        .await;
    let sent = desk.at(local(9, 11, 5)).await;
    assert!(
        to_requester(&sent)
            .iter()
            .any(|m| m.body.contains("还是不行")),
        "reopened notice quotes the reason: {sent:?}"
    );
    assert!(
        sent.iter()
            .any(|m| m.dest.to_string() == "email:software@example.test"),
        "the group hears of it: {sent:?}"
    );
    let t = desk.ticket(&id);
    assert_eq!(t.status, Status::Reopened);
    assert_eq!(
        t.eta,
        local(10, 11, 0),
        "the SLA clock restarts at the rejection (received 11:00)"
    );
}

#[tokio::test]
async fn no_answer_closes_without_a_confirmation() {
    let sb = Sandbox::new(GROUPS);
    let mut desk = Desk::new(&sb);
    let id = created(
        desk.mail("键盘失灵", "键盘部分按键没有反应，已经换过USB口")
            .await,
    );
    desk.act(
        &id,
        Action::Resolve {
            by: "李四".into(),
            fix: "更换键盘".into(),
        },
    )
    .await;
    desk.at(local(9, 10, 30)).await;
    // Resolved Monday 10:00: reminder Tuesday 10:00, closed Thursday 10:00.
    assert_eq!(to_requester(&desk.at(local(10, 10, 0)).await).len(), 1);
    assert!(desk.at(local(12, 9, 59)).await.is_empty());
    let sent = desk.at(local(12, 10, 0)).await;
    assert_eq!(to_requester(&sent).len(), 1, "closed notice: {sent:?}");
    let t = desk.ticket(&id);
    assert_eq!(t.status, Status::Closed);
    assert_eq!(
        t.confirmation, None,
        "a timeout is never recorded as a confirmation"
    );
    assert_eq!(
        t.close_reason,
        Some(itdesk::core::ticket::CloseReason::NoAnswer)
    );
}

/// The real daemon, real Dovecot and Postfix, intervals shrunk to seconds:
/// accepted → progress → confirm-and-rate in the requester's mailbox, and the
/// reply "4星 很快" stores 4 stars with the remark "很快" and closes the ticket.
#[test]
fn end_to_end_by_mail_with_intervals_in_seconds() {
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config("[sla]\nprogress_every = \"2s\"\n"));
    let daemon = sb.start_daemon();
    let request = "From: 张三 <alice@example.test>\r\nTo: helpdesk@example.test\r\nSubject: =?UTF-8?B?Q1JN55m75b2V5oql6ZSZ?=\r\nMessage-ID: <life-1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n登录CRM提示数据库连接超时，影响客户跟进。\r\n";
    rig.send(
        "alice@example.test",
        "helpdesk@example.test",
        request.as_bytes(),
    );

    let mut id = String::new();
    wait_until("the ticket", Duration::from_secs(20), || {
        let list = sb.cli_json(&["tickets", "list", "--json"]);
        id = list[0]["id"].as_str().unwrap_or_default().to_string();
        !id.is_empty()
    });
    let alice = |needle: &str| {
        rig.messages("alice", "INBOX")
            .into_iter()
            .filter(|m| m.subject.contains(needle))
            .count()
    };
    wait_until(
        "accepted and a progress update",
        Duration::from_secs(30),
        || alice("服务单已受理") == 1 && alice("进展") >= 1,
    );

    sb.cli_ok(&[
        "tickets",
        "resolve",
        &id,
        "--fix",
        "连接池扩容后恢复",
        "--by",
        "李四",
    ]);
    wait_until(
        "the confirm-and-rate request",
        Duration::from_secs(20),
        || alice("已解决") >= 1,
    );
    let progress_before = alice("进展");

    let reply = format!("From: 张三 <alice@example.test>\r\nTo: helpdesk@example.test\r\nSubject: Re: [{id}] 服务单已解决\r\nMessage-ID: <life-2@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n4星 很快\r\n");
    rig.send(
        "alice@example.test",
        "helpdesk@example.test",
        reply.as_bytes(),
    );
    wait_until("the ticket to close", Duration::from_secs(20), || {
        sb.cli_json(&["tickets", "show", &id, "--json"])["status"] == "closed"
    });
    let t = sb.cli_json(&["tickets", "show", &id, "--json"]);
    assert_eq!(t["rating"]["stars"], 4);
    assert_eq!(t["rating"]["remark"], "很快");
    assert_eq!(t["confirmation"]["text"], "4星 很快");
    wait_until("the thank-you", Duration::from_secs(20), || {
        alice("感谢") >= 1
    });
    assert_eq!(
        alice("进展"),
        progress_before,
        "no progress updates once resolved"
    );
    daemon.stop();
}

/// 00:30 in Shanghai is still the previous day in UTC: the ID and the request
/// date follow the helpdesk's time zone.
#[tokio::test]
async fn ids_use_the_local_date() {
    let sb = Sandbox::new(GROUPS);
    let desk = Desk::new(&sb);
    desk.clock
        .set(Utc.with_ymd_and_hms(2023, 10, 1, 16, 30, 0).unwrap());
    let id = created(
        desk.mail("打印机卡纸", "三楼打印机每页都卡纸，错误代码 E-204")
            .await,
    );
    assert_eq!(id.as_str(), "IT20231002001");
    assert_eq!(desk.ticket(&id).request_date.to_string(), "2023-10-02");
}

fn to_group(msgs: &[OutgoingMessage]) -> Vec<&OutgoingMessage> {
    msgs.iter()
        .filter(|m| m.dest.to_string() == "email:software@example.test")
        .collect()
}

/// SPEC §3 "acknowledged within 1 hour": nobody claims the ticket, so at the
/// hour (15 minutes when urgent) its group is reminded, once.
#[tokio::test]
async fn an_unacknowledged_ticket_reminds_its_group_at_the_hour() {
    let sb = Sandbox::new(GROUPS);
    let mut desk = Desk::new(&sb);
    for (subject, due) in [
        ("CRM 登录报错", local(9, 11, 0)),
        ("[紧急] CRM 全部门无法登录", local(9, 10, 15)),
    ] {
        desk.clock.set(local(9, 10, 0));
        let id = created(desk.mail(subject, "登录CRM提示数据库连接超时").await);
        desk.at(local(9, 10, 0)).await;
        let early = desk.at(due - chrono::Duration::minutes(1)).await;
        assert!(to_group(&early).is_empty(), "{subject}: {early:?}");
        let sent = desk.at(due).await;
        let reminder = to_group(&sent);
        assert_eq!(reminder.len(), 1, "{subject}: {sent:?}");
        assert!(
            reminder[0]
                .subject
                .contains(&format!("[{id}] Not acknowledged yet")),
            "{}",
            reminder[0].subject
        );
        let later = desk.at(due + chrono::Duration::hours(2)).await;
        assert!(
            to_group(&later)
                .iter()
                .all(|m| !m.subject.contains("Not acknowledged")),
            "one reminder: {later:?}"
        );
        desk.act(
            &id,
            Action::Resolve {
                by: "李四".into(),
                fix: "重启服务".into(),
            },
        )
        .await;
        desk.at(due + chrono::Duration::hours(2)).await;
    }
}

/// Progress counts working hours by default: a ticket left open over a
/// weekend and a holiday hears nothing until work resumes, and never at night.
#[tokio::test]
async fn no_progress_notice_outside_working_hours() {
    let sb = Sandbox::new(&format!(
        "{GROUPS}[calendar]\nholidays = [\"2023-10-16\"]\n"
    ));
    let mut desk = Desk::new(&sb);
    let friday = local(13, 16, 0);
    desk.clock.set(friday);
    let id = created(desk.mail("CRM 登录报错", "登录CRM提示数据库连接超时").await);
    desk.act(
        &id,
        Action::Step {
            by: "李四".into(),
            text: "联系厂商".into(),
        },
    )
    .await;
    let mut progress = Vec::new();
    let mut at = friday;
    while at <= local(17, 18, 0) {
        for m in to_requester(&desk.at(at).await) {
            if m.subject.contains("处理进展") {
                progress.push(at);
            }
        }
        at += chrono::Duration::minutes(15);
    }
    let shown: Vec<String> = progress
        .iter()
        .map(|t| {
            t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
                .to_string()
        })
        .collect();
    // Friday 16:00–18:00 and Tuesday 09:00–11:00 are four working hours;
    // the weekend and Monday's holiday count for nothing.
    assert_eq!(
        progress,
        vec![local(17, 11, 0), local(17, 15, 0)],
        "{shown:?}"
    );
}
