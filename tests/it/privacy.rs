//! Personal data: one requester erased for good (not a byte left in the
//! store's files), closed tickets erased after the retention period while the
//! statistics still count them, private files whatever the umask, and
//! attachments that carry programs refused.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use itdesk::app::Core;
use itdesk::clock::{Clock, ManualClock};
use itdesk::config::Config;
use itdesk::core::lifecycle::Action;
use itdesk::intake::{prepare, InboundMessage, Sender};
use itdesk::outbox::live::{LiveNotices, NoticeSettings};
use itdesk::outbox::transport::Transports;
use itdesk::outbox::{Dispatcher, DispatcherParts};
use itdesk::stats::period::PeriodSpec;

use crate::email::{
    log_entries, notice_ticket, notices, str_of, with_attachment, ALICE, HELPDESK, WAIT,
};
use crate::mailrig::MailRig;
use crate::support::{itdesk_bin, wait_until, Sandbox};

/// Which of `needles` occur in any file under `dir`, byte for byte.
fn found_in_files(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            for n in needles {
                if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                    found.push(format!("{n} in {}", path.display()));
                }
            }
        }
    }
    found
}

fn open(sb: &Sandbox, from: &str, name: &str, body: &str) -> String {
    let t = sb.cli_json(&[
        "tickets",
        "open",
        "--from",
        from,
        "--name",
        name,
        "--subject",
        "VPN 断线",
        "--body",
        body,
        "--json",
    ]);
    str_of(&t, "id").to_string()
}

