//! A ticket's life through the whole daemon with `[feishu]` pointed at the
//! fake Feishu (`fake_feishu.rs`), as `discord.rs` has it for Discord: a DM
//! opens a ticket, a technician's words reach a chat requester and an email
//! requester's real mailbox, the requester rates from the card, urgent tickets
//! page the on-duty people until claimed, a dropped long connection loses and
//! doubles nothing, and forged presses or strangers' words change nothing.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fake_feishu::{
    FakeFeishu, ALICE, APP_SECRET, BOB, ON_DUTY, ON_DUTY_CHAT, STRANGER, TECH,
};
use crate::mailrig::MailRig;
use crate::support::{wait_until, Daemon, Sandbox};

const WAIT: Duration = Duration::from_secs(30);

/// The daemon, its sandbox and the fake Feishu it talks to.
struct Desk {
    fake: FakeFeishu,
    sb: Sandbox,
    daemon: Option<Daemon>,
    _secret: tempfile::TempDir,
}

impl Desk {
    /// With a mail rig, the config has its [imap]/[smtp] too; `extra` is
    /// appended.
    fn start(rig: Option<&MailRig>, extra: &str) -> Desk {
        let fake = FakeFeishu::start();
        let secret = tempfile::tempdir().expect("temp dir");
        let secret_file = secret.path().join("feishu.secret");
        std::fs::write(&secret_file, format!("{APP_SECRET}\n")).expect("secret file");
        let mut config = format!(
            "[feishu]\napp_id = \"{}\"\napp_secret_file = \"{}\"\nbase_url = \"{}\"\ntechnicians = [\"{TECH}\"]\non_duty_chat = \"{ON_DUTY_CHAT}\"\non_duty = [\"{ON_DUTY}\"]\n\n[feishu.group_chats]\n",
            crate::fake_feishu::APP_ID,
            secret_file.display(),
            fake.base_url
        );
        for (group, chat) in crate::fake_feishu::GROUP_CHATS {
            config.push_str(&format!("\"{group}\" = \"{chat}\"\n"));
        }
        config.push_str(extra);
        let sb = match rig {
            Some(rig) => Sandbox::new(&rig.config(&config)),
            None => Sandbox::new(&config),
        };
        // The chat seam's debug lines say when the engine saw a message before.
        let daemon =
            sb.start_daemon_with(&[], &[("ITDESK_LOG", "info,itdesk::channels::chat=debug")]);
        fake.wait_connected(1);
        Desk {
            fake,
            sb,
            daemon: Some(daemon),
            _secret: secret,
        }
    }

    /// Waits until there are `n` tickets; returns the newest one's ID.
    fn wait_tickets(&self, n: usize) -> String {
        wait_until(&format!("{n} ticket(s)"), WAIT, || {
            self.sb.tickets().len() >= n
        });
        let tickets = self.sb.tickets();
        assert_eq!(tickets.len(), n, "exactly {n} ticket(s)");
        tickets[n - 1]["id"].as_str().expect("id").to_string()
    }

    /// The ticket's topic thread, once the bot opened it under the ticket's
    /// card in `group`'s chat.
    fn wait_thread(&self, id: &str, group: &str) -> String {
        let chat = crate::fake_feishu::group_chat(group);
        let mut thread = None;
        wait_until(&format!("a thread for {id} in {group}"), WAIT, || {
            let cards = self.fake.messages(chat);
            thread = self.fake.threads().into_iter().find_map(|(t, c, root)| {
                let card = cards.iter().find(|m| m.message_id == root)?;
                (c == chat && card.content.contains(id)).then_some(t)
            });
            thread.is_some()
        });
        if let Some(daemon) = &self.daemon {
            daemon.wait_thread_linked(id);
        }
        thread.expect("checked")
    }

    fn wait_dm(&self, user: &str, needle: &str) {
        wait_until(&format!("a DM to {user} saying {needle:?}"), WAIT, || {
            self.fake
                .dms_to(user)
                .iter()
                .any(|m| m.text().contains(needle))
        });
    }

    /// How many of the bot's DMs to `user` contain `needle`.
    fn dm_count(&self, user: &str, needle: &str) -> usize {
        self.fake
            .dms_to(user)
            .iter()
            .filter(|m| m.text().contains(needle))
            .count()
    }

