//! The card's files and data items (docs/protocols/sscard.md), the TLV records that carry
//! them, and the value encodings: ASCII, GBK names, BCD dates and digits, binary.

use std::fmt;

/// An elementary file of the social security application.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum File {
    /// Card data (card number, dates, version).
    Ef05,
    /// Holder data (number, name, gender, ...).
    Ef06,
}

impl File {
    pub const ALL: [File; 2] = [File::Ef05, File::Ef06];

    /// The file identifier SELECT takes.
    pub fn fid(self) -> [u8; 2] {
        match self {
            File::Ef05 => [0xEF, 0x05],
            File::Ef06 => [0xEF, 0x06],
        }
    }

    /// The short file identifier READ RECORD takes when the file is not selected.
    pub fn sfi(self) -> u8 {
        match self {
            File::Ef05 => 5,
            File::Ef06 => 6,
        }
    }

    pub fn items(self) -> impl Iterator<Item = Item> {
        Item::ALL.into_iter().filter(move |i| i.file() == self)
    }
}

impl fmt::Display for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            File::Ef05 => "EF05 (card data)",
            File::Ef06 => "EF06 (holder data)",
        })
    }
}

/// How an item's value is written on the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Binary,
    Ascii,
    Gbk,
    BcdDate,
    BcdDigits,
}

/// One data item: a record of EF05 or EF06, tagged with the item's number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Item {
    CardIdentification,
    CardType,
    SpecVersion,
    InitialisingOrganisation,
    IssueDate,
    ValidUntil,
    CardNumber,
    SocialSecurityNumber,
    Name,
    Gender,
    Ethnicity,
    Birthplace,
    BirthDate,
}

impl Item {
    /// In reading order: EF05 records 1..=7, then EF06 records 1..=6.
    pub const ALL: [Item; 13] = [
        Item::CardIdentification,
        Item::CardType,
        Item::SpecVersion,
        Item::InitialisingOrganisation,
        Item::IssueDate,
        Item::ValidUntil,
        Item::CardNumber,
        Item::SocialSecurityNumber,
        Item::Name,
        Item::Gender,
        Item::Ethnicity,
        Item::Birthplace,
        Item::BirthDate,
    ];

    /// (file, record, tag, length, encoding), as in the table of docs/protocols/sscard.md.
    fn spec(self) -> (File, u8, u8, usize, Encoding) {
        use Encoding::*;
        match self {
            Item::CardIdentification => (File::Ef05, 1, 0x01, 16, Binary),
            Item::CardType => (File::Ef05, 2, 0x02, 1, Ascii),
            Item::SpecVersion => (File::Ef05, 3, 0x03, 4, Ascii),
            Item::InitialisingOrganisation => (File::Ef05, 4, 0x04, 12, Ascii),
            Item::IssueDate => (File::Ef05, 5, 0x05, 4, BcdDate),
            Item::ValidUntil => (File::Ef05, 6, 0x06, 4, BcdDate),
            Item::CardNumber => (File::Ef05, 7, 0x07, 9, Ascii),
            Item::SocialSecurityNumber => (File::Ef06, 1, 0x08, 18, Ascii),
            Item::Name => (File::Ef06, 2, 0x09, 30, Gbk),
            Item::Gender => (File::Ef06, 3, 0x0A, 1, Ascii),
            Item::Ethnicity => (File::Ef06, 4, 0x0B, 1, Binary),
            Item::Birthplace => (File::Ef06, 5, 0x0C, 3, BcdDigits),
            Item::BirthDate => (File::Ef06, 6, 0x0D, 4, BcdDate),
        }
    }

    pub fn file(self) -> File {
        self.spec().0
    }
    pub fn record(self) -> u8 {
        self.spec().1
    }
    pub fn tag(self) -> u8 {
        self.spec().2
    }
    /// The value's length in the specification (cards may differ; see the 6Cxx rule).
    pub fn length(self) -> usize {
        self.spec().3
    }
    pub fn encoding(self) -> Encoding {
        self.spec().4
    }
    /// The Le of a READ RECORD for this item: tag, length byte and value.
    pub fn expected_le(self) -> u8 {
        (self.length() + 2) as u8
    }

    /// The item's short English name, as the `--json` output and messages use it.
    pub fn label(self) -> &'static str {
        match self {
            Item::CardIdentification => "card identification code",
            Item::CardType => "card type",
            Item::SpecVersion => "specification version",
            Item::InitialisingOrganisation => "initialising organisation number",
            Item::IssueDate => "issue date",
            Item::ValidUntil => "valid-until date",
            Item::CardNumber => "card number",
            Item::SocialSecurityNumber => "social security number",
            Item::Name => "name",
            Item::Gender => "gender",
            Item::Ethnicity => "ethnic group",
            Item::Birthplace => "birthplace",
            Item::BirthDate => "birth date",
        }
    }

    /// The item's key, as in the cards file and the `--json` output (`birth_date`).
    pub fn key(self) -> &'static str {
        match self {
            Item::CardIdentification => "card_identification",
            Item::CardType => "card_type",
            Item::SpecVersion => "spec_version",
            Item::InitialisingOrganisation => "initialising_organisation",
            Item::IssueDate => "issue_date",
            Item::ValidUntil => "valid_until",
            Item::CardNumber => "card_number",
            Item::SocialSecurityNumber => "social_security_number",
            Item::Name => "name",
            Item::Gender => "gender",
            Item::Ethnicity => "ethnicity",
            Item::Birthplace => "birthplace",
            Item::BirthDate => "birth_date",
        }
    }

    pub fn from_key(key: &str) -> Option<Item> {
        Item::ALL.into_iter().find(|i| i.key() == key)
    }

    pub fn at(file: File, record: u8) -> Option<Item> {
        Item::ALL.into_iter().find(|i| i.file() == file && i.record() == record)
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = match self.file() {
            File::Ef05 => "EF05",
            File::Ef06 => "EF06",
        };
        write!(f, "{} ({file} record {}, tag {:02X})", self.label(), self.record(), self.tag())
    }
}

