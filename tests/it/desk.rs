//! Technicians' `/desk` commands and the help channel's panel against the
//! fake Discord, and a zh-CN helpdesk whose bot answers in Chinese only.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{json, Value};

use crate::discord::{content, is_private, sub, Chat};
use crate::fake_discord::{ALICE, BOB, GUILD, HELP_CHANNEL, OUTSIDER, TECH};
use crate::support::wait_until;

const WAIT: std::time::Duration = std::time::Duration::from_secs(15);

fn text(name: &str, value: &str) -> Value {
    json!({"name": name, "type": 3, "value": value})
}

/// The answer to a `/desk` command by `user` in `channel`.
fn desk(chat: &Chat, user: u64, channel: u64, name: &str, options: Value) -> Value {
    let id = chat.fake.command(user, channel, "desk", sub(name, options));
    chat.fake.response(id)
}

/// `/desk` is registered hidden from members without Manage Threads; close,
/// eta, ask, note, step and transcript work a ticket from its thread, and
/// someone outside the technician role changes nothing with any of them.
#[test]
fn desk_commands_work_a_ticket_and_refuse_others() {
    let chat = Chat::start("");
    let registered = chat
        .fake
        .calls()
        .into_iter()
        .find(|c| c.method == "PUT" && c.path.contains(&format!("/guilds/{GUILD}/commands")))
        .expect("/desk registered in the guild");
    let desk_command = &registered.body[0];
    assert_eq!(desk_command["name"], "desk");
    assert_eq!(
        desk_command["default_member_permissions"], "17179869184",
        "hidden unless Manage Threads (or the admin's grant): {desk_command}"
    );

    chat.fake.dm(ALICE, "CRM 登录报错：数据库连接超时");
    let id = chat.wait_tickets(1);
    let thread = chat.wait_thread(&id, "software");

    // Forged: a member without the technician role, in the thread itself.
    for (name, options) in [
        ("close", json!([text("reason", "关掉")])),
        ("note", json!([text("text", "外人写的")])),
        ("transcript", json!([])),
        ("panel", json!([])),
        (
            "eta",
            json!([text("when", "2099-01-01 10:00"), text("reason", "x")]),
        ),
    ] {
        let answer = desk(&chat, OUTSIDER, thread, name, options);
        assert!(
            is_private(&answer) && content(&answer).contains("Only members of the technician role"),
            "/desk {name} by an outsider: {answer}"
        );
    }
    assert!(!chat.log_texts(&id).iter().any(|l| l.contains("外人写的")));
    assert_eq!(chat.ticket(&id)["status"], "new", "nothing changed");
    assert!(chat
        .fake
        .bot_posts(thread)
        .iter()
        .all(|m| !m["components"].to_string().contains("open:panel")));

    let step = desk(
        &chat,
        TECH,
        thread,
        "step",
        json!([text("text", "远程检查了数据库连接池")]),
    );
    assert!(content(&step).contains("step by lisi"), "{step}");
    let note = desk(
        &chat,
        TECH,
        thread,
        "note",
        json!([text("text", "可能是连接池满了")]),
    );
    assert!(!is_private(&note), "{note}");
    let ask = desk(
        &chat,
        TECH,
        thread,
        "ask",
        json!([text("text", "报错是几点开始的？")]),
    );
    assert!(content(&ask).contains(&id), "{ask}");
    chat.wait_dm(ALICE, "报错是几点开始的");
    let t = chat.ticket(&id);
    let log = t["log"].as_array().unwrap();
    let entry = |needle: &str| {
        log.iter()
            .find(|e| e["text"].as_str().unwrap_or_default().contains(needle))
            .unwrap_or_else(|| panic!("{needle} logged: {t}"))
    };
    assert_eq!(
        entry("可能是连接池满了")["public"],
        false,
        "a note stays internal"
    );
    entry("远程检查了数据库连接池");

    let bad = desk(
        &chat,
        TECH,
        thread,
        "eta",
        json!([text("when", "明天下午"), text("reason", "等厂商")]),
    );
    assert!(
        is_private(&bad) && content(&bad).contains("not a date and time"),
        "{bad}"
    );
    let eta = desk(
        &chat,
        TECH,
        thread,
        "eta",
        json!([
            text("when", "2099-01-01 10:00"),
            text("reason", "等厂商回复")
        ]),
    );
    assert!(content(&eta).contains("ETA by lisi"), "{eta}");
    assert!(chat.log_texts(&id).iter().any(|l| l.contains("等厂商回复")));

    let transcript = desk(&chat, TECH, thread, "transcript", json!([]));
    assert!(
        is_private(&transcript)
            && content(&transcript).contains(&id)
            && content(&transcript).contains("数据库连接超时"),
        "{transcript}"
    );
    let audit = chat.sb.cli_json(&["audit", "--json"]);
    assert!(audit.to_string().contains("chat transcript"), "{audit}");

    let close = desk(
        &chat,
        TECH,
        thread,
        "close",
        json!([text("reason", "用户确认已恢复")]),
    );
    assert!(content(&close).contains("close by lisi"), "{close}");
    assert_eq!(chat.ticket(&id)["status"], "closed");
    chat.stop();
}

