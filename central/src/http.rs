//! The HTTP surface: routes, problem documents, body limits and deadlines, per-route
//! client certificate enforcement (the current certificate of a device not revoked),
//! per-terminal lookup throttles and the idempotency wrapper around state-changing calls.

// Early-return refusals are whole HTTP responses; boxing them buys nothing here.
#![allow(clippy::result_large_err)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Digest as _;

use crate::api::{self, Problem, ProblemType};
use crate::connections::BodyReadError;
use crate::pki::PeerIdentity;
use crate::service::{self, ApiError};
use crate::state::{AppState, Counters, Tally};
use crate::store::{IdempotencyBegin, NewRecord, RegistryAccess, StoreError, StoredResponse};

pub type Shared = Arc<AppState>;

/// Body limit of ordinary JSON calls.
const JSON_LIMIT: usize = 256 * 1024;
/// Body limit of qualification checks (a base64 face JPEG).
const QUALIFICATION_LIMIT: usize = 3 * 1024 * 1024;
/// An in-flight reservation older than this is assumed abandoned by a dead worker.
const IN_FLIGHT_STALE_S: i64 = 120;

pub fn router(state: Shared) -> Router {
    Router::new()
        .route(api::paths::ENROLL, post(crate::enroll::enroll))
        .route(api::paths::CERTIFICATES, post(certificates))
        .route(api::paths::QUALIFICATION_CHECKS, post(qualification_checks))
        .route(api::paths::CONTRIBUTIONS, get(contributions))
        .route(api::paths::PENSION_PAYMENTS, get(pension_payments))
        .route("/v1/eligibility/{kind}", get(eligibility))
        .route(api::paths::JOB_OPENINGS, get(job_openings))
        .route(api::paths::REGISTRATIONS, post(registrations))
        .route("/v1/applications/{tracking}", get(application))
        .route(api::paths::RATINGS, post(ratings))
        .route(api::paths::TELEMETRY, post(crate::telemetry::ingest))
        .route(api::paths::UPDATE_OFFER, get(crate::release::offer))
        .route("/v1/updates/packages/{sha256}", get(crate::release::package))
        .route("/verify/{code}", get(crate::ops::verify_page))
        .route(api::paths::METRICS, get(crate::telemetry::metrics))
        .merge(crate::ops::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn not_found() -> Response {
    problem_response(&ProblemType::NotFound.problem("no such resource"))
}

async fn method_not_allowed() -> Response {
    problem_response(&ProblemType::MethodNotAllowed.problem("this method is not allowed on this path"))
}

pub fn problem_response(p: &Problem) -> Response {
    let body = serde_json::to_vec(p).unwrap_or_default();
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, api::PROBLEM_CONTENT_TYPE)], body).into_response()
}

/// 429 with `Retry-After` (whole seconds, rounded up).
pub fn too_many_requests(detail: impl Into<String>, wait: std::time::Duration) -> Response {
    let mut resp = problem_response(&ProblemType::TooManyRequests.problem(detail));
    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(crate::throttle::retry_after_seconds(wait)));
    resp
}

/// Turns an error into its problem document; server faults are logged, not leaked.
pub fn error_problem(e: &ApiError) -> Problem {
    match e {
        ApiError::Problem { kind, detail, field } => {
            let mut p = kind.problem(detail.clone());
            p.field = field.clone();
            p
        }
        ApiError::Store(StoreError::DeviceNotCurrent(detail)) => {
            tracing::warn!(detail, "refused a call from a device revoked or renewed while it was handled");
            ProblemType::DeviceNotAllowed.problem(detail.clone())
        }
        ApiError::Store(StoreError::TokenSpent) => {
            // The race of two enrollments with one token (at two instances, say): the
            // loser is told what it would have been told a moment later.
            ProblemType::EnrollmentTokenUsed.problem("the enrollment token was already used; tokens are single use")
        }
        ApiError::Store(err) => {
            tracing::error!(error = %err, "storage failure");
            ProblemType::Internal.problem("storage failure; retry with the same Idempotency-Key")
        }
        ApiError::Internal(err) => {
            tracing::error!(error = %err, "internal failure");
            ProblemType::Internal.problem("internal failure; retry with the same Idempotency-Key")
        }
    }
}

/// A finished response in the form the idempotency store keeps.
pub fn json_reply<T: Serialize>(status: StatusCode, value: &Result<T, ApiError>) -> StoredResponse {
    match value {
        Ok(v) => StoredResponse {
            status: status.as_u16(),
            content_type: "application/json".into(),
            body: serde_json::to_vec(v).unwrap_or_default(),
        },
        Err(e) => {
            let p = error_problem(e);
            StoredResponse {
                status: p.status,
                content_type: api::PROBLEM_CONTENT_TYPE.into(),
                body: serde_json::to_vec(&p).unwrap_or_default(),
            }
        }
    }
}

