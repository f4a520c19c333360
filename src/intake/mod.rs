//! Intake: what a channel received (raw mail bytes, a chat message, a desk entry)
//! becomes a `Request` the engine can act on — parsed, classified and masked.
//!
//! Invariant: intake never fails and never panics on input. Bad input is a value
//! (`Automated`, `warnings`, an empty-but-explained body), so nothing is lost.

pub mod auth;
pub mod classify;
pub mod commands;
pub mod directory;
pub mod email;
pub mod inert;
pub mod quote;
pub mod redact;
pub mod reply;
pub mod signature;

use std::borrow::Cow;
use std::sync::LazyLock;

use chardetng::EncodingDetector;
use chrono::{DateTime, Utc};
use encoding_rs::Encoding;
use regex::Regex;

use self::auth::SenderAuth;
use self::classify::{classify, Rules};
use self::directory::Directory;
use self::signature::Signature;
use crate::core::id::TicketId;
use crate::core::ticket::{
    Channel, Lang, ProblemType, Requester, Urgency, UrgencyLowered, Written,
};
pub use crate::core::words::{NotKept, Warning};

/// A message as a channel adapter received it, before classification and masking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub channel: Channel,
    /// Normalised (no angle brackets). Synthesised from a content hash when the
    /// message has none, so a re-fetch still deduplicates.
    pub message_id: String,
    /// In-Reply-To first, then References, normalised.
    pub references: Vec<String>,
    pub from: Sender,
    pub subject: String,
    /// Readable text: text/plain preferred, HTML converted, charset decoded.
    pub body: String,
    pub attachments: Vec<InboundAttachment>,
    pub received_at: DateTime<Utc>,
    /// Set when the message is machine-generated and must get no ticket and no
    /// notice (loop protection).
    pub automated: Option<Automated>,
    /// Set for a delivery report (RFC 3464) about one of our notices.
    pub bounce: Option<Bounce>,
    /// Things the requester should be told about (a part dropped for size, …),
    /// put into words in their language once it is known.
    pub warnings: Vec<Warning>,
    /// Addresses on `Cc` (lower-cased): colleagues the requester copied.
    pub cc: Vec<String>,
    /// What a trusted server said about the sender (`[intake] authserv_id`).
    pub auth: SenderAuth,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sender {
    pub name: Option<String>,
    /// Email address (lower-cased) or chat user id.
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundAttachment {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Empty when the part was dropped for exceeding the size cap.
    pub data: Vec<u8>,
}

/// Why a message is machine-generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Automated {
    /// `Auto-Submitted` other than `no`, or X-Autoreply / X-Autorespond.
    AutoSubmitted(String),
    /// `Precedence: bulk|junk|list`.
    Bulk(String),
    /// Mailing-list traffic (`List-Id`, `List-Unsubscribe`).
    MailingList,
    /// `X-Auto-Response-Suppress` present.
    SuppressAutoResponse,
    /// Out-of-office style subject.
    AutoReplySubject(String),
    /// Empty Return-Path (`<>`).
    NullSender,
    /// mailer-daemon / postmaster.
    DaemonSender(String),
    /// Carries one of our own Message-IDs as its Message-ID: our mail come back.
    OwnMessage,
    /// A delivery status notification; see `bounce`.
    DeliveryReport,
}

/// A delivery report about a message we sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounce {
    /// Message-ID of our notice that bounced, if the report carries it.
    pub original_message_id: Option<String>,
    /// The address that could not be reached.
    pub recipient: Option<String>,
    pub diagnostic: String,
}

/// What the requester's reply to "please confirm and rate" means (defined in
/// the core, which acts on it).
pub use crate::core::lifecycle::ReplyIntent;

