//! The sans-IO core: the line assembler, the keyboard-wedge decoder with synthetic key
//! events, and the classifier.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use scanner::keys::{KEY_ENTER, PRESSED, RELEASED, REPEATED, UNKNOWN_KEY, key_for};
use scanner::{Assembled, Classifier, Garbage, KeyDecoder, LineAssembler, MAX_SCAN_LEN, Rejection, Scan, classify};

fn line(s: &str) -> Assembled {
    Assembled::Line(s.into())
}

#[test]
fn lines_end_with_cr_lf_or_crlf_and_empty_lines_vanish() {
    let mut a = LineAssembler::default();
    assert_eq!(a.push(b"QC-20261121-0004837\r"), vec![line("QC-20261121-0004837")]);
    assert_eq!(a.push(b"1234567890123456\n"), vec![line("1234567890123456")]);
    assert_eq!(a.push(b"ab\r\ncd\r\n\r\n\n"), vec![line("ab"), line("cd")], "CRLF is one terminator");
    assert!(!a.has_partial());
}

#[test]
fn a_line_split_over_reads_is_joined() {
    let mut a = LineAssembler::default();
    assert_eq!(a.push(b"QC-2026"), vec![]);
    assert!(a.has_partial());
    assert_eq!(a.push(b"1121-48"), vec![]);
    assert_eq!(a.push(b"3920\r"), vec![line("QC-20261121-483920")]);
    // CR at the end of one read and LF at the start of the next: still one terminator.
    assert_eq!(a.push(b"x\r"), vec![line("x")]);
    assert_eq!(a.push(b"\ny\n"), vec![line("y")]);
}

#[test]
fn too_long_and_unprintable_lines_are_garbage_without_their_content() {
    let mut a = LineAssembler::default();
    let long = vec![b'7'; MAX_SCAN_LEN + 10];
    assert_eq!(a.push(&long), vec![]);
    assert_eq!(a.push(b"\r"), vec![Assembled::Garbage { why: Garbage::TooLong, len: MAX_SCAN_LEN + 10 }]);
    assert_eq!(a.push(b"ab\x1bc\n"), vec![Assembled::Garbage { why: Garbage::NotPrintable, len: 4 }]);
    assert_eq!(a.push("张\n".as_bytes()), vec![Assembled::Garbage { why: Garbage::NotPrintable, len: 3 }]);
    assert_eq!(a.push(b"ok\n"), vec![line("ok")], "the next line is clean again");
}

#[test]
fn an_abandoned_partial_line_is_dropped() {
    let mut a = LineAssembler::default();
    a.push(b"QC-2026");
    assert_eq!(a.abandon_partial(), Some(Assembled::Garbage { why: Garbage::Abandoned, len: 7 }));
    assert_eq!(a.abandon_partial(), None);
    assert_eq!(a.push(b"1121\r"), vec![line("1121")], "nothing of the old line is left");
}

/// Key events a wedge sends for `text` and Enter (shift pressed around capitals).
fn type_text(text: &str) -> Vec<(u16, i32)> {
    let mut events = Vec::new();
    for c in text.chars() {
        let (code, shift) = key_for(c).unwrap();
        if shift {
            events.push((42, PRESSED));
        }
        events.extend([(code, PRESSED), (code, RELEASED)]);
        if shift {
            events.push((42, RELEASED));
        }
    }
    events.extend([(KEY_ENTER, PRESSED), (KEY_ENTER, RELEASED)]);
    events
}

fn decode(events: &[(u16, i32)]) -> Vec<Assembled> {
    let mut keys = KeyDecoder::new();
    let mut lines = LineAssembler::default();
    let typed: Vec<u8> = events.iter().filter_map(|&(code, value)| keys.key(code, value)).collect();
    lines.push(&typed)
}

#[test]
fn a_wedge_typing_a_tracking_number_and_a_url_decodes_exactly() {
    assert_eq!(decode(&type_text("QC-20261121-0004837")), vec![line("QC-20261121-0004837")]);
    let url = "https://central.example:8443/verify/ABCD2345";
    assert_eq!(decode(&type_text(url)), vec![line(url)]);
    assert_eq!(decode(&type_text("a!@#$%^&*()_+{}|:\"<>?~ z")), vec![line("a!@#$%^&*()_+{}|:\"<>?~ z")]);
}

#[test]
fn caps_lock_right_shift_keypad_and_repeats() {
    // Caps Lock on: letters come upper case without shift; digits are not shifted.
    let mut events = vec![(58, PRESSED), (58, RELEASED)];
    events.extend([(16, PRESSED), (16, RELEASED), (46, PRESSED), (46, RELEASED), (2, PRESSED), (2, RELEASED)]);
    // Right shift with Caps Lock on gives lower case.
    events.extend([(54, PRESSED), (30, PRESSED), (30, REPEATED), (30, RELEASED), (54, RELEASED)]);
    // Keypad digits and keypad Enter.
    events.extend([(82, PRESSED), (82, RELEASED), (79, PRESSED), (79, RELEASED), (96, PRESSED), (96, RELEASED)]);
    assert_eq!(decode(&events), vec![line("QC1a01")]);
}

