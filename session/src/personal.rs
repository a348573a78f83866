//! Personal data of the citizen at the terminal. Every type here masks itself in
//! `Debug` so that a log line or a panic message can never carry it in clear.

use std::fmt;

/// Keeps the first 4 and last 4 characters of an identifier (`4501**********0034`);
/// the contract owns the masking rule.
pub use contract::mask_id_number as mask_id;

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
        contract::mask_name(&self.0)
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonName({})", self.masked())
    }
}

/// The holder of the card placed on a reader, and which card it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Citizen {
    pub id_number: IdNumber,
    pub name: PersonName,
    pub document: super::IdentityDocument,
}

impl Citizen {
    /// The holder of an ID card.
    pub fn new(id_number: &str, name: &str) -> Self {
        Self {
            id_number: IdNumber::new(id_number),
            name: PersonName::new(name),
            document: super::IdentityDocument::IdCard,
        }
    }

    /// The same person, holding `document`.
    #[must_use]
    pub fn with_document(mut self, document: super::IdentityDocument) -> Self {
        self.document = document;
        self
    }

    /// Whether `other` is the same person (whichever card they hold).
    pub fn same_person(&self, other: &Citizen) -> bool {
        self.id_number == other.id_number
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
#[derive(Clone, PartialEq)]
pub struct FaceCapture {
    pub jpeg: Vec<u8>,
    /// The camera's whole account of the liveness challenge, sent with the portrait.
    pub liveness: contract::LivenessEvidence,
}

/// A face is biometric data: its bytes are wiped from memory when the capture goes.
impl Drop for FaceCapture {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.jpeg);
    }
}

impl fmt::Debug for FaceCapture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FaceCapture({} bytes of JPEG)", self.jpeg.len())
    }
}

/// One year of the citizen's contribution history: a row of the record on screen and
/// on paper.
#[derive(Clone, PartialEq, Eq)]
pub struct ContributionYear {
    pub year: u16,
    /// Months with a contribution (0..=12).
    pub months_paid: u8,
    /// Monthly contribution base (the latest of the year) in fen (1/100 yuan).
    pub base_fen: u64,
    /// The person's own contributions over the year, in fen.
    pub personal_fen: u64,
    /// The employer of the year's latest month.
    pub employer: String,
}

/// Year and months only: amounts and the employer are the holder's business.
impl fmt::Debug for ContributionYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContributionYear({}, {} months)", self.year, self.months_paid)
    }
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

/// One month of pension paid to the holder.
#[derive(Clone, PartialEq, Eq)]
pub struct PensionPayment {
    pub month: YearMonth,
    pub amount_fen: u64,
    /// The day it reached the pensioner's account.
    pub paid_on: time::Date,
}

/// The last months of pension paid (oldest first), as the central service keeps them.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct PaymentRecord {
    pub payments: Vec<PensionPayment>,
}

/// Months only: amounts are the holder's business.
impl fmt::Debug for PaymentRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaymentRecord({} months)", self.payments.len())
    }
}

/// A calendar month (`2024-01`); the unit certificates and contributions count in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearMonth {
    pub year: u16,
    /// 1..=12.
    pub month: u8,
}

impl YearMonth {
    pub fn new(year: u16, month: u8) -> Option<Self> {
        (1..=12).contains(&month).then_some(Self { year, month })
    }
    /// Reads the API's `YYYY-MM`.
    pub fn parse(s: &str) -> Option<Self> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        Self::new(y.parse().ok()?, m.parse().ok()?)
    }
    /// Months since year 0, so that month arithmetic is integer arithmetic.
    fn index(self) -> i64 {
        i64::from(self.year) * 12 + i64::from(self.month) - 1
    }
    fn from_index(i: i64) -> Self {
        let i = i.clamp(0, i64::from(u16::MAX) * 12 + 11);
        Self { year: (i / 12) as u16, month: (i % 12 + 1) as u8 }
    }
    /// The month `n` months later (earlier when negative).
    pub fn plus(self, n: i64) -> Self {
        Self::from_index(self.index() + n)
    }
    /// Months from `self` to `later`, both included (0 if `later` is earlier).
    pub fn months_through(self, later: Self) -> u32 {
        u32::try_from(later.index() - self.index() + 1).unwrap_or(0)
    }
    /// `2024年01月`, as printed.
    pub fn zh(self) -> String {
        format!("{:04}年{:02}月", self.year, self.month)
    }
}

/// The API form `YYYY-MM`.
impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// An inclusive range of months.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonthRange {
    pub from: YearMonth,
    pub to: YearMonth,
}

impl MonthRange {
    /// Calendar months in the range.
    pub fn len(self) -> u32 {
        self.from.months_through(self.to)
    }
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
    /// `2024年01月 至 2026年11月`.
    pub fn zh(self) -> String {
        format!("{} 至 {}", self.from.zh(), self.to.zh())
    }
}

