//! Server-rendered pages: the operations dashboard behind a password login (Argon2 on
//! its own bounded pool, throttled per address and per user name) and the public
//! certificate verification page. Pages show counts and masked ids only, never citizen
//! data; their content refreshes in place.

// Early-return refusals are whole HTTP responses; boxing them buys nothing here.
#![allow(clippy::result_large_err)]

use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sha2::Digest as _;
use time::OffsetDateTime;

use crate::http::Shared;
use crate::password::CheckError;
pub use crate::password::hash_password;
use crate::server::ClientAddr;
use crate::service;
use crate::state::{AppState, Counters};
use crate::store::Store;
use crate::telemetry::{self, TerminalStatus};

const COOKIE: &str = "central_ops";
const SESSION_S: i64 = 12 * 3600;

mod review;
mod versions;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/ops", get(fleet))
        .route("/ops/login", get(login_page).post(login))
        .route("/ops/logout", post(logout))
        .route("/ops/terminals/{device_id}", get(terminal))
        .route("/ops/alerts", get(alerts))
        .route("/ops/access", get(access))
        .route("/ops/versions", get(versions_page))
        .route("/ops/terminals/{device_id}/decommission", post(decommission))
        .route("/ops/rollouts/{id}/pause", post(pause_rollout))
        .route("/ops/rollouts/{id}/resume", post(resume_rollout))
        .route("/ops/review", get(review::queue))
        .route("/ops/review/{tracking}/face", get(review::face))
        .route("/ops/review/{tracking}/decision", post(review::decide))
}

/// What a retired terminal's outbox held, in words: the submissions it never delivered.
pub fn backlog_account(d: &crate::store::Decommission) -> String {
    match (d.backlog_depth, d.last_seen) {
        (Some(0), Some(_)) => "its outbox was empty at its last heartbeat: nothing was lost".to_owned(),
        (Some(n), Some(seen)) => format!(
            "{n} item(s) were waiting in its outbox at its last heartbeat ({}), oldest {} s: never delivered, count them as lost",
            fmt_time(seen),
            d.backlog_oldest_age_s.unwrap_or(0)
        ),
        _ => "it never sent a heartbeat: its outbox is unknown".to_owned(),
    }
}

/// The CSRF token of the session whose cookie token is `session`: derived, so nothing
/// more is stored, and unknowable to another site (the cookie is HttpOnly). On top of
/// the cookie's SameSite=Strict, for the forms that change something for good (a
/// review decision, retiring a terminal).
fn csrf_token(session: &str) -> String {
    hex::encode(sha2::Sha256::digest(format!("central-ops-csrf:{session}").as_bytes()))
}

/// The token a form of this session carries; empty without a session.
pub(super) fn csrf_of_session(headers: &HeaderMap) -> String {
    cookie_token(headers).map(|t| csrf_token(&t)).unwrap_or_default()
}

/// Whether a posted form's `csrf` field is this session's token.
pub(super) fn csrf_field_matches(headers: &HeaderMap, presented: &str) -> bool {
    let expected = csrf_of_session(headers);
    // Both are hex digests of equal length; compared as digests so the time says nothing.
    !expected.is_empty() && sha2::Sha256::digest(presented) == sha2::Sha256::digest(&expected)
}

