//! `itdesk completions SHELL` and `itdesk man [--dir DIR]`: generated from the
//! same clap tree the CLI parses with, so they cannot fall behind it.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::exit::EXIT_CODES;
use super::Cli;

#[derive(Args)]
pub struct CompletionsCmd {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

impl CompletionsCmd {
    pub fn execute(self) -> anyhow::Result<()> {
        let mut cmd = Cli::command();
        clap_complete::generate(self.shell, &mut cmd, "itdesk", &mut std::io::stdout());
        Ok(())
    }
}

#[derive(Args)]
pub struct ManCmd {
    /// Write itdesk.1 and one itdesk-COMMAND.1 per command into DIR instead
    /// of printing itdesk.1.
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

impl ManCmd {
    pub fn execute(self) -> anyhow::Result<()> {
        let mut cmd = Cli::command();
        // Built, every subcommand carries the global options (--config, --json)
        // its own page must list.
        cmd.build();
        match self.dir {
            None => {
                let mut page = Vec::new();
                render(&cmd, &mut page)?;
                std::io::Write::write_all(&mut std::io::stdout(), &page)?;
            }
            Some(dir) => {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
                write_pages(&cmd, "itdesk", &dir)?;
            }
        }
        Ok(())
    }
}

/// The page of `cmd`, with the exit statuses in the top-level page.
fn render(cmd: &clap::Command, out: &mut Vec<u8>) -> anyhow::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    if cmd.has_subcommands() {
        man.render_subcommands_section(out)?;
    }
    if cmd.get_name() == "itdesk" {
        out.extend_from_slice(b".SH \"EXIT STATUS\"\n");
        out.extend_from_slice(b".TP\n0\nsuccess\n");
        for (status, _, what) in EXIT_CODES {
            out.extend_from_slice(format!(".TP\n{status}\n{what}\n").as_bytes());
        }
        out.extend_from_slice(
            b".SH JSON\nWith \\-\\-json, data is printed as JSON on stdout, and so is an error: \
{\"error\": MESSAGE, \"code\": KIND}, KIND one of failed, usage, not_found, refused, \
unavailable, config.\n",
        );
        out.extend_from_slice(
            b".SH FILES\n/etc/itdesk/itdesk.toml, /var/lib/itdesk, /run/itdesk/control.sock\n",
        );
    }
    if cmd.get_version().is_some() {
        man.render_version_section(out)?;
    }
    Ok(())
}

/// `name.1` for `cmd`, then `name-SUB.1` for each subcommand, recursively.
fn write_pages(cmd: &clap::Command, name: &str, dir: &std::path::Path) -> anyhow::Result<()> {
    let cmd = cmd
        .clone()
        .name(name.to_string())
        .bin_name(name.replace('-', " "));
    let mut page = Vec::new();
    render(&cmd, &mut page)?;
    let file = dir.join(format!("{name}.1"));
    std::fs::write(&file, page).with_context(|| format!("cannot write {}", file.display()))?;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir)?;
    }
    Ok(())
}
