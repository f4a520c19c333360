//! `itdesk stats` (a period's statistics as text or JSON) and `itdesk report`
//! (the same as an HTML page with charts).

use std::path::PathBuf;

use chrono::Utc;
use clap::Args;
use serde_json::json;

use super::output::write_private;
use super::session::request;
use super::{fail, parse_lang, Ctx};
use crate::config::Config;
use crate::control::{ControlRequest, ErrorCode};
use crate::core::ticket::{Lang, ProblemType};
use crate::stats::aggregate::Report;
use crate::stats::period::PeriodSpec;
use crate::stats::{format::words, html, text};

/// The period, group and language of a statistics command.
#[derive(Args)]
struct StatsArgs {
    /// "week" (last full ISO week), "month" (last full month) or FROM..TO,
    /// e.g. 2023-10-01..2023-10-31, in the [calendar] time zone.
    #[arg(long, default_value = "week", value_parser = PeriodSpec::parse)]
    period: PeriodSpec,
    /// Only this technician group's tickets (a group the config names).
    #[arg(long)]
    group: Option<String>,
    /// Language of labels, "en" or "zh-CN" (default [helpdesk].default_language).
    #[arg(long, value_parser = parse_lang)]
    lang: Option<Lang>,
}

#[derive(Args)]
pub struct StatsCmd {
    #[command(flatten)]
    what: StatsArgs,
    /// Rewrite every ticket's statistics record first (a store made before
    /// they existed is rebuilt on its own the first time).
    #[arg(long)]
    rebuild: bool,
}

#[derive(Args)]
pub struct ReportCmd {
    #[command(flatten)]
    what: StatsArgs,
    /// Where to write the page (mode 0600).
    #[arg(long, value_name = "FILE")]
    html: PathBuf,
}

impl StatsCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        let lang = self.what.lang.unwrap_or_else(|| ctx.config.default_lang());
        let report = stats_report(&ctx.config, &self.what, lang, self.rebuild).await?;
        ctx.emit(&report, |report| print!("{}", text::render(report, lang)))
    }
}

impl ReportCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        let config = &ctx.config;
        let lang = self.what.lang.unwrap_or_else(|| config.default_lang());
        let report = stats_report(config, &self.what, lang, false).await?;
        let w = words(lang);
        let title = match self.what.period {
            PeriodSpec::Week => w.weekly,
            PeriodSpec::Month => w.monthly,
            PeriodSpec::Range { .. } => w.report,
        };
        let page = html::Page {
            helpdesk: config.helpdesk.name.clone(),
            title: title.into(),
            lang,
            group_labels: config.settings.group_labels.clone(),
        };
        let template = crate::app::load_templates(&ctx.config)?.report_template;
        write_private(
            &self.html,
            html::render_with(&report, &page, &template)?.as_bytes(),
        )?;
        let summary = json!({
            "from": report.period.from,
            "to": report.period.to,
            "file": self.html,
        });
        ctx.emit(&summary, |_| {
            eprintln!(
                "report {} – {} written to {}",
                report.period.from,
                report.period.to,
                self.html.display()
            )
        })
    }
}

async fn stats_report(
    config: &Config,
    what: &StatsArgs,
    lang: Lang,
    rebuild: bool,
) -> anyhow::Result<Report> {
    if let Some(group) = &what.group {
        let known = known_groups(config);
        if !known.contains(group) {
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(fail(
                ErrorCode::NotFound,
                format!("no group {group:?}: the config names {}", known.join(", ")),
            ));
        }
    }
    let basis = config.settings.basis.clone();
    let period = what.period.resolve(Utc::now(), basis.tz);
    let query = basis.query(period, what.group.clone(), lang);
    let answer = request(config, ControlRequest::Stats { query, rebuild }).await?;
    Ok(serde_json::from_value(answer)?)
}

/// The groups tickets can be in: every `[groups.*]` and every `[routing]` target.
fn known_groups(config: &Config) -> std::collections::BTreeSet<String> {
    let routed = ProblemType::ALL
        .iter()
        .map(|t| config.routing.group_for(*t).to_string());
    config.groups.keys().cloned().chain(routed).collect()
}
