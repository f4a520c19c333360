//! Issue 12 item 7, the self-service FAQ end to end against the real mail
//! servers: confirmed fixes form a recurring cluster, staff approve it, and
//! a matching new request's acceptance offers the fix; another does not.

use crate::email::{str_of, WAIT};
use crate::mailrig::MailRig;
use crate::process::{about, request, GROUPS};
use crate::support::{wait_until, Sandbox};

const HINT: &str = "已知问题，您可以先尝试：";

#[test]
fn an_approved_fix_is_offered_to_a_matching_request_only() {
    let rig = MailRig::start();
    let sb = Sandbox::new(&rig.config(GROUPS));
    for subject in ["VPN 断线", "VPN 经常断线"] {
        let id = sb.open_vpn_request(subject);
        sb.cli_ok(&[
            "tickets",
            "resolve",
            &id,
            "--fix",
            "重装 VPN 客户端",
            "--by",
            "李四",
        ]);
        sb.cli_ok(&["tickets", "confirm", &id, "--stars", "5", "--by", "李四"]);
    }
    let entries = sb.cli_json(&["faq", "--json"]);
    let cluster = str_of(&entries[0], "cluster").to_string();

    let refused = sb.cli(&["faq", "approve", "printer+toner"]);
    assert!(!refused.status.success(), "no such cluster, no --fix");
    let approved = sb.cli_json(&["faq", "approve", &cluster, "--json"]);
    assert_eq!(str_of(&approved, "fix"), "重装 VPN 客户端", "{approved}");
    let listed = sb.cli_json(&["faq", "approved", "--json"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");

    let daemon = sb.start_daemon();
    let vpn = request(
        &rig,
        &sb,
        "VPN 又断线了",
        "VPN 每小时断线一次，请帮忙看看。\n",
    );
    let printer = request(&rig, &sb, "打印机卡纸", "三楼的打印机每页都卡纸。\n");
    let accepted = |id: &str| {
        let mut body = String::new();
        wait_until(&format!("the acceptance of {id}"), WAIT, || {
            let found = about(&rig, "alice", id)
                .into_iter()
                .find(|n| n.subject.contains("已受理"));
            body = found.map(|n| n.body).unwrap_or_default();
            !body.is_empty()
        });
        body
    };
    let vpn_body = accepted(&vpn);
    assert!(
        vpn_body.contains(&format!("{HINT}重装 VPN 客户端")),
        "{vpn_body}"
    );
    let printer_body = accepted(&printer);
    assert!(!printer_body.contains(HINT), "{printer_body}");

    sb.cli_ok(&["faq", "revoke", &cluster]);
    let listed = sb.cli_json(&["faq", "approved", "--json"]);
    assert_eq!(listed, serde_json::json!([]));
    daemon.stop();
}
