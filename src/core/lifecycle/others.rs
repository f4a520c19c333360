//! What anyone but the requester and staff sends about a ticket: a copied
//! colleague, a third party, an outside contact's answer, a bounce. Each is
//! logged for staff; none changes the status, whatever it says.

use chrono::{DateTime, Utc};

use super::steps::log;
use crate::core::effect::{Audience, Effect, NoticeKind};
use crate::core::sla::Policy;
use crate::core::ticket::{LogKind, Ticket};
use crate::core::words::Said;

pub(super) fn colleague_message(
    t: &mut Ticket,
    from: String,
    text: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) {
    log(
        t,
        now,
        p,
        &from,
        LogKind::RequesterMessage,
        text.clone(),
        false,
    );
    fx.push(Effect::notify_with(
        NoticeKind::StaffUpdate,
        Audience::Group,
        format!("{from}: {text}"),
    ));
}

pub(super) fn third_party_message(
    t: &mut Ticket,
    from: String,
    text: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) {
    log(t, now, p, &from, LogKind::ThirdParty, text.clone(), false);
    fx.push(Effect::notify_with(
        NoticeKind::StaffUpdate,
        Audience::Group,
        Said::ThirdParty {
            from: &from,
            text: &text,
        }
        .text(p.staff_lang),
    ));
}

pub(super) fn contact_message(
    t: &mut Ticket,
    contact: String,
    text: String,
    now: DateTime<Utc>,
    p: &Policy,
    fx: &mut Vec<Effect>,
) {
    let said = Said::ContactReplied {
        contact: &contact,
        text: &text,
    }
    .text(p.staff_lang);
    log(t, now, p, &contact, LogKind::Contact, text, false);
    fx.push(Effect::notify_with(
        NoticeKind::StaffUpdate,
        Audience::Group,
        said,
    ));
}

/// One of our notices bounced: logged for staff, nobody is told.
pub(super) fn bounced(
    t: &mut Ticket,
    recipient: String,
    diagnostic: String,
    now: DateTime<Utc>,
    p: &Policy,
) {
    log(
        t,
        now,
        p,
        "mailer",
        LogKind::Bounce,
        Said::Bounced {
            recipient: &recipient,
            diagnostic: &diagnostic,
        }
        .text(p.staff_lang),
        false,
    );
}
