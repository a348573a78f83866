//! Property tests for the sans-IO cores: any input is safe, splits do not matter,
//! encodings round-trip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use printer::Profile;
use printer::code128;
use printer::status::{Expect, PrinterFlags, StatusReader};
use printer::virtual_printer::VirtualPrinter;
use printer::virtual_printer::parser::StreamParser;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn parser_output_does_not_depend_on_how_the_stream_is_split(bytes in proptest::collection::vec(any::<u8>(), 0..600), cut in any::<prop::sample::Index>()) {
        let at = cut.index(bytes.len() + 1);
        let mut whole = StreamParser::new(true);
        let all = whole.push(&bytes);
        let mut split = StreamParser::new(true);
        let mut parts = split.push(&bytes[..at]);
        parts.extend(split.push(&bytes[at..]));
        prop_assert_eq!(all, parts);
    }

    #[test]
    fn status_reader_only_reports_valid_realtime_replies(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut r = StatusReader::new();
        for inc in r.push_all(&bytes, Expect::Realtime) {
            if let printer::status::Incoming::Realtime(b) = inc {
                prop_assert_eq!(b & 0x93, 0x12);
            }
        }
    }

    #[test]
    fn status_flags_round_trip_through_status_back_packets(bits in any::<u16>()) {
        let f = PrinterFlags {
            offline: bits & 1 != 0,
            cover_open: bits & 2 != 0,
            cutter_error: bits & 4 != 0,
            unrecoverable_error: bits & 8 != 0,
            near_end: bits & 16 != 0,
            paper_end: bits & 32 != 0,
            ..PrinterFlags::default()
        };
        let mut r = StatusReader::new();
        let got = r.push_all(&f.asb_packet(), Expect::Nothing);
        prop_assert_eq!(got.len(), 1);
        let printer::status::Incoming::StatusBack(p) = got[0] else { return Err(TestCaseError::fail("not a packet")) };
        let back = PrinterFlags::from_asb(p);
        prop_assert_eq!((back.offline, back.cover_open, back.cutter_error, back.unrecoverable_error, back.near_end, back.paper_end),
            (f.offline, f.cover_open, f.cutter_error, f.unrecoverable_error, f.near_end, f.paper_end));
    }

    #[test]
    fn code128_data_round_trips_its_text(text in "[ -~]{1,60}") {
        let data = code128::to_escpos(&text).unwrap();
        let symbol = code128::parse_escpos(&data).unwrap();
        prop_assert_eq!(symbol.text, text);
    }

    #[test]
    fn digit_runs_pack_two_digits_per_byte(digits in "[0-9]{2,40}") {
        let data = code128::to_escpos(&digits).unwrap();
        prop_assert!(data.len() <= 2 + 2 + digits.len() / 2 + 1, "{} bytes for {} digits", data.len(), digits.len());
    }

    #[test]
    fn wrapped_lines_never_exceed_the_width(text in "[a-z 中文字符，。0-9]{0,120}", width in 4usize..48) {
        for line in printer::document::wrap(&text, width) {
            prop_assert!(printer::document::text_columns(&line) <= width);
        }
        for line in printer::document::row_lines("名称", &text, width.max(10)) {
            prop_assert!(printer::document::text_columns(&line) <= width.max(10));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    // Drawing is slow in a debug build; the fuzz target runs this a million times.
    #[test]
    fn virtual_printer_survives_any_stream(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let vp = VirtualPrinter::new(Profile::CLONE_58);
        vp.feed(&bytes);
        vp.control().finish();
        for r in vp.control().receipts() {
            prop_assert_eq!(r.width(), 384);
        }
    }
}
