//! What the bot offers in Discord's UI: the slash commands it registers, the
//! buttons and modals it attaches, and the custom ids that carry a ticket
//! through a button press or a form.
//!
//! Invariant: every custom id this module encodes, `CustomId::parse` reads back
//! (unit-tested), so a press on a message sent by an older run still works.

use serenity::all::{
    ButtonStyle, CommandOptionType, CreateActionRow, CreateButton, CreateCommand,
    CreateCommandOption, CreateInputText, CreateModal, InputTextStyle,
};

use crate::core::id::TicketId;
use crate::core::ticket::{Lang, ProblemType, Urgency};

/// The requesters' command (works in DMs).
pub const TICKET: &str = "ticket";
/// The technicians' command (in a ticket's thread).
pub const DESK: &str = "desk";

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
    /// The `/ticket new` form, with the type and urgency chosen in the command.
    NewTicket {
        problem_type: ProblemType,
        urgency: Urgency,
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
            CustomId::NewTicket {
                problem_type,
                urgency,
            } => format!("new:{problem_type}:{urgency}"),
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
            ("pick", Some(t)) => CustomId::Pick {
                message: a.parse().ok()?,
                ticket: if t == "new" {
                    None
                } else {
                    Some(TicketId::parse(t)?)
                },
            },
            ("new", Some(u)) => CustomId::NewTicket {
                problem_type: ProblemType::parse(a)?,
                urgency: Urgency::parse(u)?,
            },
            _ => return None,
        })
    }
}

/// ★1–★5 and "still broken", for the confirm-and-rate notice.
pub fn rating_buttons(ticket: &TicketId, lang: Lang) -> Vec<CreateActionRow> {
    let stars = (1..=5u8)
        .map(|n| {
            let label = "★".repeat(usize::from(n));
            CreateButton::new(
                CustomId::Rate {
                    ticket: ticket.clone(),
                    stars: n,
                }
                .encode(),
            )
            .label(label)
            .style(ButtonStyle::Primary)
        })
        .collect();
    let broken = match lang {
        Lang::En => "Still broken",
        Lang::ZhCn => "还是不行",
    };
    let reject = CreateButton::new(
        CustomId::Reject {
            ticket: ticket.clone(),
        }
        .encode(),
    )
    .label(broken)
    .style(ButtonStyle::Danger);
    vec![
        CreateActionRow::Buttons(stars),
        CreateActionRow::Buttons(vec![reject]),
    ]
}

pub fn claim_button(ticket: &TicketId, lang: Lang) -> Vec<CreateActionRow> {
    let label = match lang {
        Lang::En => "Claim",
        Lang::ZhCn => "认领",
    };
    vec![CreateActionRow::Buttons(vec![CreateButton::new(
        CustomId::Claim {
            ticket: ticket.clone(),
        }
        .encode(),
    )
    .label(label)
    .style(ButtonStyle::Success)])]
}

/// One button per candidate ticket, and one for "a new ticket".
pub fn pick_buttons(message: u64, tickets: &[(TicketId, String)]) -> Vec<CreateActionRow> {
    let mut buttons: Vec<CreateButton> = tickets
        .iter()
        .take(4)
        .map(|(id, subject)| {
            let label: String = format!("{id} {subject}").chars().take(80).collect();
            CreateButton::new(
                CustomId::Pick {
                    message,
                    ticket: Some(id.clone()),
                }
                .encode(),
            )
            .label(label)
            .style(ButtonStyle::Primary)
        })
        .collect();
    buttons.push(
        CreateButton::new(
            CustomId::Pick {
                message,
                ticket: None,
            }
            .encode(),
        )
        .label("New ticket / 新服务单")
        .style(ButtonStyle::Secondary),
    );
    vec![CreateActionRow::Buttons(buttons)]
}

pub fn new_ticket_form(problem_type: ProblemType, urgency: Urgency) -> CreateModal {
    let input = |style, label: &str, id: &str, required| {
        CreateInputText::new(style, label, id).required(required)
    };
    CreateModal::new(
        CustomId::NewTicket {
            problem_type,
            urgency,
        }
        .encode(),
        "New ticket / 新服务单",
    )
    .components(vec![
        CreateActionRow::InputText(
            input(
                InputTextStyle::Paragraph,
                "Description / 问题描述",
                FIELD_DESCRIPTION,
                true,
            )
            .max_length(4000),
        ),
        CreateActionRow::InputText(
            input(
                InputTextStyle::Short,
                "Expected time / 期望解决时间",
                FIELD_EXPECTED,
                false,
            )
            .max_length(100),
        ),
        CreateActionRow::InputText(
            input(
                InputTextStyle::Short,
                "Contact / 联系方式",
                FIELD_CONTACT,
                false,
            )
            .max_length(100),
        ),
    ])
}

