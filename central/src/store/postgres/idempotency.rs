//! Idempotency records and the one transaction that writes a call's new rows together
//! with its recorded outcome. Several instances may hold the same key at once (a
//! retry reaching another process), so every decision about a reservation is taken
//! under its row lock.

use deadpool_postgres::{Client, GenericClient, Transaction};

use super::{LOCK_OWNER, count, execute, query_opt};
use crate::store::{IdempotencyBegin, NewRecord, StoreError, StoreResult, StoredResponse};

/// A reservation can vanish between the insert that found it and the select that locks
/// it (its owner abandoned it); then the insert is tried again, this many times.
const BEGIN_ATTEMPTS: usize = 3;

pub(super) async fn begin(
    c: &mut Client,
    owner: i32,
    scope: &str,
    key: &str,
    request_hash: &str,
    now: i64,
    stale_before: i64,
) -> StoreResult<IdempotencyBegin> {
    for _ in 0..BEGIN_ATTEMPTS {
        let inserted = execute(
            &*c,
            "INSERT INTO idempotency(scope, key, request_hash, state, created_at, owner)
             VALUES ($1, $2, $3, 'in_flight', $4, $5) ON CONFLICT DO NOTHING",
            &[&scope, &key, &request_hash, &now, &owner],
        )
        .await?;
        if inserted == 1 {
            return Ok(IdempotencyBegin::Reserved);
        }
        // Decided under the row lock, so two instances finding the same stale
        // reservation cannot both take it over: the second sees the first's new time.
        let tx = c.transaction().await?;
        // NOWAIT: a row locked now is being committed (or taken over) by another attempt,
        // perhaps in another instance: that is "in flight", said at once, rather than
        // after waiting out the lock timeout for a 500.
        let found = query_opt(
            &tx,
            "SELECT request_hash, state, created_at, status, content_type, body, owner FROM idempotency
             WHERE scope = $1 AND key = $2 FOR UPDATE NOWAIT",
            &[&scope, &key],
        )
        .await;
        let row = match found {
            Err(StoreError::Postgres(e)) if e.code() == Some(&tokio_postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {
                return Ok(IdempotencyBegin::InFlight);
            }
            other => other?,
        };
        let Some(row) = row else {
            continue;
        };
        let (hash, state, created): (String, String, i64) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        if hash != request_hash {
            return Ok(IdempotencyBegin::DifferentRequest);
        }
        if state == "in_flight" {
            // A reservation whose instance died (killed mid-request: its owner lock went
            // with its connections) is taken over at once, not after the stale timeout:
            // the terminal's whole queue waits behind this key. One of this instance's
            // own is a live request here; NULL is from before owners were recorded.
            let holder: Option<i32> = row.try_get(6)?;
            let owner_gone = match holder {
                None => true,
                Some(h) if h == owner => false,
                Some(h) => !owner_alive(&tx, h).await?,
            };
            if created < stale_before || owner_gone {
                if owner_gone {
                    tracing::warn!(scope, owner = ?holder, "taking over a request left in flight by an instance that is gone");
                }
                execute(
                    &tx,
                    "UPDATE idempotency SET created_at = $3, owner = $4 WHERE scope = $1 AND key = $2",
                    &[&scope, &key, &now, &owner],
                )
                .await?;
                tx.commit().await?;
                return Ok(IdempotencyBegin::Reserved);
            }
            return Ok(IdempotencyBegin::InFlight);
        }
        return stored_response(scope, key, row.try_get(3)?, row.try_get(4)?, row.try_get(5)?)
            .map(IdempotencyBegin::Replay);
    }
    Err(StoreError::Conflict(format!("idempotency reservation {scope}/{key} kept vanishing")))
}

/// Records `(scope, key)` as a finished call with `response`, inside the caller's
/// transaction (which also writes the call's rows). False, writing nothing, when the key
/// is already known. A concurrent insert of the same key waits on the primary key until
/// this transaction ends, then finds the row.
pub(super) async fn insert_done(
    tx: &Transaction<'_>,
    owner: i32,
    scope: &str,
    key: &str,
    request_hash: &str,
    now: i64,
    response: &StoredResponse,
) -> StoreResult<bool> {
    let inserted = execute(
        tx,
        "INSERT INTO idempotency(scope, key, request_hash, state, created_at, owner, status, content_type, body)
         VALUES ($1, $2, $3, 'done', $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        &[
            &scope,
            &key,
            &request_hash,
            &now,
            &owner,
            &i64::from(response.status),
            &response.content_type,
            &response.body,
        ],
    )
    .await?;
    Ok(inserted == 1)
}

fn stored_response(
    scope: &str,
    key: &str,
    status: Option<i64>,
    content_type: Option<String>,
    body: Option<Vec<u8>>,
) -> StoreResult<StoredResponse> {
    match (status, content_type, body) {
        (Some(status), Some(content_type), Some(body)) => Ok(StoredResponse {
            status: u16::try_from(status).map_err(|_| StoreError::Corrupt("stored status".into()))?,
            content_type,
            body,
        }),
        _ => Err(StoreError::Corrupt(format!("idempotency record {scope}/{key} done without response"))),
    }
}

pub(super) async fn commit(
    c: &mut Client,
    scope: &str,
    key: &str,
    records: &[NewRecord],
    response: &StoredResponse,
) -> StoreResult<Option<StoredResponse>> {
    let tx = c.transaction().await?;
    // The reservation's row lock first: another attempt under the same key (one that
    // took over a stale reservation, perhaps in another instance) committing at the
    // same time waits here, and then finds this one done.
    let row = query_opt(
        &tx,
        "SELECT state, status, content_type, body FROM idempotency WHERE scope = $1 AND key = $2 FOR UPDATE",
        &[&scope, &key],
    )
    .await?;
    let Some(row) = row else {
        return Err(StoreError::Corrupt(format!("idempotency reservation {scope}/{key} vanished before commit")));
    };
    if row.try_get::<_, String>(0)? == "done" {
        // The other attempt's rows are the ones that count; nothing of ours is written
        // (dropping `tx` rolls back) and its answer is sent.
        return stored_response(scope, key, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?).map(Some);
    }
    for record in records {
        insert(&tx, record).await?;
    }
    execute(
        &tx,
        "UPDATE idempotency SET state = 'done', status = $3, content_type = $4, body = $5
         WHERE scope = $1 AND key = $2",
        &[&scope, &key, &i64::from(response.status), &response.content_type, &response.body],
    )
    .await?;
    tx.commit().await?;
    Ok(None)
}

async fn insert(tx: &Transaction<'_>, record: &NewRecord) -> StoreResult<()> {
    match record {
        NewRecord::Certificate { number, code, device_id, json, issued_at } => {
            execute(
                tx,
                "INSERT INTO certificates(number, verification_code, device_id, document, issued_at)
                 VALUES ($1, $2, $3, $4, $5)",
                &[number, code, device_id, json, issued_at],
            )
            .await?;
        }
        NewRecord::Application(a) => {
            execute(
                tx,
                "INSERT INTO applications(tracking_number, kind, status, id_number, device_id, submitted_at, deadline,
                                          client_reference, tracking_digits, reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                &[
                    &a.tracking_number,
                    &a.kind,
                    &a.status,
                    &a.id_number,
                    &a.device_id,
                    &a.submitted_at,
                    &a.deadline,
                    &a.client_reference,
                    &crate::store::tracking_digits(&a.tracking_number),
                    &a.reason,
                ],
            )
            .await?;
        }
        NewRecord::FaceImage { tracking_number, nonce, ciphertext } => {
            execute(
                tx,
                "INSERT INTO face_images(tracking_number, nonce, ciphertext) VALUES ($1, $2, $3)",
                &[tracking_number, nonce, ciphertext],
            )
            .await?;
        }
        NewRecord::Rating { rating_id, device_id, json, at } => {
            execute(
                tx,
                "INSERT INTO ratings(rating_id, device_id, document, created_at) VALUES ($1, $2, $3, $4)",
                &[rating_id, device_id, json, at],
            )
            .await?;
        }
        NewRecord::TokenUse { token_hash, device_id, at } => {
            if !super::spend_token(tx, token_hash, *at, device_id).await? {
                return Err(StoreError::TokenSpent);
            }
        }
        NewRecord::Device(d) => super::upsert_device(tx, d).await?,
        NewRecord::RequireCurrentDevice { device_id, cert_serial } => {
            require_current_device(tx, device_id, cert_serial).await?;
        }
        NewRecord::RegistryAccess(a) => super::insert_access(tx, a).await?,
        NewRecord::ReviewMaterial(m) => super::review::insert_material(tx, m).await?,
    }
    Ok(())
}

/// Fails with [`StoreError::DeviceNotCurrent`] unless `device_id` is enrolled, not
/// revoked, and `cert_serial` is its current certificate's. `FOR SHARE`: a revocation
/// or renewal committed first is seen here; one arriving later waits for this commit.
async fn require_current_device<C: GenericClient>(c: &C, device_id: &str, cert_serial: &str) -> StoreResult<()> {
    let row = query_opt(c, "SELECT cert_serial, revoked_at FROM devices WHERE device_id = $1 FOR SHARE", &[&device_id])
        .await?;
    let row = match row {
        Some(r) => Some((r.try_get::<_, String>(0)?, r.try_get::<_, Option<i64>>(1)?)),
        None => None,
    };
    match row {
        Some((_, Some(_))) => Err(StoreError::DeviceNotCurrent("this device has been revoked".into())),
        Some((current, None)) if current == cert_serial => Ok(()),
        Some(_) => Err(StoreError::DeviceNotCurrent(
            "this certificate has been replaced by a renewal; use the current certificate".into(),
        )),
        None => Err(StoreError::DeviceNotCurrent("this device is not enrolled".into())),
    }
}

/// Whether the instance numbered `owner` still runs: it holds its session advisory lock
/// (released by PostgreSQL when that instance's connection ends, as when it is killed).
async fn owner_alive<C: GenericClient>(c: &C, owner: i32) -> StoreResult<bool> {
    let row = super::query_one(
        c,
        "SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND l.classid = $1::integer::oid AND l.objid = $2::integer::oid)",
        &[&LOCK_OWNER, &owner],
    )
    .await?;
    Ok(row.try_get(0)?)
}

/// Drops in-flight reservations whose owner is gone: this instance's own (it calls this
/// at start-up, before serving) and those of instances that hold no owner lock any more
/// (they died mid-request). A live instance's reservations stay.
pub(super) async fn abandon_dead_owners<C: GenericClient>(c: &C, owner: i32) -> StoreResult<usize> {
    let n = execute(
        c,
        "DELETE FROM idempotency i WHERE i.state = 'in_flight' AND (i.owner IS NULL OR i.owner = $2 OR NOT EXISTS (
           SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
             AND l.classid = $1::integer::oid AND l.objid = i.owner::oid))",
        &[&LOCK_OWNER, &owner],
    )
    .await?;
    Ok(count(n))
}
