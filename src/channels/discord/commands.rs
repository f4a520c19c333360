//! The slash commands the bot registers (`/ticket` for requesters, `/desk`
//! for technicians) and their syntax read into the seam's `Command`: one
//! parser for this surface, into the staff vocabulary (`Change`) every
//! surface speaks.
//!
//! Invariant: every `/desk` subcommand registered here is read by `desk`
//! (unit-tested), and a missing or unreadable option is an `Invalid`, never
//! a guess.

use chrono::{NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use serenity::all::{
    CommandInteraction, CommandOptionType, CreateCommand, CreateCommandOption, Permissions,
    ResolvedOption, ResolvedValue,
};

use crate::channels::chat::{Command, DeskAction, Invalid};
use crate::core::change::Change;
use crate::core::ticket::{Lang, ProblemType, Urgency};

/// The requesters' command (works in DMs).
pub const TICKET: &str = "ticket";
/// The technicians' command (in a ticket's thread).
pub const DESK: &str = "desk";

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

/// `/desk …`: the technicians' actions, used inside a ticket's thread (the
/// panel in a help channel). Hidden from members without Manage Threads
/// unless the server's admin grants it to the technician role (Server
/// Settings → Integrations); the technician role is checked on every use.
pub fn desk_command() -> CreateCommand {
    CreateCommand::new(DESK)
        .description("Work the ticket of this thread / 处理本线程的服务单")
        .dm_permission(false)
        .default_member_permissions(Permissions::MANAGE_THREADS)
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
        .add_option(
            sub("close", "Close without confirmation / 直接关闭")
                .add_sub_option(text("reason", "Why / 原因")),
        )
        .add_option(
            sub(
                "eta",
                "Set a new ETA (the requester is told) / 修改预计完成时间",
            )
            .add_sub_option(text("when", "YYYY-MM-DD HH:MM").max_length(16))
            .add_sub_option(text("reason", "Why / 原因")),
        )
        .add_option(
            sub(
                "ask",
                "Ask the requester (the SLA clock pauses) / 向申请人提问",
            )
            .add_sub_option(text("text", "The question / 问题")),
        )
        .add_option(
            sub(
                "note",
                "Internal note, never shown to the requester / 内部备忘",
            )
            .add_sub_option(text("text", "The note / 备忘内容")),
        )
        .add_option(sub(
            "transcript",
            "The ticket's record, for you alone / 查看服务单记录",
        ))
        .add_option(sub(
            "panel",
            "Post the \"open a ticket\" button here / 在此发布提交服务单按钮",
        ))
}

/// A `/ticket` or `/desk` command as the seam takes it; `None` for a
/// command this bot did not register.
pub fn parse(command: &CommandInteraction, tz: Tz) -> Option<Command> {
    let options = command.data.options();
    let Some(ResolvedOption {
        name: sub,
        value: ResolvedValue::SubCommand(args),
        ..
    }) = options.first()
    else {
        return None;
    };
    let args = args.as_slice();
    Some(match (command.data.name.as_str(), *sub) {
        (TICKET, "new") => Command::NewTicketForm {
            problem_type: string(args, "type")
                .and_then(ProblemType::parse)
                .unwrap_or(ProblemType::Other),
            urgency: string(args, "urgency")
                .and_then(Urgency::parse)
                .unwrap_or(Urgency::Medium),
        },
        (TICKET, "status") => Command::Status {
            id: string(args, "id").map(String::from),
        },
        (DESK, sub) => match desk(sub, args, tz) {
            Ok(action) => Command::Desk {
                ticket: None,
                action,
            },
            Err(invalid) => Command::Invalid(invalid),
        },
        _ => return None,
    })
}

/// `/desk`'s syntax into the staff vocabulary. Texts are masked by the
/// engine, as every surface's changes are.
fn desk(sub: &str, args: &[ResolvedOption<'_>], tz: Tz) -> Result<DeskAction, Invalid> {
    let text = |name: &str| {
        string(args, name)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Invalid::Option(name.to_string()))
    };
    let change = match sub {
        "transcript" => return Ok(DeskAction::Transcript),
        "panel" => return Ok(DeskAction::Panel),
        "claim" => Change::Claim,
        "assign" => {
            let Some((user, member)) = args.iter().find_map(|o| match o.value {
                ResolvedValue::User(u, m) => Some((u, m)),
                _ => None,
            }) else {
                return Err(Invalid::Option("user".into()));
            };
            Change::Assign {
                to: member
                    .and_then(|m| m.nick.clone())
                    .unwrap_or_else(|| user.display_name().to_string()),
            }
        }
        "type" => Change::Type {
            to: string(args, "type")
                .and_then(ProblemType::parse)
                .ok_or_else(|| Invalid::Option("type".into()))?,
        },
        "urgency" => Change::Urgency {
            to: string(args, "level")
                .and_then(Urgency::parse)
                .ok_or_else(|| Invalid::Option("level".into()))?,
            reason: string(args, "reason").map(String::from),
        },
        "step" => Change::Step {
            text: text("text")?,
        },
        "remark" => Change::Remark {
            text: text("text")?,
        },
        "note" => Change::Note {
            text: text("text")?,
        },
        "ask" => Change::Ask {
            text: text("text")?,
        },
        "escalate" => Change::Escalate {
            reason: text("reason")?,
        },
        "resolve" => Change::Resolve { fix: text("fix")? },
        "reopen" => Change::Reopen {
            reason: text("reason")?,
        },
        "close" => Change::Close {
            reason: text("reason")?,
        },
        "eta" => {
            let when = text("when")?;
            let eta = NaiveDateTime::parse_from_str(&when, "%Y-%m-%d %H:%M")
                .ok()
                .and_then(|local| tz.from_local_datetime(&local).earliest())
                .ok_or(Invalid::When(when))?;
            Change::Eta {
                eta: eta.with_timezone(&Utc),
                reason: text("reason")?,
            }
        }
        other => return Err(Invalid::Unknown(other.to_string())),
    };
    Ok(DeskAction::Change(change))
}

fn string<'a>(args: &'a [ResolvedOption<'a>], name: &str) -> Option<&'a str> {
    args.iter()
        .find(|o| o.name == name)
        .and_then(|o| match o.value {
            ResolvedValue::String(s) => Some(s),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_desk_subcommand_is_read() {
        let registered = serde_json::to_value(desk_command()).unwrap();
        assert_eq!(registered["default_member_permissions"], "17179869184");
        let subs: Vec<String> = registered["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap().to_string())
            .collect();
        for want in ["close", "eta", "ask", "note", "step", "transcript", "panel"] {
            assert!(subs.iter().any(|s| s == want), "/desk {want}");
        }
        for sub in &subs {
            // Without its options a subcommand is refused as such, never unknown.
            let read = desk(sub, &[], chrono_tz::Asia::Shanghai);
            assert!(
                !matches!(read, Err(Invalid::Unknown(_))),
                "/desk {sub} is registered but not read"
            );
        }
        assert_eq!(
            desk("zap", &[], chrono_tz::Asia::Shanghai),
            Err(Invalid::Unknown("zap".into()))
        );
    }
}
