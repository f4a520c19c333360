//! The bot's messages in Feishu: plain text, or an interactive card when a
//! post has buttons or pages someone — rendered from the seam's `Post`,
//! `Buttons` and `FormSpec` — and the button `value`s that carry a ticket
//! through a press, read back into the seam's `Button` and `Form`.
//!
//! Invariants: every value this module writes, `pressed` reads back
//! (unit-tested), so a press on a card sent by an older run still works;
//! what people wrote goes into cards as `plain_text`, never as markdown;
//! a mention is rendered only for an id of Feishu's alphabet.

use serde_json::{json, Map, Value};

use super::rest::Content;
use crate::channels::chat::{Button, Buttons, Form, FormSpec, MessageId, Post};
use crate::core::id::TicketId;
use crate::core::ticket::{Lang, ProblemType, Urgency};

const FIELD_DESCRIPTION: &str = "description";
const FIELD_EXPECTED: &str = "expected";
const FIELD_CONTACT: &str = "contact";
const FIELD_REMARK: &str = "remark";
const FIELD_REASON: &str = "reason";

/// A post as Feishu content; `mentions` are the open_ids it pages.
pub fn content(post: &Post, mentions: &[String]) -> Content {
    let mentions: Vec<&String> = mentions.iter().filter(|id| is_id(id)).collect();
    if post.buttons == Buttons::None && mentions.is_empty() {
        let text = match &post.title {
            Some(title) => format!("{title}\n\n{}", post.body),
            None => post.body.clone(),
        };
        return Content::Text(text);
    }
    let mut elements = Vec::new();
    if !mentions.is_empty() {
        let at: Vec<String> = mentions
            .iter()
            .map(|id| format!("<at id={id}></at>"))
            .collect();
        elements.push(json!({"tag": "div", "text": {"tag": "lark_md", "content": at.join(" ")}}));
    }
    elements.push(plain(&post.body));
    let actions = buttons(&post.buttons, post.lang);
    if !actions.is_empty() {
        elements.push(json!({"tag": "action", "actions": actions}));
    }
    Content::Card(card(post.title.as_deref(), elements))
}

/// A card saying `text`, its buttons gone: what a pressed card becomes.
pub fn settled(text: &str) -> Value {
    card(None, vec![plain(text)])
}

/// The form a press asks for, as a card with a form in it.
pub fn form(spec: &FormSpec, lang: Lang) -> Value {
    let zh = lang == Lang::ZhCn;
    let pick = |en: &'static str, cn: &'static str| if zh { cn } else { en };
    let (title, fields, value): (&str, Vec<(&str, &str)>, Value) = match spec {
        FormSpec::NewTicket { chosen } => (
            pick("Open a ticket", "提交服务单"),
            vec![
                (
                    FIELD_DESCRIPTION,
                    pick("What is wrong?", "遇到了什么问题？"),
                ),
                (
                    FIELD_EXPECTED,
                    pick("What did you expect? (optional)", "期望的结果（可选）"),
                ),
                (
                    FIELD_CONTACT,
                    pick("How to reach you (optional)", "联系方式（可选）"),
                ),
            ],
            match chosen {
                Some((t, u)) => json!({"act": "new_form", "type": t.key(), "urgency": u.key()}),
                None => json!({"act": "new_form"}),
            },
        ),
        FormSpec::Rating { ticket, stars } => (
            pick(
                "Thank you — a remark? (optional)",
                "谢谢评价，还想说点什么吗？（可选）",
            ),
            vec![(FIELD_REMARK, pick("Remark", "备注"))],
            json!({"act": "rating_form", "ticket": ticket.as_str(), "stars": stars.to_string()}),
        ),
        FormSpec::StillBroken { ticket } => (
            pick("What is still wrong?", "还有什么问题？"),
            vec![(FIELD_REASON, pick("What happens now", "现在的情况"))],
            json!({"act": "broken_form", "ticket": ticket.as_str()}),
        ),
    };
    let mut elements: Vec<Value> = fields
        .into_iter()
        .map(|(name, label)| {
            json!({"tag": "input", "name": name, "input_type": "multiline_text",
                   "placeholder": {"tag": "plain_text", "content": label}})
        })
        .collect();
    elements.push(json!({
        "tag": "button", "name": "submit", "action_type": "form_submit", "type": "primary",
        "text": {"tag": "plain_text", "content": pick("Send", "提交")}, "value": value,
    }));
    card(
        Some(title),
        vec![json!({"tag": "form", "name": "form", "elements": elements})],
    )
}

