//! Who is speaking (SPEC §5), against the real Dovecot + Postfix: strangers
//! and forged senders change nothing, technicians work tickets by mail,
//! copied colleagues add information only, staff addresses are never held back
//! by the requesters' cap, and the CLI is for the staff group, under each
//! caller's own login.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use serde_json::Value;

use crate::email::{log_entries, mail, notice_ticket, notices, str_of, ALICE, HELPDESK, WAIT};
use crate::mailrig::MailRig;
use crate::support::{itdesk_bin, wait_until, Sandbox};

const MALLORY: (&str, &str) = ("Mallory", "mallory@example.test");
const BOB: (&str, &str) = ("鲍勃", "bob@example.test");
const TECH: (&str, &str) = ("李四", "tech@example.test");

/// Every group's mail goes to tech@; urgent pages to oncall@; the rig's own
/// server is the one whose Authentication-Results count.
fn staff_config(extra: &str) -> String {
    let groups: String = ["hardware", "software", "network", "access", "service-desk"]
        .iter()
        .map(|g| format!("[groups.{g}]\nemail = [\"{}\"]\n", TECH.1))
        .collect();
    format!(
        "{groups}[on_duty]\nemail = [\"oncall@example.test\"]\n[intake]\nauthserv_id = \"mx.example.test\"\n{extra}"
    )
}

fn ticket_of(sb: &Sandbox, id: &str) -> Value {
    sb.ticket(id)
}

/// Opens a ticket for alice (with bob on Cc) and returns its ID once alice
/// has the accepted notice.
fn alice_opens(rig: &MailRig, sb: &Sandbox) -> String {
    rig.send(
        ALICE.1,
        HELPDESK,
        &mail(
            ALICE,
            "CRM 登录报错",
            "crm-1@example.test",
            &format!("Cc: {} <{}>\r\n", BOB.0, BOB.1),
            "10:00 登录 CRM 提示“数据库连接超时”，影响客户跟进。\n",
        ),
    );
    wait_until("alice's accepted notice", WAIT, || {
        notices(rig, "alice").len() == 1
    });
    let id = notice_ticket(&notices(rig, "alice")[0]);
    wait_until("the ticket", WAIT, || !sb.tickets().is_empty());
    id
}

/// Every mail sent to the helpdesk delivered (Postfix may still hold the
/// last one when INBOX has nothing unseen) and processed.
fn all_processed(rig: &MailRig) {
    wait_until("every mail delivered and processed", WAIT, || {
        rig.count(HELPDESK, "INBOX") >= rig.submitted_to(HELPDESK)
            && rig.unseen(HELPDESK, "INBOX") == 0
    });
}