/// A call's reply with the rows and tally that become real only if the reply is recorded.
#[derive(Debug)]
pub struct Completed {
    pub reply: StoredResponse,
    pub records: Vec<NewRecord>,
    pub tally: Option<Tally>,
}

impl From<StoredResponse> for Completed {
    fn from(reply: StoredResponse) -> Self {
        Self { reply, records: Vec::new(), tally: None }
    }
}

/// What a terminal's state-changing call returns.
type Submission<T> = Result<service::Submitted<T>, ApiError>;

/// A submission's reply; a problem carries no records.
fn submission_reply<T: Serialize>(status: StatusCode, result: Submission<T>) -> Completed {
    match result {
        Ok(s) => Completed {
            reply: json_reply(status, &Ok::<_, ApiError>(s.response)),
            records: s.records,
            tally: Some(s.tally),
        },
        Err(e) => json_reply::<T>(status, &Err(e)).into(),
    }
}

pub fn stored_to_response(r: StoredResponse, replayed: bool) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, r.body).into_response();
    if let Ok(v) = HeaderValue::from_str(&r.content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    if replayed {
        resp.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

/// An enrolled device, not revoked, presenting its current certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentDevice {
    pub device_id: String,
    /// Serial (hex) of the certificate presented, which is the device's current one.
    pub cert_serial: String,
}

impl CurrentDevice {
    /// The record that makes a commit fail if this device was revoked or renewed since.
    pub fn still_current(&self) -> NewRecord {
        NewRecord::RequireCurrentDevice { device_id: self.device_id.clone(), cert_serial: self.cert_serial.clone() }
    }
}

/// [`require_device`] from an async handler: the lookup is a store call, and on
/// PostgreSQL a network round trip that must not hold one of the few async worker
/// threads (at 1,140 requests a second it did, and p50 latency grew to 12 s with the
/// machine a third idle; central/bench/run).
pub async fn require_device_async(state: &Shared, peer: &PeerIdentity) -> Result<CurrentDevice, Response> {
    let (state, peer) = (state.clone(), peer.clone());
    tokio::task::spawn_blocking(move || require_device(&state, &peer))
        .await
        .unwrap_or_else(|e| Err(problem_response(&error_problem(&ApiError::Internal(e.to_string())))))
}

/// The enrolled, non-revoked device on the other end with its current certificate (not
/// one a renewal replaced), or the refusal to send.
pub fn require_device(state: &AppState, peer: &PeerIdentity) -> Result<CurrentDevice, Response> {
    let (Some(device_id), Some(serial)) = (&peer.device_id, &peer.serial) else {
        return Err(problem_response(
            &ProblemType::ClientCertificateRequired
                .problem("this call needs mutual TLS with a device certificate from the fleet CA"),
        ));
    };
    match state.store.device(device_id) {
        Ok(Some(d)) if d.revoked_at.is_none() && d.cert_serial == *serial => {
            Ok(CurrentDevice { device_id: device_id.clone(), cert_serial: serial.clone() })
        }
        Ok(Some(d)) if d.revoked_at.is_none() => {
            tracing::warn!(device_id, "refused a certificate that a renewal replaced");
            Err(problem_response(
                &ProblemType::DeviceNotAllowed
                    .problem("this certificate has been replaced by a renewal; use the device's current certificate"),
            ))
        }
        Ok(Some(_)) => match state.store.terminal(device_id) {
            // The terminal learns it is out of service for good, not merely refused.
            Ok(Some(t)) if t.decommissioned.is_some() => {
                tracing::warn!(device_id, "refused decommissioned device");
                Err(problem_response(&ProblemType::DeviceDecommissioned.problem(
                    "operations decommissioned this terminal; enroll it again with a new token to bring the hardware back",
                )))
            }
            _ => {
                tracing::warn!(device_id, "refused revoked device");
                Err(problem_response(&ProblemType::DeviceNotAllowed.problem("this device has been revoked")))
            }
        },
        Ok(None) => {
            tracing::warn!(device_id, "refused unknown device");
            Err(problem_response(&ProblemType::DeviceNotAllowed.problem("this device is not enrolled")))
        }
        Err(e) => Err(problem_response(&error_problem(&ApiError::Store(e)))),
    }
}

/// The `Idempotency-Key` of a state-changing call (400 when missing or malformed).
pub fn idempotency_key(headers: &HeaderMap) -> Result<String, Response> {
    let Some(value) = headers.get(api::IDEMPOTENCY_KEY_HEADER) else {
        return Err(problem_response(
            &ProblemType::IdempotencyKeyMissing.problem("state-changing calls need an Idempotency-Key header"),
        ));
    };
    match value.to_str() {
        Ok(k) if api::idempotency_key_is_valid(k) => Ok(k.to_owned()),
        _ => Err(problem_response(
            &ProblemType::MalformedRequest.problem("Idempotency-Key must be 1..=128 visible ASCII characters"),
        )),
    }
}

/// Reads and parses a JSON body: 415 without a JSON content type, 413 over `limit`,
/// 400 for broken JSON, 422 for JSON of the wrong shape.
pub async fn json_body<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<(T, Vec<u8>), Response> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(problem_response(&ProblemType::UnsupportedMediaType.problem("send application/json")));
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        if BodyReadError::is_too_slow(&e) {
            let mut resp = problem_response(
                &ProblemType::RequestTimeout.problem("the request body did not arrive in time; send it again"),
            );
            // The rest of that body may still come: the connection cannot carry another request.
            resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        } else {
            problem_response(&ProblemType::PayloadTooLarge.problem(format!("request body over {limit} bytes")))
        }
    })?;
    match serde_json::from_slice::<T>(&bytes) {
        Ok(v) => Ok((v, bytes.to_vec())),
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            Err(problem_response(&ProblemType::ValidationFailed.problem(e.to_string())))
        }
        Err(e) => Err(problem_response(&ProblemType::MalformedRequest.problem(format!("body is not valid JSON: {e}")))),
    }
}

