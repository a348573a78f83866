//! Card data: parses the 256-byte UCS-2 text block of all four card types into a
//! [`Card`], validating and cross-checking the ID number. Never fails on odd fields:
//! what does not parse is kept and listed in `Card::problems`.

use std::fmt;

use crate::idnumber::{self, IdNumberProblem, mask_id_number, mask_name};
use crate::photo::Photo;

/// Size of the text block in a `30 01` / `30 10` reply.
pub const TEXT_LEN: usize = 256;
/// Size of the newest-address block in a `30 03` reply.
pub const NEWEST_ADDRESS_LEN: usize = 70;

/// Which document the card is (the character at byte 248 of the text block).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CardType {
    /// Resident ID card (space).
    Resident,
    /// Hong Kong / Macau / Taiwan residence permit ('J').
    HkMoTw,
    /// Foreigner's permanent residence card, 2017 ('I').
    Foreigner2017,
    /// Foreigner's permanent residence card, 2023 ('Y').
    Foreigner2023,
}

impl CardType {
    /// The `card_type` value of the `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            CardType::Resident => "resident",
            CardType::HkMoTw => "hk_mo_tw",
            CardType::Foreigner2017 => "foreigner_2017",
            CardType::Foreigner2023 => "foreigner_2023",
        }
    }
    pub fn marker(self) -> char {
        match self {
            CardType::Resident => ' ',
            CardType::HkMoTw => 'J',
            CardType::Foreigner2017 => 'I',
            CardType::Foreigner2023 => 'Y',
        }
    }
    pub fn from_marker(c: char) -> Option<CardType> {
        Some(match c {
            ' ' | '\0' => CardType::Resident,
            'J' => CardType::HkMoTw,
            'I' => CardType::Foreigner2017,
            'Y' => CardType::Foreigner2023,
            _ => return None,
        })
    }
}

/// Gender as coded on the card (GB/T 2261.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Gender {
    Male,
    Female,
    Unknown,
    Unstated,
}

impl Gender {
    pub fn from_code(c: char) -> Option<Gender> {
        Some(match c {
            '1' => Gender::Male,
            '2' => Gender::Female,
            '0' => Gender::Unknown,
            '9' => Gender::Unstated,
            _ => return None,
        })
    }
    pub fn code(self) -> char {
        match self {
            Gender::Male => '1',
            Gender::Female => '2',
            Gender::Unknown => '0',
            Gender::Unstated => '9',
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Unknown => "unknown",
            Gender::Unstated => "unstated",
        }
    }
}

/// A calendar date printed on the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CardDate {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl CardDate {
    pub fn new(year: u16, month: u8, day: u8) -> Option<CardDate> {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        (year >= 1800 && (1..=days).contains(&day)).then_some(CardDate { year, month, day })
    }

    /// Parses `YYYYMMDD`.
    pub fn parse_compact(s: &str) -> Option<CardDate> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        CardDate::new(s[0..4].parse().ok()?, s[4..6].parse().ok()?, s[6..8].parse().ok()?)
    }

    /// `YYYYMMDD`, as stored on the card.
    pub fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for CardDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// End of validity: a date, or `长期` (long-term, no expiry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    Until(CardDate),
    NoExpiry,
}

impl Expiry {
    /// Whether the card is expired on `today`.
    pub fn is_expired_on(self, today: CardDate) -> bool {
        matches!(self, Expiry::Until(d) if d < today)
    }
}

