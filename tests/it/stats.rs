//! Statistics end to end: a week of tickets opened, worked, resolved and rated
//! through the real engine with a hand-moved clock; the weekly digest that
//! the outbox sends for it (HTML with charts, plain text, sent once even when
//! its time passed while the daemon was down); then `itdesk stats --json` and
//! `itdesk report --html` on the stopped store, with every number worked out
//! by hand.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use itdesk::app::Core;
use itdesk::clock::{Clock, ManualClock};
use itdesk::config::Config;
use itdesk::control::peers::Caller;
use itdesk::control::{handle, ControlRequest};
use itdesk::core::effect::NoticeKind;
use itdesk::core::id::TicketId;
use itdesk::core::lifecycle::Action;
use itdesk::core::ticket::{Channel, ProblemType, Urgency};
use itdesk::intake::{prepare, InboundMessage, Sender};
use itdesk::outbox::live::{LiveNotices, NoticeSettings};
use itdesk::outbox::transport::{DeliveryError, OutgoingMessage, Transport, Transports};
use itdesk::outbox::{digest, Dispatcher, DispatcherParts};
use itdesk::queue::Cadence;
use itdesk::queue::EntryBody;
use serde_json::Value;

use crate::support::Sandbox;

const CONFIG: &str = "[outbox]\nmax_notices_per_recipient_per_hour = 100\n[digest]\nweekly = \"mon 09:00\"\nemail = [\"lead@example.test\"]\n";

/// October 2023 in Asia/Shanghai; the 9th is a Monday.
pub(crate) fn local(day: u32, h: u32, m: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2023, 10, day, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

struct Recorder(Mutex<Vec<OutgoingMessage>>);

#[async_trait]
impl Transport for Recorder {
    async fn send(&self, msg: &OutgoingMessage) -> Result<(), DeliveryError> {
        self.0.lock().unwrap().push(msg.clone());
        Ok(())
    }
}

pub(crate) struct Week {
    pub(crate) core: Core,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) config: Config,
}

impl Week {
    async fn open(
        &self,
        at: DateTime<Utc>,
        from: &str,
        subject: &str,
        body: &str,
        urgency: Urgency,
        t: ProblemType,
    ) -> TicketId {
        self.clock.set(at);
        let req = ControlRequest::Open {
            from: from.into(),
            name: None,
            subject: subject.into(),
            body: body.into(),
            urgency: Some(urgency),
            problem_type: Some(t),
        };
        let ticket = handle(req, &self.core.control, &Caller::this_process())
            .await
            .unwrap();
        TicketId::parse(ticket["id"].as_str().unwrap()).unwrap()
    }

    async fn act(&self, at: DateTime<Utc>, id: &TicketId, action: Action) {
        self.clock.set(at);
        self.core
            .engine
            .act(id.clone(), action)
            .await
            .unwrap()
            .applied()
            .expect("the action applies");
    }

    /// The requester answers the "resolved — please confirm and rate" mail.
    async fn rate(&self, at: DateTime<Utc>, id: &TicketId, from: &str, text: &str) {
        self.clock.set(at);
        let message = InboundMessage {
            cc: Vec::new(),
            auth: Default::default(),
            channel: Channel::Email,
            message_id: format!("rate-{id}@example.test"),
            references: Vec::new(),
            from: Sender {
                name: None,
                address: from.into(),
            },
            subject: format!("Re: [{id}] resolved"),
            body: text.into(),
            attachments: Vec::new(),
            received_at: at,
            automated: None,
            bounce: None,
            warnings: Vec::new(),
        };
        self.core
            .engine
            .intake(prepare(message, &self.config.classify, &Default::default()))
            .await
            .unwrap();
    }

    pub(crate) fn dispatcher(&self, email: Arc<dyn Transport>) -> Dispatcher {
        Dispatcher::new(
            &self.config,
            DispatcherParts {
                store: self.core.store.clone(),
                engine: self.core.engine.clone(),
                notices: LiveNotices::new(NoticeSettings::load(&self.config).unwrap()),
                transports: Transports {
                    email: Some(email),
                    chat: None,
                },
                clock: self.clock.clone(),
                wake: self.core.outbox_wake.clone(),
                health: self.core.health.clone(),
            },
        )
    }

    /// Due times of the queued weekly (`true`) and monthly digest timers.
    fn queued_digests(&self, weekly: bool) -> Vec<DateTime<Utc>> {
        let wanted = if weekly {
            Cadence::Weekly
        } else {
            Cadence::Monthly
        };
        self.core
            .store
            .entries()
            .map(|e| e.unwrap().1)
            .filter(|e| matches!(e.body, EntryBody::Digest { cadence, .. } if cadence == wanted))
            .map(|e| e.due)
            .collect()
    }
}

