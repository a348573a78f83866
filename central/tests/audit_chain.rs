//! Audit continuity over the real API: a terminal's hash-chained audit records are
//! checked against the last one accepted from it. A clean chain and re-sent batches
//! raise nothing; missing records, a rewritten history and a restarted trail each open
//! their alert, whose detail names seq numbers only, and nothing is dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use central::api::*;
use central::audit::GENESIS;
use common::*;

/// A recognisable hash: `version` tells rewritten histories apart.
fn hash(version: u32, seq: u64) -> String {
    format!("{version:032x}{seq:032x}")
}

/// Records `from..=to` of history `version`, the first linking to `prev`.
fn records(version: u32, from: u64, to: u64, prev: &str) -> Vec<AuditRecord> {
    let mut prev = prev.to_owned();
    (from..=to)
        .map(|seq| {
            let r = AuditRecord {
                seq,
                // Whole seconds, as stored.
                at: time::OffsetDateTime::now_utc().replace_nanosecond(0).unwrap(),
                action: "card.read.id_card".into(),
                subject_masked: Some("4501**********0034".into()),
                outcome: "ok".into(),
                prev_hash: prev.clone(),
                hash: hash(version, seq),
            };
            prev = r.hash.clone();
            r
        })
        .collect()
}

/// The clean history's records `from..=to` (version 1, from the genesis).
fn clean(from: u64, to: u64) -> Vec<AuditRecord> {
    let prev = if from == 1 { GENESIS.to_owned() } else { hash(1, from - 1) };
    records(1, from, to, &prev)
}