#[test]
fn an_erased_requester_leaves_no_byte_in_the_store() {
    let sb = Sandbox::new("");
    let state = sb.dir.path().join("state");
    let alice = [
        "alice@example.test",
        "张三丰",
        "8001",
        "我的猫叫咪咪它会开保险柜",
    ];
    let a1 = open(
        &sb,
        alice[0],
        alice[1],
        "VPN 每小时掉线一次。我的猫叫咪咪它会开保险柜。\n销售部 分机 8001",
    );
    let a2 = open(
        &sb,
        alice[0],
        alice[1],
        "打印机卡纸，我的猫叫咪咪它会开保险柜。",
    );
    let b1 = open(
        &sb,
        "bob@example.test",
        "李小龙",
        "Outlook 无法发送邮件，我的狗叫旺财。",
    );
    sb.cli_ok(&["tickets", "note", &a1, "张三丰 说是在家办公时发生的"]);
    let backup = sb.dir.path().join("before.backup");
    sb.cli_ok(&["backup", backup.to_str().unwrap()]);
    let before = found_in_files(&state, &alice);
    for needle in alice {
        assert!(
            before.iter().any(|f| f.starts_with(needle)),
            "the test must see {needle} in the raw files first: {before:?}"
        );
    }

    // No daemon: the store is rewritten at once.
    let dry = sb.cli_json(&[
        "erase",
        "--requester",
        "ALICE@example.test",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(dry["tickets"].as_array().unwrap().len(), 2, "{dry}");
    let out = sb.cli_json(&["erase", "--requester", "alice@example.test", "--json"]);
    assert_eq!(out["erased"]["tickets"], 2, "{out}");
    assert!(out["erased"]["message_ids"].as_u64().unwrap() >= 2, "{out}");
    assert_eq!(out["rewritten"], true, "{out}");
    assert_eq!(
        out["older_backups"][0]["path"].as_str(),
        Some(backup.to_str().unwrap()),
        "the backup still holding her data is named: {out}"
    );
    assert_eq!(found_in_files(&state, &alice), Vec::<String>::new());
    for id in [&a1, &a2] {
        let t = sb.ticket(id);
        assert_eq!(str_of(&t, "subject"), "[erased]");
        assert!(t["erased_at"].is_string(), "{t}");
    }
    let bob = sb.ticket(&b1);
    assert!(
        str_of(&bob, "description").contains("旺财"),
        "bob is intact: {bob}"
    );
    let stats = sb.cli_json(&["stats", "--period", "2020-01-01..2035-12-31", "--json"]);
    assert_eq!(
        stats["totals"]["opened"], 3,
        "the statistics still count her tickets: {stats}"
    );

    // With the daemon holding the store, the rewrite happens at its next start.
    let daemon = sb.start_daemon();
    let out = sb.cli_json(&["erase", "--requester", "bob@example.test", "--json"]);
    assert_eq!(out["rewrite_pending"], true, "{out}");
    daemon.stop();
    let daemon = sb.start_daemon();
    daemon.stop();
    assert_eq!(
        found_in_files(&state, &["bob@example.test", "李小龙", "旺财"]),
        Vec::<String>::new()
    );
    let audit = sb.cli_json(&["audit", "--json"]);
    let erasures: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["what"].as_str())
        .filter(|w| w.starts_with("erasure"))
        .collect();
    assert_eq!(erasures.len(), 2, "{audit}");
    assert!(
        !audit.to_string().contains("alice@") && !audit.to_string().contains("bob@"),
        "the audit names tickets, not people: {audit}"
    );
}

#[tokio::test]
async fn retention_erases_old_closed_tickets_and_the_statistics_still_count_them() {
    let sb = Sandbox::new("[retention]\nclosed_after = \"365d\"\n");
    let config = Config::load(&sb.config).unwrap();
    let t0 = Utc.with_ymd_and_hms(2025, 10, 9, 2, 0, 0).unwrap();
    let clock = Arc::new(ManualClock::new(t0));
    let core = Core::start(&config, clock.clone()).unwrap();
    let message = InboundMessage {
        cc: Vec::new(),
        auth: Default::default(),
        channel: itdesk::core::ticket::Channel::Email,
        message_id: "old-1@example.test".into(),
        references: Vec::new(),
        from: Sender {
            name: Some("张三丰".into()),
            address: "alice@example.test".into(),
        },
        subject: "CRM 登录报错".into(),
        body: "10:00 登录 CRM 提示数据库连接超时，我的猫叫咪咪。".into(),
        attachments: Vec::new(),
        received_at: t0,
        automated: None,
        bounce: None,
        warnings: Vec::new(),
    };
    let outcome = core
        .engine
        .intake(prepare(message, &config.classify, &Default::default()))
        .await
        .unwrap();
    let id = outcome.ticket().unwrap().clone();
    let close = Action::Close {
        by: "李四".into(),
        reason: "resolved by phone".into(),
    };
    core.engine.act(id.clone(), close).await.unwrap();
    core.engine.arm_retention().await.unwrap();
    let dispatcher = Dispatcher::new(
        &config,
        DispatcherParts {
            store: core.store.clone(),
            engine: core.engine.clone(),
            notices: LiveNotices::new(NoticeSettings::load(&config).unwrap()),
            transports: Transports::default(),
            clock: clock.clone(),
            wake: core.outbox_wake.clone(),
            health: core.health.clone(),
        },
    );
    let run = |at| {
        clock.set(at);
        async { while dispatcher.run_due().await.unwrap() > 0 {} }
    };
    // A day later it is kept; a year and a day later it is erased.
    run(t0 + Duration::days(1)).await;
    assert!(core.store.ticket(&id).unwrap().unwrap().erased_at.is_none());
    run(t0 + Duration::days(366) + Duration::hours(2)).await;
    let t = core.store.ticket(&id).unwrap().unwrap();
    assert!(t.erased_at.is_some(), "{t:?}");
    let text = serde_json::to_string(&t).unwrap();
    assert!(
        !text.contains("张三丰") && !text.contains("咪咪") && !text.contains("alice@"),
        "{text}"
    );
    let period = PeriodSpec::parse("2025-10-01..2025-10-31")
        .unwrap()
        .resolve(clock.now(), config.settings.basis.tz);
    let report = core
        .store
        .report(
            config
                .settings
                .basis
                .query(period, None, config.default_lang()),
        )
        .unwrap();
    assert_eq!(report.totals.opened, 1, "the month still counts it");
    // The next run is queued for the next day.
    let next = core
        .store
        .entries()
        .filter_map(Result::ok)
        .filter(|(_, e)| matches!(e.body, itdesk::queue::EntryBody::Retention))
        .count();
    assert_eq!(next, 1);
    core.stop().await.unwrap();
}

#[test]
fn exports_backups_and_the_store_are_private_whatever_the_umask() {
    let sb = Sandbox::new("");
    open(&sb, "a@example.test", "甲", "VPN 断线");
    let export = sb.dir.path().join("tickets.jsonl");
    let backup = sb.dir.path().join("all.backup");
    for args in [
        format!("export --output {}", export.display()),
        format!("backup {}", backup.display()),
    ] {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "umask 022; exec {} --config {} {args}",
                itdesk_bin().display(),
                sb.config.display()
            ))
            .output()
            .unwrap();
        assert!(out.status.success(), "{args}: {out:?}");
    }
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&export), 0o600);
    assert_eq!(mode(&backup), 0o600);
    let state = sb.dir.path().join("state");
    assert_eq!(mode(&state), 0o700);
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
}

#[test]
fn an_attachment_that_carries_a_program_is_dropped_and_the_requester_told() {
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config(""));
    let daemon = sb.start_daemon();
    rig.send(
        ALICE.1,
        HELPDESK,
        &with_attachment(
            "exe-1@example.test",
            "发票打不开",
            "附件里的发票打不开，请帮忙看看。",
            "report.pdf.exe",
            2048,
        ),
    );
    wait_until("the accepted notice", WAIT, || {
        notices(&rig, "alice").len() == 1
    });
    let notice = &notices(&rig, "alice")[0];
    let id = notice_ticket(notice);
    let t = sb.ticket(&id);
    assert_eq!(t["attachments"].as_array().unwrap().len(), 0, "{t}");
    let remarks = t["remarks"].to_string();
    assert!(
        remarks.contains("report.pdf.exe") && remarks.contains(".exe"),
        "{t}"
    );
    assert!(notice.body.contains("report.pdf.exe"), "{}", notice.body);
    assert!(log_entries(&t, "created").len() == 1);
    daemon.stop();
}
