//! Notice rendering: a notice kind, a language and a `NoticeContext` become a subject line
//! and a plain-text body, from the templates under `templates/<lang>/<kind>.txt`.
//!
//! Invariant: every (kind, language) template is loaded, parsed and rendered against the
//! sample tickets (`samples.rs`, checked in `check.rs`) when the `Renderer` is built, so a
//! missing, broken or misspelt template stops `check-config` and start-up, never a notice in
//! flight. Built-in templates are compiled in; a file of the same relative path in the
//! override dir wins.

mod check;
pub mod samples;
#[cfg(test)]
mod tests;
mod view;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use crate::core::effect::NoticeKind;
use crate::core::ticket::Lang;

pub use view::{HelpdeskInfo, LogView, NoticeContext, NoticeView, TicketView, UrgencyLoweredView};

/// Every language a full template set exists for.
const LANGS: [Lang; 2] = [Lang::En, Lang::ZhCn];

/// `head(n)` keeps at most this many characters per requested line, so a description
/// pasted as one huge line still gives a short page.
const HEAD_CHARS_PER_LINE: usize = 100;

macro_rules! builtin_templates {
    ($($stem:literal),+ $(,)?) => {
        /// `(path under templates/, source)` of every compiled-in template.
        const BUILTIN: &[(&str, &str)] = &[$(
            (concat!("en/", $stem, ".txt"), include_str!(concat!("../../templates/en/", $stem, ".txt"))),
            (concat!("zh-CN/", $stem, ".txt"), include_str!(concat!("../../templates/zh-CN/", $stem, ".txt"))),
        )+];
    };
}

builtin_templates!(
    "accepted",
    "need_more_info",
    "progress",
    "eta_changed",
    "delayed",
    "escalated",
    "urgency_changed",
    "resolved_confirm",
    "confirm_reminder",
    "rating_thanks",
    "reopened",
    "closed",
    "relay",
    "clarify",
    "urgent_page",
    "ack_reminder",
    "breach_warning",
    "breach",
    "staff_update",
    "digest",
    "alert",
    "new_ticket",
    "ticket_card",
);

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {file} is missing")]
    Missing { file: String },
    #[error("template {file} must start with a `Subject: …` line followed by an empty line")]
    NoSubject { file: String },
    #[error("template {file} is broken: {error}")]
    Template {
        file: String,
        error: minijinja::Error,
    },
    /// Found by rendering against the sample tickets, or by the check of its variable names.
    #[error("template {file}{} does not render: {reason} — fix the override (the variables are listed in templates/README.md)", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Check {
        file: String,
        line: Option<usize>,
        reason: String,
    },
    #[error("template override dir {} unreadable: {error} — check [outbox] templates_dir", dir.display())]
    OverrideDir { dir: PathBuf, error: io::Error },
    #[error("template override {} unreadable: {error}", path.display())]
    OverrideFile { path: PathBuf, error: io::Error },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// One line, whitespace collapsed: safe to put in a mail header.
    pub subject: String,
    /// Ends with exactly one newline.
    pub body: String,
}

/// `text|head(n)`: the first `n` lines, "…" when anything was cut — pages stay short.
fn head(text: &str, lines: usize) -> String {
    let text = text.trim();
    let mut kept = text.lines().take(lines).collect::<Vec<_>>().join("\n");
    let mut cut = text.lines().nth(lines).is_some();
    if let Some((at, _)) = kept
        .char_indices()
        .nth(lines.saturating_mul(HEAD_CHARS_PER_LINE))
    {
        kept.truncate(at);
        cut = true;
    }
    if cut {
        kept.push_str(" …");
    }
    kept
}

#[derive(Debug)]
pub struct Renderer {
    env: Environment<'static>,
    /// Where each template came from, for error messages.
    files: HashMap<(Lang, NoticeKind), String>,
}

/// `(path under templates/, source)` of every compiled-in template, for
/// `itdesk templates export`.
pub fn builtin_templates() -> &'static [(&'static str, &'static str)] {
    BUILTIN
}

/// The template stem of a notice kind (`accepted`), or `None`.
pub fn kind_named(stem: &str) -> Option<NoticeKind> {
    NoticeKind::ALL
        .iter()
        .copied()
        .find(|k| k.template() == stem)
}

