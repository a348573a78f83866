//! Any bytes from a printer: the status reader classifies them without panicking, and
//! only pattern-valid bytes become replies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use printer::status::{Expect, Incoming, PrinterFlags, StatusReader};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, bytes)) = data.split_first() else { return };
    let expect = match mode % 3 {
        0 => Expect::Realtime,
        1 => Expect::PaperSensor,
        _ => Expect::Nothing,
    };
    let mut reader = StatusReader::new();
    let mut flags = PrinterFlags::default();
    for (i, inc) in reader.push_all(bytes, expect).into_iter().enumerate() {
        match inc {
            Incoming::Realtime(b) => {
                assert_eq!(b & 0x93, 0x12);
                assert!(flags.apply_realtime((i % 4) as u8 + 1, b));
            }
            Incoming::StatusBack(p) => {
                let _ = PrinterFlags::from_asb(p).health();
            }
            Incoming::PaperSensor(_) | Incoming::Stray(_) => {}
        }
    }
    let _ = flags.health();
});
