//! Property tests: the line assembler gives the same lines in any chunking, never a line
//! with a terminator in it or longer than the bound; the key decoder types back what was
//! typed; the classifier accepts every well-formed tracking number and reference and
//! never panics.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use proptest::prelude::*;
use scanner::keys::{KEY_ENTER, PRESSED, RELEASED, key_for};
use scanner::{Assembled, KeyDecoder, LineAssembler, MAX_SCAN_LEN, Scan, classify};

fn assemble(bytes: &[u8], chunk: usize) -> Vec<Assembled> {
    let mut a = LineAssembler::default();
    bytes.chunks(chunk.max(1)).flat_map(|c| a.push(c)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn lines_do_not_depend_on_chunking(bytes in proptest::collection::vec(prop_oneof![any::<u8>(), Just(b'\r'), Just(b'\n'), 0x20u8..0x7F], 0..800), chunk in 1usize..64) {
        let whole = assemble(&bytes, bytes.len().max(1));
        prop_assert_eq!(assemble(&bytes, chunk), whole.clone());
        for line in whole {
            if let Assembled::Line(l) = line {
                prop_assert!(!l.is_empty() && l.len() <= MAX_SCAN_LEN);
                prop_assert!(l.bytes().all(|b| (0x20..0x7F).contains(&b)));
            }
        }
    }

    #[test]
    fn printable_text_comes_back_whole_with_any_terminator(text in "[ -~]{1,200}", term in prop_oneof![Just("\r"), Just("\n"), Just("\r\n")]) {
        let mut bytes = text.clone().into_bytes();
        bytes.extend_from_slice(term.as_bytes());
        bytes.extend_from_slice(&bytes.clone());
        prop_assert_eq!(assemble(&bytes, 3), vec![Assembled::Line(text.clone()), Assembled::Line(text)]);
    }

    #[test]
    fn the_wedge_decoder_types_back_what_was_typed(text in "[ -~]{1,80}") {
        let mut keys = KeyDecoder::new();
        let mut typed = Vec::new();
        for c in text.chars() {
            let (code, shift) = key_for(c).unwrap();
            if shift { typed.extend(keys.key(54, PRESSED)); }
            typed.extend(keys.key(code, PRESSED));
            typed.extend(keys.key(code, RELEASED));
            if shift { typed.extend(keys.key(54, RELEASED)); }
        }
        typed.extend(keys.key(KEY_ENTER, PRESSED));
        prop_assert_eq!(LineAssembler::default().push(&typed), vec![Assembled::Line(text)]);
    }

    #[test]
    fn well_formed_tracking_numbers_are_accepted(kind in "[A-Z]{1,8}", days in 0i64..20_000, digits in "[0-9]{6,12}") {
        let d = time::macros::date!(2000 - 01 - 01) + time::Duration::days(days);
        let date = format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day());
        let full = format!("{kind}-{date}-{digits}");
        prop_assert_eq!(classify(&full, None), Scan::Tracking(full.clone()));
        let bare = format!("{date}{digits}");
        let expected = if bare.len() == 16 { Scan::ClientReference(bare.clone()) } else { Scan::Tracking(bare.clone()) };
        prop_assert_eq!(classify(&bare, None), expected);
    }

    #[test]
    fn client_references_are_accepted(key in ".{0,40}") {
        let r = contract::client_reference(&key);
        prop_assert_eq!(classify(&r, None), Scan::ClientReference(r.clone()));
    }

    #[test]
    fn anything_classifies_without_panicking_and_accepts_only_our_shapes(s in ".{0,300}") {
        match classify(&s, Some("https://c.example/verify/")) {
            Scan::Tracking(t) => prop_assert!(t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')),
            Scan::ClientReference(r) => prop_assert!(contract::is_client_reference(&r)),
            Scan::VerifyUrl { code } => prop_assert!(code.bytes().all(|b| b.is_ascii_alphanumeric())),
            Scan::Rejected { .. } => {}
        }
    }
}
