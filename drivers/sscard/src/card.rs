//! Card data: the records read from EF05 and EF06 become an [`SsCard`]. Never fails on odd
//! values: what does not parse is kept raw and listed in `SsCard::problems`, next to the
//! blocked and expired states and every disagreement of the social security number with
//! the card's birth date and gender records.

use std::collections::BTreeMap;
use std::fmt;

use contract::china_time::ymd;
use contract::idnumber::{self, IdNumberProblem, mask_id_number, mask_name};
pub use idcard::Gender;

use crate::apdu::StatusWord;
use crate::items::{self, Item, ValueProblem};

/// What one READ RECORD gave.
#[derive(Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The record's bytes (`tag len value`).
    Record(Vec<u8>),
    /// The card has no such record (`6A 83`) or answered with another error.
    Missing(StatusWord),
}

/// Everything the read procedure got from the card, before interpretation.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CardRecords {
    /// Some answer was `62 83`: the application or a file is invalidated (card blocked).
    pub invalidated: bool,
    pub records: BTreeMap<Item, RecordOutcome>,
}

/// Records hold personal data: only their shape is shown.
impl fmt::Debug for CardRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shape: Vec<String> = self
            .records
            .iter()
            .map(|(item, r)| match r {
                RecordOutcome::Record(b) => format!("{}: {} bytes", item.label(), b.len()),
                RecordOutcome::Missing(sw) => format!("{}: {sw:?}", item.label()),
            })
            .collect();
        f.debug_struct("CardRecords").field("invalidated", &self.invalidated).field("records", &shape).finish()
    }
}

/// Something the terminal must know about a card that was read: it is blocked or
/// expired, its number is wrong or disagrees with the card, or an item is missing or
/// unreadable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardProblem {
    /// The card answered `62 83`: its application or a file is invalidated (reported
    /// lost, replaced, or blocked by the issuer).
    Blocked,
    /// `valid_until` is before today (China time).
    Expired { valid_until: time::Date, today: time::Date },
    /// The social security number fails GB 11643 or disagrees with the birth date or
    /// gender records.
    SocialSecurityNumber(IdNumberProblem),
    /// The card has no such record (or refused it with the status shown).
    Missing { item: Item, status: Option<StatusWord> },
    /// The record is there but its value does not parse.
    Unreadable { item: Item, problem: ValueProblem },
}

impl fmt::Display for CardProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardProblem::Blocked => {
                f.write_str("the card is blocked (62 83, file invalidated): it may have been reported lost or replaced")
            }
            CardProblem::Expired { valid_until, today } => {
                write!(f, "the card expired on {} (today is {})", ymd(*valid_until), ymd(*today))
            }
            CardProblem::SocialSecurityNumber(p) => write!(f, "social security number: {p}"),
            CardProblem::Missing { item, status: Some(sw) } => write!(f, "{item} is missing: {sw}"),
            CardProblem::Missing { item, status: None } => write!(f, "{item} was not read"),
            CardProblem::Unreadable { item, problem } => write!(f, "{item} is unreadable: {problem}"),
        }
    }
}

