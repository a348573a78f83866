//! The back office on SQLite: assignment, the decision and its deletions. One writer,
//! so "assign once" and "decide once" are each one transaction.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{DecideOutcome, REVIEWABLE, ReviewDecision, ReviewItem, ReviewMaterial, StoreResult};

const ITEM_SQL: &str = "SELECT a.tracking_number, a.kind, a.status, a.id_number, a.submitted_at, a.deadline,
        r.reviewer, r.assigned_at, m.pending_reason, m.liveness, r.decision, r.reason, r.decided_at
     FROM reviews r JOIN applications a ON a.tracking_number = r.tracking_number
     LEFT JOIN review_material m ON m.tracking_number = r.tracking_number";

fn item_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReviewItem> {
    Ok(ReviewItem {
        tracking_number: r.get(0)?,
        kind: r.get(1)?,
        status: r.get(2)?,
        id_number: r.get(3)?,
        submitted_at: r.get(4)?,
        deadline: r.get(5)?,
        reviewer: r.get(6)?,
        assigned_at: r.get(7)?,
        pending_reason: r.get(8)?,
        liveness_json: r.get(9)?,
        decision: r.get(10)?,
        reason: r.get(11)?,
        decided_at: r.get(12)?,
    })
}

pub(super) fn insert_material(c: &Connection, m: &ReviewMaterial) -> StoreResult<()> {
    c.execute(
        "INSERT INTO review_material(tracking_number, pending_reason, liveness, phone) VALUES (?1, ?2, ?3, ?4)",
        params![m.tracking_number, m.pending_reason, m.liveness_json, m.phone],
    )?;
    Ok(())
}

pub(super) fn item(c: &Connection, tracking_number: &str) -> StoreResult<Option<ReviewItem>> {
    Ok(c.query_row(&format!("{ITEM_SQL} WHERE r.tracking_number = ?1"), [tracking_number], item_from_row).optional()?)
}

pub(super) fn assign(c: &mut Connection, reviewer: &str, now: i64) -> StoreResult<Option<ReviewItem>> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let current: Option<String> = tx
        .query_row(
            "SELECT tracking_number FROM reviews WHERE reviewer = ?1 AND decided_at IS NULL
             ORDER BY assigned_at LIMIT 1",
            [reviewer],
            |r| r.get(0),
        )
        .optional()?;
    let tracking = match current {
        Some(t) => Some(t),
        None => {
            let picked: Option<String> = tx
                .query_row(
                    &format!(
                        "SELECT a.tracking_number FROM applications a
                         WHERE {REVIEWABLE}
                           AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.tracking_number = a.tracking_number)
                         ORDER BY random() LIMIT 1"
                    ),
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(t) = &picked {
                tx.execute(
                    "INSERT INTO reviews(tracking_number, reviewer, assigned_at) VALUES (?1, ?2, ?3)",
                    params![t, reviewer, now],
                )?;
            }
            picked
        }
    };
    let found = match tracking {
        Some(t) => item(&tx, &t)?,
        None => None,
    };
    tx.commit()?;
    Ok(found)
}

pub(super) fn decide(c: &mut Connection, d: &ReviewDecision) -> StoreResult<DecideOutcome> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let assigned: Option<(String, Option<i64>)> = tx
        .query_row("SELECT reviewer, decided_at FROM reviews WHERE tracking_number = ?1", [&d.tracking_number], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    match assigned {
        Some((reviewer, _)) if reviewer != d.reviewer => return Ok(DecideOutcome::NotAssigned),
        None => return Ok(DecideOutcome::NotAssigned),
        Some((_, Some(_))) => return Ok(DecideOutcome::AlreadyDecided),
        Some((_, None)) => {}
    }
    let phone: Option<String> = tx
        .query_row("SELECT phone FROM review_material WHERE tracking_number = ?1", [&d.tracking_number], |r| r.get(0))
        .optional()?
        .flatten();
    tx.execute(
        "UPDATE reviews SET decision = ?2, reason = ?3, decided_at = ?4 WHERE tracking_number = ?1",
        params![d.tracking_number, d.decision, d.reason, d.at],
    )?;
    tx.execute(
        &format!("UPDATE applications AS a SET status = ?2 WHERE a.tracking_number = ?1 AND {REVIEWABLE}"),
        params![d.tracking_number, d.decision],
    )?;
    // Retention: the face (and what else the reviewer saw) goes with the decision.
    tx.execute("DELETE FROM face_images WHERE tracking_number = ?1", [&d.tracking_number])?;
    tx.execute("DELETE FROM review_material WHERE tracking_number = ?1", [&d.tracking_number])?;
    tx.commit()?;
    Ok(DecideOutcome::Decided { phone })
}

pub(super) fn counts(c: &Connection) -> StoreResult<(i64, i64)> {
    let waiting: i64 = c.query_row(
        &format!(
            "SELECT count(*) FROM applications a WHERE {REVIEWABLE}
               AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.tracking_number = a.tracking_number)"
        ),
        [],
        |r| r.get(0),
    )?;
    let assigned: i64 = c.query_row("SELECT count(*) FROM reviews WHERE decided_at IS NULL", [], |r| r.get(0))?;
    Ok((waiting, assigned))
}
