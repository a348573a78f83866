//! What a terminal and the central service must agree on: the v1 request and response
//! types, paths, header names, problem types, field validation, `client_reference`,
//! the certificate signature check, the shared vocabulary ([`Service`],
//! [`CertificateKind`], ...), the GB 11643 ID-number rule and masking ([`idnumber`]) and
//! China time ([`china_time`]). Pure data and rules: no I/O, no runtime.
//!
//! `central/openapi.yaml` is the published form of this contract; `tests/openapi.rs`
//! keeps the two in step, so a change here is a contract change.
//!
//! Conventions: JSON bodies, `snake_case` field names and enum values, timestamps in
//! RFC 3339 (UTC, whole seconds), months as `YYYY-MM`, money as integer fen (0.01 CNY).

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub mod china_time;
pub mod idnumber;
mod vocabulary;
pub use idnumber::{mask_id_number, mask_name};
pub use vocabulary::*;

/// Header every state-changing call carries (see the idempotency rules in the design doc).
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// Header naming the card holder for `GET /v1/contributions` (the ID number read from
/// the card). A header, not a query parameter, so it never lands in access logs.
pub const CARD_HOLDER_HEADER: &str = "X-Card-Holder-Id";
/// Header with the card holder's name as read from the card, for `GET /v1/contributions`:
/// with the ID number it shows that the card is present, as the name in a certificate
/// request does (an ID number alone is no proof: it is printed on many papers). HTTP
/// header values are ASCII, so the UTF-8 name is percent-encoded: [`encode_header_text`].
pub const CARD_HOLDER_NAME_HEADER: &str = "X-Card-Holder-Name";
/// Content type of every error response.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
/// Longest accepted idempotency key.
pub const IDEMPOTENCY_KEY_MAX_LEN: usize = 128;
/// Largest accepted face JPEG (decoded bytes).
pub const FACE_JPEG_MAX_BYTES: usize = 2 * 1024 * 1024;

/// Paths of the v1 calls.
pub mod paths {
    pub const ENROLL: &str = "/v1/enroll";
    pub const CERTIFICATES: &str = "/v1/certificates";
    pub const QUALIFICATION_CHECKS: &str = "/v1/qualification-checks";
    pub const CONTRIBUTIONS: &str = "/v1/contributions";
    /// The card holder's last 12 months of pension payments (holder headers as for
    /// contributions).
    pub const PENSION_PAYMENTS: &str = "/v1/pension-payments";
    /// Followed by `/{kind}` (a [`super::RegistrationKind`] that needs one: flexible
    /// employment, employment subsidy): whether the card holder may register, and on
    /// what terms (holder headers as for contributions).
    pub const ELIGIBILITY: &str = "/v1/eligibility";
    /// Openings matching `?kind=<JobKind>&district=<District>` (no personal data).
    pub const JOB_OPENINGS: &str = "/v1/job-openings";
    pub const REGISTRATIONS: &str = "/v1/registrations";
    /// Followed by `/{tracking_number}`, its digits alone, or a [`super::client_reference`].
    pub const APPLICATIONS: &str = "/v1/applications";
    pub const RATINGS: &str = "/v1/ratings";
    pub const TELEMETRY: &str = "/v1/telemetry";
    /// `?architecture=<debian arch>`: the release offered to this terminal, if any.
    pub const UPDATE_OFFER: &str = "/v1/updates/offer";
    /// Followed by `/{sha256}`: a published package's bytes (terminals only).
    pub const UPDATE_PACKAGES: &str = "/v1/updates/packages";
    /// Followed by `/{verification_code}`; public HTML page.
    pub const VERIFY: &str = "/verify";
    pub const METRICS: &str = "/metrics";
    pub const OPS: &str = "/ops";
}

mod problem;
pub use problem::*;
mod release;
pub use release::*;

