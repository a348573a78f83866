//! One storage suite, run on both engines: every test body takes a `&dyn Store` and runs
//! once on a fresh SQLite file (`sqlite::<name>`) and once on a fresh PostgreSQL
//! cluster (`postgres::<name>`), so the two stores keep the same behaviour. Tests of
//! what only PostgreSQL has (migrations of its own, several processes on one database)
//! are at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use central::api::{AuditRecord, Severity, TelemetryEvent, mask_id_number};
use central::audit::{ChainBreak, GENESIS};
use central::store::*;
use common::pg::PgCluster;

/// `sqlite::name` and `postgres::name` for each generic test body `name(&dyn Store)`.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = central::store::SqliteStore::open(&dir.path().join("c.db")).unwrap();
                    super::$name(&store);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let cluster = super::PgCluster::start();
                    let store = central::store::PgStore::open(&cluster.url()).unwrap();
                    super::$name(&store);
                }
            )*
        }
    };
}

on_both_engines!(
    tokens_are_accepted_once_unexpired_and_known,
    a_token_spent_meanwhile_fails_the_enrollment_commit,
    devices_are_upserted_and_a_renewal_keeps_a_revocation,
    decommissioning_records_the_backlog_of_the_last_heartbeat_once,
    idempotency_reservation_blocks_a_second_request_until_finished,
    a_commit_writes_every_row_and_the_response_or_nothing,
    a_slow_attempt_that_lost_its_lease_commits_nothing_and_gets_the_retrys_response,
    abandoning_and_purging_reservations,
    a_commit_needing_the_current_device_fails_once_it_is_revoked_or_renewed,
    the_registry_is_filled_once_and_read_back,
    applications_are_found_by_number_digits_reference_and_open_registration,
    fifteen_digit_tracking_numbers_are_unique,
    tracking_sequences_count_per_day,
    heartbeats_add_up_per_terminal_and_hour,
    events_are_stored_once_and_newest_first,
    alerts_open_once_per_kind_and_clear,
    a_heartbeat_settles_its_alerts_in_its_own_transaction,
    a_heartbeat_only_call_is_recorded_once_with_its_reply,
    silence_alerts_open_once_for_the_active_ones_not_heard_from,
    a_record_filling_an_earlier_gap_is_stored_without_a_break_or_moving_the_head,
    every_fork_and_reset_starts_the_next_chain_and_an_open_alert_is_not_opened_again,
    a_record_0_is_a_fork,
    ops_users_and_sessions,
    registry_access_is_listed_newest_first,
    retention_removes_and_masks_only_what_is_past_its_cutoff,
    reviewers_have_a_role_and_the_review_queue_assigns_each_item_once,
    a_decision_changes_the_status_and_deletes_the_face_in_one_go,
    releases_are_published_once_and_found_by_version_and_sha256,
    a_new_rollout_supersedes_the_current_one_and_pausing_moves_only_from_its_state,
    a_later_update_outcome_replaces_an_earlier_one_and_a_late_resend_does_not,
);

fn device(id: &str, serial: &str, enrolled_at: i64) -> DeviceRecord {
    DeviceRecord {
        device_id: id.into(),
        hostname: "kiosk".into(),
        software_version: "0.1.0".into(),
        inventory_json: "{}".into(),
        enrolled_at,
        cert_serial: serial.into(),
        cert_not_after: 9_000_000_000,
        revoked_at: None,
    }
}

fn response(body: &str) -> StoredResponse {
    StoredResponse { status: 201, content_type: "application/json".into(), body: body.as_bytes().to_vec() }
}

fn application(tracking: &str, id_number: &str, status: &str, submitted_at: i64) -> ApplicationRecord {
    ApplicationRecord {
        tracking_number: tracking.into(),
        kind: if tracking.starts_with("UR") { "unemployment_registration" } else { "qualification_check" }.into(),
        status: status.into(),
        id_number: id_number.into(),
        device_id: "KT-1".into(),
        submitted_at,
        deadline: "2026-12-16".into(),
        client_reference: Some(format!("ref-{tracking}")),
        reason: None,
    }
}

/// Reserves `key` and commits `records` under it.
fn commit(s: &dyn Store, key: &str, records: Vec<NewRecord>) -> StoreResult<Option<StoredResponse>> {
    assert_eq!(s.idempotency_begin("d", key, "h", 1_000, 0).unwrap(), IdempotencyBegin::Reserved, "{key}");
    s.idempotency_commit("d", key, &records, &response(key))
}

fn tokens_are_accepted_once_unexpired_and_known(s: &dyn Store) {
    s.insert_token("t1", 100, 200).unwrap();
    s.insert_token("t2", 100, 150).unwrap();
    assert_eq!(s.token_status("t1", 120).unwrap(), TokenUse::Accepted);
    assert_eq!(s.token_status("t1", 120).unwrap(), TokenUse::Accepted, "asking does not spend it");
    assert_eq!(s.consume_token("t1", 120, "KT-1").unwrap(), TokenUse::Accepted);
    assert_eq!(s.consume_token("t1", 121, "KT-2").unwrap(), TokenUse::AlreadyUsed);
    assert_eq!(s.token_status("t1", 121).unwrap(), TokenUse::AlreadyUsed);
    assert_eq!(s.consume_token("t2", 150, "KT-3").unwrap(), TokenUse::Expired, "expiry is exclusive");
    assert_eq!(s.token_status("t2", 149).unwrap(), TokenUse::Accepted);
    assert_eq!(s.consume_token("nope", 120, "KT-4").unwrap(), TokenUse::Unknown);
    assert!(s.insert_token("t1", 100, 200).is_err(), "a token hash is stored once");
}

fn a_token_spent_meanwhile_fails_the_enrollment_commit(s: &dyn Store) {
    s.insert_token("t", 100, 1_000).unwrap();
    let enroll = |device_id: &str| {
        vec![
            NewRecord::TokenUse { token_hash: "t".into(), device_id: device_id.into(), at: 200 },
            NewRecord::Device(device(device_id, "01", 200)),
        ]
    };
    assert_eq!(commit(s, "a", enroll("KT-1")).unwrap(), None);
    assert!(matches!(commit(s, "b", enroll("KT-2")), Err(StoreError::TokenSpent)));
    assert!(s.device("KT-2").unwrap().is_none(), "the device of the failed commit is not stored");
    assert_eq!(s.device("KT-1").unwrap().unwrap().enrolled_at, 200);
    assert_eq!(s.idempotency_begin("d", "b", "h", 1_001, 0).unwrap(), IdempotencyBegin::InFlight);
}

fn devices_are_upserted_and_a_renewal_keeps_a_revocation(s: &dyn Store) {
    assert_eq!(s.device("KT-1").unwrap(), None);
    s.upsert_device(&device("KT-1", "01", 100)).unwrap();
    let renewed = DeviceRecord { cert_serial: "02".into(), hostname: "kiosk-2".into(), ..device("KT-1", "", 999) };
    s.upsert_device(&renewed).unwrap();
    let stored = s.device("KT-1").unwrap().unwrap();
    assert_eq!((stored.cert_serial.as_str(), stored.hostname.as_str()), ("02", "kiosk-2"));
    assert_eq!(stored.enrolled_at, 100, "a renewal keeps the first enrollment's time");
    assert!(s.revoke_device("KT-1", 500).unwrap());
    assert!(!s.revoke_device("KT-1", 600).unwrap(), "revoked once");
    assert!(!s.revoke_device("KT-9", 600).unwrap(), "unknown");
    // A renewal whose record was read before the revocation cannot undo it, directly or
    // through a commit.
    s.upsert_device(&DeviceRecord { cert_serial: "03".into(), ..stored.clone() }).unwrap();
    let _ = commit(s, "renew", vec![NewRecord::Device(DeviceRecord { cert_serial: "04".into(), ..stored })]);
    assert_eq!(s.device("KT-1").unwrap().unwrap().revoked_at, Some(500));
}

fn decommissioning_records_the_backlog_of_the_last_heartbeat_once(s: &dyn Store) {
    assert_eq!(s.decommission_device("KT-1", 100).unwrap(), None, "no such device");
    s.upsert_device(&device("KT-1", "01", 100)).unwrap();
    s.upsert_device(&device("KT-2", "01", 100)).unwrap();
    let mut hb = common::heartbeat(central::api::PrinterHealth::Ok);
    hb.outbox = central::api::OutboxState { depth: 7, oldest_age_s: 3_600 };
    let json = serde_json::to_string(&hb).unwrap();
    let record = HeartbeatRecord {
        device_id: "KT-1".into(),
        received_at: 1_000,
        json,
        sessions: 1,
        failures: 0,
        backlog_depth: 7,
        alerts: vec![],
    };
    s.record_heartbeat(&record).unwrap();
    let retired = s.decommission_device("KT-1", 2_000).unwrap().unwrap();
    assert_eq!(
        retired,
        Decommission { at: 2_000, backlog_depth: Some(7), backlog_oldest_age_s: Some(3_600), last_seen: Some(1_000) }
    );
    assert_eq!(s.decommission_device("KT-1", 2_001).unwrap(), None, "retired once");
    assert_eq!(s.device("KT-1").unwrap().unwrap().revoked_at, Some(2_000));
    assert_eq!(s.terminal("KT-1").unwrap().unwrap().decommissioned, Some(retired));
    // Never heard from: nothing known about its outbox.
    let silent = s.decommission_device("KT-2", 2_000).unwrap().unwrap();
    assert_eq!((silent.backlog_depth, silent.last_seen), (None, None));
    s.upsert_device(&device("KT-3", "01", 100)).unwrap();
    s.revoke_device("KT-3", 150).unwrap();
    assert_eq!(s.decommission_device("KT-3", 2_000).unwrap(), None, "a revoked device is not active");
}

