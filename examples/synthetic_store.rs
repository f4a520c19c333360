//! `cargo run --example synthetic_store -- STORE_DIR [TICKETS] [YYYY-MM]`:
//! fills an empty store with a realistic month of tickets (default 3000 in
//! 2023-10, plus the weeks before it so the backlog has a history), each one
//! lived through `core::lifecycle` — opened, assigned, sometimes escalated or
//! reopened, resolved, rated — and imported through the store, so its
//! statistics record is written as in production. Used by
//! `scripts/report-screenshot.sh` to render the report that `docs/report.png` shows.

use std::path::PathBuf;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use itdesk::core::id::TicketId;
use itdesk::core::lifecycle::{apply, open, Action, NewTicket, ReplyIntent};
use itdesk::core::sla::Policy;
use itdesk::core::ticket::{Channel, Lang, ProblemType, Requester, Urgency, Written};
use itdesk::store::Store;

/// (subject, description, type, weight): what an office of a few thousand
/// people writes in about, the frequent problems several times over.
const PROBLEMS: &[(&str, &str, ProblemType, u32)] = &[
    (
        "VPN 经常断线",
        "在家办公，VPN 每小时掉线一次，需要重新登录。",
        ProblemType::Network,
        14,
    ),
    (
        "VPN disconnects every hour",
        "Since Monday the VPN drops every hour with error 809.",
        ProblemType::Network,
        10,
    ),
    (
        "打印机卡纸",
        "三楼打印机每页都卡纸，无法打印合同。",
        ProblemType::Hardware,
        9,
    ),
    (
        "Printer paper jam on 2nd floor",
        "The 2nd floor printer jams on every page.",
        ProblemType::Hardware,
        6,
    ),
    (
        "CRM 登录报错",
        "10:00 登录 CRM 提示“数据库连接超时”，影响客户跟进。",
        ProblemType::Software,
        10,
    ),
    (
        "Cannot log in to CRM",
        "CRM login says 'invalid session' since this morning.",
        ProblemType::Software,
        6,
    ),
    (
        "Outlook 无法发送邮件",
        "发送邮件一直停留在发件箱，提示服务器超时。",
        ProblemType::Software,
        8,
    ),
    (
        "Outlook crashes on start",
        "Outlook crashes right after the splash screen.",
        ProblemType::Software,
        5,
    ),
    (
        "电脑开不了机",
        "按电源键没有反应，指示灯不亮。",
        ProblemType::Hardware,
        6,
    ),
    (
        "wifi连不上",
        "会议室无线网络连不上，手机可以。",
        ProblemType::Network,
        7,
    ),
    (
        "Wi-Fi keeps dropping in meeting room B",
        "Laptops lose the Wi-Fi every few minutes.",
        ProblemType::Network,
        4,
    ),
    (
        "申请开通ERP系统账号",
        "新员工入职，需要开通 ERP 账号和采购模块权限。",
        ProblemType::Access,
        9,
    ),
    (
        "Mailbox permission change",
        "Please give me access to the sales shared mailbox.",
        ProblemType::Access,
        5,
    ),
    (
        "密码重置",
        "域账号密码过期，无法登录电脑。",
        ProblemType::Access,
        8,
    ),
    (
        "Password reset",
        "My account is locked after too many attempts.",
        ProblemType::Access,
        6,
    ),
    (
        "显示器黑屏",
        "显示器突然黑屏，主机还在运行。",
        ProblemType::Hardware,
        4,
    ),
    (
        "网速很慢",
        "下午开始网速很慢，打开网页要一分钟。",
        ProblemType::Network,
        5,
    ),
    (
        "共享盘打不开",
        "财务共享盘打不开，提示没有权限。",
        ProblemType::Access,
        4,
    ),
    ("键盘失灵", "键盘部分按键失灵。", ProblemType::Hardware, 3),
    (
        "SAP 数据同步失败",
        "SAP 与仓库系统的数据同步失败，报错 RFC timeout。",
        ProblemType::Software,
        4,
    ),
    (
        "Excel macro error",
        "The monthly report macro stops with error 1004.",
        ProblemType::Software,
        3,
    ),
    (
        "客户远程协助",
        "外部客户的产品连接不上服务器，需要远程协助。",
        ProblemType::Other,
        4,
    ),
    (
        "Projector in room 5 has no signal",
        "HDMI connected, projector says no signal.",
        ProblemType::Other,
        3,
    ),
    (
        "软件安装授权",
        "需要安装 Visio，申请授权。",
        ProblemType::Access,
        3,
    ),
];

