//! What operations see of a terminal comes from the terminal itself: a clean shutdown
//! is shown as powered off at once, and its next start as serving again.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hardware_tests::Rig;
use std::time::{Duration, Instant};

/// Polls central's record of the terminal until `pred` holds (the heartbeat interval
/// of the test terminal is 2 s).
async fn until(rig: &Rig, what: &str, pred: impl Fn(&central::store::TerminalRow) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let row = rig.central.store().terminal(&rig.device_id).unwrap().unwrap();
        if pred(&row) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {row:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_shutdown_is_shown_as_powered_off_at_once() {
    let rig = Rig::start().await.unwrap();
    until(&rig, "a first heartbeat", |t| t.last_seen.is_some()).await;
    let started = Instant::now();
    rig.terminal.announce_power_off().await.expect("central told");
    let row = rig.central.store().terminal(&rig.device_id).unwrap().unwrap();
    assert_eq!(row.mode.as_deref(), Some("powered_off"), "recorded before the call returned");
    eprintln!("powered off shown {:?} after the shutdown began", started.elapsed());
    // The terminal keeps running in this test: its next heartbeat says it is on again.
    until(&rig, "serving again after a heartbeat", |t| t.mode.is_none()).await;
}
