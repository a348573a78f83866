//! The v1 wire contract between a terminal and the central service: request and
//! response types, header names, problem types, field validation and the
//! certificate signature check. Mirrors `central/openapi.yaml`; the kiosk's client is
//! built against exactly these types, so changes here are contract changes.
//!
//! Conventions: JSON bodies, `snake_case` field names and enum values, timestamps in
//! RFC 3339 (UTC, whole seconds), months as `YYYY-MM`, money as integer fen (0.01 CNY).

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Header every state-changing call carries (see the idempotency rules in the design doc).
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// Header naming the card holder for `GET /v1/contributions` (the ID number read from
/// the card). A header, not a query parameter, so it never lands in access logs.
pub const CARD_HOLDER_HEADER: &str = "X-Card-Holder-Id";
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
    pub const REGISTRATIONS: &str = "/v1/registrations";
    /// Followed by `/{tracking_number}`.
    pub const APPLICATIONS: &str = "/v1/applications";
    pub const RATINGS: &str = "/v1/ratings";
    pub const TELEMETRY: &str = "/v1/telemetry";
    /// Followed by `/{verification_code}`; public HTML page.
    pub const VERIFY: &str = "/verify";
    pub const METRICS: &str = "/metrics";
    pub const OPS: &str = "/ops";
}

// ---------------------------------------------------------------- problems