fn idempotency_reservation_blocks_a_second_request_until_finished(s: &dyn Store) {
    assert_eq!(s.idempotency_begin("d", "k", "h", 100, 0).unwrap(), IdempotencyBegin::Reserved);
    assert_eq!(s.idempotency_begin("d", "k", "h", 101, 0).unwrap(), IdempotencyBegin::InFlight);
    assert_eq!(s.idempotency_begin("d", "k", "other", 101, 0).unwrap(), IdempotencyBegin::DifferentRequest);
    assert_eq!(s.idempotency_begin("e", "k", "other", 101, 0).unwrap(), IdempotencyBegin::Reserved, "own scope");
    let r = StoredResponse { status: 201, content_type: "application/json".into(), body: b"{}".to_vec() };
    assert_eq!(s.idempotency_commit("d", "k", &[], &r).unwrap(), None);
    assert_eq!(s.idempotency_begin("d", "k", "h", 102, 0).unwrap(), IdempotencyBegin::Replay(r));
    assert_eq!(s.idempotency_begin("d", "k", "other", 102, 0).unwrap(), IdempotencyBegin::DifferentRequest);
    // An abandoned in-flight reservation is taken over once stale, and only then.
    assert_eq!(s.idempotency_begin("d", "k2", "h", 100, 0).unwrap(), IdempotencyBegin::Reserved);
    assert_eq!(s.idempotency_begin("d", "k2", "h", 200, 100).unwrap(), IdempotencyBegin::InFlight);
    assert_eq!(s.idempotency_begin("d", "k2", "h", 200, 150).unwrap(), IdempotencyBegin::Reserved);
    // The takeover renewed the lease.
    assert_eq!(s.idempotency_begin("d", "k2", "h", 210, 150).unwrap(), IdempotencyBegin::InFlight);
}

