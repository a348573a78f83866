//! Releases, rollouts and update outcomes on PostgreSQL. Starting a rollout takes a
//! transaction-scoped advisory lock per architecture, so two operators starting one at
//! two instances at once each supersede what was current before them, in turn, instead
//! of one failing on the "one current rollout" index.

use deadpool_postgres::{Client, GenericClient};
use tokio_postgres::Row;

use super::{LOCK_ROLLOUT, execute, query, query_opt};
use crate::store::{
    ROLLOUT_ACTIVE, ROLLOUT_PAUSED, ROLLOUT_SUPERSEDED, ReleaseRecord, Rollout, StoreError, StoreResult, UpdateOutcome,
};

const RELEASE_COLS: &str = "package, version, architecture, sha256, size, signed_release_json, published_at";
const ROLLOUT_COLS: &str = "id, version, architecture, percent, devices, state, created_at, updated_at";
const OUTCOME_COLS: &str = "device_id, version, outcome, reason, at";

fn release_from_row(r: &Row) -> StoreResult<ReleaseRecord> {
    Ok(ReleaseRecord {
        package: r.try_get(0)?,
        version: r.try_get(1)?,
        architecture: r.try_get(2)?,
        sha256: r.try_get(3)?,
        size: r.try_get(4)?,
        signed_release_json: r.try_get(5)?,
        published_at: r.try_get(6)?,
    })
}

fn rollout_from_row(r: &Row) -> StoreResult<Rollout> {
    let id: i64 = r.try_get(0)?;
    let devices: Option<String> = r.try_get(4)?;
    let devices = devices
        .map(|j| serde_json::from_str::<Vec<String>>(&j))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("rollout {id} devices: {e}")))?;
    Ok(Rollout {
        id,
        version: r.try_get(1)?,
        architecture: r.try_get(2)?,
        percent: r.try_get(3)?,
        devices,
        state: r.try_get(5)?,
        created_at: r.try_get(6)?,
        updated_at: r.try_get(7)?,
    })
}

fn outcome_from_row(r: &Row) -> StoreResult<UpdateOutcome> {
    Ok(UpdateOutcome {
        device_id: r.try_get(0)?,
        version: r.try_get(1)?,
        outcome: r.try_get(2)?,
        reason: r.try_get(3)?,
        at: r.try_get(4)?,
    })
}

pub(super) async fn insert_release<C: GenericClient>(c: &C, r: &ReleaseRecord) -> StoreResult<bool> {
    let n = execute(
        c,
        &format!("INSERT INTO releases({RELEASE_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING"),
        &[&r.package, &r.version, &r.architecture, &r.sha256, &r.size, &r.signed_release_json, &r.published_at],
    )
    .await?;
    Ok(n == 1)
}

pub(super) async fn release<C: GenericClient>(
    c: &C,
    version: &str,
    architecture: &str,
) -> StoreResult<Option<ReleaseRecord>> {
    let sql = format!(
        "SELECT {RELEASE_COLS} FROM releases WHERE version = $1 AND architecture = $2
         ORDER BY published_at DESC, package LIMIT 1"
    );
    query_opt(c, &sql, &[&version, &architecture]).await?.as_ref().map(release_from_row).transpose()
}

pub(super) async fn release_by_sha256<C: GenericClient>(c: &C, sha256: &str) -> StoreResult<Option<ReleaseRecord>> {
    let sql = format!("SELECT {RELEASE_COLS} FROM releases WHERE sha256 = $1 LIMIT 1");
    query_opt(c, &sql, &[&sha256]).await?.as_ref().map(release_from_row).transpose()
}

