//! What the bot answers in chats — acknowledgements, refusals, the status
//! list — from `templates/<lang>/chat.txt` (`key: text` lines, minijinja),
//! so a zh-CN requester or staff channel reads Chinese, never English from
//! the code.
//!
//! Invariant: both languages' files are compiled in and parsed when the
//! catalog is built, and every key is in both (unit-tested), so a reply can
//! never be missing at the moment it is needed.

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::core::lifecycle::Refusal;
use crate::core::ticket::Lang;

const SOURCES: [(Lang, &str); 2] = [
    (Lang::En, include_str!("../../../templates/en/chat.txt")),
    (
        Lang::ZhCn,
        include_str!("../../../templates/zh-CN/chat.txt"),
    ),
];

/// The replies of every language, parsed once.
pub struct Replies {
    env: Environment<'static>,
}

impl Default for Replies {
    fn default() -> Replies {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (lang, source) in SOURCES {
            for (key, text) in entries(source) {
                // Invariant: the compiled-in files are valid (`every_key_in_every_language`).
                env.add_template_owned(name(lang, key), text.to_string())
                    .expect("valid chat reply template");
            }
        }
        Replies { env }
    }
}

impl Replies {
    /// The reply `key` in `lang`, with `args` filled in. A key missing from
    /// the catalog or a template error gives the key itself (and is a bug the
    /// unit test catches), never a panic.
    pub fn text(&self, lang: Lang, key: &str, args: Value) -> String {
        self.env
            .get_template(&name(lang, key))
            .and_then(|t| t.render(args))
            .unwrap_or_else(|e| {
                tracing::error!(key, error = %e, "chat reply template failed");
                key.to_string()
            })
    }

    /// `text` without arguments.
    pub fn plain(&self, lang: Lang, key: &str) -> String {
        self.text(lang, key, minijinja::context! {})
    }

    /// Why the ticket refused a change, in `lang`.
    pub fn refusal(&self, lang: Lang, refusal: &Refusal) -> String {
        use minijinja::context;
        match refusal {
            Refusal::NotOpen(s) => self.text(
                lang,
                "refusal_not_open",
                context! { status => s.label(lang) },
            ),
            Refusal::NotResolved(s) => self.text(
                lang,
                "refusal_not_resolved",
                context! { status => s.label(lang) },
            ),
            Refusal::AlreadyClosed => self.plain(lang, "refusal_already_closed"),
            Refusal::ReopenWindowPassed => self.plain(lang, "refusal_reopen_window"),
            Refusal::NoChange(detail) => self.text(lang, "refusal_no_change", context! { detail }),
            Refusal::BadRating(stars) => self.text(lang, "refusal_bad_rating", context! { stars }),
            Refusal::EtaInPast => self.plain(lang, "refusal_eta_past"),
            Refusal::ReasonRequired(detail) => {
                self.text(lang, "refusal_reason_required", context! { detail })
            }
        }
    }
}

fn name(lang: Lang, key: &str) -> String {
    format!("{}/{key}", lang.code())
}

/// The `key: text` lines; `#` lines and blank lines are comments.
fn entries(source: &str) -> impl Iterator<Item = (&str, &str)> {
    source
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(source: &str) -> Vec<&str> {
        entries(source).map(|(k, _)| k).collect()
    }

    #[test]
    fn every_key_in_every_language() {
        let _parsed = Replies::default();
        let (en, zh) = (keys(SOURCES[0].1), keys(SOURCES[1].1));
        assert_eq!(en, zh, "the same keys, in the same order");
        assert!(en.len() > 40);
    }

    #[test]
    fn chinese_replies_have_no_english_sentences() {
        // Placeholders, `/desk`, the CLI's command and the date format are not English prose.
        let not_prose =
            regex::Regex::new(r"\{\{[^}]*\}\}|/desk|itdesk tickets show|YYYY-MM-DD HH:MM|\*\*")
                .unwrap();
        let word = regex::Regex::new(r"[A-Za-z]{3,}").unwrap();
        for (key, text) in entries(SOURCES[1].1) {
            let prose = not_prose.replace_all(text, "");
            assert!(!word.is_match(&prose), "{key}: {text}");
        }
    }

    #[test]
    fn fills_in_and_never_panics() {
        let replies = Replies::default();
        let text = replies.text(
            Lang::ZhCn,
            "added",
            minijinja::context! { id => "IT20231001001" },
        );
        assert_eq!(text, "已补充到服务单 IT20231001001。");
        assert_eq!(replies.plain(Lang::En, "no_such_key"), "no_such_key");
        // A missing argument is an error under strict undefined: the key, logged.
        assert_eq!(replies.plain(Lang::En, "added"), "added");
        let refusal = replies.refusal(Lang::ZhCn, &Refusal::AlreadyClosed);
        assert_eq!(refusal, "服务单已关闭");
    }
}
