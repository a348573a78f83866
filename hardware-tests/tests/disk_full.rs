//! A full disk under the outbox and the audit trail (a real 8 MiB tmpfs, filled by a
//! file): the terminal stops every service with a plain "out of service" reason
//! instead of taking applications it cannot keep, keeps the audit records it could
//! not write, and resumes by itself once there is room, with the chain intact.
//!
//! Needs root (to mount the tmpfs), as `scripts/test` runs on CI.
// Helpers of a test crate: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use central::registry::{APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME};
use hardware_tests::Rig;
use session::{Device, Intent, Screen, Service, ServiceTile};
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// Unmounts the tmpfs when the test ends, whatever happens.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(at)
            .status()
            .expect("mount(8) is installed");
        assert!(status.success(), "mounting a tmpfs needs root: run the suite as root (scripts/test does on CI)");
        Self(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn all_stopped_for_storage(tiles: &[ServiceTile]) -> bool {
    tiles.iter().all(|t| t.unavailable.as_ref().is_some_and(|u| u.device == Device::Storage))
}

/// Writes a file until the disk refuses: the disk is then full.
fn fill(path: &Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5Au8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    let _ = file.sync_all();
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_every_service_loses_nothing_and_recovers() {
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("kiosk");
    let _tmpfs = Tmpfs::mount(&data, "8m");
    let rig = Rig::start_on(&data).await.unwrap();
    rig.screens
        .wait_for(0, |s| matches!(s, Screen::Welcome { tiles, .. } if tiles.iter().all(|t| t.unavailable.is_none())))
        .await;

    // One application before the disk fills: it must reach the central service.
    let mark = rig.begin(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, Service::ContributionRecord).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Contributions { .. })).await;
    rig.reader.remove().await;

    let filler = data.join("filler");
    let filled = fill(&filler);
    let started = Instant::now();
    let mark = rig.screens.count();
    let stopped = rig
        .screens
        .wait_for(mark, |s| matches!(s, Screen::Welcome { tiles, .. } if all_stopped_for_storage(tiles)))
        .await;
    let noticed = started.elapsed();
    assert!(noticed < Duration::from_secs(10), "the full disk was noticed after {noticed:?}");
    let Screen::Welcome { tiles, .. } = stopped else { unreachable!() };
    assert_eq!(tiles.len(), Service::ALL.len());

    // A citizen arrives anyway: the card is read, nothing can be started, and the
    // audit record of the read waits in memory.
    let mark = rig.screens.count();
    rig.reader.place(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await;
    let menu = rig.screens.wait_for(mark, |s| matches!(s, Screen::Menu { .. })).await;
    let Screen::Menu { tiles, .. } = menu else { unreachable!() };
    assert!(all_stopped_for_storage(&tiles), "{tiles:?}");
    rig.touch(Intent::Choose(Service::UnemploymentRegistration)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !rig.screens.all()[mark..].iter().any(|s| matches!(s, Screen::RegistrationForm { .. })),
        "no application may start on a full disk"
    );
    rig.reader.remove().await;

    // Room again: the services come back by themselves, the waiting records are
    // written, and the chain still verifies.
    std::fs::remove_file(&filler).unwrap();
    let mark = rig.screens.count();
    let back = Instant::now();
    rig.screens
        .wait_for(mark, |s| matches!(s, Screen::Welcome { tiles, .. } if tiles.iter().all(|t| t.unavailable.is_none())))
        .await;
    let recovered = back.elapsed();
    let log = rig.terminal.audit.lock().unwrap();
    let records = log.verify().unwrap().expect("the audit chain is intact");
    let actions: Vec<String> = log.unshipped(10_000).unwrap().into_iter().map(|e| e.action).collect();
    drop(log);
    let reads = rig.terminal.metrics.sessions_started.load(std::sync::atomic::Ordering::Relaxed);
    assert!(reads >= 2, "both sessions were counted");
    assert!(
        log_has_card_read_after_storage_fault(&rig),
        "the card read during the outage was written once the disk had room"
    );
    println!(
        "disk full: filled {filled} bytes, noticed in {noticed:?}, recovered in {recovered:?}, {records} audit records intact; unshipped actions: {}",
        actions.len()
    );
}

/// The audit trail holds a `device.storage` fault followed by a card read.
fn log_has_card_read_after_storage_fault(rig: &Rig) -> bool {
    let log = rig.terminal.audit.lock().unwrap();
    let conn = log.connection();
    let fault: Option<i64> = conn
        .query_row("SELECT MIN(seq) FROM audit WHERE action = 'device.storage' AND outcome != 'ok'", [], |r| r.get(0))
        .unwrap();
    let Some(fault) = fault else { return false };
    let reads: i64 = conn
        .query_row("SELECT COUNT(*) FROM audit WHERE action LIKE 'card.read%' AND seq > ?1", [fault], |r| r.get(0))
        .unwrap();
    reads >= 1
}
