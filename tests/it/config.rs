//! `itdesk check-config`: a good file passes; a bad one names the key and line.

use crate::support::Sandbox;

#[test]
fn example_config_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/config/itdesk.example.toml");
    let out = std::process::Command::new(crate::support::itdesk_bin())
        .args(["check-config", "--config", example])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok"));
}

#[test]
fn broken_configs_name_the_key_and_what_is_wrong() {
    let cases: &[(&str, &[&str])] = &[
        ("[calendar]\ntimezone = \"Mars/Olympus\"\n", &["calendar.timezone", "line", "Mars/Olympus"]),
        ("[sla]\nlow = \"3 fortnights\"\n", &["line", "low", "3 fortnights"]),
        ("[sla]\nbreach_warning_ratio = 1.5\n", &["sla.breach_warning_ratio", "between 0 and 1"]),
        // Lines before any header belong to the sandbox's [store] table.
        ("cache_mb = 0\n", &["store.cache_mb", "line", "between 1 and 65536"]),
        ("[imap]\nhost = \"mail.example.com\"\nsecurity = \"plain\"\nusername = \"u\"\npassword_env = \"X\"\n", &["imap.security", "unencrypted", "allow_plain"]),
        ("[imap]\nhost = \"mail.example.com\"\nsecurity = \"tls\"\nusernme = \"u\"\n", &["usernme"]),
        ("[routing]\nnetwork = \"netops\"\n[groups.software]\nemail = []\n", &["routing.hardware", "no [groups.hardware]"]),
        ("[calendar]\nday_start = \"9am\"\n", &["calendar.day_start", "9am"]),
        ("[outbox]\nmax_attempts = \"many\"\n", &["max_attempts", "line"]),
        ("[smtp]\nhost = \"127.0.0.1\"\nfrom = \"nobody\"\n", &["smtp.from", "email address"]),
        ("[imap]\nhost = \"127.0.0.1\"\nusername = \"u\"\npassword_env = \"X\"\nburst_poll_ms = 1\n", &["imap.burst_poll_ms", "at least 10", "burst_seconds = 0"]),
        ("[smtp]\nhost = \"127.0.0.1\"\nfrom = \"h@example.test\"\nsave_sent = \"Sent\"\n", &["smtp.save_sent", "[imap]"]),
        ("[alerts]\nwebhook_url = \"hooks.example.com/x\"\n", &["alerts.webhook_url", "http:// or https://"]),
        ("[imap]\nhost = \"127.0.0.1\"\nusername = \"u\"\npassword_env = \"X\"\n[smtp]\nhost = \"127.0.0.1\"\nfrom = \"h@example.test\"\nsave_sent = \" \"\n", &["smtp.save_sent", "name a mailbox"]),
    ];
    for (extra, expected) in cases {
        let sb = Sandbox::new(extra);
        let out = sb.cli(&["check-config"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "accepted a broken config:\n{extra}");
        for word in *expected {
            assert!(
                err.contains(word),
                "error for\n{extra}\nshould mention {word:?}, got: {err}"
            );
        }
    }
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = std::process::Command::new(crate::support::itdesk_bin())
        .args(["check-config", "--config", "/nonexistent/itdesk.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("cannot read config file /nonexistent/itdesk.toml"));
}

#[test]
fn check_config_warns_about_a_password_file_others_can_read() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let password = dir.path().join("smtp.password");
    std::fs::write(&password, "hunter2\n").unwrap();
    std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o644)).unwrap();
    let sb = Sandbox::new(&format!(
        "[smtp]\nhost = \"127.0.0.1\"\nsecurity = \"plain\"\nusername = \"helpdesk\"\npassword_file = \"{}\"\nfrom = \"helpdesk@example.test\"\n",
        password.display()
    ));
    let out = sb.cli(&["check-config"]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("readable by every user") && err.contains("chmod o-r"),
        "{err}"
    );
    std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = sb.cli(&["check-config"]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("readable"),
        "{out:?}"
    );
}

#[test]
fn check_config_refuses_a_broken_template_override_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("en")).unwrap();
    std::fs::write(
        dir.path().join("en/accepted.txt"),
        "Subject: [{{ ticket.id }}] accepted\n\nHello,\n{% if ticket.eta_local %}\nETA {{ ticket.eta_local }\n",
    )
    .unwrap();
    let sb = Sandbox::new(&format!(
        "[outbox]\ntemplates_dir = \"{}\"\n",
        dir.path().display()
    ));
    let out = sb.cli(&["check-config"]);
    assert!(!out.status.success(), "a broken override passed: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("en/accepted.txt:5)"), "file and line: {err}");
}

