//! Who receives a notice: the audience of an effect resolved to concrete
//! destinations from the ticket and the routing config.

use std::collections::BTreeMap;

use crate::config::{Config, RoutingConfig};
use crate::core::effect::{Audience, Notice};
use crate::core::ticket::{Channel, Lang, ProblemType, Ticket};
use crate::store::{Destination, OutgoingNotice};

pub struct Routing {
    routing: RoutingConfig,
    groups: BTreeMap<String, Vec<String>>,
    on_duty: Vec<String>,
    lead: Vec<String>,
    staff_lang: Lang,
    message_id_domain: String,
}

impl Routing {
    pub fn from_config(config: &Config) -> Routing {
        Routing {
            routing: config.routing.clone(),
            groups: config.groups.iter().map(|(name, g)| (name.clone(), g.email.clone())).collect(),
            on_duty: config.on_duty.email.clone(),
            lead: config.escalation.email.clone(),
            staff_lang: config.default_lang(),
            message_id_domain: config.helpdesk.message_id_domain.clone(),
        }
    }

    pub fn group_for(&self, t: ProblemType) -> &str {
        self.routing.group_for(t)
    }

    /// Requesters hear back on the channel they wrote in, in their language;
    /// staff get the configured language.
    pub fn destinations(&self, ticket: &Ticket, audience: Audience) -> Vec<(Destination, Lang)> {
        match audience {
            Audience::Requester => {
                let r = &ticket.requester;
                let chat = r.chat_user.clone().map(|user| Destination::ChatUser { user });
                let email = r.email.clone().map(|to| Destination::Email { to });
                let dest = match ticket.channel {
                    Channel::Chat => chat.or(email),
                    Channel::Email | Channel::Desk => email.or(chat),
                };
                dest.map(|d| vec![(d, ticket.lang)]).unwrap_or_default()
            }
            Audience::Group => self.staff(self.groups.get(&ticket.group).map(Vec::as_slice).unwrap_or_default()),
            Audience::OnDuty => self.staff(&self.on_duty),
            Audience::Lead => self.staff(&self.lead),
        }
    }

    /// The on-duty staff, for alerts about no single ticket.
    pub fn on_duty(&self) -> Vec<(Destination, Lang)> {
        self.staff(&self.on_duty)
    }

    fn staff(&self, addrs: &[String]) -> Vec<(Destination, Lang)> {
        addrs.iter().map(|a| (Destination::Email { to: a.clone() }, self.staff_lang)).collect()
    }

    pub fn alert_message_id(&self, entry_id: u64) -> String {
        format!("alert{entry_id}@{}", self.message_id_domain)
    }

    pub fn outgoing(&self, ticket: &Ticket, notice: &Notice, dest: Destination, lang: Lang, entry_id: u64) -> OutgoingNotice {
        OutgoingNotice {
            kind: notice.kind,
            dest,
            lang,
            text: notice.text.clone(),
            actor: ticket.log.last().map(|e| e.actor.clone()),
            message_id: format!("n{entry_id}.{}@{}", ticket.id, self.message_id_domain),
        }
    }
}
