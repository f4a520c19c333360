//! `itdesk faq`: the self-service FAQ candidates — per recurring problem, the
//! fixes requesters confirmed worked — for staff to review into guides.

use clap::Args;
use serde_json::Value;

use super::{json_text, request};
use crate::config::Config;
use crate::control::ControlRequest;
use crate::core::ticket::{Lang, Ticket};
use crate::stats::faq;
use crate::stats::period::PeriodSpec;

#[derive(Args)]
pub(super) struct FaqArgs {
    /// Only tickets resolved in this period: week, month or FROM..TO; all when absent.
    #[arg(long, value_parser = PeriodSpec::parse)]
    period: Option<PeriodSpec>,
    /// Labels in "en" or "zh-CN" (default [helpdesk] default_language).
    #[arg(long, value_parser = |s: &str| Lang::parse(s).ok_or("use en or zh-CN"))]
    lang: Option<Lang>,
    #[arg(long, conflicts_with = "json")]
    markdown: bool,
    #[arg(long)]
    json: bool,
}

pub(super) async fn faq(config: &Config, args: FaqArgs) -> anyhow::Result<()> {
    let Value::Array(all) = request(config, ControlRequest::Export).await? else {
        anyhow::bail!("unexpected answer to export")
    };
    let tickets: Vec<Ticket> = all
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<_, _>>()?;
    let lang = args.lang.unwrap_or_else(|| config.default_lang());
    let tz = config.settings.basis.tz;
    let period = args.period.map(|p| p.resolve(chrono::Utc::now(), tz));
    let entries = faq::entries(&tickets, period.as_ref(), lang);
    if args.json {
        println!("{}", json_text(&entries)?);
    } else if args.markdown {
        print!("{}", faq::markdown(&entries, lang));
    } else {
        for e in &entries {
            let label = crate::intake::inert::one_line(&e.label);
            println!("{label}  [{}]  {} tickets", e.cluster, e.tickets);
            for f in &e.fixes {
                println!(
                    "    {} ×{}",
                    crate::intake::inert::one_line(&f.text),
                    f.tickets
                );
            }
        }
    }
    Ok(())
}