/// A message ready for the engine: classified, masked, with its requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub channel: Channel,
    pub message_id: String,
    pub references: Vec<String>,
    /// A `[IT20231001001]` tag found in the subject.
    pub ticket_tag: Option<TicketId>,
    pub requester: Requester,
    /// Masked.
    pub subject: String,
    /// Masked, quotes and signature stripped.
    pub body: String,
    pub problem_type: ProblemType,
    pub urgency: Urgency,
    /// The urgency asked for, when the text says the impact is smaller.
    pub urgency_lowered: Option<UrgencyLowered>,
    pub expected_time: Option<String>,
    /// Too little to act on: the requester is asked for details.
    pub vague: bool,
    /// The language of their writing when it is clearly Chinese or English;
    /// otherwise (Japanese, `VPN error 809`) the helpdesk's default applies.
    pub lang: Option<Lang>,
    pub attachments: Vec<InboundAttachment>,
    pub automated: Option<Automated>,
    pub bounce: Option<Bounce>,
    pub warnings: Vec<Warning>,
    pub received_at: DateTime<Utc>,
    /// Colleagues the requester copied (`Cc`), lower-cased.
    pub cc: Vec<String>,
    pub auth: SenderAuth,
}

/// Turns a received message into a request: quotes stripped (email only),
/// subject, body and attachment names masked, ticket tag found, classified,
/// requester identified from the directory or the message's own signature.
pub fn prepare(msg: InboundMessage, rules: &Rules, directory: &Directory) -> Request {
    let (body, own_text) = match msg.channel {
        Channel::Email => (quote::strip_quoted(&msg.body), quote::own_text(&msg.body)),
        Channel::Chat | Channel::Desk => (msg.body.trim().to_string(), msg.body.clone()),
    };
    // Inert before anything else sees them: a terminal, a header, a log line.
    let subject = redact::mask(&inert::one_line(&msg.subject));
    let body = redact::mask(&inert::for_terminal(&body));
    let signature = Signature::read(&own_text);
    // Contact lines carry digits, which would make "电脑坏了" look concrete.
    let description: Vec<&str> = body
        .lines()
        .filter(|l| !Signature::is_signature_line(l))
        .collect();
    let class = classify(rules, &subject, &description.join("\n"));
    Request {
        ticket_tag: ticket_tag(&msg.subject),
        requester: requester(&msg, directory, signature),
        lang: Written::of(&format!("{subject}\n{body}")).lang(),
        problem_type: class.problem_type,
        urgency: class.urgency,
        urgency_lowered: class.urgency_lowered,
        expected_time: class.expected_time,
        vague: class.vague,
        attachments: msg.attachments.into_iter().map(masked_attachment).collect(),
        channel: msg.channel,
        message_id: msg.message_id,
        references: msg.references,
        subject,
        body,
        automated: msg.automated,
        bounce: msg.bounce,
        // Warnings quote attachment names.
        warnings: msg
            .warnings
            .into_iter()
            .map(|w| w.map_names(redact::mask))
            .collect(),
        received_at: msg.received_at,
        cc: msg.cc,
        auth: msg.auth,
    }
}

/// File endings whose contents are text people paste secrets into: notes,
/// logs, exports and configuration files.
const TEXT_FILE_ENDINGS: &[&str] = &[
    ".txt",
    ".log",
    ".csv",
    ".json",
    ".env",
    ".ini",
    ".conf",
    ".cfg",
    ".yaml",
    ".yml",
    ".xml",
    ".properties",
];

/// The attachment's name masked, and a text file's contents masked like the
/// body, its size then the masked size. Binary files, and text with nothing to
/// mask, keep their bytes; a dropped part (no data) keeps its original size.
fn masked_attachment(a: InboundAttachment) -> InboundAttachment {
    let name = redact::mask(&a.name);
    let masked = attachment_text(&a).and_then(|text| {
        let masked = redact::mask(&text);
        (masked != text).then(|| masked.into_bytes())
    });
    match masked {
        Some(data) => InboundAttachment {
            name,
            size: data.len() as u64,
            data,
            ..a
        },
        None => InboundAttachment { name, ..a },
    }
}

