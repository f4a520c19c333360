//! `itdesk export` and `itdesk import`: every ticket out as JSON lines (or
//! Markdown records) and back in, a page or a batch at a time, so memory
//! stays flat whatever the store's size; a progress bar on a terminal.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{json, Value};

use super::output::{create_private, json_line};
use super::session::Session;
use super::tickets_print::export_attachments;
use super::Ctx;
use crate::control::{ControlRequest, PAGE_LIMIT};
use crate::core::id::TicketId;
use crate::core::ticket::Ticket;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    /// One ticket per line, as `import` reads it.
    Jsonl,
    /// Readable records in the form's field order.
    Markdown,
}

#[derive(Args)]
pub struct ExportCmd {
    /// Write to FILE (mode 0600) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// What to write.
    #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
    format: ExportFormat,
    /// Also write every ticket's attachments to DIR/<ticket ID>/<name>.
    #[arg(long, value_name = "DIR")]
    with_attachments: Option<PathBuf>,
}

#[derive(Args)]
pub struct ImportCmd {
    /// A file written by `export` (JSON lines).
    file: PathBuf,
    /// Pass over tickets whose IDs the store already holds: run again after
    /// an interrupted import to resume it.
    #[arg(long)]
    skip_existing: bool,
}

/// Tickets sent to the daemon in one import request.
const IMPORT_BATCH: usize = 200;

/// A bar on stderr when it is a terminal; nothing otherwise.
fn progress(what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    // Invariant: a constant, well-formed template.
    let style = ProgressStyle::with_template("{msg} {wide_bar} {pos}/{len} ({eta})")
        .expect("valid progress template");
    bar.set_style(style);
    bar.set_message(what.to_string());
    bar
}

impl ExportCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        let to_stdout = self.output.is_none();
        let mut out: Box<dyn Write> = match &self.output {
            Some(path) => Box::new(std::io::BufWriter::new(create_private(path)?)),
            None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        };
        let target = self
            .output
            .as_ref()
            .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
        let write_err = || format!("cannot write the export to {target}");
        let calendar = ctx.config.policy().calendar;
        let lang = ctx.config.default_lang();
        let bar = progress("exporting");
        let mut session = Session::open(&ctx.config).await?;
        let (mut exported, mut attachments) = (0u64, 0usize);
        let mut after: Option<TicketId> = None;
        let result: anyhow::Result<()> = async {
            loop {
                let req = ControlRequest::Export {
                    after: after.take(),
                    limit: Some(PAGE_LIMIT),
                };
                let mut page = session.call(req).await?;
                if let Some(total) = page["total"].as_u64() {
                    bar.set_length(total);
                }
                let Value::Array(tickets) = page["tickets"].take() else {
                    anyhow::bail!("the daemon sent a page without tickets");
                };
                for value in tickets {
                    let record = match self.format {
                        ExportFormat::Jsonl => json_line(&value) + "\n",
                        ExportFormat::Markdown => {
                            let ticket: Ticket = serde_json::from_value(value.clone())?;
                            crate::record::markdown(&ticket, &calendar, lang) + "\n---\n\n"
                        }
                    };
                    let record = match to_stdout {
                        true => crate::intake::inert::for_terminal(&record),
                        false => record,
                    };
                    out.write_all(record.as_bytes()).with_context(write_err)?;
                    if let Some(dir) = &self.with_attachments {
                        let ticket: Ticket = serde_json::from_value(value)?;
                        attachments += export_attachments(&mut session, &ticket, dir).await?;
                    }
                    exported += 1;
                    bar.inc(1);
                }
                match serde_json::from_value::<Option<TicketId>>(page["next"].take())? {
                    Some(next) => after = Some(next),
                    None => return Ok(()),
                }
            }
        }
        .await;
        session.close().await?;
        result?;
        out.flush().with_context(write_err)?;
        bar.finish_and_clear();
        let summary = json!({ "exported": exported, "to": target, "attachments": attachments });
        match (ctx.json, to_stdout) {
            // The data is on stdout already: the summary goes to stderr.
            (true, false) => ctx.emit(&summary, |_| {})?,
            _ => eprintln!("exported {exported} tickets to {target}"),
        }
        if let Some(dir) = &self.with_attachments {
            eprintln!("wrote {attachments} attachment(s) under {}", dir.display());
        }
        Ok(())
    }
}

impl ImportCmd {
    pub async fn execute(self, ctx: &Ctx) -> anyhow::Result<()> {
        let file = std::fs::File::open(&self.file)
            .with_context(|| format!("cannot read {}", self.file.display()))?;
        let bar = progress("importing");
        bar.set_length(file.metadata().map(|m| m.len()).unwrap_or(0));
        let mut lines = std::io::BufReader::new(file);
        let mut session = Session::open(&ctx.config).await?;
        let (mut imported, mut skipped) = (0u64, 0u64);
        let result: anyhow::Result<()> = async {
            let (mut batch, mut line, mut number) = (Vec::new(), String::new(), 0usize);
            loop {
                line.clear();
                let read = lines
                    .read_line(&mut line)
                    .with_context(|| format!("cannot read {}", self.file.display()))?;
                number += 1;
                bar.inc(read as u64);
                if read > 0 && !line.trim().is_empty() {
                    let ticket: Ticket = serde_json::from_str(&line).with_context(|| {
                        format!("{} line {number}: not a ticket", self.file.display())
                    })?;
                    batch.push(ticket);
                }
                if batch.len() == IMPORT_BATCH || (read == 0 && !batch.is_empty()) {
                    let req = ControlRequest::Import {
                        tickets: std::mem::take(&mut batch),
                        skip_existing: self.skip_existing,
                    };
                    let answer = session.call(req).await?;
                    imported += answer["imported"].as_u64().unwrap_or(0);
                    skipped += answer["skipped"].as_u64().unwrap_or(0);
                }
                if read == 0 {
                    return Ok(());
                }
            }
        }
        .await;
        session.close().await?;
        bar.finish_and_clear();
        result.with_context(|| {
            format!("{imported} ticket(s) imported before this failure; `import --skip-existing` resumes")
        })?;
        let summary = json!({ "imported": imported, "skipped": skipped });
        ctx.emit(&summary, |_| {
            println!("imported {imported} ticket(s), skipped {skipped} the store already held")
        })
    }
}
