//! The Feishu/Lark adapter against the fake Feishu (`fake_feishu.rs`): the
//! long connection (session, events, pings, acks, a drop and what was sent
//! meanwhile, split frames), and the seam's calls made by hand — posts to a
//! person and in a group, a ticket's topic thread, cards and presses, the
//! read-back, the token's renewal and rate limits.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use itdesk::channels::chat::{
    Button, Buttons, ChannelId, ChatApp, Conversation, Event, Form, InteractionKind, Post, Staff,
    UserId,
};
use itdesk::channels::feishu::FeishuApp;
use itdesk::config::Config;
use itdesk::core::id::TicketId;
use itdesk::core::ticket::Lang;
use itdesk::health::Health;
use serde_json::json;
use tokio::sync::mpsc;

use crate::fake_feishu::{group_chat, FakeFeishu, ALICE, APP_SECRET, BOB, STRANGER, TECH};

struct Bot {
    app: Arc<FeishuApp>,
    events: mpsc::UnboundedReceiver<Event>,
    rt: tokio::runtime::Runtime,
    _stop: itdesk::shutdown::ShutdownTrigger,
}

impl Bot {
    fn start(fake: &FakeFeishu) -> Bot {
        std::env::set_var("ITDESK_TEST_FEISHU_SECRET", APP_SECRET);
        let raw = format!(
            r#"
[store]
path = "/nonexistent"
[feishu]
app_id = "{}"
app_secret_env = "ITDESK_TEST_FEISHU_SECRET"
base_url = "{}"
technicians = ["{TECH}"]
[feishu.group_chats]
hardware = "{}"
"#,
            crate::fake_feishu::APP_ID,
            fake.base_url,
            group_chat("hardware")
        );
        let config = Config::parse(&raw, Path::new("itdesk.toml")).expect("config");
        let app = Arc::new(
            FeishuApp::from_config(&config, Health::new())
                .expect("secret")
                .expect("[feishu]"),
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (stop, shutdown) = itdesk::shutdown::channel();
        let (tx, events) = mpsc::unbounded_channel();
        let runner = app.clone();
        rt.spawn(async move { runner.run(tx, shutdown).await });
        Bot {
            app,
            events,
            rt,
            _stop: stop,
        }
    }

    fn next(&mut self) -> Event {
        let events = &mut self.events;
        self.rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(20), events.recv()).await })
            .expect("an event within 20 s")
            .expect("the adapter is running")
    }

    fn nothing_more(&mut self) {
        let events = &mut self.events;
        let more = self.rt.block_on(async {
            tokio::time::timeout(Duration::from_millis(500), events.recv()).await
        });
        assert!(more.is_err(), "an unexpected event: {more:?}");
    }
}

fn ticket() -> TicketId {
    TicketId::parse("IT202401050007").expect("ticket id")
}

#[test]
fn a_dm_arrives_as_a_direct_message_and_is_acked() {
    let fake = FakeFeishu::start();
    let mut bot = Bot::start(&fake);
    assert!(matches!(bot.next(), Event::Session));
    let id = fake.dm(ALICE, "打印机卡纸了");
    let Event::Message(m) = bot.next() else {
        panic!("a message was expected")
    };
    assert_eq!(m.id.as_str(), id);
    assert_eq!(m.conversation, Conversation::Direct);
    assert_eq!(m.author.id.as_str(), ALICE);
    assert_eq!(m.author.staff, Staff::No);
    assert_eq!(m.text, "打印机卡纸了");
    crate::support::wait_until("the ack", Duration::from_secs(5), || fake.acks() == 1);
    crate::support::wait_until("a ping", Duration::from_secs(5), || fake.pings() >= 1);
}

#[test]
fn a_dropped_connection_comes_back_and_nothing_is_lost_or_doubled() {
    let fake = FakeFeishu::start();
    let mut bot = Bot::start(&fake);
    assert!(matches!(bot.next(), Event::Session));
    fake.wait_connected(1);
    fake.split_events(true);
    fake.drop_connection();
    let while_away = fake.dm(BOB, "VPN 连不上");
    assert!(matches!(bot.next(), Event::Session), "a new session");
    // The bot's side of the handshake may finish before the fake counts it.
    fake.wait_connected(2);
    assert_eq!(fake.connects(), 2);
    let Event::Message(m) = bot.next() else {
        panic!("the message sent while away")
    };
    assert_eq!(m.id.as_str(), while_away);
    assert_eq!(m.text, "VPN 连不上", "the two parts joined in order");
    bot.nothing_more();
    // Events that are not pushed again are still in the chat's history,
    // where the seam reads them back after a session.
    fake.forget_while_away(true);
    fake.drop_connection();
    let lost = fake.dm(BOB, "还是连不上");
    assert!(matches!(bot.next(), Event::Session));
    bot.nothing_more();
    let history = bot
        .rt
        .block_on(bot.app.history(&ChannelId(m.channel.0.clone()), m.position))
        .expect("history");
    let ids: Vec<&str> = history.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, vec![lost.as_str()]);
    assert_eq!(history.messages[0].conversation, Conversation::Direct);
}

