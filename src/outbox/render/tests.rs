//! The renderer's tests: every kind in both languages, the fields each notice
//! shows, overrides and broken templates.

use std::path::Path;

use super::samples::{bare_ticket, sample_context as ctx, sample_ticket, utc};
use super::view::human_size;
use super::*;
use crate::core::ticket::{CloseReason, Status, Ticket, Urgency};
fn render(r: &Renderer, kind: NoticeKind, lang: Lang, text: Option<&str>) -> Rendered {
    r.render(
        kind,
        lang,
        &ctx(&sample_ticket(), kind, lang, text, Some("李四")),
    )
    .unwrap_or_else(|e| panic!("{kind:?} {lang:?}: {e}"))
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

#[test]
fn a_staff_update_says_in_its_language_that_the_ticket_was_escalated() {
    let r = Renderer::new(None).unwrap();
    let mut ticket = sample_ticket();
    ticket.status = Status::Escalated;
    for (lang, says) in [
        (Lang::ZhCn, "该服务单已升级"),
        (Lang::En, "The ticket was escalated"),
    ] {
        let kind = NoticeKind::StaffUpdate;
        let out = r
            .render(
                kind,
                lang,
                &ctx(&ticket, kind, lang, Some("核心交换机故障"), Some("李四")),
            )
            .unwrap();
        assert!(out.body.contains(says), "{lang:?}:\n{}", out.body);
        assert!(out.body.contains("核心交换机故障") && out.body.contains("李四"));
    }
}

#[test]
fn every_kind_renders_in_both_languages_with_and_without_optional_fields() {
    let r = Renderer::new(None).unwrap();
    for ticket in [sample_ticket(), bare_ticket()] {
        for lang in LANGS {
            for &kind in NoticeKind::ALL {
                for (text, actor) in [(Some("一段说明"), Some("李四")), (None, None)] {
                    let out = r
                        .render(kind, lang, &ctx(&ticket, kind, lang, text, actor))
                        .unwrap_or_else(|e| panic!("{kind:?} {lang:?}: {e}"));
                    let what = format!("{kind:?} {lang:?}:\n{}\n\n{}", out.subject, out.body);
                    assert!(
                        !out.subject.is_empty() && !out.subject.contains('\n'),
                        "{what}"
                    );
                    // Digest and alert are about no single ticket.
                    if !matches!(kind, NoticeKind::Digest | NoticeKind::Alert) {
                        assert!(out.subject.contains("[IT20231001001]"), "{what}");
                        assert!(out.body.contains("IT20231001001"), "{what}");
                    }
                    assert!(
                        out.body.ends_with('\n') && !out.body.ends_with("\n\n"),
                        "{what}"
                    );
                    assert!(!out.body.starts_with(char::is_whitespace), "{what}");
                    assert!(!out.body.contains("\n\n\n"), "blank-line run in {what}");
                    // An unguarded `Option` prints as "none".
                    assert!(
                        !out.subject.contains("none") && !out.body.contains("none"),
                        "{what}"
                    );
                    assert!(
                        out.body.contains("IT 服务台"),
                        "signature missing in {what}"
                    );
                }
            }
        }
    }
}

/// Before the breach the requester hears why and a new ETA; the group
/// still sees the target.
#[test]
fn a_delay_tells_the_requester_why_and_the_new_eta() {
    let r = Renderer::new(None).unwrap();
    let ticket = Ticket {
        status: Status::InProgress,
        revised_eta: Some(utc(12, 0) + chrono::Duration::hours(24)),
        ..sample_ticket()
    };
    for (lang, says) in [
        (
            Lang::ZhCn,
            [
                "原定时间（2023-10-01 18:00）",
                "原因：排查和修复问题所需的时间超出了预期",
                "新的预计完成时间：2023-10-02 20:00",
            ],
        ),
        (
            Lang::En,
            [
                "by 2023-10-01 18:00",
                "Reason: finding and fixing the cause",
                "New estimated completion: 2023-10-02 20:00",
            ],
        ),
    ] {
        let kind = NoticeKind::Delayed;
        let out = r
            .render(kind, lang, &ctx(&ticket, kind, lang, None, None))
            .unwrap();
        for needle in says {
            assert!(
                out.body.contains(needle),
                "{needle:?} missing:\n{}",
                out.body
            );
        }
        let kind = NoticeKind::BreachWarning;
        let staff = r
            .render(kind, lang, &ctx(&ticket, kind, lang, None, None))
            .unwrap();
        assert!(
            staff.subject.contains("2023-10-01 18:00"),
            "{}",
            staff.subject
        );
        assert!(staff.body.contains("2023-10-02 20:00"), "{}", staff.body);
    }
    let unstarted = Ticket {
        status: Status::New,
        ..ticket
    };
    let out = render_ticket(&r, &unstarted, NoticeKind::Delayed, Lang::ZhCn);
    assert!(out.body.contains("尚未开始处理"), "{}", out.body);
}

#[test]
fn a_lowered_urgency_is_said_in_the_acceptance() {
    let r = Renderer::new(None).unwrap();
    let ticket = Ticket {
        urgency: Urgency::Low,
        ..sample_ticket()
    };
    let zh = render_ticket(&r, &ticket, NoticeKind::Accepted, Lang::ZhCn);
    assert!(
        zh.body
            .contains("您标注的紧急程度为“紧急”，但您在描述中提到“不影响工作”，因此按“低”处理"),
        "{}",
        zh.body
    );
    let en = render_ticket(&r, &ticket, NoticeKind::Accepted, Lang::En);
    assert!(
        en.body.contains(
            "You marked it Urgent, but you wrote \"不影响工作\", so we set the urgency to Low"
        ),
        "{}",
        en.body
    );
    let plain = Ticket {
        urgency_lowered: None,
        ..ticket
    };
    let zh = render_ticket(&r, &plain, NoticeKind::Accepted, Lang::ZhCn);
    assert!(!zh.body.contains("您标注的紧急程度"), "{}", zh.body);
}

fn render_ticket(r: &Renderer, ticket: &Ticket, kind: NoticeKind, lang: Lang) -> Rendered {
    r.render(kind, lang, &ctx(ticket, kind, lang, None, None))
        .unwrap()
}

#[test]
fn chinese_accepted_notice_has_every_field() {
    let r = Renderer::new(None).unwrap();
    let out = render(
        &r,
        NoticeKind::Accepted,
        Lang::ZhCn,
        Some("附件 video.mp4 超过 20 MB，未保存"),
    );
    assert!(
        out.subject.starts_with("[IT20231001001]"),
        "{}",
        out.subject
    );
    assert!(out.subject.contains("服务单已受理"));
    for want in [
        "服务单已受理",
        "IT20231001001",
        "软件异常",
        "紧急程度：高",
        "软件组",
        "李四",
        "预计完成时间：2023-10-01 18:00",
        "error.png (2.3 MB)",
        "附件 video.mp4 超过 20 MB，未保存",
    ] {
        assert!(out.body.contains(want), "{want:?} missing:\n{}", out.body);
    }
}

#[test]
fn english_accepted_notice_uses_english_labels() {
    let r = Renderer::new(None).unwrap();
    let out = render(&r, NoticeKind::Accepted, Lang::En, None);
    assert!(out.subject.contains("accepted"), "{}", out.subject);
    for want in [
        "Software issue",
        "Urgency:              High",
        "2023-10-01 18:00",
        "keep [IT20231001001]",
    ] {
        assert!(out.body.contains(want), "{want:?} missing:\n{}", out.body);
    }
    assert!(
        !out.body.contains("Please note"),
        "no notice text, no note:\n{}",
        out.body
    );
}

#[test]
fn an_urgent_ticket_tells_the_requester_the_number_to_call() {
    let r = Renderer::new(None).unwrap();
    let mut urgent = sample_ticket();
    urgent.urgency = Urgency::Urgent;
    for (lang, want) in [
        (Lang::ZhCn, "致电值班技术人员：8000"),
        (Lang::En, "on-duty technician: 8000"),
    ] {
        let kind = NoticeKind::Accepted;
        let out = r
            .render(kind, lang, &ctx(&urgent, kind, lang, None, None))
            .unwrap();
        assert!(out.body.contains(want), "{lang:?}:\n{}", out.body);
        let high = render(&r, kind, lang, None);
        assert!(
            !high.body.contains("8000"),
            "only when urgent:\n{}",
            high.body
        );
    }
}

#[test]
fn progress_shows_only_the_latest_public_log_entry() {
    let r = Renderer::new(None).unwrap();
    let out = render(&r, NoticeKind::Progress, Lang::ZhCn, None);
    assert!(out.body.contains("2023-10-01 10:15，李四"), "{}", out.body);
    assert!(out.body.contains("远程连接，发现数据库负载 90%"));
    assert!(
        !out.body.contains("vendor ticket"),
        "internal note leaked:\n{}",
        out.body
    );
}

#[test]
fn relay_shows_message_and_sender() {
    let r = Renderer::new(None).unwrap();
    let out = render(
        &r,
        NoticeKind::Relay,
        Lang::En,
        Some("Please restart your PC and try again."),
    );
    assert!(
        out.body.contains("Please restart your PC and try again."),
        "{}",
        out.body
    );
    assert!(out.body.contains("李四"));
    assert!(out.subject.contains("李四"));
}

#[test]
fn rating_thanks_shows_stars_and_remark() {
    let r = Renderer::new(None).unwrap();
    for lang in LANGS {
        let out = render(&r, NoticeKind::RatingThanks, lang, None);
        assert!(out.body.contains("★★★★☆"), "{}", out.body);
        assert!(out.body.contains("很快，谢谢"));
    }
}

#[test]
fn confirm_reminder_says_when_the_ticket_closes() {
    let r = Renderer::new(None).unwrap();
    let out = render(&r, NoticeKind::ConfirmReminder, Lang::ZhCn, None);
    assert!(
        out.body.contains("2023-10-04 11:00 自动关闭"),
        "{}",
        out.body
    );
}

#[test]
fn closed_notice_tells_confirmation_from_timeout() {
    let r = Renderer::new(None).unwrap();
    let close = |reason, lang| {
        let ticket = Ticket {
            close_reason: Some(reason),
            status: Status::Closed,
            ..sample_ticket()
        };
        r.render(
            NoticeKind::Closed,
            lang,
            &ctx(&ticket, NoticeKind::Closed, lang, None, None),
        )
        .unwrap()
        .body
    };
    assert!(close(CloseReason::Confirmed, Lang::En).contains("Thank you for confirming"));
    assert!(close(CloseReason::NoAnswer, Lang::En).contains("without confirmation"));
    assert!(close(CloseReason::ClosedByStaff, Lang::En).contains("by our staff"));
    assert!(close(CloseReason::NoAnswer, Lang::ZhCn).contains("未经确认"));
}

#[test]
fn urgent_page_cuts_long_descriptions() {
    let r = Renderer::new(None).unwrap();
    let description = (1..=20)
        .map(|i| format!("line {i}"))
        .collect::<Vec<_>>()
        .join("\n");
    let ticket = Ticket {
        urgency: Urgency::Urgent,
        description,
        ..sample_ticket()
    };
    let out = r
        .render(
            NoticeKind::UrgentPage,
            Lang::En,
            &ctx(&ticket, NoticeKind::UrgentPage, Lang::En, None, None),
        )
        .unwrap();
    assert!(out.body.contains("URGENT"));
    assert!(out.body.contains("line 8 …"), "{}", out.body);
    assert!(!out.body.contains("line 9"));
    assert!(out.body.contains("ext 8001"));
}

#[test]
fn subject_is_one_line_even_if_the_ticket_subject_is_not() {
    let r = Renderer::new(None).unwrap();
    let ticket = Ticket {
        subject: "printer\r\n  broken".into(),
        ..sample_ticket()
    };
    let out = r
        .render(
            NoticeKind::Progress,
            Lang::En,
            &ctx(&ticket, NoticeKind::Progress, Lang::En, None, None),
        )
        .unwrap();
    assert_eq!(
        out.subject,
        "[IT20231001001] Progress update: printer broken"
    );
}

#[test]
fn digest_renders_the_statistics() {
    let r = Renderer::new(None).unwrap();
    let out = render(&r, NoticeKind::Digest, Lang::ZhCn, None);
    assert!(
        out.subject.contains("周报 2023-09-25 至 2023-10-01"),
        "{}",
        out.subject
    );
    for want in [
        "新建服务单：42",
        "软件异常：12",
        "VPN 断线：4 次",
        "平均 4.6 星",
    ] {
        assert!(out.body.contains(want), "{want:?} missing:\n{}", out.body);
    }
    assert!(out.body.contains("按紧急程度"), "{}", out.body);
}

#[test]
fn override_dir_replaces_one_template_only() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "en/accepted.txt",
        "Subject: Got it [{{ ticket.id }}]\r\n\r\nHi {{ ticket.requester_name }}!\r\n",
    );
    let r = Renderer::new(Some(dir.path())).unwrap();
    let out = render(&r, NoticeKind::Accepted, Lang::En, None);
    assert_eq!(
        out,
        Rendered {
            subject: "Got it [IT20231001001]".into(),
            body: "Hi 张三!\n".into()
        }
    );
    let zh = render(&r, NoticeKind::Accepted, Lang::ZhCn, None);
    assert!(
        zh.body.contains("服务单已受理"),
        "built-in zh-CN kept:\n{}",
        zh.body
    );
}

