//! Printing tickets: the list as a table (or a JSON array) streamed row by
//! row, one ticket in full, and attachments fetched through the session.

use std::path::Path;

use anyhow::Context as _;
use serde_json::Value;

use super::output::{json_line, write_private};
use super::session::Session;
use super::table::Columns;
use crate::config::Config;
use crate::control::ControlRequest;
use crate::core::id::TicketId;
use crate::core::ticket::Ticket;

const LIST_COLUMNS: Columns = Columns(&[
    ("ID", Some(16)),
    ("STATUS", Some(21)),
    ("URGENCY", Some(8)),
    ("TYPE", Some(9)),
    ("GROUP", Some(14)),
    ("ASSIGNEE", Some(12)),
    ("SUBJECT", None),
]);

/// Rows printed this many at a time: the table's widths are fixed, so each
/// batch lines up with the ones before it.
const BATCH: usize = 200;

/// Prints a ticket list as it arrives: a table, or one JSON array.
pub struct ListPrinter {
    json: bool,
    count: usize,
    rows: Vec<Vec<String>>,
}

impl ListPrinter {
    pub fn new(json: bool) -> ListPrinter {
        ListPrinter {
            json,
            count: 0,
            rows: Vec::new(),
        }
    }

    pub fn count(&self) -> usize {
        self.count
    }

    pub fn push(&mut self, ticket: Value) -> anyhow::Result<()> {
        if self.json {
            let sep = if self.count == 0 { "[" } else { "," };
            println!("{sep}\n  {}", json_line(&ticket));
        } else {
            let t: Ticket =
                serde_json::from_value(ticket).context("the daemon sent an unreadable ticket")?;
            self.rows.push(vec![
                t.id.to_string(),
                t.status.key().into(),
                t.urgency.key().into(),
                t.problem_type.key().into(),
                t.group,
                t.assignee.unwrap_or_else(|| "-".into()),
                t.subject,
            ]);
            if self.rows.len() == BATCH {
                self.flush();
            }
        }
        self.count += 1;
        Ok(())
    }

    fn flush(&mut self) {
        let header = self.count < BATCH;
        print!("{}", LIST_COLUMNS.render(&self.rows, header));
        self.rows.clear();
    }

    pub fn finish(&mut self) {
        match self.json {
            true if self.count == 0 => println!("[]"),
            true => println!("\n]"),
            false if self.count == 0 || !self.rows.is_empty() => self.flush(),
            false => {}
        }
    }
}

pub fn print_ticket(config: &Config, t: &Ticket) {
    let cal = config.policy().calendar;
    let r = &t.requester;
    println!("{}  [{}]  {}", t.id, t.status.key(), t.subject);
    println!(
        "  requester : {} <{}> {} {}",
        r.display(),
        r.email.as_deref().unwrap_or("-"),
        r.department.as_deref().unwrap_or(""),
        r.contact.as_deref().unwrap_or("")
    );
    println!(
        "  type      : {} · urgency {} · group {} · handler {}",
        t.problem_type.key(),
        t.urgency.key(),
        t.group,
        t.assignee.as_deref().unwrap_or("-")
    );
    println!(
        "  created   : {} · ack due {} · ETA {}",
        cal.format_local(t.created_at),
        cal.format_local(t.ack_due),
        cal.format_local(t.eta)
    );
    if let Some(e) = &t.expected_time {
        println!("  expected  : {e}");
    }
    println!("  description:");
    for line in t.description.lines() {
        println!("    {line}");
    }
    for a in &t.attachments {
        println!(
            "  attachment: {} ({}, {} bytes)",
            a.name, a.content_type, a.size
        );
    }
    println!("  log:");
    for e in &t.log {
        println!(
            "    {} {:<10} {}: {}",
            cal.format_local(e.at.with_timezone(&chrono::Utc)),
            e.actor,
            crate::record::log_kind_label(e.kind, config.default_lang()),
            e.text
        );
    }
    if let Some(res) = &t.resolution {
        println!("  fix       : {}", res.fix);
    }
    if let Some(c) = &t.confirmation {
        println!("  confirmed : {} on {}: {}", c.by, c.date, c.text);
    }
    if let Some(rt) = &t.rating {
        println!(
            "  rating    : {} {}",
            rt.stars_text(),
            rt.remark.as_deref().unwrap_or("")
        );
    }
}

/// Every attachment of `ticket` into `dir/<ticket ID>/<name>`, private;
/// returns how many were written.
pub async fn export_attachments(
    session: &mut Session,
    ticket: &Ticket,
    dir: &Path,
) -> anyhow::Result<usize> {
    let mut written = 0;
    for a in &ticket.attachments {
        let data = match fetch_attachment(session, &ticket.id, &a.name).await {
            Ok(data) => data,
            Err(e) => {
                eprintln!("{}: {}: not exported: {e:#}", ticket.id, a.name);
                continue;
            }
        };
        let folder = dir.join(ticket.id.as_str());
        std::fs::create_dir_all(&folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        // A name is the sender's: only its last component, never a path.
        let file = Path::new(&a.name)
            .file_name()
            .map_or_else(|| "attachment".into(), |n| n.to_owned());
        write_private(&folder.join(file), &data)?;
        written += 1;
    }
    Ok(written)
}

/// One attachment's bytes, through the daemon (or the store when it is stopped).
pub async fn fetch_attachment(
    session: &mut Session,
    id: &TicketId,
    name: &str,
) -> anyhow::Result<Vec<u8>> {
    let req = ControlRequest::Attachment {
        id: id.clone(),
        name: name.to_string(),
    };
    let answer = session.call(req).await?;
    base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        answer["data"].as_str().unwrap_or_default(),
    )
    .context("the daemon sent an unreadable attachment")
}
