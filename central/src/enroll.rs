//! Enrollment: one-time tokens and `POST /v1/enroll`, which signs the terminal's CSR
//! (first enrollment with a token, renewal over mutual TLS without one).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use sha2::Digest as _;
use time::OffsetDateTime;

use crate::api::{self, EnrollRequest, EnrollResponse, ProblemType, TerminalConfig};
use crate::http::{self, Shared};
use crate::pki::{PeerIdentity, PkiError};
use crate::service::{ApiError, random_code};
use crate::state::{AppState, Tally};
use crate::store::{DeviceRecord, NewRecord, Store, StoreResult, TokenUse};

/// Hash under which a token is stored (the token itself is never stored).
pub fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.trim().as_bytes()))
}

/// Creates a one-time enrollment token valid for `ttl`; returns the token text.
pub fn create_token(store: &dyn Store, ttl: std::time::Duration) -> StoreResult<String> {
    let token = format!("{}-{}-{}-{}", random_code(5), random_code(5), random_code(5), random_code(5));
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
    store.insert_token(&token_hash(&token), now, now.saturating_add(ttl))?;
    Ok(token)
}

fn csr_problem(e: PkiError) -> ApiError {
    match e {
        PkiError::CsrInvalid(detail) => ApiError::Problem {
            kind: ProblemType::CsrInvalid,
            detail: format!(
                "the CSR cannot be used: {detail}; it must be a PEM PKCS#10 request signed by the key it certifies"
            ),
            field: Some("csr_pem".into()),
        },
        other => ApiError::Internal(other.to_string()),
    }
}

/// Signs the CSR and answers; the token's use and the device record are returned as rows
/// for the idempotent commit, so that a crash cannot spend a token without enrolling its
/// device (the technician would need a new token) or enroll one twice.
fn issue(
    state: &AppState,
    req: &EnrollRequest,
    device_id: &str,
    token: Option<&str>,
) -> Result<(EnrollResponse, Vec<NewRecord>), ApiError> {
    let now = OffsetDateTime::now_utc();
    let validity = time::Duration::try_from(state.config.device_certificate_validity)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    // Sign first: a bad CSR must not burn the technician's token.
    let (certificate_pem, serial) = state
        .ca
        .sign_device_csr(&req.csr_pem, device_id, now - time::Duration::minutes(5), now + validity)
        .map_err(csr_problem)?;
    let mut records = Vec::new();
    if let Some(token) = token {
        let refused = |kind, detail: &str| Err(ApiError::problem(kind, detail));
        match state.store.token_status(&token_hash(token), now.unix_timestamp())? {
            TokenUse::Accepted => records.push(NewRecord::TokenUse {
                token_hash: token_hash(token),
                device_id: device_id.to_owned(),
                at: now.unix_timestamp(),
            }),
            TokenUse::Unknown => {
                return refused(
                    ProblemType::EnrollmentTokenInvalid,
                    "no such enrollment token; create one with `central token create`",
                );
            }
            TokenUse::Expired => {
                return refused(
                    ProblemType::EnrollmentTokenExpired,
                    "the enrollment token has expired; create a new one",
                );
            }
            TokenUse::AlreadyUsed => {
                return refused(
                    ProblemType::EnrollmentTokenUsed,
                    "the enrollment token was already used; tokens are single use",
                );
            }
        }
    }
    records.push(NewRecord::Device(DeviceRecord {
        device_id: device_id.to_owned(),
        hostname: req.inventory.hostname.clone(),
        software_version: req.inventory.software_version.clone(),
        inventory_json: serde_json::to_string(&req.inventory).map_err(|e| ApiError::Internal(e.to_string()))?,
        enrolled_at: now.unix_timestamp(),
        cert_serial: serial,
        cert_not_after: (now + validity).unix_timestamp(),
        revoked_at: None,
    }));
    tracing::info!(device_id, renewal = token.is_none(), hostname = %req.inventory.hostname, "device certificate issued");
    let response = EnrollResponse {
        device_id: device_id.to_owned(),
        certificate_pem,
        ca_pem: state.ca.ca_pem().to_owned(),
        config: TerminalConfig {
            heartbeat_interval_s: u32::try_from(state.config.heartbeat_interval.as_secs()).unwrap_or(30),
            certificate_signing_key: base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                state.signing_key.verifying_key().as_bytes(),
            ),
            verify_base_url: state.verify_base_url.clone(),
        },
    };
    Ok((response, records))
}

/// The reply with the rows that become real only if it is recorded.
fn completed(result: Result<(EnrollResponse, Vec<NewRecord>), ApiError>) -> http::Completed {
    match result {
        Ok((response, records)) => http::Completed {
            reply: http::json_reply(StatusCode::CREATED, &Ok::<_, ApiError>(response)),
            records,
            tally: Some(Tally::Enrollments),
        },
        Err(e) => http::json_reply::<EnrollResponse>(StatusCode::CREATED, &Err(e)).into(),
    }
}

/// `POST /v1/enroll`
pub async fn enroll(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let peer = peer.map(|p| p.0).unwrap_or_default();
    let key = match http::idempotency_key(&headers) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let (req, raw) = match http::json_body::<EnrollRequest>(&headers, body, 64 * 1024).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if let Err(e) = req.validate() {
        return http::problem_response(&http::error_problem(&e.into()));
    }
    let hash = http::request_hash(&Method::POST, api::paths::ENROLL, &raw);
    match req.token.clone() {
        Some(token) => {
            let scope = format!("enroll:{}", token_hash(&token));
            let device_id = format!("KT-{}", random_code(10));
            http::idempotent(&state, &scope, &key, &hash, || completed(issue(&state, &req, &device_id, Some(&token))))
        }
        None => {
            // Renewal: the current certificate proves who is asking.
            let device_id = match http::require_device(&state, &peer) {
                Ok(d) => d,
                Err(r) => return r,
            };
            let scope = format!("renew:{device_id}");
            http::idempotent(&state, &scope, &key, &hash, || completed(issue(&state, &req, &device_id, None)))
        }
    }
}
