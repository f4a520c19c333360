//! Text made inert for a terminal: mail and chat text comes from anyone, and
//! a terminal obeys the escape sequences in what it prints (clear the screen,
//! retitle the window, show a link that goes elsewhere). Used on intake for
//! what is stored, and by the CLI on everything it prints.
//!
//! Invariant: the output has no ESC, no C0 control but newline and tab, no
//! C1 control, no DEL and no bidirectional override; everything else stays.

/// `s` without escape sequences and control characters; lines and tabs kept.
pub fn for_terminal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // A single-character CSI (C1): its parameters go with it.
            '\u{9b}' => skip_until_final(&mut chars),
            '\n' | '\t' => out.push(c),
            c if is_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// `for_terminal`, on one line: for names, subjects and log fields, where a
/// CR/LF would forge a header, a log line or a second field.
pub fn one_line(s: &str) -> String {
    for_terminal(s)
        .split(['\n', '\t'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// JSON text with C1 controls and bidirectional overrides written as `\u` escapes
/// (serde_json escapes only C0), so it stays inert and loses nothing.
pub fn escape_json(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_control(c) && !c.is_ascii() {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn is_control(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// After an ESC: a CSI (`[` … final byte), an OSC/DCS/APC/PM/SOS string (up to
/// BEL or ESC `\`), or a two-character sequence.
fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_until_final(chars),
        Some(']' | 'P' | '_' | '^' | 'X') => {
            while let Some(c) = chars.next() {
                if c == '\u{7}' || c == '\u{9c}' {
                    break;
                }
                if c == '\u{1b}' && chars.peek() == Some(&'\\') {
                    chars.next();
                    break;
                }
            }
        }
        _ => {}
    }
}

fn skip_until_final(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_controls_go_text_stays() {
        let cases = [
            ("\u{1b}]0;pwned\u{7}VPN 断线", "VPN 断线"),
            ("\u{1b}[2J\u{1b}[1;31mred\u{1b}[0m", "red"),
            (
                "\u{1b}]8;;https://evil.test\u{1b}\\click\u{1b}]8;;\u{1b}\\ here",
                "click here",
            ),
            ("a\u{9b}31mb", "ab"),
            ("bell\u{7} del\u{7f} nul\u{0}", "bell del nul"),
            ("\u{202e}txt.exe", "txt.exe"),
            ("line one\nline two\tcol", "line one\nline two\tcol"),
            ("打印机\r\n卡纸", "打印机\n卡纸"),
        ];
        for (input, want) in cases {
            assert_eq!(for_terminal(input), want, "{input:?}");
        }
    }

    #[test]
    fn names_and_subjects_are_one_line() {
        assert_eq!(
            one_line("张三\r\nBcc: everyone@example.test"),
            "张三 Bcc: everyone@example.test"
        );
        assert_eq!(one_line("  \u{1b}[2J \n "), "");
    }

    #[test]
    fn json_keeps_c1_as_escapes() {
        assert_eq!(escape_json("\"a\u{9b}b\""), "\"a\\u009bb\"");
        assert_eq!(escape_json("\"\u{202e}\""), "\"\\u202e\"");
        assert_eq!(escape_json("\"plain 中文\""), "\"plain 中文\"");
    }
}