fn by(who: &str) -> String {
    who.to_string()
}

pub(crate) async fn a_week_of_tickets(week: &Week) {
    use ProblemType::*;
    use Urgency::*;
    let a = week
        .open(
            local(9, 10, 0),
            "alice@example.test",
            "VPN disconnects every hour",
            "Since Monday the VPN drops with error 809.",
            High,
            Network,
        )
        .await;
    week.act(
        local(9, 10, 20),
        &a,
        Action::Assign {
            to: by("li.si"),
            by: by("lead"),
        },
    )
    .await;
    week.act(
        local(9, 13, 0),
        &a,
        Action::Resolve {
            by: by("li.si"),
            fix: "MTU 1400".into(),
        },
    )
    .await;
    week.rate(local(9, 14, 0), &a, "alice@example.test", "5")
        .await;

    let b = week
        .open(
            local(9, 11, 0),
            "bob@example.test",
            "VPN 断线",
            "在家办公，VPN 每小时掉线一次",
            High,
            Network,
        )
        .await;
    week.act(
        local(9, 11, 10),
        &b,
        Action::Assign {
            to: by("li.si"),
            by: by("lead"),
        },
    )
    .await;
    week.act(
        local(9, 21, 0),
        &b,
        Action::Resolve {
            by: by("li.si"),
            fix: "新证书".into(),
        },
    )
    .await;
    week.rate(local(10, 8, 0), &b, "bob@example.test", "3星")
        .await;

    let c = week
        .open(
            local(10, 9, 0),
            "carol@example.test",
            "打印机卡纸",
            "三楼打印机每页都卡纸",
            Medium,
            Hardware,
        )
        .await;
    week.act(
        local(10, 9, 30),
        &c,
        Action::Assign {
            to: by("wang.wu"),
            by: by("lead"),
        },
    )
    .await;
    week.act(
        local(10, 15, 0),
        &c,
        Action::Resolve {
            by: by("wang.wu"),
            fix: "换了搓纸轮".into(),
        },
    )
    .await;

    week.open(
        local(11, 9, 0),
        "dave@example.test",
        "CRM 登录报错",
        "登录 CRM 提示数据库连接超时",
        Urgent,
        Software,
    )
    .await;

    let e = week
        .open(
            local(12, 9, 0),
            "erin@example.test",
            "Printer paper jam",
            "The 2nd floor printer jams again.",
            Low,
            Hardware,
        )
        .await;
    week.act(
        local(12, 10, 0),
        &e,
        Action::Assign {
            to: by("wang.wu"),
            by: by("lead"),
        },
    )
    .await;
}