#[test]
fn check_config_refuses_a_misspelt_variable_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("zh-CN")).unwrap();
    std::fs::write(
        dir.path().join("zh-CN/progress.txt"),
        "Subject: [{{ ticket.id }}] 进展\n\n您好，\n{{ ticket.subjct }}\n",
    )
    .unwrap();
    let sb = Sandbox::new(&format!(
        "[outbox]\ntemplates_dir = \"{}\"\n",
        dir.path().display()
    ));
    let out = sb.cli(&["check-config"]);
    assert!(!out.status.success(), "a misspelt variable passed: {out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("zh-CN/progress.txt:4"), "file and line: {err}");
    assert!(err.contains("ticket.subjct"), "the variable: {err}");
    // `run` refuses it the same way, before anything starts.
    let run = sb.cli(&["run"]);
    assert!(!run.status.success(), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("zh-CN/progress.txt:4"));
}

#[test]
fn exported_templates_pass_check_config_and_preview_shows_an_edit() {
    let sb = Sandbox::new("");
    let dir = sb.dir.path().join("templates");
    let dir_arg = dir.display().to_string();
    let said = sb.cli_ok(&["templates", "export", &dir_arg]);
    let files = walkdir_count(&dir);
    assert!(
        said.contains(&format!("{files} templates written")),
        "{said}"
    );
    assert!(
        files >= 46,
        "{files} templates: every kind in both languages"
    );
    assert!(dir.join("en/accepted.txt").is_file() && dir.join("zh-CN/digest.txt").is_file());
    // A second export would overwrite the admin's edits: refused unless --force.
    let again = sb.cli(&["templates", "export", &dir_arg]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    std::fs::write(
        dir.join("en/accepted.txt"),
        "Subject: [{{ ticket.id }}] got it\n\nHi {{ ticket.requester_name }}, we are on it.\n",
    )
    .unwrap();
    sb.cli_ok(&["templates", "export", &dir_arg, "--force"]);
    assert!(std::fs::read_to_string(dir.join("en/accepted.txt"))
        .unwrap()
        .contains("Request accepted"));
    std::fs::write(
        dir.join("en/accepted.txt"),
        "Subject: [{{ ticket.id }}] got it\n\nHi {{ ticket.requester_name }}, we are on it.\n",
    )
    .unwrap();
    let text = std::fs::read_to_string(&sb.config).unwrap();
    std::fs::write(
        &sb.config,
        format!("{text}\n[outbox]\ntemplates_dir = \"{dir_arg}\"\n"),
    )
    .unwrap();
    sb.cli_ok(&["check-config"]);

    let sample = sb.cli_ok(&["templates", "preview", "accepted", "--lang", "en"]);
    assert_eq!(
        sample,
        "Subject: [IT20231001001] got it\n\nHi 张三, we are on it.\n"
    );
    // A real ticket, as its notice would show it: masked text, its own language.
    let ticket = sb.cli_json(&[
        "tickets",
        "open",
        "--from",
        "bob@example.test",
        "--subject",
        "VPN drops, password: hunter2",
        "--body",
        "The VPN drops every hour. password: hunter2",
        "--json",
    ]);
    let id = ticket["id"].as_str().unwrap();
    let real = sb.cli_ok(&[
        "templates",
        "preview",
        "progress",
        "--ticket",
        id,
        "--lang",
        "en",
    ]);
    assert!(real.contains(id), "{real}");
    assert!(!real.contains("hunter2"), "unmasked: {real}");
    let zh = sb.cli_ok(&["templates", "preview", "digest", "--lang", "zh-CN"]);
    assert!(
        zh.starts_with("Subject: ") && zh.contains("Test Desk"),
        "{zh}"
    );
    let unknown = sb.cli(&["templates", "preview", "acepted"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("accepted, "));
}

#[test]
fn check_config_refuses_a_report_template_that_does_not_render() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("report.html"),
        "<html>\n<h1>{{ helpdesk }}</h1>\n{{ period.form }}\n</html>\n",
    )
    .unwrap();
    let sb = Sandbox::new(&format!(
        "[outbox]\ntemplates_dir = \"{}\"\n",
        dir.path().display()
    ));
    let out = sb.cli(&["check-config"]);
    assert!(!out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("report.html:3"), "file and line: {err}");
    std::fs::write(
        dir.path().join("report.html"),
        "<h1>{{ helpdesk }} {{ period.from }}</h1>\n",
    )
    .unwrap();
    sb.cli_ok(&["check-config"]);
}

/// Files under `dir`, at any depth.
fn walkdir_count(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .expect("read the exported directory")
        .map(|e| e.expect("entry").path())
        .map(|p| match p.is_dir() {
            true => walkdir_count(&p),
            false => 1,
        })
        .sum()
}
