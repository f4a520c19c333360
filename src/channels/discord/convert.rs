//! Discord's events into the seam's types: messages (who wrote, where,
//! whether the bot was mentioned) and interactions (commands, button presses,
//! forms).
//!
//! Invariant: this is where Discord's ids become the seam's opaque strings,
//! and only this adapter turns them back (`DiscordApp`).

use serenity::all::{
    ActionRowComponent, ChannelId, ComponentInteraction, Interaction as DiscordInteraction,
    Message, ModalInteraction, UserId,
};

use super::commands;
use super::ui::{self, CustomId};
use super::DiscordApp;
use crate::channels::chat::{
    self, Attachment, ChatMessage, Conversation, Form, Interaction, InteractionKind, Person,
    ReplyTo, Staff,
};
use crate::core::ticket::Lang;

impl DiscordApp {
    /// A message from the gateway (`live`) or read through REST, which
    /// carries neither the guild nor the member: where it was written then
    /// comes from the seam's cursor, and whether its author is staff is
    /// asked when it matters.
    pub(super) fn message(&self, m: &Message, live: bool) -> ChatMessage {
        let bot = self.bot();
        let conversation = if Some(m.channel_id) == self.help_channel {
            Conversation::Help
        } else if live && m.guild_id.is_none() {
            // Discord gives each user one DM channel: the transport needs no call to find it.
            self.dm_channels.insert(m.author.id, m.channel_id);
            Conversation::Direct
        } else {
            Conversation::Other
        };
        let staff = match (&m.member, m.guild_id) {
            (Some(member), _) => staff_of(member.roles.contains(&self.technician_role)),
            (None, None) if live => Staff::No,
            (None, _) => Staff::Unknown,
        };
        let name = m
            .member
            .as_ref()
            .and_then(|mem| mem.nick.clone())
            .unwrap_or_else(|| m.author.display_name().to_string());
        ChatMessage {
            id: chat::MessageId(m.id.to_string()),
            position: m.id.get(),
            channel: channel(m.channel_id),
            conversation,
            author: Person {
                id: user(m.author.id),
                name,
                staff,
                bot: m.author.bot,
            },
            text: strip_mentions(&m.content, bot),
            mentions_bot: bot.is_some_and(|bot| m.mentions.iter().any(|u| u.id == bot)),
            attachments: m
                .attachments
                .iter()
                .map(|a| Attachment {
                    name: a.filename.clone(),
                    content_type: a.content_type.clone(),
                    size: u64::from(a.size),
                    url: a.url.clone(),
                })
                .collect(),
        }
    }

    /// The interaction as the seam takes it; `None` for what this bot never
    /// offered (an unknown command or custom id).
    pub(super) fn interaction(&self, interaction: &DiscordInteraction) -> Option<Interaction> {
        let (kind, user, member, channel_id, locale, token) = match interaction {
            DiscordInteraction::Command(c) => (
                InteractionKind::Command(commands::parse(c, self.tz)?),
                &c.user,
                c.member.as_deref(),
                c.channel_id,
                c.locale.as_str(),
                &c.token,
            ),
            DiscordInteraction::Component(press) => (
                InteractionKind::Button(button(press)?),
                &press.user,
                press.member.as_ref(),
                press.channel_id,
                press.locale.as_str(),
                &press.token,
            ),
            DiscordInteraction::Modal(submit) => (
                InteractionKind::Form(form(submit)?),
                &submit.user,
                submit.member.as_ref(),
                submit.channel_id,
                submit.locale.as_str(),
                &submit.token,
            ),
            _ => return None,
        };
        let id = interaction.id();
        Some(Interaction {
            id: id.to_string(),
            position: id.get(),
            channel: channel(channel_id),
            user: Person {
                id: self::user(user.id),
                name: member
                    .map(|m| m.display_name().to_string())
                    .unwrap_or_else(|| user.display_name().to_string()),
                staff: match member {
                    Some(m) => staff_of(m.roles.contains(&self.technician_role)),
                    // Outside the guild (a DM) nobody acts as staff.
                    None => Staff::No,
                },
                bot: user.bot,
            },
            lang: Some(lang_of(locale)),
            reply: ReplyTo {
                id: id.to_string(),
                token: token.clone(),
            },
            kind,
        })
    }
}

fn button(press: &ComponentInteraction) -> Option<chat::Button> {
    CustomId::parse(&press.data.custom_id)?.button()
}

fn form(submit: &ModalInteraction) -> Option<Form> {
    let field = |id: &str| {
        submit
            .data
            .components
            .iter()
            .flat_map(|row| &row.components)
            .find_map(|c| match c {
                ActionRowComponent::InputText(input) if input.custom_id == id => input
                    .value
                    .clone()
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty()),
                _ => None,
            })
    };
    Some(match CustomId::parse(&submit.data.custom_id)? {
        CustomId::NewTicket { chosen } => Form::NewTicket {
            chosen,
            description: field(ui::FIELD_DESCRIPTION).unwrap_or_default(),
            expected: field(ui::FIELD_EXPECTED),
            contact: field(ui::FIELD_CONTACT),
        },
        CustomId::Remark { ticket, stars } => Form::Rating {
            ticket,
            stars,
            remark: field(ui::FIELD_REMARK),
        },
        CustomId::RejectReason { ticket } => Form::StillBroken {
            ticket,
            reason: field(ui::FIELD_REMARK),
        },
        _ => return None,
    })
}

fn staff_of(technician: bool) -> Staff {
    if technician {
        Staff::Yes
    } else {
        Staff::No
    }
}

pub(super) fn channel(id: ChannelId) -> chat::ChannelId {
    chat::ChannelId(id.to_string())
}

pub(super) fn user(id: UserId) -> chat::UserId {
    chat::UserId(id.to_string())
}

fn lang_of(locale: &str) -> Lang {
    if locale.starts_with("zh") {
        Lang::ZhCn
    } else {
        Lang::En
    }
}

/// The text without mentions of the bot (`<@ID>` / `<@!ID>`).
fn strip_mentions(content: &str, bot: Option<UserId>) -> String {
    match bot {
        Some(bot) => content
            .replace(&format!("<@{bot}>"), "")
            .replace(&format!("<@!{bot}>"), "")
            .trim()
            .to_string(),
        None => content.trim().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_text_helpers() {
        let bot = Some(UserId::new(42));
        assert_eq!(strip_mentions("<@42> 打印机卡纸", bot), "打印机卡纸");
        assert_eq!(strip_mentions("help <@!42>", bot), "help");
        assert_eq!(strip_mentions("<@7> hi", bot), "<@7> hi");
        assert_eq!(lang_of("zh-CN"), Lang::ZhCn);
        assert_eq!(lang_of("en-US"), Lang::En);
    }
}
