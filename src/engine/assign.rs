//! Who handles a new ticket when its group has a rule (`[groups.X] assign =
//! "round-robin" | "least-open"` over `members`, skipping those `away`), and
//! the outside contacts (`[contacts.NAME]`) tickets are escalated to.
//!
//! Invariant: only members not away are picked; a group without a rule (the
//! default) gets nobody, and staff claim or assign by hand as before.

use std::collections::{BTreeMap, HashMap};

use crate::config::{AssignRule, Config};
use crate::core::ticket::{Lang, Ticket};
use crate::queue::Destination;
use crate::store::{Store, StoreError};

struct GroupRule {
    rule: AssignRule,
    /// Members not away, in the configured order.
    present: Vec<String>,
}

pub struct Assigner {
    groups: HashMap<String, GroupRule>,
}

/// The store's meta key for a round-robin group's next turn.
fn turn_key(group: &str) -> String {
    format!("assign.round-robin.{group}")
}

impl Assigner {
    pub fn from_config(config: &Config) -> Assigner {
        let groups = config
            .groups
            .iter()
            .filter_map(|(name, g)| {
                let rule = g.assign?;
                let present = g
                    .members
                    .iter()
                    .filter(|m| !g.away.contains(m))
                    .cloned()
                    .collect();
                Some((name.clone(), GroupRule { rule, present }))
            })
            .collect();
        Assigner { groups }
    }

    /// The member a new ticket of `group` goes to, if the group has a rule
    /// and anyone is present. Round-robin keeps its turn in the store's meta
    /// tree: written before the ticket's commit, so a crash in between skips
    /// one member's turn rather than giving two tickets the same one.
    pub fn pick(&self, group: &str, store: &Store) -> Result<Option<String>, StoreError> {
        let Some(g) = self.groups.get(group) else {
            return Ok(None);
        };
        if g.present.is_empty() {
            return Ok(None);
        }
        match g.rule {
            AssignRule::RoundRobin => {
                let key = turn_key(group);
                let turn = store
                    .meta(&key)?
                    .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
                    .map_or(0, u64::from_be_bytes);
                let index = (turn % g.present.len() as u64) as usize;
                store.set_meta(&key, &(turn + 1).to_be_bytes())?;
                Ok(Some(g.present[index].clone()))
            }
            AssignRule::LeastOpen => {
                let mut open: HashMap<&str, usize> =
                    g.present.iter().map(|m| (m.as_str(), 0)).collect();
                for t in store.tickets() {
                    let t = t?;
                    if t.status.is_open() && t.group == group {
                        if let Some(n) = t.assignee.as_deref().and_then(|a| open.get_mut(a)) {
                            *n += 1;
                        }
                    }
                }
                // The first listed wins a tie: `min_by_key` keeps the first minimum.
                Ok(g.present
                    .iter()
                    .min_by_key(|m| open.get(m.as_str()).copied().unwrap_or(0))
                    .cloned())
            }
        }
    }
}

/// The outside contacts, by their key in the config.
pub struct Contacts {
    by_name: BTreeMap<String, (String, String)>,
    lang: Lang,
}

impl Contacts {
    pub fn from_config(config: &Config) -> Contacts {
        Contacts {
            by_name: config
                .contacts
                .iter()
                .map(|(key, c)| {
                    let shown = c.name.clone().unwrap_or_else(|| key.clone());
                    (key.clone(), (c.email.trim().to_lowercase(), shown))
                })
                .collect(),
            lang: config.default_lang(),
        }
    }

    pub fn exists(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Where the ticket's contact notice goes: the contact it was last
    /// escalated to, in the helpdesk's language.
    pub fn destination(&self, ticket: &Ticket) -> Option<(Destination, Lang)> {
        let name = ticket.contacts.last()?;
        let (email, _) = self.by_name.get(name)?;
        Some((Destination::Email { to: email.clone() }, self.lang))
    }

    /// The contact `address` belongs to, among those `ticket` was escalated
    /// to: their key and the name to log them under.
    pub fn on_ticket(&self, ticket: &Ticket, address: &str) -> Option<String> {
        ticket.contacts.iter().find_map(|name| {
            let (email, shown) = self.by_name.get(name)?;
            email
                .eq_ignore_ascii_case(address.trim())
                .then(|| shown.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::core::id::TicketId;
    use crate::core::lifecycle::{apply, open, Action, NewTicket};
    use crate::core::sla::Policy;
    use crate::core::ticket::{Channel, ProblemType, Requester, Urgency};

    /// Every group of the default routing, hardware with `rule`.
    fn config(rule: &str) -> Config {
        let others =
            "[groups.software]\n[groups.network]\n[groups.access]\n[groups.service-desk]\n";
        let text = format!(
            "[store]\npath = \"/nonexistent\"\n{others}[groups.hardware]\nassign = \"{rule}\"\nmembers = [\"李四\", \"王五\", \"赵六\"]\naway = [\"王五\"]\n"
        );
        Config::parse(&text, Path::new("test.toml")).unwrap()
    }

    fn ticket(serial: u64, assignee: &str) -> Ticket {
        let p = Policy::default();
        let now = Utc.with_ymd_and_hms(2023, 10, 2, 2, 0, 0).unwrap();
        let new = NewTicket {
            copied: Vec::new(),
            channel: Channel::Email,
            requester: Requester::default(),
            subject: "键盘坏了".into(),
            description: String::new(),
            source_message_id: None,
            problem_type: ProblemType::Hardware,
            urgency: Urgency::Medium,
            urgency_lowered: None,
            expected_time: None,
            group: "hardware".into(),
            lang: Lang::ZhCn,
            attachments: Vec::new(),
            vague: false,
            warnings: Vec::new(),
            related: None,
        };
        let (mut t, _) = open(TicketId::new(now.date_naive(), serial), new, now, &p);
        let to = assignee.to_string();
        apply(&mut t, Action::SystemAssign { to }, now, &p).unwrap();
        t
    }

    #[test]
    fn round_robin_takes_turns_among_those_present() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = Assigner::from_config(&config("round-robin"));
        let picked: Vec<String> = (0..4)
            .map(|_| a.pick("hardware", &store).unwrap().unwrap())
            .collect();
        assert_eq!(picked, ["李四", "赵六", "李四", "赵六"]);
        assert_eq!(a.pick("software", &store).unwrap(), None, "no rule");
    }

    #[test]
    fn least_open_picks_whoever_has_fewest_open_tickets() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = Assigner::from_config(&config("least-open"));
        assert_eq!(
            a.pick("hardware", &store).unwrap().unwrap(),
            "李四",
            "tie: first listed"
        );
        store.import(&ticket(1, "李四")).unwrap();
        assert_eq!(a.pick("hardware", &store).unwrap().unwrap(), "赵六");
        store.import(&ticket(2, "赵六")).unwrap();
        store.import(&ticket(3, "赵六")).unwrap();
        assert_eq!(a.pick("hardware", &store).unwrap().unwrap(), "李四");
    }

    #[test]
    fn an_assign_rule_needs_members() {
        let text = "[store]\npath = \"/x\"\n[groups.software]\n[groups.network]\n[groups.access]\n[groups.service-desk]\n[groups.hardware]\nassign = \"least-open\"\n";
        let err = Config::parse(text, Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("members"), "{err}");
    }
}
