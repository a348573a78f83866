//! The read procedure and card data against the in-process card engine (no reader): every
//! synthetic card, the problems a card can have, refused items and the security module,
//! masking, the `--json` keys, value decoding, and the watch task's sans-IO tracker.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use sscard::card::{CardRecords, RecordOutcome};
use sscard::items::{self, ValueProblem};
use sscard::sim::{CardEngine, SimCard, load_cards};
use sscard::watch::{Change, Observed, Tracker};
use sscard::{
    Authentication, CardProblem, Exchange, Gender, IdNumberProblem, Item, ReadError, ReaderInfo, SecurityError,
    SecurityModule, ServiceError, SsCard, StatusWord, Step, choose_reader, read_card,
};
use time::macros::date;

const TODAY: time::Date = date!(2026 - 12 - 01);

fn cards() -> Vec<SimCard> {
    load_cards(include_str!("../testdata/cards.toml")).unwrap()
}

fn card(label: &str) -> SimCard {
    cards().into_iter().find(|c| c.label == label).unwrap()
}

fn read(label: &str) -> Result<SsCard, ReadError> {
    read_card(&mut CardEngine::new(&card(label)), TODAY, None)
}

#[test]
fn the_central_services_three_people_read_as_they_are() {
    let c = read("zhang-xiuying").unwrap();
    assert_eq!((c.name.as_str(), c.social_security_number.as_str()), ("张秀英", "11010519491231002X"));
    assert_eq!((c.gender, c.birth_date), (Gender::Female, Some(date!(1949 - 12 - 31))));
    assert_eq!(c.ethnicity, Some((1, "汉")));
    assert_eq!((c.region_code.as_str(), c.spec_version.as_str()), ("110100", "3.00"));
    assert_eq!((c.card_number.as_str(), c.birthplace.as_str()), ("B11000001", "110105"));
    assert_eq!((c.issue_date, c.valid_until), (Some(date!(2020 - 01 - 01)), Some(date!(2040 - 01 - 01))));
    assert!(c.problems.is_empty(), "{:?}", c.problems);

    let c = read("li-fushou").unwrap();
    assert_eq!((c.name.as_str(), c.gender, c.birth_date), ("李福寿", Gender::Male, Some(date!(1880 - 01 - 01))));
    assert!(c.social_security_number_valid());

    let c = read("wang-wei").unwrap();
    assert_eq!((c.name.as_str(), c.social_security_number.as_str()), ("王伟", "450103199001010032"));
    assert_eq!(c.ethnicity, Some((8, "壮")));
    assert!(c.problems.is_empty(), "{:?}", c.problems);
}

#[test]
fn every_synthetic_card_reads_or_says_why_not() {
    for c in cards() {
        match read_card(&mut CardEngine::new(&c), TODAY, None) {
            Ok(card) => assert_eq!(card.social_security_number, c.social_security_number, "{}", c.label),
            Err(e) => assert_eq!(c.label, "protected", "{e}"),
        }
    }
}

#[test]
fn an_expired_card_says_so_in_china_time() {
    let c = read("expired").unwrap();
    assert!(c.is_expired());
    assert_eq!(c.problems, vec![CardProblem::Expired { valid_until: date!(2015 - 03 - 15), today: TODAY }]);
    assert_eq!(c.problems[0].to_string(), "the card expired on 2015-03-15 (today is 2026-12-01)");
    // The last valid day is not expired yet.
    let on_the_day = read_card(&mut CardEngine::new(&card("expired")), date!(2015 - 03 - 15), None).unwrap();
    assert!(!on_the_day.is_expired());
}

#[test]
fn a_blocked_card_is_read_and_reported_blocked() {
    let c = read("blocked").unwrap();
    assert!(c.is_blocked());
    assert_eq!(c.problems, vec![CardProblem::Blocked]);
    assert!(c.problems[0].to_string().contains("62 83"));
    assert_eq!(c.name, "周芳", "the data is still there for the technician");
}

#[test]
fn a_birth_date_record_that_disagrees_with_the_number_is_reported() {
    let c = read("birth-date-mismatch").unwrap();
    assert!(!c.social_security_number_valid());
    assert_eq!(c.problems, vec![CardProblem::SocialSecurityNumber(IdNumberProblem::BirthDateMismatch)]);
}