pub fn remark_form(ticket: &TicketId, stars: u8) -> CreateModal {
    let title = format!("{} {ticket}", "★".repeat(usize::from(stars)));
    CreateModal::new(
        CustomId::Remark {
            ticket: ticket.clone(),
            stars,
        }
        .encode(),
        title,
    )
    .components(vec![CreateActionRow::InputText(
        CreateInputText::new(
            InputTextStyle::Paragraph,
            "Remark (optional) / 备注（可选）",
            FIELD_REMARK,
        )
        .required(false)
        .max_length(1000),
    )])
}

pub fn reject_form(ticket: &TicketId) -> CreateModal {
    CreateModal::new(
        CustomId::RejectReason {
            ticket: ticket.clone(),
        }
        .encode(),
        format!("{ticket}"),
    )
    .components(vec![CreateActionRow::InputText(
        CreateInputText::new(
            InputTextStyle::Paragraph,
            "What is still wrong? / 还有什么问题？",
            FIELD_REMARK,
        )
        .required(false)
        .max_length(1000),
    )])
}

fn choices<T: Copy>(
    mut option: CreateCommandOption,
    all: &[T],
    key: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> String,
) -> CreateCommandOption {
    for &v in all {
        option = option.add_string_choice(label(v), key(v));
    }
    option
}

fn type_option(description: &str) -> CreateCommandOption {
    choices(
        CreateCommandOption::new(CommandOptionType::String, "type", description),
        ProblemType::ALL,
        ProblemType::key,
        |t| format!("{} / {}", t.label(Lang::En), t.label(Lang::ZhCn)),
    )
}

fn urgency_option(name: &str, description: &str) -> CreateCommandOption {
    choices(
        CreateCommandOption::new(CommandOptionType::String, name, description),
        Urgency::ALL,
        Urgency::key,
        |u| format!("{} / {}", u.label(Lang::En), u.label(Lang::ZhCn)),
    )
}

fn sub(name: &str, description: &str) -> CreateCommandOption {
    CreateCommandOption::new(CommandOptionType::SubCommand, name, description)
}

fn text(name: &str, description: &str) -> CreateCommandOption {
    CreateCommandOption::new(CommandOptionType::String, name, description)
        .required(true)
        .max_length(2000)
}

/// `/ticket new type urgency` (then a form) and `/ticket status [id]`.
pub fn ticket_command() -> CreateCommand {
    CreateCommand::new(TICKET)
        .description("Ask IT for help, or see your tickets / 提交或查询服务单")
        .dm_permission(true)
        .add_option(
            sub("new", "Open a ticket with a form / 填写表单提交服务单")
                .add_sub_option(type_option("Problem type / 问题类型").required(true))
                .add_sub_option(urgency_option("urgency", "Urgency / 紧急程度").required(true)),
        )
        .add_option(
            sub("status", "Your tickets / 我的服务单").add_sub_option(
                CreateCommandOption::new(
                    CommandOptionType::String,
                    "id",
                    "Ticket ID, e.g. IT20231001001",
                )
                .required(false),
            ),
        )
}

/// `/desk …`: the technicians' actions, used inside a ticket's thread.
pub fn desk_command() -> CreateCommand {
    CreateCommand::new(DESK)
        .description("Work the ticket of this thread / 处理本线程的服务单")
        .dm_permission(false)
        .add_option(sub("claim", "Take the ticket / 认领"))
        .add_option(
            sub("assign", "Assign to someone / 指派").add_sub_option(
                CreateCommandOption::new(CommandOptionType::User, "user", "Technician / 处理人员")
                    .required(true),
            ),
        )
        .add_option(
            sub("type", "Change the problem type and group / 修改问题类型")
                .add_sub_option(type_option("New type / 新类型").required(true)),
        )
        .add_option(
            sub(
                "urgency",
                "Change the urgency (logged) / 修改紧急程度（记录在案）",
            )
            .add_sub_option(urgency_option("level", "New urgency / 新紧急程度").required(true))
            .add_sub_option(text("reason", "Why / 原因").required(false)),
        )
        .add_option(
            sub("step", "Log a handling step / 记录处理步骤")
                .add_sub_option(text("text", "What was done / 处理内容")),
        )
        .add_option(
            sub("remark", "Add a remark (备注) / 添加备注")
                .add_sub_option(text("text", "The remark / 备注内容")),
        )
        .add_option(
            sub("escalate", "Escalate to the tech lead / 升级")
                .add_sub_option(text("reason", "Why / 原因")),
        )
        .add_option(
            sub("resolve", "Resolve with the fix / 解决")
                .add_sub_option(text("fix", "The fix / 解决方法")),
        )
        .add_option(sub("reopen", "Reopen / 重新打开").add_sub_option(text("reason", "Why / 原因")))
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
                problem_type: ProblemType::Network,
                urgency: Urgency::Urgent,
            },
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
        ] {
            assert_eq!(CustomId::parse(bad), None, "{bad}");
        }
    }
}
