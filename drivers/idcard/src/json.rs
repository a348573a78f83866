//! The `--json` shape of a card: the keys the issue fixes, plus type-specific extras.
//! Name and ID number are masked unless `reveal` is set.

use serde_json::{Value, json};

use crate::card::{Card, CardExtra, Expiry};
use crate::idnumber::{mask_id_number, mask_name};

/// One JSON object per card.
pub fn card_json(card: &Card, reveal: bool) -> Value {
    let (name, id_number) = if reveal {
        (card.name.clone(), card.id_number.clone())
    } else {
        (mask_name(&card.name), mask_id_number(&card.id_number))
    };
    let mut v = json!({
        "card_type": card.card_type.as_str(),
        "name": name,
        "gender": card.gender.as_str(),
        "ethnicity": card.ethnicity.map(|(_, n)| n),
        "birth_date": card.birth_date.map(|d| d.to_string()),
        "address": card.current_address(),
        "id_number": id_number,
        "id_number_valid": card.id_number_valid(),
        "issuer": card.issuer,
        "valid_from": card.valid_from.map(|d| d.to_string()),
        "valid_until": match card.valid_until {
            Some(Expiry::Until(d)) => Some(d.to_string()),
            _ => None,
        },
    });
    let Some(obj) = v.as_object_mut() else { return v };
    if card.newest_address.is_some() {
        obj.insert("printed_address".into(), json!(card.address));
    }
    if let Some(english) = &card.english_name {
        let english = if reveal { english.clone() } else { mask_name(english) };
        obj.insert("english_name".into(), json!(english));
    }
    match &card.extra {
        CardExtra::Resident => {}
        CardExtra::HkMoTw { permit_number, issue_count } => {
            let permit = if reveal { permit_number.clone() } else { mask_id_number(permit_number) };
            obj.insert("permit_number".into(), json!(permit));
            obj.insert("issue_count".into(), json!(issue_count));
        }
        CardExtra::Foreigner2017 { nationality, card_version, accepting_authority_code } => {
            obj.insert("nationality".into(), json!(nationality));
            obj.insert("card_version".into(), json!(card_version));
            obj.insert("accepting_authority_code".into(), json!(accepting_authority_code));
        }
        CardExtra::Foreigner2023 { nationality, raw_32, raw_158, raw_220 } => {
            obj.insert("nationality".into(), json!(nationality));
            let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
            obj.insert("raw_32".into(), json!(hex(raw_32)));
            obj.insert("raw_158".into(), json!(hex(raw_158)));
            obj.insert("raw_220".into(), json!(hex(raw_220)));
        }
    }
    if !card.problems.is_empty() {
        let problems: Vec<String> = card.problems.iter().map(ToString::to_string).collect();
        obj.insert("problems".into(), json!(problems));
    }
    obj.insert("photo_wlt_bytes".into(), json!(card.photo.wlt().len()));
    if let Some(fp) = &card.fingerprint {
        obj.insert("fingerprint_bytes".into(), json!(fp.len()));
    }
    v
}
