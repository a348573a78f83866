//! A terminal operations retire: the next thing it sends is refused as decommissioned,
//! and the terminal goes out of service on its own, wipes what it held (the backlog
//! central lists as lost, counted on both sides), sends nothing more, and stays out of
//! service across a restart until it is enrolled again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hardware_tests::Rig;
use kiosk::outbox::{ItemKind, Outbox, RETIRED_FILE};
use session::{Device, Screen, ServiceTile};
use std::time::{Duration, Instant};

fn out_of_service(tiles: &[ServiceTile]) -> bool {
    tiles.iter().all(|t| t.unavailable.as_ref().is_some_and(|u| u.device == Device::Enrollment))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decommissioned_terminal_goes_out_of_service_and_keeps_nothing_personal() {
    let dir = tempfile::tempdir().unwrap();
    let kiosk_dir = dir.path().join("kiosk");
    let rig = Rig::start_on(&kiosk_dir).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while rig.central.store().terminal(&rig.device_id).unwrap().and_then(|t| t.last_seen).is_none() {
        assert!(Instant::now() < deadline, "no first heartbeat");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The network is down while a citizen's application waits in the outbox; central's
    // operators retire the terminal meanwhile.
    rig.link.cut();
    let body = hardware_tests::qualification_check_body();
    rig.terminal
        .outbox
        .lock()
        .enqueue(ItemKind::Submission, contract::paths::QUALIFICATION_CHECKS, &body, kiosk::outbox::sender::now_ms())
        .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    rig.central.store().decommission_device(&rig.device_id, now).unwrap().expect("retired");
    let mark = rig.screens.count();
    rig.link.restore();
    rig.terminal.outbox.wake.notify_one();

    let shown =
        rig.screens.wait_for(mark, |s| matches!(s, Screen::Welcome { tiles, .. } if out_of_service(tiles))).await;
    assert!(matches!(shown, Screen::Welcome { .. }));
    assert!(rig.terminal.outbox.is_retired());

    // Nothing personal stays: no rows, no sealing key; what was lost is written down.
    let outbox_dir = kiosk_dir.join("outbox");
    assert!(!outbox_dir.join("outbox.key").exists());
    assert_eq!(rig.terminal.outbox.lock().stats().unwrap().depth, 0);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(outbox_dir.join(RETIRED_FILE)).unwrap()).unwrap();
    assert_eq!(record["lost"]["submissions"], 1, "{record}");
    // Nothing more is sent: the terminal's record at central stops moving.
    let seen = rig.central.store().terminal(&rig.device_id).unwrap().unwrap().last_seen;
    tokio::time::sleep(Duration::from_secs(5)).await; // more than two heartbeat intervals
    assert_eq!(rig.central.store().terminal(&rig.device_id).unwrap().unwrap().last_seen, seen);

    // Restarted, it is still out of service; enrolled again, it starts clean.
    drop(rig);
    let again = Outbox::open(&outbox_dir, Default::default()).unwrap();
    assert!(again.is_retired());
    drop(again);
    Outbox::clear_retired(&outbox_dir).unwrap();
    let fresh = Outbox::open(&outbox_dir, Default::default()).unwrap();
    assert!(!fresh.is_retired());
    assert_eq!(fresh.stats().unwrap().depth, 0);
}

/// Retired between the citizen's card and their "submit": the application must not end
/// on a "queued" receipt, since what the terminal held is wiped; it fails on screen (or,
/// when a heartbeat learnt of the retirement first, the service closes under them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_submitting_as_the_terminal_is_retired_gets_no_queued_receipt() {
    use central::registry::{WORKER_ID, WORKER_NAME};
    use session::{Intent, Notice, Service};
    let rig = Rig::start().await.unwrap();
    let mark = rig.begin(WORKER_ID, WORKER_NAME, Service::UnemploymentRegistration).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::RegistrationForm { .. })).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    rig.central.store().decommission_device(&rig.device_id, now).unwrap().expect("retired");
    rig.touch(Intent::SubmitRegistration {
        phone: "13812345678".into(),
        reason: Some(session::UnemploymentReason::Resigned),
    })
    .await;
    let end = rig
        .screens
        .wait_for(mark, |s| {
            matches!(
                s,
                Screen::Failed { .. }
                    | Screen::Receipt { .. }
                    | Screen::Menu { notice: Some(Notice::ServiceBecameUnavailable), .. }
            )
        })
        .await;
    assert!(!matches!(end, Screen::Receipt { .. }), "no receipt for a wiped application: {end:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !rig.terminal.outbox.is_retired() {
        assert!(Instant::now() < deadline, "never retired");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rig.terminal.outbox.lock().stats().unwrap().depth, 0, "nothing kept");
}
