//! The digest as a mail client receives it, through the real Postfix and
//! Dovecot: the charts are PNG parts of a multipart/related that the HTML
//! part shows by `cid:` (no inline SVG, which common clients do not render),
//! with the plain text as the alternative.

use std::sync::Arc;
use std::time::Duration;

use itdesk::app::Core;
use itdesk::channels::smtp::SmtpChannel;
use itdesk::clock::{Clock, ManualClock};
use itdesk::config::{resolve_secret, Config};
use itdesk::outbox::digest;
use mail_parser::{MessageParser, MimeHeaders};

use crate::mailrig::MailRig;
use crate::stats::{a_week_of_tickets, local, Week};
use crate::support::{wait_until, Sandbox};

#[test]
fn the_digest_mail_carries_its_charts_as_png_by_cid() {
    // The rig blocks on a runtime of its own: it is used outside this one.
    let rig = MailRig::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(send_the_weekly_digest(&rig));

    let digest = || {
        rig.messages("tech", "INBOX")
            .into_iter()
            .find(|m| m.subject.contains("weekly report"))
    };
    wait_until("the digest mail arrives", Duration::from_secs(20), || {
        digest().is_some()
    });
    let raw = digest().unwrap().raw;
    let mail = MessageParser::default().parse(&raw).unwrap();

    let html = mail.body_html(0).expect("an HTML part").into_owned();
    assert!(!html.contains("<svg"), "inline SVG in the mail");
    let text = mail.body_text(0).expect("a plain-text alternative");
    assert!(text.contains("Resolved:           3"), "{text}");

    let mut cids = Vec::new();
    for part in mail.parts.iter() {
        if part.content_type().map(|ct| (ct.ctype(), ct.subtype())) == Some(("image", Some("png")))
        {
            let png = part.contents();
            assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 100);
            let cid = part.content_id().expect("a Content-ID").to_string();
            assert!(
                html.contains(&format!("src=\"cid:{cid}\"")),
                "the HTML does not show {cid}"
            );
            cids.push(cid);
        }
    }
    assert_eq!(cids.len(), 4, "one PNG per chart: {cids:?}");
    let raw = String::from_utf8_lossy(&raw);
    assert!(
        raw.contains("multipart/related") && raw.contains("multipart/alternative"),
        "{raw:.2000}"
    );
}

/// A week of tickets, then the Monday 09:00 digest sent through the rig's Postfix.
async fn send_the_weekly_digest(rig: &MailRig) {
    let sb = Sandbox::new(&rig.config(
        "[outbox]\nmax_notices_per_recipient_per_hour = 100\n[digest]\nweekly = \"mon 09:00\"\nemail = [\"tech@example.test\"]\n",
    ));
    let config = Config::load(&sb.config).unwrap();
    let clock = Arc::new(ManualClock::new(local(9, 9, 0)));
    let core = Core::start(&config, clock.clone()).unwrap();
    let week = Week {
        core,
        clock: clock.clone(),
        config,
    };
    a_week_of_tickets(&week).await;

    clock.set(local(16, 8, 0));
    let settings = week.config.settings.digest.clone();
    digest::arm(&week.core.store, settings.as_ref(), clock.now()).unwrap();
    let smtp = week.config.smtp.clone().unwrap();
    let password = resolve_secret("smtp", &smtp.password_file, &smtp.password_env).unwrap();
    let channel = SmtpChannel::new(&smtp, Some(password), None).unwrap();
    let dispatcher = week.dispatcher(Arc::new(channel));
    clock.set(local(16, 9, 0));
    while dispatcher.run_due().await.unwrap() > 0 {}
}
