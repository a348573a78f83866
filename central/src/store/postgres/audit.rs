//! Terminals' audit records, checked for continuity as they are stored (the rules are
//! `crate::audit`'s, as in the SQLite store): one transaction per batch holds the
//! records, the device's new chain head and the alerts its breaks open. A
//! transaction-scoped advisory lock on the device makes two instances ingesting the
//! same terminal's batches take turns, so each checks against the other's head.

use deadpool_postgres::{Client, GenericClient};

use super::{LOCK_AUDIT, execute, query, query_opt};
use crate::api::AuditRecord;
use crate::audit::{self, ChainBreak, ChainHead, Continuity};
use crate::store::{AuditIngest, StoreError, StoreResult, StoredAudit};

fn seq_param(seq: u64) -> StoreResult<i64> {
    i64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("audit seq {seq} is beyond 2^63-1")))
}

fn seq_column(seq: i64) -> StoreResult<u64> {
    u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("stored audit seq {seq} is negative")))
}

pub(super) async fn head<C: GenericClient>(c: &C, device_id: &str) -> StoreResult<Option<ChainHead>> {
    let row = query_opt(c, "SELECT chain, seq, hash FROM audit_heads WHERE device_id = $1", &[&device_id]).await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(ChainHead { chain: row.try_get(0)?, seq: seq_column(row.try_get(1)?)?, hash: row.try_get(2)? }))
}

/// A chain number no stored record of `device_id` has.
async fn new_chain<C: GenericClient>(c: &C, device_id: &str, head: &ChainHead) -> StoreResult<i64> {
    let row = query_opt(c, "SELECT coalesce(max(chain), 0) FROM audit WHERE device_id = $1", &[&device_id]).await?;
    let stored: i64 = match row {
        Some(r) => r.try_get(0)?,
        None => 0,
    };
    Ok(stored.max(head.chain) + 1)
}

pub(super) async fn insert(
    c: &mut Client,
    device_id: &str,
    records: &[AuditRecord],
    now: i64,
) -> StoreResult<AuditIngest> {
    let tx = c.transaction().await?;
    execute(&tx, "SELECT pg_advisory_xact_lock($1, hashtext($2))", &[&LOCK_AUDIT, &device_id]).await?;
    let before = head(&tx, device_id).await?;
    let mut head = before.clone().unwrap_or_else(ChainHead::empty);
    let mut out = AuditIngest::default();
    for r in records {
        let seq = seq_param(r.seq)?;
        let stored =
            query(&tx, "SELECT hash FROM audit WHERE device_id = $1 AND seq = $2", &[&device_id, &seq]).await?;
        let stored: Vec<String> = stored.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?;
        let verdict = audit::classify(&head, r, &stored);
        let chain = match verdict {
            Continuity::Duplicate => {
                out.duplicates += 1;
                continue;
            }
            Continuity::Next | Continuity::Gap | Continuity::Late => head.chain,
            Continuity::Fork | Continuity::Reset => new_chain(&tx, device_id, &head).await?,
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
        execute(
            &tx,
            "INSERT INTO audit(device_id, seq, chain, at, action, subject_masked, outcome, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                &device_id,
                &seq,
                &chain,
                &r.at.unix_timestamp(),
                &r.action,
                &r.subject_masked,
                &r.outcome,
                &r.prev_hash,
                &r.hash,
            ],
        )
        .await?;
        out.stored += 1;
        if verdict != Continuity::Late {
            head = ChainHead { chain, seq: r.seq, hash: r.hash.clone() };
        }
    }
    if before.as_ref() != Some(&head) && out.stored > 0 {
        execute(
            &tx,
            "INSERT INTO audit_heads(device_id, chain, seq, hash) VALUES ($1, $2, $3, $4)
             ON CONFLICT(device_id) DO UPDATE SET chain = $2, seq = $3, hash = $4",
            &[&device_id, &head.chain, &seq_param(head.seq)?, &head.hash],
        )
        .await?;
    }
    for (kind, detail) in audit::alert_details(&out.breaks) {
        if super::open_alert_in(&tx, device_id, kind, &detail, now).await? {
            out.alerts_opened.push((kind, detail));
        }
    }
    tx.commit().await?;
    Ok(out)
}

pub(super) async fn versions<C: GenericClient>(c: &C, device_id: &str, seq: u64) -> StoreResult<Vec<StoredAudit>> {
    let found = query(
        c,
        "SELECT chain, seq, at, action, subject_masked, outcome, prev_hash, hash FROM audit
         WHERE device_id = $1 AND seq = $2 ORDER BY chain",
        &[&device_id, &seq_param(seq)?],
    )
    .await?;
    let mut out = Vec::new();
    for r in &found {
        let (seq, at): (i64, i64) = (r.try_get(1)?, r.try_get(2)?);
        let at = time::OffsetDateTime::from_unix_timestamp(at)
            .map_err(|_| StoreError::Corrupt(format!("audit record {seq} has time {at}")))?;
        let record = AuditRecord {
            seq: seq_column(seq)?,
            at,
            action: r.try_get(3)?,
            subject_masked: r.try_get(4)?,
            outcome: r.try_get(5)?,
            prev_hash: r.try_get(6)?,
            hash: r.try_get(7)?,
        };
        out.push(StoredAudit { chain: r.try_get(0)?, record });
    }
    Ok(out)
}