#[test]
fn a_gender_record_that_disagrees_with_the_number_is_reported() {
    let mut c = card("wang-wei");
    c.gender = "female".into();
    let read = read_card(&mut CardEngine::new(&c), TODAY, None).unwrap();
    assert_eq!(read.problems, vec![CardProblem::SocialSecurityNumber(IdNumberProblem::GenderMismatch)]);
    let mut c = card("wang-wei");
    c.social_security_number = "450103199001010033".into();
    let read = read_card(&mut CardEngine::new(&c), TODAY, None).unwrap();
    assert_eq!(
        read.problems,
        vec![CardProblem::SocialSecurityNumber(IdNumberProblem::CheckDigit { expected: '2', found: '3' })]
    );
}

#[test]
fn a_protected_item_is_named_and_the_security_module_asked_for() {
    let e = read("protected").unwrap_err();
    assert_eq!(e.refused_item(), Some(Item::SocialSecurityNumber));
    assert_eq!(
        e,
        ReadError::Refused {
            step: Step::ReadRecord(Item::SocialSecurityNumber),
            status: StatusWord(0x69, 0x82),
            authentication: Authentication::NotConfigured
        }
    );
    let text = e.to_string();
    assert!(text.contains("social security number (EF06 record 1, tag 08)"), "{text}");
    assert!(
        text.contains("69 82") && text.contains("security module") && text.contains("none is configured"),
        "{text}"
    );
}

/// A stand-in security module: EXTERNAL AUTHENTICATE with a fixed key (the simulator's
/// `unlock_key`), counting its calls.
struct TestModule {
    key: Vec<u8>,
    calls: Vec<Item>,
}

impl SecurityModule for TestModule {
    fn name(&self) -> &str {
        "test PSAM"
    }
    fn authenticate(&mut self, card: &mut dyn Exchange, item: Item) -> Result<(), SecurityError> {
        self.calls.push(item);
        let mut apdu = vec![0x00, 0x82, 0x00, 0x00, self.key.len() as u8];
        apdu.extend_from_slice(&self.key);
        let answer = card.exchange(&apdu).map_err(|e| SecurityError(e.to_string()))?;
        if answer.ends_with(&[0x90, 0x00]) {
            Ok(())
        } else {
            Err(SecurityError(format!("card answered {answer:02X?}")))
        }
    }
}

#[test]
fn a_security_module_unlocks_the_protected_holder_file_once() {
    let mut module = TestModule { key: hex::decode("0011223344556677").unwrap(), calls: vec![] };
    let c = read_card(&mut CardEngine::new(&card("protected")), TODAY, Some(&mut module)).unwrap();
    assert_eq!(c.name, "刘强");
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    assert_eq!(module.calls, vec![Item::SocialSecurityNumber], "authenticated once for the whole file");
}

#[test]
fn a_failing_security_module_is_reported_with_its_name() {
    let mut module = TestModule { key: vec![0xFF; 8], calls: vec![] };
    let e = read_card(&mut CardEngine::new(&card("protected")), TODAY, Some(&mut module)).unwrap_err();
    assert!(
        matches!(&e, ReadError::Refused { authentication: Authentication::Failed { module, .. }, .. } if module == "test PSAM")
    );
    assert!(e.to_string().contains("the security module test PSAM failed"), "{e}");
}

#[test]
fn t0_answers_and_wrong_lengths_are_followed_to_the_data() {
    let mut engine = CardEngine::new(&card("t0-wrong-length"));
    let c = read_card(&mut engine, TODAY, None).unwrap();
    assert_eq!(c.name, "吴磊");
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    // 3 selects + 13 reads, each read's data fetched by GET RESPONSE, the name's Le resent once.
    assert_eq!(engine.commands, 3 + 13 * 2 + 1);
}

