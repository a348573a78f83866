//! Continuity of the terminals' audit trails, checked as their records arrive.
//!
//! Each terminal keeps a hash chain: record `seq` n (from 1) carries in `prev_hash` the
//! `hash` of record n-1, and record 1 carries [`GENESIS`]. The terminal checks its own
//! chain, but a terminal whose disk was edited can only say so if it still runs honest
//! code; the copy shipped here is the anchor that cannot be rewritten from the device.
//! So every incoming record is compared with the last one accepted from that device
//! (the [`ChainHead`], kept in the store) and with what is stored at its seq:
//!
//! - the next seq, linked to the head: stored;
//! - a record already stored (same seq, same hash): a re-send of the outbox, ignored;
//! - a different record at a seq already stored, or the next seq not linked to the
//!   head: a [`ChainBreak::Fork`], the terminal's history was rewritten;
//! - a seq beyond the next: a [`ChainBreak::Gap`], records were deleted before shipping;
//! - seq 1 from the genesis after a head above 1: a [`ChainBreak::Reset`], the trail was
//!   wiped and restarted.
//!
//! Nothing is dropped: a fork's or reset's record starts a new *chain* (a number per
//! device, 1 for the first), so the stored records of one seq can be compared side by
//! side, and later records that link to it continue that chain.

use std::fmt;

use crate::api::AuditRecord;
use crate::telemetry::alert;

/// `prev_hash` of a trail's first record: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Longest alert detail; the logs have every break in full.
const DETAIL_MAX: usize = 200;

/// The last record accepted from a device, and the chain it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    pub chain: i64,
    pub seq: u64,
    pub hash: String,
}

impl ChainHead {
    /// Before a device's first record: chain 1, at seq 0, whose "hash" is the genesis.
    pub fn empty() -> Self {
        Self { chain: 1, seq: 0, hash: GENESIS.into() }
    }
}

/// Where a record broke the chain. `last` is the head's seq when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChainBreak {
    /// Records `last + 1 ..= seq - 1` never arrived.
    Gap { last: u64, seq: u64 },
    /// Record `seq` differs from the stored record at that seq (`seq <= last`), or does
    /// not link to record `last` (`seq == last + 1`). Kept as chain `chain`.
    Fork { last: u64, seq: u64, chain: i64 },
    /// The trail restarted at record 1 after record `last`. Kept as chain `chain`.
    Reset { last: u64, chain: i64 },
}

impl ChainBreak {
    /// The ops alert this break opens.
    pub fn alert_kind(&self) -> &'static str {
        match self {
            Self::Gap { .. } => alert::AUDIT_GAP,
            Self::Fork { .. } => alert::AUDIT_FORK,
            Self::Reset { .. } => alert::AUDIT_RESET,
        }
    }

    /// The seq of the record that broke the chain.
    pub fn seq(&self) -> u64 {
        match self {
            Self::Gap { seq, .. } | Self::Fork { seq, .. } => *seq,
            Self::Reset { .. } => 1,
        }
    }

    /// The head's seq when the record arrived.
    pub fn last(&self) -> u64 {
        match self {
            Self::Gap { last, .. } | Self::Fork { last, .. } | Self::Reset { last, .. } => *last,
        }
    }
}

/// Seq numbers only: never a record's subject.
impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Gap { last, seq } if seq == last.saturating_add(2) => {
                write!(f, "audit record {} missing: record {seq} arrived after {last}", last.saturating_add(1))
            }
            Self::Gap { last, seq } => write!(
                f,
                "audit records {}-{} missing: record {seq} arrived after {last}",
                last.saturating_add(1),
                seq.saturating_sub(1)
            ),
            Self::Fork { last, seq: 0, chain } => {
                write!(f, "audit record 0 cannot be in a trail (stored up to {last}); kept as chain {chain}")
            }
            Self::Fork { last: 0, seq, chain } => {
                write!(f, "audit record {seq}, the first received, does not link to the genesis; kept as chain {chain}")
            }
            Self::Fork { last, seq, chain } if seq > last => write!(
                f,
                "audit record {seq} does not link to stored record {last} (prev_hash differs); kept as chain {chain}"
            ),
            Self::Fork { last, seq, chain } => write!(
                f,
                "audit record {seq} differs from the stored record {seq} (stored up to {last}); kept as chain {chain}"
            ),
            Self::Reset { last, chain } => {
                write!(f, "audit trail restarted at record 1 after record {last}; kept as chain {chain}")
            }
        }
    }
}