const TECHS: &[(&str, ProblemType)] = &[
    ("李四", ProblemType::Software),
    ("王五", ProblemType::Software),
    ("zhao.liu", ProblemType::Network),
    ("陈静", ProblemType::Network),
    ("sun.qi", ProblemType::Hardware),
    ("周八", ProblemType::Hardware),
    ("wu.jiu", ProblemType::Access),
    ("郑十", ProblemType::Access),
    ("helpdesk.amy", ProblemType::Other),
];

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(
        args.first()
            .expect("usage: synthetic_store STORE_DIR [TICKETS] [YYYY-MM]"),
    );
    let count: u64 = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(3000);
    let month = args.get(2).map_or("2023-10", String::as_str);
    let first =
        NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").expect("month as YYYY-MM");
    let days = first
        .checked_add_months(chrono::Months::new(1))
        .expect("next month")
        .signed_duration_since(first)
        .num_days() as u64;

    let store = Store::open(&dir).expect("open the store");
    assert_eq!(
        store.ticket_count().unwrap(),
        0,
        "{} must be an empty store",
        dir.display()
    );
    let policy = Policy::default();
    let tz = policy.calendar.tz();
    let mut rng = Rng(7);
    let total_weight: u32 = PROBLEMS.iter().map(|p| p.3).sum();
    // Three weeks before the month, at a third of the rate: the backlog's history.
    let lead_in = 21;
    let mut serials = std::collections::HashMap::new();
    let mut made = 0;
    for n in 0..count + count * lead_in / days / 3 {
        let day = if n < count {
            first + Duration::days((n * days / count) as i64)
        } else {
            first - Duration::days(1 + rng.below(lead_in) as i64)
        };
        // Office hours, busier in the morning; fewer at weekends.
        if day.weekday().number_from_monday() > 5 && !rng.chance(25) {
            continue;
        }
        let minute = 8 * 60 + rng.below(5 * 60) + rng.below(5 * 60);
        let created: DateTime<Utc> = tz
            .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minute as i64);
        let mut pick = rng.below(u64::from(total_weight)) as u32;
        let (subject, body, problem_type, _) = PROBLEMS
            .iter()
            .find(|p| {
                pick < p.3 || {
                    pick -= p.3;
                    false
                }
            })
            .copied()
            .expect("weights");
        let urgency = match rng.below(100) {
            0..=4 => Urgency::Urgent,
            5..=24 => Urgency::High,
            25..=74 => Urgency::Medium,
            _ => Urgency::Low,
        };
        let serial = serials.entry(day).and_modify(|s| *s += 1).or_insert(1u64);
        let id = TicketId::new(day, *serial);
        let new = NewTicket {
            copied: Vec::new(),
            channel: [
                Channel::Email,
                Channel::Email,
                Channel::Email,
                Channel::Chat,
                Channel::Desk,
            ][rng.below(5) as usize],
            requester: Requester {
                name: Some(format!("user{}", rng.below(2000))),
                email: Some(format!("user{}@example.com", rng.below(2000))),
                ..Requester::default()
            },
            subject: subject.into(),
            description: body.into(),
            source_message_id: None,
            problem_type,
            urgency,
            urgency_lowered: None,
            expected_time: None,
            group: match problem_type {
                ProblemType::Other => "service-desk".into(),
                t => t.key().into(),
            },
            lang: Written::of(subject).lang().unwrap_or(Lang::ZhCn),
            attachments: Vec::new(),
            vague: false,
            warnings: Vec::new(),
            related: None,
        };
        let (mut t, _) = open(id, new, created, &policy);
        let techs: Vec<&str> = TECHS
            .iter()
            .filter(|(_, g)| *g == problem_type)
            .map(|(n, _)| *n)
            .collect();
        let tech = techs[rng.below(techs.len() as u64) as usize].to_string();
        let act = |t: &mut itdesk::core::ticket::Ticket, action: Action, at: DateTime<Utc>| {
            let _ = apply(t, action, at, &policy);
        };
        let allowed = (t.eta - created).num_minutes().max(30) as u64;
        let mut now = created
            + Duration::minutes(
                3 + rng.below(if urgency == Urgency::Urgent { 15 } else { 90 }) as i64,
            );
        act(
            &mut t,
            Action::Assign {
                to: tech.clone(),
                by: "lead".into(),
            },
            now,
        );
        if rng.chance(6) {
            now += Duration::minutes(30 + rng.below(120) as i64);
            act(
                &mut t,
                Action::Escalate {
                    by: tech.clone(),
                    reason: "vendor needed".into(),
                },
                now,
            );
        }
        let finished_by = created
            + Duration::minutes(
                (allowed * (20 + rng.below(100) + if rng.chance(12) { 150 } else { 0 }) / 100)
                    as i64,
            );
        let cutoff = first.checked_add_months(chrono::Months::new(1)).unwrap();
        let still_open = rng.chance(4) || finished_by.with_timezone(&tz).date_naive() >= cutoff;
        if !still_open {
            act(
                &mut t,
                Action::Resolve {
                    by: tech.clone(),
                    fix: "fixed".into(),
                },
                finished_by.max(now + Duration::minutes(5)),
            );
            let later = finished_by + Duration::hours(1 + rng.below(20) as i64);
            if rng.chance(4) {
                act(
                    &mut t,
                    Action::Reopen {
                        by: "requester".into(),
                        reason: "still broken".into(),
                    },
                    later,
                );
                act(
                    &mut t,
                    Action::Resolve {
                        by: tech.clone(),
                        fix: "fixed again".into(),
                    },
                    later + Duration::hours(2),
                );
            } else if rng.chance(55) {
                let stars = [5, 5, 5, 5, 4, 4, 4, 3, 2, 1][rng.below(10) as usize];
                act(
                    &mut t,
                    Action::RequesterReply {
                        intent: ReplyIntent::Confirm {
                            stars: Some(stars),
                            remark: None,
                        },
                        text: format!("{stars}"),
                    },
                    later,
                );
            }
        }
        store.import(&t).expect("import");
        made += 1;
    }
    futures::executor::block_on(store.flush()).expect("flush");
    println!("{made} tickets written to {}", dir.display());
}