/// Ethnic group codes 01..56, 97, 98 (GB 3304).
const ETHNIC_GROUPS: [(u8, &str); 58] = [
    (1, "汉"),
    (2, "蒙古"),
    (3, "回"),
    (4, "藏"),
    (5, "维吾尔"),
    (6, "苗"),
    (7, "彝"),
    (8, "壮"),
    (9, "布依"),
    (10, "朝鲜"),
    (11, "满"),
    (12, "侗"),
    (13, "瑶"),
    (14, "白"),
    (15, "土家"),
    (16, "哈尼"),
    (17, "哈萨克"),
    (18, "傣"),
    (19, "黎"),
    (20, "傈僳"),
    (21, "佤"),
    (22, "畲"),
    (23, "高山"),
    (24, "拉祜"),
    (25, "水"),
    (26, "东乡"),
    (27, "纳西"),
    (28, "景颇"),
    (29, "柯尔克孜"),
    (30, "土"),
    (31, "达斡尔"),
    (32, "仫佬"),
    (33, "羌"),
    (34, "布朗"),
    (35, "撒拉"),
    (36, "毛南"),
    (37, "仡佬"),
    (38, "锡伯"),
    (39, "阿昌"),
    (40, "普米"),
    (41, "塔吉克"),
    (42, "怒"),
    (43, "乌孜别克"),
    (44, "俄罗斯"),
    (45, "鄂温克"),
    (46, "德昂"),
    (47, "保安"),
    (48, "裕固"),
    (49, "京"),
    (50, "塔塔尔"),
    (51, "独龙"),
    (52, "鄂伦春"),
    (53, "赫哲"),
    (54, "门巴"),
    (55, "珞巴"),
    (56, "基诺"),
    (97, "其他"),
    (98, "外国血统中国籍人士"),
];

/// Chinese name of an ethnic group code, e.g. `ethnic_group_name(1) == Some("汉")`.
pub fn ethnic_group_name(code: u8) -> Option<&'static str> {
    ETHNIC_GROUPS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// Fields only some card types carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CardExtra {
    Resident,
    HkMoTw {
        /// Travel permit number (通行证号码).
        permit_number: String,
        /// How many times a permit was issued.
        issue_count: String,
    },
    Foreigner2017 {
        /// Three-letter nationality code.
        nationality: String,
        card_version: String,
        accepting_authority_code: String,
    },
    Foreigner2023 {
        nationality: String,
        /// Bytes 32..36, 158..188 and 220..242: sources disagree on their meaning.
        raw_32: Vec<u8>,
        raw_158: Vec<u8>,
        raw_220: Vec<u8>,
    },
}

/// A field that did not parse; the raw text is kept so nothing is lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldProblem {
    Gender { raw: String },
    Ethnicity { raw: String },
    Date { field: &'static str, raw: String },
    IdNumber(IdNumberProblem),
}

impl fmt::Display for FieldProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldProblem::Gender { raw } => write!(f, "gender code {raw:?} is not 0, 1, 2 or 9"),
            FieldProblem::Ethnicity { raw } => write!(f, "ethnic group code {raw:?} is not in the table"),
            FieldProblem::Date { field, raw } => write!(f, "{field} {raw:?} is not a valid YYYYMMDD date"),
            FieldProblem::IdNumber(p) => p.fmt(f),
        }
    }
}

/// The text block cannot be a card at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardParseError {
    #[error("text block has {0} bytes, expected 256: the reply is not from an ID card reader")]
    TextLength(usize),
    #[error("unknown card type marker {0:?} at byte 248: not a card type this driver knows")]
    UnknownCardType(char),
}

/// Everything read from one card. Lives for one session; Debug masks personal data.
#[derive(Clone, PartialEq)]
pub struct Card {
    pub card_type: CardType,
    /// Chinese name (the English name for a 2017 foreigner's card without one).
    pub name: String,
    pub english_name: Option<String>,
    pub gender: Gender,
    /// Ethnic group (code, Chinese name): resident cards only.
    pub ethnicity: Option<(u8, &'static str)>,
    pub birth_date: Option<CardDate>,
    /// Address printed on the card (empty for foreigners' cards).
    pub address: String,
    /// Newer address written by the police after issue (`30 03`), if any.
    pub newest_address: Option<String>,
    pub id_number: String,
    pub issuer: String,
    pub valid_from: Option<CardDate>,
    pub valid_until: Option<Expiry>,
    pub extra: CardExtra,
    pub photo: Photo,
    /// Raw fingerprint bytes from `30 10` (may be empty when none are enrolled).
    pub fingerprint: Option<Vec<u8>>,
    /// Every field that did not parse and every ID number check that failed.
    pub problems: Vec<FieldProblem>,
}

impl fmt::Debug for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Card")
            .field("card_type", &self.card_type)
            .field("name", &mask_name(&self.name))
            .field("id_number", &mask_id_number(&self.id_number))
            .field("gender", &self.gender)
            .field("id_number_valid", &self.id_number_valid())
            .field("photo", &self.photo)
            .field("fingerprint_bytes", &self.fingerprint.as_ref().map(Vec::len))
            .field("problems", &self.problems.len())
            .finish_non_exhaustive()
    }
}