#[test]
fn something_that_is_not_a_social_security_card_says_so() {
    struct Other;
    impl Exchange for Other {
        fn exchange(&mut self, _: &[u8]) -> Result<Vec<u8>, sscard::TransportError> {
            Ok(vec![0x6A, 0x82])
        }
    }
    let e = read_card(&mut Other, TODAY, None).unwrap_err();
    assert!(matches!(e, ReadError::NotSocialSecurityCard { .. }));
    assert!(e.to_string().contains("not a social security card"), "{e}");
}

#[test]
fn a_card_pulled_mid_read_is_a_clean_transport_error_naming_the_step() {
    struct PulledAfter(CardEngine, u32);
    impl Exchange for PulledAfter {
        fn exchange(&mut self, apdu: &[u8]) -> Result<Vec<u8>, sscard::TransportError> {
            if self.1 == 0 {
                return Err(sscard::TransportError::CardRemoved);
            }
            self.1 -= 1;
            self.0.exchange(apdu)
        }
    }
    let e = read_card(&mut PulledAfter(CardEngine::new(&card("wang-wei")), 11), TODAY, None).unwrap_err();
    assert!(e.is_card_removed());
    assert!(e.to_string().starts_with("the card was taken out while reading the name"), "{e}");
}

#[test]
fn debug_masks_the_name_and_numbers() {
    let c = read("zhang-xiuying").unwrap();
    let shown = format!("{c:?}");
    assert!(shown.contains("张**") && shown.contains("1101**********002X"), "{shown}");
    assert!(!shown.contains("张秀英") && !shown.contains("11010519491231002X") && !shown.contains("B11000001"));
    let sim = format!("{:?}", card("zhang-xiuying"));
    assert!(!sim.contains("张秀英") && !sim.contains("19491231002X"), "{sim}");
}

#[test]
fn json_has_exactly_the_issues_keys_plus_extras_and_masks_by_default() {
    let c = read("zhang-xiuying").unwrap();
    let v = sscard::json::card_json(&c, false);
    for key in [
        "card_number",
        "social_security_number",
        "name",
        "gender",
        "ethnicity",
        "birth_date",
        "issue_date",
        "valid_until",
        "region_code",
        "spec_version",
        "social_security_number_valid",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["name"], "张**");
    assert_eq!(v["social_security_number"], "1101**********002X");
    assert_eq!(v["card_number"], "B110*0001");
    assert_eq!((v["gender"].as_str(), v["ethnicity"].as_str()), (Some("female"), Some("汉")));
    assert_eq!((v["birth_date"].as_str(), v["valid_until"].as_str()), (Some("1949-12-31"), Some("2040-01-01")));
    assert_eq!(v["social_security_number_valid"], true);
    let v = sscard::json::card_json(&c, true);
    assert_eq!((v["name"].as_str(), v["card_number"].as_str()), (Some("张秀英"), Some("B11000001")));
}

#[test]
fn values_decode_as_the_table_says() {
    assert_eq!(items::bcd_date(&[0x19, 0x49, 0x12, 0x31]), Ok(date!(1949 - 12 - 31)));
    assert_eq!(items::bcd_date(&[0x19, 0x49, 0x13, 0x31]), Err(ValueProblem::BadDate("19491331".into())));
    assert_eq!(items::bcd_date(&[0x19, 0x4A, 0x12, 0x31]), Err(ValueProblem::NotBcd));
    assert_eq!(items::bcd_digits(&[0x45, 0x01, 0x03]).unwrap(), "450103");
    assert_eq!(items::gbk(&[0xD5, 0xC5, 0xC8, 0xFD, 0x20, 0x20, 0x00]), ("张三".to_string(), None));
    assert_eq!(items::gbk(&[0xD5, 0xC5, 0xA1, 0xA1, 0x00]).0, "张", "ideographic space padding");
    assert_eq!(items::gbk(&[0xD5, 0xC5, 0xFF, 0x30]).1, Some(ValueProblem::NotGbk));
    assert_eq!(items::ascii(b"3.00"), Ok("3.00".into()));
    assert_eq!(items::record_value(Item::Name, &[0x09, 0x02, 1, 2, 0xFF]), Ok(&[1u8, 2][..]));
    assert_eq!(
        items::record_value(Item::Name, &[0x08, 0x01, 1]),
        Err(ValueProblem::WrongTag { expected: 9, found: 8 })
    );
    assert_eq!(
        items::record_value(Item::Name, &[0x09, 0x05, 1]),
        Err(ValueProblem::Truncated { declared: 5, available: 1 })
    );
}

