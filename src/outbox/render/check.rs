//! Templates checked before they are trusted: every (language, kind) is
//! rendered against the sample tickets in strict-undefined mode, and every
//! variable it names — in branches no sample takes, too — must exist in the
//! fullest sample. The first failure names the file and line.
//!
//! Invariant: the check `check-config` runs is the one `run` and a SIGHUP
//! reload run, because `Renderer::new` runs it.

use serde_json::Value;

use super::samples::{check_contexts, every_template, full_ticket, sample_context};
use super::{relative_path, subject_name, RenderError, Renderer};
use crate::core::effect::NoticeKind;
use crate::core::ticket::Lang;

/// Names minijinja itself defines: a template may use them without a context.
const GLOBALS: &[&str] = &[
    "range",
    "dict",
    "debug",
    "namespace",
    "loop",
    "self",
    "super",
    "caller",
    "varargs",
    "kwargs",
    "true",
    "false",
    "none",
];

impl Renderer {
    pub(super) fn check(&self) -> Result<(), RenderError> {
        for (lang, kind) in every_template() {
            self.check_names(lang, kind)?;
            for ctx in check_contexts(kind, lang) {
                self.render(kind, lang, &ctx).map_err(|e| match e {
                    RenderError::Template { file, error } => RenderError::Check {
                        file,
                        line: error.line(),
                        reason: match error.detail() {
                            Some(detail) => format!("{}: {detail}", error.kind()),
                            None => error.kind().to_string(),
                        },
                    },
                    other => other,
                })?;
            }
        }
        Ok(())
    }

    /// Every `a.b.c` the template names resolves in the fullest sample.
    fn check_names(&self, lang: Lang, kind: NoticeKind) -> Result<(), RenderError> {
        let mut full = sample_context(&full_ticket(), kind, lang, Some("text"), Some("actor"));
        let view = sample_context(&full_ticket(), NoticeKind::Accepted, lang, None, None);
        full.ticket = view.ticket;
        full.digest = Some(super::samples::digest_sample("email"));
        // Serialising plain structs and JSON values cannot fail.
        let schema = serde_json::to_value(&full).unwrap_or(Value::Null);
        let rel = relative_path(lang, kind);
        for (name, first_line) in [(subject_name(&rel), true), (rel.clone(), false)] {
            let Ok(template) = self.env.get_template(&name) else {
                continue;
            };
            let mut names: Vec<String> = template.undeclared_variables(true).into_iter().collect();
            names.sort();
            for path in names {
                if resolves(&schema, &path) {
                    continue;
                }
                let line = if first_line {
                    Some(1)
                } else {
                    template
                        .source()
                        .lines()
                        .position(|l| l.contains(path.as_str()))
                        .map(|i| i + 1)
                };
                return Err(RenderError::Check {
                    file: self.files.get(&(lang, kind)).cloned().unwrap_or(rel),
                    line,
                    reason: format!("`{path}` is not a variable templates have"),
                });
            }
        }
        Ok(())
    }
}

/// Whether `a.b.c` names something in `schema`: every step but those below a
/// list or a plain value (which the render check covers) must be a key.
fn resolves(schema: &Value, path: &str) -> bool {
    let mut parts = path.split('.');
    let Some(root) = parts.next() else {
        return true;
    };
    if GLOBALS.contains(&root) {
        return true;
    }
    let mut at = schema;
    for part in std::iter::once(root).chain(parts) {
        match at {
            Value::Object(map) => match map.get(part) {
                Some(next) => at = next,
                None => return false,
            },
            _ => return true,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_in_the_schema() {
        let schema =
            serde_json::json!({ "ticket": { "id": "x", "log": { "at": "t" }, "list": [1] } });
        for good in [
            "ticket",
            "ticket.id",
            "ticket.log.at",
            "ticket.list.x",
            "range",
        ] {
            assert!(resolves(&schema, good), "{good}");
        }
        for bad in ["tickt", "ticket.subjct", "ticket.log.when"] {
            assert!(!resolves(&schema, bad), "{bad}");
        }
    }
}
