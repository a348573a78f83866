//! Properties of the sans-IO classifier: never panics, bounded output, and real replies
//! are recognised whatever noise surrounds them.

#![allow(clippy::unwrap_used, clippy::panic)]

use idcard::frame::{PREAMBLE, Reply, Status};
use printer::status::PrinterFlags;
use proptest::prelude::*;
use provisioning::classify::{self, Answer, KEPT_BYTES, Paper};

fn flags() -> impl Strategy<Value = PrinterFlags> {
    (any::<[bool; 8]>()).prop_map(|b| PrinterFlags {
        drawer_open: b[0],
        offline: b[1],
        cover_open: b[2],
        stopped_at_paper_end: b[3],
        error: b[4],
        cutter_error: b[5],
        near_end: b[6],
        paper_end: b[7],
        ..Default::default()
    })
}

proptest! {
    #[test]
    fn any_bytes_classify_without_panicking_and_unknowns_stay_bounded(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        for answer in [classify::classify_reader_reply(&bytes), classify::classify_printer_reply(&bytes)] {
            match answer {
                Answer::Silent => prop_assert!(bytes.is_empty()),
                Answer::Unknown { len, prefix } => {
                    prop_assert_eq!(len, bytes.len());
                    prop_assert!(prefix.len() <= KEPT_BYTES);
                    prop_assert_eq!(&prefix[..], &bytes[..prefix.len()]);
                }
                Answer::Reader(_) | Answer::Printer(_) => prop_assert!(!bytes.is_empty()),
            }
        }
    }

    #[test]
    fn a_sam_reply_in_noise_is_a_reader_with_its_id(
        noise_before in proptest::collection::vec(any::<u8>(), 0..64),
        noise_after in proptest::collection::vec(any::<u8>(), 0..64),
        id in any::<[u8; 16]>(),
    ) {
        // Noise without a preamble: the decoder must skip it, not be derailed by it.
        prop_assume!(!noise_before.windows(2).any(|w| w == [0xAA, 0xAA]));
        let mut bytes = noise_before;
        bytes.extend(Reply::new(Status::Ok, id.to_vec()).encode().unwrap());
        bytes.extend(noise_after);
        match classify::classify_reader_reply(&bytes) {
            Answer::Reader(r) => prop_assert_eq!(r.sam.map(|s| s.0), Some(id)),
            other => prop_assert!(false, "not a reader: {:?}", other),
        }
    }

    #[test]
    fn four_status_replies_are_a_printer_with_the_paper_state_they_say(f in flags()) {
        let bytes: Vec<u8> = (1..=4).map(|n| f.realtime_byte(n).unwrap()).collect();
        match classify::classify_printer_reply(&bytes) {
            Answer::Printer(got) => prop_assert_eq!(Paper::from_flags(&got), Paper::from_flags(&f)),
            other => prop_assert!(false, "not a printer: {:?}", other),
        }
    }

    #[test]
    fn printer_replies_are_never_a_reader_and_reader_replies_never_a_printer(f in flags(), id in any::<[u8; 16]>()) {
        let status: Vec<u8> = (1..=4).map(|n| f.realtime_byte(n).unwrap()).collect();
        prop_assert!(!matches!(classify::classify_reader_reply(&status), Answer::Reader(_)));
        let frame = Reply::new(Status::Ok, id.to_vec()).encode().unwrap();
        prop_assert!(frame.starts_with(&PREAMBLE));
        prop_assert!(!matches!(classify::classify_printer_reply(&frame), Answer::Printer(_)));
    }
}
