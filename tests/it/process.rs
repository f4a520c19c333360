//! The helpdesk's own process (SPEC §3–4) against the real daemon and the
//! real mail servers, with the SLA figures shrunk to seconds: the requester
//! hears before and at the breach, an urgency the text contradicts is lowered
//! and pages nobody, and an unacknowledged ticket reminds its group.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{FixedOffset, Utc};
use serde_json::Value;

use crate::email::{mail, notice_ticket, notices, str_of, ALICE, HELPDESK, WAIT};
use crate::mailrig::{MailRig, ParsedMail};
use crate::support::{wait_until, Sandbox};

/// Every group of the default routing, mailing `tech@`.
pub(crate) const GROUPS: &str = "[groups.hardware]\nemail = [\"tech@example.test\"]\n[groups.software]\nemail = [\"tech@example.test\"]\n[groups.network]\nemail = [\"tech@example.test\"]\n[groups.access]\nemail = [\"tech@example.test\"]\n[groups.service-desk]\nemail = [\"tech@example.test\"]\n";

/// Sends alice's request and waits for its ticket; returns the ticket's ID.
pub(crate) fn request(rig: &MailRig, sb: &Sandbox, subject: &str, body: &str) -> String {
    static SENT: AtomicUsize = AtomicUsize::new(0);
    let message_id = format!(
        "process-{}@example.test",
        SENT.fetch_add(1, Ordering::Relaxed)
    );
    rig.send(
        ALICE.1,
        HELPDESK,
        &mail(ALICE, subject, &message_id, "", body),
    );
    let mut id = String::new();
    wait_until(&format!("the ticket for {subject}"), WAIT, || {
        let found = sb.tickets().into_iter().find(|t| t["subject"] == subject);
        id = found
            .map(|t| str_of(&t, "id").to_string())
            .unwrap_or_default();
        !id.is_empty()
    });
    id
}

/// Our notices about ticket `id` in `user`'s mailbox.
pub(crate) fn about(rig: &MailRig, user: &str, id: &str) -> Vec<ParsedMail> {
    notices(rig, user)
        .into_iter()
        .filter(|n| notice_ticket(n) == id)
        .collect()
}

pub(crate) fn count(notices: &[ParsedMail], subject_has: &str) -> usize {
    notices
        .iter()
        .filter(|n| n.subject.contains(subject_has))
        .count()
}

pub(crate) fn log_texts(ticket: &Value) -> Vec<String> {
    ticket["log"]
        .as_array()
        .expect("log")
        .iter()
        .map(|e| str_of(e, "text").to_string())
        .collect()
}

/// SPEC §3: "If a target will be missed, the requester is told before it
/// passes, with the reason and a new ETA." Ticket A is left alone: its
/// requester gets the pre-breach notice and, at the target, the escalation,
/// once each. Ticket B gets a new ETA from staff first: its requester hears of
/// that and of nothing automatic.
#[test]
fn the_requester_hears_before_and_at_the_breach_once_each() {
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config(
        "[sla]\nmedium = \"16s\"\nbreach_warning_ratio = 0.5\n[escalation]\nemail = [\"bob@example.test\"]\n",
    ));
    let daemon = sb.start_daemon();

    let b = request(
        &rig,
        &sb,
        "打印机报错 E-202",
        "三楼的打印机显示错误代码 E-202，无法打印。\n",
    );
    let tomorrow = (Utc::now() + chrono::Duration::days(1))
        .with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap())
        .format("%Y-%m-%d %H:%M")
        .to_string();
    sb.cli_ok(&[
        "tickets",
        "eta",
        &b,
        &tomorrow,
        "--reason",
        "等待厂商备件",
        "--by",
        "李四",
    ]);
    // Created after B, so B's original warning and target fall due first.
    let a = request(
        &rig,
        &sb,
        "打印机报错 E-101",
        "三楼的打印机显示错误代码 E-101，无法打印。\n",
    );

    wait_until(
        "A's pre-breach and escalation notices",
        Duration::from_secs(60),
        || {
            let n = about(&rig, "alice", &a);
            count(&n, "无法按时完成") >= 1 && count(&n, "已升级处理") >= 1
        },
    );
    wait_until("the lead's breach notice", WAIT, || {
        count(&about(&rig, "bob", &a), "Target missed") == 1
    });
    sb.cli_ok(&[
        "tickets",
        "resolve",
        &a,
        "--fix",
        "更换定影器",
        "--by",
        "李四",
    ]);
    wait_until("A's confirm-and-rate request", WAIT, || {
        count(&about(&rig, "alice", &a), "问题已解决") == 1
    });

    let to_a = about(&rig, "alice", &a);
    assert_eq!(count(&to_a, "无法按时完成"), 1, "{to_a:#?}");
    assert_eq!(count(&to_a, "已升级处理"), 1, "{to_a:#?}");
    let delayed = to_a
        .iter()
        .find(|n| n.subject.contains("无法按时完成"))
        .unwrap();
    for needle in ["原因：", "新的预计完成时间："] {
        assert!(delayed.body.contains(needle), "{needle}:\n{}", delayed.body);
    }
    let escalated = to_a
        .iter()
        .find(|n| n.subject.contains("已升级处理"))
        .unwrap();
    assert!(escalated.body.contains("技术主管"), "{}", escalated.body);

    let to_b = about(&rig, "alice", &b);
    let subjects: Vec<&str> = to_b.iter().map(|n| n.subject.as_str()).collect();
    assert_eq!(count(&to_b, "服务单已受理"), 1, "{subjects:?}");
    assert_eq!(count(&to_b, "预计完成时间调整"), 1, "{subjects:?}");
    assert_eq!(to_b.len(), 2, "nothing automatic for B: {subjects:?}");
    let eta_changed = to_b
        .iter()
        .find(|n| n.subject.contains("预计完成时间调整"))
        .unwrap();
    assert!(
        eta_changed.body.contains("等待厂商备件"),
        "{}",
        eta_changed.body
    );
    let b_now = sb.ticket(&b);
    assert_ne!(b_now["status"], "escalated", "{b_now}");
    assert!(b_now["revised_eta"].is_null(), "{b_now}");
    daemon.stop();
}

