//! Loop protection: the headers and subjects that mark mail as automated
//! (auto-replies, lists, bulk, our own notices come back), which must get no
//! ticket and no notice.

use std::sync::LazyLock;

use mail_parser::Message;
use regex::Regex;

use super::EmailLimits;
use crate::intake::{Automated, Sender};

/// Out-of-office subjects. Anchored at the start and followed by a separator,
/// so a request like "外出时VPN连不上" or "Out of office printer" is not caught.
static AUTO_REPLY_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)^\s*[\[【(]?\s*(?:自动回复|自动答复|自動回覆|自动应答|外出通知|休假通知|外出中|休假中|不在办公室",
        r"|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|automatic response|out of (?:the )?office|ooo)",
        r"(?:\s*[\]】)]|\s*(?:[:：\-]|$))",
    ))
    .expect("static regex")
});

/// Loop protection: mail that must get no ticket and no notice.
pub(super) fn automated(
    msg: &Message,
    from: &Sender,
    message_id: &str,
    subject: &str,
    limits: &EmailLimits,
) -> Option<Automated> {
    let header = |name: &str| msg.header_raw(name).map(|v| v.trim().to_string());
    let first_word = |v: &str| {
        v.split([';', '(', ' ', '\t'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    if let Some(v) = header("Auto-Submitted").filter(|v| first_word(v) != "no") {
        return Some(Automated::AutoSubmitted(v));
    }
    for name in ["X-Autoreply", "X-Autorespond"] {
        if let Some(v) = header(name) {
            return Some(Automated::AutoSubmitted(format!("{name}: {v}")));
        }
    }
    if message_id
        .rsplit_once('@')
        .is_some_and(|(_, domain)| domain.eq_ignore_ascii_case(&limits.own_message_id_domain))
    {
        return Some(Automated::OwnMessage);
    }
    if let Some(v) =
        header("Precedence").filter(|v| matches!(first_word(v).as_str(), "bulk" | "junk" | "list"))
    {
        return Some(Automated::Bulk(v));
    }
    if header("X-Auto-Response-Suppress").is_some() {
        return Some(Automated::SuppressAutoResponse);
    }
    if header("List-Id").is_some() || header("List-Unsubscribe").is_some() {
        return Some(Automated::MailingList);
    }
    if header("Return-Path").is_some_and(|v| v.replace(' ', "") == "<>") {
        return Some(Automated::NullSender);
    }
    let local = from.address.split('@').next().unwrap_or("");
    if ["mailer-daemon", "postmaster"].contains(&local) {
        return Some(Automated::DaemonSender(from.address.clone()));
    }
    AUTO_REPLY_SUBJECT
        .is_match(subject)
        .then(|| Automated::AutoReplySubject(subject.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_out_of_office_subjects() {
        let cases = [
            ("自动回复: 打印机坏了", true),
            ("自动答复：服务单已受理", true),
            ("【自动回复】休假", true),
            ("Automatic reply: Ticket accepted", true),
            ("Auto-Reply: x", true),
            ("Out of Office: back Monday", true),
            ("Out of the office", true),
            ("外出通知：10月1日-7日", true),
            ("Out of office printer not working", false),
            ("外出时VPN连不上", false),
            ("休假回来电脑开不了机", false),
            ("Re: 自动回复设置不生效", false),
            ("How do I set up an automatic reply?", false),
        ];
        for (subject, want) in cases {
            assert_eq!(AUTO_REPLY_SUBJECT.is_match(subject), want, "{subject}");
        }
    }
}
