//! The ticket (服务单) with every field of SPEC §2, and the small enums it is made of.
//!
//! Field names here are the JSON names users script against; do not rename them.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::id::TicketId;

/// The language a requester is answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Lang {
    #[default]
    #[serde(rename = "en")]
    En,
    #[serde(rename = "zh-CN")]
    ZhCn,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::ZhCn => "zh-CN",
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().as_str() {
            "en" | "en-us" | "en-gb" | "english" => Some(Lang::En),
            "zh" | "zh-cn" | "zh-hans" | "chinese" | "中文" => Some(Lang::ZhCn),
            _ => None,
        }
    }
}

/// What a requester wrote in, as far as choosing the reply language goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// CJK ideographs without kana.
    Chinese,
    /// Enough English words to be sure, not just `VPN error 809`.
    English,
    /// Kana: answered in the helpdesk's default language, which a Japanese
    /// reader is likelier to read than a guess.
    Japanese,
    /// Too little text, product names and codes, another script.
    Unclear,
}

/// Short words only English prose has; one of them tells a sentence from a
/// list of product names and error codes.
const ENGLISH_FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "to", "of", "in", "on", "at",
    "for", "with", "from", "since", "and", "or", "but", "not", "no", "it", "its", "this", "that",
    "my", "i", "we", "our", "you", "your", "me", "can", "cannot", "can't", "cant", "won't",
    "doesn't", "don't", "didn't", "isn't", "does", "do", "did", "has", "have", "had", "when",
    "after", "please", "help", "there", "any", "all", "again", "still", "get", "gets", "getting",
];

impl Written {
    pub fn of(text: &str) -> Written {
        let ideograph = |c: char| matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}');
        let kana = |c: char| matches!(c, '\u{3040}'..='\u{30ff}');
        if text.chars().any(kana) {
            return Written::Japanese;
        }
        if text.chars().any(ideograph) {
            return Written::Chinese;
        }
        let words: Vec<String> = text
            .split(|c: char| !(c.is_ascii_alphabetic() || c == '\''))
            .filter(|w| w.chars().filter(char::is_ascii_alphabetic).count() >= 1)
            .map(str::to_ascii_lowercase)
            .collect();
        let prose = words
            .iter()
            .any(|w| ENGLISH_FUNCTION_WORDS.contains(&w.as_str()));
        let long_enough = words.iter().filter(|w| w.len() >= 2).count() >= 4;
        if prose && long_enough {
            Written::English
        } else {
            Written::Unclear
        }
    }

    /// The language to answer in, when the writing decides it.
    pub fn lang(self) -> Option<Lang> {
        match self {
            Written::Chinese => Some(Lang::ZhCn),
            Written::English => Some(Lang::En),
            Written::Japanese | Written::Unclear => None,
        }
    }
}

macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $key:literal, $en:literal, $zh:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable machine name used in config, CLI and JSON.
            pub fn key(self) -> &'static str {
                match self { $($name::$variant => $key),+ }
            }

            pub fn label(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $(($name::$variant, Lang::En) => $en, ($name::$variant, Lang::ZhCn) => $zh),+
                }
            }

            /// Accepts the key, the English label or the Chinese label.
            pub fn parse(s: &str) -> Option<$name> {
                let s = s.trim();
                Self::ALL.iter().copied().find(|v| {
                    v.key().eq_ignore_ascii_case(s)
                        || v.label(Lang::En).eq_ignore_ascii_case(s)
                        || v.label(Lang::ZhCn) == s
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.key())
            }
        }
    };
}

labelled_enum!(
    /// 问题类型 — decides the technician group.
    ProblemType {
        Hardware => "hardware", "Hardware fault", "硬件故障";
        Software => "software", "Software issue", "软件异常";
        Network => "network", "Network problem", "网络问题";
        Access => "access", "Access request", "权限申请";
        Other => "other", "Other", "其他";
    }
);

labelled_enum!(
    /// 紧急程度 — decides the resolution target and whether on-duty staff are paged.
    Urgency {
        Urgent => "urgent", "Urgent", "紧急";
        High => "high", "High", "高";
        Medium => "medium", "Medium", "中";
        Low => "low", "Low", "低";
    }
);

labelled_enum!(
    /// Where the request came in; notices to the requester go back the same way.
    Channel {
        Email => "email", "Email", "邮件";
        Chat => "chat", "Chat", "聊天";
        Desk => "desk", "Service desk", "服务台";
    }
);

