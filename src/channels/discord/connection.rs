//! The Discord gateway connection: serenity connects, resumes or re-identifies
//! by itself; its events become the seam's and go to the seam's task, which
//! orders and handles them (`channels::chat`).
//!
//! Invariant: a new session (READY) is reported only after the application id
//! is known, so that commands can be registered and interactions answered.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serenity::all::{
    ClientBuilder, Context, EventHandler, GatewayIntents, Interaction, Message, Ready,
    ShardStageUpdateEvent,
};
use serenity::gateway::ConnectionStage;
use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::DiscordApp;
use crate::channels::chat::Event;
use crate::health::GatewayState;
use crate::shutdown::Shutdown;

/// Retry pause while the gateway URL or the bot's user cannot be fetched.
const GATEWAY_RETRY: Duration = Duration::from_secs(10);

/// Serenity calls this from a task per event; it only converts and queues.
struct Handler {
    app: Arc<DiscordApp>,
    tx: mpsc::UnboundedSender<Event>,
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, _ctx: Context, ready: Ready) {
        self.app.http.set_application_id(ready.application.id);
        info!(bot = %ready.user.name, "Discord gateway session ready");
        let _ = self.tx.send(Event::Session);
    }

    async fn message(&self, _ctx: Context, message: Message) {
        let message = self.app.message(&message, true);
        let _ = self.tx.send(Event::Message(Box::new(message)));
    }

    async fn interaction_create(&self, _ctx: Context, interaction: Interaction) {
        if let Some(interaction) = self.app.interaction(&interaction) {
            let _ = self.tx.send(Event::Interaction(Box::new(interaction)));
        }
    }

    async fn shard_stage_update(&self, _ctx: Context, update: ShardStageUpdateEvent) {
        self.app.health.set_gateway(match update.new {
            ConnectionStage::Connected => GatewayState::Connected,
            ConnectionStage::Disconnected => GatewayState::Disconnected,
            _ => GatewayState::Connecting,
        });
    }
}

impl DiscordApp {
    /// Runs until shutdown. The gateway URL and the bot's own user are read
    /// first: serenity falls back to the real Discord when the URL cannot be
    /// fetched (with an api_base that is the wrong server), and a mention of
    /// the bot must be recognisable from the first message on.
    pub(super) async fn connect(
        self: Arc<Self>,
        tx: mpsc::UnboundedSender<Event>,
        mut shutdown: Shutdown,
    ) {
        self.health.set_gateway(GatewayState::Connecting);
        loop {
            match (
                self.http.get_gateway().await,
                self.http.get_current_user().await,
            ) {
                (Ok(gateway), Ok(me)) => {
                    debug!(url = %gateway.url, "Discord gateway URL");
                    let _ = self.bot.set(me.id);
                    break;
                }
                (Err(e), _) | (_, Err(e)) => {
                    warn!(error = %e, retry_in = ?GATEWAY_RETRY, "cannot reach Discord — check the network, [discord] api_base and the token")
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
        let handler = Handler {
            app: self.clone(),
            tx,
        };
        let mut client = match ClientBuilder::new_with_http(self.new_http(), intents)
            .event_handler(handler)
            .await
        {
            Ok(client) => client,
            Err(e) => {
                error!(error = %e, "cannot start the Discord client; chat intake is off");
                return;
            }
        };
        let shards = client.shard_manager.clone();
        tokio::select! {
            result = client.start() => match result {
                Ok(()) => info!("Discord gateway closed"),
                Err(e) => error!(error = %e, "Discord gateway stopped; chat intake is off — check [discord] token_file/token_env and the bot's intents (DIRECT_MESSAGES, GUILD_MESSAGES, MESSAGE_CONTENT)"),
            },
            _ = shutdown.wait() => shards.shutdown_all().await,
        }
        self.health.set_gateway(GatewayState::Disconnected);
    }
}