#[test]
fn broken_override_fails_at_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "zh-CN/progress.txt",
        "Subject: [{{ ticket.id }}]\n\nline 3\n{{ ticket.id | }}\n",
    );
    let err = Renderer::new(Some(dir.path())).unwrap_err().to_string();
    assert!(
        err.contains(&dir.path().join("zh-CN/progress.txt").display().to_string()),
        "{err}"
    );
    assert!(
        err.contains("progress.txt:4"),
        "line number should match the file: {err}"
    );
}

#[test]
fn a_misspelt_variable_fails_at_start_naming_file_and_line() {
    // In a branch the sample takes, and in one no sample takes.
    for (text, line) in [
        ("Subject: [{{ ticket.id }}]\n\nHello\n{{ ticket.subjct }}\n", 4),
        (
            "Subject: [{{ ticket.id }}]\n\n{% if ticket.status == \"nosuch\" %}\n{{ ticket.no_such_field }}\n{% endif %}\n",
            4,
        ),
        ("Subject: {{ tickt.id }}\n\nbody\n", 1),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "en/relay.txt", text);
        let err = Renderer::new(Some(dir.path())).unwrap_err();
        assert!(matches!(err, RenderError::Check { .. }), "{text:?}: {err}");
        let err = err.to_string();
        assert!(err.contains(&format!("en/relay.txt:{line}")), "{text:?}: {err}");
    }
}

