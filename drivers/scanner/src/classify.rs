//! What a scan is: a tracking number (`QC-20261121-0004837`, or its digits alone), a client
//! reference from a "queued" receipt (16 digits), or a verify URL this service issued
//! (`<verify_base_url><code>`). Anything else is rejected with a reason, never passed on.

use std::fmt;

/// The fewest digits after the date in a tracking number (the central service issues a
/// six-digit day sequence and a check digit; numbers issued before had six digits, and
/// a longer part is accepted as it comes).
pub const MIN_TRACKING_DIGITS: usize = 6;
/// The most accepted, to bound what is looked up.
pub const MAX_TRACKING_DIGITS: usize = 12;
/// Letters of a verification code (the central service's alphabet has no I, O, 0 or 1;
/// they are accepted here and simply not found).
const MAX_CODE_LEN: usize = 32;

/// A classified scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scan {
    /// Look up this application: the full tracking number (upper case) or its digits.
    Tracking(String),
    /// A queued receipt's client reference (16 digits).
    ClientReference(String),
    /// A certificate's verify URL; `code` is the verification code.
    VerifyUrl { code: String },
    /// Not ours: ignored with a log line.
    Rejected { why: Rejection },
}

/// Why a scan is not one of ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    Empty,
    /// A URL, but no verify base URL is configured (the terminal is not enrolled).
    NoVerifyBase,
    /// A URL that is not under this service's verify base URL.
    ForeignUrl,
    /// Under the verify base URL but with no valid code after it.
    BadVerifyCode,
    /// Shaped like a tracking number but its date is not a real date.
    BadTrackingDate,
    /// Nothing this service prints.
    Unrecognised,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::Empty => "empty scan",
            Rejection::NoVerifyBase => "a URL, but this terminal has no verify base URL (not enrolled?)",
            Rejection::ForeignUrl => "a URL that this service did not issue",
            Rejection::BadVerifyCode => "a verify URL without a valid code",
            Rejection::BadTrackingDate => "a tracking number whose date is not a real date",
            Rejection::Unrecognised => "not a tracking number, client reference or verify URL",
        })
    }
}

impl Scan {
    pub fn is_rejected(&self) -> bool {
        matches!(self, Scan::Rejected { .. })
    }

    /// The kind, for log lines that must not carry the scan itself.
    pub fn kind(&self) -> &'static str {
        match self {
            Scan::Tracking(_) => "tracking number",
            Scan::ClientReference(_) => "client reference",
            Scan::VerifyUrl { .. } => "verify URL",
            Scan::Rejected { .. } => "rejected",
        }
    }
}

/// Classifies scans against the terminal's verify base URL (the enrollment's
/// `verify_base_url`, e.g. `https://central.example/verify/`).
#[derive(Clone, Debug, Default)]
pub struct Classifier {
    verify_base: Option<String>,
}

impl Classifier {
    pub fn new(verify_base_url: Option<&str>) -> Classifier {
        let verify_base = verify_base_url.map(str::trim).filter(|b| !b.is_empty()).map(|b| {
            let mut base = b.to_owned();
            if !base.ends_with('/') {
                base.push('/');
            }
            base
        });
        Classifier { verify_base }
    }

    pub fn classify(&self, scan: &str) -> Scan {
        let scan = scan.trim();
        if scan.is_empty() {
            return Scan::Rejected { why: Rejection::Empty };
        }
        let lower = scan.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return self.url(scan);
        }
        if scan.bytes().all(|b| b.is_ascii_digit()) {
            if contract::is_client_reference(scan) {
                return Scan::ClientReference(scan.to_owned());
            }
            return tracking_digits(scan).unwrap_or(Scan::Rejected { why: Rejection::Unrecognised });
        }
        tracking_number(scan).unwrap_or(Scan::Rejected { why: Rejection::Unrecognised })
    }

    fn url(&self, scan: &str) -> Scan {
        let Some(base) = &self.verify_base else { return Scan::Rejected { why: Rejection::NoVerifyBase } };
        // Scheme and host are case-insensitive; compare the base's length of the scan.
        let Some(prefix) = scan.get(..base.len()) else { return Scan::Rejected { why: Rejection::ForeignUrl } };
        if !prefix.eq_ignore_ascii_case(base) {
            return Scan::Rejected { why: Rejection::ForeignUrl };
        }
        let code = &scan[base.len()..];
        if code.is_empty() || code.len() > MAX_CODE_LEN || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Scan::Rejected { why: Rejection::BadVerifyCode };
        }
        Scan::VerifyUrl { code: code.to_ascii_uppercase() }
    }
}

/// `KIND-YYYYMMDD-DIGITS`: 1 to 8 letters (upper case on the receipt; a scanner with Caps
/// Lock inverted sends lower case), a real date, 6 to 12 digits.
fn tracking_number(scan: &str) -> Option<Scan> {
    let mut parts = scan.split('-');
    let (kind, date, digits) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || !(1..=8).contains(&kind.len())
        || !kind.bytes().all(|b| b.is_ascii_alphabetic())
        || date.len() != 8
        || !date.bytes().all(|b| b.is_ascii_digit())
        || !(MIN_TRACKING_DIGITS..=MAX_TRACKING_DIGITS).contains(&digits.len())
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    if !real_date(date) {
        return Some(Scan::Rejected { why: Rejection::BadTrackingDate });
    }
    Some(Scan::Tracking(scan.to_ascii_uppercase()))
}

/// A tracking number's digits alone: a real date and 6 to 12 more digits.
fn tracking_digits(scan: &str) -> Option<Scan> {
    let len = scan.len();
    if !(8 + MIN_TRACKING_DIGITS..=8 + MAX_TRACKING_DIGITS).contains(&len) {
        return None;
    }
    // Without the dashes nothing says it was meant as a tracking number: any other long
    // number (an EAN, a serial) is simply not ours.
    real_date(&scan[..8]).then(|| Scan::Tracking(scan.to_owned()))
}

/// `YYYYMMDD` of a real day since 2000 (no receipt is older than this service).
fn real_date(s: &str) -> bool {
    let (Ok(year), Ok(month), Ok(day)) = (s[..4].parse::<i32>(), s[4..6].parse::<u8>(), s[6..8].parse::<u8>()) else {
        return false;
    };
    year >= 2000 && time::Month::try_from(month).is_ok_and(|m| time::Date::from_calendar_date(year, m, day).is_ok())
}

/// Classifies one scan (see [`Classifier`]).
pub fn classify(scan: &str, verify_base_url: Option<&str>) -> Scan {
    Classifier::new(verify_base_url).classify(scan)
}