/// Everything read from one social security card. Lives for one session; `Debug` masks
/// the name and numbers.
#[derive(Clone, PartialEq, Eq)]
pub struct SsCard {
    /// The card identification code (卡识别码), 16 bytes as 32 upper-case hex digits.
    pub card_identification: String,
    /// The issuing region: the first 6 digits of the identification code.
    pub region_code: String,
    pub card_type: String,
    /// `2.00` second generation, `3.00` third.
    pub spec_version: String,
    pub initialising_organisation: String,
    pub issue_date: Option<time::Date>,
    pub valid_until: Option<time::Date>,
    /// 社会保障卡卡号 (9 characters).
    pub card_number: String,
    /// The citizen ID number (18 characters).
    pub social_security_number: String,
    pub name: String,
    pub gender: Gender,
    /// Ethnic group (GB 3304 code, Chinese name).
    pub ethnicity: Option<(u8, &'static str)>,
    /// Birthplace region code (6 digits).
    pub birthplace: String,
    pub birth_date: Option<time::Date>,
    /// Blocked, expired, number problems, missing or unreadable items.
    pub problems: Vec<CardProblem>,
}

impl fmt::Debug for SsCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SsCard")
            .field("name", &mask_name(&self.name))
            .field("social_security_number", &mask_id_number(&self.social_security_number))
            .field("card_number", &mask_id_number(&self.card_number))
            .field("region_code", &self.region_code)
            .field("spec_version", &self.spec_version)
            .field("gender", &self.gender)
            .field("social_security_number_valid", &self.social_security_number_valid())
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

impl SsCard {
    /// Interprets the records read from a card; `today` is the China date the expiry is
    /// checked against ([`contract::china_time::china_date`]).
    pub fn from_records(records: &CardRecords, today: time::Date) -> SsCard {
        let mut problems = Vec::new();
        if records.invalidated {
            problems.push(CardProblem::Blocked);
        }
        let mut value = |item: Item| -> Option<Vec<u8>> {
            match records.records.get(&item) {
                Some(RecordOutcome::Record(bytes)) => match items::record_value(item, bytes) {
                    Ok(v) => Some(v.to_vec()),
                    Err(problem) => {
                        problems.push(CardProblem::Unreadable { item, problem });
                        None
                    }
                },
                Some(RecordOutcome::Missing(sw)) => {
                    problems.push(CardProblem::Missing { item, status: Some(*sw) });
                    None
                }
                None => {
                    problems.push(CardProblem::Missing { item, status: None });
                    None
                }
            }
        };
        let raw: BTreeMap<Item, Vec<u8>> = Item::ALL.into_iter().filter_map(|i| value(i).map(|v| (i, v))).collect();

        let mut card = SsCard {
            card_identification: String::new(),
            region_code: String::new(),
            card_type: String::new(),
            spec_version: String::new(),
            initialising_organisation: String::new(),
            issue_date: None,
            valid_until: None,
            card_number: String::new(),
            social_security_number: String::new(),
            name: String::new(),
            gender: Gender::Unknown,
            ethnicity: None,
            birthplace: String::new(),
            birth_date: None,
            problems: Vec::new(),
        };
        let mut unreadable =
            |item: Item, problem: ValueProblem| problems.push(CardProblem::Unreadable { item, problem });
        for (&item, v) in &raw {
            let text = || items::ascii(v);
            match item {
                Item::CardIdentification => {
                    card.card_identification = hex::encode_upper(v);
                    card.region_code = card.card_identification.chars().take(6).collect();
                }
                Item::CardType => text().map(|t| card.card_type = t).unwrap_or_else(|p| unreadable(item, p)),
                Item::SpecVersion => text().map(|t| card.spec_version = t).unwrap_or_else(|p| unreadable(item, p)),
                Item::InitialisingOrganisation => {
                    text().map(|t| card.initialising_organisation = t).unwrap_or_else(|p| unreadable(item, p))
                }
                Item::CardNumber => text().map(|t| card.card_number = t).unwrap_or_else(|p| unreadable(item, p)),
                Item::SocialSecurityNumber => {
                    text().map(|t| card.social_security_number = t).unwrap_or_else(|p| unreadable(item, p))
                }
                Item::IssueDate => match items::bcd_date(v) {
                    Ok(d) => card.issue_date = Some(d),
                    Err(p) => unreadable(item, p),
                },
                Item::ValidUntil => match items::bcd_date(v) {
                    Ok(d) => card.valid_until = Some(d),
                    Err(p) => unreadable(item, p),
                },
                Item::BirthDate => match items::bcd_date(v) {
                    Ok(d) => card.birth_date = Some(d),
                    Err(p) => unreadable(item, p),
                },
                Item::Name => {
                    let (name, problem) = items::gbk(v);
                    card.name = name;
                    if let Some(p) = problem {
                        unreadable(item, p);
                    }
                }
                Item::Gender => {
                    let code = text().ok().and_then(|t| t.chars().next().filter(|_| t.len() == 1));
                    match code.and_then(Gender::from_code) {
                        Some(g) => card.gender = g,
                        None => unreadable(item, ValueProblem::UnknownCode(printable(v))),
                    }
                }
                Item::Ethnicity => {
                    let code = match v.as_slice() {
                        [code] => Some(*code),
                        // Some cards write the code as two ASCII digits.
                        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => Some((a - b'0') * 10 + (b - b'0')),
                        _ => None,
                    };
                    match code.and_then(|c| idcard::ethnic_group_name(c).map(|n| (c, n))) {
                        Some(e) => card.ethnicity = Some(e),
                        None => unreadable(item, ValueProblem::UnknownCode(printable(v))),
                    }
                }
                Item::Birthplace => match items::bcd_digits(v) {
                    Ok(d) => card.birthplace = d,
                    Err(p) => unreadable(item, p),
                },
            }
        }
        if let Some(valid_until) = card.valid_until
            && valid_until < today
        {
            problems.push(CardProblem::Expired { valid_until, today });
        }
        let sex = match card.gender {
            Gender::Male => Some(idnumber::Sex::Male),
            Gender::Female => Some(idnumber::Sex::Female),
            Gender::Unknown | Gender::Unstated => None,
        };
        problems.extend(
            idnumber::resident_number_problems(&card.social_security_number, card.birth_date, sex)
                .into_iter()
                .map(CardProblem::SocialSecurityNumber),
        );
        card.problems = problems;
        card
    }

    /// True when the social security number passed GB 11643 and agrees with the card's
    /// birth date and gender records.
    pub fn social_security_number_valid(&self) -> bool {
        self.social_security_number_problems().next().is_none()
    }

    pub fn social_security_number_problems(&self) -> impl Iterator<Item = &IdNumberProblem> {
        self.problems.iter().filter_map(|p| match p {
            CardProblem::SocialSecurityNumber(p) => Some(p),
            _ => None,
        })
    }

    /// The card answered `62 83` (invalidated): it must not be accepted.
    pub fn is_blocked(&self) -> bool {
        self.problems.contains(&CardProblem::Blocked)
    }

    pub fn is_expired(&self) -> bool {
        self.problems.iter().any(|p| matches!(p, CardProblem::Expired { .. }))
    }
}

/// A raw value for a problem message: printable ASCII as text, anything else as hex.
fn printable(v: &[u8]) -> String {
    if v.iter().all(|b| (0x20..0x7F).contains(b)) {
        v.iter().map(|&b| char::from(b)).collect()
    } else {
        hex::encode_upper(v)
    }
}