/// What one incoming record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Continuity {
    /// The head's next record: stored in the head's chain and becomes the head.
    Next,
    /// Stored before (same seq, same hash): the outbox sent it again. Ignored.
    Duplicate,
    /// At or below the head where nothing is stored: a record missing from an earlier
    /// gap (already alerted), or one the retention sweep removed. Stored in the head's
    /// chain; the head stays.
    Late,
    /// Records missing before this one: stored in the head's chain and becomes the head.
    Gap,
    /// A rewritten history: stored as a new chain, which becomes the head's.
    Fork,
    /// A restarted trail: stored as a new chain, which becomes the head's.
    Reset,
}

/// Classifies `record` against the device's `head` and the hashes of every record
/// already stored at `record.seq` (any chain).
pub fn classify(head: &ChainHead, record: &AuditRecord, stored_at_seq: &[String]) -> Continuity {
    let last = head.seq;
    if stored_at_seq.contains(&record.hash) {
        Continuity::Duplicate
    } else if record.seq == 1 && record.prev_hash == GENESIS && last > 1 {
        Continuity::Reset
    } else if record.seq == 0 {
        // No trail has a record 0: it fits nowhere.
        Continuity::Fork
    } else if record.seq <= last {
        if stored_at_seq.is_empty() { Continuity::Late } else { Continuity::Fork }
    } else if record.seq == last.saturating_add(1) {
        if record.prev_hash == head.hash { Continuity::Next } else { Continuity::Fork }
    } else {
        Continuity::Gap
    }
}

/// One alert per kind of break in `breaks` (forks, resets, gaps): the first break of
/// that kind, and how many more the batch had.
pub fn alert_details(breaks: &[ChainBreak]) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for kind in [alert::AUDIT_FORK, alert::AUDIT_RESET, alert::AUDIT_GAP] {
        let of_kind: Vec<_> = breaks.iter().filter(|b| b.alert_kind() == kind).collect();
        if let Some(first) = of_kind.first() {
            let mut detail = first.to_string();
            if of_kind.len() > 1 {
                detail.push_str(&format!(" (and {} more in the same batch)", of_kind.len() - 1));
            }
            out.push((kind, truncate(&detail, DETAIL_MAX)));
        }
    }
    out
}

