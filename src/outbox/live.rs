//! What notices are made of and may change while the daemon runs: the
//! templates (`[outbox] templates_dir` and the files in it, `report.html`
//! among them), the helpdesk's
//! name and address as notices show them, `[on_duty] phone`, the group
//! labels. SIGHUP reads the config file again and swaps them in — only after
//! the new set passed the same check as `check-config`.
//!
//! Invariant: a reload that fails anywhere (the config, a template) changes
//! nothing; the notices keep the set in use and the log says why.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tracing::{info, warn};

use super::render::{HelpdeskInfo, RenderError, Renderer};
use crate::config::Config;
use crate::core::ticket::Lang;
use crate::shutdown::Shutdown;
use crate::stats::aggregate::Aggregator;
use crate::stats::html;
use crate::stats::period::Period;

/// One consistent set: a notice is rendered from one set, never half of two.
#[derive(Debug)]
pub struct NoticeSettings {
    pub renderer: Renderer,
    /// The HTML report's template: `report.html` in the override dir, else the built-in.
    pub report_template: String,
    pub helpdesk: HelpdeskInfo,
    /// Group name → the label requesters see ("软件组").
    pub group_labels: HashMap<String, String>,
}

impl NoticeSettings {
    /// Loads and checks the templates (`Renderer::new`), as `check-config` does.
    pub fn load(config: &Config) -> Result<NoticeSettings, RenderError> {
        Ok(NoticeSettings {
            renderer: Renderer::new(config.outbox.templates_dir.as_deref())?,
            report_template: report_template(config)?,
            helpdesk: HelpdeskInfo {
                name: config.helpdesk.name.clone(),
                address: config.helpdesk.address.clone(),
                on_duty_phone: config.on_duty.phone.clone(),
            },
            group_labels: config.settings.group_labels.clone(),
        })
    }
}

/// `report.html` from the override dir, checked by rendering an empty report
/// in both languages; the built-in one if there is none.
fn report_template(config: &Config) -> Result<String, RenderError> {
    let Some(path) = config
        .outbox
        .templates_dir
        .as_deref()
        .map(|dir| dir.join("report.html"))
    else {
        return Ok(html::TEMPLATE.to_string());
    };
    let source = match std::fs::read_to_string(&path) {
        Ok(source) => source,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(html::TEMPLATE.into()),
        Err(error) => return Err(RenderError::OverrideFile { path, error }),
    };
    let basis = &config.settings.basis;
    let today = chrono::Utc::now().with_timezone(&basis.tz).date_naive();
    for lang in [Lang::En, Lang::ZhCn] {
        let query = basis.query(Period::new(today, today, basis.tz), None, lang);
        let report = Aggregator::new(query).finish();
        let page = html::Page {
            helpdesk: config.helpdesk.name.clone(),
            title: "report".into(),
            lang,
            group_labels: config.settings.group_labels.clone(),
        };
        html::render_with(&report, &page, &source).map_err(|error| RenderError::Check {
            file: path.display().to_string(),
            line: error.line(),
            reason: match error.detail() {
                Some(detail) => format!("{}: {detail}", error.kind()),
                None => error.kind().to_string(),
            },
        })?;
    }
    Ok(source)
}

/// The set in use, shared by the dispatcher and the reload task.
#[derive(Debug, Clone)]
pub struct LiveNotices(Arc<RwLock<Arc<NoticeSettings>>>);

impl LiveNotices {
    pub fn new(settings: NoticeSettings) -> LiveNotices {
        LiveNotices(Arc::new(RwLock::new(Arc::new(settings))))
    }

    pub fn current(&self) -> Arc<NoticeSettings> {
        // Only a whole Arc is ever stored: consistent after any panic.
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn replace(&self, settings: NoticeSettings) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(settings);
    }

    /// Reads `config_path` again and swaps in its notice settings if they pass.
    pub fn reload(&self, config_path: &std::path::Path) -> Result<(), String> {
        let config = Config::load(config_path).map_err(|e| e.to_string())?;
        let settings = NoticeSettings::load(&config).map_err(|e| e.to_string())?;
        self.replace(settings);
        Ok(())
    }
}

/// Reloads on every SIGHUP until shutdown.
pub async fn reload_on_hangup(live: LiveNotices, config_path: PathBuf, mut shutdown: Shutdown) {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "cannot listen for SIGHUP: templates reload only at restart");
            return;
        }
    };
    loop {
        tokio::select! {
            _ = hangups.recv() => {}
            _ = shutdown.wait() => return,
        }
        let path = config_path.clone();
        let live = live.clone();
        // Reading files and rendering ~1,500 samples: off the async threads.
        let result = tokio::task::spawn_blocking(move || live.reload(&path)).await;
        match result {
            Ok(Ok(())) => {
                info!(config = %config_path.display(), "SIGHUP: templates and notice settings reloaded")
            }
            Ok(Err(reason)) => {
                warn!(config = %config_path.display(), "SIGHUP: reload refused, the templates in use stay: {reason}")
            }
            Err(e) => {
                warn!(error = %e, "SIGHUP: the reload did not finish; the templates in use stay")
            }
        }
    }
}