#[test]
fn a_ticket_gets_a_topic_thread_whose_messages_are_read_back() {
    let fake = FakeFeishu::start();
    let mut bot = Bot::start(&fake);
    assert!(matches!(bot.next(), Event::Session));
    let group = ChannelId(group_chat("hardware").into());
    let mut card = Post::text("打印机卡纸", Lang::ZhCn);
    card.title = Some(format!("{} 打印机", ticket()));
    card.buttons = Buttons::Claim { ticket: ticket() };
    let starter = bot.rt.block_on(bot.app.post(&group, card)).expect("card");
    let thread = bot
        .rt
        .block_on(
            bot.app
                .open_thread(&group, &starter, "IT202401050007 打印机"),
        )
        .expect("thread");
    let threads = fake.threads();
    assert_eq!(threads.len(), 1);
    assert_eq!(threads[0].0, thread.as_str());
    assert_eq!(threads[0].2, starter.id.as_str(), "under the ticket card");
    let note = bot
        .rt
        .block_on(bot.app.post(&thread, Post::text("已派人", Lang::ZhCn)))
        .expect("post in thread");
    let said = fake.post_in_thread(TECH, thread.as_str(), "换了硒鼓，请再试");
    let Event::Message(m) = bot.next() else {
        panic!("the technician's message")
    };
    assert_eq!(
        m.channel, thread,
        "a thread message is in the thread's channel"
    );
    assert_eq!(m.author.staff, Staff::Yes);
    assert_eq!(m.conversation, Conversation::Other);
    let stranger = fake.post_in_thread(STRANGER, thread.as_str(), "关掉吧");
    let Event::Message(m) = bot.next() else {
        panic!("the stranger's message")
    };
    assert_eq!(
        m.author.staff,
        Staff::No,
        "only [feishu] technicians are staff"
    );
    let history = bot
        .rt
        .block_on(bot.app.history(&thread, note.position))
        .expect("history");
    let ids: Vec<&str> = history.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, vec![said.as_str(), stranger.as_str()]);
}

#[test]
fn rating_buttons_reach_the_requester_and_a_press_reads_back() {
    let fake = FakeFeishu::start();
    let mut bot = Bot::start(&fake);
    assert!(matches!(bot.next(), Event::Session));
    let (channel, _) = bot
        .rt
        .block_on(bot.app.direct_channel(&UserId(ALICE.into())))
        .expect("channel");
    let mut notice = Post::text("问题解决了吗？", Lang::ZhCn);
    notice.buttons = Buttons::Rating { ticket: ticket() };
    bot.rt
        .block_on(bot.app.post(&channel, notice))
        .expect("post");
    let sent = fake.dms_to(ALICE);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].msg_type, "interactive");
    let card = sent[0].card().to_string();
    assert!(card.contains("★★★★") && card.contains("还是不行"), "{card}");
    fake.press(
        ALICE,
        &sent[0].message_id,
        json!({"act": "rate", "ticket": ticket().as_str(), "stars": "4"}),
    );
    let Event::Interaction(i) = bot.next() else {
        panic!("the press")
    };
    assert_eq!(i.user.id.as_str(), ALICE);
    let InteractionKind::Button(Button::Rate { ticket: t, stars }) = &i.kind else {
        panic!("a rating, got {:?}", i.kind)
    };
    assert_eq!((t, *stars), (&ticket(), 4));
    // The remark form's submit is the rating itself.
    fake.submit(
        ALICE,
        &sent[0].message_id,
        json!({"act": "rating_form", "ticket": ticket().as_str(), "stars": "4"}),
        json!({"remark": "很快"}),
    );
    let Event::Interaction(i) = bot.next() else {
        panic!("the form")
    };
    let InteractionKind::Form(Form::Rating { stars, remark, .. }) = &i.kind else {
        panic!("a rating form, got {:?}", i.kind)
    };
    assert_eq!((*stars, remark.as_deref()), (4, Some("很快")));
    // A value we never wrote is no interaction at all.
    fake.press(
        STRANGER,
        &sent[0].message_id,
        json!({"act": "rate", "ticket": "x", "stars": "4"}),
    );
    bot.nothing_more();
}

#[test]
fn an_expired_token_is_renewed_and_rate_limits_are_waited_out() {
    let fake = FakeFeishu::start();
    let mut bot = Bot::start(&fake);
    assert!(matches!(bot.next(), Event::Session));
    let group = ChannelId(group_chat("hardware").into());
    bot.rt
        .block_on(bot.app.post(&group, Post::text("one", Lang::En)))
        .expect("post");
    assert_eq!(fake.tokens_issued(), 1);
    fake.expire_token();
    fake.rate_limit(1, true);
    fake.rate_limit(1, false);
    bot.rt
        .block_on(bot.app.post(&group, Post::text("two", Lang::En)))
        .expect("post after renewal and two rate limits");
    assert_eq!(fake.tokens_issued(), 2);
    let token_calls = fake
        .calls()
        .iter()
        .filter(|c| c.method == "POST" && c.path.ends_with("/tenant_access_token/internal"))
        .count();
    assert_eq!(token_calls, 2);
    let sends: Vec<_> = fake
        .calls()
        .into_iter()
        .filter(|c| {
            c.path
                .starts_with("/open-apis/im/v1/messages?receive_id_type=chat_id")
        })
        .collect();
    assert_eq!(
        sends.len(),
        5,
        "one, two refused for the token, twice rate-limited, then sent"
    );
    assert_eq!(sends[4].body["msg_type"], "text");
    let texts: Vec<String> = fake
        .messages(group.as_str())
        .iter()
        .map(|m| m.text())
        .collect();
    assert_eq!(texts, vec!["one", "two"], "each sent once");
}