/// What is wrong with a record or its value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueProblem {
    #[error("the record is empty or has no length byte")]
    NoHeader,
    #[error("the record's tag is {found:02X}, expected {expected:02X}")]
    WrongTag { expected: u8, found: u8 },
    #[error("the record says {declared} value bytes but holds {available}")]
    Truncated { declared: usize, available: usize },
    #[error("the value is not printable ASCII")]
    NotAscii,
    #[error("the name is not valid GBK text")]
    NotGbk,
    #[error("the value is not BCD digits")]
    NotBcd,
    #[error("{0:?} is not a valid YYYYMMDD date")]
    BadDate(String),
    #[error("code {0:?} is not in the table")]
    UnknownCode(String),
    #[error("the value has {found} bytes, expected {expected}")]
    WrongLength { expected: usize, found: usize },
}

/// The value of a `tag len value` record (bytes after the value are padding and ignored).
pub fn record_value(item: Item, record: &[u8]) -> Result<&[u8], ValueProblem> {
    let [tag, len, rest @ ..] = record else { return Err(ValueProblem::NoHeader) };
    if *tag != item.tag() {
        return Err(ValueProblem::WrongTag { expected: item.tag(), found: *tag });
    }
    let declared = usize::from(*len);
    rest.get(..declared).ok_or(ValueProblem::Truncated { declared, available: rest.len() })
}

/// A `tag len value` record, as a card stores it.
pub fn encode_record(item: Item, value: &[u8]) -> Vec<u8> {
    let value = &value[..value.len().min(255)];
    let mut out = vec![item.tag(), value.len() as u8];
    out.extend_from_slice(value);
    out
}

/// Padding on fixed-width fields: NUL, space, and the FF of unwritten memory.
fn strip_padding(value: &[u8]) -> &[u8] {
    let is_pad = |b: &u8| matches!(b, 0x00 | 0x20 | 0xFF);
    let start = value.iter().position(|b| !is_pad(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !is_pad(b)).map_or(start, |e| e + 1);
    &value[start..end]
}

/// Printable ASCII, padding stripped.
pub fn ascii(value: &[u8]) -> Result<String, ValueProblem> {
    let text = strip_padding(value);
    if !text.iter().all(|b| (0x20..0x7F).contains(b)) {
        return Err(ValueProblem::NotAscii);
    }
    Ok(text.iter().map(|&b| char::from(b)).collect())
}

/// A GBK name, padding (NUL, space, ideographic space) stripped. Malformed bytes are a
/// problem; the lossy text is kept beside it so nothing is lost.
pub fn gbk(value: &[u8]) -> (String, Option<ValueProblem>) {
    let bytes = strip_padding(value);
    let (text, malformed) = encoding_rs::GBK.decode_without_bom_handling(bytes);
    let text = text.trim_matches(|c: char| c == '\u{3000}' || c == ' ' || c == '\0').to_string();
    (text, malformed.then_some(ValueProblem::NotGbk))
}

/// Encodes a name in GBK for the simulator (characters GBK lacks become `?`).
pub fn encode_gbk(text: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(text).0.into_owned()
}

/// BCD digits, two a byte, high nibble first.
pub fn bcd_digits(value: &[u8]) -> Result<String, ValueProblem> {
    let mut out = String::with_capacity(value.len() * 2);
    for nibble in value.iter().flat_map(|b| [b >> 4, b & 0x0F]) {
        out.push(char::from_digit(u32::from(nibble), 10).ok_or(ValueProblem::NotBcd)?);
    }
    Ok(out)
}

/// Packs decimal digits into BCD (an odd count is padded with a leading 0).
pub fn encode_bcd(digits: &str) -> Option<Vec<u8>> {
    let mut nibbles: Vec<u8> = digits.chars().map(|c| c.to_digit(10).map(|d| d as u8)).collect::<Option<_>>()?;
    if nibbles.len() % 2 == 1 {
        nibbles.insert(0, 0);
    }
    Some(nibbles.chunks_exact(2).map(|p| (p[0] << 4) | p[1]).collect())
}

/// A BCD `YYYYMMDD` date (four bytes).
pub fn bcd_date(value: &[u8]) -> Result<time::Date, ValueProblem> {
    if value.len() != 4 {
        return Err(ValueProblem::WrongLength { expected: 4, found: value.len() });
    }
    let digits = bcd_digits(value)?;
    parse_compact_date(&digits).ok_or(ValueProblem::BadDate(digits))
}

/// `YYYYMMDD` to a date (years from 1800, as GB 11643 numbers allow).
pub fn parse_compact_date(s: &str) -> Option<time::Date> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year: i32 = s[..4].parse().ok()?;
    let month = time::Month::try_from(s[4..6].parse::<u8>().ok()?).ok()?;
    let day: u8 = s[6..].parse().ok()?;
    (year >= 1800).then(|| time::Date::from_calendar_date(year, month, day).ok()).flatten()
}