#[test]
fn a_template_that_fails_only_when_rendered_fails_at_start() {
    let dir = tempfile::tempdir().unwrap();
    // Parses, names only real variables, but cannot render: a string is not iterable as a
    // mapping, and `head` wants a number.
    write(
        dir.path(),
        "zh-CN/closed.txt",
        "Subject: x\n\nok\n{{ ticket.subject | head(\"two\") }}\n",
    );
    let err = Renderer::new(Some(dir.path())).unwrap_err();
    assert!(matches!(err, RenderError::Check { .. }), "{err}");
    assert!(err.to_string().contains("zh-CN/closed.txt:4"), "{err}");
}

#[test]
fn template_without_subject_line_is_refused_naming_the_file() {
    for text in [
        "Hello {{ ticket.id }}\n\nbody\n",
        "Subject: x\nbody right away\n",
        "Subject: only",
    ] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "en/closed.txt", text);
        let err = Renderer::new(Some(dir.path())).unwrap_err();
        assert!(
            matches!(err, RenderError::NoSubject { .. }),
            "{text:?}: {err}"
        );
        assert!(err.to_string().contains("en/closed.txt"), "{err}");
    }
}

#[test]
fn subject_line_parsing() {
    assert_eq!(
        split_subject("\u{feff}subject:  Hi {{ x }} \r\n\r\nbody\r\n"),
        Some(("Hi {{ x }}".to_string(), "\n\nbody\n".to_string()))
    );
    assert_eq!(
        split_subject("Subject: Hi\n\n"),
        Some(("Hi".to_string(), "\n\n".to_string()))
    );
    assert_eq!(split_subject("Subj: Hi\n\nbody"), None);
    assert_eq!(split_subject("主题: Hi\n\nbody"), None);
}

