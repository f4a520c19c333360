//! Technicians' commands in mail: a line that starts with `#claim`, `#note …`,
//! `#resolve …` and the like acts on the ticket; the other lines are the
//! technician's message to the requester. Mail's own syntax for the staff
//! vocabulary (`core::change::Change`) that the CLI and chat also speak.
//!
//! Invariant: never fails — a command it cannot read becomes an internal note
//! saying so, and a line starting with an unknown `#word` is ordinary text.

use chrono::{NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::core::change::Change;
use crate::core::ticket::{ProblemType, Urgency};

/// A technician's mail, read.
#[derive(Debug, Clone, PartialEq)]
pub struct MailCommands {
    /// In the order written.
    pub changes: Vec<Change>,
    /// The lines that are not commands, trimmed: relayed to the requester.
    pub message: String,
}

/// Reads `body` (quotes already stripped); `tz` is the helpdesk's, for `#eta`.
pub fn parse(body: &str, tz: Tz) -> MailCommands {
    let mut changes = Vec::new();
    let mut message = Vec::new();
    for line in body.lines() {
        match command(line.trim(), tz) {
            Some(Ok(change)) => changes.push(change),
            Some(Err(why)) => changes.push(Change::Note {
                text: format!("mail command not understood ({why}): {}", line.trim()),
            }),
            None => message.push(line),
        }
    }
    MailCommands {
        changes,
        message: message.join("\n").trim().to_string(),
    }
}

/// Whether a staff address's mail is only an out-of-office notice, as a naive
/// auto-responder writes it (no RFC 3834 headers): it is neither relayed nor
/// answered.
pub fn is_away_notice(text: &str) -> bool {
    use std::sync::LazyLock;
    static AWAY: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)\b(i am|i'm|i will be)\s+(currently\s+)?(away|out of (the )?office|on (annual |sick )?leave|on vacation|on holiday)\b|\bout of office\b|\bauto(matic)?[- ]?reply\b|\blimited access to (my )?e-?mail\b|(我)?(目前|现在|正在)?(休假|外出|出差|不在办公室)(中)?[，,。]|自动回复|将于.{0,12}(返回|回来)",
        )
        // Invariant: a fixed, tested pattern.
        .expect("valid pattern")
    });
    let text = text.trim();
    !text.is_empty() && text.chars().count() < 600 && AWAY.is_match(text)
}