    /// The daemon's log lines containing `needle`, colours stripped.
    fn log_lines(&self, needle: &str) -> Vec<String> {
        let text = self
            .daemon
            .as_ref()
            .map(Daemon::log_text)
            .unwrap_or_default();
        text.lines()
            .map(strip_colours)
            .filter(|l| l.contains(needle))
            .collect()
    }

    fn ticket(&self, id: &str) -> Value {
        self.sb.ticket(id)
    }

    fn log_texts(&self, id: &str) -> Vec<String> {
        self.ticket(id)["log"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The bot's card in `user`'s chat with a button whose value says `act`
    /// for ticket `id`; its message id.
    fn wait_card(&self, user: &str, act: &str, id: &str) -> String {
        let mut found = None;
        wait_until(&format!("a {act} card for {id} to {user}"), WAIT, || {
            found = self
                .fake
                .dms_to(user)
                .into_iter()
                .find(|m| has_button(m, act, id))
                .map(|m| m.message_id);
            found.is_some()
        });
        found.expect("checked")
    }

    /// Resolves the ticket from the command line and waits for the
    /// requester's rating card; its message id.
    fn resolve(&self, id: &str, requester: &str) -> String {
        self.sb
            .cli_ok(&["tickets", "resolve", id, "--fix", "换了硒鼓"]);
        self.wait_card(requester, "rate", id)
    }

    /// Stops the daemon; no notice may have ended as a dead letter.
    fn stop(mut self) {
        let outbox = self.sb.cli_json(&["outbox", "list", "--json"]);
        assert_eq!(outbox["dead_letters"], json!([]), "dead letters: {outbox}");
        if let Some(daemon) = self.daemon.take() {
            daemon.stop();
        }
    }
}

impl Drop for Desk {
    /// A failing test shows what the daemon said.
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(daemon) = &self.daemon {
                eprintln!("daemon log:\n{}", daemon.log_text());
            }
        }
    }
}

/// A log line without its ANSI colour codes.
fn strip_colours(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| *c == 'm');
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a card has a button whose value is `{"act": act, "ticket": id, …}`.
fn has_button(m: &crate::fake_feishu::Msg, act: &str, id: &str) -> bool {
    m.msg_type == "interactive"
        && buttons(&m.card())
            .iter()
            .any(|v| v["act"] == act && v["ticket"] == id)
}

/// The values of every button of a card.
fn buttons(card: &Value) -> Vec<Value> {
    let mut values = Vec::new();
    collect_buttons(card, &mut values);
    values
}

fn collect_buttons(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            if map.get("tag").and_then(Value::as_str) == Some("button") {
                if let Some(value) = map.get("value") {
                    out.push(value.clone());
                }
            }
            map.values().for_each(|v| collect_buttons(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_buttons(v, out)),
        _ => {}
    }
}

/// A DM opens a ticket, the requester hears it was accepted, the ticket card
/// opens a topic thread in its group's chat, and a technician's message there
/// reaches the requester.
#[test]
fn the_daemon_takes_a_dm_to_a_ticket_and_relays_the_technician() {
    let desk = Desk::start(None, "");
    desk.fake.dm(ALICE, "打印机坏了，无法打印");
    let id = desk.wait_tickets(1);
    desk.wait_dm(ALICE, &id);
    let thread = desk.wait_thread(&id, "hardware");
    desk.fake
        .post_in_thread(TECH, &thread, "请重启打印机再试一次");
    desk.wait_dm(ALICE, "请重启打印机再试一次");
    desk.stop();
}

/// What a technician writes in the topic thread of a ticket opened by mail
/// arrives in the requester's real mailbox.
#[test]
fn a_technicians_thread_message_reaches_an_email_requester_by_mail() {
    let rig = MailRig::start();
    let desk = Desk::start(Some(&rig), "");
    let request = "From: 张三 <alice@example.test>\r\nTo: helpdesk@example.test\r\nSubject: =?UTF-8?B?Q1JN55m75b2V5oql6ZSZ?=\r\nMessage-ID: <feishu-mail-1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n登录CRM提示数据库连接超时，影响客户跟进。\r\n";
    rig.send(
        "alice@example.test",
        "helpdesk@example.test",
        request.as_bytes(),
    );
    let id = desk.wait_tickets(1);
    let thread = desk.wait_thread(&id, "software");
    desk.fake
        .post_in_thread(TECH, &thread, "请重启一下浏览器后再登录");
    wait_until("the relayed message in alice's mailbox", WAIT, || {
        rig.messages("alice", "INBOX")
            .iter()
            .any(|m| m.subject.contains(&id) && m.body.contains("请重启一下浏览器后再登录"))
    });
    desk.stop();
}

