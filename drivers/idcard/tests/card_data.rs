//! Card data: all four card types from the shipped synthetic cards, dates, the ethnic
//! table, GB 11643 checks and cross-checks, masking, and the JSON shape.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use idcard::card::{TEXT_LEN, put_ucs2};
use idcard::idnumber::{check_digit, with_check_digit};
use idcard::sim::{SimCard, load_cards};
use idcard::{
    Card, CardDate, CardExtra, CardParseError, CardType, Expiry, FieldProblem, Gender, IdNumberProblem,
    ethnic_group_name, mask_id_number, mask_name,
};

fn cards() -> Vec<SimCard> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cards.toml")).unwrap();
    load_cards(&text).unwrap()
}

fn sim_card(label: &str) -> SimCard {
    cards().into_iter().find(|c| c.label == label).unwrap()
}

fn parse(card: &SimCard) -> Card {
    Card::parse(&card.text_block(), card.photo(), None).unwrap()
}

#[test]
fn shipped_cards_cover_every_type_and_all_have_valid_numbers() {
    let cards = cards();
    let types: Vec<CardType> = cards.iter().map(|c| parse(c).card_type).collect();
    for t in [CardType::Resident, CardType::HkMoTw, CardType::Foreigner2017, CardType::Foreigner2023] {
        assert!(types.contains(&t), "{t:?} missing");
    }
    assert!(types.iter().filter(|t| **t == CardType::Resident).count() >= 3);
    for c in &cards {
        let card = parse(c);
        assert!(card.problems.is_empty(), "{}: {:?}", c.label, card.problems);
        assert!(card.id_number_valid(), "{}", c.label);
    }
}

#[test]
fn resident_card_fields_parse() {
    let card = parse(&sim_card("resident"));
    assert_eq!(card.card_type, CardType::Resident);
    assert_eq!(card.name, "张三");
    assert_eq!(card.gender, Gender::Male);
    assert_eq!(card.ethnicity, Some((1, "汉")));
    assert_eq!(card.birth_date, CardDate::new(1990, 3, 7));
    assert_eq!(card.address, "北京市东城区示例路1号");
    assert_eq!(card.id_number, "110101199003071233");
    assert_eq!(card.issuer, "北京市公安局东城分局");
    assert_eq!(card.valid_from, CardDate::new(2020, 1, 1));
    assert_eq!(card.valid_until, Some(Expiry::Until(CardDate::new(2040, 1, 1).unwrap())));
    assert_eq!(card.photo.wlt().len(), 1024);
}

#[test]
fn long_term_validity_means_no_expiry() {
    let card = parse(&sim_card("resident-longterm"));
    assert_eq!(card.valid_until, Some(Expiry::NoExpiry));
    assert!(!Expiry::NoExpiry.is_expired_on(CardDate::new(2999, 1, 1).unwrap()));
    assert_eq!(card.id_number, "11010519491231002X");
    assert_eq!(card.gender, Gender::Female);
}

#[test]
fn expired_card_is_recognised_as_expired() {
    let card = parse(&sim_card("resident-expired"));
    let until = card.valid_until.unwrap();
    assert!(until.is_expired_on(CardDate::new(2026, 11, 21).unwrap()));
    assert!(!until.is_expired_on(CardDate::new(2014, 12, 31).unwrap()));
}

#[test]
fn hk_mo_tw_permit_keeps_permit_number_and_has_no_ethnicity() {
    let card = parse(&sim_card("hk-mo-tw"));
    assert_eq!(card.card_type, CardType::HkMoTw);
    assert_eq!(card.ethnicity, None);
    assert!(card.id_number.starts_with("81"));
    assert_eq!(card.extra, CardExtra::HkMoTw { permit_number: "H12345678".into(), issue_count: "01".into() });
}