#[test]
fn strangers_and_forged_senders_change_nothing() {
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config(&staff_config("")));
    let daemon = sb.start_daemon();
    let id = alice_opens(&rig, &sb);
    sb.cli_ok(&["tickets", "resolve", &id, "--fix", "重启了服务"]);
    wait_until("alice's confirm-and-rate prompt", WAIT, || {
        notices(&rig, "alice").len() == 2
    });

    // A stranger answers the forwarded prompt.
    rig.send(
        MALLORY.1,
        HELPDESK,
        &mail(
            MALLORY,
            &format!("Re: [{id}] 已解决 1星 太差"),
            "mallory-1@evil.test",
            "",
            "已解决 1星 太差\n",
        ),
    );
    wait_until("the third party's entry", WAIT, || {
        log_entries(&ticket_of(&sb, &id), "third_party").len() == 1
    });
    // alice's own address, forged: the trusted server says DMARC failed.
    let forged = "Authentication-Results: mx.example.test; dmarc=fail (p=reject) header.from=example.test\r\n";
    rig.send(
        MALLORY.1,
        HELPDESK,
        &mail(
            ALICE,
            &format!("Re: [{id}] 已解决"),
            "forged-1@evil.test",
            forged,
            "已解决 1星\n",
        ),
    );
    wait_until("the forged mail's entry", WAIT, || {
        log_entries(&ticket_of(&sb, &id), "third_party").len() == 2
    });
    all_processed(&rig);
    let t = ticket_of(&sb, &id);
    assert_eq!(str_of(&t, "status"), "resolved", "{t}");
    assert!(t["rating"].is_null(), "a stranger rated the ticket: {t}");
    let entries = log_entries(&t, "third_party");
    assert_eq!(str_of(entries[0], "actor"), MALLORY.1);
    assert_eq!(entries[0]["public"], false);
    assert!(
        notices(&rig, "mallory").is_empty(),
        "the stranger was sent mail about the ticket"
    );
    // Staff are told.
    wait_until("the staff update about the third party", WAIT, || {
        notices(&rig, "tech")
            .iter()
            .any(|n| n.body.contains(MALLORY.1))
    });

    // The same verdict from a server nobody trusts is not believed: this is
    // alice (as far as anyone can tell), and her rating counts.
    let untrusted = "Authentication-Results: evil.test; dmarc=fail header.from=example.test\r\n";
    rig.send(
        ALICE.1,
        HELPDESK,
        &mail(
            ALICE,
            &format!("Re: [{id}] 已解决"),
            "alice-2@example.test",
            untrusted,
            "已解决 4星 很快\n",
        ),
    );
    wait_until("alice's confirmation", WAIT, || {
        str_of(&ticket_of(&sb, &id), "status") == "closed"
    });
    assert_eq!(ticket_of(&sb, &id)["rating"]["stars"], 4);

    // A forged new request is not answered: the real alice would get mail she never asked for.
    rig.send(
        MALLORY.1,
        HELPDESK,
        &mail(
            ALICE,
            "打印机坏了",
            "forged-2@evil.test",
            forged,
            "三楼打印机卡纸，无法打印合同。\n",
        ),
    );
    all_processed(&rig);
    assert_eq!(sb.tickets().len(), 1, "the forged request opened a ticket");
    let quarantined = sb.cli_json(&["quarantine", "list", "--json"]);
    assert!(
        quarantined.to_string().contains("dmarc=fail"),
        "{quarantined}"
    );
    daemon.stop();
}

