//! Problem documents (`application/problem+json`) and the stable error kinds.

use serde::{Deserialize, Serialize};

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
    /// 403: operations decommissioned this device: it is out of service for good (a new
    /// enrollment gives the hardware a new identity).
    DeviceDecommissioned,
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
    /// 422: the registry says the person cannot have this service; `detail` is the
    /// [`crate::IneligibleReason`] code.
    NotEligible,
    /// 413: request body larger than the limit.
    PayloadTooLarge,
    /// 415: body is not `application/json`.
    UnsupportedMediaType,
    /// 405: method not allowed on this path.
    MethodNotAllowed,
    /// 408: the request body did not arrive within the server's body timeout.
    RequestTimeout,
    /// 429: too many calls from this terminal, address or user; `Retry-After` says when
    /// to try again.
    TooManyRequests,
    /// 401: the call needs `Authorization: Bearer <token>` (e.g. `GET /metrics`).
    BearerTokenRequired,
    /// 500: the server failed; the request may be retried with the same key.
    Internal,
}

impl ProblemType {
    pub const ALL: [ProblemType; 24] = [
        Self::MalformedRequest,
        Self::ValidationFailed,
        Self::IdempotencyKeyMissing,
        Self::IdempotencyKeyReused,
        Self::RequestInFlight,
        Self::ClientCertificateRequired,
        Self::DeviceNotAllowed,
        Self::DeviceDecommissioned,
        Self::EnrollmentTokenInvalid,
        Self::EnrollmentTokenExpired,
        Self::EnrollmentTokenUsed,
        Self::CsrInvalid,
        Self::PersonUnknown,
        Self::NotFound,
        Self::InvalidJpeg,
        Self::NoOpenRegistration,
        Self::NotEligible,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::MethodNotAllowed,
        Self::RequestTimeout,
        Self::TooManyRequests,
        Self::BearerTokenRequired,
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
            Self::DeviceDecommissioned => "device-decommissioned",
            Self::EnrollmentTokenInvalid => "enrollment-token-invalid",
            Self::EnrollmentTokenExpired => "enrollment-token-expired",
            Self::EnrollmentTokenUsed => "enrollment-token-used",
            Self::CsrInvalid => "csr-invalid",
            Self::PersonUnknown => "person-unknown",
            Self::NotFound => "not-found",
            Self::InvalidJpeg => "invalid-jpeg",
            Self::NoOpenRegistration => "no-open-registration",
            Self::NotEligible => "not-eligible",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::RequestTimeout => "request-timeout",
            Self::TooManyRequests => "too-many-requests",
            Self::BearerTokenRequired => "bearer-token-required",
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
            | Self::EnrollmentTokenUsed
            | Self::BearerTokenRequired => 401,
            Self::DeviceNotAllowed | Self::DeviceDecommissioned => 403,
            Self::PersonUnknown | Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::RequestTimeout => 408,
            Self::RequestInFlight => 409,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::ValidationFailed
            | Self::IdempotencyKeyReused
            | Self::CsrInvalid
            | Self::InvalidJpeg
            | Self::NoOpenRegistration
            | Self::NotEligible => 422,
            Self::TooManyRequests => 429,
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
            Self::DeviceDecommissioned => "Device decommissioned",
            Self::EnrollmentTokenInvalid => "Enrollment token invalid",
            Self::EnrollmentTokenExpired => "Enrollment token expired",
            Self::EnrollmentTokenUsed => "Enrollment token already used",
            Self::CsrInvalid => "Certificate signing request invalid",
            Self::PersonUnknown => "Person not in the registry",
            Self::NotFound => "Not found",
            Self::InvalidJpeg => "Face image is not a valid JPEG",
            Self::NoOpenRegistration => "No open unemployment registration",
            Self::NotEligible => "Not eligible for this service",
            Self::PayloadTooLarge => "Request body too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::MethodNotAllowed => "Method not allowed",
            Self::RequestTimeout => "Request body not received in time",
            Self::TooManyRequests => "Too many requests",
            Self::BearerTokenRequired => "Bearer token required",
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
