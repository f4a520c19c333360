//! The buttons and forms the bot attaches in Discord, and the custom ids that
//! carry a ticket through a button press or a form — rendered from the seam's
//! `Buttons` and `FormSpec`, read back into its `Button` and `Form`.
//!
//! Invariant: every custom id this module encodes, `CustomId::parse` reads back
//! (unit-tested), so a press on a message sent by an older run still works.

use serenity::all::{
    ButtonStyle, CreateActionRow, CreateButton, CreateInputText, CreateModal, InputTextStyle,
};

use crate::channels::chat::{Button, Buttons, FormSpec, MessageId};
use crate::core::id::TicketId;
use crate::core::ticket::{Lang, ProblemType, Urgency};

/// Ids of the modal fields.
pub const FIELD_DESCRIPTION: &str = "description";
pub const FIELD_EXPECTED: &str = "expected";
pub const FIELD_CONTACT: &str = "contact";
pub const FIELD_REMARK: &str = "remark";

/// What a button or modal is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomId {
    /// A star button on the confirm notice: opens the remark form.
    Rate { ticket: TicketId, stars: u8 },
    /// "Still broken" on the confirm notice: opens the reason form.
    Reject { ticket: TicketId },
    /// Claim, on the ticket card and on urgent pages.
    Claim { ticket: TicketId },
    /// The requester chose which open ticket a message is about (`None`: a new one).
    Pick {
        message: u64,
        ticket: Option<TicketId>,
    },
    /// The panel's "open a ticket" button.
    Open,
    /// The new-ticket form: with the type and urgency chosen in `/ticket new`,
    /// or (`None`) from the panel, where the keywords decide.
    NewTicket {
        chosen: Option<(ProblemType, Urgency)>,
    },
    /// The remark form after a star button.
    Remark { ticket: TicketId, stars: u8 },
    /// The reason form after "still broken".
    RejectReason { ticket: TicketId },
}

impl CustomId {
    pub fn encode(&self) -> String {
        match self {
            CustomId::Rate { ticket, stars } => format!("rate:{ticket}:{stars}"),
            CustomId::Reject { ticket } => format!("reject:{ticket}"),
            CustomId::Claim { ticket } => format!("claim:{ticket}"),
            CustomId::Pick { message, ticket } => format!(
                "pick:{message}:{}",
                ticket.as_ref().map_or("new", TicketId::as_str)
            ),
            CustomId::Open => "open:panel".into(),
            CustomId::NewTicket {
                chosen: Some((problem_type, urgency)),
            } => format!("new:{problem_type}:{urgency}"),
            CustomId::NewTicket { chosen: None } => "new:panel".into(),
            CustomId::Remark { ticket, stars } => format!("remark:{ticket}:{stars}"),
            CustomId::RejectReason { ticket } => format!("why:{ticket}"),
        }
    }

    pub fn parse(s: &str) -> Option<CustomId> {
        let mut parts = s.split(':');
        let kind = parts.next()?;
        let a = parts.next()?;
        let b = parts.next();
        if parts.next().is_some() {
            return None;
        }
        let ticket = || TicketId::parse(a);
        let stars = || b?.parse::<u8>().ok().filter(|n| (1..=5).contains(n));
        Some(match (kind, b) {
            ("rate", Some(_)) => CustomId::Rate {
                ticket: ticket()?,
                stars: stars()?,
            },
            ("remark", Some(_)) => CustomId::Remark {
                ticket: ticket()?,
                stars: stars()?,
            },
            ("reject", None) => CustomId::Reject { ticket: ticket()? },
            ("why", None) => CustomId::RejectReason { ticket: ticket()? },
            ("claim", None) => CustomId::Claim { ticket: ticket()? },
            ("open", None) if a == "panel" => CustomId::Open,
            ("pick", Some(t)) => CustomId::Pick {
                message: a.parse().ok().filter(|n| *n > 0)?,
                ticket: if t == "new" {
                    None
                } else {
                    Some(TicketId::parse(t)?)
                },
            },
            ("new", None) if a == "panel" => CustomId::NewTicket { chosen: None },
            ("new", Some(u)) => CustomId::NewTicket {
                chosen: Some((ProblemType::parse(a)?, Urgency::parse(u)?)),
            },
            _ => return None,
        })
    }

    /// The seam's button, for a press.
    pub fn button(self) -> Option<Button> {
        Some(match self {
            CustomId::Rate { ticket, stars } => Button::Rate { ticket, stars },
            CustomId::Reject { ticket } => Button::StillBroken { ticket },
            CustomId::Claim { ticket } => Button::Claim { ticket },
            CustomId::Pick { message, ticket } => Button::Pick {
                message: MessageId(message.to_string()),
                ticket,
            },
            CustomId::Open => Button::OpenTicket,
            CustomId::NewTicket { .. }
            | CustomId::Remark { .. }
            | CustomId::RejectReason { .. } => return None,
        })
    }
}