/// Percent-encodes `text` as UTF-8 for an HTTP header value (RFC 3986: the unreserved
/// characters `A-Z a-z 0-9 - . _ ~` stay as they are, every other byte becomes `%XX`),
/// e.g. `张秀英` -> `%E5%BC%A0%E7%A7%80%E8%8B%B1`. [`decode_header_text`] reverses it.
pub fn encode_header_text(text: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The text of a header value written by [`encode_header_text`]; `None` when the value
/// holds anything but unreserved characters and `%XX` escapes, or does not decode to UTF-8.
pub fn decode_header_text(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = value.get(i + 1..i + 3)?;
            if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b);
            i += 1;
        } else {
            return None;
        }
    }
    String::from_utf8(out).ok()
}

// ---------------------------------------------------------------- enrollment

/// `POST /v1/enroll`. First enrollment carries the one-time `token`; renewal omits
/// it and is sent over mutual TLS with the terminal's current (unexpired) certificate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrollRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// PKCS#10 CSR in PEM, signed by the key it certifies (ECDSA P-256 or Ed25519).
    pub csr_pem: String,
    pub inventory: HardwareInventory,
}

/// What the terminal is made of, reported at enrollment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HardwareInventory {
    pub hostname: String,
    pub software_version: String,
    #[serde(default)]
    pub devices: Vec<InventoryDevice>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InventoryDevice {
    pub kind: DeviceKind,
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    IdcardReader,
    ReceiptPrinter,
    Camera,
    Touchscreen,
    Other,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// Assigned device id; also the CN of the issued certificate.
    pub device_id: String,
    pub certificate_pem: String,
    /// The fleet CA; the terminal trusts exactly this for the server.
    pub ca_pem: String,
    pub config: TerminalConfig,
}

/// Initial configuration handed to a terminal at enrollment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TerminalConfig {
    pub heartbeat_interval_s: u32,
    /// Public Ed25519 key (32 raw bytes, standard base64) that signs certificates.
    pub certificate_signing_key: String,
    /// Base of the public verification page, e.g. `https://central.example/verify/`.
    pub verify_base_url: String,
}

// ---------------------------------------------------------------- certificates

/// An inclusive range of months, `YYYY-MM`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: String,
    pub to: String,
}

/// `POST /v1/certificates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertificateRequest {
    pub kind: CertificateKind,
    pub id_number: String,
    pub name: String,
    pub period: Period,
}

/// The card holder as printed: full name, masked ID number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub name: String,
    pub id_number_masked: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateRow {
    pub month: String,
    /// Employer (participation) or paying office (pension).
    pub payer: String,
    /// Contribution base or pension amount, in fen.
    pub base_fen: i64,
    /// Amount paid that month, in fen.
    pub amount_fen: i64,
}

/// The signed part of a certificate. Its canonical form is [`canonical_certificate_body`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateBody {
    pub number: String,
    pub kind: CertificateKind,
    pub holder: Holder,
    pub period: Period,
    pub rows: Vec<CertificateRow>,
    #[serde(with = "time::serde::rfc3339")]
    pub issued_at: OffsetDateTime,
    pub verification_code: String,
    pub verify_url: String,
}

/// Server signature over the canonical body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSignature {
    /// Always `Ed25519`.
    pub algorithm: String,
    /// First 16 hex chars of SHA-256 over the raw public key.
    pub key_id: String,
    /// 64-byte signature, standard base64.
    pub value: String,
}

/// Response of `POST /v1/certificates`; the terminal verifies it before printing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    pub body: CertificateBody,
    pub signature: CertificateSignature,
}

/// The bytes the server signs: compact JSON of the body, fields in declaration order,
/// exactly as `serde_json` writes them (timestamps are whole-second UTC, so the text
/// survives a decode/encode round trip).
pub fn canonical_certificate_body(body: &CertificateBody) -> Vec<u8> {
    // Serialising plain strings, integers and enums cannot fail.
    serde_json::to_vec(body).unwrap_or_default()
}

/// Key id of an Ed25519 public key: first 16 hex chars of SHA-256 over its 32 bytes.
pub fn signing_key_id(public_key: &ed25519_dalek::VerifyingKey) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(public_key.as_bytes());
    hex::encode(&digest[..8])
}

/// Why a certificate signature check failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("signature algorithm {0:?} is not Ed25519")]
    UnsupportedAlgorithm(String),
    #[error("signature was made by key {got}, expected {expected}")]
    WrongKey { expected: String, got: String },
    #[error("signature is not 64 bytes of base64")]
    Malformed,
    #[error("signature does not match the certificate body")]
    Mismatch,
}

