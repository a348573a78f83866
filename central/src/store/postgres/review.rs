//! The back office on PostgreSQL, where reviewers work at several instances: an item is
//! assigned by one `INSERT ... ON CONFLICT DO NOTHING` (of two reviewers picking it at
//! once, the second inserts nothing and picks again), and decided under the review
//! row's lock (a form sent twice, to two instances, decides once).

use deadpool_postgres::{Client, GenericClient};
use tokio_postgres::Row;

use super::{execute, query_one, query_opt};
use crate::store::{DecideOutcome, REVIEWABLE, ReviewDecision, ReviewItem, ReviewMaterial, StoreResult};

const ITEM_SQL: &str = "SELECT a.tracking_number, a.kind, a.status, a.id_number, a.submitted_at, a.deadline,
        r.reviewer, r.assigned_at, m.pending_reason, m.liveness, r.decision, r.reason, r.decided_at
     FROM reviews r JOIN applications a ON a.tracking_number = r.tracking_number
     LEFT JOIN review_material m ON m.tracking_number = r.tracking_number";

/// Picks that lost a race with another reviewer, before giving up for this call.
const ASSIGN_ATTEMPTS: usize = 5;

fn item_from_row(r: &Row) -> Result<ReviewItem, tokio_postgres::Error> {
    Ok(ReviewItem {
        tracking_number: r.try_get(0)?,
        kind: r.try_get(1)?,
        status: r.try_get(2)?,
        id_number: r.try_get(3)?,
        submitted_at: r.try_get(4)?,
        deadline: r.try_get(5)?,
        reviewer: r.try_get(6)?,
        assigned_at: r.try_get(7)?,
        pending_reason: r.try_get(8)?,
        liveness_json: r.try_get(9)?,
        decision: r.try_get(10)?,
        reason: r.try_get(11)?,
        decided_at: r.try_get(12)?,
    })
}

pub(super) async fn insert_material<C: GenericClient>(c: &C, m: &ReviewMaterial) -> StoreResult<()> {
    execute(
        c,
        "INSERT INTO review_material(tracking_number, pending_reason, liveness, phone) VALUES ($1, $2, $3, $4)",
        &[&m.tracking_number, &m.pending_reason, &m.liveness_json, &m.phone],
    )
    .await?;
    Ok(())
}

pub(super) async fn item<C: GenericClient>(c: &C, tracking_number: &str) -> StoreResult<Option<ReviewItem>> {
    let sql = format!("{ITEM_SQL} WHERE r.tracking_number = $1");
    match query_opt(c, &sql, &[&tracking_number]).await? {
        Some(row) => Ok(Some(item_from_row(&row)?)),
        None => Ok(None),
    }
}

pub(super) async fn assign(c: &Client, reviewer: &str, now: i64) -> StoreResult<Option<ReviewItem>> {
    let current = query_opt(
        c,
        "SELECT tracking_number FROM reviews WHERE reviewer = $1 AND decided_at IS NULL ORDER BY assigned_at LIMIT 1",
        &[&reviewer],
    )
    .await?;
    if let Some(row) = current {
        let tracking: String = row.try_get(0)?;
        return item(c, &tracking).await;
    }
    let pick = format!(
        "SELECT a.tracking_number FROM applications a
         WHERE {REVIEWABLE} AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.tracking_number = a.tracking_number)
         ORDER BY random() LIMIT 1"
    );
    for _ in 0..ASSIGN_ATTEMPTS {
        let Some(row) = query_opt(c, &pick, &[]).await? else { return Ok(None) };
        let tracking: String = row.try_get(0)?;
        let taken = execute(
            c,
            "INSERT INTO reviews(tracking_number, reviewer, assigned_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            &[&tracking, &reviewer, &now],
        )
        .await?;
        if taken == 1 {
            return item(c, &tracking).await;
        }
    }
    Ok(None)
}

pub(super) async fn decide(c: &mut Client, d: &ReviewDecision) -> StoreResult<DecideOutcome> {
    let tx = c.transaction().await?;
    let assigned = query_opt(
        &tx,
        "SELECT reviewer, decided_at FROM reviews WHERE tracking_number = $1 FOR UPDATE",
        &[&d.tracking_number],
    )
    .await?;
    let Some(row) = assigned else { return Ok(DecideOutcome::NotAssigned) };
    let (reviewer, decided_at): (String, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
    if reviewer != d.reviewer {
        return Ok(DecideOutcome::NotAssigned);
    }
    if decided_at.is_some() {
        return Ok(DecideOutcome::AlreadyDecided);
    }
    let phone: Option<String> =
        match query_opt(&tx, "SELECT phone FROM review_material WHERE tracking_number = $1", &[&d.tracking_number])
            .await?
        {
            Some(row) => row.try_get(0)?,
            None => None,
        };
    execute(
        &tx,
        "UPDATE reviews SET decision = $2, reason = $3, decided_at = $4 WHERE tracking_number = $1",
        &[&d.tracking_number, &d.decision, &d.reason, &d.at],
    )
    .await?;
    execute(
        &tx,
        &format!("UPDATE applications AS a SET status = $2 WHERE a.tracking_number = $1 AND {REVIEWABLE}"),
        &[&d.tracking_number, &d.decision],
    )
    .await?;
    // Retention: the face (and what else the reviewer saw) goes with the decision.
    execute(&tx, "DELETE FROM face_images WHERE tracking_number = $1", &[&d.tracking_number]).await?;
    execute(&tx, "DELETE FROM review_material WHERE tracking_number = $1", &[&d.tracking_number]).await?;
    tx.commit().await?;
    Ok(DecideOutcome::Decided { phone })
}

pub(super) async fn counts<C: GenericClient>(c: &C) -> StoreResult<(i64, i64)> {
    let waiting: i64 = query_one(
        c,
        &format!(
            "SELECT count(*) FROM applications a WHERE {REVIEWABLE}
               AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.tracking_number = a.tracking_number)"
        ),
        &[],
    )
    .await?
    .try_get(0)?;
    let assigned: i64 = query_one(c, "SELECT count(*) FROM reviews WHERE decided_at IS NULL", &[]).await?.try_get(0)?;
    Ok((waiting, assigned))
}
