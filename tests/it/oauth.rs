//! XOAUTH2 against the rig's real Dovecot, which validates the JWT access
//! token itself (signature, expiry, user): the daemon logs in with the token
//! from `[imap].oauth_token_file` or `oauth_token_command`, tells the on-duty
//! staff when the token is refused or about to expire, and picks up a
//! refreshed token file at its next login, without a restart.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::mailrig::{MailRig, ParsedMail};
use crate::support::{wait_until, Sandbox};

const WAIT: Duration = Duration::from_secs(60);
const HELPDESK: &str = "helpdesk@example.test";
/// Alerts about the token go to tech's INBOX.
const ON_DUTY: &str = "tech@example.test";

/// An access token as an identity provider issues it: a JWT for `user`,
/// issued an hour before `expires`, HS256-signed with the rig's key.
fn access_token(rig: &MailRig, user: &str, expires: DateTime<Utc>) -> String {
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let key_file = rig.var("OAUTH2_HMAC_KEY_FILE");
    let key = base64::engine::general_purpose::STANDARD
        .decode(
            std::fs::read_to_string(key_file)
                .unwrap_or_else(|e| panic!("{key_file}: {e}"))
                .trim(),
        )
        .expect("the rig's HMAC key is base64");
    let header = url.encode(json!({"typ": "JWT", "alg": "HS256"}).to_string());
    let claims = url.encode(
        json!({
            "sub": user,
            "email": user,
            "iat": (expires - chrono::Duration::hours(1)).timestamp(),
            "exp": expires.timestamp(),
        })
        .to_string(),
    );
    let signed = format!("{header}.{claims}");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(signed.as_bytes());
    format!("{signed}.{}", url.encode(mac.finalize().into_bytes()))
}

fn in_minutes(minutes: i64) -> DateTime<Utc> {
    Utc::now() + chrono::Duration::minutes(minutes)
}

/// Replaces the token file at once, as a token refresher should: a login
/// never reads half a token.
fn write_token(path: &Path, token: &str) {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, format!("{token}\n")).expect("write the token");
    std::fs::rename(&partial, path).expect("move the token into place");
}

/// The rig's config for helpdesk@ with `auth = "xoauth2"` and the token from
/// `token_source` (TOML keys of [imap]); alerts go to ON_DUTY.
fn xoauth2_config(rig: &MailRig, token_source: &str) -> String {
    let text = rig.config(&format!(
        "[imap]\nauth = \"xoauth2\"\n{token_source}\n\n[on_duty]\nemail = [\"{ON_DUTY}\"]\n"
    ));
    let mut config: toml::Table = text.parse().expect("the rig's config");
    // Only the token can log in: no IMAP password to fall back on.
    config["imap"]
        .as_table_mut()
        .expect("[imap]")
        .remove("password_file");
    toml::to_string(&config).expect("config serialises")
}

fn token_file_config(rig: &MailRig, path: &Path) -> String {
    let path = toml::Value::from(path.display().to_string());
    xoauth2_config(rig, &format!("oauth_token_file = {path}"))
}

fn token_file(rig: &MailRig) -> PathBuf {
    rig.root.join("helpdesk.token")
}

/// A help request from alice that no rule finds vague.
fn help_request(n: u32) -> Vec<u8> {
    format!(
        "From: Alice Wang <alice@example.test>\r\nTo: IT Helpdesk <{HELPDESK}>\r\nSubject: Printer shows error E-{n}\r\nMessage-ID: <oauth-{n}@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe printer on the 3rd floor shows error E-{n} and prints nothing.\r\n"
    )
    .into_bytes()
}

/// Dovecot's own record of helpdesk@ logging in with XOAUTH2.
fn xoauth2_logins(rig: &MailRig) -> usize {
    rig.dovecot_log()
        .lines()
        .filter(|l| l.contains(&format!("Login: user=<{HELPDESK}>, method=XOAUTH2")))
        .count()
}

/// The alert mail in the on-duty technician's INBOX whose subject (the
/// alert's first line) starts with `text`.
fn alert_starting(rig: &MailRig, text: &str) -> Option<ParsedMail> {
    rig.messages(ON_DUTY, "INBOX")
        .into_iter()
        .find(|m| m.subject.starts_with(&format!("[itdesk alert] {text}")))
}

#[test]
fn a_valid_token_file_logs_in_with_xoauth2_and_mail_becomes_a_ticket() {
    let rig = MailRig::start();
    let token = token_file(&rig);
    write_token(&token, &access_token(&rig, HELPDESK, in_minutes(50)));
    let sb = Sandbox::new(&token_file_config(&rig, &token));
    let daemon = sb.start_daemon();

    rig.send("alice", HELPDESK, &help_request(1));
    wait_until("the request's ticket", WAIT, || sb.tickets().len() == 1);
    let ticket = &sb.tickets()[0];
    assert_eq!(ticket["channel"], "email", "{ticket}");
    assert_eq!(ticket["subject"], "Printer shows error E-1", "{ticket}");
    wait_until("the request marked seen", WAIT, || {
        rig.unseen(HELPDESK, "INBOX") == 0
    });
    assert!(
        xoauth2_logins(&rig) >= 1,
        "Dovecot logged no XOAUTH2 login:\n{}",
        rig.dovecot_log()
    );
    // The notice goes out over SMTP AUTH PLAIN through Dovecot's SASL, which
    // the OAuth2 passdb must leave working.
    let answers_the_request =
        |m: &ParsedMail| m.in_reply_to.as_deref() == Some("oauth-1@example.test");
    wait_until("the accepted notice in alice's INBOX", WAIT, || {
        rig.messages("alice", "INBOX")
            .iter()
            .any(|m| m.from == HELPDESK && answers_the_request(m))
    });
    daemon.stop();
}