/// Hash binding an idempotency key to one exact request.
pub fn request_hash(method: &Method, path: &str, body: &[u8]) -> String {
    let mut h = sha2::Sha256::new();
    h.update(method.as_str().as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    hex::encode(h.finalize())
}

/// Runs `work` at most once per `(scope, key)`: replays the stored response for the
/// same request, 422 for a different one, 409 while the first is in flight.
/// The work's records and its response are committed in one transaction, and counted
/// only after that. Server faults (5xx) are not stored, so a retry with the same key
/// runs again; a crash before the commit leaves nothing but a reservation that a retry
/// takes over once stale.
pub fn idempotent(state: &AppState, scope: &str, key: &str, hash: &str, work: impl FnOnce() -> Completed) -> Response {
    idempotent_keeping(state, scope, key, hash, Keep::Problems, work)
}

/// Which outcomes [`idempotent_keeping`] stores for replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Successes and the client's problems (4xx): a retry gets the same answer.
    Problems,
    /// Successes only: problems of an anonymous caller must not leave a row each.
    SuccessesOnly,
}

/// [`idempotent`], storing the outcomes `keep` says.
pub fn idempotent_keeping(
    state: &AppState,
    scope: &str,
    key: &str,
    hash: &str,
    keep: Keep,
    work: impl FnOnce() -> Completed,
) -> Response {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match state.store.idempotency_begin(scope, key, hash, now, now - IN_FLIGHT_STALE_S) {
        Err(e) => problem_response(&error_problem(&ApiError::Store(e))),
        Ok(IdempotencyBegin::DifferentRequest) => problem_response(
            &ProblemType::IdempotencyKeyReused.problem("this Idempotency-Key was already used for a different request"),
        ),
        Ok(IdempotencyBegin::InFlight) => problem_response(
            &ProblemType::RequestInFlight
                .problem("the first request with this Idempotency-Key is still being processed; retry later"),
        ),
        Ok(IdempotencyBegin::Replay(stored)) => {
            Counters::bump(&state.counters.idempotent_replays);
            stored_to_response(stored, true)
        }
        Ok(IdempotencyBegin::Reserved) => {
            let done = work();
            let not_kept = match keep {
                Keep::Problems => 500,
                Keep::SuccessesOnly => 400,
            };
            let reply = if done.reply.status >= not_kept {
                abandon(state, scope, key);
                done.reply
            } else {
                match state.store.idempotency_commit(scope, key, &done.records, &done.reply) {
                    Ok(None) => {
                        if let Some(tally) = done.tally {
                            Counters::bump(state.counters.counter(tally));
                        }
                        done.reply
                    }
                    Ok(Some(earlier)) => {
                        // A retry took over this (stale) reservation and finished first.
                        tracing::warn!(scope, "a retry finished first; sending its response");
                        Counters::bump(&state.counters.idempotent_replays);
                        return stored_to_response(earlier, true);
                    }
                    Err(e) => {
                        abandon(state, scope, key);
                        json_reply::<()>(StatusCode::INTERNAL_SERVER_ERROR, &Err(ApiError::Store(e)))
                    }
                }
            };
            if reply.status >= 400 {
                Counters::bump(&state.counters.problems);
            }
            stored_to_response(reply, false)
        }
    }
}