/// Checks the server's Ed25519 signature over the canonical certificate body.
pub fn verify_certificate_signature(
    certificate: &Certificate,
    public_key: &ed25519_dalek::VerifyingKey,
) -> Result<(), SignatureError> {
    let sig = &certificate.signature;
    if sig.algorithm != "Ed25519" {
        return Err(SignatureError::UnsupportedAlgorithm(sig.algorithm.clone()));
    }
    let expected = signing_key_id(public_key);
    if sig.key_id != expected {
        return Err(SignatureError::WrongKey { expected, got: sig.key_id.clone() });
    }
    let raw = base64::engine::general_purpose::STANDARD.decode(&sig.value).map_err(|_| SignatureError::Malformed)?;
    let bytes: [u8; 64] = raw.try_into().map_err(|_| SignatureError::Malformed)?;
    let signature = ed25519_dalek::Signature::from_bytes(&bytes);
    public_key
        .verify_strict(&canonical_certificate_body(&certificate.body), &signature)
        .map_err(|_| SignatureError::Mismatch)
}

/// Decodes the `certificate_signing_key` of [`TerminalConfig`].
pub fn decode_signing_public_key(base64_key: &str) -> Option<ed25519_dalek::VerifyingKey> {
    let raw = base64::engine::general_purpose::STANDARD.decode(base64_key).ok()?;
    let bytes: [u8; 32] = raw.try_into().ok()?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok()
}

// ---------------------------------------------------------------- qualification checks

/// `POST /v1/qualification-checks`: the yearly pension qualification check by face.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualificationCheckRequest {
    pub id_number: String,
    pub name: String,
    /// The captured face, a JPEG, standard base64 (at most [`FACE_JPEG_MAX_BYTES`]).
    pub face_jpeg: String,
    pub liveness: LivenessEvidence,
    #[serde(with = "time::serde::rfc3339")]
    pub captured_at: OffsetDateTime,
}

/// What the terminal's liveness check saw: the camera's whole account of the challenge.
/// `method`, `score`, `passed` and `frames` are what the reference service decides on;
/// the rest is kept with the application for the reviewer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LivenessEvidence {
    /// e.g. `head_turn`, `blink`, `none`.
    pub method: String,
    /// Share of the challenge's steps completed, 0.0 ..= 1.0.
    pub score: f64,
    pub passed: bool,
    /// Frames with exactly one face that were judged.
    pub frames: u32,
    /// Most negative / most positive head yaw seen, in the analyser's degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_left_yaw_deg: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_right_yaw_deg: Option<f32>,
    /// Each completed step and when, in milliseconds since the capture started.
    #[serde(default)]
    pub steps: Vec<LivenessStep>,
    /// Times the face jumped or changed size too much (another face, a swapped photo).
    #[serde(default)]
    pub continuity_breaks: u32,
    /// One line saying why the challenge passed or failed.
    #[serde(default)]
    pub summary: String,
    /// Quality score of the portrait that was kept, 0.0 ..= 1.0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portrait_score: Option<f32>,
}