/// A file named as text, or UTF-8 sent as `text/*`, read as text. A named text
/// file that is not UTF-8 (a GBK note, a UTF-16 log) is decoded, so it is
/// masked too, and stored as UTF-8 if anything in it was.
fn attachment_text(a: &InboundAttachment) -> Option<Cow<'_, str>> {
    let lower = a.name.to_lowercase();
    let named_text = TEXT_FILE_ENDINGS.iter().any(|e| lower.ends_with(e));
    match std::str::from_utf8(&a.data) {
        Ok(text) if named_text || a.content_type.starts_with("text/") => Some(Cow::Borrowed(text)),
        Err(_) if named_text => {
            // A BOM names the encoding; without one the detector guesses.
            let encoding = Encoding::for_bom(&a.data).map_or_else(
                || {
                    let mut detector = EncodingDetector::new();
                    detector.feed(&a.data, true);
                    detector.guess(None, true)
                },
                |(encoding, _)| encoding,
            );
            Some(encoding.decode_with_bom_removal(&a.data).0)
        }
        _ => None,
    }
}

static TICKET_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)[\[【]\s*(IT\d{11,})\s*[\]】]").expect("static regex"));
static BARE_TICKET_ID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:^|[^a-z0-9])(IT\d{11,})(?:$|[^0-9])").expect("static regex")
});

/// `[IT20231001001]` anywhere in the subject (after any Re:/回复:/Fwd:), else a
/// bare `IT20231001001`.
fn ticket_tag(subject: &str) -> Option<TicketId> {
    let parse = |re: &Regex| {
        re.captures_iter(subject)
            .find_map(|c| TicketId::parse(&c[1]))
    };
    parse(&TICKET_TAG).or_else(|| parse(&BARE_TICKET_ID))
}