/// The requester presses ★★★★ on the confirm-and-rate card, the card becomes
/// the remark form, and its submit stores the rating and closes the ticket.
#[test]
fn the_requester_rates_the_ticket_from_the_card() {
    let desk = Desk::start(None, "");
    desk.fake.dm(ALICE, "打印机卡纸了，清过还是卡");
    let id = desk.wait_tickets(1);
    let card = desk.resolve(&id, ALICE);
    desk.fake.press(
        ALICE,
        &card,
        json!({"act": "rate", "ticket": id, "stars": "4"}),
    );
    wait_until("the card to become the remark form", WAIT, || {
        desk.fake
            .dms_to(ALICE)
            .iter()
            .any(|m| m.message_id == card && has_button(m, "rating_form", &id))
    });
    desk.fake.submit(
        ALICE,
        &card,
        json!({"act": "rating_form", "ticket": id, "stars": "4"}),
        json!({"remark": "很快"}),
    );
    wait_until("the rating stored", WAIT, || {
        desk.ticket(&id)["rating"]["stars"] == 4
    });
    let t = desk.ticket(&id);
    assert_eq!(t["status"], "closed");
    assert_eq!(t["rating"]["remark"], "很快");
    desk.wait_dm(ALICE, "★★★★☆");
    desk.stop();
}

/// An urgent ticket pages the on-duty people (an @-mention of each) in the
/// on-duty chat at once and again until one of them claims it from the page.
#[test]
fn an_urgent_ticket_pages_on_duty_until_claimed() {
    let desk = Desk::start(None, "\n[sla]\nrepage_every = \"2s\"\n");
    desk.fake.dm(BOB, "[紧急] 生产服务器宕机，全部业务中断");
    let id = desk.wait_tickets(1);
    assert_eq!(desk.ticket(&id)["urgency"], "urgent");
    let pages = || -> Vec<crate::fake_feishu::Msg> {
        desk.fake
            .messages(ON_DUTY_CHAT)
            .into_iter()
            .filter(|m| m.by_bot() && m.content.contains(&id))
            .collect()
    };
    wait_until("a page and a re-page", WAIT, || pages().len() >= 2);
    for page in pages() {
        assert!(
            page.content.contains(&format!("<at id={ON_DUTY}></at>"))
                && page.content.matches("<at ").count() == 1,
            "each page mentions the on-duty person: {}",
            page.content
        );
    }
    let page = pages()[0].message_id.clone();
    // A colleague who is not staff presses the page's claim: refused.
    desk.fake
        .press(STRANGER, &page, json!({"act": "claim", "ticket": id}));
    wait_until("the refusal in the on-duty chat", WAIT, || {
        desk.fake.messages(ON_DUTY_CHAT).iter().any(|m| {
            m.by_bot()
                && (m.text().contains("nothing was changed") || m.text().contains("未做任何更改"))
        })
    });
    assert_eq!(desk.ticket(&id)["assignee"], Value::Null, "not claimed");
    desk.fake
        .press(ON_DUTY, &page, json!({"act": "claim", "ticket": id}));
    wait_until("the claim", WAIT, || {
        !desk.ticket(&id)["assignee"].is_null()
    });
    assert_eq!(
        desk.ticket(&id)["timers"]["repage"],
        Value::Null,
        "claimed: no re-page is armed any more"
    );
    desk.stop();
}