#[test]
fn unreadable_override_dir_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = Renderer::new(Some(&missing)).unwrap_err();
    assert!(matches!(err, RenderError::OverrideDir { .. }));
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn every_builtin_file_belongs_to_a_kind() {
    for (path, _) in BUILTIN {
        let known = LANGS.iter().any(|&lang| {
            NoticeKind::ALL
                .iter()
                .any(|&kind| relative_path(lang, kind) == *path)
        });
        assert!(known, "{path} is compiled in but no NoticeKind uses it");
    }
    assert_eq!(BUILTIN.len(), LANGS.len() * NoticeKind::ALL.len());
}

#[test]
fn head_and_sizes() {
    assert_eq!(head("a\nb\nc", 2), "a\nb …");
    assert_eq!(head(" a\nb \n", 2), "a\nb");
    assert_eq!(head(&"x".repeat(250), 2), format!("{} …", "x".repeat(200)));
    assert_eq!(human_size(800), "800 B");
    assert_eq!(human_size(1500), "2 KB");
    assert_eq!(human_size(5 * 1024 * 1024), "5.0 MB");
}

#[test]
fn the_digest_sample_has_every_key_the_digest_context_makes() {
    use crate::queue::Cadence;
    use crate::stats::digest::{context, Format};
    let report = crate::stats::aggregate::tests::report_fixture();
    let sample = super::samples::digest_sample("email");
    for lang in LANGS {
        for format in [Format::Email, Format::Chat] {
            let real = context(&report, Cadence::Weekly, lang, format, &Default::default());
            for key in real.as_object().unwrap().keys() {
                assert!(sample.get(key).is_some(), "digest sample lacks {key}");
            }
        }
    }
}
