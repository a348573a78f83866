//! Synthetic cards for the simulator: loaded from TOML, written out as the exact
//! text block, photo and fingerprint bytes a real card reader would return.

use serde::Deserialize;

use crate::card::{CardType, Gender, NEWEST_ADDRESS_LEN, TEXT_LEN, put_ucs2};

/// One synthetic card. Fields are written verbatim, so a test can put a wrong check
/// digit or a bad date on a card on purpose.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SimCard {
    /// Short name to place the card by (`place resident-longterm`).
    pub label: String,
    /// `resident` | `hk_mo_tw` | `foreigner_2017` | `foreigner_2023`.
    #[serde(default = "resident")]
    pub card_type: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub english_name: String,
    /// `male` | `female` | `unknown` | `unstated`.
    #[serde(default = "male")]
    pub gender: String,
    /// Two-digit ethnic group code (resident cards).
    #[serde(default = "han")]
    pub ethnicity: String,
    /// `YYYYMMDD`.
    #[serde(default)]
    pub birth_date: String,
    #[serde(default)]
    pub address: String,
    /// Written by `30 03`; empty means the card has none (SW3 `91`).
    #[serde(default)]
    pub newest_address: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub valid_from: String,
    /// `YYYYMMDD` or `长期`.
    #[serde(default)]
    pub valid_until: String,
    /// 'J': travel permit number and issue count.
    #[serde(default)]
    pub permit_number: String,
    #[serde(default)]
    pub issue_count: String,
    /// 'I' and 'Y': three-letter nationality code.
    #[serde(default)]
    pub nationality: String,
    #[serde(default)]
    pub card_version: String,
    #[serde(default)]
    pub authority_code: String,
    /// Fingerprint bytes returned by `30 10`: 0, 512 or 1024.
    #[serde(default)]
    pub fingerprint_len: usize,
}

fn resident() -> String {
    "resident".into()
}
fn male() -> String {
    "male".into()
}
fn han() -> String {
    "01".into()
}

impl std::fmt::Debug for SimCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimCard({}, {})", self.label, self.card_type)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardFile {
    card: Vec<SimCard>,
}

/// The TOML does not describe usable cards.
#[derive(Debug, thiserror::Error)]
pub enum CardFileError {
    #[error("card file is not valid TOML for [[card]] tables: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("card {label:?}: unknown card_type {value:?} (use resident, hk_mo_tw, foreigner_2017 or foreigner_2023)")]
    CardType { label: String, value: String },
    #[error("card {label:?}: unknown gender {value:?} (use male, female, unknown or unstated)")]
    Gender { label: String, value: String },
    #[error("card {label:?}: fingerprint_len must be 0, 512 or 1024")]
    FingerprintLen { label: String },
}

/// Parses a cards file (`[[card]]` tables) and checks every card can be served.
pub fn load_cards(toml_str: &str) -> Result<Vec<SimCard>, CardFileError> {
    let file: CardFile = toml::from_str(toml_str)?;
    for card in &file.card {
        card.card_type()?;
        card.gender()?;
        if ![0, 512, 1024].contains(&card.fingerprint_len) {
            return Err(CardFileError::FingerprintLen { label: card.label.clone() });
        }
    }
    Ok(file.card)
}

impl SimCard {
    pub fn card_type(&self) -> Result<CardType, CardFileError> {
        Ok(match self.card_type.as_str() {
            "resident" => CardType::Resident,
            "hk_mo_tw" => CardType::HkMoTw,
            "foreigner_2017" => CardType::Foreigner2017,
            "foreigner_2023" => CardType::Foreigner2023,
            other => return Err(CardFileError::CardType { label: self.label.clone(), value: other.into() }),
        })
    }

    pub fn gender(&self) -> Result<Gender, CardFileError> {
        Ok(match self.gender.as_str() {
            "male" => Gender::Male,
            "female" => Gender::Female,
            "unknown" => Gender::Unknown,
            "unstated" => Gender::Unstated,
            other => return Err(CardFileError::Gender { label: self.label.clone(), value: other.into() }),
        })
    }

    /// The 256-byte UCS-2LE text block, laid out for this card's type.
    pub fn text_block(&self) -> Vec<u8> {
        let mut t = vec![0u8; TEXT_LEN];
        put_ucs2(&mut t, "");
        let card_type = self.card_type().unwrap_or(CardType::Resident);
        let gender = self.gender().map(|g| g.code().to_string()).unwrap_or_default();
        let mut put = |a: usize, b: usize, s: &str| put_ucs2(&mut t[a..b], s);
        match card_type {
            CardType::Resident | CardType::HkMoTw => {
                put(0, 30, &self.name);
                put(30, 32, &gender);
                if card_type == CardType::Resident {
                    put(32, 36, &self.ethnicity);
                } else {
                    put(220, 238, &self.permit_number);
                    put(238, 242, &self.issue_count);
                }
                put(36, 52, &self.birth_date);
                put(52, 122, &self.address);
                put(122, 158, &self.id_number);
                put(158, 188, &self.issuer);
                put(188, 204, &self.valid_from);
                put(204, 220, &self.valid_until);
            }
            CardType::Foreigner2017 => {
                put(0, 120, &self.english_name);
                put(120, 122, &gender);
                put(122, 152, &self.id_number);
                put(152, 158, &self.nationality);
                put(158, 188, &self.name);
                put(188, 204, &self.valid_from);
                put(204, 220, &self.valid_until);
                put(220, 236, &self.birth_date);
                put(236, 240, &self.card_version);
                put(240, 248, &self.authority_code);
            }
            CardType::Foreigner2023 => {
                put(0, 30, &self.name);
                put(30, 32, &gender);
                put(36, 52, &self.birth_date);
                put(52, 122, &self.english_name);
                put(122, 158, &self.id_number);
                put(188, 204, &self.valid_from);
                put(204, 220, &self.valid_until);
                put(242, 248, &self.nationality);
            }
        }
        put(248, 250, &card_type.marker().to_string());
        t
    }

    /// 1024 bytes standing in for the WLT photo: deterministic per card, not an image.
    pub fn photo(&self) -> Vec<u8> {
        pseudo_bytes(&self.label, 1024, 0x57)
    }

    pub fn fingerprint(&self) -> Vec<u8> {
        pseudo_bytes(&self.label, self.fingerprint_len, 0x46)
    }

    /// The 70-byte `30 03` block, or `None` when the card has no newer address.
    pub fn newest_address_block(&self) -> Option<Vec<u8>> {
        if self.newest_address.is_empty() {
            return None;
        }
        let mut block = vec![0u8; NEWEST_ADDRESS_LEN];
        put_ucs2(&mut block, &self.newest_address);
        Some(block)
    }

    /// The 8-byte serial `20 02` returns.
    pub fn serial(&self) -> Vec<u8> {
        pseudo_bytes(&self.label, 8, 0x53)
    }
}

/// Deterministic filler (FNV-1a seeded xorshift) so each card's blobs are stable.
fn pseudo_bytes(seed: &str, len: usize, salt: u8) -> Vec<u8> {
    let mut x = seed
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64 ^ u64::from(salt), |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
        | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
