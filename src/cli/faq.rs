//! `itdesk faq`: the self-service FAQ candidates — per recurring problem, the
//! fixes requesters confirmed worked — for staff to review into guides.

use clap::Args;
use serde_json::Value;

use super::session::{Flow, Session};
use super::{parse_lang, Ctx};
use crate::control::ControlRequest;
use crate::core::ticket::{Lang, Ticket};
use crate::stats::faq;
use crate::stats::period::PeriodSpec;

#[derive(Args)]
pub struct FaqCmd {
    /// Only tickets resolved in this period: week, month or FROM..TO; all when absent.
    #[arg(long, value_parser = PeriodSpec::parse)]
    period: Option<PeriodSpec>,
    /// Labels in "en" or "zh-CN" (default [helpdesk].default_language).
    #[arg(long, value_parser = parse_lang)]
    lang: Option<Lang>,
    /// A Markdown page to edit into a guide.
    #[arg(long)]
    markdown: bool,
}

impl FaqCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        let mut tickets: Vec<Ticket> = Vec::new();
        let mut session = Session::open(&ctx.config).await?;
        let read = session
            .pages(
                |after| ControlRequest::Export { after, limit: None },
                |value: Value| {
                    tickets.push(serde_json::from_value(value)?);
                    Ok(Flow::More)
                },
            )
            .await;
        session.close().await?;
        read?;
        let lang = self.lang.unwrap_or_else(|| ctx.config.default_lang());
        let tz = ctx.config.settings.basis.tz;
        let period = self.period.map(|p| p.resolve(chrono::Utc::now(), tz));
        let entries = faq::entries(&tickets, period.as_ref(), lang);
        let markdown = self.markdown;
        ctx.emit(&entries, |entries| {
            let text = if markdown {
                faq::markdown(entries, lang)
            } else {
                entries
                    .iter()
                    .map(|e| {
                        let fixes: String = e
                            .fixes
                            .iter()
                            .map(|f| format!("    {} ×{}\n", f.text.replace('\n', " "), f.tickets))
                            .collect();
                        format!("{}  [{}]  {}\n{fixes}", e.label, e.cluster, e.tickets)
                    })
                    .collect()
            };
            print!("{}", crate::intake::inert::for_terminal(&text));
        })
    }
}