/// The long connection drops twice: what was sent meanwhile is pushed again
/// after the reconnect (split in frames), or only read back from the chat's
/// history; pushed and read back alike, the engine takes each message once.
#[test]
fn after_a_dropped_connection_nothing_is_lost_or_doubled() {
    let desk = Desk::start(None, "");
    desk.fake.dm(ALICE, "显示器不亮了，换了线也不行");
    let id = desk.wait_tickets(1);
    desk.wait_dm(ALICE, "服务单已受理");

    desk.fake.split_events(true);
    desk.fake.drop_connection();
    let while_away = desk.fake.dm(ALICE, "补充：电源灯是橙色的");
    desk.fake.wait_connected(2);
    wait_until("the message pushed after the reconnect", WAIT, || {
        desk.log_texts(&id).iter().any(|l| l.contains("电源灯"))
    });
    // Read back after the new session and pushed again too: the engine saw
    // it twice and took it once, by its key.
    let seen_before = format!("message_id=\"feishu-{while_away}\"");
    wait_until("the engine to see the pushed copy again", WAIT, || {
        desk.log_lines("chat message seen before")
            .iter()
            .any(|l| l.contains(&seen_before))
    });

    desk.fake.forget_while_away(true);
    desk.fake.drop_connection();
    desk.fake.dm(ALICE, "补充二：重启电脑后依旧");
    desk.fake.wait_connected(3);
    wait_until("the message read back from the history", WAIT, || {
        desk.log_texts(&id).iter().any(|l| l.contains("补充二"))
    });
    desk.fake.forget_while_away(false);

    assert_eq!(desk.sb.tickets().len(), 1, "no ticket from a replayed DM");
    let log = desk.log_texts(&id);
    for needle in ["电源灯", "补充二"] {
        assert_eq!(
            log.iter().filter(|l| l.contains(needle)).count(),
            1,
            "{needle} handled once: {log:?}"
        );
    }
    assert_eq!(
        desk.dm_count(ALICE, "服务单已受理"),
        1,
        "one accepted notice"
    );
    wait_until("both follow-ups acknowledged", WAIT, || {
        desk.dm_count(ALICE, "已补充到服务单") == 2
    });
    desk.stop();
}

/// Forged input through the engine: a stranger's ★ press on the requester's
/// card, or a rating form submitted in their name, rates nothing; a
/// stranger's words in the ticket's thread are neither logged nor relayed.
#[test]
fn a_strangers_press_or_thread_message_changes_nothing() {
    let desk = Desk::start(None, "");
    desk.fake.dm(ALICE, "打印机卡纸了，清过还是卡");
    let id = desk.wait_tickets(1);
    let thread = desk.wait_thread(&id, "hardware");
    let before = desk.ticket(&id);
    desk.fake
        .post_in_thread(STRANGER, &thread, "我来关掉这个单子");
    desk.fake
        .post_in_thread(TECH, &thread, "请把纸盒拿出来重新装");
    desk.wait_dm(ALICE, "请把纸盒拿出来重新装");
    assert_eq!(desk.dm_count(ALICE, "我来关掉这个单子"), 0, "not relayed");
    assert!(
        !desk
            .log_texts(&id)
            .iter()
            .any(|l| l.contains("我来关掉这个单子")),
        "not logged"
    );
    let after = desk.ticket(&id);
    assert_eq!(after["assignee"], before["assignee"]);
    let new_entries: Vec<&Value> = after["log"].as_array().expect("log")
        [before["log"].as_array().expect("log").len()..]
        .iter()
        .collect();
    let actors: Vec<&str> = new_entries
        .iter()
        .map(|e| e["actor"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        actors,
        vec![TECH],
        "only the technician's words: {new_entries:?}"
    );

    let card = desk.resolve(&id, ALICE);
    desk.fake.press(
        STRANGER,
        &card,
        json!({"act": "rate", "ticket": id, "stars": "1"}),
    );
    desk.fake.submit(
        STRANGER,
        &card,
        json!({"act": "rating_form", "ticket": id, "stars": "1"}),
        json!({"remark": "差评"}),
    );
    wait_until("both refused", WAIT, || {
        desk.dm_count(ALICE, "这不是您的服务单") == 2
    });
    let t = desk.ticket(&id);
    assert_eq!(t["rating"], Value::Null, "not rated: {t}");
    assert_eq!(t["status"], "resolved");
    assert!(
        desk.fake
            .dms_to(ALICE)
            .iter()
            .any(|m| m.message_id == card && has_button(m, "rate", &id)),
        "the requester's card still has its stars"
    );
    desk.stop();
}
