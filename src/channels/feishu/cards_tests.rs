use serde_json::json;

use super::*;

fn ticket() -> TicketId {
    TicketId::parse("IT202401050007").expect("a ticket id")
}

/// Every button's value, in the order the card shows them.
fn values(card: &Value) -> Vec<Map<String, Value>> {
    match card {
        Value::Object(o) if o.get("tag") == Some(&json!("button")) => {
            vec![o["value"].as_object().cloned().unwrap_or_default()]
        }
        Value::Object(o) => o.values().flat_map(values).collect(),
        Value::Array(a) => a.iter().flat_map(values).collect(),
        _ => Vec::new(),
    }
}

fn card_of(buttons: Buttons) -> Value {
    let post = Post {
        title: Some("T".into()),
        body: "b".into(),
        mention: None,
        buttons,
        lang: Lang::ZhCn,
    };
    match content(&post, &[]) {
        Content::Card(card) => card,
        Content::Text(t) => panic!("a card was expected, got text {t:?}"),
    }
}

#[test]
fn every_button_reads_back() {
    let rating = values(&card_of(Buttons::Rating { ticket: ticket() }));
    let mut read: Vec<Pressed> = rating.iter().filter_map(|v| pressed(v, None)).collect();
    assert_eq!(read.len(), 6);
    assert_eq!(
        read[3],
        Pressed::Button(Button::Rate {
            ticket: ticket(),
            stars: 4
        })
    );
    assert_eq!(
        read.pop(),
        Some(Pressed::Button(Button::StillBroken { ticket: ticket() }))
    );
    let claim = values(&card_of(Buttons::Claim { ticket: ticket() }));
    assert_eq!(
        pressed(&claim[0], None),
        Some(Pressed::Button(Button::Claim { ticket: ticket() }))
    );
    let pick = values(&card_of(Buttons::Pick {
        message: MessageId("om_1".into()),
        choices: vec![(ticket(), "printer".into())],
    }));
    assert_eq!(
        pick.iter()
            .filter_map(|v| pressed(v, None))
            .collect::<Vec<_>>(),
        vec![
            Pressed::Button(Button::Pick {
                message: MessageId("om_1".into()),
                ticket: Some(ticket())
            }),
            Pressed::Button(Button::Pick {
                message: MessageId("om_1".into()),
                ticket: None
            }),
        ]
    );
    let open = values(&card_of(Buttons::OpenTicket));
    assert_eq!(
        pressed(&open[0], None),
        Some(Pressed::Button(Button::OpenTicket))
    );
}

#[test]
fn every_form_reads_back() {
    let fields = json!({"remark": " fast ", "reason": "", "description": "VPN down"});
    let fields = fields.as_object();
    let cases = [
        (
            FormSpec::Rating {
                ticket: ticket(),
                stars: 4,
            },
            Form::Rating {
                ticket: ticket(),
                stars: 4,
                remark: Some("fast".into()),
            },
        ),
        (
            FormSpec::StillBroken { ticket: ticket() },
            Form::StillBroken {
                ticket: ticket(),
                reason: None,
            },
        ),
        (
            FormSpec::NewTicket {
                chosen: Some((ProblemType::Network, Urgency::High)),
            },
            Form::NewTicket {
                chosen: Some((ProblemType::Network, Urgency::High)),
                description: "VPN down".into(),
                expected: None,
                contact: None,
            },
        ),
    ];
    for (spec, form) in cases {
        let submit = values(&super::form(&spec, Lang::En));
        assert_eq!(
            pressed(&submit[0], fields),
            Some(Pressed::Form(form)),
            "{spec:?}"
        );
    }
}

#[test]
fn forged_or_stale_values_mean_nothing() {
    for value in [
        json!({}),
        json!({"act": "rate", "ticket": "IT202401050007", "stars": "9"}),
        json!({"act": "rate", "ticket": "../../x", "stars": "4"}),
        json!({"act": "claim"}),
        json!({"act": "explode"}),
        json!({"act": "new_form"}), // no description
    ] {
        assert_eq!(pressed(value.as_object().unwrap(), None), None, "{value}");
    }
}

#[test]
fn plain_posts_are_text_and_pages_mention_only_real_ids() {
    let post = Post::text("hello", Lang::En);
    assert_eq!(content(&post, &[]), Content::Text("hello".into()));
    let paged = content(&post, &["ou_a1".into(), "ou_x></at><at id=all".into()]);
    let Content::Card(card) = paged else {
        panic!("a page is a card")
    };
    let text = card.to_string();
    assert!(text.contains("<at id=ou_a1></at>"), "{text}");
    assert!(!text.contains("id=all"), "{text}");
}