/// Releases a reservation whose work failed, so a retry runs at once. If this fails too,
/// the reservation goes stale and a retry takes it over later.
fn abandon(state: &AppState, scope: &str, key: &str) {
    if let Err(e) = state.store.idempotency_abandon(scope, key) {
        tracing::error!(error = %e, scope, "could not release an idempotency reservation");
    }
}

/// The common shape of a terminal's state-changing JSON call.
#[allow(clippy::too_many_arguments)]
async fn terminal_post<Req: DeserializeOwned + Send + 'static, Resp: Serialize>(
    state: &Shared,
    peer: Option<axum::Extension<PeerIdentity>>,
    headers: &HeaderMap,
    body: Body,
    path: &str,
    limit: usize,
    success: StatusCode,
    work: impl FnOnce(&AppState, &service::Caller<'_>, &Req) -> Submission<Resp> + Send + 'static,
) -> Response {
    let peer = peer.map(|p| p.0).unwrap_or_default();
    let device = match require_device_async(state, &peer).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let key = match idempotency_key(headers) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let (req, raw) = match json_body::<Req>(headers, body, limit).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let hash = request_hash(&Method::POST, path, &raw);
    // SQLite calls and JPEG decoding block; keep them off the async worker threads.
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let device_id = device.device_id.as_str();
        let caller = service::Caller { device_id, idempotency_key: &key };
        idempotent(&state, device_id, &key, &hash, || {
            let mut done = submission_reply(success, work(&state, &caller, &req));
            // Checked in the commit: a revocation that lands meanwhile wins.
            done.records.insert(0, device.still_current());
            done
        })
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "request worker failed");
        problem_response(&ProblemType::Internal.problem("request worker failed; retry with the same Idempotency-Key"))
    })
}

async fn certificates(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    terminal_post(
        &state,
        peer,
        &headers,
        body,
        api::paths::CERTIFICATES,
        JSON_LIMIT,
        StatusCode::CREATED,
        service::issue_certificate,
    )
    .await
}

async fn qualification_checks(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    terminal_post(
        &state,
        peer,
        &headers,
        body,
        api::paths::QUALIFICATION_CHECKS,
        QUALIFICATION_LIMIT,
        StatusCode::CREATED,
        service::qualification_check,
    )
    .await
}

async fn registrations(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    terminal_post(
        &state,
        peer,
        &headers,
        body,
        api::paths::REGISTRATIONS,
        JSON_LIMIT,
        StatusCode::CREATED,
        service::register,
    )
    .await
}

async fn ratings(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    terminal_post(&state, peer, &headers, body, api::paths::RATINGS, JSON_LIMIT, StatusCode::CREATED, service::rate)
        .await
}

fn json_or_problem<T: Serialize>(r: Result<T, ApiError>) -> Response {
    stored_to_response(json_reply(StatusCode::OK, &r), false)
}

/// A header's value as text, or the 400 that says it is missing or not ASCII.
fn header_text<'a>(headers: &'a HeaderMap, name: &str, what: &str) -> Result<&'a str, Response> {
    let Some(value) = headers.get(name) else {
        return Err(problem_response(&ProblemType::MalformedRequest.problem(format!("{name} header missing: {what}"))));
    };
    value
        .to_str()
        .map_err(|_| problem_response(&ProblemType::MalformedRequest.problem(format!("{name} is not ASCII: {what}"))))
}

/// Counts a registry lookup against the terminal's rate: the 429 to send when over it.
fn throttle_lookup(state: &AppState, device_id: &str) -> Result<(), Response> {
    state.throttles.lookups_by_terminal.check(&device_id.to_owned()).map_err(|wait| {
        Counters::bump(&state.counters.lookups_throttled);
        if state.throttles.may_warn(&format!("lookups:{device_id}")) {
            tracing::warn!(device_id, retry_after_s = wait.as_secs(), "registry lookups throttled for this terminal");
        }
        too_many_requests(
            "this terminal looks up the registry faster than a queue of citizens can; try again later",
            wait,
        )
    })
}

/// `GET /v1/contributions`: needs the ID number and the name read from the card (the
/// name proves the card is there); every lookup is kept in the access log, masked.
async fn contributions(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    headers: HeaderMap,
) -> Response {
    holder_lookup(state, peer, &headers, "contributions", service::contributions).await
}

