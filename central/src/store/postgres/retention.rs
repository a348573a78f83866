//! The retention sweep's deletions, all in one transaction as in the SQLite store. Each
//! instance runs the sweep on its own timer; an advisory lock makes concurrent sweeps
//! take turns, so each count in the report is what that sweep removed.

use deadpool_postgres::{Client, GenericClient};

use super::{LOCK_RETENTION, count, execute, query};
use crate::store::{RetentionCutoffs, RetentionReport, StoreResult};

/// Statuses after which nothing about an application changes any more.
const FINAL_STATUSES: &str = "('approved', 'rejected', 'completed')";

pub(super) async fn enforce(c: &mut Client, cut: &RetentionCutoffs) -> StoreResult<RetentionReport> {
    let tx = c.transaction().await?;
    // A large backlog may take a while to delete, and another instance's sweep a while
    // to finish: neither is a reason to give up.
    tx.batch_execute(super::NO_TIMEOUTS).await?;
    execute(&tx, "SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_RETENTION]).await?;
    // A check decided on submission has its submission time as its decision time; one
    // decided in the back office loses its face in the decision's own transaction
    // (`review::decide`), so this sweep only catches what that did not.
    let decided_faces = execute(
        &tx,
        &format!(
            "DELETE FROM face_images WHERE tracking_number IN (SELECT tracking_number FROM applications
               WHERE status IN {FINAL_STATUSES} AND submitted_at < $1)"
        ),
        &[&cut.faces_decided_before],
    )
    .await?;
    let old_faces = execute(
        &tx,
        "DELETE FROM face_images WHERE tracking_number NOT IN (SELECT tracking_number FROM applications
           WHERE submitted_at >= $1)",
        &[&cut.faces_any_before],
    )
    .await?;
    let txr = &tx;
    let del = move |sql: &'static str, cutoff: i64| async move { execute(txr, sql, &[&cutoff]).await.map(count) };
    let report = RetentionReport {
        face_images: count(decided_faces + old_faces),
        certificates: del("DELETE FROM certificates WHERE issued_at < $1", cut.certificates_before).await?,
        id_numbers_masked: mask_id_numbers(&tx, cut.id_numbers_before).await?,
        registry_access: del("DELETE FROM registry_access WHERE at < $1", cut.registry_access_before).await?,
        events: del("DELETE FROM events WHERE received_at < $1", cut.telemetry_before).await?,
        alerts: del("DELETE FROM alerts WHERE cleared_at IS NOT NULL AND cleared_at < $1", cut.telemetry_before)
            .await?,
        hourly: del("DELETE FROM terminal_hourly WHERE hour < $1", cut.telemetry_before.div_euclid(3600)).await?,
        audit: del("DELETE FROM audit WHERE at < $1", cut.audit_before).await?,
        sessions: del("DELETE FROM ops_sessions WHERE expires_at <= $1", cut.now).await?,
        tokens: del("DELETE FROM enrollment_tokens WHERE expires_at < $1", cut.telemetry_before).await?,
    };
    tx.commit().await?;
    Ok(report)
}

/// Replaces the raw ID number of finished applications submitted before `before` by its
/// masked form (`4501**********0032`), which is all the office needs to keep. The
/// masking rule is Rust's (`api::mask_id_number`), so rows are read, masked and written.
async fn mask_id_numbers<C: GenericClient>(c: &C, before: i64) -> StoreResult<usize> {
    let raw = query(
        c,
        &format!(
            "SELECT tracking_number, id_number FROM applications
             WHERE status IN {FINAL_STATUSES} AND submitted_at < $1 AND strpos(id_number, '*') = 0 FOR UPDATE"
        ),
        &[&before],
    )
    .await?;
    for row in &raw {
        let (tracking, id_number): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        execute(
            c,
            "UPDATE applications SET id_number = $2 WHERE tracking_number = $1",
            &[&tracking, &crate::api::mask_id_number(&id_number)],
        )
        .await?;
    }
    Ok(raw.len())
}