fn requester(msg: &InboundMessage, directory: &Directory, signature: Signature) -> Requester {
    let address = Some(msg.from.address.clone()).filter(|a| !a.is_empty());
    let is_email = match msg.channel {
        Channel::Email => true,
        Channel::Chat => false,
        Channel::Desk => address.as_deref().is_some_and(|a| a.contains('@')),
    };
    let (email, chat_user) = if is_email {
        (address, None)
    } else {
        (None, address)
    };
    let person = email
        .as_deref()
        .and_then(|e| directory.by_email(e))
        .or_else(|| chat_user.as_deref().and_then(|c| directory.by_chat_user(c)));
    let listed_name = person.and_then(|p| p.name.clone());
    // A chat display name is a nickname; the directory knows the real name.
    let given = msg
        .from
        .name
        .as_deref()
        .map(inert::one_line)
        .filter(|n| !n.is_empty());
    let name = match msg.channel {
        Channel::Chat => listed_name.or(given),
        Channel::Email | Channel::Desk => given.or(listed_name),
    }
    .or_else(|| signature.name.clone());
    Requester {
        name,
        // SPEC §2 has one department/company field and one contact field
        // (employee number, extension or phone).
        department: person
            .and_then(|p| p.organisation())
            .or_else(|| signature.organisation()),
        contact: person
            .and_then(|p| p.contact_field())
            .or_else(|| signature.contact()),
        // The directory joins one person's email and chat identities, so their
        // tickets from either channel belong to the same requester.
        email: email.or_else(|| person.and_then(|p| p.email.clone())),
        chat_user: chat_user.or_else(|| person.and_then(|p| p.chat_user.clone())),
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use serde::Deserialize;

    use super::email::{parse_email, EmailLimits};
    use super::*;

    fn fixture_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mail")
    }

    fn fixtures() -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(fixture_dir())
            .expect("tests/fixtures/mail exists")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        paths.sort();
        assert!(
            paths.len() >= 20,
            "fixtures missing in {}",
            fixture_dir().display()
        );
        paths
    }

    fn run(raw: &[u8]) -> Request {
        let msg = parse_email(raw, &EmailLimits::default(), DateTime::UNIX_EPOCH);
        prepare(msg, &Rules::default(), &Directory::default())
    }

    /// The fields a `NAME.expected.toml` checks; optional ones are checked too
    /// (absent means "none").
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Expected {
        message_id: Option<String>,
        #[serde(default)]
        references: Vec<String>,
        subject: String,
        from: String,
        from_name: Option<String>,
        #[serde(default)]
        body_contains: Vec<String>,
        #[serde(default)]
        body_not_contains: Vec<String>,
        ticket_tag: Option<String>,
        problem_type: String,
        urgency: String,
        expected_time: Option<String>,
        vague: bool,
        lang: String,
        automated: String,
        department: Option<String>,
        contact: Option<String>,
        #[serde(default)]
        attachments: Vec<ExpectedAttachment>,
        #[serde(default)]
        warnings: Vec<String>,
        bounce: Option<ExpectedBounce>,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct ExpectedAttachment {
        name: String,
        content_type: String,
        size: u64,
        kept: bool,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ExpectedBounce {
        original_message_id: Option<String>,
        recipient: Option<String>,
        diagnostic_contains: Vec<String>,
    }

    fn check(name: &str, r: &Request, want: &Expected) {
        match &want.message_id {
            Some(id) => assert_eq!(&r.message_id, id, "{name}: message_id"),
            None => assert!(
                r.message_id.starts_with("sha256-") && r.message_id.ends_with("@missing"),
                "{name}"
            ),
        }
        assert_eq!(r.references, want.references, "{name}: references");
        assert_eq!(r.subject, want.subject, "{name}: subject");
        let from = r.requester.email.as_deref().unwrap_or("");
        assert_eq!(from, want.from, "{name}: from");
        assert_eq!(r.requester.name, want.from_name, "{name}: from name");
        for s in &want.body_contains {
            assert!(
                r.body.contains(s.as_str()),
                "{name}: body lacks {s:?}:\n{}",
                r.body
            );
        }
        for s in &want.body_not_contains {
            assert!(
                !r.body.contains(s.as_str()),
                "{name}: body holds {s:?}:\n{}",
                r.body
            );
        }
        assert!(
            !format!("{}{}", r.subject, r.body).contains('\u{FFFD}'),
            "{name}: garbled text"
        );
        assert_eq!(
            r.ticket_tag.as_ref().map(TicketId::as_str),
            want.ticket_tag.as_deref(),
            "{name}: tag"
        );
        assert_eq!(
            r.problem_type.key(),
            want.problem_type,
            "{name}: problem type"
        );
        assert_eq!(r.urgency.key(), want.urgency, "{name}: urgency");
        assert_eq!(r.expected_time, want.expected_time, "{name}: expected time");
        assert_eq!(r.vague, want.vague, "{name}: vague");
        assert_eq!(
            r.lang.map_or("default", Lang::code),
            want.lang,
            "{name}: lang"
        );
        let automated = r.automated.as_ref().map_or("none".to_string(), |a| {
            format!("{a:?}")
                .split('(')
                .next()
                .unwrap_or_default()
                .to_string()
        });
        assert_eq!(automated, want.automated, "{name}: automated");
        assert_eq!(
            r.requester.department, want.department,
            "{name}: department"
        );
        assert_eq!(r.requester.contact, want.contact, "{name}: contact");
        let attachments: Vec<ExpectedAttachment> = r
            .attachments
            .iter()
            .map(|a| ExpectedAttachment {
                name: a.name.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
                kept: a.data.len() as u64 == a.size && a.size > 0,
            })
            .collect();
        assert_eq!(attachments, want.attachments, "{name}: attachments");
        let warnings: Vec<String> = r.warnings.iter().map(|w| w.text(Lang::En)).collect();
        assert_eq!(warnings, want.warnings, "{name}: warnings");
        match (&r.bounce, &want.bounce) {
            (None, None) => {}
            (Some(b), Some(w)) => {
                assert_eq!(
                    b.original_message_id, w.original_message_id,
                    "{name}: bounced id"
                );
                assert_eq!(b.recipient, w.recipient, "{name}: bounced recipient");
                for s in &w.diagnostic_contains {
                    assert!(
                        b.diagnostic.contains(s.as_str()),
                        "{name}: diagnostic {:?}",
                        b.diagnostic
                    );
                }
            }
            (got, _) => panic!("{name}: bounce {got:?}"),
        }
    }

    #[test]
    fn every_fixture_meets_its_expectations() {
        for eml in fixtures() {
            let name = eml.file_name().unwrap().to_string_lossy().into_owned();
            let expected_path = eml.with_extension("expected.toml");
            let text = std::fs::read_to_string(&expected_path)
                .unwrap_or_else(|e| panic!("{name} has no {}: {e}", expected_path.display()));
            let want: Expected = toml::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
            check(&name, &run(&std::fs::read(&eml).unwrap()), &want);
        }
    }

    #[test]
    fn no_input_panics() {
        // xorshift64: deterministic, so a failure reproduces.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut inputs = 0;
        for eml in fixtures() {
            let raw = std::fs::read(&eml).unwrap();
            for i in 0..=40 {
                run(&raw[..raw.len() * i / 40]);
                inputs += 1;
            }
            for _ in 0..120 {
                let mut bytes = raw.clone();
                for _ in 0..1 + next() % 8 {
                    let at = (next() % bytes.len() as u64) as usize;
                    bytes[at] = match next() % 4 {
                        0 => b"\r\n:;=<>\"-"[(next() % 9) as usize],
                        _ => next() as u8,
                    };
                }
                run(&bytes);
                inputs += 1;
            }
        }
        assert!(inputs > 3000, "{inputs}");
    }

    #[test]
    fn prepares_chat_messages_as_they_are() {
        let msg = InboundMessage {
            cc: Vec::new(),
            auth: Default::default(),
            channel: Channel::Chat,
            message_id: "discord-1".into(),
            references: Vec::new(),
            from: Sender {
                name: None,
                address: "123456789".into(),
            },
            subject: String::new(),
            body: "> not a quote in chat\n打印机卡纸，密码：abc123".into(),
            attachments: Vec::new(),
            received_at: DateTime::UNIX_EPOCH,
            automated: None,
            bounce: None,
            warnings: Vec::new(),
        };
        let dir_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            dir_file.path(),
            "[[person]]\nchat_user = \"123456789\"\nname = \"张三\"\ndepartment = \"销售部\"\ncontact = \"ext 8001\"\n",
        )
        .unwrap();
        let dir = Directory::load(dir_file.path()).unwrap();
        let r = prepare(msg, &Rules::default(), &dir);
        assert_eq!(r.body, "> not a quote in chat\n打印机卡纸，密码：[已隐藏]");
        assert_eq!(r.requester.chat_user.as_deref(), Some("123456789"));
        assert_eq!(r.requester.email, None);
        assert_eq!(r.requester.name.as_deref(), Some("张三"));
        assert_eq!(r.requester.department.as_deref(), Some("销售部"));
        assert_eq!(r.requester.contact.as_deref(), Some("ext 8001"));
        assert_eq!(
            (r.problem_type, r.lang),
            (ProblemType::Hardware, Some(Lang::ZhCn))
        );
    }

    #[test]
    fn finds_ticket_tags() {
        let cases = [
            ("Re: [IT20231001001] 打印机", Some("IT20231001001")),
            ("回复: 答复: 【IT20231001012】", Some("IT20231001012")),
            ("Fwd: FW: RE: [ IT202310011000 ] x", Some("IT202310011000")),
            ("转发: 服务单 IT20231001001 已受理", Some("IT20231001001")),
            ("[IT20231301001] bad date", None),
            ("SPLIT20231001001", None),
            ("订单 20231001001", None),
        ];
        for (subject, want) in cases {
            assert_eq!(
                ticket_tag(subject).as_ref().map(TicketId::as_str),
                want,
                "{subject}"
            );
        }
    }
}