pub(super) fn forbidden(why: &str) -> Response {
    (StatusCode::FORBIDDEN, Html(format!("<h1>Forbidden</h1><p>{}</p>", esc(why)))).into_response()
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /ops/terminals/{id}/decommission` (the terminal page's button, with the
/// session's CSRF token).
async fn decommission(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(device_id): Path<String>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let who = match user(&state, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !form.is_ok_and(|f| csrf_field_matches(&headers, &f.csrf)) {
        return forbidden("The form is out of date or came from elsewhere (CSRF check failed). Reload the page.");
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let st = state.clone();
    let id = device_id.clone();
    match tokio::task::spawn_blocking(move || st.store.decommission_device(&id, now)).await {
        Ok(Ok(Some(retired))) => {
            tracing::warn!(device_id, by = who, backlog = ?retired.backlog_depth, "terminal decommissioned from the dashboard");
            Redirect::to(&format!("/ops/terminals/{}", esc(&device_id))).into_response()
        }
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, Html("<h1>No such active terminal</h1>".to_owned())).into_response(),
        Ok(Err(e)) => crate::http::problem_response(&crate::http::error_problem(&e.into())),
        Err(e) => {
            crate::http::problem_response(&crate::http::error_problem(&service::ApiError::Internal(e.to_string())))
        }
    }
}

/// Adds or updates an ops user with `role` (`operations` or `reviewer`; used by
/// `central user add --role`).
pub fn add_user_with_role(store: &dyn Store, username: &str, password: &str, role: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        [crate::store::ROLE_OPERATIONS, crate::store::ROLE_REVIEWER].contains(&role),
        "invalid setting `role`: use operations or reviewer"
    );
    add_user(store, username, password)?;
    anyhow::ensure!(store.set_user_role(username, role)?, "user {username} vanished while being saved");
    Ok(())
}

/// Adds or updates an ops user (used by `central user add`); a new one has the
/// `operations` role, an existing one keeps theirs.
pub fn add_user(store: &dyn Store, username: &str, password: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !username.is_empty()
            && username.len() <= 64
            && username.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
        "invalid setting `username`: use 1..=64 of [A-Za-z0-9._-]"
    );
    anyhow::ensure!(password.chars().count() >= 8, "invalid setting `password`: use at least 8 characters");
    let hash = hash_password(password).map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
    store.upsert_user(username, &hash, OffsetDateTime::now_utc().unix_timestamp())?;
    Ok(())
}

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn session_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == COOKIE).then(|| v.to_owned())
    })
}

/// The logged-in user, or a redirect to the login page.
fn user(state: &AppState, headers: &HeaderMap) -> Result<String, Response> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    cookie_token(headers)
        .and_then(|t| state.store.session_user(&session_hash(&t), now).ok().flatten())
        .ok_or_else(|| Redirect::to("/ops/login").into_response())
}

/// Whole page, or only the `<main>` content when the refresh script asks for it.
/// The content ends with which instance served it (the fragment too: with several
/// instances behind one address each refresh may come from another).
fn page(state: &AppState, headers: &HeaderMap, title: &str, body: &str) -> Response {
    page_refreshed(state, headers, title, body, true)
}

/// [`page`], with the in-place refresh only when `refresh`: a page holding a form being
/// filled in (the review queue) must not be replaced under the user's hands.
fn page_refreshed(state: &AppState, headers: &HeaderMap, title: &str, body: &str, refresh: bool) -> Response {
    let body = format!("{body}{}", served_by(state));
    if headers.get("x-fragment").is_some() {
        return Html(body).into_response();
    }
    let refresh_ms = state.config.dashboard_refresh.as_millis();
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} · central</title>
<style>
body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:0;background:#f4f5f7;color:#1d2330}}
header{{background:#1d2330;color:#fff;padding:.6rem 1rem;display:flex;gap:1.5rem;align-items:center}}
header a{{color:#cfd8ff;text-decoration:none}} main{{padding:1rem}}
table{{border-collapse:collapse;background:#fff;width:100%}} td,th{{padding:.35rem .6rem;border-bottom:1px solid #e3e6ec;text-align:left;font-size:.9rem}}
.status{{display:inline-block;padding:.1rem .5rem;border-radius:1rem;color:#fff;font-size:.8rem}}
.serving{{background:#1f8f4e}} .degraded{{background:#d98b00}} .maintenance{{background:#1565c0}} .powered_off{{background:#455a64}} .updating{{background:#6a1b9a}} .offline{{background:#c62828}} .never_seen{{background:#6b7280}} .revoked{{background:#111}} .since{{color:#555;font-size:90%}}
.cards{{display:flex;gap:1rem;margin-bottom:1rem}} .card{{background:#fff;padding:.6rem 1rem;border-radius:.4rem}}
.card b{{display:block;font-size:1.4rem}} form.filters{{margin-bottom:1rem}} .open{{color:#c62828;font-weight:600}}
</style></head><body><header><b>central · operations</b><a href="/ops">Fleet</a><a href="/ops/alerts">Alerts</a><a href="/ops/versions">Versions</a><a href="/ops/access">Registry lookups</a><a href="/ops/review">Review</a>
<form method="post" action="/ops/logout" style="margin-left:auto"><button>Log out</button></form></header>
<main id="content">{body}</main>
<script>
if ({refresh}) setInterval(async () => {{
  try {{
    const r = await fetch(location.href, {{headers: {{"X-Fragment": "main"}}, credentials: "same-origin"}});
    if (r.redirected) {{ location.reload(); return; }}
    if (r.ok) document.getElementById("content").innerHTML = await r.text();
  }} catch (e) {{}}
}}, {refresh_ms});
</script></body></html>"#,
        title = esc(title),
    ))
    .into_response()
}

/// The footer line naming the instance that rendered the page.
fn served_by(state: &AppState) -> String {
    format!(
        r#"<footer class="instance" data-instance="{name}" style="color:#6b7280;font-size:.8rem;margin-top:2rem">Served by instance {name}</footer>"#,
        name = esc(&state.instance)
    )
}

fn login_form(state: &AppState, message: &str) -> String {
    let footer = served_by(state);
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Log in · central</title></head>
<body style="font-family:system-ui,sans-serif;display:grid;place-items:center;height:90vh">
<form method="post" action="/ops/login" style="display:grid;gap:.6rem;min-width:18rem">
<h1>central · operations</h1>{message}
<label>User <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form>{footer}</body></html>"#
    )
}

async fn login_page(State(state): State<Shared>) -> Html<String> {
    Html(login_form(&state, ""))
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

/// The login form again with 429 and `Retry-After`: too many attempts.
fn login_throttled(state: &AppState, wait: std::time::Duration) -> Response {
    Counters::bump(&state.counters.logins_throttled);
    let seconds = crate::throttle::retry_after_seconds(wait);
    let message =
        format!(r#"<p role="alert" style="color:#c62828">Too many login attempts. Try again in {seconds} s.</p>"#);
    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, seconds.to_string())], Html(login_form(state, &message)))
        .into_response()
}

/// `POST /ops/login`. Every attempt counts against the client's address and the user
/// name typed (known or not, so the answer says nothing about which names exist), and
/// a wrong name costs the same Argon2 work as a wrong password. The typed name is never
/// logged: people type passwords into it.
async fn login(
    State(state): State<Shared>,
    client: Option<axum::Extension<ClientAddr>>,
    Form(c): Form<Credentials>,
) -> Response {
    let failed = || {
        (
            StatusCode::UNAUTHORIZED,
            Html(login_form(&state, r#"<p role="alert" style="color:#c62828">Wrong user name or password.</p>"#)),
        )
            .into_response()
    };
    let address = client.map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.0.ip());
    if let Err(wait) = state.throttles.login_by_address.check(&crate::throttle::address_key(address)) {
        tracing::debug!(client = %address, "ops login throttled for this address");
        return login_throttled(&state, wait);
    }
    if c.username.len() > 64 || c.password.len() > 256 {
        return failed();
    }
    if let Err(wait) = state.throttles.login_by_user.check(&c.username) {
        tracing::debug!(client = %address, "ops login throttled for the user name typed");
        return login_throttled(&state, wait);
    }
    let stored = match state.store.user_password_hash(&c.username) {
        Ok(h) => h,
        Err(e) => return crate::http::problem_response(&crate::http::error_problem(&e.into())),
    };
    match state.passwords.verify(stored, c.password).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(client = %address, "ops login failed: wrong user name or password");
            return failed();
        }
        Err(CheckError::Busy) => {
            if state.throttles.may_warn("login:busy") {
                tracing::warn!(client = %address, "ops login refused: every login worker is busy (a login flood?)");
            }
            return login_throttled(&state, std::time::Duration::from_secs(2));
        }
        Err(e @ CheckError::Stopped) => {
            return crate::http::problem_response(&crate::http::error_problem(&service::ApiError::Internal(
                e.to_string(),
            )));
        }
    }
    let token = hex::encode(rand::random::<[u8; 32]>());
    let expires = OffsetDateTime::now_utc().unix_timestamp() + SESSION_S;
    if let Err(e) = state.store.insert_session(&session_hash(&token), &c.username, expires) {
        return crate::http::problem_response(&crate::http::error_problem(&e.into()));
    }
    tracing::info!(username = %c.username, "ops login");
    let cookie = format!("{COOKIE}={token}; Path=/ops; HttpOnly; Secure; SameSite=Strict; Max-Age={SESSION_S}");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/ops")).into_response()
}

async fn logout(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(t) = cookie_token(&headers) {
        let _ = state.store.delete_session(&session_hash(&t));
    }
    let cookie = format!("{COOKIE}=; Path=/ops; HttpOnly; Secure; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/ops/login")).into_response()
}

fn ago(now: i64, t: Option<i64>) -> String {
    match t {
        None => "never".into(),
        Some(t) if now - t < 120 => format!("{} s ago", (now - t).max(0)),
        Some(t) if now - t < 7200 => format!("{} min ago", (now - t) / 60),
        Some(t) => format!("{} h ago", (now - t) / 3600),
    }
}

fn badge(s: TerminalStatus) -> String {
    format!(r#"<span class="status {0}" data-status="{0}">{0}</span>"#, s.as_str())
}

/// The badge with what it means here: which fault and since when for a degraded
/// terminal, since when for one in maintenance or powered off.
fn status_cell(
    status: TerminalStatus,
    t: &crate::store::TerminalRow,
    open: &[&crate::store::AlertRow],
    now: i64,
) -> String {
    let since = |at: i64| format!(r#" <span class="since">since {}</span>"#, ago(now, Some(at)));
    let more = match status {
        TerminalStatus::Degraded => telemetry::degraded_by(open)
            .map(|(why, at)| format!(r#" <span class="since">{}</span>{}"#, esc(&why), since(at)))
            .unwrap_or_default(),
        TerminalStatus::Maintenance | TerminalStatus::PoweredOff | TerminalStatus::Updating => {
            t.mode_since.map(since).unwrap_or_default()
        }
        TerminalStatus::Decommissioned => t
            .decommissioned
            .as_ref()
            .map(|d| format!(r#"{} <span class="since backlog">{}</span>"#, since(d.at), esc(&backlog_account(d))))
            .unwrap_or_default(),
        _ => String::new(),
    };
    format!("{}{more}", badge(status))
}

#[derive(Debug, Deserialize)]
pub struct FleetFilter {
    status: Option<String>,
    q: Option<String>,
}

async fn versions_page(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = user(&state, &headers) {
        return r;
    }
    let st = state.clone();
    let found = tokio::task::spawn_blocking(move || {
        let terminals = st.store.terminals()?;
        let rollouts = crate::release::rollout_views(st.store.as_ref(), &terminals, ROLLOUTS_SHOWN)?;
        Ok::<_, crate::store::StoreError>((terminals, rollouts))
    })
    .await;
    match found {
        Ok(Ok((terminals, rollouts))) => {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let body = versions::render(&terminals, &rollouts, &csrf_of_session(&headers), now);
            page(&state, &headers, "Versions", &body)
        }
        Ok(Err(e)) => crate::http::problem_response(&crate::http::error_problem(&e.into())),
        Err(e) => {
            crate::http::problem_response(&crate::http::error_problem(&service::ApiError::Internal(e.to_string())))
        }
    }
}

/// Rollouts the versions view lists, newest first.
const ROLLOUTS_SHOWN: usize = 20;

/// `POST /ops/rollouts/{id}/pause` (the versions view's button, with the CSRF token).
async fn pause_rollout(
    State(state): State<Shared>,
    headers: HeaderMap,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    set_rollout_paused(state, headers, id, form, true).await
}

/// `POST /ops/rollouts/{id}/resume`.
async fn resume_rollout(
    State(state): State<Shared>,
    headers: HeaderMap,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    set_rollout_paused(state, headers, id, form, false).await
}

async fn set_rollout_paused(
    state: Shared,
    headers: HeaderMap,
    id: Result<Path<i64>, axum::extract::rejection::PathRejection>,
    form: Result<Form<CsrfForm>, axum::extract::rejection::FormRejection>,
    pause: bool,
) -> Response {
    let who = match user(&state, &headers) {
        Ok(u) => u,
        Err(r) => return r,
    };
    if !form.is_ok_and(|f| csrf_field_matches(&headers, &f.csrf)) {
        return forbidden("The form is out of date or came from elsewhere (CSRF check failed). Reload the page.");
    }
    let Ok(Path(id)) = id else {
        return (StatusCode::NOT_FOUND, Html("<h1>No such rollout</h1>".to_owned())).into_response();
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let st = state.clone();
    match tokio::task::spawn_blocking(move || crate::release::set_paused(st.store.as_ref(), id, pause, now)).await {
        Ok(Ok(())) => {
            tracing::warn!(rollout = id, by = who, paused = pause, "rollout paused or resumed from the dashboard");
            Redirect::to("/ops/versions").into_response()
        }
        Ok(Err(e)) => (StatusCode::CONFLICT, Html(format!("<h1>Not changed</h1><p>{}</p>", esc(&format!("{e:#}")))))
            .into_response(),
        Err(e) => {
            crate::http::problem_response(&crate::http::error_problem(&service::ApiError::Internal(e.to_string())))
        }
    }
}

async fn fleet(State(state): State<Shared>, headers: HeaderMap, Query(f): Query<FleetFilter>) -> Response {
    if let Err(r) = user(&state, &headers) {
        return r;
    }
    match render_fleet(&state, &f) {
        Ok(body) => page(&state, &headers, "Fleet", &body),
        Err(e) => crate::http::problem_response(&crate::http::error_problem(&e)),
    }
}

fn render_fleet(state: &AppState, f: &FleetFilter) -> Result<String, service::ApiError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let terminals = state.store.terminals()?;
    let alerts = state.store.open_alerts()?;
    let counts = state.store.activity_counts()?;
    let open = |id: &str| alerts.iter().filter(|a| a.cleared_at.is_none() && a.device_id == id).collect::<Vec<_>>();
    let mut rows = String::new();
    let mut tally = std::collections::BTreeMap::<&str, usize>::new();
    for t in &terminals {
        let open_here = open(&t.device.device_id);
        let status = telemetry::status_of(state, t, &open_here, now);
        *tally.entry(status.as_str()).or_default() += 1;
        if f.status.as_deref().is_some_and(|s| !s.is_empty() && s != status.as_str()) {
            continue;
        }
        if f.q.as_deref().is_some_and(|q| !t.device.device_id.to_lowercase().contains(&q.to_lowercase())) {
            continue;
        }
        let hb: Option<crate::api::Heartbeat> = t.heartbeat_json.as_deref().and_then(|j| serde_json::from_str(j).ok());
        let (printer, outbox, version) =
            hb.as_ref().map_or(("—".to_owned(), "—".to_owned(), t.device.software_version.clone()), |h| {
                (
                    serde_json::to_value(h.devices.printer)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    format!("{} / {} s", h.outbox.depth, h.outbox.oldest_age_s),
                    h.software_version.clone(),
                )
            });
        let kinds: Vec<&str> = open_here.iter().map(|a| a.kind.as_str()).collect();
        let _ = write!(
            rows,
            r#"<tr data-device="{id}"><td><a href="/ops/terminals/{id}">{id}</a></td><td>{status}</td><td>{seen}</td><td>{ver}</td><td>{printer}</td><td>{outbox}</td><td>{s}</td><td>{fl}</td><td class="open">{alerts}</td></tr>"#,
            id = esc(&t.device.device_id),
            status = status_cell(status, t, &open_here, now),
            seen = ago(now, t.last_seen),
            ver = esc(&version),
            printer = esc(&printer),
            s = t.sessions_total,
            fl = t.failures_total,
            alerts = esc(&kinds.join(", ")),
        );
    }
    let mut options = String::from(r#"<option value="">all</option>"#);
    for s in TerminalStatus::ALL.map(TerminalStatus::as_str) {
        let sel = if f.status.as_deref() == Some(s) { " selected" } else { "" };
        let _ = write!(options, r#"<option value="{s}"{sel}>{s}</option>"#);
    }
    let expiring = expiring_certificates(&terminals, state.ca.server_certificate().validity().1, now);
    let card = |label: &str, v: String| format!(r#"<div class="card">{label}<b>{v}</b></div>"#);
    let count = |status: &str| tally.get(status).copied().unwrap_or(0).to_string();
    let n_open = alerts.iter().filter(|a| a.cleared_at.is_none()).count();
    Ok(format!(
        r#"<h1>Fleet</h1><div class="cards">{}{}{}{}{}{}{}{}{}{}</div>
<form class="filters" method="get" action="/ops"><label>Status <select name="status" onchange="this.form.submit()">{options}</select></label>
<label>Device <input name="q" value="{q}"></label><button>Filter</button></form>
<table id="fleet"><thead><tr><th>Terminal</th><th>Status</th><th>Last heartbeat</th><th>Version</th><th>Printer</th><th>Outbox (depth / oldest)</th><th>Sessions</th><th>Failures</th><th>Open alerts</th></tr></thead><tbody>{rows}</tbody></table>
{expiring}"#,
        card("Serving", count("serving")),
        card("Degraded", count("degraded")),
        card("Maintenance", count("maintenance")),
        card("Powered off", count("powered_off")),
        card("Updating", count("updating")),
        card("Offline", count("offline")),
        card("Open alerts", n_open.to_string()),
        card("Certificates issued", counts.certificates.to_string()),
        card("Applications", counts.applications.to_string()),
        card("Ratings", counts.ratings.to_string()),
        q = esc(f.q.as_deref().unwrap_or("")),
    ))
}

/// Terminals (not revoked) whose client certificate expires within 30 days, soonest
/// first. A terminal renews its own after two thirds of its life, so one listed here
/// has been failing to for weeks (see its `certificate_renewal_failed` alert) or has
/// been switched off.
/// This service's own TLS certificate is listed too (it rotates itself after two thirds
/// of its life, so listed it means rotation is failing: see the log).
fn expiring_certificates(terminals: &[crate::store::TerminalRow], server_not_after: i64, now: i64) -> String {
    const WINDOW_S: i64 = 30 * 24 * 3600;
    // (link target or none, name, host, not_after)
    let mut soon: Vec<(Option<&str>, &str, &str, i64)> = terminals
        .iter()
        .filter(|t| t.device.revoked_at.is_none() && t.device.cert_not_after < now + WINDOW_S)
        .map(|t| {
            (
                Some(t.device.device_id.as_str()),
                t.device.device_id.as_str(),
                t.device.hostname.as_str(),
                t.device.cert_not_after,
            )
        })
        .collect();
    if server_not_after < now + WINDOW_S {
        soon.push((None, "central (server certificate)", "", server_not_after));
    }
    soon.sort_by_key(|s| s.3);
    if soon.is_empty() {
        return r#"<h2>Certificates expiring within 30 days</h2><p id="expiring-none">None.</p>"#.into();
    }
    let mut rows = String::new();
    for (link, name, host, not_after) in soon {
        let left = not_after - now;
        let when = if left <= 0 {
            "expired".to_owned()
        } else if left < 2 * 24 * 3600 {
            format!("in {} h", left / 3600)
        } else {
            format!("in {} days", left / (24 * 3600))
        };
        let who = match link {
            Some(id) => format!(r#"<a href="/ops/terminals/{id}">{id}</a>"#, id = esc(id)),
            None => esc(name),
        };
        let _ = write!(
            rows,
            r#"<tr data-expiring="{name}"><td>{who}</td><td>{host}</td><td>{at}</td><td>{when}</td></tr>"#,
            name = esc(name),
            host = esc(host),
            at = fmt_time(not_after),
        );
    }
    format!(
        r#"<h2>Certificates expiring within 30 days</h2><table id="expiring"><thead><tr><th>Terminal</th><th>Host</th><th>Expires</th><th></th></tr></thead><tbody>{rows}</tbody></table>"#
    )
}

/// 24 hourly bars (sessions) or a line (backlog) as inline SVG.
fn chart(title: &str, values: &[i64; 24], line: bool) -> String {
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let (w, h) = (480.0, 120.0);
    let step = w / 24.0;
    let mut shapes = String::new();
    if line {
        let pts: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * step + step / 2.0, h - (*v as f64 / max) * (h - 10.0)))
            .collect();
        let _ =
            write!(shapes, r##"<polyline fill="none" stroke="#d98b00" stroke-width="2" points="{}"/>"##, pts.join(" "));
    } else {
        for (i, v) in values.iter().enumerate() {
            let bh = (*v as f64 / max) * (h - 10.0);
            let _ = write!(
                shapes,
                r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#3b6fd8"><title>{v}</title></rect>"##,
                i as f64 * step + 1.0,
                h - bh,
                step - 2.0,
                bh
            );
        }
    }
    format!(
        r##"<figure><figcaption>{title} (last 24 h, max {max})</figcaption><svg class="chart" role="img" aria-label="{title}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" style="background:#fff">{shapes}</svg></figure>"##,
        max = max as i64
    )
}

async fn terminal(State(state): State<Shared>, headers: HeaderMap, Path(device_id): Path<String>) -> Response {
    if let Err(r) = user(&state, &headers) {
        return r;
    }
    match render_terminal(&state, &device_id, &csrf_of_session(&headers)) {
        Ok(Some(body)) => page(&state, &headers, &device_id, &body),
        Ok(None) => (StatusCode::NOT_FOUND, Html("<h1>No such terminal</h1>".to_owned())).into_response(),
        Err(e) => crate::http::problem_response(&crate::http::error_problem(&e)),
    }
}

fn render_terminal(state: &AppState, device_id: &str, csrf: &str) -> Result<Option<String>, service::ApiError> {
    let Some(t) = state.store.terminal(device_id)? else { return Ok(None) };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let alerts: Vec<_> =
        state.store.alerts(10_000)?.into_iter().filter(|a| a.device_id == device_id).take(20).collect();
    let open_here: Vec<_> = alerts.iter().filter(|a| a.cleared_at.is_none()).collect();
    let status = telemetry::status_of(state, &t, &open_here, now);
    let this_hour = now.div_euclid(3600);
    let (mut sessions, mut backlog) = ([0i64; 24], [0i64; 24]);
    for b in state.store.hourly(device_id, this_hour - 23)? {
        if let Ok(i) = usize::try_from(b.hour - (this_hour - 23)) {
            if i < 24 {
                sessions[i] = b.sessions;
                backlog[i] = b.backlog_max;
            }
        }
    }
    let hb: Option<crate::api::Heartbeat> = t.heartbeat_json.as_deref().and_then(|j| serde_json::from_str(j).ok());
    let health = hb.map_or("no heartbeat yet".to_owned(), |h| {
        let v = |x: serde_json::Result<serde_json::Value>| x.ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        format!(
            "reader {} · printer {} · camera {} · outbox {} items, oldest {} s · uptime {} s · disk free {} MB · clock offset {} ms",
            v(serde_json::to_value(h.devices.reader)),
            v(serde_json::to_value(h.devices.printer)),
            v(serde_json::to_value(h.devices.camera)),
            h.outbox.depth,
            h.outbox.oldest_age_s,
            h.uptime_s,
            h.disk_free_bytes / 1_000_000,
            h.clock_offset_ms
        )
    });
    let mut events = String::new();
    for e in state.store.recent_events(device_id, 50)? {
        let _ = write!(
            events,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            fmt_time(e.at),
            esc(&e.severity),
            esc(&e.kind),
            esc(e.detail.as_deref().unwrap_or(""))
        );
    }
    let mut alert_rows = String::new();
    for a in &alerts {
        let _ = write!(
            alert_rows,
            "<tr><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
            fmt_time(a.opened_at),
            if a.cleared_at.is_none() { "open" } else { "" },
            esc(&a.kind),
            esc(&a.detail),
            a.cleared_at.map_or("open".into(), fmt_time)
        );
    }
    Ok(Some(format!(
        r#"<h1>{id} {badge}</h1><p>Last heartbeat {seen} · {health}</p><p>Sessions {s} · failures {f} · heartbeats {h}</p>
<div class="cards">{c1}{c2}</div>
<h2>Alerts</h2><table id="alerts"><thead><tr><th>Opened</th><th>Kind</th><th>Detail</th><th>Cleared</th></tr></thead><tbody>{alert_rows}</tbody></table>
<h2>Recent events</h2><table id="events"><thead><tr><th>At</th><th>Severity</th><th>Kind</th><th>Detail</th></tr></thead><tbody>{events}</tbody></table>
{retire}"#,
        retire = if t.device.revoked_at.is_some() {
            String::new()
        } else {
            format!(
                r#"<h2>Retire</h2><form id="decommission" method="post" action="/ops/terminals/{id}/decommission"
 onsubmit="return confirm('Decommission {id}? Its certificate is refused at once and whatever its outbox still holds is never delivered.')">
<input type="hidden" name="csrf" value="{csrf}">
<p>Its certificate is refused at once; the terminal shows an out-of-service screen. Re-enrolling the hardware with a new token gives it a new identity; this one's history stays here.</p>
<button>Decommission this terminal</button></form>"#,
                id = esc(device_id),
                csrf = esc(csrf)
            )
        },
        id = esc(device_id),
        badge = status_cell(status, &t, &open_here, now),
        seen = ago(now, t.last_seen),
        health = esc(&health),
        s = t.sessions_total,
        f = t.failures_total,
        h = t.heartbeats_total,
        c1 = chart("Sessions per hour", &sessions, false),
        c2 = chart("Outbox backlog (max per hour)", &backlog, true),
    )))
}

fn fmt_time(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

async fn alerts(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = user(&state, &headers) {
        return r;
    }
    let list = match state.store.alerts(500) {
        Ok(l) => l,
        Err(e) => return crate::http::problem_response(&crate::http::error_problem(&e.into())),
    };
    let mut rows = String::new();
    for a in &list {
        let open = a.cleared_at.is_none();
        let _ = write!(
            rows,
            r#"<tr data-kind="{kind}" data-open="{open}" data-device="{id}"><td>{at}</td><td><a href="/ops/terminals/{id}">{id}</a></td><td class="{cls}">{kind}</td><td>{detail}</td><td>{cleared}</td></tr>"#,
            at = fmt_time(a.opened_at),
            id = esc(&a.device_id),
            cls = if open { "open" } else { "" },
            kind = esc(&a.kind),
            detail = esc(&a.detail),
            cleared = a.cleared_at.map_or("open".into(), fmt_time),
        );
    }
    let body = format!(
        r#"<h1>Alerts</h1><p>{} open</p><table id="alert-list"><thead><tr><th>Opened</th><th>Terminal</th><th>Kind</th><th>Detail</th><th>Cleared</th></tr></thead><tbody>{rows}</tbody></table>"#,
        list.iter().filter(|a| a.cleared_at.is_none()).count()
    );
    page(&state, &headers, "Alerts", &body)
}

/// `GET /ops/access`: who looked up whom in the registry (ID numbers masked).
async fn access(State(state): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(r) = user(&state, &headers) {
        return r;
    }
    let list = match state.store.recent_registry_access(500) {
        Ok(l) => l,
        Err(e) => return crate::http::problem_response(&crate::http::error_problem(&e.into())),
    };
    let mut rows = String::new();
    for a in &list {
        let _ = write!(
            rows,
            r#"<tr data-device="{id}" data-outcome="{outcome}"><td>{at}</td><td><a href="/ops/terminals/{id}">{id}</a></td><td>{subject}</td><td>{purpose}</td><td>{outcome}</td></tr>"#,
            at = fmt_time(a.at),
            id = esc(&a.device_id),
            subject = esc(&a.subject_masked),
            purpose = esc(&a.purpose),
            outcome = esc(&a.outcome),
        );
    }
    let body = format!(
        r#"<h1>Registry lookups</h1><p>The latest {} lookups of citizens' records by terminals, newest first.</p><table id="access-list"><thead><tr><th>At</th><th>Terminal</th><th>Person (masked)</th><th>For</th><th>Outcome</th></tr></thead><tbody>{rows}</tbody></table>"#,
        list.len()
    );
    page(&state, &headers, "Registry lookups", &body)
}

/// `GET /verify/{code}`: the public page behind the printed QR code.
pub async fn verify_page(State(state): State<Shared>, Path(code): Path<String>) -> Response {
    let found = match service::certificate_for_code(&state, &code) {
        Ok(f) => f,
        Err(e) => return crate::http::problem_response(&crate::http::error_problem(&e)),
    };
    let wrap = |status: StatusCode, inner: String| {
        (status, Html(format!(
            r#"<!doctype html><html lang="zh"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>证明核验 Certificate check</title></head><body style="font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem">{inner}</body></html>"#
        )))
            .into_response()
    };
    let Some((cert, valid)) = found else {
        return wrap(
            StatusCode::NOT_FOUND,
            "<h1>未找到证明 · Certificate not found</h1><p>No certificate has this verification code.</p>".into(),
        );
    };
    let b = &cert.body;
    // Public page: the name is masked too (first character kept).
    let name: String = b.holder.name.chars().enumerate().map(|(i, c)| if i == 0 { c } else { '*' }).collect();
    let verdict = if valid {
        r#"<p id="verdict" data-valid="true" style="color:#1f8f4e;font-weight:600">✔ 真实有效 · Genuine: the signature matches.</p>"#
    } else {
        r#"<p id="verdict" data-valid="false" style="color:#c62828;font-weight:600">✘ 签名无效 · Signature does not match.</p>"#
    };
    let kind = serde_json::to_value(b.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
    wrap(
        StatusCode::OK,
        format!(
            "<h1>证明核验 · Certificate check</h1>{verdict}<dl><dt>编号 Number</dt><dd>{}</dd><dt>类型 Kind</dt><dd>{}</dd><dt>持有人 Holder</dt><dd>{} ({})</dd><dt>期间 Period</dt><dd>{} – {}</dd><dt>记录 Rows</dt><dd>{}</dd><dt>签发 Issued</dt><dd>{}</dd></dl>",
            esc(&b.number),
            esc(&kind),
            esc(&name),
            esc(&b.holder.id_number_masked),
            esc(&b.period.from),
            esc(&b.period.to),
            b.rows.len(),
            fmt_time(b.issued_at.unix_timestamp())
        ),
    )
}
