use serde_json::json;

use super::*;

fn receive(message: Value) -> Vec<u8> {
    json!({
        "schema": "2.0",
        "header": {"event_id": "e1", "event_type": "im.message.receive_v1", "create_time": "1700000000000"},
        "event": {
            "sender": {"sender_id": {"open_id": "ou_alice"}, "sender_type": "user"},
            "message": message,
        }
    })
    .to_string()
    .into_bytes()
}

#[test]
fn a_direct_message_is_read() {
    let payload = receive(json!({
        "message_id": "om_1", "chat_id": "oc_dm", "chat_type": "p2p",
        "create_time": "1700000000123", "message_type": "text",
        "content": "{\"text\":\"打印机坏了 @_user_1\"}",
        "mentions": [{"key": "@_user_1", "id": {"open_id": "ou_bob"}, "name": "Bob"}],
    }));
    let Event::Message(m) = parse(&payload) else {
        panic!("not a message")
    };
    assert_eq!(m.message_id, "om_1");
    assert_eq!(m.chat_type, ChatType::P2p);
    assert_eq!(m.sender, "ou_alice");
    assert!(m.from_user);
    assert_eq!(m.create_time_ms, 1_700_000_000_123);
    assert_eq!(m.text, "打印机坏了 @Bob");
    assert_eq!(m.thread_id, None);
}

#[test]
fn a_thread_message_keeps_its_thread() {
    let payload = receive(json!({
        "message_id": "om_2", "chat_id": "oc_group", "chat_type": "group",
        "thread_id": "omt_9", "root_id": "om_root", "message_type": "post",
        "content": "{\"zh_cn\":{\"title\":\"t\",\"content\":[[{\"tag\":\"text\",\"text\":\"line one\"}],[{\"tag\":\"at\",\"user_name\":\"x\"},{\"tag\":\"img\"}]]}}",
    }));
    let Event::Message(m) = parse(&payload) else {
        panic!("not a message")
    };
    assert_eq!(m.chat_type, ChatType::Group);
    assert_eq!(m.thread_id.as_deref(), Some("omt_9"));
    assert_eq!(m.root_id.as_deref(), Some("om_root"));
    assert_eq!(m.text, "t\nline one\n@x[image]");
}

#[test]
fn a_card_press_is_read() {
    let payload = json!({
        "schema": "2.0",
        "header": {"event_id": "ev_1", "event_type": "card.action.trigger", "create_time": "1700000000999"},
        "event": {
            "operator": {"open_id": "ou_alice"},
            "action": {"tag": "button", "value": {"act": "rate", "ticket": "T1", "stars": 4}},
            "context": {"open_message_id": "om_card", "open_chat_id": "oc_dm"},
        }
    });
    let Event::CardAction(a) = parse(payload.to_string().as_bytes()) else {
        panic!("not a card action")
    };
    assert_eq!(a.operator, "ou_alice");
    assert_eq!(a.value["stars"], 4);
    assert_eq!(a.message_id, "om_card");
    assert_eq!(a.event_id, "ev_1");
    assert_eq!(a.create_time_ms, 1_700_000_000_999);
    assert_eq!(a.form, None);
}

#[test]
fn what_cannot_be_read_is_other() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"not json".to_vec(), "(not JSON)"),
        (b"[]".to_vec(), ""),
        (
            json!({"header": {"event_type": "im.chat.member.bot.added_v1"}, "event": {}})
                .to_string()
                .into_bytes(),
            "im.chat.member.bot.added_v1",
        ),
        // A message without a sender or id.
        (receive(json!({"chat_id": "oc"})), "im.message.receive_v1"),
        (
            json!({"header": {"event_type": "card.action.trigger"}, "event": {"operator": {"open_id": "ou"}, "action": {"value": "x"}}})
                .to_string()
                .into_bytes(),
            "card.action.trigger",
        ),
    ];
    for (payload, kind) in cases {
        assert_eq!(parse(&payload), Event::Other(kind.into()));
    }
}

#[test]
fn other_message_types_show_as_their_type() {
    assert_eq!(text_of("image", "{\"image_key\":\"k\"}"), "[image]");
    assert_eq!(text_of("text", "not json"), "");
    assert_eq!(text_of("post", "{}"), "");
}