/// `None`: not a command line.
fn command(line: &str, tz: Tz) -> Option<Result<Change, String>> {
    let rest = line.strip_prefix('#')?;
    let (word, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let arg = arg.trim().to_string();
    let needs = |what: &str| Err(format!("#{word} needs {what}"));
    let text = |f: fn(String) -> Change| {
        if arg.is_empty() {
            needs("a text")
        } else {
            Ok(f(arg.clone()))
        }
    };
    Some(match word.to_lowercase().as_str() {
        "claim" => Ok(Change::Claim),
        "assign" => text(|to| Change::Assign { to }),
        "note" => text(|text| Change::Note { text }),
        "remark" => text(|text| Change::Remark { text }),
        "step" => text(|text| Change::Step { text }),
        "reply" => text(|text| Change::Reply { text }),
        "ask" => text(|text| Change::Ask { text }),
        "escalate" => text(|reason| Change::Escalate { reason }),
        "resolve" => text(|fix| Change::Resolve { fix }),
        "reopen" => text(|reason| Change::Reopen { reason }),
        "close" => text(|reason| Change::Close { reason }),
        "reject" => text(|reason| Change::RejectForRequester { reason }),
        "confirm" => match arg.split_whitespace().next().map(str::parse::<u8>) {
            None => Ok(Change::ConfirmForRequester {
                stars: None,
                remark: None,
            }),
            Some(Ok(stars)) => Ok(Change::ConfirmForRequester {
                stars: Some(stars),
                remark: arg
                    .split_once(char::is_whitespace)
                    .map(|(_, r)| r.trim().to_string())
                    .filter(|r| !r.is_empty()),
            }),
            Some(Err(_)) => needs("stars from 1 to 5, then an optional remark"),
        },
        "type" => match ProblemType::parse(&arg) {
            Some(to) => Ok(Change::Type { to }),
            None => needs("a type: hardware, software, network, access or other"),
        },
        "urgency" => {
            let (level, reason) = arg.split_once(char::is_whitespace).unwrap_or((&arg, ""));
            match Urgency::parse(level) {
                Some(to) => Ok(Change::Urgency {
                    to,
                    reason: Some(reason.trim().to_string()).filter(|r| !r.is_empty()),
                }),
                None => needs("a level: urgent, high, medium or low"),
            }
        }
        "eta" => {
            let mut words = arg.splitn(3, char::is_whitespace);
            let when = format!(
                "{} {}",
                words.next().unwrap_or(""),
                words.next().unwrap_or("")
            );
            let reason = words.next().unwrap_or("").trim().to_string();
            let local = NaiveDateTime::parse_from_str(when.trim(), "%Y-%m-%d %H:%M");
            match local
                .ok()
                .and_then(|l| tz.from_local_datetime(&l).earliest())
            {
                Some(at) if !reason.is_empty() => Ok(Change::Eta {
                    eta: at.with_timezone(&Utc),
                    reason,
                }),
                _ => needs("YYYY-MM-DD HH:MM and a reason"),
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_commands_and_keeps_the_message() {
        let tz = chrono_tz::Asia::Shanghai;
        let got = parse(
            "已远程重启了服务，请再试一次。\n#step 远程重启 CRM 服务\n#resolve 重启了服务\n#1 priority is fine\n",
            tz,
        );
        assert_eq!(
            got.changes,
            [
                Change::Step {
                    text: "远程重启 CRM 服务".into()
                },
                Change::Resolve {
                    fix: "重启了服务".into()
                },
            ]
        );
        assert_eq!(
            got.message,
            "已远程重启了服务，请再试一次。\n#1 priority is fine"
        );
    }

    #[test]
    fn every_command_and_its_mistakes() {
        let tz = chrono_tz::Asia::Shanghai;
        let eta = tz
            .with_ymd_and_hms(2026, 12, 5, 14, 30, 0)
            .unwrap()
            .with_timezone(&Utc);
        let cases: &[(&str, Option<Change>)] = &[
            ("#claim", Some(Change::Claim)),
            ("#CLAIM", Some(Change::Claim)),
            (
                "#note 需现场支持",
                Some(Change::Note {
                    text: "需现场支持".into(),
                }),
            ),
            (
                "#remark 需现场支持",
                Some(Change::Remark {
                    text: "需现场支持".into(),
                }),
            ),
            (
                "#ask 报错截图？",
                Some(Change::Ask {
                    text: "报错截图？".into(),
                }),
            ),
            (
                "#close duplicate",
                Some(Change::Close {
                    reason: "duplicate".into(),
                }),
            ),
            (
                "#urgency low 不影响工作",
                Some(Change::Urgency {
                    to: Urgency::Low,
                    reason: Some("不影响工作".into()),
                }),
            ),
            (
                "#urgency high",
                Some(Change::Urgency {
                    to: Urgency::High,
                    reason: None,
                }),
            ),
            (
                "#type network",
                Some(Change::Type {
                    to: ProblemType::Network,
                }),
            ),
            (
                "#eta 2026-12-05 14:30 等待厂商备件",
                Some(Change::Eta {
                    eta,
                    reason: "等待厂商备件".into(),
                }),
            ),
            (
                "#escalate needs DBA",
                Some(Change::Escalate {
                    reason: "needs DBA".into(),
                }),
            ),
        ];
        for (line, want) in cases {
            let got = parse(line, tz);
            assert_eq!(got.changes.first(), want.as_ref(), "{line}");
            assert!(got.message.is_empty(), "{line}");
        }
        for bad in [
            "#resolve",
            "#urgency soon",
            "#eta tomorrow",
            "#eta 2026-12-05 14:30",
            "#type printer",
        ] {
            let got = parse(bad, tz);
            assert!(
                matches!(&got.changes[..], [Change::Note { text }] if text.starts_with("mail command not understood")),
                "{bad}: {got:?}"
            );
        }
    }
}