/// A technician posts the panel in the help channel; anyone's press opens
/// the form, and the form opens a ticket classified from its text.
#[test]
fn the_panel_opens_a_ticket_through_its_form() {
    let chat = Chat::start("");
    let posted = desk(&chat, TECH, HELP_CHANNEL, "panel", json!([]));
    assert!(is_private(&posted), "{posted}");
    let mut panel = 0;
    wait_until("the panel in the help channel", WAIT, || {
        panel = chat
            .fake
            .bot_posts(HELP_CHANNEL)
            .iter()
            .find(|m| m["components"].to_string().contains("open:panel"))
            .and_then(|m| m["id"].as_str()?.parse().ok())
            .unwrap_or(0);
        panel != 0
    });
    let press = chat.fake.press(BOB, HELP_CHANNEL, panel, "open:panel");
    let form = chat.fake.response(press);
    assert_eq!(
        (form["type"].as_u64(), form["data"]["custom_id"].as_str()),
        (Some(9), Some("new:panel")),
        "{form}"
    );
    let submit = chat.fake.submit(
        BOB,
        HELP_CHANNEL,
        "new:panel",
        &[
            ("description", "VPN 连不上，提示错误 809"),
            ("contact", "分机 8002"),
        ],
    );
    let id = chat.wait_tickets(1);
    assert!(is_private(&chat.fake.response(submit)));
    let t = chat.ticket(&id);
    assert_eq!(t["type"], "network", "the keywords decide: {t}");
    assert_eq!(t["requester"]["chat_user"], BOB.to_string());
    chat.stop();
}

/// Three or more English words in a row: a reply that was not translated.
static ENGLISH_RUN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z][A-Za-z'’-]*(?:[ \t]+[A-Za-z][A-Za-z'’-]*){2,}").unwrap()
});
/// What may stay Latin: mentions, links, ids, `/desk` and mail `#commands`.
static ALLOWED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"https?://\S+|[\w.+-]+@[\w.-]+|<[^>]*>|/desk|#[a-z]+\b[^\p{Han}\n]*").unwrap()
});

fn english_runs(text: &str) -> Vec<String> {
    let cleaned = ALLOWED.replace_all(text, " ");
    ENGLISH_RUN
        .find_iter(&cleaned)
        .map(|m| m.as_str().to_string())
        .collect()
}

/// Under `default_language = "zh-CN"` every reply the bot posts to a Chinese
/// requester and in the staff's threads — acknowledgements, refusals, the
/// answers to commands, buttons and forms — is Chinese.
#[test]
fn a_zh_cn_desk_answers_in_chinese_only() {
    let chat = Chat::start_in("zh-CN", "");
    chat.fake.dm(ALICE, "打印机卡纸了，打不出合同");
    let id = chat.wait_tickets(1);
    let thread = chat.wait_thread(&id, "hardware");
    chat.fake.dm(ALICE, "补充：是三楼那台");
    chat.wait_dm(ALICE, "已补充到服务单");
    chat.fake.post(ALICE, HELP_CHANNEL, "显示器闪屏", true);
    chat.wait_tickets(2);

    let mut answers = vec![
        desk(&chat, OUTSIDER, thread, "claim", json!([])),
        desk(&chat, TECH, thread, "claim", json!([])),
        desk(&chat, TECH, thread, "claim", json!([])),
        desk(
            &chat,
            TECH,
            thread,
            "eta",
            json!([text("when", "明天"), text("reason", "等配件")]),
        ),
        desk(
            &chat,
            TECH,
            HELP_CHANNEL,
            "step",
            json!([text("text", "不在线程里")]),
        ),
        desk(
            &chat,
            TECH,
            thread,
            "resolve",
            json!([text("fix", "清理了卡纸")]),
        ),
    ];
    let dm = chat.fake.dm_channel_of(ALICE);
    let mut confirm = 0;
    wait_until("the confirm-and-rate DM", WAIT, || {
        confirm = chat
            .fake
            .bot_posts(dm)
            .iter()
            .find(|m| {
                m["components"]
                    .to_string()
                    .contains(&format!("rate:{id}:5"))
            })
            .and_then(|m| m["id"].as_str()?.parse().ok())
            .unwrap_or(0);
        confirm != 0
    });
    let outsider = chat.fake.press(BOB, dm, confirm, &format!("rate:{id}:5"));
    answers.push(chat.fake.response(outsider));
    let rate = chat
        .fake
        .submit(ALICE, dm, &format!("remark:{id}:5"), &[("remark", "很快")]);
    answers.push(chat.fake.response(rate));
    assert_eq!(chat.ticket(&id)["status"], "closed");

    let mut replies: Vec<String> = answers.iter().map(content).collect();
    replies.extend(chat.fake.dms_to(ALICE));
    for channel in [thread, HELP_CHANNEL] {
        replies.extend(
            chat.fake
                .bot_posts(channel)
                .iter()
                .map(|m| m["content"].as_str().unwrap_or_default().to_string()),
        );
    }
    assert!(
        replies.iter().any(|r| r.contains("只有技术人员角色")),
        "{replies:#?}"
    );
    assert!(
        replies.iter().any(|r| r.contains("感谢评价")),
        "{replies:#?}"
    );
    for reply in &replies {
        let runs = english_runs(reply);
        assert!(
            runs.is_empty(),
            "English in a zh-CN reply: {runs:?} in {reply:?}"
        );
    }
    chat.stop();
}

#[test]
fn english_runs_are_found_and_mentions_are_not() {
    assert_eq!(
        english_runs("未更改：ticket is already closed"),
        vec!["ticket is already closed"]
    );
    assert!(
        english_runs("<@9000000000001001> IT20231001001：服务单已受理 /desk VPN Cisco").is_empty()
    );
}
