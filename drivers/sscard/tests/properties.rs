//! Property tests of the sans-IO layers: responses, the T=0 loop, records and values, the
//! whole read procedure against cards that answer anything, vpcd framing, and the number
//! cross-checks.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use proptest::prelude::*;
use sscard::apdu::{MAX_GET_RESPONSE_ROUNDS, Response};
use sscard::card::{CardRecords, RecordOutcome};
use sscard::items::{self, Item};
use sscard::sim::vpcd::{FrameDecoder, frame};
use sscard::{CardProblem, Command, Exchange, IdNumberProblem, SsCard, TransportError, read_records, transmit};

/// A card that answers from a list, then with errors: whatever it says, nothing panics and
/// every loop ends.
struct Anything {
    answers: Vec<Vec<u8>>,
    sent: usize,
}

impl Exchange for Anything {
    fn exchange(&mut self, _: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent += 1;
        if self.answers.is_empty() {
            return Err(TransportError::CardRemoved);
        }
        Ok(self.answers.remove(0))
    }
}

fn answer() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        (0u8..=255).prop_map(|n| vec![0x61, n]),
        (0u8..=255).prop_map(|n| vec![0x6C, n]),
        Just(vec![0x90, 0x00]),
        Just(vec![0x62, 0x83]),
        Just(vec![0x69, 0x82]),
        (proptest::collection::vec(any::<u8>(), 0..34)).prop_map(|mut v| {
            v.extend_from_slice(&[0x90, 0x00]);
            v
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn responses_parse_and_encode_back(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        match Response::parse(&bytes) {
            Ok(r) => prop_assert_eq!(r.encode(), bytes),
            Err(_) => prop_assert!(bytes.len() < 2),
        }
    }

    #[test]
    fn the_t0_loop_ends_whatever_the_card_says(answers in proptest::collection::vec(answer(), 0..80)) {
        let mut card = Anything { answers, sent: 0 };
        let _ = transmit(&mut card, &Command::read_record(1, 0x12));
        prop_assert!(card.sent <= 2 * (MAX_GET_RESPONSE_ROUNDS + 1));
    }

    #[test]
    fn reading_a_card_that_answers_anything_never_panics(answers in proptest::collection::vec(answer(), 0..60)) {
        let mut card = Anything { answers, sent: 0 };
        if let Ok(records) = read_records(&mut card, None) {
            let c = SsCard::from_records(&records, time::macros::date!(2026 - 01 - 01));
            let _ = (format!("{c:?}"), sscard::json::card_json(&c, false).to_string());
        }
    }

    #[test]
    fn any_record_bytes_become_a_card_or_problems(records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 13)) {
        let mut r = CardRecords::default();
        for (item, bytes) in Item::ALL.into_iter().zip(records) {
            r.records.insert(item, RecordOutcome::Record(bytes));
        }
        let c = SsCard::from_records(&r, time::macros::date!(2026 - 01 - 01));
        let shown = format!("{c:?}");
        let ssn = &c.social_security_number;
        if ssn.chars().count() > 8 && !ssn.contains('*') {
            prop_assert!(!shown.contains(ssn.as_str()), "Debug shows the number");
        }
    }

    #[test]
    fn commands_parse_back(ins in any::<u8>(), p1 in any::<u8>(), p2 in any::<u8>(),
                           data in proptest::collection::vec(any::<u8>(), 0..255), le in proptest::option::of(any::<u8>())) {
        let c = Command::new(0, ins, p1, p2, data, le);
        prop_assert_eq!(Command::parse(&c.encode()), Some(c));
    }

    #[test]
    fn bcd_dates_round_trip(days in 0i64..100_000) {
        let d = time::macros::date!(1850 - 01 - 01) + time::Duration::days(days);
        let digits = format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day());
        let bcd = items::encode_bcd(&digits).unwrap();
        prop_assert_eq!(items::bcd_date(&bcd), Ok(d));
    }

    #[test]
    fn gbk_names_round_trip_through_the_padded_field(name in "[张王李赵刘陈杨黄周吴徐孙马朱胡郭何高林罗]{1,6}", pad in prop_oneof![Just(0u8), Just(0x20)]) {
        let mut field = items::encode_gbk(&name);
        field.resize(30, pad);
        prop_assert_eq!(items::gbk(&field), (name, None));
    }

    #[test]
    fn vpcd_frames_survive_any_chunking(payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 1..8), chunk in 1usize..50) {
        let wire: Vec<u8> = payloads.iter().flat_map(|p| frame(p)).collect();
        let mut decoder = FrameDecoder::default();
        let mut got = Vec::new();
        for piece in wire.chunks(chunk) {
            decoder.push(piece);
            while let Some(p) = decoder.next_payload() {
                got.push(p);
            }
        }
        prop_assert_eq!(got, payloads);
        prop_assert_eq!(decoder.buffered(), 0);
    }

    /// A valid number whose birth date record agrees is clean; any other birth date is
    /// reported, never silently accepted.
    #[test]
    fn the_number_is_cross_checked_with_the_birth_date_record(days in 0i64..40_000, seq in 0u32..1000, shift in 1i64..400) {
        let born = time::macros::date!(1920 - 01 - 01) + time::Duration::days(days);
        let first17 = format!("450103{:04}{:02}{:02}{seq:03}", born.year(), u8::from(born.month()), born.day());
        let number = sscard::idnumber::with_check_digit(&first17).unwrap();
        let card = |birth: time::Date| {
            let mut r = CardRecords::default();
            let digits = format!("{:04}{:02}{:02}", birth.year(), u8::from(birth.month()), birth.day());
            r.records.insert(Item::SocialSecurityNumber, RecordOutcome::Record(items::encode_record(Item::SocialSecurityNumber, number.as_bytes())));
            r.records.insert(Item::BirthDate, RecordOutcome::Record(items::encode_record(Item::BirthDate, &items::encode_bcd(&digits).unwrap())));
            SsCard::from_records(&r, time::macros::date!(2026 - 01 - 01))
        };
        prop_assert!(card(born).social_security_number_valid());
        let other = card(born + time::Duration::days(shift));
        prop_assert!(other.problems.contains(&CardProblem::SocialSecurityNumber(IdNumberProblem::BirthDateMismatch)));
    }
}