#[test]
fn technicians_work_a_ticket_by_mail() {
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config(&staff_config("")));
    let daemon = sb.start_daemon();
    let id = alice_opens(&rig, &sb);

    // The group's address hears of the new ticket at once.
    wait_until("the new-ticket notice to the group", WAIT, || {
        notices(&rig, "tech")
            .iter()
            .any(|n| n.subject.contains(&id))
    });
    let card = notices(&rig, "tech")
        .into_iter()
        .find(|n| n.subject.contains(&id))
        .unwrap();
    assert!(card.body.contains("数据库连接超时"), "{}", card.body);
    assert!(card.body.contains("#resolve"), "{}", card.body);

    // The technician answers by mail: a message for alice, a note, a step.
    let reply = mail(
        TECH,
        &format!("Re: {}", card.subject),
        "tech-1@example.test",
        &format!("In-Reply-To: <{}>\r\n", card.message_id),
        &format!(
            "已远程重启了服务，请再试一次。\n#note 密码：Hunter22Secret 写在便签上\n#step 远程重启 CRM 服务\n\n在 2023年10月2日，IT Helpdesk <{HELPDESK}> 写道：\n> 新服务单 {id}\n"
        ),
    );
    rig.send(TECH.1, HELPDESK, &reply);
    wait_until("the technician's message in alice's mailbox", WAIT, || {
        notices(&rig, "alice")
            .iter()
            .any(|n| n.body.contains("已远程重启了服务"))
    });
    let t = ticket_of(&sb, &id);
    let note = log_entries(&t, "note");
    assert_eq!(note.len(), 1, "{t}");
    assert!(!str_of(note[0], "text").contains("Hunter22Secret"), "{t}");
    assert_eq!(str_of(note[0], "actor"), TECH.0);
    assert_eq!(log_entries(&t, "step").len(), 1, "{t}");
    assert_eq!(log_entries(&t, "relayed").len(), 1, "{t}");
    assert!(
        !notices(&rig, "alice")
            .iter()
            .any(|n| n.body.contains("便签")),
        "the internal note reached alice"
    );

    // A naive out-of-office on the group address: no RFC 3834 headers.
    let before = t["log"].as_array().unwrap().len();
    let alice_before = notices(&rig, "alice").len();
    rig.send(
        TECH.1,
        HELPDESK,
        &mail(
            TECH,
            &format!("Re: {}", card.subject),
            "tech-ooo@example.test",
            &format!("In-Reply-To: <{}>\r\n", card.message_id),
            "I am out of the office until Monday with limited access to email.\n",
        ),
    );
    all_processed(&rig);
    assert_eq!(
        ticket_of(&sb, &id)["log"].as_array().unwrap().len(),
        before,
        "the out-of-office reply changed the ticket"
    );

    // A copied colleague may add information, not confirm.
    rig.send(
        BOB.1,
        HELPDESK,
        &mail(
            BOB,
            &format!("Re: [{id}] CRM 登录报错"),
            "bob-1@example.test",
            "",
            "我这边也一样，10:05 也超时。\n",
        ),
    );
    wait_until("bob's entry", WAIT, || {
        ticket_of(&sb, &id)["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == BOB.1)
    });

    // One command resolves it, and alice is asked to confirm and rate.
    rig.send(
        TECH.1,
        HELPDESK,
        &mail(
            TECH,
            &format!("Re: [{id}] CRM 登录报错"),
            "tech-2@example.test",
            "",
            "#resolve 重启了服务\n",
        ),
    );
    wait_until("the ticket resolved by mail", WAIT, || {
        str_of(&ticket_of(&sb, &id), "status") == "resolved"
    });
    wait_until("alice's confirm-and-rate prompt", WAIT, || {
        notices(&rig, "alice").len() > alice_before
            && notices(&rig, "alice")
                .iter()
                .any(|n| n.body.contains("重启了服务") && n.body.contains('星'))
    });
    assert_eq!(str_of(&ticket_of(&sb, &id)["resolution"], "by"), TECH.0);

    // bob, copied, cannot close it for alice.
    rig.send(
        BOB.1,
        HELPDESK,
        &mail(
            BOB,
            &format!("Re: [{id}] 已解决"),
            "bob-2@example.test",
            "",
            "已解决 5星\n",
        ),
    );
    all_processed(&rig);
    let t = ticket_of(&sb, &id);
    assert_eq!(str_of(&t, "status"), "resolved", "{t}");
    assert!(t["rating"].is_null(), "{t}");
    daemon.stop();
}

#[test]
fn staff_pages_are_not_held_back_by_the_requesters_cap() {
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config(&staff_config(
        "[outbox]\nmax_notices_per_recipient_per_hour = 5\n",
    )));
    let daemon = sb.start_daemon();
    let pages = 100;
    for n in 0..pages {
        rig.send(
            ALICE.1,
            HELPDESK,
            &mail(
                ALICE,
                &format!("[紧急] 生产系统全部宕机 {n}"),
                &format!("urgent-{n}@example.test"),
                "",
                "所有人都无法登录生产系统，业务停止。\n",
            ),
        );
    }
    let urgent_pages = || {
        notices(&rig, "oncall")
            .iter()
            .filter(|n| n.subject.contains("紧急") || n.subject.contains("URGENT"))
            .count()
    };
    wait_until("every urgent page in oncall's mailbox", WAIT * 6, || {
        urgent_pages() == pages
    });
    let dead = sb.dead_letters();
    assert!(
        dead.iter()
            .all(|d| d["entry"]["body"]["notice"]["dest"]["to"] == ALICE.1),
        "only the requester's notices may be held back: {dead:?}"
    );
    assert!(!dead.is_empty(), "the requester's cap held nothing back");
    daemon.stop();
}