pub(super) async fn start_rollout(
    c: &mut Client,
    version: &str,
    architecture: &str,
    percent: Option<i64>,
    devices: Option<String>,
    now: i64,
) -> StoreResult<i64> {
    let tx = c.transaction().await?;
    execute(&tx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", &[&LOCK_ROLLOUT, &architecture]).await?;
    execute(
        &tx,
        "UPDATE rollouts SET state = $3, updated_at = $2 WHERE architecture = $1 AND state IN ($4, $5)",
        &[&architecture, &now, &ROLLOUT_SUPERSEDED, &ROLLOUT_ACTIVE, &ROLLOUT_PAUSED],
    )
    .await?;
    let row = query_opt(
        &tx,
        "INSERT INTO rollouts(version, architecture, percent, devices, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        &[&version, &architecture, &percent, &devices, &ROLLOUT_ACTIVE, &now],
    )
    .await?
    .ok_or_else(|| StoreError::Conflict("the new rollout returned no id".into()))?;
    let id: i64 = row.try_get(0)?;
    tx.commit().await?;
    Ok(id)
}

pub(super) async fn set_rollout_state<C: GenericClient>(
    c: &C,
    id: i64,
    from: &str,
    to: &str,
    now: i64,
) -> StoreResult<bool> {
    let n = execute(
        c,
        "UPDATE rollouts SET state = $3, updated_at = $4 WHERE id = $1 AND state = $2",
        &[&id, &from, &to, &now],
    )
    .await?;
    Ok(n == 1)
}

pub(super) async fn widen_rollout<C: GenericClient>(c: &C, id: i64, percent: i64, now: i64) -> StoreResult<bool> {
    let n = execute(
        c,
        "UPDATE rollouts SET percent = $2, updated_at = $3 WHERE id = $1 AND percent < $2 AND state IN ($4, $5)",
        &[&id, &percent, &now, &ROLLOUT_ACTIVE, &ROLLOUT_PAUSED],
    )
    .await?;
    Ok(n == 1)
}

pub(super) async fn rollout_by_id<C: GenericClient>(c: &C, id: i64) -> StoreResult<Option<Rollout>> {
    let sql = format!("SELECT {ROLLOUT_COLS} FROM rollouts WHERE id = $1");
    query_opt(c, &sql, &[&id]).await?.as_ref().map(rollout_from_row).transpose()
}

pub(super) async fn rollouts<C: GenericClient>(c: &C) -> StoreResult<Vec<Rollout>> {
    let sql = format!("SELECT {ROLLOUT_COLS} FROM rollouts ORDER BY id DESC");
    query(c, &sql, &[]).await?.iter().map(rollout_from_row).collect()
}

pub(super) async fn active_rollout<C: GenericClient>(c: &C, architecture: &str) -> StoreResult<Option<Rollout>> {
    let sql = format!("SELECT {ROLLOUT_COLS} FROM rollouts WHERE architecture = $1 AND state = $2");
    query_opt(c, &sql, &[&architecture, &ROLLOUT_ACTIVE]).await?.as_ref().map(rollout_from_row).transpose()
}

pub(super) async fn record_outcome<C: GenericClient>(c: &C, o: &UpdateOutcome) -> StoreResult<()> {
    execute(
        c,
        &format!(
            "INSERT INTO update_outcomes({OUTCOME_COLS}) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT(device_id, version) DO UPDATE SET outcome = $3, reason = $4, at = $5
             WHERE update_outcomes.at <= EXCLUDED.at"
        ),
        &[&o.device_id, &o.version, &o.outcome, &o.reason, &o.at],
    )
    .await?;
    Ok(())
}

pub(super) async fn outcome<C: GenericClient>(
    c: &C,
    device_id: &str,
    version: &str,
) -> StoreResult<Option<UpdateOutcome>> {
    let sql = format!("SELECT {OUTCOME_COLS} FROM update_outcomes WHERE device_id = $1 AND version = $2");
    query_opt(c, &sql, &[&device_id, &version]).await?.as_ref().map(outcome_from_row).transpose()
}

pub(super) async fn outcomes<C: GenericClient>(c: &C, version: &str) -> StoreResult<Vec<UpdateOutcome>> {
    let sql = format!("SELECT {OUTCOME_COLS} FROM update_outcomes WHERE version = $1 ORDER BY at DESC, device_id");
    query(c, &sql, &[&version]).await?.iter().map(outcome_from_row).collect()
}
