//! Events in from the Discord gateway: requesters' DMs, help-channel mentions,
//! technicians' thread messages, slash commands, buttons and forms — each turned
//! into an `InboundMessage` for intake or an `Action` for the engine.
//!
//! Invariants: events are handled in Discord's order, each after the ones
//! before it were committed (a second DM must see the ticket the first one
//! opened) — except that consecutive requester messages from different people,
//! which cannot depend on each other, are committed together. Every message or
//! interaction reaches the engine under its Discord id (`discord-<id>`), which
//! the engine records with the change, so a replay after a reconnect changes
//! nothing. After a new gateway session (serenity re-identifies when heartbeats
//! go unanswered) the channels seen so far are read back from where they were
//! left, so messages sent while the bot was away are not lost. Where they were
//! left is kept in the store (a cursor per channel, moved only past messages
//! that were handled, i.e. committed or needing no change), so after a restart
//! the first session reads back every known channel too: DMs and the help
//! channel seen before, and the threads of tickets not closed.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serenity::all::{
    ActionRowComponent, ChannelId, ClientBuilder, Command, CommandInteraction,
    ComponentInteraction, Context, CreateAllowedMentions, CreateInteractionResponse,
    CreateInteractionResponseMessage, CreateMessage, EventHandler, GatewayIntents, GetMessages,
    GuildId, Http, Interaction, InteractionId, Message, MessageId, ModalInteraction, Ready,
    ResolvedOption, ResolvedValue, RoleId, ShardStageUpdateEvent, UserId,
};
use serenity::gateway::ConnectionStage;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

use super::commands::{self, CustomId};
use super::DmChannels;
use crate::clock::Clock;
use crate::core::calendar::Calendar;
use crate::core::id::TicketId;
use crate::core::lifecycle::{Action, ReplyIntent};
use crate::core::ticket::{Channel, Lang, ProblemType, Status, Ticket, Urgency};
use crate::engine::{
    AuditEntry, Change, ChatCursor, ChatPlace, EngineHandle, IntakeOutcome, Outcome,
};
use crate::health::{GatewayState, Health};
use crate::intake::classify::Rules;
use crate::intake::directory::Directory;
use crate::intake::{
    prepare, redact, InboundAttachment, InboundMessage, NotKept, Request, Sender, Warning,
};
use crate::shutdown::Shutdown;

/// A chat ticket's subject is the first line of the message, this long at most.
const SUBJECT_CHARS: usize = 80;
/// How long fetching one attachment from Discord's CDN may take.
const ATTACHMENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Interactions remembered to drop replays; older ones are long expired.
const REMEMBERED_INTERACTIONS: usize = 1000;
/// Requester messages committed together at most (as the IMAP intake's chunks).
const MAX_GROUP: usize = 50;
/// Messages waiting for the requester to pick a ticket, kept prepared; an
/// older one (or one asked about before a restart) is read again from Discord.
const PENDING_PICKS: usize = 256;
/// Messages read back per call after a new session: Discord's most.
const READ_BACK_PAGE: u8 = 100;
/// Retry pause while the gateway URL cannot be fetched.
const GATEWAY_RETRY: Duration = Duration::from_secs(10);

pub(super) struct Settings {
    pub guild: GuildId,
    pub help_channel: Option<ChannelId>,
    pub technician_role: RoleId,
    pub note_prefix: String,
    pub max_attachment_bytes: u64,
}

/// The gateway connection and the task that handles its events.
pub struct ChatIntake {
    pub(super) http: Http,
    pub(super) gateway_http: Http,
    pub(super) settings: Settings,
    pub(super) engine: EngineHandle,
    pub(super) dm_channels: DmChannels,
    pub(super) rules: Rules,
    pub(super) directory: Arc<Directory>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) calendar: Calendar,
    pub(super) health: Health,
}

enum Incoming {
    Ready(Box<Ready>),
    Message(Box<Message>),
    Interaction(Box<Interaction>),
}

impl Incoming {
    /// Discord's order: snowflakes grow with time. A new session comes first.
    fn order(&self) -> u64 {
        match self {
            Incoming::Ready(_) => 0,
            Incoming::Message(m) => m.id.get(),
            Incoming::Interaction(i) => i.id().get(),
        }
    }
}

/// Serenity calls this from a task per event; it only queues, in arrival order.
struct Handler {
    tx: mpsc::UnboundedSender<Incoming>,
    health: Health,
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        let _ = self.tx.send(Incoming::Ready(Box::new(ready)));
    }

    async fn message(&self, _ctx: Context, message: Message) {
        let _ = self.tx.send(Incoming::Message(Box::new(message)));
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        let _ = self.tx.send(Incoming::Interaction(Box::new(interaction)));
    }

    async fn shard_stage_update(&self, _ctx: Context, update: ShardStageUpdateEvent) {
        self.health.set_gateway(match update.new {
            ConnectionStage::Connected => GatewayState::Connected,
            ConnectionStage::Disconnected => GatewayState::Disconnected,
            _ => GatewayState::Connecting,
        });
    }
}

