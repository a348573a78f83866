//! The back office's review queue (受理—经办—反馈): reviewers (ops users with the
//! `reviewer` role) are handed one pending item at a time, picked at random, and decide
//! it with a reason from a fixed list. Blind: the page shows the face, the liveness
//! evidence and the registry's data, never the terminal or hall it came from. The face
//! is served only to the item's reviewer, never cached, and deleted with the decision.

use std::fmt::Write as _;

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{csrf_field_matches, csrf_of_session, esc, fmt_time, forbidden, page_refreshed, user};
use crate::http::Shared;
use crate::notify::DecisionNotice;
use crate::service::{self, ApiError};
use crate::state::AppState;
use crate::store::{DecideOutcome, ROLE_REVIEWER, ReviewDecision, ReviewItem};

fn failure(e: ApiError) -> Response {
    crate::http::problem_response(&crate::http::error_problem(&e))
}

/// The logged-in user if they are a reviewer; else the login redirect or 403.
fn reviewer(state: &AppState, headers: &HeaderMap) -> Result<String, Response> {
    let name = user(state, headers)?;
    match state.store.user_role(&name) {
        Ok(Some(role)) if role == ROLE_REVIEWER => Ok(name),
        Ok(_) => Err(forbidden("The review queue is for reviewers: `central user add --role reviewer NAME`.")),
        Err(e) => Err(failure(e.into())),
    }
}

/// `GET /ops/review`: the reviewer's current item, or a new one assigned now.
pub(super) async fn queue(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let who = match reviewer(&state, &headers) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let csrf = csrf_of_session(&headers);
    let st = state.clone();
    let rendered = tokio::task::spawn_blocking(move || render(&st, &who, &csrf)).await;
    match rendered {
        // Not refreshed in place: the reviewer is choosing a reason in its form.
        Ok(Ok(body)) => page_refreshed(&state, &headers, "Review", &body, false),
        Ok(Err(e)) => failure(e),
        Err(e) => failure(ApiError::Internal(e.to_string())),
    }
}

