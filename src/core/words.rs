//! The sentences itdesk itself writes into a ticket — handling-log lines and
//! what intake must tell the requester — as values, rendered in a language
//! only when shown: the label table for everything that is not a template.
//!
//! Invariant: every variant has both an English and a Chinese sentence, so a
//! zh-CN reader never meets an English one (the process test scans for it).

use serde::{Deserialize, Serialize};

use super::ticket::{Channel, Lang, ProblemType, Urgency};

/// Something the requester is told about their message as it was taken in:
/// what of it the ticket does not hold, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Warning {
    /// The text was longer than a ticket keeps; the whole text is attached.
    BodyCut {
        full_bytes: u64,
        kept_bytes: u64,
        file: String,
    },
    /// An attachment was not kept.
    AttachmentNotKept {
        name: String,
        size: u64,
        why: NotKept,
    },
    /// The mail could not be parsed; its raw text is the description.
    Unparsable,
    /// The whole message was over the size limit: only its start was read.
    MessageCut {
        size: u64,
        limit: u64,
        /// The attachments it named, none kept.
        names: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotKept {
    /// A file type that can carry programs (`.exe`).
    Denied { ending: String },
    /// Over the per-file limit.
    TooLarge { limit: u64 },
    /// Over the limit for all attachments together.
    OverTotal { limit: u64 },
    /// The chat service did not hand it over (in time).
    NotFetched,
}

impl Warning {
    /// The same warning with every file name passed through `f` (masking).
    pub fn map_names(self, f: impl Fn(&str) -> String) -> Warning {
        match self {
            Warning::BodyCut {
                full_bytes,
                kept_bytes,
                file,
            } => Warning::BodyCut {
                full_bytes,
                kept_bytes,
                file: f(&file),
            },
            Warning::AttachmentNotKept { name, size, why } => Warning::AttachmentNotKept {
                name: f(&name),
                size,
                why,
            },
            Warning::Unparsable => Warning::Unparsable,
            Warning::MessageCut { size, limit, names } => Warning::MessageCut {
                size,
                limit,
                names: names.iter().map(|n| f(n)).collect(),
            },
        }
    }

    pub fn text(&self, lang: Lang) -> String {
        let zh = lang == Lang::ZhCn;
        match self {
            Warning::BodyCut {
                full_bytes,
                kept_bytes,
                file,
            } => {
                let (full, kept) = (size(*full_bytes, lang), size(*kept_bytes, lang));
                if zh {
                    format!("邮件正文（{full}）超过服务单可保存的长度：服务单保存了前 {kept}，完整正文已作为附件 {file} 保存")
                } else {
                    format!("the message text ({full}) was longer than a ticket keeps: the ticket has its first {kept}, the whole text is attached as {file}")
                }
            }
            Warning::AttachmentNotKept { name, size: s, why } => {
                let s = size(*s, lang);
                let why = why.text(lang);
                if zh {
                    format!("附件“{name}”（{s}）未保存：{why}")
                } else {
                    format!("attachment {name:?} ({s}) was not kept: {why}")
                }
            }
            Warning::Unparsable if zh => "邮件无法解析，已将原文作为问题描述保存".into(),
            Warning::Unparsable => {
                "the mail could not be parsed; its raw text was kept as the body".into()
            }
            Warning::MessageCut {
                size: s,
                limit,
                names,
            } => {
                let (s, limit) = (size(*s, lang), size(*limit, lang));
                let mut text = if zh {
                    format!("邮件大小为 {s}，超过 {limit} 的上限：只读取了开头部分，附件均未保存")
                } else {
                    format!("the message was {s}, over the {limit} limit: only its first part was read and its attachments were not kept")
                };
                if !names.is_empty() {
                    let sep = if zh { "、" } else { ", " };
                    text.push_str(if zh { "：" } else { ": " });
                    text.push_str(&names.join(sep));
                }
                text
            }
        }
    }
}

impl NotKept {
    fn text(&self, lang: Lang) -> String {
        match (self, lang) {
            (NotKept::Denied { ending }, Lang::En) => {
                format!("{ending} files are not accepted (they can carry programs)")
            }
            (NotKept::Denied { ending }, Lang::ZhCn) => {
                format!("不接收 {ending} 类型的文件（可能携带程序）")
            }
            (NotKept::TooLarge { limit }, Lang::En) => {
                format!("over the {} limit", size(*limit, lang))
            }
            (NotKept::TooLarge { limit }, Lang::ZhCn) => {
                format!("超过单个附件 {} 的上限", size(*limit, lang))
            }
            (NotKept::OverTotal { limit }, Lang::En) => format!(
                "over the {} limit for all attachments together",
                size(*limit, lang)
            ),
            (NotKept::OverTotal { limit }, Lang::ZhCn) => {
                format!("超过全部附件合计 {} 的上限", size(*limit, lang))
            }
            (NotKept::NotFetched, Lang::En) => {
                "it could not be fetched; please send it again".into()
            }
            (NotKept::NotFetched, Lang::ZhCn) => "无法获取该文件，请重新发送".into(),
        }
    }
}

/// `1.5 MB`, `12.0 KB`, `300 bytes` (`300 字节`).
pub fn size(bytes: u64, lang: Lang) -> String {
    const KB: f64 = 1024.0;
    let b = bytes as f64;
    if b >= KB * KB {
        format!("{:.1} MB", b / KB / KB)
    } else if b >= KB {
        format!("{:.1} KB", b / KB)
    } else if lang == Lang::ZhCn {
        format!("{bytes} 字节")
    } else {
        format!("{bytes} bytes")
    }
}

/// A handling-log line itdesk writes itself (staff write their own words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said<'a> {
    OpenedVia(Channel),
    UrgencyLowered {
        cue: &'a str,
        from: Urgency,
        to: Urgency,
    },
    ClaimedBy(&'a str),
    AssignedTo(&'a str),
    /// Assigned by the group's rule (`round-robin`, `least-open`).
    AssignedBySystem(&'a str),
    Remark(&'a str),
    UrgencyChanged {
        from: Urgency,
        to: Urgency,
        reason: &'a str,
    },
    TypeChanged {
        from: ProblemType,
        to: ProblemType,
        from_group: &'a str,
        to_group: &'a str,
    },
    EtaChanged {
        from: &'a str,
        to: &'a str,
        reason: &'a str,
    },
    Bounced {
        recipient: &'a str,
        diagnostic: &'a str,
    },
    ThirdParty {
        from: &'a str,
        text: &'a str,
    },
    /// Escalated to an outside contact (a vendor), with the reason.
    EscalatedTo {
        contact: &'a str,
        reason: &'a str,
    },
    /// An outside contact's answer on an escalated ticket.
    ContactReplied {
        contact: &'a str,
        text: &'a str,
    },
    /// `by (for requester)`: staff recording the requester's answer.
    ForRequester {
        by: &'a str,
        requester: &'a str,
    },
    ConfirmedClosed,
    Closed,
    ClosedNoAnswer,
    NotAcknowledged {
        due: &'a str,
    },
    ResolutionDue {
        eta: &'a str,
    },
    TargetPassed {
        eta: &'a str,
    },
    /// The requester was given a later completion time.
    RequesterTold {
        escalated: bool,
        eta: &'a str,
        target: &'a str,
    },
    AskedAgainToConfirm,
}

impl Said<'_> {
    pub fn text(&self, lang: Lang) -> String {
        let zh = lang == Lang::ZhCn;
        match *self {
            Said::OpenedVia(channel) if zh => format!("通过{}提交", channel.label(lang)),
            Said::OpenedVia(channel) => format!("opened via {}", channel.key()),
            Said::UrgencyLowered { cue, from, to } if zh => format!(
                "紧急程度已下调：描述中提到“{cue}”（{} → {}）",
                from.label(lang),
                to.label(lang)
            ),
            Said::UrgencyLowered { cue, from, to } => {
                format!("urgency lowered: text says {cue} ({from} → {to})")
            }
            Said::ClaimedBy(by) if zh => format!("由 {by} 认领"),
            Said::ClaimedBy(by) => format!("claimed by {by}"),
            Said::AssignedTo(to) if zh => format!("指派给 {to}"),
            Said::AssignedTo(to) => format!("assigned to {to}"),
            Said::AssignedBySystem(to) if zh => format!("系统分配给 {to}"),
            Said::AssignedBySystem(to) => format!("assigned by the system to {to}"),
            Said::Remark(text) if zh => format!("备注：{text}"),
            Said::Remark(text) => format!("remark: {text}"),
            Said::UrgencyChanged { from, to, reason } if zh => format!(
                "紧急程度 {} → {}：{reason}",
                from.label(lang),
                to.label(lang)
            ),
            Said::UrgencyChanged { from, to, reason } => {
                format!("urgency {from} → {to}: {reason}")
            }
            Said::TypeChanged {
                from,
                to,
                from_group,
                to_group,
            } if zh => format!(
                "问题类型 {} → {}，处理小组 {from_group} → {to_group}",
                from.label(lang),
                to.label(lang)
            ),
            Said::TypeChanged {
                from,
                to,
                from_group,
                to_group,
            } => format!("type {from} → {to}, group {from_group} → {to_group}"),
            Said::EtaChanged { from, to, reason } if zh => {
                format!("预计完成时间 {from} → {to}：{reason}")
            }
            Said::EtaChanged { from, to, reason } => format!("ETA {from} → {to}: {reason}"),
            Said::Bounced {
                recipient,
                diagnostic,
            } if zh => format!("发给 {recipient} 的通知被退回：{diagnostic}"),
            Said::Bounced {
                recipient,
                diagnostic,
            } => format!("notice to {recipient} bounced: {diagnostic}"),
            Said::ThirdParty { from, text } if zh => format!("第三方 {from}：{text}"),
            Said::ThirdParty { from, text } => format!("third party {from}: {text}"),
            Said::EscalatedTo { contact, reason } if zh => {
                format!("已升级至 {contact}：{reason}")
            }
            Said::EscalatedTo { contact, reason } => format!("escalated to {contact}: {reason}"),
            Said::ContactReplied { contact, text } if zh => format!("{contact} 回复：{text}"),
            Said::ContactReplied { contact, text } => format!("{contact} replied: {text}"),
            Said::ForRequester { by, requester } if zh => format!("{by}（代 {requester}）"),
            Said::ForRequester { by, requester } => format!("{by} (for {requester})"),
            Said::ConfirmedClosed if zh => "申请人已确认，服务单关闭".into(),
            Said::ConfirmedClosed => "closed: confirmed by the requester".into(),
            Said::Closed if zh => "已关闭".into(),
            Said::Closed => "closed".into(),
            Said::ClosedNoAnswer if zh => "申请人未确认，超时关闭".into(),
            Said::ClosedNoAnswer => "closed without confirmation: no answer".into(),
            Said::NotAcknowledged { due } if zh => format!("未受理；应在 {due} 前受理"),
            Said::NotAcknowledged { due } => {
                format!("not acknowledged; acknowledgement was due {due}")
            }
            Said::ResolutionDue { eta } if zh => format!("解决期限 {eta}"),
            Said::ResolutionDue { eta } => format!("resolution due {eta}"),
            Said::TargetPassed { eta } if zh => format!("已超过解决期限 {eta}"),
            Said::TargetPassed { eta } => format!("resolution target {eta} passed"),
            Said::RequesterTold {
                escalated,
                eta,
                target,
            } if zh => {
                let why = if escalated {
                    "已升级处理"
                } else {
                    "可能无法按时完成"
                };
                format!("已通知申请人：{why}，新的预计完成时间 {eta}（原定 {target}）")
            }
            Said::RequesterTold {
                escalated,
                eta,
                target,
            } => {
                let why = if escalated {
                    "escalated"
                } else {
                    "target at risk"
                };
                format!("requester told: {why}, new ETA {eta} (target {target})")
            }
            Said::AskedAgainToConfirm if zh => "已再次请申请人确认并评价".into(),
            Said::AskedAgainToConfirm => "asked again to confirm and rate".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_sizes() {
        assert_eq!(size(54_840_000, Lang::En), "52.3 MB");
        assert_eq!(size(10 * 1024 * 1024, Lang::En), "10.0 MB");
        assert_eq!(size(2048, Lang::ZhCn), "2.0 KB");
        assert_eq!(size(12, Lang::En), "12 bytes");
        assert_eq!(size(12, Lang::ZhCn), "12 字节");
    }

    #[test]
    fn warnings_are_told_in_the_requesters_language() {
        let w = Warning::AttachmentNotKept {
            name: "big.bin".into(),
            size: 3000,
            why: NotKept::TooLarge { limit: 2048 },
        };
        assert_eq!(
            w.text(Lang::En),
            "attachment \"big.bin\" (2.9 KB) was not kept: over the 2.0 KB limit"
        );
        assert_eq!(
            w.text(Lang::ZhCn),
            "附件“big.bin”（2.9 KB）未保存：超过单个附件 2.0 KB 的上限"
        );
    }
}
