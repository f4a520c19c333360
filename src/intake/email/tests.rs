//! Whole mails through `parse_email`: ids, senders, charsets, limits,
//! automated mail and input that cannot be read.

use super::*;
use crate::core::ticket::Lang;

fn parse(raw: &str) -> InboundMessage {
    parse_email(
        raw.as_bytes(),
        &EmailLimits::default(),
        DateTime::UNIX_EPOCH,
    )
}

#[test]
fn normalises_ids_and_references() {
    let m = parse(
        "From: A <A@Example.COM>\r\nMessage-ID:  <x1@example.com> \r\nIn-Reply-To: <p@x>\r\nReferences: <r@x> <p@x>\r\nSubject: hi\r\n\r\nbody\r\n",
    );
    assert_eq!(m.message_id, "x1@example.com");
    assert_eq!(m.references, vec!["p@x", "r@x"]);
    assert_eq!(
        m.from,
        Sender {
            name: Some("A".into()),
            address: "a@example.com".into()
        }
    );
}

#[test]
fn synthesises_a_stable_id() {
    let raw = "From: a@x\r\nSubject: no id\r\n\r\nbody\r\n";
    let (a, b) = (parse(raw), parse(raw));
    assert_eq!(a.message_id, b.message_id);
    assert!(
        a.message_id.starts_with("sha256-") && a.message_id.ends_with("@missing"),
        "{}",
        a.message_id
    );
    assert_eq!(a.message_id.len(), "sha256-@missing".len() + 32);
    assert_ne!(
        a.message_id,
        parse("From: a@x\r\nSubject: other\r\n\r\nbody\r\n").message_id
    );
}

#[test]
fn falls_back_to_other_sender_headers() {
    let m = parse("Sender: Desk <desk@x.com>\r\nSubject: s\r\n\r\nb");
    assert_eq!(m.from.address, "desk@x.com");
    let m = parse("Return-Path: <bounce@x.com>\r\nSubject: s\r\n\r\nb");
    assert_eq!(m.from.address, "bounce@x.com");
}

#[test]
fn unreadable_input_is_kept_as_text() {
    for (raw, kept) in [
        (&b""[..], ""),
        (b"\xff\xfe\x00garbage", "garbage"),
        (b"hello world", "hello world"),
    ] {
        let m = parse_email(raw, &EmailLimits::default(), DateTime::UNIX_EPOCH);
        assert!(
            m.body.starts_with("[This mail could not be parsed."),
            "{:?}",
            m.body
        );
        assert!(m.body.contains(kept), "{:?}", m.body);
        assert_eq!(m.warnings.len(), 1);
    }
}

#[test]
fn detects_automated_mail() {
    let cases: &[(&str, Option<Automated>)] = &[
        (
            "Auto-Submitted: auto-replied\r\n",
            Some(Automated::AutoSubmitted("auto-replied".into())),
        ),
        ("Auto-Submitted: no\r\n", None),
        ("Precedence: bulk\r\n", Some(Automated::Bulk("bulk".into()))),
        ("Precedence: first-class\r\n", None),
        (
            "X-Auto-Response-Suppress: All\r\n",
            Some(Automated::SuppressAutoResponse),
        ),
        (
            "List-Id: <it.example.com>\r\n",
            Some(Automated::MailingList),
        ),
        (
            "List-Unsubscribe: <mailto:u@x>\r\n",
            Some(Automated::MailingList),
        ),
        (
            "X-Autoreply: yes\r\n",
            Some(Automated::AutoSubmitted("X-Autoreply: yes".into())),
        ),
        ("Return-Path: <>\r\n", Some(Automated::NullSender)),
        (
            "Message-ID: <n1.IT20231001001@itdesk.invalid>\r\n",
            Some(Automated::OwnMessage),
        ),
    ];
    for (header, want) in cases {
        let m = parse(&format!(
            "From: a@x.com\r\n{header}Subject: printer\r\n\r\nbody"
        ));
        assert_eq!(&m.automated, want, "{header}");
    }
    let m = parse("From: MAILER-DAEMON@x.com\r\nSubject: failure\r\n\r\nbody");
    assert_eq!(
        m.automated,
        Some(Automated::DaemonSender("mailer-daemon@x.com".into()))
    );
}

#[test]
fn a_huge_body_and_subject_are_cut_and_the_whole_text_kept() {
    let line = "打印机报错 E-05，无法打印。\n";
    let body = line.repeat(20_000);
    let subject = "很长的主题".repeat(1000);
    let raw = format!(
        "From: a@x.com\r\nSubject: =?UTF-8?B?{}?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &subject)
    );
    let m = parse_email(
        raw.as_bytes(),
        &EmailLimits::default(),
        DateTime::UNIX_EPOCH,
    );
    assert!(m.body.len() <= 64 * 1024 + 16, "{}", m.body.len());
    assert!(m.body.starts_with(line) && m.body.ends_with("[…]"));
    assert_eq!(m.subject.chars().count(), 1025);
    let full = m.attachments.iter().find(|a| a.name == FULL_BODY).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&full.data).trim_end(),
        body.trim_end()
    );
    assert!(
        m.warnings
            .iter()
            .any(|w| w.text(Lang::En).contains(FULL_BODY)),
        "{:?}",
        m.warnings
    );
}

