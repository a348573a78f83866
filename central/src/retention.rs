//! The retention sweep: deletes face images once a qualification decision is final (or
//! after a maximum age), certificate documents, the registry access log and old fleet
//! records, and masks the raw ID numbers of finished applications, each after the time
//! `ServerConfig::retention` gives it. Runs at start and every `retention_interval`.

use std::time::Duration;

use crate::state::AppState;
use crate::store::{RetentionCutoffs, RetentionReport, StoreError};

/// The cutoffs in force at `now` (Unix seconds) for `retention`.
pub fn cutoffs(retention: &crate::config::Retention, now: i64) -> RetentionCutoffs {
    let before = |kept: Duration| now.saturating_sub(i64::try_from(kept.as_secs()).unwrap_or(i64::MAX));
    RetentionCutoffs {
        faces_decided_before: before(retention.faces_after_decision),
        faces_any_before: before(retention.faces_undecided),
        certificates_before: before(retention.certificates),
        id_numbers_before: before(retention.id_numbers_after_decision),
        registry_access_before: before(retention.registry_access),
        telemetry_before: before(retention.telemetry),
        audit_before: before(retention.audit),
        now,
    }
}

/// One sweep as of `now`; logs what it removed.
pub fn sweep(state: &AppState, now: i64) -> Result<RetentionReport, StoreError> {
    let report = state.store.enforce_retention(&cutoffs(&state.config.retention, now))?;
    if report.total() > 0 {
        tracing::info!(
            face_images = report.face_images,
            certificates = report.certificates,
            id_numbers_masked = report.id_numbers_masked,
            registry_access = report.registry_access,
            events = report.events,
            alerts = report.alerts,
            hourly = report.hourly,
            audit = report.audit,
            sessions = report.sessions,
            tokens = report.tokens,
            "retention sweep removed or masked records past their retention"
        );
    }
    Ok(report)
}
