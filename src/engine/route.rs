//! Who receives a notice: the audience of an effect resolved to concrete
//! destinations from the ticket and the routing config — email addresses and,
//! with `[discord]`, chat channels (the group's staff channel, the on-duty
//! channel paging whoever is on duty). Destinations are neutral: a page says
//! "on duty" or "the lead", and the chat adapter renders who that is.

use std::collections::BTreeMap;

use super::assign::Contacts;
use crate::config::{Config, RoutingConfig};
use crate::core::effect::{Audience, Notice, NoticeKind};
use crate::core::ticket::{Channel, Lang, ProblemType, Ticket};
use crate::queue::{Destination, OutgoingNotice, Page};

pub struct Routing {
    routing: RoutingConfig,
    groups: BTreeMap<String, Vec<String>>,
    on_duty: Vec<String>,
    lead: Vec<String>,
    staff_lang: Lang,
    message_id_domain: String,
    chat: Option<ChatRouting>,
    /// `[contacts.NAME]`: outside contacts tickets are escalated to.
    pub contacts: Contacts,
}

/// Where staff are reached in chat.
struct ChatRouting {
    /// Group name → its staff channel.
    group_channels: BTreeMap<String, String>,
    on_duty_channel: Option<String>,
    /// Whether `[discord] lead_role` is set: only then is the lead paged.
    lead_paged: bool,
}

impl Routing {
    pub fn from_config(config: &Config) -> Routing {
        Routing {
            routing: config.routing.clone(),
            groups: config
                .groups
                .iter()
                .map(|(name, g)| (name.clone(), g.email.clone()))
                .collect(),
            on_duty: config.on_duty.email.clone(),
            lead: config.escalation.email.clone(),
            staff_lang: config.default_lang(),
            message_id_domain: config.helpdesk.message_id_domain.clone(),
            contacts: Contacts::from_config(config),
            chat: config.discord.as_ref().map(|d| ChatRouting {
                group_channels: config
                    .groups
                    .iter()
                    .filter_map(|(name, g)| Some((name.clone(), g.chat_channel.clone()?)))
                    .collect(),
                on_duty_channel: d.on_duty_channel.clone(),
                lead_paged: d.lead_role.is_some(),
            }),
        }
        .with_feishu(config)
    }

    /// With `[feishu]`: its groups' chats, on-duty chat and lead.
    fn with_feishu(mut self, config: &Config) -> Routing {
        if let Some(f) = &config.feishu {
            self.chat = Some(ChatRouting {
                group_channels: f.group_chats.clone(),
                on_duty_channel: f.on_duty_chat.clone(),
                lead_paged: f.lead.is_some(),
            });
        }
        self
    }

    pub fn group_for(&self, t: ProblemType) -> &str {
        self.routing.group_for(t)
    }

    /// Requesters hear back on the channel they wrote in, in their language;
    /// staff get the configured language, by email and in chat.
    pub fn destinations(&self, ticket: &Ticket, audience: Audience) -> Vec<(Destination, Lang)> {
        match audience {
            Audience::Requester => {
                let r = &ticket.requester;
                let chat = r
                    .chat_user
                    .clone()
                    .map(|user| Destination::ChatUser { user });
                let email = r.email.clone().map(|to| Destination::Email { to });
                let dest = match ticket.channel {
                    Channel::Chat => chat.or(email),
                    Channel::Email | Channel::Desk => email.or(chat),
                };
                dest.map(|d| vec![(d, ticket.lang)]).unwrap_or_default()
            }
            Audience::Group => {
                let mut dests = self.staff(self.group_addresses(ticket));
                dests.extend(self.card(ticket));
                dests
            }
            Audience::OnDuty => {
                let mut dests = self.staff(&self.on_duty);
                if let Some(chat) = &self.chat {
                    let channel = chat.on_duty_channel.clone();
                    dests.extend(
                        channel.map(|channel| {
                            (addressed(channel, Some(Page::OnDuty)), self.staff_lang)
                        }),
                    );
                }
                dests
            }
            Audience::Lead => {
                let mut dests = self.staff(&self.lead);
                if let Some(chat) = &self.chat {
                    let channel = chat.group_channels.get(&ticket.group).cloned();
                    dests.extend(channel.map(|channel| {
                        (
                            addressed(channel, chat.lead_paged.then_some(Page::Lead)),
                            self.staff_lang,
                        )
                    }));
                }
                dests
            }
            Audience::Contact => self.contacts.destination(ticket).into_iter().collect(),
        }
    }

    /// Who hears of a new ticket at once: its group's chat channel (the card
    /// that opens the ticket's thread) and its group's addresses (a mail whose
    /// reply works the ticket).
    pub fn new_ticket(&self, ticket: &Ticket) -> Vec<(NoticeKind, Destination, Lang)> {
        let card = self
            .card(ticket)
            .map(|(dest, lang)| (NoticeKind::TicketCard, dest, lang));
        let mail = self
            .staff(self.group_addresses(ticket))
            .into_iter()
            .map(|(dest, lang)| (NoticeKind::NewTicket, dest, lang));
        card.into_iter().chain(mail).collect()
    }

    /// Whether `address` is staff's: a group's, on-duty's or the lead's.
    pub fn is_staff(&self, address: &str) -> bool {
        let same = |a: &String| a.eq_ignore_ascii_case(address);
        self.groups.values().flatten().any(same)
            || self.on_duty.iter().any(same)
            || self.lead.iter().any(same)
    }

    fn group_addresses(&self, ticket: &Ticket) -> &[String] {
        self.groups
            .get(&ticket.group)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The group's chat channel, where a new ticket's card opens its thread.
    fn card(&self, ticket: &Ticket) -> Option<(Destination, Lang)> {
        let channel = self
            .chat
            .as_ref()?
            .group_channels
            .get(&ticket.group)?
            .clone();
        Some((
            Destination::ChatChannel {
                channel,
                page: None,
            },
            self.staff_lang,
        ))
    }

    /// The on-duty staff, for alerts about no single ticket.
    pub fn on_duty(&self) -> Vec<(Destination, Lang)> {
        let mut dests = self.staff(&self.on_duty);
        let channel = self.chat.as_ref().and_then(|c| c.on_duty_channel.clone());
        dests.extend(channel.map(|channel| {
            (
                Destination::ChatChannel {
                    channel,
                    page: None,
                },
                self.staff_lang,
            )
        }));
        dests
    }

    fn staff(&self, addrs: &[String]) -> Vec<(Destination, Lang)> {
        addrs
            .iter()
            .map(|a| (Destination::Email { to: a.clone() }, self.staff_lang))
            .collect()
    }

    pub fn alert_message_id(&self, entry_id: u64) -> String {
        format!("alert{entry_id}@{}", self.message_id_domain)
    }

    pub fn outgoing(
        &self,
        ticket: &Ticket,
        notice: &Notice,
        dest: Destination,
        lang: Lang,
        entry_id: u64,
    ) -> OutgoingNotice {
        OutgoingNotice {
            kind: notice.kind,
            dest,
            lang,
            text: notice.text.clone(),
            actor: ticket.log.last().map(|e| e.actor.clone()),
            message_id: format!("n{entry_id}.{}@{}", ticket.id, self.message_id_domain),
            staff: notice.audience != Audience::Requester,
        }
    }
}

/// A post in `channel`, paging `page` when there is one.
fn addressed(channel: String, page: Option<Page>) -> Destination {
    Destination::ChatChannel { channel, page }
}