/// Makes `name` a Unix user (idempotent), with `group` as a supplementary group.
fn unix_user(name: &str, group: Option<&str>) {
    let exists = Command::new("id").arg("-u").arg(name).output().unwrap();
    if !exists.status.success() {
        let mut add = Command::new("useradd");
        add.args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
        ]);
        if let Some(g) = group {
            add.args(["--groups", g]);
        }
        let out = add
            .arg(name)
            .output()
            .expect("useradd (the tests run as root)");
        assert!(out.status.success(), "useradd {name}: {out:?}");
    }
}

fn cli_as(user: &str, sb: &Sandbox, args: &[&str]) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", user, "--"])
        .arg(itdesk_bin())
        .arg("--config")
        .arg(&sb.config)
        .args(args)
        .env("ITDESK_LOG", "warn")
        .output()
        .expect("runuser")
}

#[test]
fn the_cli_is_for_the_staff_group_under_each_callers_login() {
    let group = "itdesk-test-staff";
    let out = Command::new("groupadd")
        .args(["-f", group])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "groupadd (the tests run as root): {out:?}"
    );
    unix_user("itdesk-test-tech", Some(group));
    unix_user("itdesk-test-other", None);

    // The store is its owner's only (0700); the socket lives beside it, as
    // /run/itdesk does under the unit.
    let run = tempfile::tempdir().unwrap();
    let socket = run.path().join("control.sock");
    let sb = Sandbox::new(&format!(
        "[control]\ngroup = \"{group}\"\nsocket = \"{}\"\n",
        socket.display()
    ));
    // Staff must reach the config and the socket's directory.
    for path in [
        sb.dir.path().to_path_buf(),
        run.path().to_path_buf(),
        sb.config.clone(),
    ] {
        let mode = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let daemon = sb.start_daemon();
    let socket = std::fs::metadata(sb.socket()).unwrap();
    assert_eq!(socket.permissions().mode() & 0o777, 0o660);

    let opened = sb.cli_json(&[
        "tickets",
        "open",
        "--from",
        "a@example.test",
        "--subject",
        "VPN 断线",
        "--body",
        "VPN 每小时掉线一次，错误 809。",
        "--json",
    ]);
    let id = str_of(&opened, "id").to_string();

    let listed = cli_as("itdesk-test-tech", &sb, &["tickets", "list", "--json"]);
    assert!(listed.status.success(), "{listed:?}");
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&id));
    let noted = cli_as(
        "itdesk-test-tech",
        &sb,
        &[
            "tickets",
            "note",
            &id,
            "检查了 VPN 网关日志",
            "--by",
            "root",
        ],
    );
    assert!(noted.status.success(), "{noted:?}");

    let refused = cli_as("itdesk-test-other", &sb, &["tickets", "list", "--json"]);
    assert!(!refused.status.success(), "{refused:?}");
    // With --json the error is JSON on stdout.
    let why = String::from_utf8_lossy(&refused.stdout);
    assert!(
        why.contains("staff group") && why.contains("[control].group"),
        "{why}"
    );

    // Root's own step, with a secret in it.
    sb.cli_ok(&["tickets", "step", &id, "密码：Hunter22Secret"]);
    let t = sb.ticket(&id);
    let notes: Vec<&str> = log_entries(&t, "note")
        .iter()
        .map(|e| str_of(e, "actor"))
        .collect();
    assert_eq!(
        notes,
        ["root", "itdesk-test-tech (for root)"],
        "who opened it at the desk, then the login, never what --by claims: {t}"
    );
    let step = log_entries(&t, "step");
    assert_eq!(str_of(step[0], "actor"), "root");
    assert!(!t.to_string().contains("Hunter22Secret"), "{t}");

    // The requester phoned: a technician records the answer for them, logged as such.
    sb.cli_ok(&["tickets", "resolve", &id, "--fix", "重置了 VPN 配置"]);
    let closed = sb.cli_json(&["tickets", "confirm", &id, "--stars", "5", "--json"]);
    assert_eq!(str_of(&closed, "status"), "closed");
    assert_eq!(
        str_of(&closed["confirmation"], "by"),
        "root (for a@example.test)"
    );
    assert_eq!(closed["rating"]["stars"], 5);
    daemon.stop();
}
