//! `itdesk templates`: see a notice as it would go out (`preview`, from the
//! sample ticket or a real one), and write the built-in templates out as a
//! starting point for `[outbox] templates_dir` (`export`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::json;

use super::session::request;
use super::{fail, parse_id, parse_lang, Ctx};
use crate::app;
use crate::config::Config;
use crate::control::{ControlRequest, ErrorCode};
use crate::core::effect::NoticeKind;
use crate::core::id::TicketId;
use crate::core::ticket::{Lang, Ticket};
use crate::outbox::render::samples::{sample_context, sample_ticket};
use crate::outbox::render::{builtin_templates, kind_named, NoticeContext};
use crate::queue::{Destination, OutgoingNotice};

#[derive(Args)]
pub struct TemplatesCmd {
    #[command(subcommand)]
    action: TemplatesAction,
}

#[derive(Subcommand)]
enum TemplatesAction {
    /// Render one notice kind as it would go out, with the templates the config
    /// names (overrides included): from a sample ticket, or a real one.
    Preview {
        /// The template's name: accepted, progress, relay, digest … (`templates/en/*.txt`).
        kind: String,
        /// en or zh-CN; default: the ticket's language, else [helpdesk] default_language.
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        /// A ticket from the store (read as notices read it: already masked).
        #[arg(long, value_parser = parse_id)]
        ticket: Option<TicketId>,
        /// The notice's own text (a relayed message, a reason), if the kind shows one.
        #[arg(long)]
        text: Option<String>,
    },
    /// Write the built-in templates to DIR/{en,zh-CN}/KIND.txt, to edit and
    /// point [outbox] templates_dir at.
    Export {
        /// Where to write them (made if missing).
        dir: PathBuf,
        /// Overwrite files that exist.
        #[arg(long)]
        force: bool,
    },
}

impl TemplatesCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        match self.action {
            TemplatesAction::Preview {
                kind,
                lang,
                ticket,
                text,
            } => {
                let (subject, body) = preview(&ctx.config, &kind, lang, ticket, text).await?;
                ctx.emit(&json!({ "subject": subject, "body": body }), |_| {
                    println!("Subject: {subject}\n\n{body}")
                })
            }
            TemplatesAction::Export { dir, force } => {
                let written = export(&dir, force)?;
                ctx.emit(&json!({ "dir": dir, "written": written }), |_| {
                    println!(
                        "{written} templates written to {}; point [outbox] templates_dir at it, then `itdesk check-config`",
                        dir.display()
                    )
                })
            }
        }
    }
}

async fn preview(
    config: &Config,
    kind: &str,
    lang: Option<Lang>,
    ticket: Option<TicketId>,
    text: Option<String>,
) -> anyhow::Result<(String, String)> {
    let Some(kind) = kind_named(kind) else {
        let known: Vec<&str> = NoticeKind::ALL.iter().map(|k| k.template()).collect();
        return Err(fail(
            ErrorCode::NotFound,
            format!("no template {kind:?}: use one of {}", known.join(", ")),
        ));
    };
    let settings = app::load_templates(config)?;
    let (ctx, lang) = match ticket {
        Some(_) if matches!(kind, NoticeKind::Digest) => {
            return Err(fail(
                ErrorCode::Usage,
                "a digest is about no single ticket: preview it without --ticket",
            ));
        }
        Some(id) => {
            let answer = request(config, ControlRequest::Show { id }).await?;
            let ticket: Ticket = serde_json::from_value(answer)
                .context("the daemon answered with something that is not a ticket")?;
            let lang = lang.unwrap_or(ticket.lang);
            let notice = OutgoingNotice {
                kind,
                dest: Destination::Email { to: String::new() },
                lang,
                text,
                actor: None,
                message_id: String::new(),
                staff: false,
            };
            let ctx = NoticeContext::for_notice(
                &settings,
                Some(&ticket),
                &notice,
                &config.policy().calendar,
            );
            (ctx, lang)
        }
        None => {
            let lang = lang.unwrap_or(config.default_lang());
            let mut ctx = sample_context(&sample_ticket(), kind, lang, text.as_deref(), None);
            ctx.helpdesk = settings.helpdesk.clone();
            (ctx, lang)
        }
    };
    let out = settings.renderer.render(kind, lang, &ctx)?;
    Ok((out.subject, out.body.trim_end().to_string()))
}

/// Writes the built-ins under `dir`; how many files.
fn export(dir: &Path, force: bool) -> anyhow::Result<usize> {
    let files = builtin_templates();
    if !force {
        let existing: Vec<String> = files
            .iter()
            .map(|(rel, _)| dir.join(rel))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            return Err(fail(
                ErrorCode::Refused,
                format!(
                    "{} template file(s) exist already (first: {}); nothing written — use --force to overwrite them",
                    existing.len(),
                    existing[0]
                ),
            ));
        }
    }
    for (rel, source) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, source)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(files.len())
}