#[test]
fn odd_records_become_problems_never_a_failed_read() {
    let mut records = CardRecords::default();
    records.records.insert(Item::Gender, RecordOutcome::Record(vec![0x0A, 0x01, b'7']));
    records.records.insert(Item::BirthDate, RecordOutcome::Record(vec![0x0D, 0x04, 0x19, 0x90, 0x02, 0x30]));
    records.records.insert(Item::Ethnicity, RecordOutcome::Record(vec![0x0B, 0x01, 200]));
    records.records.insert(Item::Name, RecordOutcome::Missing(StatusWord(0x6A, 0x83)));
    let c = SsCard::from_records(&records, TODAY);
    let shown: Vec<String> = c.problems.iter().map(ToString::to_string).collect();
    assert!(
        shown.contains(&"gender (EF06 record 3, tag 0A) is unreadable: code \"7\" is not in the table".into()),
        "{shown:?}"
    );
    assert!(shown.iter().any(|p| p.starts_with("birth date") && p.contains("19900230")), "{shown:?}");
    assert!(shown.iter().any(|p| p.starts_with("ethnic group") && p.contains("C8")), "{shown:?}");
    assert!(shown.contains(&"name (EF06 record 2, tag 09) is missing: 6A 83 (record not found)".into()), "{shown:?}");
    assert!(!c.social_security_number_valid(), "no number read");
}

#[test]
fn the_tracker_reports_each_insertion_once_and_every_removal() {
    let mut t = Tracker::default();
    let seen = |present, event_count| Observed { present, event_count };
    assert_eq!(t.observe("R", seen(false, 0)), vec![]);
    assert_eq!(t.observe("R", seen(true, 1)), vec![Change::Inserted("R".into())]);
    assert_eq!(t.observe("R", seen(true, 1)), vec![], "in use, still the same card");
    assert_eq!(t.observe("R", seen(true, 3)), vec![Change::Removed("R".into()), Change::Inserted("R".into())]);
    assert_eq!(t.observe("R", seen(false, 4)), vec![Change::Removed("R".into())]);
    assert_eq!(t.observe("S", seen(true, 1)), vec![Change::Inserted("S".into())], "a card there at start");
    assert_eq!(t.forget("S"), vec![Change::Removed("S".into())], "reader unplugged with its card");
    assert_eq!(t.forget("S"), vec![]);
    t.observe("R", seen(true, 5));
    assert_eq!(t.forget_all(), vec![Change::Removed("R".into())]);
    assert!(!t.holds_card("R"));
}

#[test]
fn the_reader_is_the_configured_one_else_the_first_with_a_card_else_the_first() {
    let r = |name: &str, card_present| ReaderInfo { name: name.into(), card_present, mute: false, atr: vec![] };
    let readers = vec![r("A", false), r("B", true), r("C", true)];
    assert_eq!(choose_reader(&readers, Some("C")).unwrap().name, "C");
    assert_eq!(choose_reader(&readers, None).unwrap().name, "B");
    assert_eq!(choose_reader(&readers[..1], None).unwrap().name, "A");
    assert_eq!(choose_reader(&[], None), Err(ServiceError::NoReaders));
    let e = choose_reader(&readers, Some("D")).unwrap_err();
    assert!(e.to_string().contains("no reader named \"D\"") && e.to_string().contains("\"A\", \"B\", \"C\""), "{e}");
}

#[test]
fn a_bad_cards_file_names_the_card_and_the_value() {
    let text = include_str!("../testdata/cards.toml").replace("birth_date = \"19491231\"", "birth_date = \"1949123\"");
    let e = load_cards(&text).unwrap_err().to_string();
    assert!(e.contains("zhang-xiuying") && e.contains("birth_date"), "{e}");
    let text = include_str!("../testdata/cards.toml").replace("\"social_security_number\", \"name\"", "\"nmae\"");
    assert!(load_cards(&text).unwrap_err().to_string().contains("\"nmae\""));
}
