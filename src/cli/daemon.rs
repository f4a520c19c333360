//! `itdesk run` (the daemon) and `itdesk check-config` (what `run` would
//! refuse at start, found first — the unit runs it as `ExecStartPre`).

use clap::Args;
use serde_json::json;

use super::Ctx;
use crate::app;

#[derive(Args)]
pub struct RunCmd {}

impl RunCmd {
    pub async fn execute(self, ctx: Ctx) -> anyhow::Result<()> {
        let (trigger, shutdown) = crate::shutdown::channel();
        let run = app::run(ctx.config, shutdown);
        tokio::pin!(run);
        // A signal starts the shutdown; the daemon then finishes it.
        tokio::select! {
            result = &mut run => result?,
            () = wait_for_signal() => {
                trigger.trigger();
                run.await?;
            }
        }
        Ok(())
    }
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[derive(Args)]
pub struct CheckConfigCmd {}

impl CheckConfigCmd {
    pub fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        let config = &ctx.config;
        config.check_secrets()?;
        // What `run` loads at start: a broken override fails here first (a
        // config failure, as in `run`).
        app::load_templates(config).map_err(app::AppError::from)?;
        let warnings = config.exposed_secrets();
        let channels: Vec<&str> = [
            config.imap.as_ref().map(|_| "imap"),
            config.smtp.as_ref().map(|_| "smtp"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let summary = json!({
            "config": ctx.config_path,
            "ok": true,
            "store": config.store.path,
            "channels": channels,
            "warnings": warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        });
        ctx.emit(&summary, |_| {
            for warning in &warnings {
                eprintln!("warning: {warning}");
            }
            println!(
                "{}: ok (store {}, channels: {})",
                ctx.config_path.display(),
                config.store.path.display(),
                if channels.is_empty() {
                    "none".into()
                } else {
                    channels.join(", ")
                }
            );
        })
    }
}
