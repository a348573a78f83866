//! Synthetic cards for the simulator, loaded from TOML (`testdata/cards.toml`): the values
//! written to the card's records, and how the card misbehaves (blocked, protected items,
//! T=0 answers, strict lengths).

use std::collections::BTreeMap;

use contract::idnumber::{mask_id_number, mask_name};
use serde::Deserialize;

use crate::items::{self, File, Item};

/// One synthetic card. Values are written to the card as given (so a broken card can be
/// described); only their encoding is checked when the file is loaded.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimCard {
    pub label: String,
    pub name: String,
    pub social_security_number: String,
    /// `male`, `female`, or the GB/T 2261.1 code written on the card (`0`, `1`, `2`, `9`).
    pub gender: String,
    /// GB 3304 code (1 = 汉).
    #[serde(default = "han")]
    pub ethnicity: u8,
    /// `YYYYMMDD`.
    pub birth_date: String,
    /// Region code, 6 digits.
    #[serde(default = "default_birthplace")]
    pub birthplace: String,
    /// 9 characters.
    pub card_number: String,
    /// 32 hex digits; the first 6 are the issuing region.
    pub card_identification: String,
    #[serde(default = "default_card_type")]
    pub card_type: String,
    #[serde(default = "default_spec_version")]
    pub spec_version: String,
    #[serde(default = "default_organisation")]
    pub initialising_organisation: String,
    pub issue_date: String,
    pub valid_until: String,

    /// The application answers SELECT with `62 83` (file invalidated): a blocked card.
    #[serde(default)]
    pub blocked: bool,
    /// Items (by key, e.g. `name`, `social_security_number`) that answer `69 82` until the
    /// terminal authenticates.
    #[serde(default)]
    pub protected: Vec<String>,
    /// Hex: EXTERNAL AUTHENTICATE (`00 82 00 00`) with exactly these bytes unlocks the
    /// protected items (a stand-in for a real security module's scheme, for tests).
    #[serde(default)]
    pub unlock_key: Option<String>,
    /// T=0 style: every answer with data is announced with `61 xx` and fetched with GET
    /// RESPONSE.
    #[serde(default)]
    pub get_response: bool,
    /// A READ RECORD whose Le differs from the record's length is answered `6C xx`.
    #[serde(default)]
    pub strict_le: bool,
    /// Width of the name field in bytes (30 in the specification).
    #[serde(default)]
    pub name_length: Option<usize>,
    /// Hex ATR (default: a T=0 card, `3B 68 00 00 …`).
    #[serde(default)]
    pub atr: Option<String>,
}

fn han() -> u8 {
    1
}
fn default_birthplace() -> String {
    "110105".into()
}
fn default_card_type() -> String {
    "3".into()
}
fn default_spec_version() -> String {
    "3.00".into()
}
fn default_organisation() -> String {
    "110000000001".into()
}

/// A T=0 card: TS 3B, T0 68 (TB1, TC1, 8 historical bytes), TB1 00, TC1 00, "SSCARD03".
pub const DEFAULT_ATR: [u8; 12] = [0x3B, 0x68, 0x00, 0x00, b'S', b'S', b'C', b'A', b'R', b'D', b'0', b'3'];

/// Synthetic people are still masked in logs, as real ones would be.
impl std::fmt::Debug for SimCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimCard")
            .field("label", &self.label)
            .field("name", &mask_name(&self.name))
            .field("social_security_number", &mask_id_number(&self.social_security_number))
            .finish_non_exhaustive()
    }
}

