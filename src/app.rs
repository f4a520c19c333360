//! Wiring: builds every part from the config, spawns each task in one place, and
//! owns the order of shutdown — stop intake, let the engine drain, let the outbox
//! finish what is in flight, flush, exit — under a deadline.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::channels::chat::IntakeDeps;
use crate::channels::discord::Discord;
use crate::channels::feishu::{self, FeishuApp};
use crate::channels::imap::sent::SentCopies;
use crate::channels::imap::ImapIntake;
use crate::channels::smtp::{SmtpChannel, SmtpSetupError};
use crate::clock::{Clock, SystemClock};
use crate::config::ImapAuth;
use crate::config::{resolve_secret, Config, ConfigError};
use crate::control::{server, ControlContext, ControlError};
use crate::engine::{Engine, EngineHandle, Routing};
use crate::health::Health;
use crate::intake::directory::{Directory, DirectoryError};
use crate::intake::email::EmailLimits;
use crate::ops::{self, http::HttpError};
use crate::outbox::live::{self, LiveNotices, NoticeSettings};
use crate::outbox::render::RenderError;
use crate::outbox::transport::Transports;
use crate::outbox::{Dispatcher, DispatcherParts};
use crate::shutdown::Shutdown;
use crate::store::{Store, StoreError};

/// How long shutdown may take before in-flight work is abandoned (it stays
/// queued and is redone at the next start).
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Templates(#[from] RenderError),
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Smtp(#[from] SmtpSetupError),
    #[error(transparent)]
    Metrics(#[from] HttpError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error("rewriting the store after an erasure failed: {0} — the erased data is still in the store's files; fix the cause and start again")]
    Rewrite(#[from] crate::store::BackupError),
}

/// The store with an engine running on it: what both the daemon and the
/// stopped-daemon CLI need.
pub struct Core {
    pub store: Store,
    pub engine: EngineHandle,
    pub engine_task: tokio::task::JoinHandle<()>,
    pub outbox_wake: Arc<Notify>,
    pub control: Arc<ControlContext>,
    /// What the daemon reports about itself (metrics, health, alerts).
    pub health: Health,
}

impl Core {
    pub fn start(config: &Config, clock: Arc<dyn Clock>) -> Result<Core, AppError> {
        let path = &config.store.path;
        let mut store = Store::open_checked(path, config.store.cache_mb << 20)?;
        // An erasure made while the daemon held the store: its data leaves
        // the disk now, before anything else opens it.
        if store.rewrite_pending()? {
            drop(store);
            let summary = crate::store::rewrite(path, clock.now())?;
            info!(
                records = summary.records,
                "store rewritten after an erasure: erased data is gone from its files"
            );
            store = Store::open_with_cache(path, config.store.cache_mb << 20)?;
        }
        let outbox_wake = Arc::new(Notify::new());
        let health = Health::new();
        let (engine, engine_task) = Engine::new(
            store.clone(),
            config,
            clock.clone(),
            outbox_wake.clone(),
            health.clone(),
        )
        .spawn();
        let directory = match &config.intake.directory_file {
            Some(path) => Directory::load(path)?,
            None => Directory::default(),
        };
        let control = Arc::new(ControlContext {
            engine: engine.clone(),
            store: store.clone(),
            routing: Arc::new(Routing::from_config(config)),
            rules: config.classify.clone(),
            directory: Arc::new(directory),
            clock,
            message_id_domain: config.helpdesk.message_id_domain.clone(),
            limits: email_limits(config),
            imap: config.imap.clone(),
            sent_mailbox: config.smtp.as_ref().and_then(|s| s.save_sent.clone()),
        });
        Ok(Core {
            store,
            engine,
            engine_task,
            outbox_wake,
            control,
            health,
        })
    }

    /// Drops every way in, waits for the engine to finish what it was sent, flushes.
    pub async fn stop(self) -> Result<(), AppError> {
        let Core {
            store,
            engine,
            engine_task,
            control,
            ..
        } = self;
        drop(engine);
        drop(control);
        if tokio::time::timeout(DRAIN_DEADLINE, engine_task)
            .await
            .is_err()
        {
            warn!("engine did not drain within {DRAIN_DEADLINE:?}; unfinished commands will be redone at next start");
        }
        store.flush().await?;
        let path = store.path().to_path_buf();
        drop(store);
        // Lets the next start skip the full check if nothing touches the files.
        match tokio::task::spawn_blocking(move || crate::store::record_clean_stop(&path)).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                info!("the store was still open at the end: the next start checks it in full")
            }
            Ok(Err(e)) => {
                warn!(error = %e, "a clean stop could not be recorded: the next start checks the store in full")
            }
            Err(e) => warn!(error = %e, "recording a clean stop did not finish"),
        }
        Ok(())
    }
}

/// Runs the daemon until `shutdown` fires.
pub async fn run(config: Config, shutdown: Shutdown) -> Result<(), AppError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let notices = LiveNotices::new(load_templates(&config)?);
    let imap_password = match &config.imap {
        Some(imap) if imap.auth == ImapAuth::Login => Some(resolve_secret(
            "imap",
            &imap.password_file,
            &imap.password_env,
        )?),
        _ => None,
    };
    let mut transports = Transports::default();
    if let Some(smtp) = &config.smtp {
        let password = match &smtp.username {
            Some(_) => Some(resolve_secret(
                "smtp",
                &smtp.password_file,
                &smtp.password_env,
            )?),
            None => None,
        };
        // Config::validate made sure save_sent comes with an [imap] account.
        let sent_copies = smtp
            .save_sent
            .clone()
            .zip(config.imap.clone())
            .map(|(mailbox, imap)| SentCopies::new(imap, imap_password.clone(), mailbox));
        transports.email = Some(Arc::new(SmtpChannel::new(smtp, password, sent_copies)?));
    }
    let core = Core::start(&config, clock.clone())?;
    if transports.email.is_some() {
        core.health.track_smtp();
    }

    // Every task of the daemon, in the order they stop: what takes work in
    // (mail, chat, the CLI, the ops endpoints), then the outbox; the engine
    // (started in `Core`) drains last.
    let mut intake_tasks = JoinSet::new();
    if let Some(imap) = &config.imap {
        let intake = ImapIntake {
            config: imap.clone(),
            password: imap_password,
            engine: core.engine.clone(),
            limits: email_limits(&config),
            max_message_bytes: mb(config.intake.max_message_mb),
            rules: config.classify.clone(),
            directory: core.control.directory.clone(),
            clock: clock.clone(),
            health: core.health.clone(),
        };
        core.health.track_imap();
        intake_tasks.spawn(intake.run(shutdown.clone()));
    }

    // The chat bot: events in from the gateway, notices out through the outbox.
    if let Some(discord) = Discord::from_config(&config, core.health.clone())? {
        transports.chat = Some(discord.transport(core.engine.clone(), clock.clone()));
        let deps = IntakeDeps {
            engine: core.engine.clone(),
            directory: core.control.directory.clone(),
            clock: clock.clone(),
        };
        intake_tasks.spawn(discord.intake(&config, deps).run(shutdown.clone()));
    }
    if let Some(feishu) = FeishuApp::from_config(&config, core.health.clone())? {
        let feishu = Arc::new(feishu);
        transports.chat = Some(feishu::transport(
            &feishu,
            &config,
            core.engine.clone(),
            clock.clone(),
        ));
        let deps = IntakeDeps {
            engine: core.engine.clone(),
            directory: core.control.directory.clone(),
            clock: clock.clone(),
        };
        intake_tasks.spawn(feishu::intake(&feishu, &config, deps).run(shutdown.clone()));
    }

    let socket = config.control_socket();
    let staff_group = config.control.group.clone();
    let listener = server::bind(&socket, staff_group.as_deref())?;
    intake_tasks.spawn(server::serve(
        listener,
        socket.clone(),
        core.control.clone(),
        staff_group,
        shutdown.clone(),
    ));

    ops::spawn(
        &mut intake_tasks,
        &config,
        &core.store,
        &core.engine,
        &core.health,
        clock.clone(),
        &shutdown,
    )
    .await?;

    // Before the dispatcher starts, so a digest that fell due while the daemon
    // was down is sent now, once.
    crate::outbox::digest::arm(&core.store, config.settings.digest.as_ref(), clock.now())?;
    core.engine.arm_retention().await?;
    let dispatcher = Dispatcher::new(
        &config,
        DispatcherParts {
            store: core.store.clone(),
            engine: core.engine.clone(),
            notices: notices.clone(),
            transports,
            clock,
            wake: core.outbox_wake.clone(),
            health: core.health.clone(),
        },
    );
    let mut outbox = JoinSet::new();
    outbox.spawn(dispatcher.run(shutdown.clone()));
    intake_tasks.spawn(live::reload_on_hangup(
        notices,
        config.source.clone(),
        shutdown.clone(),
    ));
    info!(store = %config.store.path.display(), control = %socket.display(), "itdesk running");

    let mut stop = shutdown.clone();
    stop.wait().await;
    info!("shutting down: stopping intake, draining the engine and the outbox");
    while intake_tasks.join_next().await.is_some() {}
    let drained = tokio::time::timeout(DRAIN_DEADLINE, async {
        while outbox.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!("outbox did not finish within {DRAIN_DEADLINE:?}; unsent notices stay queued");
        outbox.shutdown().await;
    }
    core.stop().await?;
    info!("stopped cleanly");
    Ok(())
}

/// The notice templates as `run` (and a SIGHUP reload) loads them, rendered
/// against the sample tickets; `check-config` loads them the same way.
pub fn load_templates(config: &Config) -> Result<NoticeSettings, RenderError> {
    NoticeSettings::load(config)
}

pub fn email_limits(config: &Config) -> EmailLimits {
    EmailLimits {
        max_attachment_bytes: mb(config.intake.max_attachment_mb),
        max_total_bytes: mb(config.intake.max_message_mb),
        own_message_id_domain: config.helpdesk.message_id_domain.clone(),
        trusted_authserv_id: config.intake.authserv_id.clone(),
        attachment_deny: config.intake.attachment_deny.clone(),
        max_description_bytes: config.intake.max_description_kb * 1024,
        max_subject_chars: config.intake.max_subject_chars,
    }
}

fn mb(megabytes: f64) -> u64 {
    (megabytes * 1024.0 * 1024.0) as u64
}
