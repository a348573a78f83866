//! Terminals' audit records, checked for continuity as they are stored (the rules are
//! `crate::audit`'s): one transaction per batch holds the records, the device's new
//! chain head and the alerts the batch's breaks open, so a break is never stored
//! without its alert (a retry after a failure would find only duplicates). Tested on
//! both engines in central/tests/store.rs.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::api::AuditRecord;
use crate::audit::{self, ChainBreak, ChainHead, Continuity};
use crate::store::{AuditIngest, StoreError, StoreResult, StoredAudit};

fn seq_param(seq: u64) -> StoreResult<i64> {
    i64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("audit seq {seq} is beyond 2^63-1")))
}

fn seq_column(seq: i64) -> StoreResult<u64> {
    u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("stored audit seq {seq} is negative")))
}

pub(super) fn head(c: &Connection, device_id: &str) -> StoreResult<Option<ChainHead>> {
    let row = c
        .prepare_cached("SELECT chain, seq, hash FROM audit_heads WHERE device_id = ?1")?
        .query_row([device_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?)))
        .optional()?;
    row.map(|(chain, seq, hash)| Ok(ChainHead { chain, seq: seq_column(seq)?, hash })).transpose()
}

/// A chain number no stored record of `device_id` has.
fn new_chain(c: &Connection, device_id: &str, head: &ChainHead) -> StoreResult<i64> {
    let stored: i64 = c
        .prepare_cached("SELECT coalesce(max(chain), 0) FROM audit WHERE device_id = ?1")?
        .query_row([device_id], |r| r.get(0))?;
    Ok(stored.max(head.chain) + 1)
}

pub(super) fn insert(
    c: &mut Connection,
    device_id: &str,
    records: &[AuditRecord],
    now: i64,
) -> StoreResult<AuditIngest> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let before = head(&tx, device_id)?;
    let mut head = before.clone().unwrap_or_else(ChainHead::empty);
    let mut out = AuditIngest::default();
    for r in records {
        let seq = seq_param(r.seq)?;
        let stored: Vec<String> = {
            let mut s = tx.prepare_cached("SELECT hash FROM audit WHERE device_id = ?1 AND seq = ?2")?;
            let rows = s.query_map(params![device_id, seq], |row| row.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let verdict = audit::classify(&head, r, &stored);
        let chain = match verdict {
            Continuity::Duplicate => {
                out.duplicates += 1;
                continue;
            }
            Continuity::Next | Continuity::Gap | Continuity::Late => head.chain,
            Continuity::Fork | Continuity::Reset => new_chain(&tx, device_id, &head)?,
        };
        match verdict {
            Continuity::Gap => out.breaks.push(ChainBreak::Gap { last: head.seq, seq: r.seq }),
            Continuity::Fork => out.breaks.push(ChainBreak::Fork { last: head.seq, seq: r.seq, chain }),
            Continuity::Reset => out.breaks.push(ChainBreak::Reset { last: head.seq, chain }),
            Continuity::Late => out.late += 1,
            Continuity::Next | Continuity::Duplicate => {}
        }
        // The slot is free: a chain holds nothing above its head, a new chain nothing at
        // all, and a late record's seq nothing in any chain.
        tx.prepare_cached(
            "INSERT INTO audit(device_id, seq, chain, at, action, subject_masked, outcome, prev_hash, hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            device_id,
            seq,
            chain,
            r.at.unix_timestamp(),
            r.action,
            r.subject_masked,
            r.outcome,
            r.prev_hash,
            r.hash
        ])?;
        out.stored += 1;
        if verdict != Continuity::Late {
            head = ChainHead { chain, seq: r.seq, hash: r.hash.clone() };
        }
    }
    if before.as_ref() != Some(&head) && out.stored > 0 {
        tx.prepare_cached(
            "INSERT INTO audit_heads(device_id, chain, seq, hash) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(device_id) DO UPDATE SET chain = ?2, seq = ?3, hash = ?4",
        )?
        .execute(params![device_id, head.chain, seq_param(head.seq)?, head.hash])?;
    }
    for (kind, detail) in audit::alert_details(&out.breaks) {
        if super::open_alert_in(&tx, device_id, kind, &detail, now)? {
            out.alerts_opened.push((kind, detail));
        }
    }
    tx.commit()?;
    Ok(out)
}

pub(super) fn versions(c: &Connection, device_id: &str, seq: u64) -> StoreResult<Vec<StoredAudit>> {
    let mut s = c.prepare_cached(
        "SELECT chain, seq, at, action, subject_masked, outcome, prev_hash, hash FROM audit
         WHERE device_id = ?1 AND seq = ?2 ORDER BY chain",
    )?;
    let rows = s.query_map(params![device_id, seq_param(seq)?], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, i64>(2)?,
            r.get(3)?,
            r.get(4)?,
            r.get(5)?,
            r.get(6)?,
            r.get(7)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (chain, seq, at, action, subject_masked, outcome, prev_hash, hash) = row?;
        let at = time::OffsetDateTime::from_unix_timestamp(at)
            .map_err(|_| StoreError::Corrupt(format!("audit record {seq} has time {at}")))?;
        let record = AuditRecord { seq: seq_column(seq)?, at, action, subject_masked, outcome, prev_hash, hash };
        out.push(StoredAudit { chain, record });
    }
    Ok(out)
}
