//! `itdesk faq`: the self-service FAQ candidates — per recurring problem, the
//! fixes requesters confirmed worked — for staff to review into guides; and
//! the review itself: `approve`, `approved`, `revoke`.

use clap::{Args, Subcommand};
use serde_json::Value;

use super::session::{request, Flow, Session};
use super::{parse_lang, Ctx};
use crate::control::ControlRequest;
use crate::core::ticket::{Lang, Ticket};
use crate::stats::faq;
use crate::stats::faq_known::Approved;
use crate::stats::period::PeriodSpec;

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FaqCmd {
    #[command(subcommand)]
    review: Option<Review>,
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

#[derive(Subcommand)]
enum Review {
    /// Offer a cluster's fix to new requests that match it ("try this first").
    Approve {
        /// The cluster's keywords joined by `+`, as `itdesk faq` shows them.
        cluster: String,
        /// The text shown to requesters (default: the fix confirmed most often).
        #[arg(long)]
        fix: Option<String>,
    },
    /// The approved entries.
    Approved,
    /// Stop offering a cluster's fix.
    Revoke {
        /// The approved cluster, as `itdesk faq approved` shows it.
        cluster: String,
    },
}

impl Review {
    async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        match self {
            Review::Approve { cluster, fix } => {
                let req = ControlRequest::FaqApprove { cluster, fix };
                let entry: Approved = serde_json::from_value(request(&ctx.config, req).await?)?;
                ctx.emit(&entry, |e| print!("{}", line(e)))
            }
            Review::Approved => {
                let answer = request(&ctx.config, ControlRequest::FaqApproved).await?;
                let entries: Vec<Approved> = serde_json::from_value(answer)?;
                ctx.emit(&entries, |entries| {
                    let text: String = entries.iter().map(line).collect();
                    print!("{text}");
                })
            }
            Review::Revoke { cluster } => {
                request(
                    &ctx.config,
                    ControlRequest::FaqRevoke {
                        cluster: cluster.clone(),
                    },
                )
                .await?;
                ctx.emit(&cluster, |c| {
                    println!("revoked {}", crate::intake::inert::for_terminal(c))
                })
            }
        }
    }
}

fn line(e: &Approved) -> String {
    crate::intake::inert::for_terminal(&format!(
        "[{}]  {}  ({}, {})\n",
        e.cluster,
        e.fix.replace('\n', " "),
        e.by,
        e.at.format("%Y-%m-%d")
    ))
}

impl FaqCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        if let Some(review) = self.review {
            return review.execute(ctx).await;
        }
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
