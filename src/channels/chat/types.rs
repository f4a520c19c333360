//! The chat seam's vocabulary: what any chat app (Discord, Feishu/Lark, …)
//! hands us and what we ask it to do, in our own types.
//!
//! Invariant: a chat app's ids (users, channels, threads, roles, messages,
//! interactions) are opaque strings here. Only the adapter that made one
//! reads it; everything else compares, stores and hands it back.

use crate::core::change::Change;
use crate::core::id::TicketId;
use crate::core::ticket::{Lang, ProblemType, Urgency};

macro_rules! opaque_id {
    ($($(#[$doc:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}

opaque_id!(
    /// A person in the chat app.
    UserId,
    /// Anywhere messages are written and read back: a direct-message channel,
    /// a group's channel, a ticket's thread.
    ChannelId,
    /// A role (Discord) or a group of people the app can mention at once.
    RoleId,
    /// One message; unique within its app.
    MessageId,
);

/// Where a message stands in its app's order: grows with time, so events are
/// handled in it and a channel's read-back cursor is one. The adapter says
/// what it is (a Discord snowflake, a Feishu create time in milliseconds).
pub type Position = u64;

/// Something the chat app reports. Delivered in any order; the seam sorts
/// what arrives together by `Position` and handles it in that order.
#[derive(Debug)]
pub enum Event {
    /// A new session: messages written meanwhile may have been missed, so the
    /// seam reads every known channel back from its cursor.
    Session,
    Message(Box<ChatMessage>),
    Interaction(Box<Interaction>),
}

impl Event {
    /// The order events are handled in; a new session comes first.
    pub fn position(&self) -> Position {
        match self {
            Event::Session => 0,
            Event::Message(m) => m.position,
            Event::Interaction(i) => i.position,
        }
    }
}

/// Where a message was written, as the adapter sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversation {
    /// A direct message to the bot.
    Direct,
    /// The help channel, where a mention of the bot opens a ticket.
    Help,
    /// Any other channel or thread (a ticket's thread, if the seam knows it).
    Other,
}

/// Whether the author is staff (the technician role, an on-duty id…).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staff {
    Yes,
    No,
    /// The event did not say (a message read back comes without roles): the
    /// seam asks the adapter (`ChatApp::is_staff`).
    Unknown,
}

/// Who wrote or pressed something.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: UserId,
    /// As shown in the app (nickname first): what the ticket log records.
    pub name: String,
    pub staff: Staff,
    /// A bot (ours included): its messages are never handled.
    pub bot: bool,
}

/// A file attached to a message; fetched through the adapter when kept.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    pub content_type: Option<String>,
    pub size: u64,
    /// Where the adapter fetches it from.
    pub url: String,
}

#[derive(Debug, Clone)]
pub struct ChatMessage {
    pub id: MessageId,
    pub position: Position,
    pub channel: ChannelId,
    pub conversation: Conversation,
    pub author: Person,
    /// The text, without mentions of the bot.
    pub text: String,
    pub mentions_bot: bool,
    pub attachments: Vec<Attachment>,
}

/// What an answer to an interaction goes back through: opaque to the seam.
#[derive(Debug, Clone)]
pub struct ReplyTo {
    pub id: String,
    pub token: String,
}

/// A slash command, a button press or a submitted form.
#[derive(Debug, Clone)]
pub struct Interaction {
    /// Unique within the app: with the app's name, the dedup key.
    pub id: String,
    pub position: Position,
    pub channel: ChannelId,
    pub user: Person,
    /// The person's language in the app, when it says.
    pub lang: Option<Lang>,
    pub reply: ReplyTo,
    pub kind: InteractionKind,
}

#[derive(Debug, Clone)]
pub enum InteractionKind {
    Command(Command),
    Button(Button),
    Form(Form),
}

/// A command, parsed by the adapter from its own syntax (Discord's slash
/// commands, Feishu's `/desk close …` text).
#[derive(Debug, Clone)]
pub enum Command {
    /// `/ticket new`: the requester asks for the new-ticket form.
    NewTicketForm {
        problem_type: ProblemType,
        urgency: Urgency,
    },
    /// `/ticket status [id]`: the requester's own tickets.
    Status { id: Option<String> },
    /// `/desk …`: staff work a ticket. `ticket` when named in the command;
    /// otherwise the ticket of the thread it was used in.
    Desk {
        ticket: Option<TicketId>,
        action: DeskAction,
    },
    /// A command the adapter could not read: what was wrong with it.
    Invalid(Invalid),
}