fn render(state: &AppState, who: &str, csrf: &str) -> Result<String, ApiError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let item = state.store.assign_review(who, now)?;
    let (waiting, assigned) = state.store.review_counts()?;
    let counts = format!(
        r#"<p id="review-counts" data-waiting="{waiting}" data-assigned="{assigned}">{waiting} waiting for a reviewer, {assigned} assigned and undecided.</p>"#
    );
    let Some(item) = item else {
        return Ok(format!(r#"<h1>Review</h1>{counts}<p id="review-empty">Nothing to review.</p>"#));
    };
    Ok(format!("<h1>Review</h1>{counts}{}", render_item(state, &item, csrf, now)?))
}

fn render_item(state: &AppState, item: &ReviewItem, csrf: &str, now: i64) -> Result<String, ApiError> {
    let person = state.store.person(&item.id_number)?;
    let registry = match &person {
        Some(p) => {
            let today = crate::calendar::china_date(
                OffsetDateTime::from_unix_timestamp(now).unwrap_or(OffsetDateTime::UNIX_EPOCH),
            );
            let age = service::age_on(&p.birth_date, today).map_or("unknown".to_owned(), |a| a.to_string());
            format!(
                r#"<dl id="registry"><dt>Name</dt><dd>{}</dd><dt>ID number</dt><dd>{}</dd><dt>Age</dt><dd>{age}</dd><dt>Pension status</dt><dd>{}</dd></dl>"#,
                esc(&p.name),
                esc(&crate::api::mask_id_number(&p.id_number)),
                esc(&p.pension_status),
            )
        }
        None => format!(
            r#"<p id="registry">Not in the registry (ID number {}).</p>"#,
            esc(&crate::api::mask_id_number(&item.id_number))
        ),
    };
    let evidence = match item.liveness_json.as_deref().map(serde_json::from_str::<crate::api::LivenessEvidence>) {
        Some(Ok(l)) => format!(
            r#"<dl id="liveness"><dt>Liveness method</dt><dd>{}</dd><dt>Score</dt><dd>{:.2}</dd><dt>Passed</dt><dd>{}</dd><dt>Frames judged</dt><dd>{}</dd><dt>Head yaw (left / right)</dt><dd>{} / {}</dd><dt>Steps completed</dt><dd>{}</dd></dl>"#,
            esc(&l.method),
            l.score,
            if l.passed { "yes" } else { "no" },
            l.frames,
            l.max_left_yaw_deg.map_or("–".to_owned(), |d| format!("{d:.0}°")),
            l.max_right_yaw_deg.map_or("–".to_owned(), |d| format!("{d:.0}°")),
            l.steps.len(),
        ),
        Some(Err(_)) => r#"<p id="liveness">The liveness evidence is unreadable.</p>"#.to_owned(),
        None => String::new(),
    };
    let face = if item.kind == "qualification_check" {
        format!(
            r#"<figure><img id="face" src="/ops/review/{t}/face" alt="Face capture" style="max-width:320px;border:1px solid #ccc"><figcaption>Face captured at the terminal</figcaption></figure>"#,
            t = esc(&item.tracking_number)
        )
    } else {
        String::new()
    };
    let mut options = String::new();
    for (code, decision, label) in crate::review::REASONS {
        let _ =
            write!(options, r#"<option value="{code}" data-decision="{decision}">{decision}: {}</option>"#, esc(label));
    }
    Ok(format!(
        r#"<section id="review-item" data-tracking="{t}" data-kind="{kind}">
<h2>{kind_label} {t}</h2><p>Submitted {submitted} · decide by {deadline} · assigned to you {assigned}{why}</p>
{face}{evidence}{registry}
<form id="decision" method="post" action="/ops/review/{t}/decision">
<input type="hidden" name="csrf" value="{csrf}">
<label>Decision and reason <select name="reason" required>{options}</select></label>
<button type="submit">Record the decision</button></form></section>"#,
        t = esc(&item.tracking_number),
        kind = esc(&item.kind),
        kind_label =
            if item.kind == "qualification_check" { "Qualification check" } else { "Employment subsidy (4050)" },
        submitted = fmt_time(item.submitted_at),
        deadline = esc(&item.deadline),
        assigned = fmt_time(item.assigned_at),
        why = item.pending_reason.as_deref().map(|r| format!(" · left for review: {}", esc(r))).unwrap_or_default(),
        csrf = esc(csrf),
    ))
}

/// `GET /ops/review/{tracking}/face`: the decrypted face, to the item's reviewer only,
/// while it is undecided; never stored by the browser.
pub(super) async fn face(State(state): State<Shared>, headers: HeaderMap, Path(tracking): Path<String>) -> Response {
    let who = match reviewer(&state, &headers) {
        Ok(w) => w,
        Err(r) => return r,
    };
    let st = state.clone();
    let found = tokio::task::spawn_blocking(move || -> Result<Option<Vec<u8>>, ApiError> {
        match st.store.review_item(&tracking)? {
            Some(item) if item.reviewer == who && item.decided_at.is_none() => service::stored_face(&st, &tracking),
            _ => Ok(None),
        }
    })
    .await;
    match found {
        Ok(Ok(Some(jpeg))) => (
            [(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store"), (header::PRAGMA, "no-cache")],
            jpeg,
        )
            .into_response(),
        Ok(Ok(None)) => (StatusCode::NOT_FOUND, [(header::CACHE_CONTROL, "no-store")], "no such face").into_response(),
        Ok(Err(e)) => failure(e),
        Err(e) => failure(ApiError::Internal(e.to_string())),
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct DecisionForm {
    csrf: String,
    reason: String,
}

/// `POST /ops/review/{tracking}/decision`: records the decision (the application's
/// status changes, its face is deleted), then notifies the citizen if they gave a phone.
pub(super) async fn decide(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(tracking): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let who = match reviewer(&state, &headers) {
        Ok(w) => w,
        Err(r) => return r,
    };
    if !csrf_field_matches(&headers, &form.csrf) {
        return forbidden("The form is out of date or came from elsewhere (CSRF check failed). Reload the page.");
    }
    let Some(decision) = crate::review::decision_of(&form.reason) else {
        return (StatusCode::UNPROCESSABLE_ENTITY, Html("<h1>Unknown reason</h1>".to_owned())).into_response();
    };
    let d = ReviewDecision {
        tracking_number: tracking.clone(),
        reviewer: who.clone(),
        decision: decision.to_owned(),
        reason: form.reason.clone(),
        at: OffsetDateTime::now_utc().unix_timestamp(),
    };
    let st = state.clone();
    let outcome = match tokio::task::spawn_blocking(move || st.store.decide_review(&d)).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => return failure(e.into()),
        Err(e) => return failure(ApiError::Internal(e.to_string())),
    };
    match outcome {
        DecideOutcome::Decided { phone } => {
            tracing::info!(tracking_number = %tracking, by = %who, decision, reason = %form.reason, "review decided");
            if let Some(phone) = phone {
                let notice = DecisionNotice {
                    tracking_number: tracking.clone(),
                    decision: decision.to_owned(),
                    reason: form.reason.clone(),
                    phone,
                };
                let notifier = state.notifier.clone();
                match tokio::task::spawn_blocking(move || notifier.decision(&notice)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(tracking_number = %tracking, error = %e, "decision notice failed"),
                    Err(e) => tracing::warn!(tracking_number = %tracking, error = %e, "decision notice failed"),
                }
            }
            Redirect::to("/ops/review").into_response()
        }
        // A form sent twice: the first one counted.
        DecideOutcome::AlreadyDecided => Redirect::to("/ops/review").into_response(),
        DecideOutcome::NotAssigned => forbidden("This item is not assigned to you."),
    }
}