/// At most `max` characters of `s`.
pub fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((end, _)) => s[..end].to_owned(),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, prev: &str, hash: &str) -> AuditRecord {
        AuditRecord {
            seq,
            at: time::OffsetDateTime::UNIX_EPOCH,
            action: "session.started".into(),
            subject_masked: None,
            outcome: "ok".into(),
            prev_hash: prev.into(),
            hash: hash.into(),
        }
    }

    fn h(n: u8) -> String {
        format!("{n:02x}").repeat(32)
    }

    fn head(seq: u64, hash: &str) -> ChainHead {
        ChainHead { chain: 1, seq, hash: hash.into() }
    }

    #[test]
    fn the_first_record_links_to_the_genesis() {
        assert_eq!(classify(&ChainHead::empty(), &record(1, GENESIS, &h(1)), &[]), Continuity::Next);
        assert_eq!(classify(&ChainHead::empty(), &record(1, &h(9), &h(1)), &[]), Continuity::Fork);
        assert_eq!(classify(&ChainHead::empty(), &record(3, &h(2), &h(3)), &[]), Continuity::Gap);
    }

    #[test]
    fn each_case_of_the_rules() {
        let at5 = head(5, &h(5));
        assert_eq!(classify(&at5, &record(6, &h(5), &h(6)), &[]), Continuity::Next);
        assert_eq!(classify(&at5, &record(6, &h(4), &h(6)), &[]), Continuity::Fork, "not linked to the head");
        assert_eq!(classify(&at5, &record(3, &h(2), &h(3)), &[h(3)]), Continuity::Duplicate);
        assert_eq!(classify(&at5, &record(5, &h(4), &h(5)), &[h(5)]), Continuity::Duplicate);
        assert_eq!(classify(&at5, &record(3, &h(2), &h(33)), &[h(3)]), Continuity::Fork, "rewritten");
        assert_eq!(classify(&at5, &record(3, &h(2), &h(33)), &[h(3), h(33)]), Continuity::Duplicate);
        assert_eq!(classify(&at5, &record(3, &h(2), &h(3)), &[]), Continuity::Late);
        assert_eq!(classify(&at5, &record(8, &h(7), &h(8)), &[]), Continuity::Gap);
        assert_eq!(classify(&at5, &record(1, GENESIS, &h(11)), &[h(1)]), Continuity::Reset);
        assert_eq!(
            classify(&at5, &record(1, GENESIS, &h(1)), &[h(1)]),
            Continuity::Duplicate,
            "a re-sent first record"
        );
        assert_eq!(classify(&at5, &record(0, GENESIS, &h(0)), &[]), Continuity::Fork);
        // Record 1 again after only record 1: the rules call that a fork, not a reset.
        assert_eq!(classify(&head(1, &h(1)), &record(1, GENESIS, &h(11)), &[h(1)]), Continuity::Fork);
    }

    #[test]
    fn the_highest_seq_does_not_overflow() {
        let top = i64::MAX as u64;
        assert_eq!(classify(&head(top - 1, &h(1)), &record(top, &h(1), &h(2)), &[]), Continuity::Next);
        assert_eq!(classify(&head(top, &h(1)), &record(top, &h(1), &h(2)), &[h(3)]), Continuity::Fork);
    }

    #[test]
    fn details_name_seq_numbers_one_alert_per_kind() {
        let breaks = [
            ChainBreak::Gap { last: 10, seq: 15 },
            ChainBreak::Fork { last: 15, seq: 12, chain: 2 },
            ChainBreak::Gap { last: 20, seq: 22 },
            ChainBreak::Reset { last: 30, chain: 3 },
        ];
        let details = alert_details(&breaks);
        assert_eq!(
            details,
            vec![
                (
                    alert::AUDIT_FORK,
                    "audit record 12 differs from the stored record 12 (stored up to 15); kept as chain 2".to_owned()
                ),
                (alert::AUDIT_RESET, "audit trail restarted at record 1 after record 30; kept as chain 3".to_owned()),
                (
                    alert::AUDIT_GAP,
                    "audit records 11-14 missing: record 15 arrived after 10 (and 1 more in the same batch)".to_owned()
                ),
            ]
        );
        assert_eq!(
            ChainBreak::Gap { last: 20, seq: 22 }.to_string(),
            "audit record 21 missing: record 22 arrived after 20"
        );
        assert_eq!(
            ChainBreak::Fork { last: 0, seq: 1, chain: 2 }.to_string(),
            "audit record 1, the first received, does not link to the genesis; kept as chain 2"
        );
        assert_eq!(
            ChainBreak::Fork { last: 4, seq: 5, chain: 2 }.to_string(),
            "audit record 5 does not link to stored record 4 (prev_hash differs); kept as chain 2"
        );
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(truncate("纸张用完了", 3), "纸张用");
        assert_eq!(truncate("short", 200), "short");
        assert_eq!(truncate(&"x".repeat(300), 200).len(), 200);
    }
}