impl Renderer {
    /// Built-in templates are compiled in (include_str! of every file under templates/, so the
    /// binary works without the folder); a file of the same relative path in `override_dir`
    /// replaces the built-in one. All templates are parsed and rendered against the sample
    /// tickets up front, so a broken one fails at start-up, not when a notice goes out.
    pub fn new(override_dir: Option<&Path>) -> Result<Renderer, RenderError> {
        let renderer = Renderer::parse(override_dir)?;
        renderer.check()?;
        Ok(renderer)
    }

    /// Loads and parses, without the check against the samples.
    fn parse(override_dir: Option<&Path>) -> Result<Renderer, RenderError> {
        if let Some(dir) = override_dir {
            std::fs::read_dir(dir).map_err(|error| RenderError::OverrideDir {
                dir: dir.to_path_buf(),
                error,
            })?;
        }
        let mut env = Environment::new();
        // A variable a template uses but the context lacks is a bug: fail loudly.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        // Plain-text mail and chat: nothing may be HTML-escaped.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.add_filter("head", head);

        let mut files = HashMap::new();
        for lang in LANGS {
            for &kind in NoticeKind::ALL {
                let rel = relative_path(lang, kind);
                let (file, source) = load(override_dir, &rel)?;
                let (subject, body) = split_subject(&source)
                    .ok_or_else(|| RenderError::NoSubject { file: file.clone() })?;
                let broken = |error| RenderError::Template {
                    file: file.clone(),
                    error,
                };
                env.add_template_owned(subject_name(&rel), subject)
                    .map_err(broken)?;
                env.add_template_owned(rel, body).map_err(broken)?;
                files.insert((lang, kind), file);
            }
        }
        Ok(Renderer { env, files })
    }

    pub fn render(
        &self,
        kind: NoticeKind,
        lang: Lang,
        ctx: &NoticeContext,
    ) -> Result<Rendered, RenderError> {
        let rel = relative_path(lang, kind);
        let file = self
            .files
            .get(&(lang, kind))
            .ok_or_else(|| RenderError::Missing {
                file: format!("templates/{rel}"),
            })?;
        let broken = |error| RenderError::Template {
            file: file.clone(),
            error,
        };
        let subject = self
            .env
            .get_template(&subject_name(&rel))
            .and_then(|t| t.render(ctx))
            .map_err(broken)?;
        let body = self
            .env
            .get_template(&rel)
            .and_then(|t| t.render(ctx))
            .map_err(broken)?;
        Ok(Rendered {
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            body: format!("{}\n", body.trim_start_matches('\n').trim_end()),
        })
    }
}

fn relative_path(lang: Lang, kind: NoticeKind) -> String {
    format!("{}/{}.txt", lang.code(), kind.template())
}

fn subject_name(rel: &str) -> String {
    format!("{rel} (Subject line)")
}

/// The override file if there is one, else the built-in: `(name for errors, source)`.
fn load(override_dir: Option<&Path>, rel: &str) -> Result<(String, String), RenderError> {
    if let Some(dir) = override_dir {
        let path = dir.join(rel);
        match std::fs::read_to_string(&path) {
            Ok(source) => return Ok((path.display().to_string(), source)),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(RenderError::OverrideFile { path, error }),
        }
    }
    BUILTIN
        .iter()
        .find(|(path, _)| *path == rel)
        .map(|(_, source)| (format!("templates/{rel} (built-in)"), (*source).to_string()))
        .ok_or_else(|| RenderError::Missing {
            file: format!("templates/{rel}"),
        })
}

/// Splits `Subject: …`, an empty line, and the body. The body template gets two newlines in
/// place of the header, so minijinja's line numbers in errors match the file.
fn split_subject(source: &str) -> Option<(String, String)> {
    // Files saved by Windows editors may carry a BOM and CRLF line ends.
    let source = source
        .strip_prefix('\u{feff}')
        .unwrap_or(source)
        .replace("\r\n", "\n");
    let (first, rest) = source.split_once('\n')?;
    let subject = first
        .get(..8)
        .filter(|p| p.eq_ignore_ascii_case("subject:"))
        .map(|_| &first[8..])?;
    let (blank, body) = rest.split_once('\n').unwrap_or((rest, ""));
    if !blank.trim().is_empty() {
        return None;
    }
    Some((subject.trim().to_string(), format!("\n\n{body}")))
}
