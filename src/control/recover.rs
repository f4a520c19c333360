//! `itdesk recover`: reads requests back from the mailbox after a restore,
//! through the IMAP account of the config and the engine's intake
//! (`channels/imap/recover.rs`); recorded in the access audit, since it reads
//! everyone's mail.

use chrono::NaiveDate;
use serde_json::Value;

use super::peers::Caller;
use super::{privacy, ControlContext, ControlError};
use crate::channels::imap::recover::Recovery;
use crate::config::{resolve_secret, ImapAuth};

pub async fn recover(
    ctx: &ControlContext,
    caller: &Caller,
    since: NaiveDate,
    dry_run: bool,
) -> Result<Value, ControlError> {
    let Some(imap) = ctx.imap.clone() else {
        return Err(ControlError::Refused(
            "the config has no [imap] section: there is no mailbox to recover from".into(),
        ));
    };
    let password = match imap.auth {
        ImapAuth::Login => Some(resolve_secret(
            "imap",
            &imap.password_file,
            &imap.password_env,
        )?),
        ImapAuth::Xoauth2 => None,
    };
    let what = format!(
        "recover since {since}{}",
        if dry_run { " (dry run)" } else { "" }
    );
    privacy::record(ctx, caller, None, what).await?;
    let recovery = Recovery {
        config: imap,
        password,
        sent_mailbox: ctx.sent_mailbox.clone(),
        engine: ctx.engine.clone(),
        limits: ctx.limits.clone(),
        rules: ctx.rules.clone(),
        directory: ctx.directory.clone(),
        clock: ctx.clock.clone(),
    };
    let report = recovery.run(since, dry_run).await?;
    serde_json::to_value(report).map_err(|e| ControlError::Protocol(e.to_string()))
}