async fn ship(t: &Terminal, rig: &Rig, key: &str, audit: Vec<AuditRecord>) -> TelemetryAck {
    let resp = t.post(rig, paths::TELEMETRY, key, &TelemetryBatch { heartbeat: None, events: vec![], audit }).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// Open audit alerts of `t`: (kind, detail).
fn audit_alerts(rig: &Rig, t: &Terminal) -> Vec<(String, String)> {
    rig.server
        .store()
        .open_alerts()
        .unwrap()
        .into_iter()
        .filter(|a| a.device_id == t.enrolled.device_id && a.kind.starts_with("audit_"))
        .map(|a| (a.kind, a.detail))
        .collect()
}

async fn restart(rig: Rig) -> Rig {
    let Rig { server, dir, .. } = rig;
    server.shutdown().await;
    let server = central::start(config(dir.path())).await.unwrap();
    let base = format!("https://localhost:{}", server.local_addr().port());
    Rig { server, dir, base }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_chain_and_resent_batches_raise_no_alert() {
    let rig = start().await;
    let t = rig.enroll().await;
    assert_eq!(ship(&t, &rig, "a1", clean(1, 3)).await.accepted_audit, 3);
    assert_eq!(ship(&t, &rig, "a2", clean(4, 6)).await.accepted_audit, 3);
    // The outbox resends a batch whose answer it lost: same key (replayed) and new key.
    assert_eq!(ship(&t, &rig, "a2", clean(4, 6)).await.accepted_audit, 3);
    assert_eq!(ship(&t, &rig, "a2-again", clean(4, 6)).await.accepted_audit, 0);
    assert_eq!(ship(&t, &rig, "a1-again", clean(1, 3)).await.accepted_audit, 0);
    // Several queued batches in one request, overlapping what was already stored.
    let mut several = clean(5, 8);
    several.extend(clean(9, 12));
    assert_eq!(ship(&t, &rig, "a3", several).await.accepted_audit, 6);
    assert_eq!(audit_alerts(&rig, &t), vec![]);
    let store = rig.server.store();
    let head = store.audit_head(&t.enrolled.device_id).unwrap().unwrap();
    assert_eq!((head.chain, head.seq, head.hash), (1, 12, hash(1, 12)));
    assert_eq!(store.audit_versions(&t.enrolled.device_id, 5).unwrap().len(), 1, "a re-send is not stored twice");
    let metrics = rig.metrics_text().await;
    assert!(metrics.contains("central_audit_records_total 12"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_deleted_before_shipping_raise_audit_gap() {
    let rig = start().await;
    let t = rig.enroll().await;
    ship(&t, &rig, "a1", clean(1, 3)).await;
    // Records 4 to 6 were deleted on the terminal: 7 arrives after 3.
    assert_eq!(ship(&t, &rig, "a2", clean(7, 9)).await.accepted_audit, 3, "kept, not dropped");
    assert_eq!(
        audit_alerts(&rig, &t),
        vec![("audit_gap".to_owned(), "audit records 4-6 missing: record 7 arrived after 3".to_owned())]
    );
    let metrics = rig.metrics_text().await;
    assert!(metrics.contains("central_alerts_open{kind=\"audit_gap\"} 1"), "{metrics}");
    // The chain goes on from 9 without another alert.
    ship(&t, &rig, "a3", clean(10, 11)).await;
    assert_eq!(audit_alerts(&rig, &t).len(), 1);
    assert_eq!(rig.server.store().audit_head(&t.enrolled.device_id).unwrap().unwrap().seq, 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_history_raises_audit_fork_and_both_versions_are_kept() {
    let rig = start().await;
    let t = rig.enroll().await;
    let store = rig.server.store();
    let id = &t.enrolled.device_id;
    ship(&t, &rig, "a1", clean(1, 5)).await;
    // Records 3 to 5 again, but edited: linked to the stored 2, with other hashes.
    let rewritten = records(2, 3, 5, &hash(1, 2));
    assert_eq!(ship(&t, &rig, "a2", rewritten.clone()).await.accepted_audit, 3);
    assert_eq!(
        audit_alerts(&rig, &t),
        vec![(
            "audit_fork".to_owned(),
            "audit record 3 differs from the stored record 3 (stored up to 5); kept as chain 2".to_owned()
        )]
    );
    let versions = store.audit_versions(id, 3).unwrap();
    assert_eq!(
        versions.iter().map(|v| (v.chain, v.record.hash.clone())).collect::<Vec<_>>(),
        vec![(1, hash(1, 3)), (2, hash(2, 3))]
    );
    assert_eq!(versions[1].record, rewritten[0]);
    // The rewritten history is the head now: its next record is no new break.
    ship(&t, &rig, "a3", records(2, 6, 6, &hash(2, 5))).await;
    let head = store.audit_head(id).unwrap().unwrap();
    assert_eq!((head.chain, head.seq), (2, 6));
    assert_eq!(audit_alerts(&rig, &t).len(), 1);
    // A re-send of the original records is a duplicate, not another fork.
    assert_eq!(ship(&t, &rig, "a4", clean(1, 5)).await.accepted_audit, 0);

    // The other shape of a fork: the next seq, not linked to the stored last record.
    let other = rig.enroll().await;
    ship(&other, &rig, "b1", clean(1, 4)).await;
    assert_eq!(ship(&other, &rig, "b2", records(3, 5, 5, &hash(3, 4))).await.accepted_audit, 1);
    assert_eq!(
        audit_alerts(&rig, &other),
        vec![(
            "audit_fork".to_owned(),
            "audit record 5 does not link to stored record 4 (prev_hash differs); kept as chain 2".to_owned()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wiped_and_restarted_trail_raises_audit_reset() {
    let rig = start().await;
    let t = rig.enroll().await;
    let id = &t.enrolled.device_id;
    ship(&t, &rig, "a1", clean(1, 57)).await;
    // The trail starts again from the genesis.
    let restarted = records(2, 1, 3, GENESIS);
    assert_eq!(ship(&t, &rig, "a2", restarted).await.accepted_audit, 3);
    assert_eq!(
        audit_alerts(&rig, &t),
        vec![(
            "audit_reset".to_owned(),
            "audit trail restarted at record 1 after record 57; kept as chain 2".to_owned()
        )]
    );
    let store = rig.server.store();
    assert_eq!(store.audit_versions(id, 1).unwrap().len(), 2, "the old trail's record 1 is kept");
    assert_eq!(store.audit_versions(id, 40).unwrap().len(), 1);
    let head = store.audit_head(id).unwrap().unwrap();
    assert_eq!((head.chain, head.seq), (2, 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_alerts_and_the_chain_head_survive_a_restart() {
    let rig = start().await;
    let t = rig.enroll().await;
    ship(&t, &rig, "a1", clean(1, 3)).await;
    ship(&t, &rig, "a2", records(2, 3, 4, &hash(1, 2))).await;
    let before = audit_alerts(&rig, &t);
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].0, "audit_fork");

    let rig = restart(rig).await;
    assert_eq!(audit_alerts(&rig, &t), before, "the alert is still open");
    // The head is the stored one: the rewritten history's next record is normal (a head
    // lost at restart would make it a gap), and a resend is a duplicate.
    assert_eq!(ship(&t, &rig, "a3", records(2, 5, 6, &hash(2, 4))).await.accepted_audit, 2);
    assert_eq!(ship(&t, &rig, "a2-again", records(2, 3, 4, &hash(1, 2))).await.accepted_audit, 0);
    assert_eq!(audit_alerts(&rig, &t), before);
    let metrics = rig.metrics_text().await;
    assert!(metrics.contains("central_alerts_open{kind=\"audit_fork\"} 1"), "{metrics}");
}
