//! A soak through the whole terminal: complete sessions (card read by the real driver
//! on its simulator, contribution record from the real central service over mutual
//! TLS, the rating through the outbox; every tenth a progress lookup by typed
//! number), then the terminal's resident memory is compared with where it stood after
//! a warm-up, the outbox must drain and the audit chain must verify.
//!
//! 300 sessions in the everyday suite (under a minute); `KIOSK_SOAK=1` runs 10,000
//! (about half an hour here).
// Helpers of a test crate: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use central::registry::{WORKER_ID, WORKER_NAME};
use hardware_tests::Rig;
use session::{Intent, RatingGrade, Screen, Service};
use std::time::{Duration, Instant};

const WARM_UP: usize = 50;

fn sessions() -> usize {
    if std::env::var_os("KIOSK_SOAK").is_some_and(|v| v == "1") { 10_000 } else { 300 }
}

/// Resident memory of this process (terminal, simulators and central), in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn contributions_session(rig: &Rig, grade: RatingGrade) {
    let mark = rig.begin(WORKER_ID, WORKER_NAME, Service::ContributionRecord).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Contributions { .. })).await;
    rig.touch(Intent::Done).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Rating { .. })).await;
    rig.touch(Intent::Rate { grade, reasons: vec![] }).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Menu { notice: Some(_), .. })).await;
    rig.touch(Intent::Exit).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Welcome { .. })).await;
    rig.reader.remove().await;
}

async fn lookup_session(rig: &Rig) {
    let mark = rig.screens.count();
    rig.touch(Intent::Choose(Service::ApplicationProgress)).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::TrackingEntry { .. })).await;
    // A well-formed number nobody was given: central says "not found", and the
    // citizen leaves from the entry screen.
    rig.touch(Intent::SubmitTracking("QC-20261121-0004837".into())).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::TrackingEntry { error: Some(_), .. })).await;
    rig.touch(Intent::Back).await;
    rig.screens.wait_for(mark + 1, |s| matches!(s, Screen::Welcome { .. })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_sessions_leave_memory_flat_the_outbox_empty_and_the_chain_intact() {
    let total = sessions();
    let rig = Rig::start_for_soak().await.unwrap();
    rig.screens.wait_for(0, |s| matches!(s, Screen::Welcome { .. })).await;
    let grades = [RatingGrade::VerySatisfied, RatingGrade::Satisfied, RatingGrade::Neutral];
    let started = Instant::now();
    let mut rss_start = 0;
    for i in 0..total {
        if i == WARM_UP {
            rss_start = rss_kib();
        }
        if i % 10 == 9 {
            lookup_session(&rig).await;
        } else {
            contributions_session(&rig, grades[i % grades.len()]).await;
        }
        rig.screens.forget_before(rig.screens.count());
    }
    let elapsed = started.elapsed();
    // The ratings drain.
    let deadline = Instant::now() + Duration::from_secs(120);
    while rig.terminal.outbox.lock().stats().unwrap().depth > 0 {
        assert!(Instant::now() < deadline, "the outbox never drained");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rss_end = rss_kib();
    let stats = rig.terminal.outbox.lock().stats().unwrap();
    let ratings = total - total / 10;
    assert!(stats.delivered_total as usize >= ratings, "{} delivered, {ratings} ratings given", stats.delivered_total);
    assert_eq!((stats.rejected_total, stats.quarantined_total, stats.held_total), (0, 0, 0));
    let records = rig.terminal.audit.lock().unwrap().verify().unwrap().expect("the audit chain verifies");
    let sessions_counted = rig.terminal.metrics.sessions_started.load(std::sync::atomic::Ordering::Relaxed);
    assert!(sessions_counted as usize >= total, "{sessions_counted} sessions counted");
    let growth = rss_end.saturating_sub(rss_start);
    println!(
        "soak: {total} sessions in {:.0} s ({:.0} ms each), RSS after {WARM_UP}: {} KiB, at the end: {} KiB \
         (+{growth} KiB), {} outbox items delivered, {records} audit records verified",
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / total as f64,
        rss_start,
        rss_end,
        stats.delivered_total,
    );
    // Flat: what a leak of even 1 KiB per session would break on the long run, and a
    // bound on allocator noise on the short one.
    let bound = 16 * 1024 + (total as u64) / 4;
    assert!(growth < bound, "resident memory grew by {growth} KiB over {total} sessions (bound {bound} KiB)");
}