/// What the certificate says about the holder's insurance, derived from the rows (and,
/// for participation, from the holder's pension status).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateStatus {
    /// Contributions are paid up to the end of the period (this month's may not be
    /// posted yet): 正常参保缴费.
    Contributing,
    /// Contributions stopped before the end of the period: 已停止缴费, last paid month.
    Stopped { last: YearMonth },
    /// Retired and receiving a pension; contributions ended in `last` (if any): 已退休.
    Retired { last: Option<YearMonth> },
    /// No contribution in the period and none before it: 无缴费记录.
    NoContributions,
    /// Pension receipt certificate: the pension is being paid (正在领取养老金).
    ReceivingPension,
}

impl CertificateStatus {
    /// The status as printed on the certificate.
    pub fn zh(self) -> String {
        match self {
            Self::Contributing => "正常参保缴费".into(),
            Self::Stopped { last } => format!("已停止缴费（最后缴费 {}）", last.zh()),
            Self::Retired { last: Some(last) } => format!("已退休（缴费至 {}）", last.zh()),
            Self::Retired { last: None } => "已退休".into(),
            Self::NoContributions => "无缴费记录".into(),
            Self::ReceivingPension => "正在领取养老金".into(),
        }
    }
}

/// One month of a certificate: a contribution (participation) or a pension payment.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateMonth {
    pub month: YearMonth,
    /// Employer (participation) or paying office (pension).
    pub payer: String,
    /// Contribution base or pension amount, in fen (1/100 yuan).
    pub base_fen: i64,
    /// Paid that month, in fen.
    pub amount_fen: i64,
}

impl fmt::Debug for CertificateMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertificateMonth({})", self.month)
    }
}

/// Consecutive months of one year with the same payer: how long histories are printed.
#[derive(Clone, PartialEq, Eq)]
pub struct YearSummary {
    pub year: u16,
    pub from: YearMonth,
    pub to: YearMonth,
    /// Months with a row (gaps are not counted).
    pub months: u32,
    pub payer: String,
    pub amount_fen: i64,
}

impl fmt::Debug for YearSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "YearSummary({} .. {}, {} months)", self.from, self.to, self.months)
    }
}

/// A certificate issued by the central service whose signature the runtime checked.
/// The preview and the printout are both formatted from these fields.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    pub number: String,
    pub kind: super::CertificateKind,
    pub holder: PersonName,
    pub holder_id: IdNumber,
    /// The months the certificate covers, as signed by the server.
    pub period: MonthRange,
    /// Months with a contribution (participation) or a pension payment, in the period.
    pub months_covered: u32,
    /// Employer or paying office of the latest month, if any.
    pub current_payer: Option<String>,
    pub status: CertificateStatus,
    /// One per month, oldest first.
    pub rows: Vec<CertificateMonth>,
    /// Sum of `rows[..].amount_fen`.
    pub total_fen: i64,
    /// Issue date, China time.
    pub issued_on: time::Date,
    pub verification_code: String,
    pub verify_url: String,
}

impl IssuedCertificate {
    /// The rows grouped into runs of one year and one payer, oldest first.
    pub fn by_year(&self) -> Vec<YearSummary> {
        let mut out: Vec<YearSummary> = Vec::new();
        for r in &self.rows {
            match out.last_mut() {
                Some(s) if s.year == r.month.year && s.payer == r.payer => {
                    s.to = r.month;
                    s.months += 1;
                    s.amount_fen += r.amount_fen;
                }
                _ => out.push(YearSummary {
                    year: r.month.year,
                    from: r.month,
                    to: r.month,
                    months: 1,
                    payer: r.payer.clone(),
                    amount_fen: r.amount_fen,
                }),
            }
        }
        out
    }
}

impl fmt::Debug for IssuedCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedCertificate")
            .field("number", &self.number)
            .field("kind", &self.kind)
            .field("holder", &self.holder)
            .field("holder_id", &self.holder_id)
            .field("period", &format_args!("{} .. {}", self.period.from, self.period.to))
            .field("months_covered", &self.months_covered)
            .field("status", &self.status)
            .field("rows", &self.rows.len())
            .finish_non_exhaustive()
    }
}

/// Money as printed: `1,234.56 元` (fen in, grouping by thousands).
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let fen = fen.unsigned_abs();
    let whole = (fen / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02} 元", fen % 100)
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

    #[test]
    fn money_is_grouped_by_thousands_in_yuan() {
        assert_eq!(yuan(0), "0.00 元");
        assert_eq!(yuan(5), "0.05 元");
        assert_eq!(yuan(123_456), "1,234.56 元");
        assert_eq!(yuan(100_000_000), "1,000,000.00 元");
        assert_eq!(yuan(-123_456), "-1,234.56 元");
    }

    #[test]
    fn months_count_across_year_ends() {
        let ym = |s| YearMonth::parse(s).unwrap();
        assert_eq!(ym("2026-01").plus(-1), ym("2025-12"));
        assert_eq!(ym("2025-12").plus(1), ym("2026-01"));
        assert_eq!(ym("2024-01").months_through(ym("2026-11")), 35);
        assert_eq!(ym("2026-11").months_through(ym("2024-01")), 0);
        assert_eq!(ym("2024-07").zh(), "2024年07月");
        assert_eq!(ym("2024-07").to_string(), "2024-07");
        for bad in ["2024-13", "2024-00", "24-01", "2024-1", "abcd-ef", ""] {
            assert_eq!(YearMonth::parse(bad), None, "{bad}");
        }
    }
}