/// SPEC §4 "don't inflate urgency": `[紧急]` on a key that sticks, with
/// "不影响工作", becomes low, says why, and pages nobody; a real outage still
/// pages. Staff can raise it again, with a reason the requester is told.
#[test]
fn a_contradicted_urgency_is_lowered_and_pages_nobody() {
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config("[on_duty]\nemail = [\"oncall@example.test\"]\n"));
    let daemon = sb.start_daemon();

    let key = request(
        &rig,
        &sb,
        "[紧急] 键盘有个键不灵",
        "键盘的 F5 键按下去没反应，不影响工作。\n",
    );
    let outage = request(
        &rig,
        &sb,
        "[紧急] 全部门无法上网",
        "整个销售部都上不了网，业务中断。\n",
    );
    wait_until("the page for the outage", WAIT, || {
        count(&about(&rig, "oncall", &outage), "URGENT") == 1
    });
    wait_until("the acceptance of the key", WAIT, || {
        count(&about(&rig, "alice", &key), "服务单已受理") == 1
    });
    assert_eq!(about(&rig, "oncall", &key).len(), 0, "no page for the key");
    let t = sb.ticket(&key);
    assert_eq!(t["urgency"], "low", "{t}");
    assert!(
        log_texts(&t)
            .iter()
            .any(|l| l.starts_with("urgency lowered: text says 不影响工作")),
        "{t}"
    );
    let accepted = about(&rig, "alice", &key).remove(0);
    assert!(
        accepted
            .body
            .contains("您标注的紧急程度为“紧急”，但您在描述中提到“不影响工作”"),
        "{}",
        accepted.body
    );
    assert_eq!(sb.ticket(&outage)["urgency"], "urgent");

    let no_reason = sb.cli(&["tickets", "urgency", &key, "urgent", "--by", "李四"]);
    assert!(!no_reason.status.success(), "a raise needs a reason");
    assert!(
        String::from_utf8_lossy(&no_reason.stderr).contains("reason"),
        "{}",
        String::from_utf8_lossy(&no_reason.stderr)
    );
    sb.cli_ok(&[
        "tickets",
        "urgency",
        &key,
        "urgent",
        "--reason",
        "是前台收银机的键盘",
        "--by",
        "李四",
    ]);
    wait_until("the requester told, and on-duty paged", WAIT, || {
        count(&about(&rig, "alice", &key), "紧急程度调整为") == 1
            && count(&about(&rig, "oncall", &key), "URGENT") == 1
    });
    let told = about(&rig, "alice", &key)
        .into_iter()
        .find(|n| n.subject.contains("紧急程度调整为"))
        .unwrap();
    assert!(
        told.body.contains("原因：是前台收银机的键盘"),
        "{}",
        told.body
    );
    assert!(
        log_texts(&sb.ticket(&key))
            .iter()
            .any(|l| l == "urgency low → urgent: 是前台收银机的键盘"),
        "logged"
    );
    daemon.stop();
}

/// SPEC §3 "acknowledged within 1 hour" (shrunk: 3 s, urgent 1 s): nobody
/// claims either ticket, so the group is reminded of each, once.
#[test]
fn an_unacknowledged_ticket_reminds_its_group() {
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config(&format!(
        "{GROUPS}[sla]\nack = \"3s\"\nack_urgent = \"1s\"\n"
    )));
    let daemon = sb.start_daemon();
    let plain = request(
        &rig,
        &sb,
        "打印机报错 E-303",
        "三楼的打印机显示错误代码 E-303，无法打印。\n",
    );
    let urgent = request(
        &rig,
        &sb,
        "[紧急] 全部门打印机无法使用",
        "整个财务部都无法打印，业务中断。\n",
    );
    wait_until("both reminders", Duration::from_secs(30), || {
        count(&about(&rig, "tech", &plain), "Not acknowledged yet") == 1
            && count(&about(&rig, "tech", &urgent), "Not acknowledged yet") == 1
    });
    for id in [&plain, &urgent] {
        let reminder = about(&rig, "tech", id)
            .into_iter()
            .find(|n| n.subject.contains("Not acknowledged yet"))
            .unwrap();
        assert!(
            reminder.body.contains("has not been acknowledged"),
            "{}",
            reminder.body
        );
        assert!(
            log_texts(&sb.ticket(id))
                .iter()
                .any(|l| l.starts_with("not acknowledged")),
            "the reminder is in the handling log"
        );
    }
    daemon.stop();
}
