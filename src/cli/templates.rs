//! `itdesk templates`: see a notice as it would go out (`preview`, from the
//! sample ticket or a real one), and write the built-in templates out as a
//! starting point for `[outbox] templates_dir` (`export`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Subcommand;

use super::{parse_id, parse_lang, request};
use crate::app;
use crate::config::Config;
use crate::control::ControlRequest;
use crate::core::effect::NoticeKind;
use crate::core::ticket::{Lang, Ticket};
use crate::outbox::render::samples::{sample_context, sample_ticket};
use crate::outbox::render::{builtin_templates, kind_named, NoticeContext};
use crate::queue::{Destination, OutgoingNotice};

#[derive(Subcommand)]
pub enum TemplatesCommand {
    /// Render one notice kind as it would go out, with the templates the config
    /// names (overrides included): from a sample ticket, or a real one.
    Preview {
        /// The template's name: accepted, progress, relay, digest … (`templates/en/*.txt`).
        kind: String,
        /// en or zh-CN; default: the ticket's language, else [helpdesk] default_language.
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        /// A ticket from the store (read as notices read it: already masked).
        #[arg(long)]
        ticket: Option<String>,
        /// The notice's own text (a relayed message, a reason), if the kind shows one.
        #[arg(long)]
        text: Option<String>,
    },
    /// Write the built-in templates to DIR/{en,zh-CN}/KIND.txt, to edit and
    /// point [outbox] templates_dir at.
    Export {
        dir: PathBuf,
        /// Overwrite files that exist.
        #[arg(long)]
        force: bool,
    },
}

pub async fn templates(config: &Config, cmd: TemplatesCommand) -> anyhow::Result<()> {
    match cmd {
        TemplatesCommand::Preview {
            kind,
            lang,
            ticket,
            text,
        } => preview(config, &kind, lang, ticket.as_deref(), text).await,
        TemplatesCommand::Export { dir, force } => export(&dir, force),
    }
}

async fn preview(
    config: &Config,
    kind: &str,
    lang: Option<Lang>,
    ticket: Option<&str>,
    text: Option<String>,
) -> anyhow::Result<()> {
    let Some(kind) = kind_named(kind) else {
        let known: Vec<&str> = NoticeKind::ALL.iter().map(|k| k.template()).collect();
        bail!("no template {kind:?}: use one of {}", known.join(", "));
    };
    let settings = app::load_templates(config)?;
    let (ctx, lang) = match ticket {
        Some(_) if matches!(kind, NoticeKind::Digest) => {
            bail!("a digest is about no single ticket: preview it without --ticket")
        }
        Some(id) => {
            let answer = request(config, ControlRequest::Show { id: parse_id(id)? }).await?;
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
    println!("Subject: {}\n\n{}", out.subject, out.body.trim_end());
    Ok(())
}

fn export(dir: &Path, force: bool) -> anyhow::Result<()> {
    let files = builtin_templates();
    if !force {
        let existing: Vec<String> = files
            .iter()
            .map(|(rel, _)| dir.join(rel))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            bail!(
                "{} template file(s) exist already (first: {}); nothing written — use --force to overwrite them",
                existing.len(),
                existing[0]
            );
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
    println!(
        "{} templates written to {}; point [outbox] templates_dir at it, then `itdesk check-config`",
        files.len(),
        dir.display()
    );
    Ok(())
}