impl ChatIntake {
    /// Runs until shutdown: connects, handles events, reconnects (serenity
    /// resumes or re-identifies by itself). On shutdown the gateway closes first,
    /// then what was already received is handled.
    pub async fn run(self, mut shutdown: Shutdown) {
        let ChatIntake {
            http,
            gateway_http,
            settings,
            engine,
            dm_channels,
            rules,
            directory,
            clock,
            calendar,
            health,
        } = self;
        health.set_gateway(GatewayState::Connecting);
        let http = Arc::new(http);
        // Serenity falls back to the real Discord when this fails; with an
        // api_base that would be the wrong server, so wait until it works.
        loop {
            match http.get_gateway().await {
                Ok(gateway) => {
                    debug!(url = %gateway.url, "Discord gateway URL");
                    break;
                }
                Err(e) => {
                    warn!(error = %e, retry_in = ?GATEWAY_RETRY, "cannot get the Discord gateway URL — check the network and [discord] api_base")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(GATEWAY_RETRY) => {}
                _ = shutdown.wait() => return,
            }
        }
        let intents = GatewayIntents::GUILDS
            | GatewayIntents::GUILD_MESSAGES
            | GatewayIntents::DIRECT_MESSAGES
            | GatewayIntents::MESSAGE_CONTENT;
        let (tx, rx) = mpsc::unbounded_channel();
        let mut client = match ClientBuilder::new_with_http(gateway_http, intents)
            .event_handler(Handler {
                tx,
                health: health.clone(),
            })
            .await
        {
            Ok(client) => client,
            Err(e) => {
                error!(error = %e, "cannot start the Discord client; chat intake is off");
                return;
            }
        };
        let worker = Worker {
            http,
            settings,
            engine,
            dm_channels,
            rules,
            directory,
            clock,
            calendar,
            sessions: 0,
            bot: None,
            cursors: HashMap::new(),
            pending: HashMap::new(),
            pending_order: VecDeque::new(),
            interactions: HashSet::new(),
            interaction_order: VecDeque::new(),
        };
        let (stop, stopped) = oneshot::channel();
        let worker_task = tokio::spawn(worker.run(rx, stopped));
        let shards = client.shard_manager.clone();
        tokio::select! {
            result = client.start() => match result {
                Ok(()) => info!("Discord gateway closed"),
                Err(e) => error!(error = %e, "Discord gateway stopped; chat intake is off — check [discord] token_file/token_env and the bot's intents (DIRECT_MESSAGES, GUILD_MESSAGES, MESSAGE_CONTENT)"),
            },
            _ = shutdown.wait() => shards.shutdown_all().await,
        }
        health.set_gateway(GatewayState::Disconnected);
        drop(client);
        let _ = stop.send(());
        let _ = worker_task.await;
        debug!("Discord intake stopped");
    }
}

/// Where a message was written.
#[derive(Debug, Clone)]
enum Place {
    Dm,
    Help,
    Thread(TicketId),
}

struct Worker {
    http: Arc<Http>,
    settings: Settings,
    engine: EngineHandle,
    /// Shared with the transport, which answers requesters in their DMs.
    dm_channels: DmChannels,
    rules: Rules,
    directory: Arc<Directory>,
    clock: Arc<dyn Clock>,
    calendar: Calendar,
    /// Gateway sessions so far; each after the first may have missed messages.
    sessions: u32,
    /// The bot's own user, from READY: mentions of it open tickets.
    bot: Option<UserId>,
    /// Every channel the bot reads, with where to read it back from.
    cursors: HashMap<ChannelId, Cursor>,
    /// DMs waiting for the requester to say which ticket they are about.
    pending: HashMap<u64, Request>,
    pending_order: VecDeque<u64>,
    interactions: HashSet<InteractionId>,
    interaction_order: VecDeque<InteractionId>,
}

/// Where a channel was left.
struct Cursor {
    place: Place,
    /// Every message up to this one was handled.
    handled: MessageId,
    /// A message after `handled` failed: the cursor stays, so the next
    /// read-back (new session or restart) tries it again.
    stuck: bool,
    /// Whether the store has a cursor for the channel yet.
    stored: bool,
}

impl Cursor {
    fn new(place: Place, handled: MessageId, stored: bool) -> Cursor {
        Cursor {
            place,
            handled,
            stuck: false,
            stored,
        }
    }
}

/// A channel id as the store keeps it; `None` for anything unusable.
fn stored_channel(id: &str) -> Option<ChannelId> {
    id.parse().ok().filter(|c| *c > 0).map(ChannelId::new)
}

/// A message that needs nothing more done, or whose handling failed.
struct Done {
    channel: ChannelId,
    message: MessageId,
    ok: bool,
}

impl Done {
    fn ok(channel: ChannelId, message: MessageId) -> Done {
        Done {
            channel,
            message,
            ok: true,
        }
    }
}

/// Who a message is for.
enum Route {
    /// A requester: a DM, or a mention of the bot in the help channel.
    Requester {
        dm: bool,
    },
    /// The technicians of a ticket, in its thread.
    Staff(TicketId),
    Ignore,
}

/// Requester messages from different people, to be committed together, and
/// the messages since the group began that needed no engine: their cursors
/// move with the group's, in order.
#[derive(Default)]
struct Pending {
    group: Vec<Submission>,
    done: Vec<Done>,
}

/// A requester's message ready for the engine.
struct Submission {
    request: Request,
    origin: Origin,
}

/// Where a request came from: what the answer to it needs.
struct Origin {
    channel: ChannelId,
    message: MessageId,
    author: UserId,
    dm: bool,
    /// The requester's one open ticket a DM is about, for "Added to your ticket".
    follow_up_of_open: Option<TicketId>,
}

/// What a technician or requester is told in reply to an interaction.
enum Answer {
    Private(String),
    Public(String),
}

impl Worker {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Incoming>,
        mut stop: oneshot::Receiver<()>,
    ) {
        loop {
            let first = tokio::select! {
                event = rx.recv() => match event {
                    Some(event) => event,
                    None => break,
                },
                _ = &mut stop => {
                    let mut rest = Vec::new();
                    while let Ok(event) = rx.try_recv() {
                        rest.push(event);
                    }
                    self.handle_all(rest).await;
                    break;
                }
            };
            // Serenity hands each event to its own task, so two close together
            // may arrive swapped: handle what is waiting in Discord's order.
            let mut batch = vec![first];
            while let Ok(event) = rx.try_recv() {
                batch.push(event);
            }
            batch.sort_by_key(Incoming::order);
            self.handle_all(batch).await;
        }
    }

    /// Handles events in order, except that consecutive requester messages
    /// from different people go to the engine together (`intake_batch`: one
    /// flush for the group, not one per message). A second message from
    /// someone in the group, or any other event, waits until the group is
    /// committed: it may depend on what the group changed.
    async fn handle_all(&mut self, events: Vec<Incoming>) {
        let mut pending = Pending::default();
        for event in events {
            match event {
                Incoming::Message(message) => self.message(*message, &mut pending).await,
                Incoming::Ready(ready) => {
                    self.submit_group(&mut pending).await;
                    self.ready(*ready).await;
                }
                Incoming::Interaction(interaction) => {
                    self.submit_group(&mut pending).await;
                    self.interaction(*interaction).await;
                }
            }
        }
        self.submit_group(&mut pending).await;
    }

    /// One message, in order after those before it: a requester's joins the
    /// pending group (which goes first if it has their message already or is
    /// full); a technician's waits for the group, then is handled on its own.
    async fn message(&mut self, message: Message, pending: &mut Pending) {
        let (channel, id) = (message.channel_id, message.id);
        match self.route(&message) {
            Route::Requester { dm } => {
                let author = message.author.id;
                if pending.group.len() >= MAX_GROUP
                    || pending.group.iter().any(|s| s.origin.author == author)
                {
                    self.submit_group(pending).await;
                }
                match self.submission(message, dm).await {
                    Some(submission) => pending.group.push(submission),
                    None => pending.done.push(Done::ok(channel, id)),
                }
            }
            Route::Staff(ticket) => {
                self.submit_group(pending).await;
                let ok = self.staff_message(message, ticket).await;
                self.handled(vec![Done {
                    channel,
                    message: id,
                    ok,
                }])
                .await;
            }
            Route::Ignore => pending.done.push(Done::ok(channel, id)),
        }
    }