labelled_enum!(
    /// The status (处理结果) — changed only by `core::lifecycle`.
    Status {
        New => "new", "New", "新建";
        Acknowledged => "acknowledged", "Acknowledged", "已受理";
        InProgress => "in_progress", "In progress", "处理中";
        WaitingOnRequester => "waiting_on_requester", "Waiting on requester", "等待申请人";
        Escalated => "escalated", "Needs escalation", "需升级处理";
        Resolved => "resolved", "Resolved", "已解决";
        Closed => "closed", "Closed", "已关闭";
        Reopened => "reopened", "Reopened", "已重新打开";
    }
);

impl Status {
    /// Open tickets are the ones the SLA clock and progress updates run for.
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Resolved | Status::Closed)
    }
}

/// The requester asked for more urgency than their own words support
/// (`[紧急] … 不影响工作`): what they asked for, and the words that say otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UrgencyLowered {
    pub from: Urgency,
    pub cue: String,
}

labelled_enum!(
    /// A part of 申请人信息 the requester may be asked for.
    RequesterField {
        Name => "name", "your name", "姓名";
        Organisation => "department", "your department (external: your company)", "所在部门（外部单位请填写公司名称）";
        Contact => "contact", "a phone number or extension (staff: your employee number)", "联系电话或分机（内部员工可填写工号）";
    }
);

/// 申请人信息.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub name: Option<String>,
    pub email: Option<String>,
    pub chat_user: Option<String>,
    pub department: Option<String>,
    /// Employee number / extension (internal) or contact person and phone (external).
    pub contact: Option<String>,
}

impl Requester {
    /// What SPEC §2 wants of a requester and this one lacks: asked for in
    /// the acceptance, without holding the ticket up.
    pub fn missing(&self) -> Vec<RequesterField> {
        [
            (self.name.is_none(), RequesterField::Name),
            (self.department.is_none(), RequesterField::Organisation),
            (self.contact.is_none(), RequesterField::Contact),
        ]
        .into_iter()
        .filter_map(|(missing, field)| missing.then_some(field))
        .collect()
    }

    /// A name to show: the name, else the email, else the chat user.
    pub fn display(&self) -> &str {
        self.name
            .as_deref()
            .or(self.email.as_deref())
            .or(self.chat_user.as_deref())
            .unwrap_or("?")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Content address in the attachment store; identical files are kept once.
    pub sha256: String,
}

/// What a handling-log entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    Created,
    Acknowledged,
    Assigned,
    Step,
    Note,
    Relayed,
    RequesterMessage,
    WaitingOnRequester,
    UrgencyChanged,
    TypeChanged,
    EtaChanged,
    Escalated,
    Resolved,
    Confirmed,
    Rejected,
    Rated,
    Reopened,
    Closed,
    Reminder,
    Bounce,
    /// Mail about the ticket from someone who is neither its requester nor
    /// staff: kept for staff, never shown to the requester.
    ThirdParty,
    /// An outside contact's (a vendor's) answer: internal.
    Contact,
}

/// One line of 处理过程: local time to the minute, who, what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub at: DateTime<FixedOffset>,
    pub actor: String,
    pub kind: LogKind,
    pub text: String,
    /// Public entries may be shown to the requester (progress updates); notes may not.
    pub public: bool,
}

/// 解决结果 when resolved: the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    pub by: String,
    pub at: DateTime<Utc>,
    pub fix: String,
}

/// 申请人确认.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub by: String,
    pub date: NaiveDate,
    pub text: String,
}

/// 满意度评价.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    pub stars: u8,
    pub remark: Option<String>,
}

impl Rating {
    /// `★★★★☆` for 4.
    pub fn stars_text(&self) -> String {
        let n = usize::from(self.stars.min(5));
        format!("{}{}", "★".repeat(n), "☆".repeat(5 - n))
    }
}

/// How a ticket came to be closed; a timeout is never recorded as a confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    Confirmed,
    NoAnswer,
    ClosedByStaff,
}