#[test]
fn a_token_command_logs_in_with_xoauth2_too() {
    let rig = MailRig::start();
    let token = access_token(&rig, HELPDESK, in_minutes(50));
    let sb = Sandbox::new(&xoauth2_config(
        &rig,
        &format!("oauth_token_command = \"echo {token}\""),
    ));
    let daemon = sb.start_daemon();

    rig.send("alice", HELPDESK, &help_request(1));
    wait_until("the request's ticket", WAIT, || sb.tickets().len() == 1);
    wait_until("the request marked seen", WAIT, || {
        rig.unseen(HELPDESK, "INBOX") == 0
    });
    assert!(
        xoauth2_logins(&rig) >= 1,
        "Dovecot logged no XOAUTH2 login:\n{}",
        rig.dovecot_log()
    );
    daemon.stop();
}

#[test]
fn an_expired_token_is_refused_loudly_and_a_refreshed_file_is_used_without_a_restart() {
    let rig = MailRig::start();
    let token = token_file(&rig);
    write_token(&token, &access_token(&rig, HELPDESK, in_minutes(-60)));
    rig.append(HELPDESK, "INBOX", &help_request(1));
    let sb = Sandbox::new(&token_file_config(&rig, &token));
    let daemon = sb.start_daemon();

    wait_until("Dovecot to refuse the expired token", WAIT, || {
        rig.dovecot_log()
            .contains("oauth2 failed: Local validation failed: Token has expired")
    });
    // The admin's log says what is wrong and which key to look at.
    let fix = format!("[imap].oauth_token_file {}", token.display());
    wait_until("the refusal in the daemon's log", WAIT, || {
        daemon.log_text().lines().any(|l| {
            l.contains("IMAP connection failed")
                && l.contains("the access token has probably EXPIRED")
                && l.contains(&fix)
        })
    });
    // So does the on-duty technician's mail, for the refusal and for the
    // token's own expiry time.
    wait_until("both alerts in the on-duty INBOX", WAIT, || {
        alert_starting(
            &rig,
            "The mail server refused itdesk's OAuth (XOAUTH2) token",
        )
        .is_some()
            && alert_starting(&rig, "The IMAP OAuth access token expired at").is_some()
    });
    let refused = alert_starting(&rig, "The mail server refused").expect("refusal alert");
    assert!(
        refused.body.contains("EXPIRED") && refused.body.contains(&fix),
        "{}",
        refused.body
    );
    let expired =
        alert_starting(&rig, "The IMAP OAuth access token expired").expect("expiry alert");
    assert!(
        expired.body.contains("[imap].oauth_token_file"),
        "{}",
        expired.body
    );
    assert!(sb.tickets().is_empty(), "no login, no ticket");
    assert_eq!(rig.unseen(HELPDESK, "INBOX"), 1, "nothing was marked seen");
    assert_eq!(xoauth2_logins(&rig), 0);

    // The refresher writes a new token; the daemon, still running, reads it
    // at its next login attempt.
    write_token(&token, &access_token(&rig, HELPDESK, in_minutes(50)));
    wait_until("the waiting mail's ticket", WAIT, || {
        sb.tickets().len() == 1
    });
    wait_until("the mail marked seen", WAIT, || {
        rig.unseen(HELPDESK, "INBOX") == 0
    });
    assert_eq!(sb.tickets().len(), 1, "exactly one ticket");
    assert_eq!(sb.tickets()[0]["subject"], "Printer shows error E-1");
    assert!(xoauth2_logins(&rig) >= 1);
    assert!(daemon.log_text().contains("IMAP logged in"));
    daemon.stop();
}

#[test]
fn a_token_close_to_expiry_raises_the_expiring_alert() {
    let rig = MailRig::start();
    let token = token_file(&rig);
    let expires = in_minutes(10);
    write_token(&token, &access_token(&rig, HELPDESK, expires));
    let sb = Sandbox::new(&format!(
        "{}\n[alerts]\ntoken_expiry_warning = \"15m\"\n",
        token_file_config(&rig, &token)
    ));
    let daemon = sb.start_daemon();

    // Still valid: the daemon logs in and works meanwhile.
    rig.send("alice", HELPDESK, &help_request(1));
    wait_until("the request's ticket", WAIT, || sb.tickets().len() == 1);
    let when = expires.format("%Y-%m-%d %H:%M UTC").to_string();
    wait_until("the expiry warning in the on-duty INBOX", WAIT, || {
        alert_starting(
            &rig,
            &format!("The IMAP OAuth access token expires at {when}"),
        )
        .is_some()
    });
    let warning =
        alert_starting(&rig, "The IMAP OAuth access token expires at").expect("the warning");
    assert!(
        warning.body.contains("has not been refreshed yet")
            && warning.body.contains("[imap].oauth_token_file"),
        "{}",
        warning.body
    );
    assert!(
        daemon
            .log_text()
            .lines()
            .any(|l| l.contains("ALERT to on-duty staff") && l.contains("oauth_expiring")),
        "{}",
        daemon.log_text()
    );
    assert!(
        !daemon.log_text().contains("oauth_rejected"),
        "a valid token was not refused"
    );
    daemon.stop();
}