/// The cards file does not describe cards the simulator can serve.
#[derive(Debug, thiserror::Error)]
pub enum CardsError {
    #[error("the cards file is not valid TOML for [[card]] entries: {0}")]
    Toml(String),
    #[error("card {label:?}: {problem}")]
    Card { label: String, problem: String },
    #[error("two cards are labelled {0:?}")]
    DuplicateLabel(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardsFile {
    card: Vec<SimCard>,
}

/// Parses a cards file and checks that every card can be written.
pub fn load_cards(text: &str) -> Result<Vec<SimCard>, CardsError> {
    let file: CardsFile = toml::from_str(text).map_err(|e| CardsError::Toml(e.to_string()))?;
    let mut labels = std::collections::BTreeSet::new();
    for card in &file.card {
        if !labels.insert(card.label.clone()) {
            return Err(CardsError::DuplicateLabel(card.label.clone()));
        }
        card.records().map_err(|problem| CardsError::Card { label: card.label.clone(), problem })?;
    }
    Ok(file.card)
}

impl SimCard {
    /// The ATR the card answers with.
    pub fn atr_bytes(&self) -> Result<Vec<u8>, String> {
        match &self.atr {
            None => Ok(DEFAULT_ATR.to_vec()),
            Some(h) => hex::decode(h.replace(' ', "")).map_err(|e| format!("atr {h:?} is not hex: {e}")),
        }
    }

    pub fn unlock_key_bytes(&self) -> Result<Option<Vec<u8>>, String> {
        self.unlock_key
            .as_ref()
            .map(|h| hex::decode(h.replace(' ', "")).map_err(|e| format!("unlock_key {h:?} is not hex: {e}")))
            .transpose()
    }

    pub fn protected_items(&self) -> Result<Vec<Item>, String> {
        self.protected
            .iter()
            .map(|label| {
                Item::from_key(label)
                    .ok_or_else(|| format!("protected item {label:?} is not an item key (e.g. name, birth_date)"))
            })
            .collect()
    }

    /// The card's records, `tag len value`, by file and record number.
    pub fn records(&self) -> Result<BTreeMap<(File, u8), Vec<u8>>, String> {
        self.atr_bytes()?;
        self.unlock_key_bytes()?;
        self.protected_items()?;
        let bcd = |what: &str, digits: &str, len: usize| -> Result<Vec<u8>, String> {
            match items::encode_bcd(digits) {
                Some(b) if digits.len() == len * 2 => Ok(b),
                _ => Err(format!("{what} {digits:?} must be {} digits", len * 2)),
            }
        };
        let ascii = |what: &str, text: &str| -> Result<Vec<u8>, String> {
            if text.is_ascii() { Ok(text.as_bytes().to_vec()) } else { Err(format!("{what} {text:?} must be ASCII")) }
        };
        let mut name = items::encode_gbk(&self.name);
        let width = self.name_length.unwrap_or(Item::Name.length());
        if name.len() > width {
            return Err(format!("the name takes {} bytes in GBK, more than its field of {width}", name.len()));
        }
        name.resize(width, 0x00);
        let gender = match self.gender.as_str() {
            "male" => "1",
            "female" => "2",
            code @ ("0" | "1" | "2" | "9") => code,
            other => return Err(format!("gender {other:?} must be male, female or a code 0, 1, 2, 9")),
        };
        let identification = hex::decode(&self.card_identification)
            .ok()
            .filter(|b| b.len() == 16)
            .ok_or_else(|| format!("card_identification {:?} must be 32 hex digits", self.card_identification))?;
        let mut out = BTreeMap::new();
        for item in Item::ALL {
            let value = match item {
                Item::CardIdentification => identification.clone(),
                Item::CardType => ascii("card_type", &self.card_type)?,
                Item::SpecVersion => ascii("spec_version", &self.spec_version)?,
                Item::InitialisingOrganisation => ascii("initialising_organisation", &self.initialising_organisation)?,
                Item::IssueDate => bcd("issue_date", &self.issue_date, 4)?,
                Item::ValidUntil => bcd("valid_until", &self.valid_until, 4)?,
                Item::CardNumber => ascii("card_number", &self.card_number)?,
                Item::SocialSecurityNumber => ascii("social_security_number", &self.social_security_number)?,
                Item::Name => name.clone(),
                Item::Gender => gender.as_bytes().to_vec(),
                Item::Ethnicity => vec![self.ethnicity],
                Item::Birthplace => bcd("birthplace", &self.birthplace, 3)?,
                Item::BirthDate => bcd("birth_date", &self.birth_date, 4)?,
            };
            if value.len() > 255 {
                return Err(format!("{} is longer than a record can be", item.label()));
            }
            out.insert((item.file(), item.record()), items::encode_record(item, &value));
        }
        Ok(out)
    }
}