fn a_commit_writes_every_row_and_the_response_or_nothing(s: &dyn Store) {
    s.upsert_device(&device("KT-1", "01", 100)).unwrap();
    let app = application("QC-20261121-0000017", "450103199001010032", "approved", 1_000);
    let rows = vec![
        NewRecord::RequireCurrentDevice { device_id: "KT-1".into(), cert_serial: "01".into() },
        NewRecord::Application(app.clone()),
        NewRecord::FaceImage {
            tracking_number: app.tracking_number.clone(),
            nonce: vec![1; 12],
            ciphertext: vec![0, 255, 7],
        },
        NewRecord::Certificate {
            number: "C-1".into(),
            code: "ABCD-EFGH".into(),
            device_id: "KT-1".into(),
            json: r#"{"n":1}"#.into(),
            issued_at: 1_000,
        },
        NewRecord::Rating { rating_id: "r1".into(), device_id: "KT-1".into(), json: "{}".into(), at: 1_000 },
        NewRecord::RegistryAccess(RegistryAccess {
            at: 1_000,
            device_id: "KT-1".into(),
            subject_masked: mask_id_number("450103199001010032"),
            purpose: "certificate".into(),
            outcome: "shown".into(),
        }),
    ];
    assert_eq!(commit(s, "all", rows).unwrap(), None);
    assert_eq!(s.application(&app.tracking_number).unwrap(), Some(app.clone()));
    assert_eq!(s.face_image(&app.tracking_number).unwrap(), Some((vec![1; 12], vec![0, 255, 7])));
    assert_eq!(s.certificate_by_code("ABCD-EFGH").unwrap().as_deref(), Some(r#"{"n":1}"#));
    assert_eq!(s.certificate_by_code("NOPE").unwrap(), None);
    assert_eq!(s.face_image("QC-0").unwrap(), None);
    assert_eq!(s.recent_registry_access(10).unwrap().len(), 1);
    let counts = s.activity_counts().unwrap();
    assert_eq!((counts.certificates, counts.applications, counts.ratings, counts.people), (1, 1, 1, 0));
    assert_eq!(s.idempotency_begin("d", "all", "h", 1_001, 0).unwrap(), IdempotencyBegin::Replay(response("all")));

    // A commit that fails halfway (the certificate number is taken) writes nothing,
    // and its reservation stays in flight for the caller to abandon.
    let second = application("QC-20261121-0000025", "450103199001010032", "received", 1_001);
    let failing = vec![
        NewRecord::Application(second.clone()),
        NewRecord::Certificate {
            number: "C-1".into(),
            code: "OTHER".into(),
            device_id: "KT-1".into(),
            json: "{}".into(),
            issued_at: 1_001,
        },
    ];
    assert!(commit(s, "half", failing).is_err());
    assert_eq!(s.application(&second.tracking_number).unwrap(), None);
    assert_eq!(s.idempotency_begin("d", "half", "h", 1_002, 0).unwrap(), IdempotencyBegin::InFlight);
    s.idempotency_abandon("d", "half").unwrap();
    assert_eq!(s.idempotency_begin("d", "half", "h", 1_003, 0).unwrap(), IdempotencyBegin::Reserved);
    assert_eq!(s.activity_counts().unwrap().applications, 1);
}

fn a_slow_attempt_that_lost_its_lease_commits_nothing_and_gets_the_retrys_response(s: &dyn Store) {
    assert_eq!(s.idempotency_begin("d", "k", "h", 1000, 880).unwrap(), IdempotencyBegin::Reserved);
    // The first attempt stalls past its lease; a retry takes over and finishes.
    assert_eq!(s.idempotency_begin("d", "k", "h", 1200, 1080).unwrap(), IdempotencyBegin::Reserved);
    let retry = [NewRecord::Application(application("UR-20261126-0000023", "450103199001010032", "received", 1200))];
    assert_eq!(s.idempotency_commit("d", "k", &retry, &response("retry")).unwrap(), None);
    // The stalled attempt wakes up: its rows are dropped, the retry's answer stands.
    let stalled = [NewRecord::Application(application("UR-20261126-0000015", "450103199001010032", "received", 1000))];
    assert_eq!(s.idempotency_commit("d", "k", &stalled, &response("stalled")).unwrap(), Some(response("retry")));
    assert!(s.application("UR-20261126-0000015").unwrap().is_none());
    assert_eq!(s.activity_counts().unwrap().applications, 1);
}

fn abandoning_and_purging_reservations(s: &dyn Store) {
    assert_eq!(s.idempotency_begin("d", "a", "h", 100, 0).unwrap(), IdempotencyBegin::Reserved);
    assert_eq!(s.idempotency_begin("d", "b", "h", 100, 0).unwrap(), IdempotencyBegin::Reserved);
    assert_eq!(s.idempotency_begin("d", "done-old", "h", 100, 0).unwrap(), IdempotencyBegin::Reserved);
    assert_eq!(s.idempotency_commit("d", "done-old", &[], &response("old")).unwrap(), None);
    assert_eq!(s.idempotency_begin("d", "done-new", "h", 500, 0).unwrap(), IdempotencyBegin::Reserved);
    assert_eq!(s.idempotency_commit("d", "done-new", &[], &response("new")).unwrap(), None);
    s.idempotency_abandon("d", "a").unwrap();
    s.idempotency_abandon("d", "done-old").unwrap();
    assert_eq!(s.idempotency_begin("d", "a", "other", 101, 0).unwrap(), IdempotencyBegin::Reserved, "abandoned");
    assert_eq!(
        s.idempotency_begin("d", "done-old", "h", 101, 0).unwrap(),
        IdempotencyBegin::Replay(response("old")),
        "a finished call is not abandoned"
    );
    // At start-up: every reservation left in flight by this store goes.
    assert_eq!(s.idempotency_abandon_all_in_flight().unwrap(), 2);
    assert_eq!(s.idempotency_begin("d", "b", "h", 102, 0).unwrap(), IdempotencyBegin::Reserved);
    // The purge removes finished calls created before the cutoff, never one in flight.
    assert_eq!(s.idempotency_purge(200).unwrap(), 1);
    assert_eq!(s.idempotency_begin("d", "done-old", "h", 600, 0).unwrap(), IdempotencyBegin::Reserved);
    assert_eq!(s.idempotency_begin("d", "done-new", "h", 600, 0).unwrap(), IdempotencyBegin::Replay(response("new")));
    assert_eq!(s.idempotency_purge(10_000).unwrap(), 1, "only done-new; b and done-old are in flight");
}

fn a_commit_needing_the_current_device_fails_once_it_is_revoked_or_renewed(s: &dyn Store) {
    s.upsert_device(&device("KT-RACE", "01", 100)).unwrap();
    let current =
        |serial: &str| NewRecord::RequireCurrentDevice { device_id: "KT-RACE".into(), cert_serial: serial.into() };
    let rating =
        |id: &str| NewRecord::Rating { rating_id: id.into(), device_id: "KT-RACE".into(), json: "{}".into(), at: 1 };
    assert_eq!(commit(s, "a", vec![rating("a"), current("01")]).unwrap(), None);
    // Renewed to serial 02: a call let in with certificate 01 commits nothing.
    s.upsert_device(&device("KT-RACE", "02", 100)).unwrap();
    let refused = commit(s, "b", vec![rating("b"), current("01")]);
    assert!(matches!(&refused, Err(StoreError::DeviceNotCurrent(m)) if m.contains("renewal")), "{refused:?}");
    assert_eq!(commit(s, "c", vec![current("02")]).unwrap(), None);
    s.revoke_device("KT-RACE", 3_000).unwrap();
    let refused = commit(s, "d", vec![rating("d"), current("02")]);
    assert!(matches!(&refused, Err(StoreError::DeviceNotCurrent(m)) if m.contains("revoked")), "{refused:?}");
    let unknown =
        commit(s, "e", vec![NewRecord::RequireCurrentDevice { device_id: "KT-X".into(), cert_serial: "01".into() }]);
    assert!(matches!(&unknown, Err(StoreError::DeviceNotCurrent(m)) if m.contains("not enrolled")), "{unknown:?}");
    assert_eq!(s.activity_counts().unwrap().ratings, 1, "only the first call's rating");
}

fn the_registry_is_filled_once_and_read_back(s: &dyn Store) {
    assert!(s.registry_is_empty().unwrap());
    let people = central::registry::generate(40);
    s.insert_registry(&people).unwrap();
    assert!(!s.registry_is_empty().unwrap());
    assert_eq!(s.activity_counts().unwrap().people, 40);
    let (person, months) = &people[2];
    assert_eq!(s.person(&person.id_number).unwrap().as_ref(), Some(person));
    assert_eq!(s.person("000000000000000000").unwrap(), None);
    let mut sorted = months.clone();
    sorted.sort_by(|a, b| a.month.cmp(&b.month));
    assert_eq!(&s.contributions(&person.id_number).unwrap(), &sorted);
    assert!(s.contributions("000000000000000000").unwrap().is_empty());
    let receiving = s.sample_people("receiving", 3).unwrap();
    assert!(!receiving.is_empty() && receiving.len() <= 3);
    assert!(receiving.iter().all(|p| p.pension_status == "receiving"));
    assert!(receiving.windows(2).all(|w| w[0].id_number < w[1].id_number), "ordered by ID number");
    assert!(s.sample_people("no-such-status", 3).unwrap().is_empty());
}

fn applications_are_found_by_number_digits_reference_and_open_registration(s: &dyn Store) {
    let id = "450103199001010032";
    let older = application("QC-20261121-483920", id, "approved", 1_000);
    // An older 14-digit number repeated under another kind.
    let same_digits = application("UR-20261121-483920", id, "rejected", 2_000);
    let open = application("UR-20261122-0000017", id, "under_review", 3_000);
    let closed = ApplicationRecord {
        reason: Some("contract_ended".into()),
        ..application("UR-20261123-0000025", id, "completed", 4_000)
    };
    for (key, a) in [("1", &older), ("2", &same_digits), ("3", &open), ("4", &closed)] {
        assert_eq!(commit(s, key, vec![NewRecord::Application(a.clone())]).unwrap(), None);
    }
    assert_eq!(s.application("UR-20261123-0000025").unwrap(), Some(closed.clone()));
    assert_eq!(s.application("UR-nope").unwrap(), None);
    assert_eq!(s.applications_by_digits("20261121483920").unwrap(), vec![same_digits.clone(), older.clone()]);
    assert_eq!(s.applications_by_digits("202611220000017").unwrap(), vec![open.clone()]);
    assert!(s.applications_by_digits("1").unwrap().is_empty());
    assert_eq!(s.application_by_client_reference("ref-QC-20261121-483920").unwrap(), Some(older));
    assert_eq!(s.application_by_client_reference("ref-none").unwrap(), None);
    assert_eq!(s.open_application(id, "unemployment_registration").unwrap(), Some(open));
    assert_eq!(s.open_application("450103199001010040", "unemployment_registration").unwrap(), None);
    // Only the kind asked for: the approved qualification check is an open "application"
    // of its own kind, never an unemployment registration.
    assert_eq!(s.open_application(id, "flexible_employment_registration").unwrap(), None);
    assert_eq!(
        s.open_application(id, "qualification_check").unwrap().map(|a| a.tracking_number).as_deref(),
        Some("QC-20261121-483920")
    );
}

fn fifteen_digit_tracking_numbers_are_unique(s: &dyn Store) {
    let first = application("QC-20261121-0000017", "450103199001010032", "received", 1_000);
    assert_eq!(commit(s, "1", vec![NewRecord::Application(first)]).unwrap(), None);
    let same_digits = application("UR-20261121-0000017", "450103199001010032", "received", 1_001);
    assert!(commit(s, "2", vec![NewRecord::Application(same_digits)]).is_err());
    assert_eq!(s.applications_by_digits("202611210000017").unwrap().len(), 1);
}

fn tracking_sequences_count_per_day(s: &dyn Store) {
    assert_eq!(s.next_tracking_sequence("20261121").unwrap(), 1);
    assert_eq!(s.next_tracking_sequence("20261121").unwrap(), 2);
    assert_eq!(s.next_tracking_sequence("20261122").unwrap(), 1);
    assert_eq!(s.next_tracking_sequence("20261121").unwrap(), 3);
}

fn heartbeat(device_id: &str, received_at: i64, sessions: i64, failures: i64, backlog: i64) -> HeartbeatRecord {
    HeartbeatRecord {
        device_id: device_id.into(),
        received_at,
        json: format!(r#"{{"at":{received_at}}}"#),
        sessions,
        failures,
        backlog_depth: backlog,
        alerts: vec![],
    }
}

fn a_heartbeat_settles_its_alerts_in_its_own_transaction(s: &dyn Store) {
    s.upsert_device(&device("KT-1", "01", 100)).unwrap();
    assert!(s.open_alert("KT-1", "offline", "no heartbeat", 100).unwrap());
    assert!(s.open_alert("KT-1", "paper_out", "out", 100).unwrap());
    let mut hb = heartbeat("KT-1", 200, 0, 0, 0);
    hb.alerts = vec![
        ("offline".into(), None),
        ("paper_near_end".into(), None),
        ("device_fault".into(), Some("camera missing".into())),
        ("paper_out".into(), Some("still out".into())),
    ];
    let changes = s.record_heartbeat(&hb).unwrap();
    assert_eq!(changes.cleared, ["offline"], "only what was open is cleared");
    assert_eq!(
        changes.opened,
        [("device_fault".to_owned(), "camera missing".to_owned())],
        "an open one stays as it was"
    );
    let mut open: Vec<_> = s.open_alerts().unwrap().into_iter().map(|a| (a.kind, a.detail, a.opened_at)).collect();
    open.sort();
    assert_eq!(
        open,
        [
            ("device_fault".to_owned(), "camera missing".to_owned(), 200),
            ("paper_out".to_owned(), "out".to_owned(), 100)
        ]
    );
    // The same heartbeat again changes nothing.
    assert_eq!(s.record_heartbeat(&hb).unwrap(), AlertChanges::default());
    assert_eq!(s.terminal("KT-1").unwrap().unwrap().last_seen, Some(200));
}

fn a_heartbeat_only_call_is_recorded_once_with_its_reply(s: &dyn Store) {
    s.upsert_device(&device("KT-1", "01", 100)).unwrap();
    assert!(s.open_alert("KT-1", "offline", "no heartbeat", 100).unwrap());
    let mut hb = heartbeat("KT-1", 200, 1, 0, 0);
    hb.alerts = vec![("offline".into(), None), ("paper_out".into(), Some("out".into()))];
    let reply = StoredResponse { status: 200, content_type: "application/json".into(), body: b"{\"ok\":1}".to_vec() };
    let changes = s.record_heartbeat_once("KT-1", "k1", "h1", &hb, &reply).unwrap();
    assert_eq!(
        changes,
        Some(AlertChanges { opened: vec![("paper_out".into(), "out".into())], cleared: vec!["offline".into()] })
    );
    // The same key again, as a retry after a lost answer: nothing is written twice, and
    // the general path finds the first call finished with its reply.
    let mut later = hb.clone();
    later.received_at = 260;
    assert_eq!(s.record_heartbeat_once("KT-1", "k1", "h1", &later, &reply).unwrap(), None);
    let t = s.terminal("KT-1").unwrap().unwrap();
    assert_eq!((t.last_seen, t.heartbeats_total, t.sessions_total), (Some(200), 1, 1), "recorded once");
    assert_eq!(s.idempotency_begin("KT-1", "k1", "h1", 300, 0).unwrap(), IdempotencyBegin::Replay(reply.clone()));
    assert_eq!(s.idempotency_begin("KT-1", "k1", "other", 300, 0).unwrap(), IdempotencyBegin::DifferentRequest);
    // A key reserved by the general path (a batch with events in flight) is not taken.
    assert_eq!(s.idempotency_begin("KT-1", "k2", "h2", 300, 0).unwrap(), IdempotencyBegin::Reserved);
    assert_eq!(s.record_heartbeat_once("KT-1", "k2", "h2", &later, &reply).unwrap(), None);
    assert_eq!(s.terminal("KT-1").unwrap().unwrap().heartbeats_total, 1);
    // Another terminal's key of the same text is its own.
    s.upsert_device(&device("KT-2", "02", 100)).unwrap();
    assert!(s.record_heartbeat_once("KT-2", "k1", "h1", &heartbeat("KT-2", 200, 0, 0, 0), &reply).unwrap().is_some());
}

fn heartbeats_add_up_per_terminal_and_hour(s: &dyn Store) {
    s.upsert_device(&device("KT-1", "01", 100)).unwrap();
    assert_eq!(s.terminal("KT-1").unwrap().unwrap().last_seen, None);
    assert_eq!(s.terminal("KT-9").unwrap(), None);
    s.set_terminal_mode("KT-1", Some("powered_off"), 7_000).unwrap();
    s.record_heartbeat(&heartbeat("KT-1", 7_200, 2, 1, 5)).unwrap();
    s.record_heartbeat(&heartbeat("KT-1", 7_300, 3, 0, 2)).unwrap();
    s.record_heartbeat(&heartbeat("KT-1", 10_900, 1, 1, 0)).unwrap();
    let t = s.terminal("KT-1").unwrap().unwrap();
    assert_eq!((t.last_seen, t.heartbeat_json.as_deref()), (Some(10_900), Some(r#"{"at":10900}"#)));
    assert_eq!((t.sessions_total, t.failures_total, t.heartbeats_total), (6, 2, 3));
    assert_eq!(t.mode, None, "a heartbeat says it is on again");
    s.set_terminal_mode("KT-1", Some("maintenance"), 11_000).unwrap();
    s.record_heartbeat(&heartbeat("KT-1", 11_100, 0, 0, 0)).unwrap();
    let t = s.terminal("KT-1").unwrap().unwrap();
    assert_eq!((t.mode.as_deref(), t.mode_since), (Some("maintenance"), Some(11_000)), "maintenance stays");
    s.set_terminal_mode("KT-1", None, 11_200).unwrap();
    assert_eq!(s.terminal("KT-1").unwrap().unwrap().mode, None);
    assert_eq!(
        s.hourly("KT-1", 2).unwrap(),
        vec![
            HourBucket { hour: 2, sessions: 5, failures: 1, backlog_max: 5 },
            HourBucket { hour: 3, sessions: 1, failures: 1, backlog_max: 0 },
        ]
    );
    assert_eq!(s.hourly("KT-1", 3).unwrap().len(), 1);
    s.upsert_device(&device("KT-0", "01", 100)).unwrap();
    let all = s.terminals().unwrap();
    assert_eq!(all.iter().map(|t| t.device.device_id.as_str()).collect::<Vec<_>>(), ["KT-0", "KT-1"]);
    assert_eq!((all[0].heartbeats_total, all[0].last_seen), (0, None));
}

fn event(id: &str, at: i64, kind: &str) -> TelemetryEvent {
    TelemetryEvent {
        id: id.into(),
        at: time::OffsetDateTime::from_unix_timestamp(at).unwrap(),
        kind: kind.into(),
        severity: Severity::Warning,
        detail: Some("paper low".into()),
    }
}

fn events_are_stored_once_and_newest_first(s: &dyn Store) {
    s.upsert_device(&device("KT-1", "01", 100)).unwrap();
    let batch = [event("e1", 100, "printer.paper_low"), event("e2", 300, "session.finished"), event("e3", 200, "x")];
    assert_eq!(s.insert_events("KT-1", &batch, 1_000).unwrap(), 3);
    assert_eq!(s.insert_events("KT-1", &batch[..2], 1_001).unwrap(), 0, "re-sent");
    assert_eq!(s.insert_events("KT-2", &batch[..1], 1_001).unwrap(), 1, "ids are per terminal");
    let recent = s.recent_events("KT-1", 2).unwrap();
    assert_eq!(
        recent,
        vec![
            EventRow {
                at: 300,
                kind: "session.finished".into(),
                severity: "warning".into(),
                detail: Some("paper low".into())
            },
            EventRow { at: 200, kind: "x".into(), severity: "warning".into(), detail: Some("paper low".into()) },
        ]
    );
    assert_eq!(s.terminal("KT-1").unwrap().unwrap().events_total, 3);
}

fn alerts_open_once_per_kind_and_clear(s: &dyn Store) {
    assert!(s.open_alert("KT-1", "offline", "no heartbeat", 100).unwrap());
    assert!(!s.open_alert("KT-1", "offline", "still none", 110).unwrap(), "open already");
    assert!(s.open_alert("KT-1", "backlog", "old items", 120).unwrap());
    assert!(s.open_alert("KT-2", "offline", "no heartbeat", 130).unwrap());
    let open = s.open_alerts().unwrap();
    assert_eq!(
        open.iter().map(|a| (a.device_id.as_str(), a.kind.as_str())).collect::<Vec<_>>(),
        [("KT-2", "offline"), ("KT-1", "backlog"), ("KT-1", "offline")]
    );
    assert_eq!(open[2].detail, "no heartbeat");
    assert!(s.clear_alert("KT-1", "offline", 200).unwrap());
    assert!(!s.clear_alert("KT-1", "offline", 201).unwrap(), "cleared already");
    assert!(s.open_alert("KT-1", "offline", "again", 300).unwrap(), "a cleared alert can open again");
    let all = s.alerts(10).unwrap();
    assert_eq!(all.len(), 4);
    assert!(all[..3].iter().all(|a| a.cleared_at.is_none()), "open first: {all:?}");
    assert_eq!((all[0].opened_at, all[3].cleared_at), (300, Some(200)));
    assert!(all.iter().map(|a| a.id).collect::<std::collections::HashSet<_>>().len() == 4, "distinct ids");
    assert_eq!(s.alerts(2).unwrap().len(), 2);
}

fn silence_alerts_open_once_for_the_active_ones_not_heard_from(s: &dyn Store) {
    s.upsert_device(&device("KT-heard", "01", 100)).unwrap();
    s.upsert_device(&device("KT-never", "01", 100)).unwrap();
    s.upsert_device(&device("KT-new", "01", 900)).unwrap();
    s.upsert_device(&device("KT-revoked", "01", 100)).unwrap();
    s.revoke_device("KT-revoked", 150).unwrap();
    s.record_heartbeat(&heartbeat("KT-heard", 800, 0, 0, 0)).unwrap();
    let mut opened = s.open_silence_alerts(500, "offline", "quiet", 500).unwrap();
    opened.sort();
    assert_eq!(opened, ["KT-never"]);
    let mut opened = s.open_silence_alerts(1_000, "offline", "quiet", 1_000).unwrap();
    opened.sort();
    assert_eq!(opened, ["KT-heard", "KT-new"], "KT-never's alert is open already: not opened twice");
    assert!(s.open_silence_alerts(1_000, "offline", "quiet", 1_010).unwrap().is_empty());
    let mut open: Vec<_> = s.open_alerts().unwrap().into_iter().map(|a| (a.device_id, a.kind, a.opened_at)).collect();
    open.sort();
    assert_eq!(
        open,
        [
            ("KT-heard".to_owned(), "offline".to_owned(), 1_000),
            ("KT-never".to_owned(), "offline".to_owned(), 500),
            ("KT-new".to_owned(), "offline".to_owned(), 1_000),
        ]
    );
    // Another kind of alert open for a device does not stand in for this one.
    s.clear_alert("KT-new", "offline", 1_100).unwrap();
    assert!(s.open_alert("KT-new", "backlog", "old items", 1_100).unwrap());
    assert_eq!(s.open_silence_alerts(1_000, "offline", "quiet", 1_200).unwrap(), ["KT-new"]);
}

fn hash(version: u32, seq: u64) -> String {
    format!("{version:032x}{seq:032x}")
}

fn record(version: u32, seq: u64, prev: &str) -> AuditRecord {
    AuditRecord {
        seq,
        at: time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
        action: "session.started".into(),
        subject_masked: Some("4501**********0032".into()),
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

fn a_record_filling_an_earlier_gap_is_stored_without_a_break_or_moving_the_head(s: &dyn Store) {
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
    // A batch re-sent whole is all duplicates.
    let again = s.insert_audit("KT-1", &batch, 13).unwrap();
    assert_eq!((again.stored, again.duplicates), (0, 4));
    let stored = s.audit_versions("KT-1", 3).unwrap();
    assert_eq!(stored, vec![StoredAudit { chain: 1, record: record(1, 3, &hash(1, 2)) }]);
}

fn every_fork_and_reset_starts_the_next_chain_and_an_open_alert_is_not_opened_again(s: &dyn Store) {
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
    let head = s.audit_head("KT-1").unwrap().unwrap();
    assert_eq!((head.chain, head.seq, head.hash), (4, 1, hash(4, 1)));
    // Another device's chain is its own.
    let other = s.insert_audit("KT-2", &history(1, 1, 2, GENESIS), 14).unwrap();
    assert_eq!((other.stored, other.breaks.len()), (2, 0));
    let open = s.open_alerts().unwrap();
    assert_eq!(open.len(), 2);
    assert!(open.iter().all(|a| a.device_id == "KT-1"));
    assert_eq!(s.audit_head("KT-3").unwrap(), None);
}

fn a_record_0_is_a_fork(s: &dyn Store) {
    let got = s.insert_audit("KT-1", &[record(1, 0, GENESIS)], 10).unwrap();
    assert_eq!(got.breaks, vec![ChainBreak::Fork { last: 0, seq: 0, chain: 2 }]);
    assert_eq!(got.stored, 1);
}

fn ops_users_and_sessions(s: &dyn Store) {
    assert_eq!(s.user_password_hash("ops").unwrap(), None);
    s.upsert_user("ops", "$argon2id$one", 100).unwrap();
    s.upsert_user("ops", "$argon2id$two", 200).unwrap();
    assert_eq!(s.user_password_hash("ops").unwrap().as_deref(), Some("$argon2id$two"));
    s.insert_session("s1", "ops", 1_000).unwrap();
    assert_eq!(s.session_user("s1", 999).unwrap().as_deref(), Some("ops"));
    assert_eq!(s.session_user("s1", 1_000).unwrap(), None, "expired at its time");
    assert_eq!(s.session_user("s2", 0).unwrap(), None);
    s.delete_session("s1").unwrap();
    assert_eq!(s.session_user("s1", 0).unwrap(), None);
}

fn access(at: i64, outcome: &str) -> RegistryAccess {
    RegistryAccess {
        at,
        device_id: "KT-1".into(),
        subject_masked: "4501**********0032".into(),
        purpose: "contributions".into(),
        outcome: outcome.into(),
    }
}

fn registry_access_is_listed_newest_first(s: &dyn Store) {
    for (at, outcome) in [(100, "shown"), (300, "name_mismatch"), (200, "unknown_person"), (300, "refused")] {
        s.record_registry_access(&access(at, outcome)).unwrap();
    }
    let recent = s.recent_registry_access(3).unwrap();
    assert_eq!(recent, vec![access(300, "refused"), access(300, "name_mismatch"), access(200, "unknown_person")]);
}

fn retention_removes_and_masks_only_what_is_past_its_cutoff(s: &dyn Store) {
    let id = "450103199001010032";
    let face = |t: &str| NewRecord::FaceImage { tracking_number: t.into(), nonce: vec![0; 12], ciphertext: vec![1] };
    let cert = |n: &str, at: i64| NewRecord::Certificate {
        number: n.into(),
        code: format!("code-{n}"),
        device_id: "KT-1".into(),
        json: "{}".into(),
        issued_at: at,
    };
    let decided_old = application("QC-20260101-0000019", id, "approved", 1_000);
    let pending_old = application("QC-20260101-0000027", id, "under_review", 1_000);
    let pending_new = application("QC-20260301-0000011", id, "under_review", 9_000);
    let decided_new = application("QC-20260301-0000029", id, "rejected", 9_000);
    let records = vec![
        NewRecord::Application(decided_old.clone()),
        face(&decided_old.tracking_number),
        NewRecord::Application(pending_old.clone()),
        face(&pending_old.tracking_number),
        NewRecord::Application(pending_new.clone()),
        face(&pending_new.tracking_number),
        NewRecord::Application(decided_new.clone()),
        face(&decided_new.tracking_number),
        cert("C-old", 1_000),
        cert("C-new", 9_000),
    ];
    assert_eq!(commit(s, "all", records).unwrap(), None);
    s.record_registry_access(&access(1_000, "shown")).unwrap();
    s.record_registry_access(&access(9_000, "shown")).unwrap();
    s.insert_events("KT-1", &[event("old", 10, "x")], 1_000).unwrap();
    s.insert_events("KT-1", &[event("new", 10, "x")], 9_000).unwrap();
    s.open_alert("KT-1", "offline", "gone", 500).unwrap();
    s.clear_alert("KT-1", "offline", 1_000).unwrap();
    s.open_alert("KT-1", "backlog", "old open alert", 500).unwrap();
    s.record_heartbeat(&heartbeat("KT-1", 1_000, 1, 0, 0)).unwrap();
    s.record_heartbeat(&heartbeat("KT-1", 9_000, 1, 0, 0)).unwrap();
    s.insert_audit("KT-1", &history(1, 1, 1, GENESIS), 1_000).unwrap();
    s.insert_session("expired", "ops", 4_000).unwrap();
    s.insert_session("live", "ops", 6_000).unwrap();
    s.insert_token("used-up", 0, 1_000).unwrap();
    s.insert_token("fresh", 0, 9_000).unwrap();
    let cut = RetentionCutoffs {
        faces_decided_before: 10_000,
        faces_any_before: 5_000,
        certificates_before: 5_000,
        id_numbers_before: 5_000,
        registry_access_before: 5_000,
        telemetry_before: 5_000,
        // The record's time is 1_800_000_000.
        audit_before: 1_800_000_001,
        now: 5_000,
    };
    let report = s.enforce_retention(&cut).unwrap();
    assert_eq!(
        report,
        RetentionReport {
            // decided_old, decided_new (decided), pending_old (too old)
            face_images: 3,
            certificates: 1,
            id_numbers_masked: 1,
            registry_access: 1,
            events: 1,
            alerts: 1,
            hourly: 1,
            audit: 1,
            sessions: 1,
            tokens: 1,
        }
    );
    assert!(s.face_image(&pending_new.tracking_number).unwrap().is_some());
    assert!(s.face_image(&pending_old.tracking_number).unwrap().is_none());
    assert_eq!(s.certificate_by_code("code-C-old").unwrap(), None);
    assert!(s.certificate_by_code("code-C-new").unwrap().is_some());
    assert_eq!(s.application(&decided_old.tracking_number).unwrap().unwrap().id_number, mask_id_number(id));
    assert_eq!(s.application(&pending_old.tracking_number).unwrap().unwrap().id_number, id, "still open");
    assert_eq!(s.open_alerts().unwrap().len(), 1, "an open alert stays");
    assert_eq!(s.session_user("live", 5_000).unwrap().as_deref(), Some("ops"));
    assert_eq!(s.token_status("fresh", 5_000).unwrap(), TokenUse::Accepted);
    assert_eq!(s.audit_head("KT-1").unwrap().unwrap().seq, 1, "the head outlives its record");
    // A second sweep finds nothing more (masked numbers are not masked again).
    assert_eq!(s.enforce_retention(&cut).unwrap().total(), 0);
}

// PostgreSQL only: its migrations, and several processes sharing one database.

#[test]
fn postgres_migrates_an_empty_database_and_a_second_open_changes_nothing() {
    let cluster = PgCluster::start();
    let store = PgStore::open(&cluster.url()).unwrap();
    assert_eq!(store.schema_version().unwrap(), POSTGRES_MIGRATIONS.len());
    drop(store);
    let applied = cluster.psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version");
    let store = PgStore::open(&cluster.url()).unwrap();
    assert_eq!(store.schema_version().unwrap(), POSTGRES_MIGRATIONS.len());
    assert_eq!(cluster.psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_version"), applied);
    assert_eq!(applied, "1,2,3,4,5");
}

#[test]
fn postgres_migrates_a_database_of_the_previous_version() {
    let cluster = PgCluster::start();
    // The version before reservations recorded their owner (migration 2).
    let previous = &POSTGRES_MIGRATIONS[..1];
    let old = PgStore::open_with(&cluster.url(), previous).unwrap();
    assert_eq!(old.schema_version().unwrap(), previous.len());
    drop(old);
    // A reservation left in flight by a version that did not record owners.
    cluster.psql(
        "INSERT INTO idempotency(scope, key, request_hash, state, created_at) VALUES ('d', 'k', 'h', 'in_flight', 100)",
    );
    let store = PgStore::open(&cluster.url()).unwrap();
    assert_eq!(store.schema_version().unwrap(), POSTGRES_MIGRATIONS.len());
    // Its owner is gone: taken over at once, though not stale (stale_before 0).
    assert_eq!(store.idempotency_begin("d", "k", "h", 101, 0).unwrap(), IdempotencyBegin::Reserved);
    assert_eq!(store.idempotency_begin("d", "k", "h", 102, 0).unwrap(), IdempotencyBegin::InFlight, "now ours");
    assert_eq!(store.idempotency_abandon_all_in_flight().unwrap(), 1, "start-up drops its own");
    assert_eq!(store.idempotency_begin("d", "k", "h", 103, 0).unwrap(), IdempotencyBegin::Reserved);
}

#[test]
fn postgres_the_releases_migration_applies_to_a_database_of_the_previous_version() {
    let cluster = PgCluster::start();
    let previous = &POSTGRES_MIGRATIONS[..POSTGRES_MIGRATIONS.len() - 1];
    drop(PgStore::open_with(&cluster.url(), previous).unwrap());
    let store = PgStore::open(&cluster.url()).unwrap();
    assert_eq!(store.schema_version().unwrap(), POSTGRES_MIGRATIONS.len());
    let id = store.start_rollout("0.2.0", "arm64", Some(5), None, 1).unwrap();
    assert_eq!(store.active_rollout("arm64").unwrap().map(|r| r.id), Some(id));
}

#[test]
fn postgres_rollouts_started_at_two_instances_at_once_leave_exactly_one_current() {
    let cluster = PgCluster::start();
    let (a, b) = (PgStore::open(&cluster.url()).unwrap(), PgStore::open(&cluster.url()).unwrap());
    // Without the per-architecture lock, two first rollouts would both find nothing to
    // supersede and one would fail on the "one current rollout" index.
    std::thread::scope(|scope| {
        for i in 0..8i64 {
            let store = if i % 2 == 0 { &a } else { &b };
            scope.spawn(move || store.start_rollout("0.2.0", "arm64", Some(10), None, 100 + i).unwrap());
        }
    });
    let all = a.rollouts().unwrap();
    assert_eq!(all.len(), 8);
    assert_eq!(all.iter().filter(|r| r.state == ROLLOUT_ACTIVE).count(), 1, "{all:?}");
    assert_eq!(all.iter().filter(|r| r.state == ROLLOUT_SUPERSEDED).count(), 7);
}

#[test]
fn postgres_a_reservation_of_an_instance_that_died_is_taken_over_at_once() {
    let cluster = PgCluster::start();
    let (a, b) = (PgStore::open(&cluster.url()).unwrap(), PgStore::open(&cluster.url()).unwrap());
    assert_eq!(a.idempotency_begin("d", "k", "h", 100, 0).unwrap(), IdempotencyBegin::Reserved);
    // A runs: its request is in flight, not stale, so B waits (409).
    assert_eq!(b.idempotency_begin("d", "k", "h", 101, 0).unwrap(), IdempotencyBegin::InFlight);
    // A's process is gone (its connections close, its owner lock with them).
    drop(a);
    let mut outcome = IdempotencyBegin::InFlight;
    for _ in 0..40 {
        outcome = b.idempotency_begin("d", "k", "h", 102, 0).unwrap();
        if outcome != IdempotencyBegin::InFlight {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(outcome, IdempotencyBegin::Reserved, "taken over without waiting for the stale timeout");
    let done = StoredResponse { status: 201, content_type: "application/json".into(), body: b"{}".to_vec() };
    assert_eq!(b.idempotency_commit("d", "k", &[], &done).unwrap(), None);
    assert_eq!(b.idempotency_begin("d", "k", "h", 103, 0).unwrap(), IdempotencyBegin::Replay(done));
}

#[test]
fn postgres_instances_starting_together_migrate_once() {
    let cluster = PgCluster::start();
    let url = cluster.url();
    let opened: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3).map(|_| s.spawn(|| PgStore::open(&url))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for store in &opened {
        assert_eq!(store.as_ref().unwrap().schema_version().unwrap(), POSTGRES_MIGRATIONS.len());
    }
    assert_eq!(cluster.psql("SELECT count(*) FROM schema_version"), POSTGRES_MIGRATIONS.len().to_string());
}

#[test]
fn postgres_start_up_drops_only_the_reservations_of_instances_that_are_gone() {
    let cluster = PgCluster::start();
    let a = PgStore::open(&cluster.url()).unwrap();
    let b = PgStore::open(&cluster.url()).unwrap();
    assert_eq!(a.idempotency_begin("d", "a's", "h", 100, 0).unwrap(), IdempotencyBegin::Reserved);
    assert_eq!(b.idempotency_begin("d", "b's", "h", 100, 0).unwrap(), IdempotencyBegin::Reserved);
    // b restarts: its own reservation goes, a's (a is alive) stays.
    assert_eq!(b.idempotency_abandon_all_in_flight().unwrap(), 1);
    assert_eq!(b.idempotency_begin("d", "a's", "h", 101, 0).unwrap(), IdempotencyBegin::InFlight);
    // a dies: the next instance to start drops its reservation.
    drop(a);
    let c = PgStore::open(&cluster.url()).unwrap();
    let dropped = wait_until(|| c.idempotency_abandon_all_in_flight().unwrap() == 1);
    assert!(dropped, "a's reservation was not dropped after a stopped");
    assert_eq!(b.idempotency_begin("d", "a's", "h", 102, 0).unwrap(), IdempotencyBegin::Reserved);
}

/// The server notices a closed session within moments, not at once.
fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..50 {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

#[test]
fn postgres_instances_racing_for_one_key_process_it_exactly_once() {
    let cluster = PgCluster::start();
    let stores: Vec<PgStore> = (0..2).map(|_| PgStore::open(&cluster.url()).unwrap()).collect();
    for round in 0..20 {
        let key = format!("k{round}");
        let outcomes: Vec<(IdempotencyBegin, Option<Option<StoredResponse>>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|i| {
                    let store = &stores[i % 2];
                    let key = &key;
                    s.spawn(move || {
                        let begun = store.idempotency_begin("d", key, "h", 1_000, 0).unwrap();
                        let committed = (begun == IdempotencyBegin::Reserved).then(|| {
                            let tracking = format!("UR-2026112{}-{round:04}{i:03}", i % 2);
                            let app = application(&tracking, "450103199001010032", "received", 1_000);
                            store
                                .idempotency_commit("d", key, &[NewRecord::Application(app)], &response(&tracking))
                                .unwrap()
                        });
                        (begun, committed)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let reserved = outcomes.iter().filter(|(b, _)| *b == IdempotencyBegin::Reserved).count();
        assert_eq!(reserved, 1, "round {round}: {outcomes:?}");
    }
    assert_eq!(stores[0].activity_counts().unwrap().applications, 20);
}

#[test]
fn postgres_stale_takeovers_in_two_instances_leave_one_application() {
    let cluster = PgCluster::start();
    let a = PgStore::open(&cluster.url()).unwrap();
    let b = PgStore::open(&cluster.url()).unwrap();
    for round in 0..10 {
        let key = format!("k{round}");
        assert_eq!(a.idempotency_begin("d", &key, "h", 1_000, 0).unwrap(), IdempotencyBegin::Reserved);
        // a stalls past its lease; b takes over; both commit at once.
        assert_eq!(b.idempotency_begin("d", &key, "h", 2_000, 1_500).unwrap(), IdempotencyBegin::Reserved);
        let results: Vec<Option<StoredResponse>> = std::thread::scope(|s| {
            let handles: Vec<_> = [(&a, "a"), (&b, "b")]
                .into_iter()
                .map(|(store, who)| {
                    let key = &key;
                    s.spawn(move || {
                        let tracking = format!("UR-20261126-{round:04}{}", if who == "a" { "001" } else { "002" });
                        let app = application(&tracking, "450103199001010032", "received", 1_000);
                        store.idempotency_commit("d", key, &[NewRecord::Application(app)], &response(who)).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(results.iter().filter(|r| r.is_none()).count(), 1, "round {round}: one commit wins: {results:?}");
        let winner = if results[0].is_none() { "a" } else { "b" };
        assert!(results.iter().flatten().all(|r| *r == response(winner)), "the loser gets the winner's answer");
    }
    assert_eq!(a.activity_counts().unwrap().applications, 10);
}

#[test]
fn postgres_tracking_numbers_and_tokens_hold_across_instances() {
    let cluster = PgCluster::start();
    let stores: Vec<PgStore> = (0..2).map(|_| PgStore::open(&cluster.url()).unwrap()).collect();
    stores[0].insert_token("t", 0, 10_000).unwrap();
    let (numbers, spent): (Vec<u64>, Vec<TokenUse>) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let store = &stores[i % 2];
                s.spawn(move || {
                    let numbers: Vec<u64> =
                        (0..25).map(|_| store.next_tracking_sequence("20261121").unwrap()).collect();
                    (numbers, store.consume_token("t", 100, &format!("KT-{i}")).unwrap())
                })
            })
            .collect();
        let mut numbers = Vec::new();
        let mut spent = Vec::new();
        for h in handles {
            let (n, t) = h.join().unwrap();
            numbers.extend(n);
            spent.push(t);
        }
        (numbers, spent)
    });
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=100).collect::<Vec<u64>>(), "every number given once");
    assert_eq!(spent.iter().filter(|t| **t == TokenUse::Accepted).count(), 1, "{spent:?}");
}

#[test]
fn postgres_store_works_and_drops_inside_an_async_runtime() {
    let cluster = PgCluster::start();
    let url = cluster.url();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async move {
        // As an axum handler calls it: on a worker thread, without spawn_blocking.
        let store = PgStore::open(&url).unwrap();
        assert_eq!(store.next_tracking_sequence("20261121").unwrap(), 1);
        let store = std::sync::Arc::new(store);
        let s2 = store.clone();
        let n = tokio::task::spawn_blocking(move || s2.next_tracking_sequence("20261121").unwrap()).await.unwrap();
        assert_eq!(n, 2);
        drop(store);
        // A failed open on a worker (as in `central::start`) is an error, not a panic.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let refused = format!("postgres://postgres@127.0.0.1:{port}/central");
        let failed = tokio::spawn(async move { PgStore::open(&refused).map(|_| ()) }).await.unwrap();
        assert!(matches!(failed, Err(StoreError::Postgres(_))), "{failed:?}");
        let probe = format!("postgres://postgres@127.0.0.1:{port}/central");
        let probed = tokio::spawn(async move { PgStore::inspect(&probe) }).await.unwrap();
        assert!(probed.is_err());
    });
}

#[test]
fn postgres_unreachable_database_is_a_typed_error_naming_it_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = PgStore::open(&format!("postgres://central:hunter2@127.0.0.1:{port}/central")).unwrap_err();
    assert!(matches!(e, StoreError::Postgres(_) | StoreError::Unavailable(_)), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");
}

#[test]
fn postgres_errors_name_the_constraint_but_never_the_values() {
    let cluster = PgCluster::start();
    let s = PgStore::open(&cluster.url()).unwrap();
    let cert = |number: &str| NewRecord::Certificate {
        number: number.into(),
        code: "SECRET-CODE-7".into(),
        device_id: "KT-1".into(),
        json: "{}".into(),
        issued_at: 1,
    };
    assert_eq!(commit(&s, "a", vec![cert("C-1")]).unwrap(), None);
    let e = commit(&s, "b", vec![cert("C-2")]).unwrap_err();
    let shown = e.to_string();
    assert!(shown.contains("certificates_verification_code_key") && shown.contains("23505"), "{shown}");
    assert!(!shown.contains("SECRET-CODE-7"), "{shown}");
}

#[test]
fn postgres_application_lookups_search_an_index() {
    let cluster = PgCluster::start();
    drop(PgStore::open(&cluster.url()).unwrap());
    for (condition, index) in [
        ("tracking_number = 'QC-20261121-483920'", "applications_pkey"),
        ("tracking_digits = '20261121483920'", "applications_tracking_digits"),
        ("client_reference = '1234'", "applications_client_reference"),
    ] {
        // The tables are empty, so the planner is told to prefer any index to a scan.
        let plan = cluster.psql(&format!(
            "SET enable_seqscan = off; EXPLAIN SELECT * FROM applications WHERE {condition} ORDER BY submitted_at DESC LIMIT 1"
        ));
        assert!(
            (plan.contains(&format!("using {index} on applications"))
                || plan.contains(&format!("Index Scan on {index}")))
                && !plan.contains("Seq Scan"),
            "{condition}: {plan}"
        );
    }
}

#[test]
fn postgres_a_call_waiting_on_a_stuck_row_lock_fails_after_5_s() {
    let cluster = PgCluster::start();
    let store = PgStore::open(&cluster.url()).unwrap();
    assert_eq!(store.idempotency_begin("d", "k", "h", 100, 0).unwrap(), IdempotencyBegin::Reserved);
    // Another session (a stuck instance) holds the reservation's row lock.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let stuck = runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&cluster.url(), tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute("BEGIN; SELECT * FROM idempotency WHERE key = 'k' FOR UPDATE").await.unwrap();
        client
    });
    let started = std::time::Instant::now();
    let e = store.idempotency_commit("d", "k", &[], &response("k")).unwrap_err();
    let waited = started.elapsed();
    assert!(e.to_string().contains("55P03"), "lock_not_available: {e}");
    assert!(
        waited >= std::time::Duration::from_millis(4_900) && waited < std::time::Duration::from_secs(15),
        "{waited:?}"
    );
    // The session's socket closes with its runtime; the server then rolls it back.
    drop(stuck);
    drop(runtime);
    // Once the stuck session is gone, the commit goes through.
    assert_eq!(store.idempotency_commit("d", "k", &[], &response("k")).unwrap(), None);
}

fn pending(s: &dyn Store, tracking: &str, kind: &str, status: &str, phone: Option<&str>) {
    let mut app = application(tracking, "440524188001010014", status, 1_000);
    app.kind = kind.into();
    let records = vec![
        NewRecord::Application(app),
        NewRecord::FaceImage { tracking_number: tracking.into(), nonce: vec![1; 12], ciphertext: vec![9; 4] },
        NewRecord::ReviewMaterial(ReviewMaterial {
            tracking_number: tracking.into(),
            pending_reason: Some("age_review".into()),
            liveness_json: Some(r#"{"method":"head_turn","score":0.9,"passed":true,"frames":12}"#.into()),
            phone: phone.map(str::to_owned),
        }),
    ];
    assert_eq!(commit(s, tracking, records).unwrap(), None);
}

fn reviewers_have_a_role_and_the_review_queue_assigns_each_item_once(s: &dyn Store) {
    s.upsert_user("ops", "hash", 1).unwrap();
    assert_eq!(s.user_role("ops").unwrap().as_deref(), Some(ROLE_OPERATIONS), "not a reviewer unless given the role");
    assert!(s.set_user_role("ops", ROLE_REVIEWER).unwrap());
    assert_eq!(s.user_role("ops").unwrap().as_deref(), Some(ROLE_REVIEWER));
    s.upsert_user("ops", "hash2", 2).unwrap();
    assert_eq!(s.user_role("ops").unwrap().as_deref(), Some(ROLE_REVIEWER), "a new password keeps the role");
    assert!(!s.set_user_role("nobody", ROLE_REVIEWER).unwrap());
    assert_eq!(s.user_role("nobody").unwrap(), None);

    assert_eq!(s.assign_review("r1", 10).unwrap(), None, "nothing to review");
    pending(s, "QC-20261121-0000017", "qualification_check", "under_review", None);
    pending(s, "ES-20261121-0000025", "employment_subsidy", "received", Some("13812345678"));
    // Not reviewable: decided already, or another kind.
    pending(s, "QC-20261121-0000033", "qualification_check", "approved", None);
    pending(s, "UR-20261121-0000041", "unemployment_registration", "received", Some("13812345678"));
    assert_eq!(s.review_counts().unwrap(), (2, 0));

    let first = s.assign_review("r1", 20).unwrap().unwrap();
    assert_eq!(first.reviewer, "r1");
    assert_eq!(
        s.assign_review("r1", 21).unwrap().unwrap().tracking_number,
        first.tracking_number,
        "the same until decided"
    );
    let second = s.assign_review("r2", 22).unwrap().unwrap();
    assert_ne!(second.tracking_number, first.tracking_number, "one reviewer per item");
    assert_eq!(s.assign_review("r3", 23).unwrap(), None, "both are taken");
    assert_eq!(s.review_counts().unwrap(), (0, 2));
    let qc = s.review_item("QC-20261121-0000017").unwrap().unwrap();
    assert_eq!(qc.pending_reason.as_deref(), Some("age_review"));
    assert!(qc.liveness_json.as_deref().unwrap().contains("head_turn"));
    assert_eq!((qc.decision.as_deref(), qc.decided_at), (None, None));
    assert!(!format!("{qc:?}").contains("440524188001010014"), "Debug masks the ID number");
    assert_eq!(s.review_item("QC-20261121-0000033").unwrap(), None, "never assigned");
}

fn a_decision_changes_the_status_and_deletes_the_face_in_one_go(s: &dyn Store) {
    pending(s, "ES-20261121-0000025", "employment_subsidy", "received", Some("13812345678"));
    let item = s.assign_review("r1", 20).unwrap().unwrap();
    assert_eq!(item.tracking_number, "ES-20261121-0000025");
    let decision = ReviewDecision {
        tracking_number: item.tracking_number.clone(),
        reviewer: "r2".into(),
        decision: "approved".into(),
        reason: "eligible".into(),
        at: 30,
    };
    assert_eq!(s.decide_review(&decision).unwrap(), DecideOutcome::NotAssigned, "another reviewer's item");
    assert_eq!(s.application(&item.tracking_number).unwrap().unwrap().status, "received");
    let decision = ReviewDecision { reviewer: "r1".into(), ..decision };
    assert_eq!(s.decide_review(&decision).unwrap(), DecideOutcome::Decided { phone: Some("13812345678".into()) });
    assert_eq!(s.application(&item.tracking_number).unwrap().unwrap().status, "approved");
    assert_eq!(s.face_image(&item.tracking_number).unwrap(), None, "the face went with the decision");
    let decided = s.review_item(&item.tracking_number).unwrap().unwrap();
    assert_eq!(
        (decided.reviewer.as_str(), decided.decision.as_deref(), decided.reason.as_deref(), decided.decided_at),
        ("r1", Some("approved"), Some("eligible"), Some(30)),
        "who, what, why and when"
    );
    assert_eq!(decided.liveness_json, None, "the review material went too");
    assert_eq!(s.decide_review(&ReviewDecision { at: 31, ..decision.clone() }).unwrap(), DecideOutcome::AlreadyDecided);
    assert_eq!(
        s.review_item(&item.tracking_number).unwrap().unwrap().decided_at,
        Some(30),
        "the first decision stands"
    );
    assert_eq!(s.assign_review("r1", 40).unwrap(), None, "a decided item is not handed out again");
    let unknown = ReviewDecision { tracking_number: "QC-20261121-0000099".into(), ..decision };
    assert_eq!(s.decide_review(&unknown).unwrap(), DecideOutcome::NotAssigned);
}

#[test]
fn postgres_reviewers_at_two_instances_never_get_the_same_item() {
    let cluster = PgCluster::start();
    let (a, b) = (PgStore::open(&cluster.url()).unwrap(), PgStore::open(&cluster.url()).unwrap());
    for n in 0..12 {
        let tracking = format!("QC-20261121-{:07}", 100 + n);
        pending(&a, &tracking, "qualification_check", "under_review", None);
    }
    // Two reviewers on each instance take and decide items as fast as they can.
    fn work(store: &PgStore, reviewer: &'static str) -> Vec<String> {
        let mut mine = Vec::new();
        while let Some(item) = store.assign_review(reviewer, 50).unwrap() {
            let d = ReviewDecision {
                tracking_number: item.tracking_number.clone(),
                reviewer: reviewer.into(),
                decision: "approved".into(),
                reason: "identity_confirmed".into(),
                at: 60,
            };
            assert!(matches!(store.decide_review(&d).unwrap(), DecideOutcome::Decided { phone: None }));
            mine.push(item.tracking_number);
        }
        mine
    }
    let decided: Vec<Vec<String>> = std::thread::scope(|s| {
        let (a, b) = (&a, &b);
        let handles = [
            s.spawn(move || work(a, "r1")),
            s.spawn(move || work(b, "r2")),
            s.spawn(move || work(a, "r3")),
            s.spawn(move || work(b, "r4")),
        ];
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<String> = decided.into_iter().flatten().collect();
    all.sort();
    let before = all.len();
    all.dedup();
    assert_eq!((before, all.len()), (12, 12), "each item decided once, by one reviewer");
    assert_eq!(cluster.psql("SELECT count(*) FROM applications WHERE status = 'approved'"), "12");
    assert_eq!(cluster.psql("SELECT count(*) FROM face_images"), "0");
}

#[test]
fn postgres_over_tls_verifies_the_server_and_its_name_against_the_ca_in_the_url() {
    let (cluster, ca) = PgCluster::start_tls();
    let url = format!("{}?sslmode=verify-full&sslrootcert={}", cluster.url(), ca.display());
    let store = PgStore::open(&url).unwrap();
    assert_eq!(store.connection_tls().unwrap().as_deref(), Some("TLSv1.3"));
    let seen = PgStore::inspect(&url).unwrap();
    assert_eq!((seen.schema_version, seen.tls.as_deref()), (POSTGRES_MIGRATIONS.len(), Some("TLSv1.3")));
    // Every session the store holds (the pool's and the one naming the instance) is
    // encrypted; the server accepts plain ones too, so this is the store's doing.
    let sessions = cluster.psql(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) FROM pg_stat_activity a \
         JOIN pg_stat_ssl s USING (pid) WHERE a.datname = 'central' AND a.backend_type = 'client backend' \
         AND a.pid <> pg_backend_pid()",
    );
    let (encrypted, plain) = sessions.split_once('|').unwrap();
    assert!(encrypted.parse::<u32>().unwrap() >= 2, "{sessions}");
    assert_eq!(plain, "0", "{sessions}");
    drop(store);
    // Without TLS settings the connection is plain, and `central check` says so.
    assert_eq!(PgStore::inspect(&cluster.url()).unwrap().tls, None);
    // A server whose certificate another CA signed is refused, and so is one reached by
    // a name its certificate does not carry.
    let other_dir = tempfile::tempdir().unwrap();
    let other = other_dir.path().join("other-ca.pem");
    let key = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&other, rcgen::CertificateParams::new(vec![]).unwrap().self_signed(&key).unwrap().pem()).unwrap();
    let e = PgStore::open(&format!("{}?sslrootcert={}", cluster.url(), other.display())).unwrap_err();
    assert!(format!("{e}").contains("certificate"), "{e}");
    let by_name = cluster.url().replace("127.0.0.1", "localhost");
    let e = PgStore::open(&format!("{by_name}?sslmode=verify-full&sslrootcert={}", ca.display())).unwrap_err();
    assert!(format!("{e}").contains("certificate"), "{e}");
}

fn release_record(version: &str, sha: char, at: i64) -> ReleaseRecord {
    ReleaseRecord {
        package: "kiosk".into(),
        version: version.into(),
        architecture: "arm64".into(),
        sha256: sha.to_string().repeat(64),
        size: 1234,
        signed_release_json: format!(r#"{{"manifest":{{"version":"{version}"}}}}"#),
        published_at: at,
    }
}

fn releases_are_published_once_and_found_by_version_and_sha256(s: &dyn Store) {
    let r = release_record("0.2.0", 'a', 100);
    assert!(s.insert_release(&r).unwrap());
    assert!(!s.insert_release(&ReleaseRecord { sha256: "b".repeat(64), ..r.clone() }).unwrap(), "once");
    assert_eq!(s.release("0.2.0", "arm64").unwrap(), Some(r.clone()), "the first stays");
    assert_eq!(s.release("0.2.0", "amd64").unwrap(), None);
    assert_eq!(s.release_by_sha256(&"a".repeat(64)).unwrap(), Some(r));
    assert_eq!(s.release_by_sha256(&"b".repeat(64)).unwrap(), None);
}

fn a_new_rollout_supersedes_the_current_one_and_pausing_moves_only_from_its_state(s: &dyn Store) {
    assert_eq!(s.active_rollout("arm64").unwrap(), None);
    let first = s.start_rollout("0.2.0", "arm64", Some(10), None, 100).unwrap();
    let amd = s.start_rollout("0.2.0", "amd64", Some(50), None, 100).unwrap();
    let r = s.active_rollout("arm64").unwrap().unwrap();
    assert_eq!((r.id, r.percent, r.devices.as_ref(), r.state.as_str()), (first, Some(10), None, ROLLOUT_ACTIVE));
    assert!(s.widen_rollout(first, 25, 105).unwrap());
    assert!(!s.widen_rollout(first, 20, 106).unwrap(), "only up");
    assert_eq!(s.rollout(first).unwrap().unwrap().percent, Some(25));
    assert!(s.set_rollout_state(first, ROLLOUT_ACTIVE, ROLLOUT_PAUSED, 110).unwrap());
    assert!(!s.set_rollout_state(first, ROLLOUT_ACTIVE, ROLLOUT_PAUSED, 111).unwrap(), "paused already");
    assert_eq!(s.active_rollout("arm64").unwrap(), None, "a paused rollout offers nothing");
    let devices = vec!["KT-1".to_owned(), "KT-2".to_owned()];
    let second = s.start_rollout("0.2.1", "arm64", None, Some(&devices), 120).unwrap();
    assert!(second > first);
    let old = s.rollout(first).unwrap().unwrap();
    assert_eq!((old.state.as_str(), old.updated_at), (ROLLOUT_SUPERSEDED, 120), "a paused one is superseded too");
    assert!(!s.set_rollout_state(first, ROLLOUT_PAUSED, ROLLOUT_ACTIVE, 130).unwrap(), "superseded stays so");
    assert!(!s.widen_rollout(first, 50, 130).unwrap(), "nor widens");
    let r = s.active_rollout("arm64").unwrap().unwrap();
    assert_eq!((r.id, r.percent, r.devices), (second, None, Some(devices)));
    assert_eq!(s.active_rollout("amd64").unwrap().unwrap().id, amd, "other architectures untouched");
    let ids: Vec<i64> = s.rollouts().unwrap().iter().map(|r| r.id).collect();
    let mut newest_first = vec![first, amd, second];
    newest_first.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first);
    assert_eq!(s.rollout(9999).unwrap(), None);
}

fn a_later_update_outcome_replaces_an_earlier_one_and_a_late_resend_does_not(s: &dyn Store) {
    let outcome = |o: &str, reason: Option<&str>, at: i64| UpdateOutcome {
        device_id: "KT-1".into(),
        version: "0.2.0".into(),
        outcome: o.into(),
        reason: reason.map(str::to_owned),
        at,
    };
    assert_eq!(s.update_outcome("KT-1", "0.2.0").unwrap(), None);
    s.record_update_outcome(&outcome("rolled_back", Some("self-test failed"), 100)).unwrap();
    s.record_update_outcome(&outcome("installed", None, 200)).unwrap();
    assert_eq!(s.update_outcome("KT-1", "0.2.0").unwrap(), Some(outcome("installed", None, 200)));
    s.record_update_outcome(&outcome("rolled_back", Some("self-test failed"), 100)).unwrap();
    assert_eq!(s.update_outcome("KT-1", "0.2.0").unwrap(), Some(outcome("installed", None, 200)), "late re-send");
    s.record_update_outcome(&UpdateOutcome { device_id: "KT-2".into(), ..outcome("refused", Some("bad"), 300) })
        .unwrap();
    let all = s.update_outcomes("0.2.0").unwrap();
    assert_eq!(all.iter().map(|o| o.device_id.as_str()).collect::<Vec<_>>(), ["KT-2", "KT-1"], "newest first");
    assert!(s.update_outcomes("0.3.0").unwrap().is_empty());
}