impl Card {
    /// Parses a text block plus the raw photo (and fingerprint from `30 10`).
    pub fn parse(text: &[u8], photo: Vec<u8>, fingerprint: Option<Vec<u8>>) -> Result<Card, CardParseError> {
        if text.len() != TEXT_LEN {
            return Err(CardParseError::TextLength(text.len()));
        }
        let marker = ucs2(&text[248..250]).chars().next().unwrap_or(' ');
        let card_type = CardType::from_marker(marker).ok_or(CardParseError::UnknownCardType(marker))?;
        let mut problems = Vec::new();
        let field = |a: usize, b: usize| ucs2_trimmed(&text[a..b]);
        let date = |name: &'static str, a: usize, b: usize, problems: &mut Vec<FieldProblem>| {
            let raw = field(a, b);
            let parsed = CardDate::parse_compact(&raw);
            if parsed.is_none() {
                problems.push(FieldProblem::Date { field: name, raw });
            }
            parsed
        };
        let gender_at = |off: usize, problems: &mut Vec<FieldProblem>| {
            let raw = field(off, off + 2);
            Gender::from_code(raw.chars().next().unwrap_or(' ')).unwrap_or_else(|| {
                problems.push(FieldProblem::Gender { raw });
                Gender::Unknown
            })
        };
        let mut card = Card {
            card_type,
            name: String::new(),
            english_name: None,
            gender: Gender::Unknown,
            ethnicity: None,
            birth_date: None,
            address: String::new(),
            newest_address: None,
            id_number: String::new(),
            issuer: String::new(),
            valid_from: None,
            valid_until: None,
            extra: CardExtra::Resident,
            photo: Photo::new(photo),
            fingerprint,
            problems: Vec::new(),
        };
        let expiry = |raw: String, problems: &mut Vec<FieldProblem>| {
            if raw == "长期" {
                return Some(Expiry::NoExpiry);
            }
            let d = CardDate::parse_compact(&raw).map(Expiry::Until);
            if d.is_none() {
                problems.push(FieldProblem::Date { field: "valid_until", raw });
            }
            d
        };
        match card_type {
            CardType::Resident | CardType::HkMoTw => {
                card.name = field(0, 30);
                card.gender = gender_at(30, &mut problems);
                if card_type == CardType::Resident {
                    let raw = field(32, 36);
                    card.ethnicity = raw.parse::<u8>().ok().and_then(|c| ethnic_group_name(c).map(|n| (c, n)));
                    if card.ethnicity.is_none() {
                        problems.push(FieldProblem::Ethnicity { raw });
                    }
                } else {
                    card.extra = CardExtra::HkMoTw { permit_number: field(220, 238), issue_count: field(238, 242) };
                }
                card.birth_date = date("birth_date", 36, 52, &mut problems);
                card.address = field(52, 122);
                card.id_number = field(122, 158);
                card.issuer = field(158, 188);
                card.valid_from = date("valid_from", 188, 204, &mut problems);
                card.valid_until = expiry(field(204, 220), &mut problems);
            }
            CardType::Foreigner2017 => {
                let english = field(0, 120);
                card.gender = gender_at(120, &mut problems);
                card.id_number = field(122, 152);
                let chinese = field(158, 188);
                card.name = if chinese.is_empty() { english.clone() } else { chinese };
                card.english_name = Some(english);
                card.valid_from = date("valid_from", 188, 204, &mut problems);
                card.valid_until = expiry(field(204, 220), &mut problems);
                card.birth_date = date("birth_date", 220, 236, &mut problems);
                card.extra = CardExtra::Foreigner2017 {
                    nationality: field(152, 158),
                    card_version: field(236, 240),
                    accepting_authority_code: field(240, 248),
                };
            }
            CardType::Foreigner2023 => {
                card.name = field(0, 30);
                card.gender = gender_at(30, &mut problems);
                card.birth_date = date("birth_date", 36, 52, &mut problems);
                card.english_name = Some(field(52, 122));
                card.id_number = field(122, 158);
                card.valid_from = date("valid_from", 188, 204, &mut problems);
                card.valid_until = expiry(field(204, 220), &mut problems);
                card.extra = CardExtra::Foreigner2023 {
                    nationality: field(242, 248),
                    raw_32: text[32..36].to_vec(),
                    raw_158: text[158..188].to_vec(),
                    raw_220: text[220..242].to_vec(),
                };
            }
        }
        problems.extend(card.check_id_number().into_iter().map(FieldProblem::IdNumber));
        card.problems = problems;
        Ok(card)
    }

    /// Decodes a `30 03` newest-address block.
    pub fn parse_newest_address(block: &[u8]) -> String {
        ucs2_trimmed(block)
    }

    /// True when the ID number passed every check (see [`Card::id_number_problems`]).
    pub fn id_number_valid(&self) -> bool {
        self.id_number_problems().next().is_none()
    }

    pub fn id_number_problems(&self) -> impl Iterator<Item = &IdNumberProblem> {
        self.problems.iter().filter_map(|p| match p {
            FieldProblem::IdNumber(p) => Some(p),
            _ => None,
        })
    }

    /// The address to use: the newest one if the card has it, else the printed one.
    pub fn current_address(&self) -> &str {
        self.newest_address.as_deref().filter(|a| !a.is_empty()).unwrap_or(&self.address)
    }

    /// GB 11643 check digit plus birth date and gender cross-checks (structure,
    /// nationality and birth date for the 15-character 2017 foreigner numbers, whose
    /// check character algorithm is not published).
    fn check_id_number(&self) -> Vec<IdNumberProblem> {
        let id = &self.id_number;
        let chars: Vec<char> = id.chars().collect();
        let mut problems = Vec::new();
        if self.card_type == CardType::Foreigner2017 {
            if chars.len() != 15 {
                return vec![IdNumberProblem::WrongLength { found: chars.len() }];
            }
            if !chars[..3].iter().all(char::is_ascii_uppercase) || !chars[3..].iter().all(char::is_ascii_digit) {
                return vec![IdNumberProblem::BadCharacters];
            }
            if let CardExtra::Foreigner2017 { nationality, .. } = &self.extra {
                if chars[..3].iter().collect::<String>() != *nationality {
                    problems.push(IdNumberProblem::NationalityMismatch);
                }
            }
            let yymmdd: String = chars[5..11].iter().collect();
            if let Some(b) = self.birth_date {
                if yymmdd != b.compact()[2..] {
                    problems.push(IdNumberProblem::BirthDateMismatch);
                }
            }
            return problems;
        }
        let sex = match self.gender {
            Gender::Male => Some(idnumber::Sex::Male),
            Gender::Female => Some(idnumber::Sex::Female),
            Gender::Unknown | Gender::Unstated => None,
        };
        let birth = self.birth_date.and_then(|b| {
            time::Date::from_calendar_date(i32::from(b.year), time::Month::try_from(b.month).ok()?, b.day).ok()
        });
        problems.extend(idnumber::resident_number_problems(id, birth, sex));
        problems
    }
}

/// Decodes UCS-2 little-endian (lone surrogates become U+FFFD).
pub fn ucs2(bytes: &[u8]) -> String {
    let units = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units).map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

/// Decodes a fixed-width field and strips the space / NUL padding.
pub fn ucs2_trimmed(bytes: &[u8]) -> String {
    ucs2(bytes).trim_matches(|c: char| c == ' ' || c == '\0').to_string()
}

/// Writes `text` into a fixed-width UCS-2LE field, space padded (cut if too long).
pub fn put_ucs2(field: &mut [u8], text: &str) {
    let mut units = text.encode_utf16().chain(std::iter::repeat(0x0020));
    for pair in field.chunks_exact_mut(2) {
        let unit = units.next().unwrap_or(0x0020);
        pair.copy_from_slice(&unit.to_le_bytes());
    }
}