#[derive(Debug, Clone, PartialEq)]
pub enum DeskAction {
    /// A change in the staff vocabulary every surface speaks.
    Change(Change),
    /// The ticket's record, shown to the staff member alone.
    Transcript,
    /// Posts the "open a ticket" button message in this channel.
    Panel,
}

/// Why a command could not be read; the seam says so in the person's language.
#[derive(Debug, Clone, PartialEq)]
pub enum Invalid {
    /// A required option is missing or unreadable (its name).
    Option(String),
    /// A date and time that is not `YYYY-MM-DD HH:MM`.
    When(String),
    /// A subcommand this build does not know.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Button {
    /// A star on the confirm notice: the remark form follows.
    Rate { ticket: TicketId, stars: u8 },
    /// "Still broken" on the confirm notice: the reason form follows.
    StillBroken { ticket: TicketId },
    /// Claim, on the ticket card and on urgent pages.
    Claim { ticket: TicketId },
    /// The requester chose which ticket a message is about (`None`: a new one).
    Pick {
        message: MessageId,
        ticket: Option<TicketId>,
    },
    /// "Open a ticket" on the help channel's panel: the form follows.
    OpenTicket,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Form {
    /// A new ticket; `chosen` when the requester picked type and urgency in
    /// `/ticket new` (they beat the keywords), `None` from the panel.
    NewTicket {
        chosen: Option<(ProblemType, Urgency)>,
        description: String,
        expected: Option<String>,
        contact: Option<String>,
    },
    Rating {
        ticket: TicketId,
        stars: u8,
        remark: Option<String>,
    },
    StillBroken {
        ticket: TicketId,
        reason: Option<String>,
    },
}

/// A form the seam asks the adapter to show.
#[derive(Debug, Clone, PartialEq)]
pub enum FormSpec {
    NewTicket {
        chosen: Option<(ProblemType, Urgency)>,
    },
    Rating {
        ticket: TicketId,
        stars: u8,
    },
    StillBroken {
        ticket: TicketId,
    },
}

/// Who a post is addressed to, so that they are notified; rendered by the
/// adapter in its own mention syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addressee {
    Role(RoleId),
    User(UserId),
}

/// The buttons under a post; labels in `lang`, rendered by the adapter.
#[derive(Debug, Clone, PartialEq)]
pub enum Buttons {
    None,
    /// ★1–★5 and "still broken".
    Rating {
        ticket: TicketId,
    },
    Claim {
        ticket: TicketId,
    },
    /// One per candidate ticket (id, subject) and "a new ticket".
    Pick {
        message: MessageId,
        choices: Vec<(TicketId, String)>,
    },
    /// The help channel's panel.
    OpenTicket,
}

/// A message the bot posts.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    /// Shown in bold above the body, when there is one (a notice's subject).
    pub title: Option<String>,
    pub body: String,
    pub mention: Option<Addressee>,
    pub buttons: Buttons,
    pub lang: Lang,
}

impl Post {
    /// Plain text, nobody notified, no buttons.
    pub fn text(body: impl Into<String>, lang: Lang) -> Post {
        Post {
            title: None,
            body: body.into(),
            mention: None,
            buttons: Buttons::None,
            lang,
        }
    }
}

/// A message the app accepted.
#[derive(Debug, Clone)]
pub struct Posted {
    pub id: MessageId,
    pub position: Position,
}

/// The answer to an interaction.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Seen by the person alone.
    Private(String),
    /// Seen by everyone in the channel.
    Public(String),
    Form(FormSpec),
    /// Replaces the message the button was on (its buttons go).
    Update(String),
}

/// A page of a channel's history.
#[derive(Debug)]
pub struct History {
    /// Oldest first.
    pub messages: Vec<ChatMessage>,
    /// The page was full: more may follow the last one.
    pub more: bool,
}
