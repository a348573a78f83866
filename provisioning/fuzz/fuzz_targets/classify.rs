//! Any reply bytes, cut anywhere: classification never panics and keeps a bounded prefix.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provisioning::classify::{Answer, KEPT_BYTES, classify_printer_reply, classify_reader_reply};

fuzz_target!(|data: &[u8]| {
    for classify in [classify_reader_reply, classify_printer_reply] {
        match classify(data) {
            Answer::Unknown { len, prefix } => assert!(len == data.len() && prefix.len() <= KEPT_BYTES),
            Answer::Silent => assert!(data.is_empty()),
            Answer::Reader(_) | Answer::Printer(_) => {}
        }
    }
    // The probe loop classifies every growing prefix of the reply.
    if let Some((&cut, _)) = data.split_first() {
        let cut = usize::from(cut).min(data.len());
        let _ = classify_reader_reply(&data[..cut]);
        let _ = classify_printer_reply(&data[..cut]);
    }
});
