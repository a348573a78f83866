//! Enrollment tokens and device records, shared by the store's own calls and by the
//! idempotent commit that spends a token and records its device in one transaction.

use rusqlite::{Connection, OptionalExtension, params};

use crate::store::{DeviceRecord, StoreError, StoreResult, TokenUse};

/// Whether a token is known, unexpired and unused at `now`.
pub(super) fn token_status(c: &Connection, token_hash: &str, now: i64) -> StoreResult<TokenUse> {
    let row: Option<(i64, Option<i64>)> = c
        .query_row("SELECT expires_at, used_at FROM enrollment_tokens WHERE token_hash = ?1", [token_hash], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(match row {
        None => TokenUse::Unknown,
        Some((_, Some(_))) => TokenUse::AlreadyUsed,
        Some((expires, None)) if expires <= now => TokenUse::Expired,
        Some(_) => TokenUse::Accepted,
    })
}

/// Marks a token used by `device_id`; false when it was used or expired by then.
pub(super) fn spend_token(c: &Connection, token_hash: &str, now: i64, device_id: &str) -> StoreResult<bool> {
    let n = c.execute(
        "UPDATE enrollment_tokens SET used_at = ?2, device_id = ?3
         WHERE token_hash = ?1 AND used_at IS NULL AND expires_at > ?2",
        params![token_hash, now, device_id],
    )?;
    Ok(n == 1)
}

/// Records a device enrolled or renewed. A renewal keeps the stored `revoked_at`: the
/// record it writes was read before the renewal was signed, and a revocation committed
/// since must stay (callers check the device is current in the same transaction).
pub(super) fn upsert_device(c: &Connection, d: &DeviceRecord) -> StoreResult<()> {
    c.execute(
        "INSERT INTO devices(device_id, hostname, software_version, inventory, enrolled_at, cert_serial, cert_not_after, revoked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(device_id) DO UPDATE SET hostname = ?2, software_version = ?3, inventory = ?4,
           cert_serial = ?6, cert_not_after = ?7",
        params![d.device_id, d.hostname, d.software_version, d.inventory_json, d.enrolled_at, d.cert_serial, d.cert_not_after, d.revoked_at],
    )?;
    Ok(())
}

/// Fails with [`StoreError::DeviceNotCurrent`] unless `device_id` is enrolled, not revoked,
/// and `cert_serial` is the serial of its current certificate.
pub(super) fn require_current_device(c: &Connection, device_id: &str, cert_serial: &str) -> StoreResult<()> {
    let row: Option<(String, Option<i64>)> = c
        .prepare_cached("SELECT cert_serial, revoked_at FROM devices WHERE device_id = ?1")?
        .query_row([device_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match row {
        Some((_, Some(_))) => Err(StoreError::DeviceNotCurrent("this device has been revoked".into())),
        Some((current, None)) if current == cert_serial => Ok(()),
        Some(_) => Err(StoreError::DeviceNotCurrent(
            "this certificate has been replaced by a renewal; use the current certificate".into(),
        )),
        None => Err(StoreError::DeviceNotCurrent("this device is not enrolled".into())),
    }
}
