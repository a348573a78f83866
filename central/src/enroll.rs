//! Enrollment: one-time tokens and `POST /v1/enroll`, which signs the terminal's CSR
//! (first enrollment with a token, renewal over mutual TLS without one). Anonymous calls
//! are throttled per address, and a token is checked before any CSR is signed or any row
//! written, so guessing tokens costs the service a lookup and leaves nothing behind.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use sha2::Digest as _;
use time::OffsetDateTime;

use crate::api::{self, EnrollRequest, EnrollResponse, ProblemType, TerminalConfig};
use crate::http::{self, CurrentDevice, Keep, Shared};
use crate::pki::{PeerIdentity, PkiError};
use crate::server::ClientAddr;
use crate::service::{ApiError, random_code};
use crate::state::{AppState, Counters, Tally};
use crate::store::{DeviceRecord, IdempotencyBegin, NewRecord, Store, StoreResult, TokenUse};

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

/// The refusal of a token that cannot enroll a device, `None` for one that can.
fn token_refusal(status: TokenUse) -> Option<ApiError> {
    let refused = |kind, detail: &str| Some(ApiError::problem(kind, detail));
    match status {
        TokenUse::Accepted => None,
        TokenUse::Unknown => refused(
            ProblemType::EnrollmentTokenInvalid,
            "no such enrollment token; create one with `central token create`",
        ),
        TokenUse::Expired => {
            refused(ProblemType::EnrollmentTokenExpired, "the enrollment token has expired; create a new one")
        }
        TokenUse::AlreadyUsed => {
            refused(ProblemType::EnrollmentTokenUsed, "the enrollment token was already used; tokens are single use")
        }
    }
}

/// Who asks for a certificate: a technician's token, or the device's current certificate.
enum Applicant<'a> {
    Token(&'a str),
    Renewal(&'a CurrentDevice),
}

/// Checks the token, signs the CSR and answers; the token's use and the device record
/// are returned as rows for the idempotent commit, so that a crash cannot spend a token
/// without enrolling its device (the technician would need a new token) or enroll one
/// twice. Nothing is signed for a token that cannot enroll; a bad CSR does not spend the
/// token (only the commit does).
fn issue(
    state: &AppState,
    req: &EnrollRequest,
    device_id: &str,
    applicant: &Applicant<'_>,
) -> Result<(EnrollResponse, Vec<NewRecord>), ApiError> {
    let now = OffsetDateTime::now_utc();
    let validity = time::Duration::try_from(state.config.device_certificate_validity)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut records = Vec::new();
    match applicant {
        Applicant::Token(token) => {
            if let Some(refused) = token_refusal(state.store.token_status(&token_hash(token), now.unix_timestamp())?) {
                return Err(refused);
            }
            records.push(NewRecord::TokenUse {
                token_hash: token_hash(token),
                device_id: device_id.to_owned(),
                at: now.unix_timestamp(),
            });
        }
        // The new certificate counts only if the one that asked for it is still current
        // and the device not revoked when the renewal commits.
        Applicant::Renewal(device) => records.push(device.still_current()),
    }
    let (certificate_pem, serial) = state
        .ca
        .sign_device_csr(&req.csr_pem, device_id, now - time::Duration::minutes(5), now + validity)
        .map_err(csr_problem)?;
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
    let renewal = matches!(applicant, Applicant::Renewal(_));
    tracing::info!(device_id, renewal, hostname = %req.inventory.hostname, "device certificate issued");
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

/// The stored answer of a renewal that already committed, asked again with the
/// certificate it replaced (its answer was lost on the way). Sending it again gives away
/// nothing: a certificate is public and its key never left the terminal. Anything but
/// that exact request is refused as before.
fn replayed_renewal(state: &AppState, peer: &PeerIdentity, key: &str, hash: &str) -> Option<Response> {
    let device_id = peer.device_id.as_deref()?;
    let device = state.store.device(device_id).ok()??;
    if device.revoked_at.is_some() {
        return None;
    }
    let scope = format!("renew:{device_id}");
    let now = OffsetDateTime::now_utc().unix_timestamp();
    match state.store.idempotency_begin(&scope, key, hash, now, now - 120) {
        Ok(IdempotencyBegin::Replay(stored)) => {
            Counters::bump(&state.counters.idempotent_replays);
            Some(http::stored_to_response(stored, true))
        }
        Ok(IdempotencyBegin::Reserved) => {
            // Not a renewal that happened: give the reservation back and refuse.
            if let Err(e) = state.store.idempotency_abandon(&scope, key) {
                tracing::error!(error = %e, "could not release an idempotency reservation");
            }
            None
        }
        Ok(_) | Err(_) => None,
    }
}

/// `POST /v1/enroll`
pub async fn enroll(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    client: Option<axum::Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let peer = peer.map(|p| p.0).unwrap_or_default();
    if peer.device_id.is_none() {
        // Anonymous: only a technician with a token enrolls, a few times a day.
        let address = client.map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.0.ip());
        if let Err(wait) = state.throttles.enrollments_by_address.check(&crate::throttle::address_key(address)) {
            Counters::bump(&state.counters.enrollments_throttled);
            if state.throttles.may_warn(&format!("enroll:{address}")) {
                tracing::warn!(client = %address, "anonymous enrollments throttled for this address");
            }
            return http::too_many_requests("too many enrollment attempts from this address; try again later", wait);
        }
    }
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
    // SQLite waits (up to its busy timeout) while another process such as
    // `central device revoke` holds the write lock, and signing is CPU work: both stay off
    // the async worker threads, or a few such requests stall every connection.
    tokio::task::spawn_blocking(move || enroll_blocking(&state, &peer, &req, &key, &hash)).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "enrollment worker failed");
        http::problem_response(
            &ProblemType::Internal.problem("enrollment worker failed; retry with the same Idempotency-Key"),
        )
    })
}

/// The part of `POST /v1/enroll` that touches the database and the CA.
fn enroll_blocking(state: &AppState, peer: &PeerIdentity, req: &EnrollRequest, key: &str, hash: &str) -> Response {
    match req.token.as_deref() {
        Some(token) => {
            // An unknown or expired token is refused before anything is written. A used one
            // goes on: the same request again (a lost answer) gets its stored answer.
            let now = OffsetDateTime::now_utc().unix_timestamp();
            match state.store.token_status(&token_hash(token), now) {
                Ok(status @ (TokenUse::Unknown | TokenUse::Expired)) => {
                    if let Some(refused) = token_refusal(status) {
                        return http::problem_response(&http::error_problem(&refused));
                    }
                }
                Ok(_) => {}
                Err(e) => return http::problem_response(&http::error_problem(&e.into())),
            }
            let scope = format!("enroll:{}", token_hash(token));
            let device_id = format!("KT-{}", random_code(10));
            http::idempotent_keeping(state, &scope, key, hash, Keep::SuccessesOnly, || {
                completed(issue(state, req, &device_id, &Applicant::Token(token)))
            })
        }
        None => {
            // Renewal: the current certificate proves who is asking.
            let device = match http::require_device(state, peer) {
                Ok(d) => d,
                Err(refused) => return replayed_renewal(state, peer, key, hash).unwrap_or(refused),
            };
            let scope = format!("renew:{}", device.device_id);
            http::idempotent_keeping(state, &scope, key, hash, Keep::SuccessesOnly, || {
                completed(issue(state, req, &device.device_id, &Applicant::Renewal(&device)))
            })
        }
    }
}
