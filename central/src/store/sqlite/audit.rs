//! Terminals' audit records, checked for continuity as they are stored (the rules are
//! `crate::audit`'s): one transaction per batch holds the records, the device's new
//! chain head and the alerts the batch's breaks open, so a break is never stored
//! without its alert (a retry after a failure would find only duplicates).

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::GENESIS;
    use crate::store::{SqliteStore, Store};

    fn hash(version: u32, seq: u64) -> String {
        format!("{version:032x}{seq:032x}")
    }

    fn record(version: u32, seq: u64, prev: &str) -> AuditRecord {
        AuditRecord {
            seq,
            at: time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            action: "session.started".into(),
            subject_masked: None,
            outcome: "ok".into(),
            prev_hash: prev.into(),
            hash: hash(version, seq),
        }
    }

    fn history(version: u32, from: u64, to: u64, prev: &str) -> Vec<AuditRecord> {
        let mut prev = prev.to_owned();
        (from..=to)
            .map(|seq| {
                let r = record(version, seq, &prev);
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("c.db")).unwrap();
        (dir, s)
    }

    #[test]
    fn a_record_filling_an_earlier_gap_is_stored_without_a_break_or_moving_the_head() {
        let (_dir, s) = store();
        let mut batch = history(1, 1, 2, GENESIS);
        batch.extend(history(1, 5, 6, &hash(1, 4)));
        let got = s.insert_audit("KT-1", &batch, 10).unwrap();
        assert_eq!(got.breaks, vec![ChainBreak::Gap { last: 2, seq: 5 }]);
        assert_eq!(got.alerts_opened.len(), 1);
        let late = s.insert_audit("KT-1", &history(1, 3, 4, &hash(1, 2)), 11).unwrap();
        assert_eq!((late.stored, late.late, late.breaks.len()), (2, 2, 0));
        assert_eq!(s.audit_head("KT-1").unwrap().unwrap().seq, 6);
        // A record repeated inside one batch is stored once.
        let twice = [record(1, 7, &hash(1, 6)), record(1, 7, &hash(1, 6))];
        let got = s.insert_audit("KT-1", &twice, 12).unwrap();
        assert_eq!((got.stored, got.duplicates, got.breaks.len()), (1, 1, 0));
    }

    #[test]
    fn every_fork_and_reset_starts_the_next_chain_and_an_open_alert_is_not_opened_again() {
        let (_dir, s) = store();
        s.insert_audit("KT-1", &history(1, 1, 5, GENESIS), 10).unwrap();
        let fork = s.insert_audit("KT-1", &history(2, 4, 5, &hash(1, 3)), 11).unwrap();
        assert_eq!(fork.breaks, vec![ChainBreak::Fork { last: 5, seq: 4, chain: 2 }]);
        assert_eq!(fork.alerts_opened.iter().map(|(k, _)| *k).collect::<Vec<_>>(), vec!["audit_fork"]);
        let reset = s.insert_audit("KT-1", &history(3, 1, 2, GENESIS), 12).unwrap();
        assert_eq!(reset.breaks, vec![ChainBreak::Reset { last: 5, chain: 3 }]);
        let again = s.insert_audit("KT-1", &history(4, 1, 1, GENESIS), 13).unwrap();
        assert_eq!(again.breaks, vec![ChainBreak::Reset { last: 2, chain: 4 }]);
        assert_eq!(again.alerts_opened, vec![], "the reset alert is open already");
        assert_eq!(s.audit_versions("KT-1", 1).unwrap().iter().map(|v| v.chain).collect::<Vec<_>>(), vec![1, 3, 4]);
        // Another device's chain is its own.
        let other = s.insert_audit("KT-2", &history(1, 1, 2, GENESIS), 14).unwrap();
        assert_eq!((other.stored, other.breaks.len()), (2, 0));
        let open = s.open_alerts().unwrap();
        assert_eq!(open.len(), 2);
        assert!(open.iter().all(|a| a.device_id == "KT-1"));
    }

    #[test]
    fn a_record_0_is_a_fork() {
        let (_dir, s) = store();
        let got = s.insert_audit("KT-1", &[record(1, 0, GENESIS)], 10).unwrap();
        assert_eq!(got.breaks, vec![ChainBreak::Fork { last: 0, seq: 0, chain: 2 }]);
        assert_eq!(got.stored, 1);
    }
}