#[tokio::test]
async fn a_week_of_tickets_becomes_statistics_a_digest_and_a_report() {
    let sb = Sandbox::new(CONFIG);
    let config = Config::load(&sb.config).unwrap();
    let clock = Arc::new(ManualClock::new(local(9, 9, 0)));
    let core = Core::start(&config, clock.clone()).unwrap();
    let week = Week {
        core,
        clock: clock.clone(),
        config,
    };
    a_week_of_tickets(&week).await;

    // The daemon starts on Monday 08:00 and arms the digest for 09:00.
    clock.set(local(16, 8, 0));
    let settings = week.config.settings.digest.clone();
    digest::arm(&week.core.store, settings.as_ref(), clock.now()).unwrap();
    digest::arm(&week.core.store, settings.as_ref(), clock.now()).unwrap();
    assert_eq!(
        week.queued_digests(true),
        [local(16, 9, 0)],
        "one timer per cadence, however often armed"
    );
    assert_eq!(
        week.queued_digests(false),
        [local(1, 9, 0) + chrono::Duration::days(31)],
        "monthly: \"1 09:00\" by default"
    );

    let recorder = Arc::new(Recorder(Mutex::new(Vec::new())));
    let dispatcher = week.dispatcher(recorder.clone());
    clock.set(local(16, 9, 0));
    while dispatcher.run_due().await.unwrap() > 0 {}
    let digests: Vec<OutgoingMessage> = recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.kind == NoticeKind::Digest)
        .cloned()
        .collect();
    assert_eq!(digests.len(), 1, "{digests:?}");
    let mail = &digests[0];
    assert_eq!(mail.dest.to_string(), "email:lead@example.test");
    assert_eq!(
        mail.subject,
        "Test Desk: weekly report 2023-10-09 – 2023-10-15"
    );
    for line in [
        "New tickets:        5",
        "Resolved:           3",
        "Still open:         2",
        "Targets missed:     2",
        "Median resolution:  6 h",
        "Satisfaction:       4.0 / 5 (2 ratings)",
        "2 × VPN disconnects",
    ] {
        assert!(
            mail.body.contains(line),
            "{line:?} missing from:\n{}",
            mail.body
        );
    }
    let html = mail.html.as_deref().expect("an HTML part");
    // Charts by `cid:` as PNG (`digest_mail` checks the mail as sent).
    assert_eq!(html.matches("src=\"cid:chart-").count(), 4);
    assert_eq!(mail.images.len(), 4);
    assert!(!html.contains("<svg"));
    assert!(
        html.contains("Weekly report")
            && html.contains("VPN disconnects")
            && html.contains("2023-10-09 – 2023-10-15")
    );
    assert_eq!(
        week.queued_digests(true),
        [local(23, 9, 0)],
        "the next one is armed"
    );

    // Down from Sunday to the Monday after next: the missed digest goes out
    // once at start-up, and the next is armed from then.
    clock.set(local(30, 12, 0));
    digest::arm(&week.core.store, settings.as_ref(), clock.now()).unwrap();
    while dispatcher.run_due().await.unwrap() > 0 {}
    let subjects: Vec<String> = recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.kind == NoticeKind::Digest)
        .map(|m| m.subject.clone())
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(
        subjects[1].ends_with("2023-10-16 – 2023-10-22"),
        "the week before it was due: {subjects:?}"
    );
    assert_eq!(
        week.queued_digests(true),
        [local(30, 9, 0) + chrono::Duration::days(7)]
    );

    drop(dispatcher);
    week.core.stop().await.unwrap();

    // The stopped store, through the CLI.
    let s = sb.cli_json(&["stats", "--period", "2023-10-09..2023-10-15", "--json"]);
    let n = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"));
    let f = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert_eq!(
        (
            s["period"]["from"].as_str(),
            s["period"]["timezone"].as_str()
        ),
        (Some("2023-10-09"), Some("Asia/Shanghai"))
    );
    assert_eq!(
        [
            n(&s["totals"]["opened"]),
            n(&s["totals"]["resolved"]),
            n(&s["totals"]["open_at_end"]),
            n(&s["totals"]["breached"])
        ],
        [5, 3, 2, 2]
    );
    assert_eq!(
        [
            n(&s["by_type"]["network"]),
            n(&s["by_type"]["hardware"]),
            n(&s["by_type"]["software"]),
            n(&s["by_type"]["access"])
        ],
        [2, 2, 1, 0]
    );
    assert_eq!(
        [
            n(&s["by_urgency"]["urgent"]),
            n(&s["by_urgency"]["high"]),
            n(&s["by_urgency"]["medium"]),
            n(&s["by_urgency"]["low"])
        ],
        [1, 2, 1, 1]
    );
    assert_eq!(n(&s["by_channel"]["desk"]), 5);
    let resolution = &s["resolution"]["all"];
    assert_eq!(
        [
            f(&resolution["mean_s"]),
            f(&resolution["median_s"]),
            f(&resolution["p90_s"])
        ],
        [22800.0, 21600.0, 36000.0]
    );
    assert_eq!(
        f(&s["resolution"]["by_urgency"]["high"]["median_s"]),
        23400.0
    );
    let response = &s["first_response"]["all"];
    assert_eq!(
        [
            n(&response["count"]) as f64,
            f(&response["mean_s"]),
            f(&response["median_s"]),
            f(&response["p90_s"])
        ],
        [4.0, 1800.0, 1500.0, 3600.0]
    );
    let sla = &s["sla"]["by_urgency"];
    assert_eq!(
        [
            f(&sla["high"]["compliance"]),
            f(&sla["medium"]["compliance"]),
            f(&sla["urgent"]["compliance"])
        ],
        [0.5, 1.0, 0.0]
    );
    assert!(sla["low"]["compliance"].is_null(), "nothing fell due");
    assert_eq!(sla["high"]["target"], "8h");
    assert_eq!(f(&s["sla"]["all"]["compliance"]), 0.5);
    assert_eq!(
        s["csat"]["distribution"],
        serde_json::json!([0, 0, 1, 0, 1])
    );
    assert_eq!(
        [f(&s["csat"]["average"]), f(&s["csat"]["response_rate"])],
        [4.0, 2.0 / 3.0]
    );
    assert_eq!(f(&s["reopen"]["rate"]), 0.0);
    assert_eq!(n(&s["backlog"]["open"]), 2);
    assert_eq!(
        s["backlog"]["by_age"][2],
        serde_json::json!({ "name": "3-7d", "count": 2 })
    );
    let techs: Vec<(String, u64, u64)> = s["technicians"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                n(&t["handled"]),
                n(&t["resolved"]),
            )
        })
        .collect();
    assert_eq!(
        techs,
        [("li.si".to_string(), 2, 2), ("wang.wu".to_string(), 2, 1)]
    );
    assert_eq!(f(&s["technicians"][0]["csat_average"]), 4.0);
    let clusters: Vec<(String, u64)> = s["recurring"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["label"].as_str().unwrap().to_string(), n(&c["count"])))
        .collect();
    assert_eq!(
        clusters,
        [
            ("VPN disconnects".to_string(), 2),
            ("Printer paper jam".to_string(), 2)
        ]
    );

    let network = sb.cli_json(&[
        "stats",
        "--period",
        "2023-10-09..2023-10-15",
        "--group",
        "network",
        "--json",
    ]);
    assert_eq!(n(&network["totals"]["opened"]), 2);
    let zh = sb.cli_ok(&[
        "stats",
        "--period",
        "2023-10-09..2023-10-15",
        "--lang",
        "zh-CN",
    ]);
    assert!(
        zh.contains("新建服务单: 5") && zh.contains("VPN 断线") && zh.contains("打印机卡纸"),
        "{zh}"
    );

    let file = sb.dir.path().join("report.html");
    sb.cli_ok(&[
        "report",
        "--period",
        "2023-10-09..2023-10-15",
        "--html",
        file.to_str().unwrap(),
    ]);
    let page = std::fs::read_to_string(&file).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("Test Desk — Report"));
    assert_eq!(page.matches("<svg ").count(), 4);
    assert!(
        page.contains("VPN disconnects") && page.contains("li.si") && !page.contains("<script")
    );
    let bad = sb.cli(&["stats", "--period", "fortnight"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a period"));
}

#[test]
fn stats_after_a_rebuild_from_the_cli() {
    let sb = Sandbox::new("");
    sb.cli_ok(&[
        "tickets",
        "open",
        "--from",
        "a@example.test",
        "--subject",
        "Outlook crashes",
        "--body",
        "Outlook crashes at start.",
        "--type",
        "software",
    ]);
    sb.cli_ok(&[
        "tickets",
        "open",
        "--from",
        "b@example.test",
        "--subject",
        "Outlook crash again",
        "--body",
        "It crashed twice.",
        "--type",
        "software",
    ]);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let range = format!(
        "{}..{}",
        today - chrono::Days::new(1),
        today + chrono::Days::new(1)
    );
    let s = sb.cli_json(&["stats", "--period", &range, "--json", "--rebuild"]);
    assert_eq!(s["totals"]["opened"], 2);
    assert_eq!(s["recurring"][0]["label"], "Outlook crashes");
}

#[test]
fn digest_settings_are_checked_when_the_config_is_loaded() {
    let path = std::path::Path::new("itdesk.toml");
    let load = |digest: &str| {
        Config::parse(
            &format!("[store]\npath = \"/tmp/x\"\n\n[digest]\n{digest}\n"),
            path,
        )
    };
    let cases = [
        ("weekly = \"someday 09:00\"", "[digest.weekly]", "line 5"),
        (
            "monthly = \"32 09:00\"",
            "[digest.monthly]",
            "day of the month 1–31",
        ),
        ("language = \"fr\"", "[digest.language]", "zh-CN"),
        (
            "email = [\"lead\"]",
            "[digest.email]",
            "not an email address",
        ),
    ];
    for (line, key, detail) in cases {
        let err = load(line).unwrap_err().to_string();
        assert!(err.contains(key) && err.contains(detail), "{line}: {err}");
    }
    let ok = load("weekly = \"off\"\nemail = [\"lead@example.test\"]").unwrap();
    let settings = ok.settings.digest.clone().unwrap();
    assert_eq!(
        (settings.weekly, settings.monthly.map(|m| m.spec())),
        (None, Some("1 09:00".to_string()))
    );
    assert!(
        Config::parse("[store]\npath = \"/tmp/x\"\n", path)
            .unwrap()
            .settings
            .digest
            .is_none(),
        "no [digest]: off"
    );
}
