//! The `--json` shape of a card: the keys the issue fixes, plus extras. The name and the
//! numbers are masked unless `reveal` is set, with the ID card tool's one rule.

use contract::china_time::ymd;
use contract::idnumber::{mask_id_number, mask_name};
use serde_json::{Value, json};

use crate::card::{Gender, SsCard};

/// `male`, `female` or `unknown` (the card's "unstated" code included).
pub fn gender_key(gender: Gender) -> &'static str {
    match gender {
        Gender::Male => "male",
        Gender::Female => "female",
        Gender::Unknown | Gender::Unstated => "unknown",
    }
}

/// One JSON object per card.
pub fn card_json(card: &SsCard, reveal: bool) -> Value {
    let mask = |s: &str| if reveal { s.to_owned() } else { mask_id_number(s) };
    let name = if reveal { card.name.clone() } else { mask_name(&card.name) };
    json!({
        "card_number": mask(&card.card_number),
        "social_security_number": mask(&card.social_security_number),
        "name": name,
        "gender": gender_key(card.gender),
        "ethnicity": card.ethnicity.map(|(_, n)| n),
        "birth_date": card.birth_date.map(ymd),
        "issue_date": card.issue_date.map(ymd),
        "valid_until": card.valid_until.map(ymd),
        "region_code": card.region_code,
        "spec_version": card.spec_version,
        "social_security_number_valid": card.social_security_number_valid(),
        // extras
        "card_identification": mask(&card.card_identification),
        "card_type": card.card_type,
        "initialising_organisation": card.initialising_organisation,
        "birthplace": card.birthplace,
        "blocked": card.is_blocked(),
        "expired": card.is_expired(),
        "problems": card.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}
