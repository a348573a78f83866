//! The sans-IO APDU layer: byte-exact commands from docs/protocols/sscard.md, the response
//! parser, status words, and the T=0 rules (61xx, 6Cxx) against scripted cards.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use std::collections::VecDeque;

use sscard::apdu::{APPLICATION_NAME, ApduError, MAX_GET_RESPONSE_ROUNDS, Response, ResponseError};
use sscard::{Command, Exchange, File, Item, StatusKind, StatusWord, TransportError, transmit};

fn hex(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

#[test]
fn commands_are_byte_exact() {
    assert_eq!(
        Command::select_application().encode(),
        hex("00 A4 04 00 0F 73 78 31 2E 73 68 2E C9 E7 BB E1 B1 A3 D5 CF")
    );
    assert_eq!(Command::select_file(File::Ef05.fid()).encode(), hex("00 A4 02 00 02 EF 05"));
    assert_eq!(Command::select_file(File::Ef06.fid()).encode(), hex("00 A4 02 00 02 EF 06"));
    assert_eq!(Command::read_record_by_sfi(File::Ef05.sfi(), 7, 0x0B).encode(), hex("00 B2 07 2C 0B"));
    assert_eq!(Command::read_record_by_sfi(File::Ef06.sfi(), 1, 0x14).encode(), hex("00 B2 01 34 14"));
    assert_eq!(
        Command::read_record(Item::CardNumber.record(), Item::CardNumber.expected_le()).encode(),
        hex("00 B2 07 04 0B")
    );
    assert_eq!(Command::get_response(0x1C).encode(), hex("00 C0 00 00 1C"));
    assert_eq!(Command::read_record(2, 0x20).with_le(0x16).encode(), hex("00 B2 02 04 16"));
}

#[test]
fn the_application_name_is_sx1_sh_and_shehui_baozhang_in_gbk() {
    let (gbk, _, bad) = encoding_rs::GBK.encode("sx1.sh.社会保障");
    assert!(!bad);
    assert_eq!(&gbk[..], &APPLICATION_NAME[..]);
}

#[test]
fn every_item_sits_where_the_protocol_table_says() {
    let table: Vec<(u8, u8, u8, usize)> = Item::ALL
        .iter()
        .map(|i| (if i.file() == File::Ef05 { 5 } else { 6 }, i.record(), i.tag(), i.length()))
        .collect();
    assert_eq!(
        table,
        vec![
            (5, 1, 0x01, 16),
            (5, 2, 0x02, 1),
            (5, 3, 0x03, 4),
            (5, 4, 0x04, 12),
            (5, 5, 0x05, 4),
            (5, 6, 0x06, 4),
            (5, 7, 0x07, 9),
            (6, 1, 0x08, 18),
            (6, 2, 0x09, 30),
            (6, 3, 0x0A, 1),
            (6, 4, 0x0B, 1),
            (6, 5, 0x0C, 3),
            (6, 6, 0x0D, 4),
        ]
    );
    assert_eq!(Item::Name.to_string(), "name (EF06 record 2, tag 09)");
}

#[test]
fn commands_parse_back_in_all_four_cases() {
    for c in [
        Command::new(0, 0x84, 0, 0, vec![], None),
        Command::read_record(1, 0x12),
        Command::select_application(),
        Command::new(0, 0xA4, 4, 0, vec![1, 2, 3], Some(0)),
    ] {
        assert_eq!(Command::parse(&c.encode()), Some(c));
    }
    assert_eq!(Command::parse(&[0, 0xA4, 4]), None);
    assert_eq!(Command::parse(&hex("00 A4 04 00 05 01 02")), None, "Lc says more than there is");
}

#[test]
fn a_response_needs_two_status_bytes() {
    assert_eq!(Response::parse(&[0x90]), Err(ResponseError::TooShort(1)));
    let r = Response::parse(&hex("01 02 90 00")).unwrap();
    assert_eq!((r.data.as_slice(), r.status), (&[1u8, 2][..], StatusWord::OK));
    assert_eq!(format!("{r:?}"), "Response(2 bytes, StatusWord(90 00))", "data never shown");
}

#[test]
fn status_words_have_plain_meanings() {
    let cases = [
        (StatusWord(0x6A, 0x82), StatusKind::FileNotFound, "file or application not found"),
        (StatusWord(0x6A, 0x83), StatusKind::RecordNotFound, "record not found"),
        (StatusWord(0x69, 0x82), StatusKind::SecurityNotSatisfied, "security module"),
        (StatusWord(0x69, 0x83), StatusKind::AuthenticationBlocked, "too many failed"),
        (StatusWord(0x6D, 0x00), StatusKind::InsNotSupported, "instruction not supported"),
        (StatusWord(0x6E, 0x00), StatusKind::ClaNotSupported, "class not supported"),
        (StatusWord(0x62, 0x83), StatusKind::Invalidated, "blocked"),
        (StatusWord(0x61, 0x10), StatusKind::MoreData(0x10), "GET RESPONSE"),
        (StatusWord(0x6C, 0x16), StatusKind::WrongLe(0x16), "how many bytes"),
    ];
    for (sw, kind, words) in cases {
        assert_eq!(sw.kind(), kind);
        assert!(sw.to_string().contains(words), "{sw}");
    }
    assert!(StatusWord(0x62, 0x83).is_success() && !StatusWord(0x69, 0x82).is_success());
}

/// A card that answers from a script and records what it was sent.
struct Scripted {
    answers: VecDeque<Result<Vec<u8>, TransportError>>,
    sent: Vec<Vec<u8>>,
}

impl Scripted {
    fn new(answers: &[&str]) -> Scripted {
        Scripted { answers: answers.iter().map(|a| Ok(hex(a))).collect(), sent: Vec::new() }
    }
}

impl Exchange for Scripted {
    fn exchange(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent.push(apdu.to_vec());
        self.answers.pop_front().unwrap_or_else(|| panic!("unexpected command {apdu:02X?}"))
    }
}

#[test]
fn sixty_one_fetches_the_data_with_get_response_until_done() {
    let mut card = Scripted::new(&["61 04", "01 02 03 04 61 02", "05 06 90 00"]);
    let r = transmit(&mut card, &Command::read_record(1, 0x12)).unwrap();
    assert_eq!(r.data, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(r.status, StatusWord::OK);
    assert_eq!(card.sent, vec![hex("00 B2 01 04 12"), hex("00 C0 00 00 04"), hex("00 C0 00 00 02")]);
}

#[test]
fn six_c_resends_the_same_command_with_the_length_the_card_gave() {
    let mut card = Scripted::new(&["6C 16", "09 14 C0 E2 90 00"]);
    let r = transmit(&mut card, &Command::read_record(2, 0x20)).unwrap();
    assert_eq!(r.status, StatusWord::OK);
    assert_eq!(card.sent, vec![hex("00 B2 02 04 20"), hex("00 B2 02 04 16")]);
}

#[test]
fn six_c_then_sixty_one_and_a_six_c_on_get_response_are_all_followed() {
    let mut card = Scripted::new(&["6C 16", "61 16", "6C 10", "AA 90 00"]);
    let r = transmit(&mut card, &Command::read_record(2, 0x20)).unwrap();
    assert_eq!(r.data, vec![0xAA]);
    assert_eq!(card.sent[3], hex("00 C0 00 00 10"));
}

#[test]
fn a_second_six_c_is_returned_not_looped_on() {
    let mut card = Scripted::new(&["6C 16", "6C 17"]);
    let r = transmit(&mut card, &Command::read_record(2, 0x20)).unwrap();
    assert_eq!(r.status.kind(), StatusKind::WrongLe(0x17));
    assert_eq!(card.sent.len(), 2);
}

#[test]
fn a_card_that_never_stops_announcing_data_is_cut_off() {
    let answers: Vec<&str> = std::iter::repeat_n("00 61 01", MAX_GET_RESPONSE_ROUNDS + 5).collect();
    let mut card = Scripted::new(&answers);
    let e = transmit(&mut card, &Command::read_record(1, 0x12)).unwrap_err();
    assert_eq!(e, ApduError::EndlessResponse(MAX_GET_RESPONSE_ROUNDS));
    assert_eq!(card.sent.len(), MAX_GET_RESPONSE_ROUNDS + 1);
}

#[test]
fn transport_errors_and_short_answers_come_back_typed() {
    let mut card = Scripted { answers: VecDeque::from([Err(TransportError::CardRemoved)]), sent: vec![] };
    assert_eq!(
        transmit(&mut card, &Command::select_application()),
        Err(ApduError::Transport(TransportError::CardRemoved))
    );
    let mut card = Scripted::new(&["90"]);
    assert_eq!(
        transmit(&mut card, &Command::select_application()),
        Err(ApduError::Malformed(ResponseError::TooShort(1)))
    );
}