#[test]
fn an_unknown_key_or_a_ctrl_chord_spoils_the_line_rather_than_vanishing() {
    let mut keys = KeyDecoder::new();
    assert_eq!(keys.key(59, PRESSED), Some(UNKNOWN_KEY), "F1");
    let mut events = type_text("QC-2026");
    events.insert(0, (29, PRESSED)); // Ctrl held
    let out = decode(&events);
    assert!(matches!(out[..], [Assembled::Garbage { why: Garbage::NotPrintable, .. }]), "{out:?}");
}

#[test]
fn tracking_numbers_with_and_without_kind_and_dashes() {
    let c = Classifier::new(None);
    assert_eq!(c.classify("QC-20261121-0004837"), Scan::Tracking("QC-20261121-0004837".into()));
    assert_eq!(c.classify("qc-20261121-0004837"), Scan::Tracking("QC-20261121-0004837".into()), "caps inverted");
    assert_eq!(c.classify("UR-20261101-00000001"), Scan::Tracking("UR-20261101-00000001".into()), "longer digits");
    assert_eq!(c.classify("202611210004837"), Scan::Tracking("202611210004837".into()), "digits alone");
    // Numbers issued before the check digit (six digits after the date) still scan.
    assert_eq!(c.classify("QC-20261121-483920"), Scan::Tracking("QC-20261121-483920".into()));
    assert_eq!(c.classify("20261121483920"), Scan::Tracking("20261121483920".into()));
    assert_eq!(c.classify(" QC-20261121-0004837 "), Scan::Tracking("QC-20261121-0004837".into()));
    assert_eq!(c.classify("QC-20261121-48392"), Scan::Rejected { why: Rejection::Unrecognised }, "5 digits");
    assert_eq!(c.classify("QC-20261131-0004837"), Scan::Rejected { why: Rejection::BadTrackingDate });
    assert_eq!(c.classify("202611310004837"), Scan::Rejected { why: Rejection::Unrecognised });
    assert_eq!(c.classify("QC-20261121-0004837-1"), Scan::Rejected { why: Rejection::Unrecognised });
    assert_eq!(c.classify(""), Scan::Rejected { why: Rejection::Empty });
}

#[test]
fn client_references_are_sixteen_digits() {
    let reference = contract::client_reference("some-idempotency-key");
    assert_eq!(classify(&reference, None), Scan::ClientReference(reference.clone()));
    // 16 digits are a client reference even when they start like a date (the central
    // service looks both up the same way).
    assert_eq!(classify("2026112148392012", None), Scan::ClientReference("2026112148392012".into()));
    assert_eq!(classify("123456789012345", None), Scan::Rejected { why: Rejection::Unrecognised });
}

#[test]
fn verify_urls_must_be_under_the_configured_base() {
    let c = Classifier::new(Some("https://central.example:8443/verify/"));
    assert_eq!(
        c.classify("https://central.example:8443/verify/ABCD2345EFGH"),
        Scan::VerifyUrl { code: "ABCD2345EFGH".into() }
    );
    assert_eq!(c.classify("HTTPS://CENTRAL.EXAMPLE:8443/verify/abcd2345"), Scan::VerifyUrl { code: "ABCD2345".into() });
    assert_eq!(c.classify("https://evil.example/verify/ABCD2345"), Scan::Rejected { why: Rejection::ForeignUrl });
    assert_eq!(c.classify("https://central.example:8443/verify/"), Scan::Rejected { why: Rejection::BadVerifyCode });
    assert_eq!(
        c.classify("https://central.example:8443/verify/AB/../x"),
        Scan::Rejected { why: Rejection::BadVerifyCode }
    );
    assert_eq!(
        c.classify("https://central.example:8443/verify/AB?x=1"),
        Scan::Rejected { why: Rejection::BadVerifyCode }
    );
    let no_slash = Classifier::new(Some("https://central.example/verify"));
    assert_eq!(no_slash.classify("https://central.example/verify/ABCD"), Scan::VerifyUrl { code: "ABCD".into() });
    assert_eq!(classify("https://central.example/verify/ABCD", None), Scan::Rejected { why: Rejection::NoVerifyBase });
}

#[test]
fn other_barcodes_are_rejected() {
    for other in ["6901234567892", "hello", "11010519491231002X", "javascript:alert(1)", "QC--483920"] {
        assert!(classify(other, Some("https://c/verify/")).is_rejected(), "{other}");
    }
}
