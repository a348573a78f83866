//! Idempotency records and the one transaction that writes a call's new rows together
//! with its recorded outcome, so a crash never leaves one without the other.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::store::{IdempotencyBegin, NewRecord, StoreError, StoreResult, StoredResponse};

/// request_hash, state, created_at, status, content_type, body
type IdempotencyRow = (String, String, i64, Option<i64>, Option<String>, Option<Vec<u8>>);
/// status, content_type, body of a finished call
type OutcomeRow = (Option<i64>, Option<String>, Option<Vec<u8>>);

/// The digits a citizen types for `QC-20261121-0004837` (`202611210004837`; 14 digits for
/// the older `QC-20261121-483920`): everything after the kind prefix, without dashes.
/// Must agree with the backfill in migration 3.
pub(in crate::store) fn tracking_digits(tracking_number: &str) -> String {
    tracking_number.split_once('-').map_or(tracking_number, |(_, rest)| rest).replace('-', "")
}

pub(super) fn begin(
    c: &Connection,
    scope: &str,
    key: &str,
    request_hash: &str,
    now: i64,
    stale_before: i64,
) -> StoreResult<IdempotencyBegin> {
    let inserted = c.execute(
        "INSERT OR IGNORE INTO idempotency(scope, key, request_hash, state, created_at) VALUES (?1, ?2, ?3, 'in_flight', ?4)",
        params![scope, key, request_hash, now],
    )?;
    if inserted == 1 {
        return Ok(IdempotencyBegin::Reserved);
    }
    let (hash, state, created, status, ctype, body): IdempotencyRow = c.query_row(
        "SELECT request_hash, state, created_at, status, content_type, body FROM idempotency WHERE scope = ?1 AND key = ?2",
        params![scope, key],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
    )?;
    if hash != request_hash {
        return Ok(IdempotencyBegin::DifferentRequest);
    }
    if state == "in_flight" {
        if created < stale_before {
            c.execute(
                "UPDATE idempotency SET created_at = ?3 WHERE scope = ?1 AND key = ?2",
                params![scope, key, now],
            )?;
            return Ok(IdempotencyBegin::Reserved);
        }
        return Ok(IdempotencyBegin::InFlight);
    }
    stored_response(scope, key, status, ctype, body).map(IdempotencyBegin::Replay)
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

pub(super) fn commit(
    c: &mut Connection,
    scope: &str,
    key: &str,
    records: &[NewRecord],
    response: &StoredResponse,
) -> StoreResult<Option<StoredResponse>> {
    // IMMEDIATE: take the write lock up front rather than upgrading a read lock midway.
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for record in records {
        insert(&tx, record)?;
    }
    let marked = tx.execute(
        "UPDATE idempotency SET state = 'done', status = ?3, content_type = ?4, body = ?5
         WHERE scope = ?1 AND key = ?2 AND state = 'in_flight'",
        params![scope, key, response.status, response.content_type, response.body],
    )?;
    if marked == 1 {
        tx.commit()?;
        return Ok(None);
    }
    // Another attempt took over our stale reservation and finished first: its rows are
    // the ones that count, so ours are rolled back (dropping `tx`) and its answer is sent.
    let done: Option<OutcomeRow> = tx
        .query_row(
            "SELECT status, content_type, body FROM idempotency WHERE scope = ?1 AND key = ?2 AND state = 'done'",
            params![scope, key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match done {
        Some((status, ctype, body)) => stored_response(scope, key, status, ctype, body).map(Some),
        None => Err(StoreError::Corrupt(format!("idempotency reservation {scope}/{key} vanished before commit"))),
    }
}

fn insert(c: &Connection, record: &NewRecord) -> StoreResult<()> {
    match record {
        NewRecord::Certificate { number, code, device_id, json, issued_at } => c.execute(
            "INSERT INTO certificates(number, verification_code, device_id, document, issued_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![number, code, device_id, json, issued_at],
        ),
        NewRecord::Application(a) => c.execute(
            "INSERT INTO applications(tracking_number, kind, status, id_number, device_id, submitted_at, deadline,
                                      client_reference, tracking_digits, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                a.tracking_number,
                a.kind,
                a.status,
                a.id_number,
                a.device_id,
                a.submitted_at,
                a.deadline,
                a.client_reference,
                tracking_digits(&a.tracking_number),
                a.reason
            ],
        ),
        NewRecord::FaceImage { tracking_number, nonce, ciphertext } => c.execute(
            "INSERT INTO face_images(tracking_number, nonce, ciphertext) VALUES (?1, ?2, ?3)",
            params![tracking_number, nonce, ciphertext],
        ),
        NewRecord::Rating { rating_id, device_id, json, at } => c.execute(
            "INSERT INTO ratings(rating_id, device_id, document, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![rating_id, device_id, json, at],
        ),
        NewRecord::TokenUse { token_hash, device_id, at } => {
            if !super::enrollment::spend_token(c, token_hash, *at, device_id)? {
                return Err(StoreError::TokenSpent);
            }
            return Ok(());
        }
        NewRecord::Device(d) => return super::enrollment::upsert_device(c, d),
        NewRecord::RequireCurrentDevice { device_id, cert_serial } => {
            return super::enrollment::require_current_device(c, device_id, cert_serial);
        }
        NewRecord::RegistryAccess(a) => return super::retention::insert_access(c, a),
        NewRecord::ReviewMaterial(m) => return super::review::insert_material(c, m),
    }?;
    Ok(())
}

/// Records `(scope, key)` as a finished call with `response`, inside the caller's
/// transaction (which also writes the call's rows). False, writing nothing, when the key
/// is already known.
pub(super) fn insert_done(
    c: &Connection,
    scope: &str,
    key: &str,
    request_hash: &str,
    now: i64,
    response: &StoredResponse,
) -> StoreResult<bool> {
    let inserted = c
        .prepare_cached(
            "INSERT OR IGNORE INTO idempotency(scope, key, request_hash, state, created_at, status, content_type, body)
             VALUES (?1, ?2, ?3, 'done', ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            scope,
            key,
            request_hash,
            now,
            i64::from(response.status),
            response.content_type,
            response.body
        ])?;
    Ok(inserted == 1)
}

pub(super) fn abandon(c: &Connection, scope: &str, key: &str) -> StoreResult<()> {
    c.execute("DELETE FROM idempotency WHERE scope = ?1 AND key = ?2 AND state = 'in_flight'", params![scope, key])?;
    Ok(())
}

pub(super) fn purge(c: &Connection, created_before: i64) -> StoreResult<usize> {
    Ok(c.execute("DELETE FROM idempotency WHERE created_at < ?1 AND state = 'done'", [created_before])?)
}
