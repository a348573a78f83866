//! Any key events: the decoder, the line assembler and the classifier never panic, and
//! every line they let through is bounded printable ASCII.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scanner::{Assembled, Classifier, KeyDecoder, LineAssembler, MAX_SCAN_LEN};

fuzz_target!(|data: &[u8]| {
    let mut keys = KeyDecoder::new();
    let mut lines = LineAssembler::default();
    let classifier = Classifier::new(Some("https://c.example/verify/"));
    // Three bytes an event: a key code (0..=255 covers every key a wedge sends, and more)
    // and a value (release, press, repeat, or anything else).
    for event in data.chunks_exact(3) {
        let code = u16::from_le_bytes([event[0], event[1] & 0x01]);
        let value = i32::from(event[2] % 4) - 1;
        if let Some(byte) = keys.key(code, value) {
            for line in lines.push(&[byte]) {
                if let Assembled::Line(text) = line {
                    assert!(!text.is_empty() && text.len() <= MAX_SCAN_LEN);
                    assert!(text.bytes().all(|b| (0x20..0x7F).contains(&b)));
                    let _ = classifier.classify(&text);
                }
            }
        }
    }
    let _ = lines.abandon_partial();
});
