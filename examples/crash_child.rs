//! The child of the crash test (tests/it/crash.rs): opens the store of the
//! config given as its argument and commits tickets as fast as it can, printing
//! `committed ID` after each one the engine flushed, until it is killed.

use std::sync::Arc;

use itdesk::app::Core;
use itdesk::clock::SystemClock;
use itdesk::config::Config;
use itdesk::core::ticket::{Channel, Lang, ProblemType, Requester, Urgency};
use itdesk::engine::IntakeOutcome;
use itdesk::intake::Request;

fn main() {
    let config = std::env::args().nth(1).expect("usage: crash_child CONFIG");
    let config = Config::load(std::path::Path::new(&config)).expect("config");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let core = Core::start(&config, Arc::new(SystemClock)).expect("store");
        for n in 0.. {
            if let IntakeOutcome::Created(id) =
                core.engine.intake(request(n)).await.expect("intake")
            {
                // Printed only after the engine flushed: the parent may rely on it.
                println!("committed {id}");
            }
        }
    });
}

fn request(n: u64) -> Request {
    Request {
        cc: Vec::new(),
        auth: Default::default(),
        channel: Channel::Email,
        message_id: format!("crash-{n}-{}@example.test", std::process::id()),
        references: Vec::new(),
        ticket_tag: None,
        requester: Requester {
            email: Some(format!("user{n}@example.test")),
            ..Requester::default()
        },
        subject: format!("request {n}"),
        body: "The monitor flickers and goes black after ten minutes.".into(),
        problem_type: ProblemType::Hardware,
        urgency: Urgency::Medium,
        urgency_lowered: None,
        expected_time: None,
        vague: false,
        lang: Some(Lang::En),
        attachments: Vec::new(),
        automated: None,
        bounce: None,
        warnings: Vec::new(),
        received_at: chrono::Utc::now(),
    }
}