    async fn ready(&mut self, ready: Ready) {
        self.sessions += 1;
        self.http.set_application_id(ready.application.id);
        self.bot = Some(ready.user.id);
        info!(bot = %ready.user.name, session = self.sessions, "Discord gateway session ready");
        self.restore_cursors().await;
        if self.sessions == 1 {
            if let Err(e) =
                Command::set_global_commands(&*self.http, vec![commands::ticket_command()]).await
            {
                warn!(error = %e, "cannot register /ticket; requesters can still write to the bot");
            }
            if let Err(e) = self
                .settings
                .guild
                .set_commands(&*self.http, vec![commands::desk_command()])
                .await
            {
                warn!(error = %e, "cannot register /desk in the guild — check [discord] guild_id and the bot's applications.commands scope");
            }
        }
        self.catch_up().await;
    }

    /// Where the last run left each channel (see `catch_up`), and the threads
    /// of tickets not closed (from the thread's start: its every message is
    /// newer than the thread). A closed ticket's thread is not read back, and
    /// its cursor is dropped. Run at every session: it also adds what others
    /// started since (a thread, a DM channel the transport opened); a channel
    /// already read keeps its cursor.
    async fn restore_cursors(&mut self) {
        let mut restored = 0;
        let cursors: Vec<_> = self.engine.chat_cursors().collect();
        for item in cursors {
            let (channel, cursor) = match item {
                Ok(item) => item,
                Err(e) => {
                    warn!(error = %e, "cannot read a chat cursor; that channel is not read back");
                    continue;
                }
            };
            let Some(id) = stored_channel(&channel) else {
                continue;
            };
            if self.cursors.contains_key(&id) {
                continue;
            }
            let place = match cursor.place {
                ChatPlace::Dm => Place::Dm,
                // The help channel may have changed in the config since.
                ChatPlace::Help if Some(id) == self.settings.help_channel => Place::Help,
                ChatPlace::Help => continue,
                ChatPlace::Thread => match self.open_ticket_of_thread(id) {
                    Some(ticket) => Place::Thread(ticket),
                    None => {
                        if let Err(e) = self.engine.drop_chat_cursor(channel.clone()).await {
                            warn!(%channel, error = %e, "cannot drop a closed ticket's thread cursor");
                        }
                        continue;
                    }
                },
            };
            let handled = MessageId::new(cursor.handled.max(1));
            self.cursors.insert(id, Cursor::new(place, handled, true));
            restored += 1;
        }
        let threads: Vec<_> = self.engine.threads().collect();
        for item in threads {
            let (thread, ticket) = match item {
                Ok(item) => item,
                Err(e) => {
                    warn!(error = %e, "cannot read the thread index; threads are not read back");
                    break;
                }
            };
            let Some(thread) = stored_channel(&thread) else {
                continue;
            };
            if self.cursors.contains_key(&thread) || !self.is_open(&ticket) {
                continue;
            }
            let handled = MessageId::new(thread.get());
            self.cursors
                .insert(thread, Cursor::new(Place::Thread(ticket), handled, false));
            restored += 1;
        }
        if restored > 0 {
            info!(
                channels = restored,
                "chat channels to read back, new since the last session"
            );
        }
    }

    /// The ticket of a thread, unless it is closed (or unknown).
    fn open_ticket_of_thread(&self, thread: ChannelId) -> Option<TicketId> {
        let ticket = match self.engine.ticket_for_thread(&thread.to_string()) {
            Ok(ticket) => ticket?,
            Err(e) => {
                warn!(error = %e, "cannot look up the thread index");
                return None;
            }
        };
        self.is_open(&ticket).then_some(ticket)
    }

    /// Whether the ticket (of a thread) is stored and not closed.
    fn is_open(&self, ticket: &TicketId) -> bool {
        match self.engine.ticket(ticket) {
            Ok(Some(t)) => t.status != Status::Closed,
            Ok(None) => false,
            Err(e) => {
                warn!(ticket = %ticket, error = %e, "cannot read the ticket of a thread");
                false
            }
        }
    }

    /// Moves the channels' cursors past what was handled, in Discord's order,
    /// in memory and in the store (no flush: the engine flushed the changes
    /// themselves; a cursor lost in a crash only makes a repeat, which the
    /// Message-ID index drops). A failure holds its channel's cursor until
    /// the next read-back.
    async fn handled(&mut self, mut done: Vec<Done>) {
        done.sort_by_key(|d| d.message);
        // The channels whose cursor moved: each is written once, where it
        // ended, not once per message.
        let mut moved: Vec<ChannelId> = Vec::new();
        for d in done {
            let Some(cursor) = self.cursors.get_mut(&d.channel) else {
                continue;
            };
            if !d.ok {
                cursor.stuck = true;
                continue;
            }
            if cursor.stuck || d.message <= cursor.handled {
                continue;
            }
            cursor.handled = d.message;
            if !moved.contains(&d.channel) {
                moved.push(d.channel);
            }
        }
        for channel in moved {
            let Some(cursor) = self.cursors.get_mut(&channel) else {
                continue;
            };
            let stored = ChatCursor {
                place: match cursor.place {
                    Place::Dm => ChatPlace::Dm,
                    Place::Help => ChatPlace::Help,
                    Place::Thread(_) => ChatPlace::Thread,
                },
                handled: cursor.handled.get(),
            };
            // A channel's first cursor is flushed at once (once per channel):
            // without it, a restart would not read the channel.
            let first = !cursor.stored;
            match self
                .engine
                .advance_chat_cursor(channel.to_string(), stored, first)
                .await
            {
                Ok(()) => cursor.stored = true,
                Err(e) => {
                    warn!(%channel, error = %e, "cannot record where the chat channel was read to")
                }
            }
        }
    }

