//! Who handles a ticket (SPEC §2 处理人员, §3 escalation) against the real
//! daemon and mail servers: a group's rule assigns new tickets to its
//! members, and a ticket escalated to an outside contact (a vendor) gets
//! their reply back as an internal entry.

use std::collections::BTreeSet;

use crate::email::{mail, notices, str_of, HELPDESK, WAIT};
use crate::mailrig::MailRig;
use crate::process::{about, count, request, GROUPS};
use crate::support::{wait_until, Sandbox};

/// The vendor's support desk: an address the rig delivers to, which is no
/// staff's and no requester's.
const VENDOR: (&str, &str) = ("Vendor Support", "mallory@example.test");

/// SPEC §2 "handler: assigned by the system or by hand": a round-robin group
/// of four, one away, gives three tickets to the three present, logged as
/// the system's doing; the acceptance names the handler.
#[test]
fn a_round_robin_group_assigns_three_tickets_to_three_people() {
    let rig = MailRig::start();
    let groups = GROUPS.replace(
        "[groups.hardware]\nemail = [\"tech@example.test\"]\n",
        "[groups.hardware]\nemail = [\"tech@example.test\"]\nassign = \"round-robin\"\nmembers = [\"李四\", \"王五\", \"赵六\", \"钱七\"]\naway = [\"王五\"]\n",
    );
    let sb = Sandbox::new(&rig.config(&groups));
    let daemon = sb.start_daemon();

    let ids: Vec<String> = (1..=3)
        .map(|n| {
            request(
                &rig,
                &sb,
                &format!("打印机卡纸 {n} 号"),
                &format!("三楼 {n} 号打印机卡纸，无法打印。\n"),
            )
        })
        .collect();
    let mut handlers = BTreeSet::new();
    for id in &ids {
        let t = sb.ticket(id);
        assert_eq!(t["group"], "hardware", "{t}");
        let handler = str_of(&t, "assignee").to_string();
        let entry = t["log"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "assigned")
            .unwrap_or_else(|| panic!("no assignment logged: {t}"));
        assert_eq!(entry["actor"], "itdesk", "{t}");
        assert_eq!(
            str_of(entry, "text"),
            format!("assigned by the system to {handler}"),
            "{t}"
        );
        assert_eq!(
            t["status"], "new",
            "a system assignment acknowledges nothing"
        );
        handlers.insert(handler);
    }
    let want: BTreeSet<String> = ["李四", "赵六", "钱七"].map(String::from).into();
    assert_eq!(handlers, want, "three people, nobody away");
    let first = str_of(&sb.ticket(&ids[0]), "assignee").to_string();
    wait_until("the acceptance naming the handler", WAIT, || {
        about(&rig, "alice", &ids[0])
            .iter()
            .any(|n| n.body.contains(&format!("处理人员：{first}")))
    });
    daemon.stop();
}

/// SPEC §3 "may escalate to … a vendor": `--to vendor-x` mails the contact
/// the masked summary; their reply, sent through the real SMTP server,
/// threads onto the ticket as an internal entry, tells the group, and is not
/// relayed to the requester. The reason is required.
#[test]
fn a_vendors_reply_threads_onto_the_escalated_ticket_as_internal() {
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config(&format!(
        "{GROUPS}[contacts.vendor-x]\nemail = \"{}\"\nname = \"{}\"\n",
        VENDOR.1, VENDOR.0
    )));
    let daemon = sb.start_daemon();
    let id = request(
        &rig,
        &sb,
        "打印机驱动报错",
        "安装新驱动后打印机报错 0x0000011b，我的密码：Hunter2abc\n",
    );

    let no_reason = sb.cli(&["tickets", "escalate", &id, "--to", "vendor-x"]);
    assert!(!no_reason.status.success());
    assert!(
        String::from_utf8_lossy(&no_reason.stderr).contains("--reason"),
        "{}",
        String::from_utf8_lossy(&no_reason.stderr)
    );
    let unknown = sb.cli(&[
        "tickets", "escalate", &id, "--to", "vendor-y", "--reason", "x",
    ]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("[contacts.vendor-y]"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    sb.cli_ok(&[
        "tickets",
        "escalate",
        &id,
        "--to",
        "vendor-x",
        "--reason",
        "驱动问题需厂商分析",
        "--by",
        "李四",
    ]);
    wait_until("the vendor's request for support", WAIT, || {
        count(&about(&rig, "mallory", &id), "Request for support") == 1
    });
    let asked = about(&rig, "mallory", &id).remove(0);
    assert!(asked.body.contains("0x0000011b"), "{}", asked.body);
    assert!(asked.body.contains("驱动问题需厂商分析"), "{}", asked.body);
    assert!(!asked.body.contains("Hunter2abc"), "masked: {}", asked.body);
    assert!(!asked.body.contains("alice@"), "{}", asked.body);
    let t = sb.ticket(&id);
    assert_eq!(t["status"], "escalated", "{t}");

    let reply = mail(
        VENDOR,
        &format!("Re: {}", asked.subject),
        "vendor-reply-1@example.test",
        &format!("In-Reply-To: <{}>\r\n", asked.message_id),
        "Please roll back to driver 5.2; 0x0000011b is a known issue.\n",
    );
    rig.send(VENDOR.1, HELPDESK, &reply);
    let mut entry = serde_json::Value::Null;
    wait_until("the vendor's entry on the ticket", WAIT, || {
        let t = sb.ticket(&id);
        entry = t["log"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "contact")
            .cloned()
            .unwrap_or_default();
        !entry.is_null()
    });
    assert_eq!(entry["actor"], VENDOR.0, "{entry}");
    assert_eq!(entry["public"], false, "{entry}");
    assert!(
        str_of(&entry, "text").contains("roll back to driver 5.2"),
        "{entry}"
    );
    wait_until("the group told", WAIT, || {
        notices(&rig, "tech")
            .iter()
            .any(|n| n.body.contains("roll back to driver 5.2"))
    });
    assert!(
        !about(&rig, "alice", &id)
            .iter()
            .any(|n| n.body.contains("driver 5.2")),
        "not relayed to the requester"
    );
    daemon.stop();
}

/// SPEC §3 step 5, "build guides for frequent problems": `itdesk faq` lists,
/// per recurring problem, the fixes requesters confirmed; an unconfirmed
/// fix is no advice.
#[test]
fn the_faq_lists_the_confirmed_fixes_of_a_recurring_problem() {
    let sb = Sandbox::new("");
    let open = |subject: &str| sb.open_vpn_request(subject);
    for (subject, fix, confirmed) in [
        ("VPN 断线", "重装 VPN 客户端", true),
        ("VPN 经常断线", "重装 VPN 客户端", true),
        ("VPN 又断线了", "重启电脑", false),
    ] {
        let id = open(subject);
        sb.cli_ok(&["tickets", "resolve", &id, "--fix", fix, "--by", "李四"]);
        if confirmed {
            sb.cli_ok(&["tickets", "confirm", &id, "--stars", "5", "--by", "李四"]);
        }
    }
    let md = sb.cli_ok(&["faq", "--markdown", "--lang", "zh-CN"]);
    assert!(md.contains("# 常见问题及有效解决方法"), "{md}");
    assert!(md.contains("- 重装 VPN 客户端 (2)"), "{md}");
    assert!(!md.contains("重启电脑"), "{md}");
    let entries = sb.cli_json(&["faq", "--json", "--period", "2000-01-01..2000-01-31"]);
    assert_eq!(entries, serde_json::json!([]), "nothing resolved then");
}