/// `GET /v1/pension-payments`: as contributions.
async fn pension_payments(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    headers: HeaderMap,
) -> Response {
    holder_lookup(state, peer, &headers, "pension_payments", service::pension_payments).await
}

/// `GET /v1/eligibility/{kind}`: as contributions.
async fn eligibility(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    Path(kind): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !matches!(kind.as_str(), "flexible_employment" | "employment_subsidy" | "job_seeker") {
        return problem_response(&ProblemType::NotFound.problem("no eligibility check for this kind"));
    }
    let purpose = format!("eligibility_{kind}");
    holder_lookup(state, peer, &headers, &purpose, move |st, id, name| service::eligibility(st, &kind, id, name)).await
}

/// The query of `GET /v1/job-openings`.
#[derive(serde::Deserialize)]
struct OpeningsQuery {
    kind: api::JobKind,
    district: api::District,
}

/// `GET /v1/job-openings`: enrolled terminals only (the list is the city's, not a
/// person's, so no access log), within the lookup limit.
async fn job_openings(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    query: Result<axum::extract::Query<OpeningsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let device = match require_device_async(&state, &peer.map(|p| p.0).unwrap_or_default()).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Ok(axum::extract::Query(q)) = query else {
        return problem_response(
            &ProblemType::MalformedRequest
                .problem("kind and district must be a kind of work (e.g. retail) and a district (e.g. qingxiu)"),
        );
    };
    if let Err(refused) = throttle_lookup(&state, &device.device_id) {
        return refused;
    }
    json_or_problem(Ok::<_, ApiError>(service::job_openings(q.kind, q.district)))
}

/// A registry lookup for the card holder named by the holder headers: the enrolled
/// device, the per-terminal limit, and the access log entry (masked) of every answer.
async fn holder_lookup<T, F>(
    state: Shared,
    peer: Option<axum::Extension<PeerIdentity>>,
    headers: &HeaderMap,
    purpose: &str,
    lookup: F,
) -> Response
where
    T: serde::Serialize,
    F: FnOnce(&AppState, &str, &str) -> Result<T, ApiError> + Send + 'static,
{
    let device = match require_device_async(&state, &peer.map(|p| p.0).unwrap_or_default()).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let id_number = match header_text(headers, api::CARD_HOLDER_HEADER, "send the ID number read from the card") {
        Ok(v) => v.to_owned(),
        Err(r) => return r,
    };
    let name = match header_text(
        headers,
        api::CARD_HOLDER_NAME_HEADER,
        "send the name read from the card, UTF-8 percent-encoded",
    ) {
        Ok(v) => match api::decode_header_text(v) {
            Some(name) => name,
            None => {
                return problem_response(&ProblemType::MalformedRequest.problem(format!(
                    "{} must be the name as UTF-8, percent-encoded (e.g. %E5%BC%A0%E7%A7%80%E8%8B%B1)",
                    api::CARD_HOLDER_NAME_HEADER
                )));
            }
        },
        Err(r) => return r,
    };
    let purpose = purpose.to_owned();
    tokio::task::spawn_blocking(move || {
        let access = |outcome: &str| RegistryAccess {
            at: time::OffsetDateTime::now_utc().unix_timestamp(),
            device_id: device.device_id.clone(),
            subject_masked: api::mask_id_number(&id_number),
            purpose: purpose.clone(),
            outcome: outcome.into(),
        };
        // A throttled attempt shows nobody anything; the warning and the counter record
        // it, and a flood of them does not grow the access log.
        if let Err(refused) = throttle_lookup(&state, &device.device_id) {
            return refused;
        }
        let result = lookup(&state, &id_number, &name);
        match (record_access(&state, &access(service::lookup_outcome(&result))), result) {
            // Nobody's history is shown without a record of who was shown it.
            (Err(e), Ok(_)) => problem_response(&error_problem(&ApiError::Store(e))),
            (_, result) => json_or_problem(result),
        }
    })
    .await
    .unwrap_or_else(|e| problem_response(&error_problem(&ApiError::Internal(e.to_string()))))
}

/// Keeps one lookup in the access log.
fn record_access(state: &AppState, access: &RegistryAccess) -> Result<(), StoreError> {
    state.store.record_registry_access(access).inspect_err(|e| {
        tracing::error!(error = %e, device_id = access.device_id, "registry lookup not written to the access log");
    })
}

async fn application(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    Path(tracking): Path<String>,
) -> Response {
    let device = match require_device_async(&state, &peer.map(|p| p.0).unwrap_or_default()).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    if let Err(refused) = throttle_lookup(&state, &device.device_id) {
        return refused;
    }
    json_or_problem(service::application(&state, &tracking))
}