#[test]
fn blank_lines_before_the_headers_are_skipped() {
    for lead in ["\r\n", "\n", "  \r\n\t\r\n"] {
        let raw = format!("{lead}From: 张三 <a@x.com>\r\nSubject: VPN\r\nMessage-ID: <m1@x.com>\r\n\r\nVPN 连不上\r\n");
        let m = parse_email(
            raw.as_bytes(),
            &EmailLimits::default(),
            DateTime::UNIX_EPOCH,
        );
        assert_eq!(
            (m.from.address.as_str(), m.subject.as_str()),
            ("a@x.com", "VPN"),
            "{lead:?}"
        );
        assert_eq!(m.message_id, "m1@x.com");
    }
}

#[test]
fn drops_oversized_attachments_with_a_warning() {
    let part = |name: &str, len: usize| {
        format!(
            "--b\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\r\n{}\r\n",
            "x".repeat(len)
        )
    };
    let raw = format!(
        "From: a@x.com\r\nSubject: files\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee files\r\n{}{}{}--b--\r\n",
        part("small.txt", 100),
        part("big.bin", 3000),
        part("c.zip", 1500)
    );
    let limits = EmailLimits {
        max_attachment_bytes: 2048,
        max_total_bytes: 1536,
        ..EmailLimits::default()
    };
    let m = parse_email(raw.as_bytes(), &limits, DateTime::UNIX_EPOCH);
    let got: Vec<(&str, u64, usize)> = m
        .attachments
        .iter()
        .map(|a| (a.name.as_str(), a.size, a.data.len()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("small.txt", 100, 100),
            ("big.bin", 3000, 0),
            ("c.zip", 1500, 0)
        ]
    );
    let told: Vec<String> = m.warnings.iter().map(|w| w.text(Lang::En)).collect();
    assert_eq!(
        told,
        vec![
            "attachment \"big.bin\" (2.9 KB) was not kept: over the 2.0 KB limit",
            "attachment \"c.zip\" (1.5 KB) was not kept: over the 1.5 KB limit for all attachments together",
        ]
    );
}

#[test]
fn reads_missing_and_wrong_charsets() {
    let qp = |bytes: &[u8]| {
        bytes
            .iter()
            .map(|b| format!("={b:02X}"))
            .collect::<String>()
    };
    let gbk = encoding_rs::GBK
        .encode("打印机卡纸了，错误代码E-05")
        .0
        .into_owned();
    let utf8 = "Prüfung fehlgeschlagen: Drucker".as_bytes();
    let latin1 = encoding_rs::WINDOWS_1252
        .encode("Café: l'écran est noir")
        .0
        .into_owned();
    let cases: Vec<(String, Vec<u8>, &str)> = vec![
        (
            "text/plain\r\nContent-Transfer-Encoding: 8bit".into(),
            gbk.clone(),
            "打印机卡纸了，错误代码E-05",
        ),
        (
            "text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: 8bit".into(),
            gbk.clone(),
            "打印机卡纸了",
        ),
        (
            "text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit".into(),
            gbk.clone(),
            "打印机卡纸了",
        ),
        (
            "text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable".into(),
            qp(&gbk).into_bytes(),
            "打印机卡纸了",
        ),
        (
            "text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit".into(),
            utf8.to_vec(),
            "Prüfung fehlgeschlagen",
        ),
        (
            "text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable".into(),
            qp(&latin1).into_bytes(),
            "Café: l'écran est noir",
        ),
        (
            "text/html\r\nContent-Transfer-Encoding: 8bit".into(),
            [&b"<p>"[..], &gbk, b"</p>"].concat(),
            "打印机卡纸了",
        ),
    ];
    for (content_type, body, want) in cases {
        let raw = [
            format!("From: a@x.com\r\nSubject: s\r\nContent-Type: {content_type}\r\n\r\n")
                .as_bytes(),
            &body,
        ]
        .concat();
        let m = parse_email(&raw, &EmailLimits::default(), DateTime::UNIX_EPOCH);
        assert!(m.body.contains(want), "{content_type}: {:?}", m.body);
    }
}

#[test]
fn strips_paths_from_attachment_names() {
    let raw = "From: a@x.com\r\nSubject: f\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf; name=\"../../etc/passwd\"\r\n\r\nx\r\n--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment\r\n\r\nx\r\n--b--\r\n";
    let names: Vec<String> = parse(raw).attachments.into_iter().map(|a| a.name).collect();
    assert_eq!(names, vec!["passwd", "attachment-2.png"]);
}

/// Found by `scripts/fuzz.sh` (mail_intake): a bounce whose returned
/// message/rfc822 part nests another one that ends at the outer boundary
/// makes mail-parser 0.11 panic ("Invalid part ID, could not find
/// multipart"). The mail must still become a value, its text kept.
#[test]
fn fuzz_regression_mail_parser_panic_on_nested_rfc822() {
    let raw = include_bytes!("../../../tests/fixtures/fuzz/mail_parser_nested_rfc822_panic.eml");
    let m = parse_email(raw, &EmailLimits::default(), DateTime::UNIX_EPOCH);
    assert!(
        m.body.contains("Undelivered Mail Returned to Sender"),
        "the raw text is kept: {}",
        m.body
    );
    assert_eq!(
        m.message_id,
        parse_email(raw, &EmailLimits::default(), DateTime::UNIX_EPOCH).message_id,
        "a re-fetch deduplicates"
    );
}
