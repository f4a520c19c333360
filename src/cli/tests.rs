//! The clap tree as a whole: every command and argument explains itself, and
//! every command takes `--json`.

use clap::CommandFactory;

use super::Cli;

/// Every command path below the top, e.g. `["tickets", "list"]`.
fn paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_string());
        out.push(path.clone());
        paths(sub, &path, out);
    }
}

#[test]
fn every_command_and_argument_has_help_text() {
    let mut cmd = Cli::command();
    cmd.build();
    let mut all = Vec::new();
    paths(&cmd, &[], &mut all);
    assert!(all.len() > 40, "{} commands", all.len());
    let mut missing = Vec::new();
    for path in &all {
        let mut c = &cmd;
        for name in path {
            c = c.find_subcommand(name).expect("listed above");
        }
        if c.get_about().is_none() {
            missing.push(format!("itdesk {}", path.join(" ")));
        }
        for arg in c.get_arguments() {
            let builtin = matches!(arg.get_id().as_str(), "help" | "version");
            if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("itdesk {} <{}>", path.join(" "), arg.get_id()));
            }
        }
    }
    assert!(missing.is_empty(), "no help text: {missing:#?}");
}

#[test]
fn every_command_accepts_json() {
    let mut all = Vec::new();
    paths(&Cli::command(), &[], &mut all);
    for path in all {
        // `--json` before `--help`: an unknown `--json` would fail first.
        let args = ["itdesk"]
            .into_iter()
            .chain(path.iter().map(String::as_str))
            .chain(["--json", "--help"]);
        let kind = Cli::command()
            .try_get_matches_from(args)
            .err()
            .map(|e| e.kind());
        assert_eq!(
            kind,
            Some(clap::error::ErrorKind::DisplayHelp),
            "itdesk {} --json",
            path.join(" ")
        );
    }
}

#[test]
fn exit_statuses_are_distinct_and_documented() {
    let mut statuses: Vec<u8> = super::EXIT_CODES.iter().map(|(s, _, _)| *s).collect();
    statuses.dedup();
    assert_eq!(statuses.len(), super::EXIT_CODES.len());
    for (status, code, _) in super::EXIT_CODES {
        assert_eq!(super::status_of(code), status);
    }
}

#[test]
fn the_man_page_and_completions_are_generated() {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .unwrap();
    let page = String::from_utf8(page).unwrap();
    assert!(page.contains("check\\-config"), "{page}");
    let mut script = Vec::new();
    clap_complete::generate(
        clap_complete::Shell::Bash,
        &mut Cli::command(),
        "itdesk",
        &mut script,
    );
    assert!(String::from_utf8(script).unwrap().contains("tickets"));
}
