//! Personal data of the citizen at the terminal. Every type here masks itself in
//! `Debug` so that a log line or a panic message can never carry it in clear.

use std::fmt;

/// Keeps the first 4 and last 4 characters of an identifier (`4501**********0034`);
/// the ID card driver owns the masking rule.
pub use idcard::mask_id_number as mask_id;

/// A resident ID number as read from the card.
#[derive(Clone, PartialEq, Eq)]
pub struct IdNumber(String);

impl IdNumber {
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }
    /// The number in clear, for the central API call that needs it; never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn masked(&self) -> String {
        mask_id(&self.0)
    }
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

/// A person's name; masked as the family name (first character) plus stars.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn masked(&self) -> String {
        let mut chars = self.0.chars();
        match chars.next() {
            Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
            None => String::new(),
        }
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonName({})", self.masked())
    }
}

/// The holder of the ID card placed on the reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Citizen {
    pub id_number: IdNumber,
    pub name: PersonName,
}

impl Citizen {
    pub fn new(id_number: &str, name: &str) -> Self {
        Self { id_number: IdNumber::new(id_number), name: PersonName::new(name) }
    }
}

/// A phone number typed on the keypad; masked as `138****5678`.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Accepts 11 digits starting with 1 (mainland mobile numbers).
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = raw.len() == 11 && raw.starts_with('1') && raw.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| Self(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = if self.0.len() == 11 { format!("{}****{}", &self.0[..3], &self.0[7..]) } else { "***".into() };
        write!(f, "Phone({shown})")
    }
}

/// A portrait captured with a liveness challenge, waiting to be submitted.
#[derive(Clone, PartialEq, Eq)]
pub struct FaceCapture {
    pub jpeg: Vec<u8>,
    /// Evidence of the liveness challenge as the camera crate reports it (JSON).
    pub liveness: serde_json::Value,
}

impl fmt::Debug for FaceCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaceCapture({} bytes of JPEG)", self.jpeg.len())
    }
}

/// One year of the citizen's contribution history.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContributionYear {
    pub year: u16,
    pub months_paid: u8,
    /// Monthly contribution base in fen (1/100 yuan).
    pub base_fen: u64,
    pub employer: String,
}

/// The contribution history returned by the central service.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ContributionRecord {
    pub years: Vec<ContributionYear>,
}

impl fmt::Debug for ContributionRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContributionRecord({} years)", self.years.len())
    }
}

/// A certificate issued by the central service whose signature the runtime checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedCertificate {
    pub number: String,
    pub holder: PersonName,
    pub holder_id: IdNumber,
    pub kind: super::CertificateKind,
    /// Lines of the certificate body (period, months, units), already in words.
    pub rows: Vec<String>,
    pub verification_code: String,
    pub verify_url: String,
    /// The raw signed JSON as received; the printer layout is built from it.
    pub signed: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_four_and_four() {
        assert_eq!(mask_id("450103199001010034"), "4501**********0034");
        assert_eq!(mask_id("1234"), "****");
        let c = Citizen::new("11010519491231002X", "张三丰");
        let shown = format!("{c:?}");
        assert!(shown.contains("1101**********002X"), "{shown}");
        assert!(!shown.contains("11010519491231002X"));
        assert!(!shown.contains("三丰"), "{shown}");
        assert_eq!(format!("{:?}", Phone::parse("13812345678").unwrap()), "Phone(138****5678)");
        assert!(Phone::parse("1381234567").is_none());
    }
}
