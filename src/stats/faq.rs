//! Self-service FAQ candidates (SPEC §3 step 5, "build guides for frequent
//! problems"): of the tickets whose requester confirmed the fix (and did not
//! rate it below 3 stars), grouped into recurring clusters like the report's,
//! the fixes that worked, most used first.
//!
//! Invariant: pure; only confirmed fixes count, so an entry never suggests
//! what the requester said did not help.

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::cluster::{self, Document, Interner};
use super::keywords;
use super::period::Period;
use crate::core::ticket::{Lang, Ticket};

/// A fix that worked, and on how many tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub text: String,
    pub tickets: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The cluster's stable name (its keywords joined by `+`).
    pub cluster: String,
    pub label: String,
    /// Confirmed tickets in the cluster.
    pub tickets: u64,
    pub fixes: Vec<Fix>,
    pub examples: Vec<String>,
}

/// Whether a ticket's fix is one the requester confirmed worked.
fn confirmed_fix(t: &Ticket) -> Option<&str> {
    let fix = t.resolution.as_ref()?;
    let liked = t.rating.as_ref().is_none_or(|r| r.stars >= 3);
    (t.confirmation.is_some() && liked && !fix.fix.trim().is_empty()).then_some(fix.fix.trim())
}

/// The FAQ entries of `tickets` resolved within `period` (all when `None`).
pub fn entries(tickets: &[Ticket], period: Option<&Period>, lang: Lang) -> Vec<Entry> {
    let confirmed: Vec<(&Ticket, &str)> = tickets
        .iter()
        .filter(|t| {
            period.is_none_or(|p| t.resolved_at.is_some_and(|at| p.start <= at && at < p.end))
        })
        .filter_map(|t| confirmed_fix(t).map(|fix| (t, fix)))
        .collect();
    let mut words = Interner::default();
    let docs: Vec<Document> = confirmed
        .iter()
        .map(|(t, _)| Document {
            id: t.id.to_string(),
            words: keywords::extract(&t.subject, &t.description)
                .iter()
                .map(|w| words.id(w))
                .collect(),
        })
        .collect();
    cluster::with_members(&docs, &words, lang)
        .into_iter()
        .map(|(c, members)| {
            let mut counts: HashMap<&str, u64> = HashMap::new();
            for &i in &members {
                *counts.entry(confirmed[i].1).or_default() += 1;
            }
            let mut fixes: Vec<Fix> = counts
                .into_iter()
                .map(|(text, tickets)| Fix {
                    text: text.to_string(),
                    tickets,
                })
                .collect();
            fixes.sort_by(|a, b| b.tickets.cmp(&a.tickets).then_with(|| a.text.cmp(&b.text)));
            Entry {
                cluster: c.keywords.join("+"),
                label: c.label,
                tickets: c.count,
                fixes,
                examples: c.examples,
            }
        })
        .collect()
}

/// The entries as a Markdown page a reviewer edits into a guide.
pub fn markdown(entries: &[Entry], lang: Lang) -> String {
    let (title, worked, none) = match lang {
        Lang::En => (
            "Frequent problems and the fixes that worked",
            "confirmed tickets",
            "No recurring problem with a confirmed fix yet.",
        ),
        Lang::ZhCn => (
            "常见问题及有效解决方法",
            "张已确认服务单",
            "暂无有确认解决方法的重复问题。",
        ),
    };
    let mut out = format!("# {title}\n\n");
    if entries.is_empty() {
        let _ = writeln!(out, "{none}");
    }
    for e in entries {
        let _ = writeln!(out, "## {} (`{}`)\n", e.label, e.cluster);
        let _ = writeln!(out, "{} {worked}: {}\n", e.tickets, e.examples.join(", "));
        for f in &e.fixes {
            let _ = writeln!(out, "- {} ({})", f.text.replace('\n', " "), f.tickets);
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::core::id::TicketId;
    use crate::core::lifecycle::{apply, open, Action, NewTicket, ReplyIntent};
    use crate::core::sla::Policy;
    use crate::core::ticket::{Channel, ProblemType, Requester, Urgency};

    fn ticket(n: u64, subject: &str, fix: &str, answer: Option<ReplyIntent>) -> Ticket {
        let p = Policy::default();
        let now = Utc.with_ymd_and_hms(2023, 10, 2, 2, 0, 0).unwrap();
        let new = NewTicket {
            copied: Vec::new(),
            channel: Channel::Email,
            requester: Requester::default(),
            subject: subject.into(),
            description: String::new(),
            source_message_id: None,
            problem_type: ProblemType::Network,
            urgency: Urgency::Medium,
            urgency_lowered: None,
            expected_time: None,
            group: "network".into(),
            lang: Lang::ZhCn,
            attachments: Vec::new(),
            vague: false,
            warnings: Vec::new(),
            related: None,
        };
        let (mut t, _) = open(TicketId::new(now.date_naive(), n), new, now, &p);
        let by = "李四".to_string();
        apply(
            &mut t,
            Action::Resolve {
                by,
                fix: fix.into(),
            },
            now,
            &p,
        )
        .unwrap();
        if let Some(intent) = answer {
            let text = String::new();
            apply(&mut t, Action::RequesterReply { intent, text }, now, &p).unwrap();
        }
        t
    }

    #[test]
    fn lists_the_confirmed_fixes_of_recurring_problems() {
        let ok = || {
            Some(ReplyIntent::Confirm {
                stars: Some(5),
                remark: None,
            })
        };
        let tickets = [
            ticket(1, "VPN 断线", "重装 VPN 客户端", ok()),
            ticket(2, "VPN 经常断线", "重装 VPN 客户端", ok()),
            ticket(3, "VPN 断线 又来了", "更换网线", ok()),
            // Not confirmed, or rated low: their fixes are no advice.
            ticket(4, "VPN 断线", "重启电脑", None),
            ticket(
                5,
                "VPN 断线",
                "等待",
                Some(ReplyIntent::Confirm {
                    stars: Some(1),
                    remark: None,
                }),
            ),
            ticket(6, "打印机卡纸", "取出卡纸", ok()),
        ];
        let got = entries(&tickets, None, Lang::ZhCn);
        assert_eq!(got.len(), 1, "{got:#?}");
        let vpn = &got[0];
        assert_eq!(vpn.tickets, 3);
        assert_eq!(
            vpn.fixes,
            vec![
                Fix {
                    text: "重装 VPN 客户端".into(),
                    tickets: 2
                },
                Fix {
                    text: "更换网线".into(),
                    tickets: 1
                },
            ]
        );
        let md = markdown(&got, Lang::ZhCn);
        assert!(md.contains("- 重装 VPN 客户端 (2)"), "{md}");
        assert!(!md.contains("重启电脑"), "{md}");
    }
}
