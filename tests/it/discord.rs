//! The chat channel end to end: the real daemon (a child process) talks to the
//! fake Discord; tests act as requesters and technicians there and check what
//! the bot posted and what the tickets say.

use std::time::Duration;

use serde_json::{json, Value};

use crate::fake_discord::{
    group_channel, FakeDiscord, ALICE, BOB, BOT, GROUP_CHANNELS, GUILD, HELP_CHANNEL, LEAD_ROLE,
    ON_DUTY_CHANNEL, ON_DUTY_ROLE, OUTSIDER, TECH, TECH_ROLE,
};
use crate::mailrig::MailRig;
use crate::support::{wait_until, Daemon, Sandbox};

const WAIT: Duration = Duration::from_secs(15);

pub(crate) struct Chat {
    pub(crate) fake: FakeDiscord,
    pub(crate) sb: Sandbox,
    daemon: Option<Daemon>,
    _token: tempfile::TempDir,
}

/// `[discord]` and a chat channel per group, for this fake.
fn discord_toml(fake: &FakeDiscord, token_file: &std::path::Path) -> String {
    let mut text = format!(
        r#"
[discord]
token_file = "{token}"
api_base = "{api}"
guild_id = "{GUILD}"
help_channel = "{HELP_CHANNEL}"
technician_role = "{TECH_ROLE}"
lead_role = "{LEAD_ROLE}"
on_duty_channel = "{ON_DUTY_CHANNEL}"
on_duty = [{{ days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"], from = "00:00", to = "00:00", mention = "<@&{ON_DUTY_ROLE}>" }}]
"#,
        token = token_file.display(),
        api = fake.api_base,
    );
    for (group, channel) in GROUP_CHANNELS {
        text.push_str(&format!(
            "\n[groups.{group}]\nchat_channel = \"{channel}\"\n"
        ));
    }
    text
}

impl Chat {
    pub(crate) fn start(extra: &str) -> Chat {
        Chat::start_with(None, extra)
    }

    /// A helpdesk whose `[helpdesk] default_language` is `lang`.
    pub(crate) fn start_in(lang: &str, extra: &str) -> Chat {
        Chat::start_lang(None, Some(lang), extra)
    }

    /// With a mail rig, the config has its [imap]/[smtp] too.
    fn start_with(rig: Option<&MailRig>, extra: &str) -> Chat {
        Chat::start_lang(rig, None, extra)
    }

    fn start_lang(rig: Option<&MailRig>, lang: Option<&str>, extra: &str) -> Chat {
        let fake = FakeDiscord::start();
        let token = tempfile::tempdir().expect("temp dir");
        let token_file = token.path().join("discord.token");
        std::fs::write(&token_file, "fake-token\n").expect("token file");
        let config = format!("{}\n{extra}", discord_toml(&fake, &token_file));
        let sb = match rig {
            Some(rig) => Sandbox::new(&rig.config(&config)),
            None => Sandbox::new(&config),
        };
        if let Some(lang) = lang {
            let text = std::fs::read_to_string(&sb.config).expect("config");
            let text = text.replacen(
                "[helpdesk]\n",
                &format!("[helpdesk]\ndefault_language = \"{lang}\"\n"),
                1,
            );
            std::fs::write(&sb.config, text).expect("config");
        }
        let daemon = sb.start_daemon();
        fake.wait_ready();
        Chat {
            fake,
            sb,
            daemon: Some(daemon),
            _token: token,
        }
    }

    pub(crate) fn tickets(&self) -> Vec<Value> {
        self.sb.tickets()
    }

    pub(crate) fn ticket(&self, id: &str) -> Value {
        self.sb.ticket(id)
    }

    /// Waits until there are `n` tickets; returns the newest one's ID.
    pub(crate) fn wait_tickets(&self, n: usize) -> String {
        let mut id = String::new();
        wait_until(&format!("{n} ticket(s)"), WAIT, || {
            let tickets = self.tickets();
            if tickets.len() >= n {
                id = tickets[n - 1]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
            }
            tickets.len() >= n
        });
        assert_eq!(self.tickets().len(), n, "exactly {n} ticket(s)");
        id
    }

    /// The ticket's thread, once the bot opened it in `group`'s channel.
    pub(crate) fn wait_thread(&self, id: &str, group: &str) -> u64 {
        let mut thread = 0;
        wait_until(&format!("a thread for {id}"), WAIT, || {
            thread = self
                .fake
                .threads()
                .into_iter()
                .find(|(_, _, name)| name.contains(id))
                .map(|(t, _, _)| t)
                .unwrap_or(0);
            thread != 0
        });
        let (_, parent, _) = self
            .fake
            .threads()
            .into_iter()
            .find(|(t, _, _)| *t == thread)
            .expect("thread");
        assert_eq!(
            parent,
            group_channel(group),
            "{id}'s thread is in the {group} group's channel"
        );
        if let Some(daemon) = &self.daemon {
            daemon.wait_thread_linked(id);
        }
        thread
    }

    pub(crate) fn wait_dm(&self, user: u64, needle: &str) {
        wait_until(&format!("a DM to {user} saying {needle:?}"), WAIT, || {
            self.fake.dms_to(user).iter().any(|m| m.contains(needle))
        });
    }

    pub(crate) fn log_texts(&self, id: &str) -> Vec<String> {
        self.ticket(id)["log"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// How many of the ticket's log entries contain `needle`.
    pub(crate) fn log_count(&self, id: &str, needle: &str) -> usize {
        self.log_texts(id)
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Stops the daemon; no notice may have been refused on the way (a payload
    /// the bot could not send or could not read back ends as a dead letter).
    pub(crate) fn stop(mut self) {
        let outbox = self.sb.cli_json(&["outbox", "list", "--json"]);
        assert_eq!(outbox["dead_letters"], json!([]), "dead letters: {outbox}");
        if let Some(daemon) = self.daemon.take() {
            daemon.stop();
        }
    }
}

impl Drop for Chat {
    /// A failing test shows what the daemon said.
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(daemon) = &self.daemon {
                eprintln!("daemon log:\n{}", daemon.log_text());
            }
        }
    }
}

pub(crate) fn content(response: &Value) -> String {
    response["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub(crate) fn is_private(response: &Value) -> bool {
    response["type"] == 4
        && response["data"]["flags"]
            .as_u64()
            .is_some_and(|f| f & 64 != 0)
}

pub(crate) fn sub(name: &str, options: Value) -> Value {
    json!([{ "name": name, "type": 1, "options": options }])
}

/// A DM opens a ticket (with its attachment), the accepted notice comes back by
/// DM, the ticket gets a thread in its group's channel with the card first; a
/// second DM is a follow-up; a mention in the help channel opens a ticket too;
/// `/ticket status` shows one's own tickets only.
#[test]
fn a_dm_opens_a_ticket_with_a_thread_and_is_answered_by_dm() {
    let chat = Chat::start("");
    let png = b"\x89PNG\r\n\x1a\n fake screenshot";
    let url = chat.fake.host_attachment("vpn-error.png", png);
    let first = chat.fake.dm_with_attachments(
        ALICE,
        "VPN 连不上，提示错误 809，出差没法办公",
        &[("vpn-error.png", &url, png.len())],
    );
    let id = chat.wait_tickets(1);
    let t = chat.ticket(&id);
    assert_eq!(t["channel"], "chat");
    assert_eq!(t["requester"]["chat_user"], ALICE.to_string());
    assert_eq!(t["source_message_id"], format!("discord-{first}"));
    assert_eq!(t["type"], "network");
    assert_eq!(t["attachments"][0]["name"], "vpn-error.png");
    assert_eq!(t["attachments"][0]["size"], png.len());

    chat.wait_dm(ALICE, "服务单已受理");
    let accepted = chat.fake.dms_to(ALICE).join("\n");
    assert!(
        accepted.contains(&id) && accepted.contains("网络问题"),
        "{accepted}"
    );

    let thread = chat.wait_thread(&id, "network");
    let card = &chat.fake.messages(thread)[0];
    let text = card["content"].as_str().unwrap_or_default();
    assert!(
        text.contains(&id) && text.contains("vpn-error.png") && text.contains("Resolve by"),
        "the card opens the thread: {text}"
    );
    assert_eq!(
        card["components"][0]["components"][0]["custom_id"],
        format!("claim:{id}")
    );

    let commands = chat
        .fake
        .calls()
        .into_iter()
        .find(|c| c.method == "PUT" && c.path == format!("/applications/{BOT}/commands"))
        .expect("/ticket registered");
    assert_eq!(commands.body[0]["name"], "ticket");

    chat.fake.dm(ALICE, "补充：换成手机热点也不行");
    chat.wait_dm(ALICE, &format!("已补充到服务单 {id}"));
    assert!(chat
        .log_texts(&id)
        .iter()
        .any(|l| l.contains("换成手机热点")));
    assert_eq!(chat.tickets().len(), 1, "a follow-up, not a new ticket");

    chat.fake
        .post(BOB, HELP_CHANNEL, "打印机卡纸了，三楼那台", true);
    let bobs = chat.wait_tickets(2);
    assert_eq!(
        chat.ticket(&bobs)["requester"]["chat_user"],
        BOB.to_string()
    );
    chat.wait_dm(BOB, &bobs);
    wait_until("the help-channel reply", WAIT, || {
        chat.fake
            .bot_posts(HELP_CHANNEL)
            .iter()
            .any(|m| m["content"].as_str().unwrap_or_default().contains(&bobs))
    });

    let mine = chat.fake.command(
        BOB,
        chat.fake.dm_channel_of(BOB),
        "ticket",
        sub("status", json!([])),
    );
    let answer = chat.fake.response(mine);
    assert!(
        is_private(&answer) && content(&answer).contains(&bobs) && !content(&answer).contains(&id),
        "{answer}"
    );
    let theirs = chat.fake.command(
        BOB,
        chat.fake.dm_channel_of(BOB),
        "ticket",
        sub("status", json!([{"name": "id", "type": 3, "value": id}])),
    );
    assert!(
        content(&chat.fake.response(theirs)).contains("no ticket"),
        "someone else's ticket stays hidden"
    );

    // Reads of personal data, in chat and from the CLI, are in the access audit.
    chat.sb.cli_ok(&["tickets", "show", &bobs]);
    let audit = chat.sb.cli_json(&["audit", "--ticket", &bobs, "--json"]);
    let reads: Vec<(String, String)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["actor"].as_str().unwrap().to_string(),
                e["what"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        reads.iter().any(|(actor, what)| actor.starts_with("chat:")
            && actor.contains(&BOB.to_string())
            && what == "chat status"),
        "{reads:?}"
    );
    assert!(
        reads
            .iter()
            .any(|(actor, what)| actor == "root" && what == "show"),
        "{reads:?}"
    );
    chat.stop();
}

/// In the thread a technician's message reaches the requester, a `!note` and a
/// non-technician's message do not; commands are refused to non-technicians;
/// claim and resolve work; the requester rates with the star buttons.
#[test]
fn technicians_work_the_ticket_in_its_thread_and_the_requester_rates_it() {
    let chat = Chat::start("");
    chat.fake
        .dm(ALICE, "CRM 登录报错：数据库连接超时，影响客户跟进");
    let id = chat.wait_tickets(1);
    let thread = chat.wait_thread(&id, "software");

    chat.fake
        .post(TECH, thread, "请先清一下浏览器缓存再试", false);
    chat.wait_dm(ALICE, "请先清一下浏览器缓存再试");
    chat.fake
        .post(TECH, thread, "!note 怀疑是连接池满了", false);
    chat.fake.post(OUTSIDER, thread, "路过说一句", false);
    chat.fake
        .post(TECH, thread, "已经扩容连接池，请再试一次", false);
    chat.wait_dm(ALICE, "已经扩容连接池");
    let dms = chat.fake.dms_to(ALICE).join("\n");
    assert!(
        !dms.contains("连接池满了") && !dms.contains("路过说一句"),
        "notes and outsiders are not relayed:\n{dms}"
    );
    let t = chat.ticket(&id);
    let note = t["log"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "note")
        .expect("the note is logged");
    assert_eq!(
        (note["text"].as_str(), note["public"].as_bool()),
        (Some("怀疑是连接池满了"), Some(false))
    );
    assert!(!chat.log_texts(&id).iter().any(|l| l.contains("路过说一句")));

    let refused = chat
        .fake
        .command(OUTSIDER, thread, "desk", sub("claim", json!([])));
    let answer = chat.fake.response(refused);
    assert!(
        is_private(&answer) && content(&answer).contains("Only members of the technician role"),
        "{answer}"
    );
    assert_eq!(chat.ticket(&id)["assignee"], Value::Null, "nothing changed");

    let claim = chat
        .fake
        .command(TECH, thread, "desk", sub("claim", json!([])));
    assert!(content(&chat.fake.response(claim)).contains("claim by lisi"));
    assert_eq!(chat.ticket(&id)["assignee"], "lisi");
    let urgency = chat.fake.command(TECH, thread, "desk", sub("urgency", json!([{"name": "level", "type": 3, "value": "low"}, {"name": "reason", "type": 3, "value": "只影响一个人"}])));
    chat.fake.response(urgency);
    assert!(
        chat.log_texts(&id)
            .iter()
            .any(|l| l.contains("medium → low") && l.contains("只影响一个人")),
        "urgency change is logged"
    );
    let resolve = chat.fake.command(
        TECH,
        thread,
        "desk",
        sub(
            "resolve",
            json!([{"name": "fix", "type": 3, "value": "连接池扩容后恢复"}]),
        ),
    );
    chat.fake.response(resolve);
    assert_eq!(chat.ticket(&id)["status"], "resolved");

    let dm = chat.fake.dm_channel_of(ALICE);
    let mut confirm = 0;
    wait_until("the confirm-and-rate DM with star buttons", WAIT, || {
        let posts = chat.fake.bot_posts(dm);
        let found = posts.iter().find(|m| {
            m["components"]
                .to_string()
                .contains(&format!("rate:{id}:4"))
        });
        confirm = found
            .and_then(|m| m["id"].as_str()?.parse().ok())
            .unwrap_or(0);
        confirm != 0
    });
    let press = chat.fake.press(ALICE, dm, confirm, &format!("rate:{id}:4"));
    let form = chat.fake.response(press);
    assert_eq!(
        (form["type"].as_u64(), form["data"]["custom_id"].as_str()),
        (Some(9), Some(format!("remark:{id}:4").as_str())),
        "{form}"
    );
    let submit = chat
        .fake
        .submit(ALICE, dm, &format!("remark:{id}:4"), &[("remark", "很快")]);
    assert!(is_private(&chat.fake.response(submit)));
    let t = chat.ticket(&id);
    assert_eq!(t["status"], "closed");
    assert_eq!(
        (
            t["rating"]["stars"].as_u64(),
            t["rating"]["remark"].as_str()
        ),
        (Some(4), Some("很快"))
    );
    chat.wait_dm(ALICE, "★★★★☆");
    chat.stop();
}

/// What a technician writes in the thread of an email ticket arrives in the
/// requester's mailbox.
#[test]
fn a_technician_reply_reaches_an_email_requester_by_mail() {
    let rig = MailRig::start();
    let chat = Chat::start_with(Some(&rig), "");
    let request = "From: 张三 <alice@example.test>\r\nTo: helpdesk@example.test\r\nSubject: =?UTF-8?B?Q1JN55m75b2V5oql6ZSZ?=\r\nMessage-ID: <chat-mail-1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n登录CRM提示数据库连接超时，影响客户跟进。\r\n";
    rig.send(
        "alice@example.test",
        "helpdesk@example.test",
        request.as_bytes(),
    );
    let mut id = String::new();
    wait_until("the email ticket", Duration::from_secs(20), || {
        id = chat
            .tickets()
            .first()
            .and_then(|t| t["id"].as_str().map(String::from))
            .unwrap_or_default();
        !id.is_empty()
    });
    let thread = chat.wait_thread(&id, "software");
    chat.fake
        .post(TECH, thread, "请重启一下浏览器后再登录", false);
    wait_until(
        "the relayed reply in alice's mailbox",
        Duration::from_secs(20),
        || {
            rig.messages("alice", "INBOX")
                .iter()
                .any(|m| m.subject.contains(&id) && m.body.contains("请重启一下浏览器后再登录"))
        },
    );
    chat.stop();
}

/// An urgent ticket pages the on-duty role in the on-duty channel at once and
/// again until someone claims it from the page.
#[test]
fn an_urgent_ticket_pages_on_duty_until_claimed() {
    let chat = Chat::start("[sla]\nrepage_every = \"2s\"\n");
    chat.fake.dm(BOB, "[紧急] 生产服务器宕机，全部业务中断");
    let id = chat.wait_tickets(1);
    assert_eq!(chat.ticket(&id)["urgency"], "urgent");
    let pages = || -> Vec<Value> {
        chat.fake
            .bot_posts(ON_DUTY_CHANNEL)
            .into_iter()
            .filter(|m| m["content"].as_str().unwrap_or_default().contains(&id))
            .collect()
    };
    wait_until("a page and a re-page", WAIT, || pages().len() >= 2);
    let page = &pages()[0];
    assert!(
        page["content"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("<@&{ON_DUTY_ROLE}>")),
        "addressed to the rota's role: {page}"
    );
    assert_eq!(
        page["allowed_mentions"]["roles"],
        json!([ON_DUTY_ROLE.to_string()]),
        "only that role is pinged"
    );
    let page_id: u64 = page["id"].as_str().unwrap().parse().unwrap();

    let claim = chat
        .fake
        .press(TECH, ON_DUTY_CHANNEL, page_id, &format!("claim:{id}"));
    assert!(content(&chat.fake.response(claim)).contains("claim by lisi"));
    let t = chat.ticket(&id);
    assert_eq!(t["assignee"], "lisi");
    assert_eq!(
        t["timers"]["repage"],
        Value::Null,
        "claimed: no re-page is armed any more"
    );
    chat.stop();
}

/// `/ticket new` opens the form; submitting it opens a ticket with the chosen
/// type and urgency, expected time and contact.
#[test]
fn the_ticket_form_opens_a_ticket() {
    let chat = Chat::start("");
    let dm = chat.fake.dm_channel_of(BOB);
    let options = json!([{"name": "type", "type": 3, "value": "network"}, {"name": "urgency", "type": 3, "value": "high"}]);
    let command = chat.fake.command(BOB, dm, "ticket", sub("new", options));
    let form = chat.fake.response(command);
    assert_eq!(
        (form["type"].as_u64(), form["data"]["custom_id"].as_str()),
        (Some(9), Some("new:network:high")),
        "{form}"
    );
    let fields = [
        ("description", "三楼会议室 Wi-Fi 连不上"),
        ("expected", "今天下午3点前"),
        ("contact", "分机 8001"),
    ];
    let submit = chat.fake.submit(BOB, dm, "new:network:high", &fields);
    let id = chat.wait_tickets(1);
    assert!(is_private(&chat.fake.response(submit)));
    let t = chat.ticket(&id);
    assert_eq!(
        (t["type"].as_str(), t["urgency"].as_str()),
        (Some("network"), Some("high"))
    );
    assert_eq!(t["expected_time"], "今天下午3点前");
    assert_eq!(t["requester"]["contact"], "分机 8001");
    chat.wait_dm(BOB, &id);
    chat.stop();
}

/// A requester with two open tickets is asked which one a DM is about; the
/// answer still counts after a restart (the DM is read again from Discord),
/// and a second press adds nothing.
#[test]
fn with_several_open_tickets_the_bot_asks_which() {
    let mut chat = Chat::start("");
    chat.fake.dm(ALICE, "打印机卡纸了");
    let first = chat.wait_tickets(1);
    chat.fake
        .post(ALICE, HELP_CHANNEL, "邮箱收不到外部邮件", true);
    let second = chat.wait_tickets(2);
    let question = chat.fake.dm(ALICE, "还是不行，刚又试了一次");
    let dm = chat.fake.dm_channel_of(ALICE);
    let ask = wait_question(&chat, dm, question);
    let press = chat
        .fake
        .press(ALICE, dm, ask, &format!("pick:{question}:{second}"));
    assert_eq!(
        chat.fake.response(press)["type"],
        7,
        "the question is replaced by the answer"
    );
    assert_eq!(chat.log_count(&second, "刚又试了一次"), 1);
    assert_eq!(chat.log_count(&first, "刚又试了一次"), 0);
    assert_eq!(chat.tickets().len(), 2);

    let question = chat.fake.dm(ALICE, "补充：卡纸的是三楼那台");
    let ask = wait_question(&chat, dm, question);
    let identifies = chat.fake.identifies();
    chat.daemon.take().expect("daemon").stop();
    chat.daemon = Some(chat.sb.start_daemon());
    wait_until("the bot back", WAIT, || chat.fake.identifies() > identifies);
    let custom_id = format!("pick:{question}:{first}");
    let press = chat.fake.press(ALICE, dm, ask, &custom_id);
    assert!(
        content(&chat.fake.response(press)).contains(&format!("已补充到 {first}")),
        "picked after a restart"
    );
    let reread = format!("/channels/{dm}/messages/{question}");
    assert!(
        chat.fake
            .calls()
            .iter()
            .any(|c| c.method == "GET" && c.path == reread),
        "the DM was read again from Discord"
    );
    assert_eq!(chat.log_count(&first, "三楼那台"), 1);
    let again = chat.fake.press(ALICE, dm, ask, &custom_id);
    assert!(content(&chat.fake.response(again)).contains(&format!("已在 {first} 中")));
    assert_eq!(
        chat.log_count(&first, "三楼那台"),
        1,
        "a second press adds nothing"
    );
    assert_eq!(chat.log_count(&second, "三楼那台"), 0);
    assert_eq!(chat.tickets().len(), 2);
    chat.stop();
}

/// The bot's "which ticket?" post for the DM `question`.
fn wait_question(chat: &Chat, dm: u64, question: u64) -> u64 {
    let mut ask = 0;
    wait_until("the question which ticket", WAIT, || {
        ask = chat
            .fake
            .bot_posts(dm)
            .iter()
            .find(|m| {
                m["components"]
                    .to_string()
                    .contains(&format!("pick:{question}:"))
            })
            .and_then(|m| m["id"].as_str()?.parse().ok())
            .unwrap_or(0);
        ask != 0
    });
    ask
}

/// Op 7 RECONNECT: the bot resumes and gets what was sent meanwhile; a replayed
/// event changes nothing. A lost heartbeat: serenity drops the connection and
/// identifies anew, and the bot reads back what it missed. Nothing lost, nothing
/// handled twice.
#[test]
fn after_a_reconnect_or_a_lost_heartbeat_nothing_is_lost_or_doubled() {
    let chat = Chat::start("");
    chat.fake.replay_overlap(true);
    chat.fake.dm(ALICE, "显示器不亮了，换了线也不行");
    let id = chat.wait_tickets(1);
    chat.wait_dm(ALICE, "服务单已受理");

    chat.fake.send_reconnect();
    chat.fake.dm(ALICE, "补充：电源灯是橙色的");
    wait_until("the bot to resume", WAIT, || chat.fake.resumes() >= 1);
    wait_until("the message sent during the reconnect", WAIT, || {
        chat.log_texts(&id).iter().any(|l| l.contains("电源灯"))
    });
    assert_eq!(chat.fake.identifies(), 1, "resumed, not re-identified");

    // The ticket's thread is new in this run and nobody wrote in it yet: the
    // new session learns it from the store.
    let thread = chat.wait_thread(&id, "hardware");
    chat.fake.go_zombie();
    chat.fake.dm(ALICE, "补充二：重启电脑后依旧");
    chat.fake
        .post(TECH, thread, "请检查一下显卡的供电线", false);
    wait_until(
        "the bot to give up the dead connection and identify again",
        Duration::from_secs(20),
        || chat.fake.identifies() >= 2,
    );
    wait_until(
        "the message sent while the connection was dead",
        WAIT,
        || chat.log_texts(&id).iter().any(|l| l.contains("补充二")),
    );
    chat.wait_dm(ALICE, "请检查一下显卡的供电线");

    assert_eq!(chat.tickets().len(), 1, "no ticket from a replayed DM");
    let log = chat.log_texts(&id);
    for needle in ["电源灯", "补充二", "显卡的供电线"] {
        assert_eq!(
            log.iter().filter(|l| l.contains(needle)).count(),
            1,
            "{needle} handled once: {log:?}"
        );
    }
    let acks = |needle: &str| {
        chat.fake
            .dms_to(ALICE)
            .iter()
            .filter(|m| m.contains(needle))
            .count()
    };
    assert_eq!(acks("服务单已受理"), 1, "one accepted notice");
    wait_until("both follow-ups acknowledged", WAIT, || {
        acks("已补充到服务单") == 2
    });
    assert!(
        chat.fake.called(
            "GET",
            &format!("/channels/{}/messages?", chat.fake.dm_channel_of(ALICE))
        ),
        "the missed message was read back"
    );
    chat.stop();
}

/// More than a page (Discord lists at most 100 messages a call) missed in one
/// channel while the session was dead: after the new session the bot reads
/// them all back, page after page, and each opens its one ticket.
#[test]
fn after_a_lost_session_more_than_a_page_of_missed_mentions_is_read_back() {
    const MISSED: u64 = 120;
    let chat = Chat::start("");
    let user = |i: u64| 9_000_000_000_020_000 + i;
    let text = |i: u64| {
        format!("The printer on floor 3 shows error E-{i} and prints nothing; restarting it did not help.")
    };
    chat.fake.post(user(0), HELP_CHANNEL, &text(0), true);
    chat.wait_tickets(1);

    chat.fake.go_zombie();
    let missed: Vec<u64> = (1..=MISSED)
        .map(|i| chat.fake.post(user(i), HELP_CHANNEL, &text(i), true))
        .collect();
    wait_until(
        "the bot to give up the dead connection and identify again",
        Duration::from_secs(20),
        || chat.fake.identifies() >= 2,
    );
    wait_until(
        "a ticket for every mention missed",
        Duration::from_secs(60),
        || chat.tickets().len() as u64 > MISSED,
    );
    assert!(
        missed.iter().all(|id| !chat.fake.sent_on_gateway(*id)),
        "the missed mentions were read back, not delivered"
    );
    let tickets = chat.tickets();
    assert_eq!(tickets.len() as u64, MISSED + 1, "one ticket per mention");
    chat.stop();
}

/// `[discord]` mistakes are named by `check-config`, with the key.
#[test]
fn discord_config_mistakes_name_the_key() {
    let base = "[discord]\ntoken_env = \"ITDESK_TEST_NO_SUCH_VAR\"\nguild_id = \"1\"\ntechnician_role = \"2\"\n";
    let cases: &[(String, &[&str])] = &[
        (base.to_string(), &["discord", "ITDESK_TEST_NO_SUCH_VAR", "token_env"]),
        (base.replace("token_env = \"ITDESK_TEST_NO_SUCH_VAR\"\n", ""), &["discord", "set token_file or token_env"]),
        (base.replace("guild_id = \"1\"", "guild_id = \"my-server\""), &["discord.guild_id", "line", "not a Discord id"]),
        (format!("{base}api_base = \"127.0.0.1:80\"\n"), &["discord.api_base", "http://"]),
        (
            format!("{base}on_duty = [{{ days = [\"mon\"], from = \"09:00\", to = \"18:00\", mention = \"@oncall\" }}]\n"),
            &["discord.on_duty", "<@&ROLE_ID>"],
        ),
        (
            format!("{base}on_duty = [{{ days = [\"monday-ish\"], from = \"09:00\", to = \"18:00\", mention = \"<@3>\" }}]\n"),
            &["discord.on_duty", "monday-ish"],
        ),
        (
            "[routing]\nhardware = \"software\"\nnetwork = \"software\"\naccess = \"software\"\nother = \"software\"\n[groups.software]\nchat_channel = \"#staff\"\n".to_string(),
            &["groups.software.chat_channel", "#staff"],
        ),
    ];
    for (extra, expected) in cases {
        let sb = Sandbox::new(extra);
        let out = sb.cli(&["check-config"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "accepted a broken config:\n{extra}");
        for word in *expected {
            assert!(
                err.contains(word),
                "error for\n{extra}\nshould mention {word:?}, got: {err}"
            );
        }
    }
}

/// Messages sent while the daemon was down — stopped, or SIGKILLed — are read
/// back after the restart from where the last run left each known channel: a
/// known requester's DM, a DM from one who had only mentioned the bot (their
/// DM channel known from the notice sent there), a mention in the help
/// channel, a technician's message in a ticket's thread. Each is handled once, its reply sent once; a second
/// restart handles nothing again.
#[test]
fn messages_sent_while_the_daemon_was_down_are_read_back_after_a_restart() {
    for kill in [false, true] {
        read_back_after_a_restart(kill);
    }
}

fn read_back_after_a_restart(kill: bool) {
    let how = if kill { "SIGKILL" } else { "SIGTERM" };
    let mut chat = Chat::start("");
    chat.fake
        .dm(ALICE, "CRM 登录报错：数据库连接超时，影响客户跟进");
    let alice_ticket = chat.wait_tickets(1);
    chat.wait_dm(ALICE, "服务单已受理");
    let thread = chat.wait_thread(&alice_ticket, "software");
    chat.fake
        .post(BOB, HELP_CHANNEL, "VPN 连不上，提示证书过期", true);
    let bob_ticket = chat.wait_tickets(2);
    wait_until("the help-channel answer", WAIT, || {
        chat.fake.bot_posts(HELP_CHANNEL).len() == 1
    });
    // Bob never wrote to the bot: his DM channel is known from the notice.
    chat.wait_dm(BOB, "服务单已受理");
    // The engine's commits are flushed; the cursors after them ride on sled's
    // periodic flush (a channel's first one is flushed at once).
    std::thread::sleep(Duration::from_millis(700));
    let daemon = chat.daemon.take().expect("daemon");
    if kill {
        daemon.kill();
    } else {
        daemon.stop();
    }

    wait_until("the fake to see the bot gone", WAIT, || {
        !chat.fake.connected()
    });
    let carol = 9_000_000_000_001_003;
    let follow_up = chat.fake.dm(ALICE, "补充：换了浏览器也一样");
    let bob_follow_up = chat.fake.dm(BOB, "补充：证书是昨天过期的");
    let mention = chat
        .fake
        .post(carol, HELP_CHANNEL, "打印机卡纸了，三楼那台", true);
    let relay = chat
        .fake
        .post(TECH, thread, "请先清一下浏览器缓存再试", false);

    let identifies = chat.fake.identifies();
    chat.daemon = Some(chat.sb.start_daemon());
    wait_until(&format!("the bot back after {how}"), WAIT, || {
        chat.fake.identifies() > identifies
    });
    let carol_ticket = chat.wait_tickets(3);
    wait_until("the follow-up read back", WAIT, || {
        chat.log_texts(&alice_ticket)
            .iter()
            .any(|l| l.contains("换了浏览器"))
    });
    chat.wait_dm(ALICE, "请先清一下浏览器缓存再试");
    chat.wait_dm(ALICE, "已补充到服务单");
    chat.wait_dm(BOB, "已补充到服务单");
    wait_until("the new mention answered", WAIT, || {
        chat.fake.bot_posts(HELP_CHANNEL).len() == 2
    });
    for id in [follow_up, bob_follow_up, mention, relay] {
        assert!(
            !chat.fake.sent_on_gateway(id),
            "message {id} was read back, not delivered ({how})"
        );
    }
    let tickets_by = |needle: &str| {
        chat.tickets()
            .iter()
            .filter(|t| t["subject"].as_str().unwrap_or_default().contains(needle))
            .count()
    };
    assert_eq!(
        tickets_by("打印机卡纸"),
        1,
        "the mention opened one ticket ({how})"
    );
    assert!(chat.ticket(&carol_ticket)["subject"]
        .as_str()
        .unwrap_or_default()
        .contains("打印机卡纸"));

    // What each should have caused, exactly once; a second restart adds nothing.
    let counts = |chat: &Chat| {
        let log = chat.log_texts(&alice_ticket);
        let dms = chat.fake.dms_to(ALICE);
        let count =
            |texts: &[String], needle: &str| texts.iter().filter(|t| t.contains(needle)).count();
        (
            chat.tickets().len(),
            count(&log, "换了浏览器"),
            count(&log, "请先清一下浏览器缓存"),
            count(&dms, "服务单已受理"),
            count(&dms, "已补充到服务单"),
            count(&dms, "请先清一下浏览器缓存"),
            chat.fake.bot_posts(HELP_CHANNEL).len(),
            chat.log_count(&bob_ticket, "证书是昨天过期的"),
        )
    };
    let expected = (3, 1, 1, 1, 1, 1, 2, 1);
    wait_until("every reply sent", WAIT, || counts(&chat) == expected);
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(counts(&chat), expected, "after the restart ({how})");

    std::thread::sleep(Duration::from_millis(700));
    chat.daemon.take().expect("daemon").stop();
    let identifies = chat.fake.identifies();
    let reads = chat.fake.calls().len();
    chat.daemon = Some(chat.sb.start_daemon());
    wait_until("the bot back again", WAIT, || {
        chat.fake.identifies() > identifies
    });
    let dm = chat.fake.dm_channel_of(ALICE);
    wait_until("the known channels read back again", WAIT, || {
        let calls = chat.fake.calls();
        [dm, HELP_CHANNEL, thread].iter().all(|c| {
            calls[reads..].iter().any(|call| {
                call.method == "GET" && call.path.starts_with(&format!("/channels/{c}/messages?"))
            })
        })
    });
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(counts(&chat), expected, "after a second restart ({how})");
    chat.stop();
}

/// A technician who works by mail reaches a chat requester in their DM: a
/// staff address's reply to the ticket is relayed on the requester's channel.
#[test]
fn a_technicians_mail_reaches_a_chat_requester_by_dm() {
    let rig = MailRig::start();
    let chat = Chat::start_with(
        Some(&rig),
        "[escalation]\nemail = [\"tech@example.test\"]\n",
    );
    chat.fake
        .dm(ALICE, "CRM 登录报错：提示数据库连接超时，影响客户跟进。");
    let id = chat.wait_tickets(1);
    let reply = format!("From: 李四 <tech@example.test>\r\nTo: helpdesk@example.test\r\nSubject: Re: [{id}] CRM\r\nMessage-ID: <tech-dm-1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n请清除浏览器缓存后再登录。\r\n#step 检查了 CRM 连接池\r\n");
    rig.send(
        "tech@example.test",
        "helpdesk@example.test",
        reply.as_bytes(),
    );
    chat.wait_dm(ALICE, "请清除浏览器缓存后再登录");
    let t = chat.ticket(&id);
    assert!(
        t["log"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "step" && e["actor"] == "李四"),
        "{t}"
    );
    chat.stop();
}