/// The armed due time of each timer kind. A timer that fires is acted on only if
/// its due time is still the armed one, so changing state never has to find and
/// delete queued timers: it just re-arms or clears these.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timers {
    pub ack_check: Option<DateTime<Utc>>,
    pub progress: Option<DateTime<Utc>>,
    pub breach_warning: Option<DateTime<Utc>>,
    pub breach: Option<DateTime<Utc>>,
    pub repage: Option<DateTime<Utc>>,
    pub confirm_reminder: Option<DateTime<Utc>>,
    pub auto_close: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: TicketId,
    pub status: Status,
    #[serde(rename = "type")]
    pub problem_type: ProblemType,
    pub urgency: Urgency,
    pub channel: Channel,
    pub requester: Requester,
    pub subject: String,
    pub description: String,
    /// Message-ID of the message that opened the ticket; notices reply to it.
    pub source_message_id: Option<String>,
    /// 期望解决时间, as the requester wrote it.
    pub expected_time: Option<String>,
    pub group: String,
    pub assignee: Option<String>,
    pub created_at: DateTime<Utc>,
    /// 申请日期 in the helpdesk's time zone.
    pub request_date: NaiveDate,
    pub ack_due: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// The resolution target: the breach is measured against it and only
    /// staff move it (with a reason the requester is told).
    pub eta: DateTime<Utc>,
    /// A later completion time the requester was given because `eta` was
    /// about to pass, or passed (the pre-breach notice, the escalation);
    /// `None` while `eta` itself is what they were told.
    #[serde(default)]
    pub revised_eta: Option<DateTime<Utc>>,
    /// When the current resolution clock started: creation, or the last reopen.
    pub sla_start: DateTime<Utc>,
    /// Minutes spent waiting on the requester since `sla_start`; they extend the ETA.
    pub paused_minutes: i64,
    /// Set while waiting on the requester: the SLA clock is paused since then.
    pub paused_since: Option<DateTime<Utc>>,
    pub log: Vec<LogEntry>,
    pub resolution: Option<Resolution>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub confirmation: Option<Confirmation>,
    pub rating: Option<Rating>,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<CloseReason>,
    pub attachments: Vec<Attachment>,
    /// 备注.
    pub remarks: Vec<String>,
    pub lang: Lang,
    /// Set when intake lowered the urgency the requester asked for.
    #[serde(default)]
    pub urgency_lowered: Option<UrgencyLowered>,
    pub reopen_count: u32,
    /// The one clarifying question after an unclear confirmation reply was asked.
    pub clarify_asked: bool,
    pub escalated: bool,
    /// Outside contacts (`[contacts.NAME]`) the ticket was escalated to, by
    /// name; the last is the one a contact notice goes to. Their replies are
    /// theirs, not a stranger's.
    #[serde(default)]
    pub contacts: Vec<String>,
    /// A closed ticket this one continues.
    pub related: Option<TicketId>,
    /// The approved FAQ fix this request matched when it was opened, offered
    /// in the acceptance ("try this first"); masked staff text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_fix: Option<String>,
    /// Colleagues the requester copied (`Cc`) on the request: they may add
    /// information; confirming and rating stay the requester's.
    #[serde(default)]
    pub copied: Vec<String>,
    /// When its personal data was erased; what is left serves statistics.
    #[serde(default)]
    pub erased_at: Option<DateTime<Utc>>,
    pub timers: Timers,
}

impl Ticket {
    /// The completion time the requester was last given.
    pub fn eta_told(&self) -> DateTime<Utc> {
        self.revised_eta.unwrap_or(self.eta)
    }

    pub fn last_public_log(&self) -> Option<&LogEntry> {
        self.log.iter().rev().find(|e| e.public)
    }
}

#[cfg(test)]
mod tests {
    use super::{Lang, Written};

    #[test]
    fn the_reply_language_follows_the_requesters_writing_when_it_is_clear() {
        for (text, written) in [
            ("打印机卡纸了", Written::Chinese),
            ("印表機無法列印", Written::Chinese),
            ("Outlook 打不开 since Monday", Written::Chinese),
            ("The printer jams, error E-05", Written::English),
            (
                "My laptop cannot connect to the Wi-Fi since this morning",
                Written::English,
            ),
            ("VPN error 809", Written::Unclear),
            ("Cisco AnyConnect VPN error 809 SAP GUI", Written::Unclear),
            ("help", Written::Unclear),
            ("プリンターが動きません", Written::Japanese),
            ("会議室のプロジェクターが故障しました", Written::Japanese),
            ("프린터가 고장났어요", Written::Unclear),
            ("", Written::Unclear),
        ] {
            assert_eq!(Written::of(text), written, "{text}");
        }
        assert_eq!(Written::Japanese.lang(), None);
        assert_eq!(Written::English.lang(), Some(Lang::En));
    }
}