/// One completed step of a liveness challenge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivenessStep {
    /// `look_at_camera`, `turn_left`, `turn_right`.
    pub step: String,
    pub at_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualificationOutcome {
    Approved,
    Rejected,
    PendingReview,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualificationCheckResponse {
    pub tracking_number: String,
    pub outcome: QualificationOutcome,
    /// Machine-readable reason for rejected / pending review (`not_a_pensioner`,
    /// `name_mismatch`, `liveness_not_passed`, `age_review`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Approved: qualification valid until this month (`YYYY-MM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

// ---------------------------------------------------------------- contributions

/// Response of `GET /v1/contributions` (holder named by [`CARD_HOLDER_HEADER`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionHistory {
    pub holder: Holder,
    pub pension_status: PensionStatus,
    pub total_months: u32,
    pub months: Vec<ContributionMonth>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PensionStatus {
    Contributing,
    Receiving,
    Suspended,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionMonth {
    pub month: String,
    pub employer: String,
    pub base_fen: i64,
    pub personal_fen: i64,
    pub employer_fen: i64,
}

// ---------------------------------------------------------------- pension payments

/// Response of `GET /v1/pension-payments`: the last 12 months paid, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PensionPayments {
    pub holder: Holder,
    pub payments: Vec<PensionPayment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PensionPayment {
    /// The month paid for (`YYYY-MM`).
    pub month: String,
    pub amount_fen: i64,
    /// The day it reached the pensioner's account (`YYYY-MM-DD`).
    pub paid_on: String,
}

// ---------------------------------------------------------------- eligibility

/// Response of `GET /v1/eligibility/{kind}`: the terms offered, or why not. The central
/// service checks again when the registration arrives (the answer may have changed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Eligibility {
    Eligible(Offer),
    NotEligible { reason: IneligibleReason },
}

/// What an eligible person is offered.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Offer {
    /// Flexible employment: the contribution bases to choose from, lowest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<ContributionBand>,
    /// Flexible employment: the first payment is due by this day (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_payment_due: Option<String>,
    /// Employment subsidy: paid back each month, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsidy_monthly_fen: Option<i64>,
    /// Employment subsidy: for at most this many months.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsidy_months: Option<u32>,
}

/// One contribution base a flexible worker may choose: a share of the city's average
/// monthly wage, and what it costs each month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContributionBand {
    /// Percent of the average wage (60, 80, 100, ...): what the registration sends.
    pub percent: u16,
    pub base_fen: i64,
    /// Pension and medical insurance together, paid by the worker alone.
    pub monthly_fen: i64,
}

// ---------------------------------------------------------------- job openings

/// Response of `GET /v1/job-openings?kind=…&district=…`: the openings that match, best
/// paid first (at most [`JOB_OPENINGS_MAX`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOpenings {
    pub openings: Vec<JobOpening>,
}

/// Most openings one answer lists (a receipt has room for about this many).
pub const JOB_OPENINGS_MAX: usize = 8;

/// One opening, as the job seeker sees and prints it: the employer is called with the
/// contact code at the employment service's hotline (no personal phone numbers printed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOpening {
    /// `JO-` and 6 digits.
    pub contact_code: String,
    pub title: String,
    pub employer: String,
    pub kind: JobKind,
    pub district: District,
    pub wage_min_fen: i64,
    pub wage_max_fen: i64,
}

// ---------------------------------------------------------------- registrations

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationKind {
    Unemployment,
    MonthlyCheckIn,
    /// 灵活就业人员参保登记 (needs `contribution_percent`).
    FlexibleEmployment,
    /// 就业困难人员认定 + 灵活就业社保补贴申领.
    EmploymentSubsidy,
    /// 求职登记 (needs `job_kind`, `district` and `phone`).
    JobSeeker,
}

impl RegistrationKind {
    /// The terminal service that sends this kind of registration.
    pub fn service(self) -> Service {
        match self {
            Self::Unemployment => Service::UnemploymentRegistration,
            Self::MonthlyCheckIn => Service::UnemploymentCheckIn,
            Self::FlexibleEmployment => Service::FlexibleEmploymentRegistration,
            Self::EmploymentSubsidy => Service::EmploymentSubsidy,
            Self::JobSeeker => Service::JobSeekerRegistration,
        }
    }

    /// The path segment of `GET /v1/eligibility/{kind}` (its wire name).
    pub fn code(self) -> &'static str {
        match self {
            Self::Unemployment => "unemployment",
            Self::MonthlyCheckIn => "monthly_check_in",
            Self::FlexibleEmployment => "flexible_employment",
            Self::EmploymentSubsidy => "employment_subsidy",
            Self::JobSeeker => "job_seeker",
        }
    }
}