    /// Reads every known channel from the last message handled there: what was
    /// sent while the old session was dead, a page (Discord's most, 100) at a
    /// time until a page is not full. A page is handled as live events are
    /// (`message`: requester messages grouped into one commit). Repeats are
    /// dropped by their ids.
    async fn catch_up(&mut self) {
        let known: Vec<(ChannelId, MessageId)> = self
            .cursors
            .iter_mut()
            .map(|(c, cursor)| {
                cursor.stuck = false;
                (*c, cursor.handled)
            })
            .collect();
        for (channel, mut after) in known {
            loop {
                let page = GetMessages::new().after(after).limit(READ_BACK_PAGE);
                let mut missed = match channel.messages(&*self.http, page).await {
                    Ok(missed) => missed,
                    Err(e) => {
                        warn!(%channel, error = %e, "cannot read back missed messages");
                        break;
                    }
                };
                missed.sort_by_key(|m| m.id);
                let full = missed.len() >= usize::from(READ_BACK_PAGE);
                let Some(last) = missed.last().map(|m| m.id) else {
                    break;
                };
                info!(%channel, count = missed.len(), "reading messages sent while the gateway was away");
                after = last;
                let mut pending = Pending::default();
                for message in missed {
                    self.message(message, &mut pending).await;
                }
                self.submit_group(&mut pending).await;
                if !full {
                    break;
                }
            }
        }
    }

    fn place_of(&self, message: &Message) -> Option<Place> {
        if let Some(cursor) = self.cursors.get(&message.channel_id) {
            return Some(cursor.place.clone());
        }
        if message.guild_id.is_none() {
            return Some(Place::Dm);
        }
        if Some(message.channel_id) == self.settings.help_channel {
            return Some(Place::Help);
        }
        match self
            .engine
            .ticket_for_thread(&message.channel_id.to_string())
        {
            Ok(ticket) => ticket.map(Place::Thread),
            Err(e) => {
                warn!(error = %e, "cannot look up the thread index");
                None
            }
        }
    }

    /// Who the message is for; the channel is read from now on (its cursor
    /// moves once the message is handled).
    fn route(&mut self, message: &Message) -> Route {
        if message.author.bot {
            return Route::Ignore;
        }
        let Some(place) = self.place_of(message) else {
            return Route::Ignore;
        };
        self.cursors.entry(message.channel_id).or_insert_with(|| {
            let before = MessageId::new(message.id.get().saturating_sub(1).max(1));
            Cursor::new(place.clone(), before, false)
        });
        match place {
            Place::Dm => {
                self.dm_channels
                    .insert(message.author.id, message.channel_id);
                Route::Requester { dm: true }
            }
            Place::Help
                if self
                    .bot
                    .is_some_and(|bot| message.mentions.iter().any(|u| u.id == bot)) =>
            {
                Route::Requester { dm: false }
            }
            Place::Help => Route::Ignore,
            Place::Thread(ticket) => Route::Staff(ticket),
        }
    }

    /// A DM or a mention in the help channel, made ready for the engine: a new
    /// ticket, or more for the requester's one open ticket. A DM to a requester
    /// with several is asked about instead (`None`).
    async fn submission(&mut self, message: Message, dm: bool) -> Option<Submission> {
        let text = strip_mentions(&message.content, self.bot);
        if text.is_empty() && message.attachments.is_empty() {
            return None;
        }
        let inbound = self.inbound(&message, &text).await;
        let mut request = prepare(inbound, &self.rules, &self.directory);
        let mut follow_up_of_open = None;
        if dm {
            let candidates = self.candidates(message.author.id);
            match candidates.as_slice() {
                [] => {}
                [only] => {
                    request.ticket_tag = Some(only.id.clone());
                    follow_up_of_open = only.status.is_open().then(|| only.id.clone());
                }
                several => {
                    let choices: Vec<(TicketId, String)> = several
                        .iter()
                        .map(|t| (t.id.clone(), t.subject.clone()))
                        .collect();
                    self.ask_which(message.channel_id, message.id.get(), request, &choices)
                        .await;
                    return None;
                }
            }
        }
        Some(Submission {
            request,
            origin: Origin {
                channel: message.channel_id,
                message: message.id,
                author: message.author.id,
                dm,
                follow_up_of_open,
            },
        })
    }

    /// Commits the group's requests together, then tells each requester what
    /// the DM does not: the ticket opened from the help channel, or that a
    /// DM was added to their open ticket.
    async fn submit_group(&mut self, pending: &mut Pending) {
        let Pending { group, mut done } = std::mem::take(pending);
        if group.is_empty() {
            self.handled(done).await;
            return;
        }
        let (requests, origins): (Vec<Request>, Vec<Origin>) =
            group.into_iter().map(|s| (s.request, s.origin)).unzip();
        let message_ids: Vec<String> = requests.iter().map(|r| r.message_id.clone()).collect();
        let outcomes: Vec<Result<IntakeOutcome, String>> =
            match self.engine.intake_batch(requests).await {
                Ok(outcomes) => outcomes.into_iter().map(Ok).collect(),
                Err(e) => {
                    let e = e.to_string();
                    message_ids.iter().map(|_| Err(e.clone())).collect()
                }
            };
        for ((origin, message_id), outcome) in origins.into_iter().zip(&message_ids).zip(outcomes) {
            let outcome = logged(message_id, outcome);
            done.push(Done {
                channel: origin.channel,
                message: origin.message,
                ok: outcome.is_some(),
            });
            match (outcome, origin.dm) {
                (Some(IntakeOutcome::Created(id)), false) => {
                    let text = format!(
                        "<@{}> {id}: ticket opened — details by DM. / 服务单已受理，详情已私信发送。",
                        origin.author
                    );
                    self.say(origin.channel, text, Some(origin.author)).await;
                }
                (Some(IntakeOutcome::Updated(id)), true)
                    if origin.follow_up_of_open.as_ref() == Some(&id) =>
                {
                    self.say(
                        origin.channel,
                        format!("Added to your ticket {id}. / 已补充到服务单 {id}。"),
                        None,
                    )
                    .await;
                }
                _ => {}
            }
        }
        self.handled(done).await;
    }

    /// The requester's tickets a new DM may be about: open ones, and resolved
    /// ones waiting for a confirmation (a typed "5" or "还是不行" answers those).
    fn candidates(&mut self, user: UserId) -> Vec<Ticket> {
        self.own_tickets(user)
            .into_iter()
            .filter(|t| t.status.is_open() || t.status == Status::Resolved)
            .collect()
    }

