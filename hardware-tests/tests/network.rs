//! The network dying in the middle of a submission: the citizen leaves with a "queued"
//! receipt, and the terminal's outbox later delivers the application exactly once.
// Helpers of a test crate: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use central::registry::{APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME};
use hardware_tests::Rig;
use kiosk::outbox::sender::{Attempt, Settled};
use kiosk::runtime::convert::{delivered, queued_reference};
use session::{ApplicationProgress, Delivery, Intent, ReceiptState, Screen, Service};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use ui::model::ApplicationStatus;

/// Terminal bytes on one connection after which the link misbehaves: far above what
/// telemetry sends in a test (a few KiB), far below a qualification check carrying its
/// face photo (about 100 KiB on the wire), so only the submission trips it.
const LARGE_REQUEST: usize = 48 * 1024;

/// Generous limit for "must not hang" waits.
const HANG: Duration = Duration::from_secs(60);

/// Every delivery result the outbox announces from now on, in order.
fn record_settled(rig: &Rig) -> Arc<Mutex<Vec<Settled>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut feed = rig.terminal.outbox.settled.subscribe();
    let sink = seen.clone();
    tokio::spawn(async move {
        while let Ok(settled) = feed.recv().await {
            sink.lock().unwrap().push(settled);
        }
    });
    seen
}

async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + HANG;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what}: never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Card in, qualification check chosen; stops at the identity confirmation, so the
/// test can arm the link just before the submission starts.
async fn up_to_confirmation(rig: &Rig) {
    rig.reader.place(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::Menu { .. })).await;
    rig.touch(Intent::Choose(Service::QualificationCheck)).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::Identity { .. })).await;
}

/// The printed receipt must say "queued"; returns its reference.
async fn queued_receipt(rig: &Rig) -> String {
    let Screen::Receipt { delivery, .. } =
        rig.screens.wait_for(0, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. })).await
    else {
        unreachable!()
    };
    let Delivery::Queued { reference } = delivery else { panic!("expected a queued receipt, got {delivery:?}") };
    let printed = rig.printer.printed();
    assert!(printed.iter().any(|r| r.contains("已保存，网络恢复后自动提交") && r.contains(&reference)), "{printed:?}");
    reference
}

/// The submission's idempotency key, from the failed attempt the cut caused. The first
/// failure after arming must be the submission's: the cut hit it, not some telemetry.
async fn failed_submission_key(settled: &Mutex<Vec<Settled>>, reference: &str) -> String {
    let key = eventually("a failed delivery attempt", || {
        settled.lock().unwrap().iter().find(|s| matches!(s.attempt, Attempt::Retry { .. })).map(|s| s.key.clone())
    })
    .await;
    assert_eq!(queued_reference(&key), reference, "the first failed delivery was not the submission");
    key
}

/// The item is still in the outbox under its key, body sealed, no answer recorded.
fn assert_pending(rig: &Rig, key: &str) {
    let outbox = rig.terminal.outbox.lock();
    assert!(outbox.sealed_bytes(key).unwrap().is_some(), "submission no longer stored in the outbox");
    assert_eq!(outbox.response(key).unwrap(), None, "submission recorded as delivered while the link is down");
    assert!(outbox.stats().unwrap().depth >= 1);
}

fn applications(rig: &Rig) -> i64 {
    rig.central.store().activity_counts().unwrap().applications
}

/// After the link returns: the outbox drains, central holds exactly one more application,
/// and it is the one the terminal recorded under the receipt's key. Returns the tracking number.
async fn delivered_once(rig: &Rig, settled: &Mutex<Vec<Settled>>, key: &str, before: i64) -> String {
    eventually("outbox drained after the network returned", || {
        (rig.terminal.outbox.lock().stats().unwrap().depth == 0).then_some(())
    })
    .await;
    assert_eq!(applications(rig) - before, 1, "the application must be stored exactly once");

    let (status, body) = rig.terminal.outbox.lock().response(key).unwrap().expect("delivered under the receipt's key");
    assert!((200..300).contains(&status), "HTTP {status}");
    let Some(Delivery::Submitted { tracking, .. }) = delivered(contract::paths::QUALIFICATION_CHECKS, &body) else {
        panic!("recorded answer unreadable: {}", String::from_utf8_lossy(&body))
    };
    let application = rig.central.store().application(&tracking).unwrap().expect("central knows the tracking number");
    assert_eq!(
        (application.kind.as_str(), application.id_number.as_str(), application.device_id.as_str()),
        ("qualification_check", APPROVED_PENSIONER_ID, rig.device_id.as_str())
    );
    // Central stored it under the key the terminal kept, so the queued receipt finds it.
    assert_eq!(application.client_reference, Some(contract::client_reference(key)));
    let by_receipt = rig.central.store().application_by_client_reference(&queued_reference(key)).unwrap();
    assert_eq!(by_receipt.map(|a| a.tracking_number), Some(tracking.clone()));

    // The same key throughout: it failed, then was accepted once, with the body recorded.
    // (The outbox records the delivery before it announces it.)
    let attempts = eventually("the accepted delivery announced", || {
        let attempts: Vec<Attempt> =
            settled.lock().unwrap().iter().filter(|s| s.key == key).map(|s| s.attempt.clone()).collect();
        attempts.iter().any(|a| matches!(a, Attempt::Accepted { .. })).then_some(attempts)
    })
    .await;
    let accepted: Vec<_> = attempts.iter().filter(|a| matches!(a, Attempt::Accepted { .. })).collect();
    assert_eq!(accepted, [&Attempt::Accepted { status, body }], "{attempts:?}");
    assert!(matches!(attempts.last(), Some(Attempt::Accepted { .. })), "{attempts:?}");
    tracking
}

