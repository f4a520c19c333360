//! Fuzz target: any text as a requester's reply to a resolved ticket →
//! `parse_reply` (confirmation, rejection, rating). Must never panic.
#![no_main]

use itdesk::intake::reply::parse_reply;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Mail bodies reach the parser as decoded text; lossy keeps every input useful.
    let text = String::from_utf8_lossy(data);
    let _ = parse_reply(&text);
});
