//! Fuzz target: raw bytes as a mail from the IMAP server → `parse_email` →
//! `prepare`, the whole intake path before the engine. Intake promises never
//! to panic on hostile input; libFuzzer's panic hook reports a panic even
//! where `parse_email` would catch it, except mail-parser's own (see `setup`).
#![no_main]

use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use itdesk::intake::classify::Rules;
use itdesk::intake::directory::Directory;
use itdesk::intake::email::{parse_email, EmailLimits};
use itdesk::intake::prepare;
use libfuzzer_sys::fuzz_target;

/// Built once: the default rules compile many regexes.
fn setup() -> &'static (EmailLimits, Rules, Directory) {
    static SETUP: OnceLock<(EmailLimits, Rules, Directory)> = OnceLock::new();
    SETUP.get_or_init(|| {
        // mail-parser panics on some hostile MIME (tests/fixtures/fuzz/);
        // `parse_email` contains that by design, so only a panic anywhere
        // else — in our code — is a finding.
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info
                .location()
                .is_some_and(|l| l.file().contains("/mail-parser-"))
            {
                report(info);
            }
        }));
        // Small caps so that the size limits are exercised too.
        let limits = EmailLimits {
            max_attachment_bytes: 4096,
            max_total_bytes: 16384,
            ..EmailLimits::default()
        };
        (limits, Rules::default(), Directory::default())
    })
}

fuzz_target!(|raw: &[u8]| {
    let (limits, rules, directory) = setup();
    let now = Utc.with_ymd_and_hms(2023, 10, 1, 2, 0, 0).unwrap();
    let message = parse_email(raw, limits, now);
    let _ = prepare(message, rules, directory);
});