/// From a finished service (receipt or progress screen) past the rating to the menu,
/// then "track an application" with `number`, as the citizen types it.
async fn look_up(rig: &Rig, number: &str) -> ApplicationProgress {
    let mark = rig.screens.count();
    rig.touch(Intent::Done).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Rating { .. })).await;
    rig.touch(Intent::SkipRating).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Menu { .. })).await;
    let mark = rig.screens.count();
    rig.touch(Intent::Choose(Service::ApplicationProgress)).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::TrackingEntry { .. })).await;
    rig.touch(Intent::SubmitTracking(number.into())).await;
    let found = rig
        .screens
        .wait_for(mark, |s| {
            matches!(s, Screen::Progress(_) | Screen::Failed { .. } | Screen::TrackingEntry { error: Some(_), .. })
        })
        .await;
    let Screen::Progress(progress) = found else { panic!("{number} not found: {found:?}") };
    progress
}

/// Central's `central_idempotent_replays_total`, read straight from the service.
async fn idempotent_replays(rig: &Rig) -> u64 {
    let ca = reqwest::Certificate::from_pem(rig.central.ca_pem().as_bytes()).unwrap();
    let http = reqwest::Client::builder().add_root_certificate(ca).build().unwrap();
    let url = format!("https://127.0.0.1:{}{}", rig.central.local_addr().port(), contract::paths::METRICS);
    let text = http
        .get(url)
        .bearer_auth(rig.central.metrics_token())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        // `central_idempotent_replays_total{instance="…"} 3`
        .find_map(|l| l.strip_prefix("central_idempotent_replays_total{").and_then(|rest| rest.rsplit_once(' ')))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no replay counter in {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_while_sending_gives_a_queued_receipt_and_the_retry_delivers_once() {
    let rig = Rig::start().await.unwrap();
    up_to_confirmation(&rig).await;
    let before = applications(&rig);
    let settled = record_settled(&rig);
    rig.link.cut_mid_request(LARGE_REQUEST);
    rig.touch(Intent::Confirm).await;

    let cut = rig.link.mid_request_cut().await;
    assert_eq!(cut.forwarded, LARGE_REQUEST);
    assert!(cut.dropped > 0, "the terminal was still sending when the link died: {cut:?}");
    let reference = queued_receipt(&rig).await;
    let key = failed_submission_key(&settled, &reference).await;
    assert_pending(&rig, &key);
    // Half a request is not an application.
    assert_eq!(applications(&rig), before, "a cut-off request must not be stored");
    // The citizen tracks the receipt's reference while the network is still down:
    // the terminal answers from its outbox instead of "not found".
    let held = look_up(&rig, &reference).await;
    assert_eq!((held.service, held.status), (Service::QualificationCheck, ApplicationStatus::Queued));
    assert_eq!(held.tracking, reference);

    rig.link.restore();
    let tracking = delivered_once(&rig, &settled, &key, before).await;
    // Once delivered, the same reference is answered by the central service.
    let sent = look_up(&rig, &reference).await;
    assert_eq!(sent.tracking, tracking);
    assert_ne!(sent.status, ApplicationStatus::Queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answer_lost_after_central_committed_gives_a_queued_receipt_and_the_retry_is_replayed() {
    let rig = Rig::start().await.unwrap();
    up_to_confirmation(&rig).await;
    let before = applications(&rig);
    let replays_before = idempotent_replays(&rig).await;
    let settled = record_settled(&rig);
    rig.link.hold_answers_after(LARGE_REQUEST);
    rig.touch(Intent::Confirm).await;

    // Central has stored the application and answered; the answer is on the wire, held.
    eventually("the application stored at central", || (applications(&rig) > before).then_some(())).await;
    assert!(rig.link.answer_held().await > 0);
    rig.link.cut();

    let reference = queued_receipt(&rig).await;
    let key = failed_submission_key(&settled, &reference).await;
    assert_pending(&rig, &key);
    assert_eq!(applications(&rig) - before, 1);

    rig.link.restore();
    delivered_once(&rig, &settled, &key, before).await;
    // The retry was answered from central's idempotency record, not run again.
    assert!(idempotent_replays(&rig).await > replays_before, "the retry was not answered by a replay");
}