#[test]
fn foreigner_2017_card_uses_its_own_layout() {
    let card = parse(&sim_card("foreigner-2017"));
    assert_eq!(card.card_type, CardType::Foreigner2017);
    assert_eq!(card.english_name.as_deref(), Some("TESTER, JOHN SAMPLE"));
    assert_eq!(card.name, "约翰");
    assert_eq!(card.id_number, "USA119001010010");
    assert_eq!(card.birth_date, CardDate::new(1990, 1, 1));
    assert_eq!(
        card.extra,
        CardExtra::Foreigner2017 {
            nationality: "USA".into(),
            card_version: "01".into(),
            accepting_authority_code: "1100".into()
        }
    );
}

#[test]
fn foreigner_2023_card_keeps_disputed_fields_raw() {
    let sim = sim_card("foreigner-2023");
    let mut text = sim.text_block();
    put_ucs2(&mut text[158..188], "争议字段");
    let card = Card::parse(&text, sim.photo(), None).unwrap();
    assert_eq!(card.card_type, CardType::Foreigner2023);
    assert_eq!(card.english_name.as_deref(), Some("EXAMPLE, ANDRE"));
    assert!(card.id_number_valid());
    let CardExtra::Foreigner2023 { nationality, raw_32, raw_158, raw_220 } = &card.extra else { panic!() };
    assert_eq!(nationality, "USA");
    assert_eq!(raw_158, &text[158..188].to_vec());
    assert_eq!((raw_32.len(), raw_220.len()), (4, 22));
}

#[test]
fn newest_address_replaces_the_printed_one() {
    let sim = sim_card("resident-new-address");
    let mut card = parse(&sim);
    card.newest_address = Some(Card::parse_newest_address(&sim.newest_address_block().unwrap()));
    assert_eq!(card.current_address(), "江苏省苏州市示例区新址路20号");
    assert_eq!(card.address, "江苏省苏州市示例区旧址路2号");
}

#[test]
fn ethnic_table_has_all_groups() {
    assert_eq!(ethnic_group_name(1), Some("汉"));
    assert_eq!(ethnic_group_name(29), Some("柯尔克孜"));
    assert_eq!(ethnic_group_name(56), Some("基诺"));
    assert_eq!(ethnic_group_name(98), Some("外国血统中国籍人士"));
    assert_eq!(ethnic_group_name(57), None);
    assert_eq!((1..=99).filter_map(ethnic_group_name).count(), 58);
}

#[test]
fn check_digit_follows_gb_11643() {
    assert_eq!(check_digit("11010519491231002"), Some('X'));
    assert_eq!(check_digit("44052418800101001"), Some('4'));
    assert_eq!(check_digit("4405241880010100"), None);
    assert_eq!(check_digit("4405241880010100A"), None);
    assert_eq!(with_check_digit("11010119900307123").as_deref(), Some("110101199003071233"));
}

fn with(label: &str, edit: impl FnOnce(&mut SimCard)) -> Card {
    let mut sim = sim_card(label);
    edit(&mut sim);
    parse(&sim)
}

#[test]
fn wrong_check_digit_is_reported_not_accepted() {
    let card = with("resident", |c| c.id_number = "110101199003071234".into());
    assert!(!card.id_number_valid());
    assert!(card.problems.contains(&FieldProblem::IdNumber(IdNumberProblem::CheckDigit { expected: '3', found: '4' })));
}

#[test]
fn birth_date_differing_from_the_number_is_reported() {
    let card = with("resident", |c| c.birth_date = "19900308".into());
    assert_eq!(card.id_number_problems().collect::<Vec<_>>(), [&IdNumberProblem::BirthDateMismatch]);
}

#[test]
fn gender_differing_from_the_number_is_reported() {
    let card = with("resident", |c| c.gender = "female".into());
    assert_eq!(card.id_number_problems().collect::<Vec<_>>(), [&IdNumberProblem::GenderMismatch]);
}

#[test]
fn foreigner_2017_number_is_cross_checked_with_nationality_and_birth_date() {
    let card = with("foreigner-2017", |c| c.nationality = "CAN".into());
    assert_eq!(card.id_number_problems().collect::<Vec<_>>(), [&IdNumberProblem::NationalityMismatch]);
    let card = with("foreigner-2017", |c| c.birth_date = "19900102".into());
    assert_eq!(card.id_number_problems().collect::<Vec<_>>(), [&IdNumberProblem::BirthDateMismatch]);
}