    /// Every ticket whose requester is this chat user (via the directory, also
    /// their email tickets).
    fn own_tickets(&mut self, user: UserId) -> Vec<Ticket> {
        let today = self.calendar.local_date(self.clock.now());
        self.engine
            .chat_requester_tickets(today, &user.to_string())
            .unwrap_or_else(|e| {
                warn!(error = %e, "cannot look up the requester's tickets");
                Vec::new()
            })
    }

    async fn ask_which(
        &mut self,
        channel: ChannelId,
        message: u64,
        request: Request,
        tickets: &[(TicketId, String)],
    ) {
        if self.pending.insert(message, request).is_none() {
            self.pending_order.push_back(message);
        }
        while self.pending_order.len() > PENDING_PICKS {
            if let Some(old) = self.pending_order.pop_front() {
                self.pending.remove(&old);
            }
        }
        let post = CreateMessage::new()
            .content("Which ticket is this about? / 这条消息是关于哪张服务单的？")
            .components(commands::pick_buttons(message, tickets))
            .allowed_mentions(CreateAllowedMentions::new());
        if let Err(e) = channel.send_message(&*self.http, post).await {
            warn!(error = %e, "cannot ask the requester which ticket they mean");
        }
    }

    /// A message asked about before a restart (or pushed out of `pending`),
    /// read again from Discord and prepared as it was then.
    async fn reread(&self, channel: ChannelId, message: u64) -> Option<Request> {
        let message = match channel.message(&*self.http, MessageId::new(message)).await {
            Ok(message) => message,
            Err(e) => {
                warn!(error = %e, "cannot read back the message a requester picked a ticket for");
                return None;
            }
        };
        let text = strip_mentions(&message.content, self.bot);
        let inbound = self.inbound(&message, &text).await;
        Some(prepare(inbound, &self.rules, &self.directory))
    }

    async fn submit(&self, request: Request) -> Option<IntakeOutcome> {
        let message_id = request.message_id.clone();
        let outcome = self.engine.intake(request).await.map_err(|e| e.to_string());
        logged(&message_id, outcome)
    }