/// The rows of buttons under a post.
pub fn buttons(buttons: &Buttons, lang: Lang) -> Vec<CreateActionRow> {
    let button = |id: CustomId, label: String, style| {
        CreateButton::new(id.encode()).label(label).style(style)
    };
    match buttons {
        Buttons::None => Vec::new(),
        Buttons::Rating { ticket } => {
            let stars = (1..=5u8)
                .map(|n| {
                    let id = CustomId::Rate {
                        ticket: ticket.clone(),
                        stars: n,
                    };
                    button(id, "★".repeat(usize::from(n)), ButtonStyle::Primary)
                })
                .collect();
            let broken = match lang {
                Lang::En => "Still broken",
                Lang::ZhCn => "还是不行",
            };
            let reject = CustomId::Reject {
                ticket: ticket.clone(),
            };
            vec![
                CreateActionRow::Buttons(stars),
                CreateActionRow::Buttons(vec![button(reject, broken.into(), ButtonStyle::Danger)]),
            ]
        }
        Buttons::Claim { ticket } => {
            let label = match lang {
                Lang::En => "Claim",
                Lang::ZhCn => "认领",
            };
            let claim = CustomId::Claim {
                ticket: ticket.clone(),
            };
            vec![CreateActionRow::Buttons(vec![button(
                claim,
                label.into(),
                ButtonStyle::Success,
            )])]
        }
        Buttons::Pick { message, choices } => {
            // A message id the bot got from Discord; anything else gets no buttons.
            let Some(message) = message.as_str().parse::<u64>().ok().filter(|n| *n > 0) else {
                return Vec::new();
            };
            let mut row: Vec<CreateButton> = choices
                .iter()
                .take(4)
                .map(|(id, subject)| {
                    let label: String = format!("{id} {subject}").chars().take(80).collect();
                    let pick = CustomId::Pick {
                        message,
                        ticket: Some(id.clone()),
                    };
                    button(pick, label, ButtonStyle::Primary)
                })
                .collect();
            let new = match lang {
                Lang::En => "New ticket",
                Lang::ZhCn => "新服务单",
            };
            let pick = CustomId::Pick {
                message,
                ticket: None,
            };
            row.push(button(pick, new.into(), ButtonStyle::Secondary));
            vec![CreateActionRow::Buttons(row)]
        }
        Buttons::OpenTicket => {
            let label = match lang {
                Lang::En => "Open a ticket",
                Lang::ZhCn => "提交服务单",
            };
            vec![CreateActionRow::Buttons(vec![button(
                CustomId::Open,
                label.into(),
                ButtonStyle::Primary,
            )])]
        }
    }
}

/// The form a button or command opens; labels in both languages (Discord
/// shows a form before we know whose ticket it is).
pub fn form(spec: &FormSpec) -> CreateModal {
    let input = |style, label: &str, id: &str, required: bool, max: u16| {
        CreateActionRow::InputText(
            CreateInputText::new(style, label, id)
                .required(required)
                .max_length(max),
        )
    };
    match spec {
        FormSpec::NewTicket { chosen } => CreateModal::new(
            CustomId::NewTicket { chosen: *chosen }.encode(),
            "New ticket / 新服务单",
        )
        .components(vec![
            input(
                InputTextStyle::Paragraph,
                "Description / 问题描述",
                FIELD_DESCRIPTION,
                true,
                4000,
            ),
            input(
                InputTextStyle::Short,
                "Expected time / 期望解决时间",
                FIELD_EXPECTED,
                false,
                100,
            ),
            input(
                InputTextStyle::Short,
                "Contact / 联系方式",
                FIELD_CONTACT,
                false,
                100,
            ),
        ]),
        FormSpec::Rating { ticket, stars } => {
            let id = CustomId::Remark {
                ticket: ticket.clone(),
                stars: *stars,
            };
            CreateModal::new(
                id.encode(),
                format!("{} {ticket}", "★".repeat(usize::from(*stars))),
            )
            .components(vec![input(
                InputTextStyle::Paragraph,
                "Remark (optional) / 备注（可选）",
                FIELD_REMARK,
                false,
                1000,
            )])
        }
        FormSpec::StillBroken { ticket } => {
            let id = CustomId::RejectReason {
                ticket: ticket.clone(),
            };
            CreateModal::new(id.encode(), ticket.to_string()).components(vec![input(
                InputTextStyle::Paragraph,
                "What is still wrong? / 还有什么问题？",
                FIELD_REMARK,
                false,
                1000,
            )])
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn custom_ids_read_back() {
        let t = TicketId::new(NaiveDate::from_ymd_opt(2023, 10, 1).unwrap(), 7);
        let ids = [
            CustomId::Rate {
                ticket: t.clone(),
                stars: 4,
            },
            CustomId::Reject { ticket: t.clone() },
            CustomId::Claim { ticket: t.clone() },
            CustomId::Pick {
                message: 123,
                ticket: Some(t.clone()),
            },
            CustomId::Pick {
                message: 123,
                ticket: None,
            },
            CustomId::NewTicket {
                chosen: Some((ProblemType::Network, Urgency::Urgent)),
            },
            CustomId::NewTicket { chosen: None },
            CustomId::Open,
            CustomId::Remark {
                ticket: t.clone(),
                stars: 5,
            },
            CustomId::RejectReason { ticket: t },
        ];
        for id in ids {
            let text = id.encode();
            assert!(text.len() <= 100, "Discord caps custom ids at 100: {text}");
            assert_eq!(CustomId::parse(&text), Some(id), "{text}");
        }
        for bad in [
            "",
            "rate",
            "rate:IT20231001007",
            "rate:IT20231001007:6",
            "rate:x:1",
            "claim:IT20231001007:1",
            "pick:x:new",
            "new:printer:low",
            "zap:1:2",
            "open:x",
            "pick:0:new",
        ] {
            assert_eq!(CustomId::parse(bad), None, "{bad}");
        }
    }
}
