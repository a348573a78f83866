//! The registry access log, and the retention sweep's deletions: every cutoff removes
//! (or, for ID numbers, masks) what is older, all in one transaction.

use rusqlite::{Connection, TransactionBehavior, params};

use crate::store::{RegistryAccess, RetentionCutoffs, RetentionReport, StoreResult};

pub(super) fn insert_access(c: &Connection, a: &RegistryAccess) -> StoreResult<()> {
    c.prepare_cached(
        "INSERT INTO registry_access(at, device_id, subject_masked, purpose, outcome) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![a.at, a.device_id, a.subject_masked, a.purpose, a.outcome])?;
    Ok(())
}

pub(super) fn recent_access(c: &Connection, limit: u32) -> StoreResult<Vec<RegistryAccess>> {
    let mut s = c.prepare_cached(
        "SELECT at, device_id, subject_masked, purpose, outcome FROM registry_access ORDER BY at DESC, id DESC LIMIT ?1",
    )?;
    let rows = s.query_map([limit], |r| {
        Ok(RegistryAccess {
            at: r.get(0)?,
            device_id: r.get(1)?,
            subject_masked: r.get(2)?,
            purpose: r.get(3)?,
            outcome: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Statuses after which nothing about an application changes any more.
const FINAL_STATUSES: &str = "('approved', 'rejected', 'completed')";

pub(super) fn enforce(c: &mut Connection, cut: &RetentionCutoffs) -> StoreResult<RetentionReport> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // A check decided on submission has its submission time as its decision time; one
    // decided in the back office loses its face in the decision's own transaction
    // (`review::decide`), so this sweep only catches what that did not.
    let decided_faces = tx.execute(
        &format!(
            "DELETE FROM face_images WHERE tracking_number IN (SELECT tracking_number FROM applications
               WHERE status IN {FINAL_STATUSES} AND submitted_at < ?1)"
        ),
        [cut.faces_decided_before],
    )?;
    let old_faces = tx.execute(
        "DELETE FROM face_images WHERE tracking_number NOT IN (SELECT tracking_number FROM applications
           WHERE submitted_at >= ?1)",
        [cut.faces_any_before],
    )?;
    let report = RetentionReport {
        face_images: decided_faces + old_faces,
        certificates: tx.execute("DELETE FROM certificates WHERE issued_at < ?1", [cut.certificates_before])?,
        id_numbers_masked: mask_id_numbers(&tx, cut.id_numbers_before)?,
        registry_access: tx.execute("DELETE FROM registry_access WHERE at < ?1", [cut.registry_access_before])?,
        events: tx.execute("DELETE FROM events WHERE received_at < ?1", [cut.telemetry_before])?,
        alerts: tx
            .execute("DELETE FROM alerts WHERE cleared_at IS NOT NULL AND cleared_at < ?1", [cut.telemetry_before])?,
        hourly: tx.execute("DELETE FROM terminal_hourly WHERE hour < ?1", [cut.telemetry_before.div_euclid(3600)])?,
        audit: tx.execute("DELETE FROM audit WHERE at < ?1", [cut.audit_before])?,
        sessions: tx.execute("DELETE FROM ops_sessions WHERE expires_at <= ?1", [cut.now])?,
        tokens: tx.execute("DELETE FROM enrollment_tokens WHERE expires_at < ?1", [cut.telemetry_before])?,
    };
    tx.commit()?;
    Ok(report)
}

/// Replaces the raw ID number of finished applications submitted before `before` by its
/// masked form (`4501**********0032`), which is all the office needs to keep.
fn mask_id_numbers(c: &Connection, before: i64) -> StoreResult<usize> {
    let raw: Vec<(String, String)> = {
        let mut s = c.prepare(&format!(
            "SELECT tracking_number, id_number FROM applications
             WHERE status IN {FINAL_STATUSES} AND submitted_at < ?1 AND instr(id_number, '*') = 0"
        ))?;
        let rows = s.query_map([before], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut update = c.prepare("UPDATE applications SET id_number = ?2 WHERE tracking_number = ?1")?;
    for (tracking, id_number) in &raw {
        update.execute(params![tracking, crate::api::mask_id_number(id_number)])?;
    }
    Ok(raw.len())
}