    async fn inbound(&self, message: &Message, text: &str) -> InboundMessage {
        let mut attachments = Vec::new();
        let mut warnings = Vec::new();
        for a in &message.attachments {
            let size = u64::from(a.size);
            let content_type = a
                .content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into());
            let data = if size > self.settings.max_attachment_bytes {
                warnings.push(Warning::AttachmentNotKept {
                    name: a.filename.clone(),
                    size,
                    why: NotKept::TooLarge {
                        limit: self.settings.max_attachment_bytes,
                    },
                });
                Vec::new()
            } else {
                match tokio::time::timeout(ATTACHMENT_TIMEOUT, a.download()).await {
                    Ok(Ok(data)) => data,
                    Ok(Err(e)) => {
                        warn!(attachment = %a.filename, error = %e, "cannot fetch an attachment from Discord");
                        warnings.push(Warning::AttachmentNotKept {
                            name: a.filename.clone(),
                            size,
                            why: NotKept::NotFetched,
                        });
                        Vec::new()
                    }
                    Err(_) => {
                        warnings.push(Warning::AttachmentNotKept {
                            name: a.filename.clone(),
                            size,
                            why: NotKept::NotFetched,
                        });
                        Vec::new()
                    }
                }
            };
            attachments.push(InboundAttachment {
                name: a.filename.clone(),
                content_type,
                size,
                data,
            });
        }
        let name = message
            .member
            .as_ref()
            .and_then(|m| m.nick.clone())
            .unwrap_or_else(|| message.author.display_name().to_string());
        InboundMessage {
            cc: Vec::new(),
            auth: Default::default(),
            channel: Channel::Chat,
            message_id: format!("discord-{}", message.id),
            references: Vec::new(),
            from: Sender {
                name: Some(name),
                address: message.author.id.to_string(),
            },
            subject: subject_of(text),
            body: text.to_string(),
            attachments,
            received_at: self.clock.now(),
            automated: None,
            bounce: None,
            warnings,
        }
    }

    /// A technician writing in a ticket's thread: relayed to the requester, or
    /// with the note prefix an internal note. Others' messages do nothing.
    /// Whether it was handled (false: to be tried again at the next read-back).
    async fn staff_message(&mut self, message: Message, ticket: TicketId) -> bool {
        let roles = match &message.member {
            Some(member) => member.roles.clone(),
            // Messages read back after a reconnect come without the member.
            None => match self
                .settings
                .guild
                .member(&*self.http, message.author.id)
                .await
            {
                Ok(member) => member.roles,
                Err(e) => {
                    warn!(error = %e, "cannot check the author's roles; message not relayed");
                    return false;
                }
            },
        };
        if !roles.contains(&self.settings.technician_role) {
            debug!(user = %message.author.id, ticket = %ticket, "message by a non-technician in a ticket thread; ignored");
            return true;
        }
        let text = message.content.trim();
        if text.is_empty() {
            return true;
        }
        let by = message
            .member
            .as_ref()
            .and_then(|m| m.nick.clone())
            .unwrap_or_else(|| message.author.display_name().to_string());
        let (change, what) = match text.strip_prefix(self.settings.note_prefix.as_str()) {
            Some(note) => (
                Change::Note {
                    text: note.trim().to_string(),
                },
                "noted",
            ),
            None => (
                Change::Reply {
                    text: text.to_string(),
                },
                "relayed",
            ),
        };
        match self
            .engine
            .change(
                ticket.clone(),
                by,
                change,
                Some(format!("discord-{}", message.id)),
            )
            .await
        {
            Ok(Outcome::Applied(_)) => {
                info!(ticket = %ticket, "technician message {what}");
                true
            }
            Ok(Outcome::Refused(refusal)) => {
                self.say(
                    message.channel_id,
                    format!("Not {what}: {refusal}. / 未处理：{refusal}"),
                    None,
                )
                .await;
                true
            }
            Ok(Outcome::AlreadySeen) => {
                debug!(ticket = %ticket, "technician message seen before");
                true
            }
            Err(e) => {
                error!(ticket = %ticket, error = %e, "technician message not processed");
                false
            }
        }
    }

    async fn say(&self, channel: ChannelId, text: String, mention: Option<UserId>) {
        let allowed = match mention {
            Some(user) => CreateAllowedMentions::new().users([user]),
            None => CreateAllowedMentions::new(),
        };
        if let Err(e) = channel
            .send_message(
                &*self.http,
                CreateMessage::new().content(text).allowed_mentions(allowed),
            )
            .await
        {
            warn!(%channel, error = %e, "cannot post in Discord");
        }
    }

    async fn interaction(&mut self, interaction: Interaction) {
        let id = interaction.id();
        if !self.interactions.insert(id) {
            debug!(interaction = %id, "interaction seen before");
            return;
        }
        self.interaction_order.push_back(id);
        while self.interaction_order.len() > REMEMBERED_INTERACTIONS {
            if let Some(old) = self.interaction_order.pop_front() {
                self.interactions.remove(&old);
            }
        }
        match interaction {
            Interaction::Command(command) => self.command(command).await,
            Interaction::Component(press) => self.press(press).await,
            Interaction::Modal(form) => self.form(form).await,
            _ => {}
        }
    }

    async fn respond(&self, id: InteractionId, token: &str, response: CreateInteractionResponse) {
        if let Err(e) = self
            .http
            .create_interaction_response(id, token, &response, Vec::new())
            .await
        {
            warn!(interaction = %id, error = %e, "cannot answer an interaction");
        }
    }

    async fn answer(&self, id: InteractionId, token: &str, answer: Answer) {
        let (text, ephemeral) = match answer {
            Answer::Private(t) => (t, true),
            Answer::Public(t) => (t, false),
        };
        let message = CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(ephemeral)
            .allowed_mentions(CreateAllowedMentions::new());
        self.respond(id, token, CreateInteractionResponse::Message(message))
            .await;
    }

    fn is_technician(&self, roles: Option<&[RoleId]>) -> bool {
        roles.is_some_and(|r| r.contains(&self.settings.technician_role))
    }

    async fn command(&mut self, command: CommandInteraction) {
        let options = command.data.options();
        let Some(ResolvedOption {
            name: sub,
            value: ResolvedValue::SubCommand(args),
            ..
        }) = options.first()
        else {
            return;
        };
        match (command.data.name.as_str(), *sub) {
            (commands::TICKET, "new") => {
                let problem_type = string(args, "type")
                    .and_then(ProblemType::parse)
                    .unwrap_or(ProblemType::Other);
                let urgency = string(args, "urgency")
                    .and_then(Urgency::parse)
                    .unwrap_or(Urgency::Medium);
                let form = commands::new_ticket_form(problem_type, urgency);
                self.respond(
                    command.id,
                    &command.token,
                    CreateInteractionResponse::Modal(form),
                )
                .await;
            }
            (commands::TICKET, "status") => {
                let (text, shown) = self.status(
                    command.user.id,
                    string(args, "id"),
                    lang_of(&command.locale),
                );
                // Reads of personal data through chat go to the access audit.
                let actor = format!("chat:{} ({})", command.user.name, command.user.id);
                for id in shown {
                    let entry = AuditEntry {
                        at: self.clock.now(),
                        actor: actor.clone(),
                        ticket: Some(id.to_string()),
                        what: "chat status".into(),
                    };
                    if let Err(e) = self.engine.audit(entry).await {
                        warn!(error = %e, "cannot record a chat status read in the audit");
                    }
                }
                self.answer(command.id, &command.token, Answer::Private(text))
                    .await;
            }
            (commands::DESK, sub) => {
                let answer = self.desk(&command, sub, args).await;
                self.answer(command.id, &command.token, answer).await;
            }
            _ => {}
        }
    }

    /// `/ticket status`: the requester's own tickets, never anyone else's;
    /// with the IDs shown.
    fn status(
        &mut self,
        user: UserId,
        wanted: Option<&str>,
        lang: Lang,
    ) -> (String, Vec<TicketId>) {
        let mut tickets = self.own_tickets(user);
        if let Some(wanted) = wanted {
            tickets.retain(|t| t.id.as_str().eq_ignore_ascii_case(wanted.trim()));
            if tickets.is_empty() {
                let text = match lang {
                    Lang::En => format!("You have no ticket {wanted}."),
                    Lang::ZhCn => format!("您没有编号为 {wanted} 的服务单。"),
                };
                return (text, Vec::new());
            }
        } else {
            // Open ones first, then the latest closed ones.
            tickets.sort_by_key(|t| (!t.status.is_open(), std::cmp::Reverse(t.created_at)));
            tickets.truncate(10);
        }
        if tickets.is_empty() {
            let text = match lang {
                Lang::En => "You have no tickets.".into(),
                Lang::ZhCn => "您还没有服务单。".into(),
            };
            return (text, Vec::new());
        }
        let eta = match lang {
            Lang::En => "ETA",
            Lang::ZhCn => "预计完成",
        };
        let text = tickets
            .iter()
            .map(|t| {
                format!(
                    "**{}** {} · {} · {} · {eta} {} — {}",
                    t.id,
                    t.status.label(lang),
                    t.problem_type.label(lang),
                    t.urgency.label(lang),
                    self.calendar.format_local(t.eta),
                    t.subject
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        (text, tickets.into_iter().map(|t| t.id).collect())
    }

    /// `/desk …` in a ticket's thread, by a technician.
    async fn desk(
        &self,
        command: &CommandInteraction,
        sub: &str,
        args: &[ResolvedOption<'_>],
    ) -> Answer {
        let member = command.member.as_deref();
        if !self.is_technician(member.map(|m| m.roles.as_slice())) {
            return Answer::Private(REFUSED.into());
        }
        let ticket = match self
            .engine
            .ticket_for_thread(&command.channel_id.to_string())
        {
            Ok(Some(ticket)) => ticket,
            Ok(None) => {
                return Answer::Private(
                    "Use /desk inside a ticket's thread. / 请在服务单的线程中使用 /desk。".into(),
                )
            }
            Err(e) => return Answer::Private(format!("The ticket index cannot be read: {e}")),
        };
        let by = member
            .map(|m| m.display_name().to_string())
            .unwrap_or_else(|| command.user.display_name().to_string());
        // Masked by the engine, as every surface's changes are.
        let text = |name: &str| string(args, name).unwrap_or_default().to_string();
        let change = match sub {
            "claim" => Change::Claim,
            "assign" => {
                let Some((user, member)) = args.iter().find_map(|o| match o.value {
                    ResolvedValue::User(u, m) => Some((u, m)),
                    _ => None,
                }) else {
                    return Answer::Private(
                        "Name the technician to assign. / 请指定处理人员。".into(),
                    );
                };
                Change::Assign {
                    to: member
                        .and_then(|m| m.nick.clone())
                        .unwrap_or_else(|| user.display_name().to_string()),
                }
            }
            "type" => {
                let Some(to) = string(args, "type").and_then(ProblemType::parse) else {
                    return Answer::Private("Unknown type.".into());
                };
                Change::Type { to }
            }
            "urgency" => {
                let Some(to) = string(args, "level").and_then(Urgency::parse) else {
                    return Answer::Private("Unknown urgency.".into());
                };
                Change::Urgency {
                    to,
                    reason: string(args, "reason").map(String::from),
                }
            }
            "step" => Change::Step { text: text("text") },
            "remark" => Change::Remark { text: text("text") },
            "escalate" => Change::Escalate {
                reason: text("reason"),
            },
            "resolve" => Change::Resolve { fix: text("fix") },
            "reopen" => Change::Reopen {
                reason: text("reason"),
            },
            _ => return Answer::Private(format!("Unknown /desk {sub}.")),
        };
        self.act(ticket, change, command.id, &by, sub).await
    }

    /// Applies a technician's action once; the answer says what happened.
    async fn act(
        &self,
        ticket: TicketId,
        change: Change,
        id: InteractionId,
        by: &str,
        what: &str,
    ) -> Answer {
        match self
            .engine
            .change(
                ticket.clone(),
                by.to_string(),
                change,
                Some(format!("discord-{id}")),
            )
            .await
        {
            Ok(Outcome::Applied(t)) => {
                info!(ticket = %ticket, action = what, by, "technician action from chat");
                Answer::Public(format!(
                    "{ticket}: {what} by {by} — {}",
                    t.status.label(Lang::En)
                ))
            }
            Ok(Outcome::Refused(refusal)) => {
                Answer::Private(format!("Nothing changed: {refusal}. / 未更改：{refusal}"))
            }
            Ok(Outcome::AlreadySeen) => Answer::Private("Already done.".into()),
            Err(e) => Answer::Private(format!("Not done: {e}")),
        }
    }

    async fn press(&mut self, press: ComponentInteraction) {
        let Some(custom) = CustomId::parse(&press.data.custom_id) else {
            return;
        };
        let user = press.user.id;
        match custom {
            CustomId::Rate { ticket, stars } => match self.requester_owns(&ticket, user) {
                Ok(()) => {
                    self.respond(
                        press.id,
                        &press.token,
                        CreateInteractionResponse::Modal(commands::remark_form(&ticket, stars)),
                    )
                    .await
                }
                Err(answer) => self.answer(press.id, &press.token, answer).await,
            },
            CustomId::Reject { ticket } => match self.requester_owns(&ticket, user) {
                Ok(()) => {
                    self.respond(
                        press.id,
                        &press.token,
                        CreateInteractionResponse::Modal(commands::reject_form(&ticket)),
                    )
                    .await
                }
                Err(answer) => self.answer(press.id, &press.token, answer).await,
            },
            CustomId::Claim { ticket } => {
                let answer =
                    if self.is_technician(press.member.as_ref().map(|m| m.roles.as_slice())) {
                        let by = press
                            .member
                            .as_ref()
                            .map(|m| m.display_name().to_string())
                            .unwrap_or_else(|| press.user.display_name().to_string());
                        self.act(ticket, Change::Claim, press.id, &by, "claim")
                            .await
                    } else {
                        Answer::Private(REFUSED.into())
                    };
                self.answer(press.id, &press.token, answer).await;
            }
            CustomId::Pick { message, ticket } => {
                let pending = match self.pending.remove(&message) {
                    Some(request) => Some(request),
                    None => self.reread(press.channel_id, message).await,
                };
                let Some(mut request) = pending else {
                    let text = "That message is no longer there; please send it again. / 找不到该消息，请重新发送。";
                    return self
                        .answer(press.id, &press.token, Answer::Private(text.into()))
                        .await;
                };
                if request.requester.chat_user.as_deref() != Some(user.to_string().as_str()) {
                    self.pending.insert(message, request);
                    return self
                        .answer(press.id, &press.token, Answer::Private(NOT_YOURS.into()))
                        .await;
                }
                request.ticket_tag = ticket;
                let text = match self.submit(request).await {
                    Some(IntakeOutcome::Updated(id)) => format!("Added to {id}. / 已补充到 {id}。"),
                    Some(IntakeOutcome::Created(id)) => {
                        format!("Opened {id}; details follow. / 已新建 {id}。")
                    }
                    Some(IntakeOutcome::Duplicate(id)) => {
                        format!("Already in {id}. / 已在 {id} 中。")
                    }
                    _ => "Done.".into(),
                };
                let update = CreateInteractionResponseMessage::new()
                    .content(text)
                    .components(Vec::new());
                self.respond(
                    press.id,
                    &press.token,
                    CreateInteractionResponse::UpdateMessage(update),
                )
                .await;
            }
            CustomId::NewTicket { .. }
            | CustomId::Remark { .. }
            | CustomId::RejectReason { .. } => {}
        }
    }

    /// Only the requester may answer for a ticket.
    fn requester_owns(&self, ticket: &TicketId, user: UserId) -> Result<(), Answer> {
        match self.engine.ticket(ticket) {
            Ok(Some(t)) if t.requester.chat_user.as_deref() == Some(user.to_string().as_str()) => {
                Ok(())
            }
            Ok(_) => Err(Answer::Private(NOT_YOURS.into())),
            Err(e) => Err(Answer::Private(format!("The ticket cannot be read: {e}"))),
        }
    }

    async fn form(&mut self, form: ModalInteraction) {
        let Some(custom) = CustomId::parse(&form.data.custom_id) else {
            return;
        };
        let field = |id: &str| {
            form.data
                .components
                .iter()
                .flat_map(|row| &row.components)
                .find_map(|c| match c {
                    ActionRowComponent::InputText(input) if input.custom_id == id => input
                        .value
                        .clone()
                        .map(|v| v.trim().to_string())
                        .filter(|v| !v.is_empty()),
                    _ => None,
                })
        };
        let user = form.user.id;
        let answer = match custom {
            CustomId::NewTicket {
                problem_type,
                urgency,
            } => {
                let description = field(commands::FIELD_DESCRIPTION).unwrap_or_default();
                let name = form
                    .member
                    .as_ref()
                    .map(|m| m.display_name().to_string())
                    .unwrap_or_else(|| form.user.display_name().to_string());
                let inbound = InboundMessage {
                    cc: Vec::new(),
                    auth: Default::default(),
                    channel: Channel::Chat,
                    message_id: format!("discord-{}", form.id),
                    references: Vec::new(),
                    from: Sender {
                        name: Some(name),
                        address: user.to_string(),
                    },
                    subject: subject_of(&description),
                    body: description,
                    attachments: Vec::new(),
                    received_at: self.clock.now(),
                    automated: None,
                    bounce: None,
                    warnings: Vec::new(),
                };
                let mut request = prepare(inbound, &self.rules, &self.directory);
                // The form's choices are the requester's own: they beat the keywords.
                request.problem_type = problem_type;
                request.urgency = urgency;
                if let Some(expected) = field(commands::FIELD_EXPECTED) {
                    request.expected_time = Some(redact::mask(&expected));
                }
                if let Some(contact) = field(commands::FIELD_CONTACT) {
                    request.requester.contact = Some(redact::mask(&contact));
                }
                match self.submit(request).await {
                    Some(IntakeOutcome::Created(id)) => Answer::Private(format!("Ticket {id} opened; the confirmation comes by DM. / 服务单 {id} 已提交，受理通知将私信发送。")),
                    Some(IntakeOutcome::Duplicate(id)) => Answer::Private(format!("Ticket {id} is already open.")),
                    _ => Answer::Private("The ticket could not be opened; please try again or write to the bot.".into()),
                }
            }
            CustomId::Remark { ticket, stars } => {
                let remark = field(commands::FIELD_REMARK).map(|r| redact::mask(&r));
                let stars_text = format!(
                    "{}{}",
                    "★".repeat(usize::from(stars)),
                    "☆".repeat(5 - usize::from(stars))
                );
                let text = remark
                    .as_ref()
                    .map_or(stars_text.clone(), |r| format!("{stars_text} {r}"));
                let intent = ReplyIntent::Confirm {
                    stars: Some(stars),
                    remark,
                };
                self.requester_reply(
                    ticket,
                    intent,
                    text,
                    form.id,
                    user,
                    &format!("Thank you — {stars_text} recorded. / 感谢评价：{stars_text}"),
                )
                .await
            }
            CustomId::RejectReason { ticket } => {
                let remark = field(commands::FIELD_REMARK).map(|r| redact::mask(&r));
                let text = remark
                    .clone()
                    .unwrap_or_else(|| "still broken / 还是不行".into());
                let intent = ReplyIntent::Reject { remark };
                self.requester_reply(
                    ticket,
                    intent,
                    text,
                    form.id,
                    user,
                    "Reopened; the technicians are told. / 已重新打开，技术人员会跟进。",
                )
                .await
            }
            CustomId::Rate { .. }
            | CustomId::Reject { .. }
            | CustomId::Claim { .. }
            | CustomId::Pick { .. } => return,
        };
        self.answer(form.id, &form.token, answer).await;
    }

    async fn requester_reply(
        &self,
        ticket: TicketId,
        intent: ReplyIntent,
        text: String,
        id: InteractionId,
        user: UserId,
        done: &str,
    ) -> Answer {
        if let Err(answer) = self.requester_owns(&ticket, user) {
            return answer;
        }
        match self
            .engine
            .act_once(
                ticket.clone(),
                Action::RequesterReply { intent, text },
                format!("discord-{id}"),
            )
            .await
        {
            Ok(Outcome::Applied(_)) => {
                info!(ticket = %ticket, "requester answered the confirmation in chat");
                Answer::Private(done.to_string())
            }
            Ok(Outcome::Refused(refusal)) => {
                Answer::Private(format!("Nothing changed: {refusal}. / 未更改：{refusal}"))
            }
            Ok(Outcome::AlreadySeen) => Answer::Private("Already recorded.".into()),
            Err(e) => Answer::Private(format!("Not recorded: {e}")),
        }
    }
}

/// Logs what became of a chat message; the outcome, if the engine answered.
fn logged(message_id: &str, outcome: Result<IntakeOutcome, String>) -> Option<IntakeOutcome> {
    match outcome {
        Ok(outcome) => {
            match &outcome {
                IntakeOutcome::Created(id) => {
                    info!(ticket = %id, %message_id, "chat request opened a ticket")
                }
                IntakeOutcome::Updated(id) => {
                    info!(ticket = %id, %message_id, "chat message added to a ticket")
                }
                IntakeOutcome::Duplicate(id) => {
                    debug!(ticket = %id, %message_id, "chat message seen before")
                }
                other => warn!(%message_id, outcome = ?other, "chat message not taken"),
            }
            Some(outcome)
        }
        Err(e) => {
            error!(%message_id, error = %e, "chat message not processed");
            None
        }
    }
}

const REFUSED: &str = "Only members of the technician role can work tickets; nothing was changed. / 只有技术人员角色的成员可以处理服务单，未做任何更改。";
const NOT_YOURS: &str = "This is not your ticket. / 这不是您的服务单。";

fn string<'a>(args: &'a [ResolvedOption<'a>], name: &str) -> Option<&'a str> {
    args.iter()
        .find(|o| o.name == name)
        .and_then(|o| match o.value {
            ResolvedValue::String(s) => Some(s),
            _ => None,
        })
}

fn lang_of(locale: &str) -> Lang {
    if locale.starts_with("zh") {
        Lang::ZhCn
    } else {
        Lang::En
    }
}

/// The text without mentions of the bot (`<@ID>` / `<@!ID>`).
fn strip_mentions(content: &str, bot: Option<UserId>) -> String {
    match bot {
        Some(bot) => content
            .replace(&format!("<@{bot}>"), "")
            .replace(&format!("<@!{bot}>"), "")
            .trim()
            .to_string(),
        None => content.trim().to_string(),
    }
}

/// The first non-empty line, cut short.
fn subject_of(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let mut subject: String = line.chars().take(SUBJECT_CHARS).collect();
    if line.chars().count() > SUBJECT_CHARS {
        subject.push('…');
    }
    subject
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_text_helpers() {
        let bot = Some(UserId::new(42));
        assert_eq!(strip_mentions("<@42> 打印机卡纸", bot), "打印机卡纸");
        assert_eq!(strip_mentions("help <@!42>", bot), "help");
        assert_eq!(strip_mentions("<@7> hi", bot), "<@7> hi");
        assert_eq!(subject_of("\n  VPN 连不上  \n详细情况"), "VPN 连不上");
        assert_eq!(
            subject_of(&"x".repeat(100)).chars().count(),
            SUBJECT_CHARS + 1
        );
        assert_eq!(lang_of("zh-CN"), Lang::ZhCn);
        assert_eq!(lang_of("en-US"), Lang::En);
    }
}