/// What a press on one of our cards means; `None` for a value we never wrote.
pub fn pressed(value: &Map<String, Value>, form: Option<&Map<String, Value>>) -> Option<Pressed> {
    let text = |key: &str| value.get(key).and_then(Value::as_str);
    let field = |key: &str| {
        form.and_then(|f| f.get(key))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let ticket = || text("ticket").and_then(TicketId::parse);
    let stars = || {
        text("stars")
            .and_then(|s| s.parse::<u8>().ok())
            .filter(|n| (1..=5).contains(n))
    };
    Some(match text("act")? {
        "rate" => Pressed::Button(Button::Rate {
            ticket: ticket()?,
            stars: stars()?,
        }),
        "broken" => Pressed::Button(Button::StillBroken { ticket: ticket()? }),
        "claim" => Pressed::Button(Button::Claim { ticket: ticket()? }),
        "pick" => Pressed::Button(Button::Pick {
            message: MessageId(text("message")?.to_string()),
            ticket: match text("ticket")? {
                "new" => None,
                id => Some(TicketId::parse(id)?),
            },
        }),
        "open" => Pressed::Button(Button::OpenTicket),
        "new_form" => Pressed::Form(Form::NewTicket {
            chosen: match (text("type"), text("urgency")) {
                (Some(t), Some(u)) => Some((ProblemType::parse(t)?, Urgency::parse(u)?)),
                _ => None,
            },
            description: field(FIELD_DESCRIPTION)?,
            expected: field(FIELD_EXPECTED),
            contact: field(FIELD_CONTACT),
        }),
        "rating_form" => Pressed::Form(Form::Rating {
            ticket: ticket()?,
            stars: stars()?,
            remark: field(FIELD_REMARK),
        }),
        "broken_form" => Pressed::Form(Form::StillBroken {
            ticket: ticket()?,
            reason: field(FIELD_REASON),
        }),
        _ => return None,
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum Pressed {
    Button(Button),
    Form(Form),
}

fn buttons(buttons: &Buttons, lang: Lang) -> Vec<Value> {
    let zh = lang == Lang::ZhCn;
    let button = |label: String, kind: &str, value: Value| json!({"tag": "button", "text": {"tag": "plain_text", "content": label}, "type": kind, "value": value});
    match buttons {
        Buttons::None => Vec::new(),
        Buttons::Rating { ticket } => {
            let mut row: Vec<Value> = (1..=5u8)
                .map(|n| {
                    button(
                        "★".repeat(n.into()),
                        "default",
                        json!({"act": "rate", "ticket": ticket.as_str(), "stars": n.to_string()}),
                    )
                })
                .collect();
            let label = if zh { "还是不行" } else { "Still broken" };
            row.push(button(
                label.into(),
                "danger",
                json!({"act": "broken", "ticket": ticket.as_str()}),
            ));
            row
        }
        Buttons::Claim { ticket } => {
            let label = if zh { "认领" } else { "Claim" };
            vec![button(
                label.into(),
                "primary",
                json!({"act": "claim", "ticket": ticket.as_str()}),
            )]
        }
        Buttons::Pick { message, choices } => {
            let mut row: Vec<Value> = choices
                .iter()
                .map(|(id, subject)| {
                    let label: String = format!("{id} {subject}").chars().take(60).collect();
                    button(
                        label,
                        "default",
                        json!({"act": "pick", "message": message.as_str(), "ticket": id.as_str()}),
                    )
                })
                .collect();
            let label = if zh { "新服务单" } else { "New ticket" };
            row.push(button(
                label.into(),
                "primary",
                json!({"act": "pick", "message": message.as_str(), "ticket": "new"}),
            ));
            row
        }
        Buttons::OpenTicket => {
            let label = if zh {
                "提交服务单"
            } else {
                "Open a ticket"
            };
            vec![button(label.into(), "primary", json!({"act": "open"}))]
        }
    }
}

fn card(title: Option<&str>, elements: Vec<Value>) -> Value {
    let mut card =
        json!({"config": {"wide_screen_mode": true, "update_multi": true}, "elements": elements});
    if let Some(title) = title {
        card["header"] =
            json!({"title": {"tag": "plain_text", "content": title}, "template": "blue"});
    }
    card
}

fn plain(text: &str) -> Value {
    json!({"tag": "div", "text": {"tag": "plain_text", "content": text}})
}

/// Feishu's ids are `[A-Za-z0-9_-]`; anything else is not rendered into markup.
pub fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
#[path = "cards_tests.rs"]
mod tests;