/// `POST /v1/registrations`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegistrationRequest {
    pub kind: RegistrationKind,
    pub id_number: String,
    pub name: String,
    /// Mainland mobile number, 11 digits (unemployment registration only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Why the job ended (unemployment registration only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<UnemploymentReason>,
    /// The contribution band chosen, as [`ContributionBand::percent`] (flexible
    /// employment only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contribution_percent: Option<u16>,
    /// The work wanted (job seeker only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_kind: Option<JobKind>,
    /// Where (job seeker only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<District>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationReceipt {
    pub tracking_number: String,
    pub kind: RegistrationKind,
    /// Next monthly check-in due by this date (`YYYY-MM-DD`); unemployment registrations
    /// and check-ins only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_check_in_due: Option<String>,
    /// Flexible employment: the first monthly payment is due by this date (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_payment_due: Option<String>,
    /// Flexible employment: what each month costs, in fen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_fen: Option<i64>,
}

// ---------------------------------------------------------------- applications

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationKind {
    QualificationCheck,
    UnemploymentRegistration,
    MonthlyCheckIn,
    FlexibleEmploymentRegistration,
    EmploymentSubsidy,
    JobSeekerRegistration,
}

impl ApplicationKind {
    /// The terminal service that submitted this kind of application.
    pub fn service(self) -> Service {
        match self {
            Self::QualificationCheck => Service::QualificationCheck,
            Self::UnemploymentRegistration => Service::UnemploymentRegistration,
            Self::MonthlyCheckIn => Service::UnemploymentCheckIn,
            Self::FlexibleEmploymentRegistration => Service::FlexibleEmploymentRegistration,
            Self::EmploymentSubsidy => Service::EmploymentSubsidy,
            Self::JobSeekerRegistration => Service::JobSeekerRegistration,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    Received,
    UnderReview,
    Approved,
    Rejected,
    Completed,
}

/// Response of `GET /v1/applications/{tracking_number}`. The path segment may also be the
/// tracking number's digits alone or the [`client_reference`] of the submission's key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationProgress {
    pub tracking_number: String,
    pub kind: ApplicationKind,
    pub status: ApplicationStatus,
    #[serde(with = "time::serde::rfc3339")]
    pub submitted_at: OffsetDateTime,
    /// When the office must have decided (`YYYY-MM-DD`).
    pub deadline: String,
    /// Decision still open and the deadline has passed.
    pub overdue: bool,
}

/// Length of a [`client_reference`]: 16 digits, so it never looks like the digits of a
/// tracking number typed without its prefix (15 digits, `QC-20261121-0004837` ->
/// `202611210004837`; 14 for numbers issued before that form, `QC-20261121-483920`).
pub const CLIENT_REFERENCE_LEN: usize = 16;

/// The reference a terminal prints on a "queued" receipt, before the central service has
/// assigned a tracking number: digits only, so it can be typed on a numeric keypad, and
/// derived from the submission's `Idempotency-Key`, so the server computes the same value
/// when the queued submission arrives and `GET /v1/applications/{it}` finds the application.
///
/// Definition: the first 8 bytes of SHA-256 over the key's bytes, read as a big-endian
/// unsigned integer, modulo 10^16, written as [`CLIENT_REFERENCE_LEN`] decimal digits with
/// leading zeros.
pub fn client_reference(idempotency_key: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(idempotency_key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    format!("{:016}", u64::from_be_bytes(first) % 10_u64.pow(CLIENT_REFERENCE_LEN as u32))
}

/// True for something shaped like a [`client_reference`] (exactly 16 ASCII digits).
pub fn is_client_reference(s: &str) -> bool {
    s.len() == CLIENT_REFERENCE_LEN && s.bytes().all(|b| b.is_ascii_digit())
}

// ---------------------------------------------------------------- ratings

/// `POST /v1/ratings`: five-grade rating of a finished service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingRequest {
    /// The terminal's session id (opaque, no personal data).
    pub session_id: String,
    pub service: Service,
    /// 1 (worst) ..= 5 (best): [`RatingGrade::score`].
    pub grade: u8,
    #[serde(default)]
    pub reasons: Vec<RatingReason>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingReceipt {
    pub rating_id: String,
}

// ---------------------------------------------------------------- telemetry

/// `POST /v1/telemetry`: a heartbeat and/or batched events and audit records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryBatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<Heartbeat>,
    #[serde(default)]
    pub events: Vec<TelemetryEvent>,
    #[serde(default)]
    pub audit: Vec<AuditRecord>,
}

/// Most events / audit records accepted in one batch.
pub const TELEMETRY_BATCH_MAX: usize = 500;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    #[serde(with = "time::serde::rfc3339")]
    pub sent_at: OffsetDateTime,
    pub software_version: String,
    pub uptime_s: u64,
    pub devices: DeviceHealth,
    pub outbox: OutboxState,
    /// Sessions started since the previous heartbeat.
    pub sessions: u32,
    /// Sessions that failed since the previous heartbeat.
    pub failures: u32,
    pub disk_free_bytes: u64,
    /// Terminal clock minus server clock as the terminal last measured it.
    pub clock_offset_ms: i64,
    /// SHA-256 (hex) of the terminal's effective configuration: terminals on the same
    /// version whose hashes differ are configured differently. Absent from terminals
    /// older than the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceHealth {
    pub reader: ReaderHealth,
    pub printer: PrinterHealth,
    pub camera: CameraHealth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReaderHealth {
    Ok,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterHealth {
    Ok,
    NearEnd,
    PaperOut,
    CoverOpen,
    CutterError,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraHealth {
    Ok,
    Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxState {
    pub depth: u32,
    /// Age of the oldest unsent item in seconds (0 when empty).
    pub oldest_age_s: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// Something that happened on the terminal. Never carries personal data unmasked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelemetryEvent {
    /// Unique per terminal (e.g. a UUID); duplicates are ignored.
    pub id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Dotted lower-case name, e.g. `printer.paper_out`, `session.finished`.
    pub kind: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One record of the terminal's hash-chained audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub action: String,
    /// Masked subject, e.g. `4501**********0034`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_masked: Option<String>,
    pub outcome: String,
    /// SHA-256 of the previous record, 64 hex chars.
    pub prev_hash: String,
    /// SHA-256 of this record, 64 hex chars.
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelemetryAck {
    pub accepted_events: u32,
    pub accepted_audit: u32,
    /// The interval the server wants heartbeats at from now on.
    pub heartbeat_interval_s: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub server_time: OffsetDateTime,
}

mod validate;
pub use validate::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_reference_is_sixteen_digits_fixed_by_the_documented_rule() {
        // Pinned: SHA-256("0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"), first 8 bytes, mod 10^16
        // (computed independently with Python's hashlib).
        assert_eq!(client_reference("0f8e1c2a-5b6d-4e7f-8a9b-0c1d2e3f4a5b"), "1400782942772406");
        let r = client_reference("k");
        assert!(is_client_reference(&r), "{r}");
        assert_eq!(r, client_reference("k"), "deterministic");
        assert_ne!(r, client_reference("K"));
    }

    #[test]
    fn header_text_round_trips_utf8_names_in_ascii() {
        for name in ["张秀英", "李福寿", "O'Brien", "Anne-Marie Lü", "阿依古丽·买买提", "a b"] {
            let encoded = encode_header_text(name);
            assert!(encoded.bytes().all(|b| b.is_ascii_graphic()), "{encoded}");
            assert_eq!(decode_header_text(&encoded).as_deref(), Some(name), "{encoded}");
        }
        assert_eq!(encode_header_text("张秀英"), "%E5%BC%A0%E7%A7%80%E8%8B%B1");
        assert_eq!(decode_header_text("%e5%bc%a0").as_deref(), Some("张"), "lower-case escapes");
    }

    #[test]
    fn header_text_refuses_what_the_encoder_never_writes() {
        for bad in ["%", "%E", "%G1", "a b", "a+b", "%FF", "%E5%BC", "张"] {
            assert_eq!(decode_header_text(bad), None, "{bad}");
        }
        assert_eq!(decode_header_text("").as_deref(), Some(""));
    }

    #[test]
    fn tracking_digits_are_never_taken_for_a_client_reference() {
        assert!(!is_client_reference("20261121483920"));
        assert!(!is_client_reference("202611210004837"));
        assert!(!is_client_reference("QC-20261121-483920"));
        assert!(!is_client_reference("12345678901234567"));
        assert!(!is_client_reference("123456789012345a"));
    }
}