/// An RFC 9457 problem document (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    /// Stable URI of the error kind, see [`ProblemType`].
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For validation errors: the offending field (JSON pointer-ish, e.g. `period.from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Problem {
    /// The known kind of this problem, if the server sent one this client knows.
    pub fn kind(&self) -> Option<ProblemType> {
        ProblemType::ALL.iter().copied().find(|k| k.uri() == self.type_uri)
    }
}

/// Every error kind the v1 API answers with. URIs and statuses are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    /// 400: body is not valid JSON for the call, or a parameter is malformed.
    MalformedRequest,
    /// 422: a field failed validation (`field` names it).
    ValidationFailed,
    /// 400: a state-changing call came without `Idempotency-Key`.
    IdempotencyKeyMissing,
    /// 422: the key was already used with a different request body.
    IdempotencyKeyReused,
    /// 409: the first request with this key is still being processed; retry later.
    RequestInFlight,
    /// 401: the call needs a client certificate from the fleet CA.
    ClientCertificateRequired,
    /// 403: the certificate names a device that is unknown or revoked.
    DeviceNotAllowed,
    /// 401: the enrollment token does not exist.
    EnrollmentTokenInvalid,
    /// 401: the enrollment token has expired.
    EnrollmentTokenExpired,
    /// 401: the enrollment token was already used.
    EnrollmentTokenUsed,
    /// 422: the CSR cannot be parsed, or its signature does not match its key.
    CsrInvalid,
    /// 404: the person is not in the registry.
    PersonUnknown,
    /// 404: no such application / verification code / resource.
    NotFound,
    /// 422: the face image is not a decodable JPEG.
    InvalidJpeg,
    /// 422: a monthly check-in without an open unemployment registration.
    NoOpenRegistration,
    /// 413: request body larger than the limit.
    PayloadTooLarge,
    /// 415: body is not `application/json`.
    UnsupportedMediaType,
    /// 405: method not allowed on this path.
    MethodNotAllowed,
    /// 500: the server failed; the request may be retried with the same key.
    Internal,
}

impl ProblemType {
    pub const ALL: [ProblemType; 19] = [
        Self::MalformedRequest,
        Self::ValidationFailed,
        Self::IdempotencyKeyMissing,
        Self::IdempotencyKeyReused,
        Self::RequestInFlight,
        Self::ClientCertificateRequired,
        Self::DeviceNotAllowed,
        Self::EnrollmentTokenInvalid,
        Self::EnrollmentTokenExpired,
        Self::EnrollmentTokenUsed,
        Self::CsrInvalid,
        Self::PersonUnknown,
        Self::NotFound,
        Self::InvalidJpeg,
        Self::NoOpenRegistration,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::MethodNotAllowed,
        Self::Internal,
    ];

    /// Short stable slug; the URI is `urn:kiosk-central:problem:<slug>`.
    pub fn slug(self) -> &'static str {
        match self {
            Self::MalformedRequest => "malformed-request",
            Self::ValidationFailed => "validation-failed",
            Self::IdempotencyKeyMissing => "idempotency-key-missing",
            Self::IdempotencyKeyReused => "idempotency-key-reused",
            Self::RequestInFlight => "request-in-flight",
            Self::ClientCertificateRequired => "client-certificate-required",
            Self::DeviceNotAllowed => "device-not-allowed",
            Self::EnrollmentTokenInvalid => "enrollment-token-invalid",
            Self::EnrollmentTokenExpired => "enrollment-token-expired",
            Self::EnrollmentTokenUsed => "enrollment-token-used",
            Self::CsrInvalid => "csr-invalid",
            Self::PersonUnknown => "person-unknown",
            Self::NotFound => "not-found",
            Self::InvalidJpeg => "invalid-jpeg",
            Self::NoOpenRegistration => "no-open-registration",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Internal => "internal",
        }
    }

    pub fn uri(self) -> String {
        format!("urn:kiosk-central:problem:{}", self.slug())
    }

    pub fn status(self) -> u16 {
        match self {
            Self::MalformedRequest | Self::IdempotencyKeyMissing => 400,
            Self::ClientCertificateRequired
            | Self::EnrollmentTokenInvalid
            | Self::EnrollmentTokenExpired
            | Self::EnrollmentTokenUsed => 401,
            Self::DeviceNotAllowed => 403,
            Self::PersonUnknown | Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::RequestInFlight => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::ValidationFailed
            | Self::IdempotencyKeyReused
            | Self::CsrInvalid
            | Self::InvalidJpeg
            | Self::NoOpenRegistration => 422,
            Self::Internal => 500,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::MalformedRequest => "Malformed request",
            Self::ValidationFailed => "A field failed validation",
            Self::IdempotencyKeyMissing => "Idempotency-Key header missing",
            Self::IdempotencyKeyReused => "Idempotency-Key reused with a different request",
            Self::RequestInFlight => "A request with this Idempotency-Key is still in flight",
            Self::ClientCertificateRequired => "Client certificate required",
            Self::DeviceNotAllowed => "Device unknown or revoked",
            Self::EnrollmentTokenInvalid => "Enrollment token invalid",
            Self::EnrollmentTokenExpired => "Enrollment token expired",
            Self::EnrollmentTokenUsed => "Enrollment token already used",
            Self::CsrInvalid => "Certificate signing request invalid",
            Self::PersonUnknown => "Person not in the registry",
            Self::NotFound => "Not found",
            Self::InvalidJpeg => "Face image is not a valid JPEG",
            Self::NoOpenRegistration => "No open unemployment registration",
            Self::PayloadTooLarge => "Request body too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Internal => "Internal server error",
        }
    }

    /// A problem document of this type.
    pub fn problem(self, detail: impl Into<String>) -> Problem {
        Problem {
            type_uri: self.uri(),
            title: self.title().to_owned(),
            status: self.status(),
            detail: Some(detail.into()),
            field: None,
        }
    }
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateKind {
    /// Proof of social insurance participation: one row per contributed month.
    SocialInsuranceParticipation,
    /// Proof of pension receipt: one row per paid month (pensioners only).
    PensionReceipt,
}

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
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&sig.value)
        .map_err(|_| SignatureError::Malformed)?;
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

/// What the terminal's liveness check saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LivenessEvidence {
    /// e.g. `blink`, `head_turn`.
    pub method: String,
    /// 0.0 ..= 1.0
    pub score: f64,
    pub passed: bool,
    pub frames: u32,
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

// ---------------------------------------------------------------- registrations

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationKind {
    Unemployment,
    MonthlyCheckIn,
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
    /// Why the job ended, a code (`contract_ended`, `dismissed`, `resigned`, `other`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistrationReceipt {
    pub tracking_number: String,
    pub kind: RegistrationKind,
    /// Next monthly check-in due by this date (`YYYY-MM-DD`).
    pub next_check_in_due: String,
}

// ---------------------------------------------------------------- applications

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationKind {
    QualificationCheck,
    UnemploymentRegistration,
    MonthlyCheckIn,
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

/// Response of `GET /v1/applications/{tracking_number}`.
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

// ---------------------------------------------------------------- ratings

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    Certificate,
    QualificationCheck,
    Contributions,
    Registration,
    ApplicationProgress,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingReason {
    Fast,
    EasyToUse,
    TooSlow,
    HardToUse,
    InformationUnclear,
    DeviceProblem,
    Other,
}

/// `POST /v1/ratings`: five-grade rating of a finished service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingRequest {
    /// The terminal's session id (opaque, no personal data).
    pub session_id: String,
    pub service: ServiceKind,
    /// 1 (worst) ..= 5 (best).
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

// ---------------------------------------------------------------- validation helpers

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

pub(crate) fn field_error(field: &str, message: impl Into<String>) -> FieldError {
    FieldError { field: field.to_owned(), message: message.into() }
}

/// True for an 18-character resident ID number (GB 11643) with a correct check digit.
pub fn id_number_is_valid(id: &str) -> bool {
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    id_check_digit(&id[..17]) == Some(b[17].to_ascii_uppercase() as char)
}

/// The GB 11643 check character for the first 17 digits.
pub fn id_check_digit(first17: &str) -> Option<char> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in first17.chars().zip(WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    Some(CHECK[(sum % 11) as usize] as char)
}

/// Masks an ID number for logs and displays: first 4 and last 4 kept.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..4].iter().collect();
    out.push_str(&"*".repeat(chars.len() - 8));
    out.extend(&chars[chars.len() - 4..]);
    out
}

/// True for `YYYY-MM` with a month 01..=12 and a year 1900..=2999.
pub fn is_year_month(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
        && matches!(s[..4].parse::<u32>(), Ok(1900..=2999))
        && matches!(s[5..].parse::<u32>(), Ok(1..=12))
}

/// Checks an `Idempotency-Key`: 1..=128 visible ASCII characters.
pub fn idempotency_key_is_valid(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= IDEMPOTENCY_KEY_MAX_LEN
        && key.bytes().all(|b| b.is_ascii_graphic())
}

fn check_name(field: &str, name: &str) -> Result<(), FieldError> {
    let n = name.chars().count();
    if n == 0 || n > 64 || name.trim() != name || name.chars().any(char::is_control) {
        return Err(field_error(field, "must be 1..=64 characters, no control characters or edge spaces"));
    }
    Ok(())
}

fn check_id(field: &str, id: &str) -> Result<(), FieldError> {
    if id_number_is_valid(id) {
        Ok(())
    } else {
        Err(field_error(field, "must be an 18-character ID number with a valid check digit"))
    }
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(field_error(field, format!("must be 1..={max} characters without control characters")));
    }
    Ok(())
}

fn check_code(field: &str, value: &str) -> Result<(), FieldError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.');
    if ok { Ok(()) } else { Err(field_error(field, "must be 1..=64 of [a-z0-9_.]")) }
}

fn check_hash(field: &str, value: &str) -> Result<(), FieldError> {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(())
    } else {
        Err(field_error(field, "must be 64 lower-case hex characters"))
    }
}

impl EnrollRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(t) = &self.token {
            check_text("token", t, 128)?;
        }
        if self.csr_pem.is_empty() || self.csr_pem.len() > 16 * 1024 {
            return Err(field_error("csr_pem", "must be a PEM CSR of at most 16 KiB"));
        }
        check_text("inventory.hostname", &self.inventory.hostname, 253)?;
        check_text("inventory.software_version", &self.inventory.software_version, 64)?;
        if self.inventory.devices.len() > 32 {
            return Err(field_error("inventory.devices", "at most 32 devices"));
        }
        for (i, d) in self.inventory.devices.iter().enumerate() {
            check_text(&format!("inventory.devices[{i}].model"), &d.model, 128)?;
            if let Some(s) = &d.serial {
                check_text(&format!("inventory.devices[{i}].serial"), s, 128)?;
            }
        }
        Ok(())
    }
}

impl CertificateRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        check_id("id_number", &self.id_number)?;
        check_name("name", &self.name)?;
        if !is_year_month(&self.period.from) {
            return Err(field_error("period.from", "must be YYYY-MM"));
        }
        if !is_year_month(&self.period.to) {
            return Err(field_error("period.to", "must be YYYY-MM"));
        }
        if self.period.from > self.period.to {
            return Err(field_error("period", "from must not be after to"));
        }
        Ok(())
    }
}

impl QualificationCheckRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        check_id("id_number", &self.id_number)?;
        check_name("name", &self.name)?;
        if self.face_jpeg.is_empty() || self.face_jpeg.len() > FACE_JPEG_MAX_BYTES / 3 * 4 + 4 {
            return Err(field_error("face_jpeg", "must be 1 byte ..= 2 MiB of JPEG, base64"));
        }
        check_code("liveness.method", &self.liveness.method)?;
        if !(0.0..=1.0).contains(&self.liveness.score) {
            return Err(field_error("liveness.score", "must be within 0.0 ..= 1.0"));
        }
        if self.liveness.frames > 10_000 {
            return Err(field_error("liveness.frames", "must be at most 10000"));
        }
        Ok(())
    }
}

impl RegistrationRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        check_id("id_number", &self.id_number)?;
        check_name("name", &self.name)?;
        if let Some(p) = &self.phone {
            if p.len() != 11 || !p.starts_with('1') || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(field_error("phone", "must be an 11-digit mobile number starting with 1"));
            }
        }
        if let Some(r) = &self.reason {
            if !matches!(r.as_str(), "contract_ended" | "dismissed" | "resigned" | "other") {
                return Err(field_error("reason", "must be contract_ended, dismissed, resigned or other"));
            }
        }
        Ok(())
    }
}

impl RatingRequest {
    pub fn validate(&self) -> Result<(), FieldError> {
        check_text("session_id", &self.session_id, 64)?;
        if !(1..=5).contains(&self.grade) {
            return Err(field_error("grade", "must be 1..=5"));
        }
        if self.reasons.len() > 7 {
            return Err(field_error("reasons", "at most 7 reasons"));
        }
        Ok(())
    }
}

impl TelemetryBatch {
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.events.len() > TELEMETRY_BATCH_MAX {
            return Err(field_error("events", format!("at most {TELEMETRY_BATCH_MAX} per batch")));
        }
        if self.audit.len() > TELEMETRY_BATCH_MAX {
            return Err(field_error("audit", format!("at most {TELEMETRY_BATCH_MAX} per batch")));
        }
        if let Some(h) = &self.heartbeat {
            check_text("heartbeat.software_version", &h.software_version, 64)?;
        }
        for (i, e) in self.events.iter().enumerate() {
            check_text(&format!("events[{i}].id"), &e.id, 64)?;
            check_code(&format!("events[{i}].kind"), &e.kind)?;
            if let Some(d) = &e.detail {
                check_text(&format!("events[{i}].detail"), d, 500)?;
            }
        }
        for (i, a) in self.audit.iter().enumerate() {
            if a.seq > i64::MAX as u64 {
                return Err(field_error(&format!("audit[{i}].seq"), "must be at most 2^63-1"));
            }
            check_code(&format!("audit[{i}].action"), &a.action)?;
            check_code(&format!("audit[{i}].outcome"), &a.outcome)?;
            if let Some(s) = &a.subject_masked {
                check_text(&format!("audit[{i}].subject_masked"), s, 64)?;
            }
            check_hash(&format!("audit[{i}].prev_hash"), &a.prev_hash)?;
            check_hash(&format!("audit[{i}].hash"), &a.hash)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_matches_the_published_examples() {
        assert!(id_number_is_valid("11010519491231002X"));
        assert!(id_number_is_valid("440524188001010014"));
        assert!(!id_number_is_valid("440524188001010015"));
        assert!(!id_number_is_valid("44052418800101001"));
    }

    #[test]
    fn masking_keeps_first_and_last_four() {
        assert_eq!(mask_id_number("450103199001010034"), "4501**********0034");
    }

    #[test]
    fn year_month_rejects_month_thirteen() {
        assert!(is_year_month("2024-12"));
        assert!(!is_year_month("2024-13"));
        assert!(!is_year_month("2024-1"));
    }
}