#[test]
fn malformed_fields_are_kept_and_listed() {
    let card = with("resident", |c| {
        c.valid_from = "2020/1/1".into();
        c.ethnicity = "77".into();
        c.id_number = "1101011990".into();
    });
    assert!(card.problems.contains(&FieldProblem::Date { field: "valid_from", raw: "2020/1/1".into() }));
    assert!(card.problems.contains(&FieldProblem::Ethnicity { raw: "77".into() }));
    assert!(card.problems.contains(&FieldProblem::IdNumber(IdNumberProblem::WrongLength { found: 10 })));
    assert_eq!(card.valid_from, None);
}

#[test]
fn impossible_dates_are_rejected() {
    assert_eq!(CardDate::parse_compact("20230229"), None);
    assert!(CardDate::parse_compact("20240229").is_some());
    assert_eq!(CardDate::parse_compact("20241301"), None);
    assert_eq!(CardDate::parse_compact("2024011"), None);
}

#[test]
fn unknown_card_type_and_short_text_are_errors() {
    let mut text = sim_card("resident").text_block();
    put_ucs2(&mut text[248..250], "Q");
    assert_eq!(Card::parse(&text, vec![], None), Err(CardParseError::UnknownCardType('Q')));
    assert_eq!(Card::parse(&text[..100], vec![], None), Err(CardParseError::TextLength(100)));
    assert_eq!(TEXT_LEN, 256);
}

#[test]
fn masking_keeps_only_first_and_last_four() {
    assert_eq!(mask_id_number("450100199001010034"), "4501**********0034");
    assert_eq!(mask_id_number("12345678"), "********");
    assert_eq!(mask_name("张三丰"), "张**");
    assert_eq!(mask_name("王"), "*");
    assert_eq!(mask_name(""), "");
}

#[test]
fn card_debug_masks_name_and_id_number() {
    let card = parse(&sim_card("resident"));
    let debug = format!("{card:?}");
    assert!(!debug.contains("张三"), "{debug}");
    assert!(!debug.contains("110101199003071233"), "{debug}");
    assert!(!debug.contains("东城区"), "{debug}");
    assert!(debug.contains("1101**********1233"), "{debug}");
}

#[test]
fn json_has_exactly_the_agreed_keys_and_masks_by_default() {
    let card = parse(&sim_card("resident-longterm"));
    let v = idcard::json::card_json(&card, false);
    for key in [
        "card_type",
        "name",
        "gender",
        "ethnicity",
        "birth_date",
        "address",
        "id_number",
        "id_number_valid",
        "issuer",
        "valid_from",
        "valid_until",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["card_type"], "resident");
    assert_eq!(v["name"], "李*");
    assert_eq!(v["gender"], "female");
    assert_eq!(v["ethnicity"], "汉");
    assert_eq!(v["birth_date"], "1949-12-31");
    assert_eq!(v["id_number"], "1101**********002X");
    assert_eq!(v["id_number_valid"], true);
    assert_eq!(v["valid_from"], "2010-06-01");
    assert!(v["valid_until"].is_null());
    let revealed = idcard::json::card_json(&card, true);
    assert_eq!(revealed["name"], "李四");
    assert_eq!(revealed["id_number"], "11010519491231002X");
    let types: Vec<String> = cards()
        .iter()
        .map(|c| idcard::json::card_json(&parse(c), false)["card_type"].as_str().unwrap().to_string())
        .collect();
    for t in ["resident", "hk_mo_tw", "foreigner_2017", "foreigner_2023"] {
        assert!(types.iter().any(|x| x == t));
    }
}

#[test]
fn card_file_errors_name_the_card_and_the_fix() {
    let err = load_cards("[[card]]\nlabel = \"x\"\ncard_type = \"passport\"\n").unwrap_err();
    assert!(err.to_string().contains("passport") && err.to_string().contains("resident"));
    let err = load_cards("[[card]]\nlabel = \"x\"\ngender = \"m\"\n").unwrap_err();
    assert!(err.to_string().contains("male, female"));
    assert!(load_cards("not toml [").is_err());
}
