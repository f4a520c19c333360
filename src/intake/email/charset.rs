//! Charsets mail gets wrong: 8-bit headers, parts without or with a false
//! charset label. Separate because it is byte-level guessing (chardetng), not
//! MIME structure.

use chardetng::EncodingDetector;
use encoding_rs::{Encoding, WINDOWS_1252};
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{Message, MessagePart, MimeHeaders};

/// Some mailers put raw 8-bit GBK/Big5 in headers. mail-parser reads headers
/// as UTF-8, so such a header block is re-decoded with the detected charset
/// before parsing; the body bytes are left as they are.
pub(super) fn utf8_headers(raw: &[u8]) -> Option<Vec<u8>> {
    let end = find(raw, b"\r\n\r\n")
        .or_else(|| find(raw, b"\n\n"))
        .unwrap_or(raw.len());
    let headers = &raw[..end];
    if std::str::from_utf8(headers).is_ok() {
        return None;
    }
    let mut fixed = decode_guess(headers).into_bytes();
    fixed.extend_from_slice(&raw[end..]);
    Some(fixed)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub(super) fn decode_guess(bytes: &[u8]) -> String {
    guess(bytes).decode_with_bom_removal(bytes).0.into_owned()
}

fn guess(bytes: &[u8]) -> &'static Encoding {
    let mut detector = EncodingDetector::new();
    detector.feed(bytes, true);
    detector.guess(None, true)
}

/// mail-parser decodes a part without (or with an unknown) charset as UTF-8,
/// replacing bad bytes, and trusts a Latin-1/ASCII label blindly. In those
/// cases the raw part is re-decoded with the charset chardetng detects.
pub(super) fn redecode(msg: &Message, part: &MessagePart, text: &str) -> String {
    let replaced = text.matches('\u{FFFD}').count();
    let declared = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .and_then(|c| Encoding::for_label(c.trim().as_bytes()));
    let western_label = declared == Some(WINDOWS_1252);
    if replaced == 0 && !western_label {
        return text.to_string();
    }
    let Some(bytes) = transfer_decoded(msg, part) else {
        return text.to_string();
    };
    let encoding = guess(&bytes);
    if replaced > 0 {
        let (candidate, _) = encoding.decode_with_bom_removal(&bytes);
        if candidate.matches('\u{FFFD}').count() < replaced {
            return candidate.into_owned();
        }
    } else if encoding != WINDOWS_1252 && !bytes.is_ascii() {
        // A wrong Latin-1 label: believe the detector only if the bytes decode cleanly.
        if let Some(candidate) =
            encoding.decode_without_bom_handling_and_without_replacement(&bytes)
        {
            return candidate.into_owned();
        }
    }
    text.to_string()
}

/// The part's bytes after undoing base64/quoted-printable, before any charset.
pub(super) fn transfer_decoded(msg: &Message, part: &MessagePart) -> Option<Vec<u8>> {
    let raw = msg
        .raw_message
        .get(part.offset_body as usize..part.offset_end as usize)?;
    match part.encoding {
        mail_parser::Encoding::Base64 => base64_decode(raw),
        mail_parser::Encoding::QuotedPrintable => quoted_printable_decode(raw),
        mail_parser::Encoding::None => Some(raw.to_vec()),
    }
}
