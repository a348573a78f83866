//! Releases, rollouts and update outcomes on SQLite.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{
    ROLLOUT_ACTIVE, ROLLOUT_PAUSED, ROLLOUT_SUPERSEDED, ReleaseRecord, Rollout, StoreError, StoreResult, UpdateOutcome,
};

const RELEASE_COLS: &str = "package, version, architecture, sha256, size, signed_release_json, published_at";
const ROLLOUT_COLS: &str = "id, version, architecture, percent, devices, state, created_at, updated_at";
const OUTCOME_COLS: &str = "device_id, version, outcome, reason, at";

fn release_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReleaseRecord> {
    Ok(ReleaseRecord {
        package: r.get(0)?,
        version: r.get(1)?,
        architecture: r.get(2)?,
        sha256: r.get(3)?,
        size: r.get(4)?,
        signed_release_json: r.get(5)?,
        published_at: r.get(6)?,
    })
}

/// A rollout row with its device list still JSON (parsed by [`rollout`]).
type RawRollout = (i64, String, String, Option<i64>, Option<String>, String, i64, i64);

fn raw_rollout(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRollout> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
}

pub(super) fn rollout(raw: RawRollout) -> StoreResult<Rollout> {
    let (id, version, architecture, percent, devices, state, created_at, updated_at) = raw;
    let devices = devices
        .map(|j| serde_json::from_str::<Vec<String>>(&j))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("rollout {id} devices: {e}")))?;
    Ok(Rollout { id, version, architecture, percent, devices, state, created_at, updated_at })
}

fn outcome_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UpdateOutcome> {
    Ok(UpdateOutcome { device_id: r.get(0)?, version: r.get(1)?, outcome: r.get(2)?, reason: r.get(3)?, at: r.get(4)? })
}

pub(super) fn insert_release(c: &Connection, r: &ReleaseRecord) -> StoreResult<bool> {
    let n = c.execute(
        &format!("INSERT INTO releases({RELEASE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING"),
        params![r.package, r.version, r.architecture, r.sha256, r.size, r.signed_release_json, r.published_at],
    )?;
    Ok(n == 1)
}

pub(super) fn release(c: &Connection, version: &str, architecture: &str) -> StoreResult<Option<ReleaseRecord>> {
    Ok(c.query_row(
        &format!(
            "SELECT {RELEASE_COLS} FROM releases WHERE version = ?1 AND architecture = ?2
             ORDER BY published_at DESC, package LIMIT 1"
        ),
        params![version, architecture],
        release_from_row,
    )
    .optional()?)
}

pub(super) fn release_by_sha256(c: &Connection, sha256: &str) -> StoreResult<Option<ReleaseRecord>> {
    Ok(c.query_row(
        &format!("SELECT {RELEASE_COLS} FROM releases WHERE sha256 = ?1 LIMIT 1"),
        [sha256],
        release_from_row,
    )
    .optional()?)
}

pub(super) fn start_rollout(
    c: &mut Connection,
    version: &str,
    architecture: &str,
    percent: Option<i64>,
    devices: Option<&[String]>,
    now: i64,
) -> StoreResult<i64> {
    let devices = devices.map(serde_json::to_string).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let tx = c.transaction()?;
    tx.execute(
        "UPDATE rollouts SET state = ?3, updated_at = ?2 WHERE architecture = ?1 AND state IN (?4, ?5)",
        params![architecture, now, ROLLOUT_SUPERSEDED, ROLLOUT_ACTIVE, ROLLOUT_PAUSED],
    )?;
    tx.execute(
        "INSERT INTO rollouts(version, architecture, percent, devices, state, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
        params![version, architecture, percent, devices, ROLLOUT_ACTIVE, now],
    )?;
    let id = tx.last_insert_rowid();
    tx.commit()?;
    Ok(id)
}

pub(super) fn set_rollout_state(c: &Connection, id: i64, from: &str, to: &str, now: i64) -> StoreResult<bool> {
    let n = c.execute(
        "UPDATE rollouts SET state = ?3, updated_at = ?4 WHERE id = ?1 AND state = ?2",
        params![id, from, to, now],
    )?;
    Ok(n == 1)
}

pub(super) fn widen_rollout(c: &Connection, id: i64, percent: i64, now: i64) -> StoreResult<bool> {
    let n = c.execute(
        "UPDATE rollouts SET percent = ?2, updated_at = ?3
         WHERE id = ?1 AND percent < ?2 AND state IN (?4, ?5)",
        params![id, percent, now, ROLLOUT_ACTIVE, ROLLOUT_PAUSED],
    )?;
    Ok(n == 1)
}

pub(super) fn rollout_by_id(c: &Connection, id: i64) -> StoreResult<Option<Rollout>> {
    c.query_row(&format!("SELECT {ROLLOUT_COLS} FROM rollouts WHERE id = ?1"), [id], raw_rollout)
        .optional()?
        .map(rollout)
        .transpose()
}

pub(super) fn rollouts(c: &Connection) -> StoreResult<Vec<Rollout>> {
    let mut stmt = c.prepare(&format!("SELECT {ROLLOUT_COLS} FROM rollouts ORDER BY id DESC"))?;
    let raws = stmt.query_map([], raw_rollout)?.collect::<Result<Vec<_>, _>>()?;
    raws.into_iter().map(rollout).collect()
}

pub(super) fn active_rollout(c: &Connection, architecture: &str) -> StoreResult<Option<Rollout>> {
    c.query_row(
        &format!("SELECT {ROLLOUT_COLS} FROM rollouts WHERE architecture = ?1 AND state = ?2"),
        params![architecture, ROLLOUT_ACTIVE],
        raw_rollout,
    )
    .optional()?
    .map(rollout)
    .transpose()
}

pub(super) fn record_outcome(c: &Connection, o: &UpdateOutcome) -> StoreResult<()> {
    c.execute(
        &format!(
            "INSERT INTO update_outcomes({OUTCOME_COLS}) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(device_id, version) DO UPDATE SET outcome = ?3, reason = ?4, at = ?5
             WHERE update_outcomes.at <= excluded.at"
        ),
        params![o.device_id, o.version, o.outcome, o.reason, o.at],
    )?;
    Ok(())
}

pub(super) fn outcome(c: &Connection, device_id: &str, version: &str) -> StoreResult<Option<UpdateOutcome>> {
    Ok(c.query_row(
        &format!("SELECT {OUTCOME_COLS} FROM update_outcomes WHERE device_id = ?1 AND version = ?2"),
        params![device_id, version],
        outcome_from_row,
    )
    .optional()?)
}

pub(super) fn outcomes(c: &Connection, version: &str) -> StoreResult<Vec<UpdateOutcome>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {OUTCOME_COLS} FROM update_outcomes WHERE version = ?1 ORDER BY at DESC, device_id"
    ))?;
    Ok(stmt.query_map([version], outcome_from_row)?.collect::<Result<Vec<_>, _>>()?)
}
