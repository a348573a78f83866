use super::sender::{self, Attempt, Deliver, OutboxHandle};
use super::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const FACE: &[u8] = b"\xFF\xD8 synthetic face jpeg FACE-MARKER-0001";

fn open(dir: &Path, limits: Limits) -> Outbox {
    Outbox::open(dir, limits).unwrap()
}

#[test]
fn key_is_stored_before_any_attempt_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let key = open(dir.path(), Limits::default()).enqueue(ItemKind::Submission, "/v1/x", b"{}", 1).unwrap();
    let mut reopened = open(dir.path(), Limits::default());
    let due = reopened.due(1, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].key, key);
    assert_eq!(due[0].attempts, 0);
    assert_eq!(due[0].body, b"{}");
}

#[test]
fn face_images_are_sealed_on_disk_and_deleted_once_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = open(dir.path(), Limits::default());
    let key = outbox.enqueue(ItemKind::Submission, "/v1/qualification-checks", FACE, 1).unwrap();
    drop(outbox);
    let raw: Vec<u8> = ["outbox.sqlite", "outbox.sqlite-wal"]
        .iter()
        .filter_map(|f| std::fs::read(dir.path().join(f)).ok())
        .flatten()
        .collect();
    assert!(raw.len() > 1000);
    assert!(!raw.windows(16).any(|w| w == &FACE[8..24]), "face bytes are never on disk in clear");
    let mut outbox = open(dir.path(), Limits::default());
    assert!(outbox.sealed_bytes(&key).unwrap().is_some());
    let id = outbox.due(1, 1).unwrap()[0].id;
    outbox.delivered(id, 201, br#"{"tracking_number":"T-1"}"#).unwrap();
    assert_eq!(outbox.sealed_bytes(&key).unwrap(), None, "deleted once accepted");
    assert_eq!(outbox.response(&key).unwrap().unwrap().0, 201);
    assert!(outbox.due(i64::MAX, 10).unwrap().is_empty());
}

#[test]
fn retry_later_is_not_due_before_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = open(dir.path(), Limits::default());
    outbox.enqueue(ItemKind::Rating, "/v1/ratings", b"{}", 1_000).unwrap();
    let id = outbox.due(1_000, 1).unwrap()[0].id;
    outbox.retry_later(id, 5_000, "HTTP 503").unwrap();
    assert!(outbox.due(4_999, 10).unwrap().is_empty());
    assert_eq!(outbox.next_due_ms().unwrap(), Some(5_000));
    assert_eq!(outbox.due(5_000, 10).unwrap()[0].attempts, 1);
}

#[test]
fn over_budget_drops_telemetry_first_then_refuses_with_alarm() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { max_bytes: 1_000, alarm_bytes: 600 };
    let mut outbox = open(dir.path(), limits);
    for _ in 0..3 {
        outbox.enqueue(ItemKind::Telemetry, "/v1/telemetry", &[b'a'; 200], 1).unwrap();
    }
    let submission = outbox.enqueue(ItemKind::Submission, "/v1/registrations", &[b'b'; 300], 2).unwrap();
    assert!(outbox.stats().unwrap().alarm, "over the alarm threshold");
    assert_eq!(outbox.stats().unwrap().dropped_total, 1, "the oldest telemetry made room");
    let err = outbox.enqueue(ItemKind::Submission, "/v1/registrations", &[b'c'; 700], 3).unwrap_err();
    assert!(matches!(err, OutboxError::Full { limit: 1_000, .. }), "{err}");
    assert!(err.to_string().contains("outbox is full"));
    let keys: Vec<String> = outbox.due(10, 10).unwrap().iter().map(|i| i.key.clone()).collect();
    assert!(keys.contains(&submission), "submissions are never dropped");
}

#[test]
fn http_statuses_are_classified_per_the_idempotency_contract() {
    let table = [
        (200, "accepted"),
        (201, "accepted"),
        (409, "retry"),
        (429, "retry"),
        (503, "retry"),
        (400, "rejected"),
        (404, "rejected"),
        (422, "rejected"),
        // Who the terminal is, not what it sent: kept, sent again after re-enrollment.
        (401, "unauthorized"),
        (403, "unauthorized"),
        // Nothing said about the content: kept and retried.
        (405, "retry"),
        (431, "retry"),
    ];
    for (status, want) in table {
        let got = match Attempt::from_status(status, None, vec![]) {
            Attempt::Accepted { .. } => "accepted",
            Attempt::Retry { .. } => "retry",
            Attempt::Unauthorized { .. } => "unauthorized",
            Attempt::Rejected { .. } => "rejected",
            Attempt::Decommissioned => "decommissioned",
        };
        assert_eq!(got, want, "HTTP {status}");
    }
    // Only central's own word retires the terminal: a 403 with its problem type.
    let retired = serde_json::to_vec(&contract::ProblemType::DeviceDecommissioned.problem("retired")).unwrap();
    assert_eq!(Attempt::from_status(403, None, retired.clone()), Attempt::Decommissioned);
    assert_eq!(Attempt::from_status(401, None, retired), Attempt::Unauthorized { status: 401 });
    let other = serde_json::to_vec(&contract::ProblemType::DeviceNotAllowed.problem("revoked")).unwrap();
    assert_eq!(Attempt::from_status(403, None, other), Attempt::Unauthorized { status: 403 });
}

/// Answers 403 `device-decommissioned` to everything, counting the calls.
struct Decommissioned(Arc<AtomicUsize>);

impl Deliver for Decommissioned {
    async fn deliver(&self, _item: &OutboxItem) -> Attempt {
        self.0.fetch_add(1, Ordering::SeqCst);
        let body = serde_json::to_vec(&contract::ProblemType::DeviceDecommissioned.problem("retired")).unwrap();
        Attempt::from_status(403, None, body)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decommissioned_terminal_wipes_its_outbox_counts_what_was_lost_and_stays_retired() {
    let dir = tempfile::tempdir().unwrap();
    let handle = OutboxHandle::new(open(dir.path(), Limits::default()));
    {
        let mut outbox = handle.lock();
        outbox.enqueue(ItemKind::Submission, "/v1/a", FACE, 1).unwrap();
        outbox.enqueue(ItemKind::Submission, "/v1/b", FACE, 2).unwrap();
        outbox.enqueue(ItemKind::Rating, "/v1/ratings", b"{}", 3).unwrap();
    }
    let calls = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let backoff = backoff::Backoff { base: Duration::from_millis(1), cap: Duration::from_millis(2) };
    let task = tokio::spawn(sender::run(handle.clone(), Decommissioned(calls.clone()), backoff, stop.clone()));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !handle.is_retired() {
        assert!(std::time::Instant::now() < deadline, "never retired");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "nothing is sent after central said so");
    {
        let mut outbox = handle.lock();
        let rows: i64 = outbox.conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, 0, "nothing personal stays");
        assert!(!dir.path().join("outbox.key").exists(), "the sealing key is gone too");
        assert!(matches!(outbox.enqueue(ItemKind::Submission, "/v1/c", FACE, 4), Err(OutboxError::Retired)));
    }
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(RETIRED_FILE)).unwrap()).unwrap();
    assert_eq!(record["lost"]["submissions"], 2, "{record}");
    assert_eq!(record["lost"]["ratings"], 1, "{record}");
    stop.notify_waiters();
    task.await.unwrap();
    drop(handle);
    // A restart stays retired; enrolling again brings an empty outbox with a new key.
    let again = OutboxHandle::new(open(dir.path(), Limits::default()));
    assert!(again.is_retired());
    drop(again);
    Outbox::clear_retired(dir.path()).unwrap();
    let fresh = open(dir.path(), Limits::default());
    assert!(!fresh.is_retired());
    assert_eq!(fresh.stats().unwrap().depth, 0);
}

/// Answers 503 with Retry-After for the first `failures` attempts, then 201.
struct Flaky {
    failures: usize,
    calls: Arc<AtomicUsize>,
}

impl Deliver for Flaky {
    async fn deliver(&self, _item: &OutboxItem) -> Attempt {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < self.failures {
            Attempt::from_status(503, Some(Duration::from_millis(50)), vec![])
        } else {
            Attempt::from_status(201, None, b"ok".to_vec())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_retries_until_accepted_and_reports_submitted_or_queued() {
    let dir = tempfile::tempdir().unwrap();
    let handle = OutboxHandle::new(open(dir.path(), Limits::default()));
    let calls = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let backoff = backoff::Backoff { base: Duration::from_millis(10), cap: Duration::from_millis(100) };
    let task =
        tokio::spawn(sender::run(handle.clone(), Flaky { failures: 2, calls: calls.clone() }, backoff, stop.clone()));
    // The first answer is a 503: the citizen is told "queued" after the short wait.
    let (key, first) = handle.submit(ItemKind::Submission, "/v1/x", b"{}", Duration::from_secs(30)).await.unwrap();
    assert!(matches!(first, Some(Attempt::Retry { .. })), "{first:?}");
    let mut feed = handle.settled.subscribe();
    let settled = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let s = feed.recv().await.unwrap();
            if s.key == key && matches!(s.attempt, Attempt::Accepted { .. }) {
                return s;
            }
        }
    })
    .await
    .expect("delivered after the outage");
    assert_eq!(settled.attempt, Attempt::Accepted { status: 201, body: b"ok".to_vec() });
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(handle.lock().stats().unwrap().depth, 0);
    stop.notify_waiters();
    task.abort();
}

#[test]
fn a_queued_receipts_reference_finds_its_submission_until_it_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = open(dir.path(), Limits::default());
    let rating = outbox.enqueue(ItemKind::Rating, "/v1/ratings", b"{}", 5).unwrap();
    let first = outbox.enqueue(ItemKind::Submission, "/v1/registrations", br#"{"kind":"unemployment"}"#, 7).unwrap();
    let second = outbox.enqueue(ItemKind::Submission, "/v1/qualification-checks", FACE, 9).unwrap();
    let reference = |key: &str| contract::client_reference(key);

    let held = outbox.held_submission(&reference(&second)).unwrap().unwrap();
    assert_eq!((held.path.as_str(), held.created_ms, held.refused), ("/v1/qualification-checks", 9, false));
    assert_eq!(held.body, FACE);
    assert!(outbox.held_submission(&reference(&rating)).unwrap().is_none(), "only submissions have receipts");
    assert!(outbox.held_submission("0000000000000000").unwrap().is_none());

    let items = outbox.due(10, 10).unwrap();
    let id = |key: &str| items.iter().find(|i| i.key == key).unwrap().id;
    outbox.delivered(id(&first), 201, b"{}").unwrap();
    outbox.rejected(id(&second), 422, b"{}").unwrap();
    assert!(outbox.held_submission(&reference(&first)).unwrap().is_none(), "delivered: central answers for it");
    let refused = outbox.held_submission(&reference(&second)).unwrap().unwrap();
    assert!(refused.refused && refused.body.is_empty(), "refused, and its body (a face) is gone");
}

#[test]
fn a_row_that_will_not_open_is_quarantined_and_the_rest_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = open(dir.path(), Limits::default());
    let keys: Vec<String> = (0..3)
        .map(|i| outbox.enqueue(ItemKind::Submission, "/v1/registrations", format!("body-{i}").as_bytes(), 1).unwrap())
        .collect();
    // Flip one byte of the middle row's ciphertext, as a bad sector would.
    outbox
        .conn
        .execute("UPDATE outbox SET sealed = CAST(sealed || X'00' AS BLOB) WHERE idempotency_key = ?1", [&keys[1]])
        .unwrap();
    let due = outbox.due(10, 10).unwrap();
    let bodies: Vec<&[u8]> = due.iter().map(|i| i.body.as_slice()).collect();
    assert_eq!(bodies, [b"body-0".as_slice(), b"body-2"], "the rows behind the poison row still go");
    let aside = outbox.take_set_aside();
    assert!(matches!(aside.as_slice(), [SetAside::Quarantined { kind: ItemKind::Submission, .. }]), "{aside:?}");
    let stats = outbox.stats().unwrap();
    assert_eq!((stats.quarantined_total, stats.depth), (1, 2));
    assert!(outbox.sealed_bytes(&keys[1]).unwrap().is_some(), "kept, sealed, for a technician");
    assert_eq!(outbox.due(10, 10).unwrap().len(), 2, "quarantined once, not again on every poll");
    assert!(outbox.take_set_aside().is_empty());
}

#[test]
fn a_clock_step_backwards_does_not_freeze_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = open(dir.path(), Limits::default());
    let now = 1_790_000_000_000;
    outbox.enqueue(ItemKind::Submission, "/v1/registrations", b"{}", now).unwrap();
    let id = outbox.due(now, 1).unwrap()[0].id;
    outbox.retry_later(id, now + 30_000, "HTTP 503").unwrap();
    assert!(outbox.due(now + 29_000, 10).unwrap().is_empty(), "not before its time");
    // The clock is set back by a day (a bad NTP answer, a dead RTC battery).
    let stepped = now - 86_400_000;
    assert_eq!(outbox.due(stepped, 10).unwrap().len(), 1, "a schedule beyond any possible pause is due");
}

#[test]
fn a_submission_retried_past_the_idempotency_window_is_held_not_resent() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = open(dir.path(), Limits::default());
    let created = 1_790_000_000_000;
    let never_tried = outbox.enqueue(ItemKind::Submission, "/v1/registrations", b"a", created).unwrap();
    let tried = outbox.enqueue(ItemKind::Submission, "/v1/qualification-checks", FACE, created).unwrap();
    let id = outbox.due(created, 10).unwrap().iter().find(|i| i.key == tried).unwrap().id;
    outbox.retry_later(id, created + 1_000, "connection reset").unwrap();
    let later = created + HOLD_AFTER_MS + 1;
    let due = outbox.due(later, 10).unwrap();
    assert_eq!(due.iter().map(|i| i.key.clone()).collect::<Vec<_>>(), [never_tried], "never sent: safe to send");
    assert!(matches!(outbox.take_set_aside().as_slice(), [SetAside::Held { .. }]));
    assert_eq!(outbox.stats().unwrap().held_total, 1);
    let held = outbox.held_submission(&contract::client_reference(&tried)).unwrap().unwrap();
    assert_eq!((held.refused, held.body.as_slice()), (false, FACE), "still on the terminal, still findable");
}

#[test]
fn prune_forgets_finished_rows_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = open(dir.path(), Limits::default());
    for i in 0..4 {
        outbox.enqueue(ItemKind::Rating, "/v1/ratings", b"{}", i).unwrap();
    }
    let ids: Vec<i64> = outbox.due(10, 10).unwrap().iter().map(|i| i.id).collect();
    outbox.delivered(ids[0], 201, b"{}").unwrap();
    outbox.rejected(ids[1], 422, b"{}").unwrap();
    outbox.set_state(ids[2], "quarantined", "test").unwrap();
    assert_eq!(outbox.prune(100, 0).unwrap(), 2, "delivered and refused go");
    assert_eq!(outbox.total_enqueued().unwrap(), 2, "pending and quarantined stay");
    assert_eq!(outbox.prune(100, 100).unwrap(), 1, "quarantined go after their own limit");
    assert_eq!(outbox.stats().unwrap().depth, 1);
}

/// Answers 401 (the terminal's certificate was revoked), then 201 once re-enrolled.
struct Revoked {
    reenrolled: Arc<std::sync::atomic::AtomicBool>,
    calls: Arc<AtomicUsize>,
}

impl Deliver for Revoked {
    async fn deliver(&self, _item: &OutboxItem) -> Attempt {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.reenrolled.load(Ordering::SeqCst) {
            Attempt::from_status(201, None, b"ok".to_vec())
        } else {
            Attempt::from_status(401, None, b"{}".to_vec())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_error_keeps_the_submission_and_raises_an_alert() {
    let dir = tempfile::tempdir().unwrap();
    let handle = OutboxHandle::new(open(dir.path(), Limits::default()));
    let reenrolled = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    // A tiny base: the pause after a 401 is still the long one.
    let backoff = backoff::Backoff { base: Duration::from_millis(1), cap: Duration::from_millis(2) };
    let deliver = Revoked { reenrolled: reenrolled.clone(), calls: calls.clone() };
    let task = tokio::spawn(sender::run(handle.clone(), deliver, backoff, stop.clone()));
    let (key, first) = handle.submit(ItemKind::Submission, "/v1/x", FACE, Duration::from_secs(10)).await.unwrap();
    assert_eq!(first, Some(Attempt::Unauthorized { status: 401 }));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "no hammering after a 401");
    {
        let outbox = handle.lock();
        assert!(outbox.sealed_bytes(&key).unwrap().is_some(), "the face is kept, sealed");
        let stats = outbox.stats().unwrap();
        assert_eq!((stats.rejected_total, stats.depth), (0, 2), "the submission and the alert wait");
        let alert: String =
            outbox.conn.query_row("SELECT path FROM outbox WHERE kind = 'telemetry'", [], |r| r.get(0)).unwrap();
        assert_eq!(alert, contract::paths::TELEMETRY);
    }
    // Re-enrolled (a new certificate, the terminal restarted): the row is due again
    // at once, since the restart reschedules nothing, and goes through.
    task.abort();
    reenrolled.store(true, Ordering::SeqCst);
    handle.lock().conn.execute("UPDATE outbox SET next_attempt_ms = 0", []).unwrap();
    let task = tokio::spawn(sender::run(handle.clone(), Revoked { reenrolled, calls }, backoff, stop.clone()));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while handle.lock().stats().unwrap().depth > 0 {
        assert!(std::time::Instant::now() < deadline, "never delivered after re-enrollment");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(handle.lock().response(&key).unwrap().map(|r| r.0), Some(201));
    task.abort();
}

/// Accepts everything, counting the calls.
struct Counting(Arc<AtomicUsize>);

impl Deliver for Counting {
    async fn deliver(&self, _item: &OutboxItem) -> Attempt {
        self.0.fetch_add(1, Ordering::SeqCst);
        Attempt::from_status(201, None, b"ok".to_vec())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_that_cannot_be_recorded_pauses_the_queue_instead_of_resending() {
    let dir = tempfile::tempdir().unwrap();
    let handle = OutboxHandle::new(open(dir.path(), Limits::default()));
    handle.lock().enqueue(ItemKind::Submission, "/v1/x", &[7u8; 200_000], 1).unwrap();
    // Every write now fails, as on a full disk (the fault suite fills a real one).
    handle.lock().conn.pragma_update(None, "query_only", true).unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let backoff = backoff::Backoff { base: Duration::from_millis(1), cap: Duration::from_millis(2) };
    let task = tokio::spawn(sender::run(handle.clone(), Counting(calls.clone()), backoff, stop.clone()));
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let sent = calls.load(Ordering::SeqCst);
    // Pauses of 2 s, 4 s, ...: at most two sends in 2.5 s (a loop would send thousands).
    assert!((1..=2).contains(&sent), "{sent} sends of 200 KB while the disk was full");
    assert_eq!(handle.lock().stats().unwrap().depth, 1, "the result was not recorded: the disk really was full");
    task.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sender_prunes_old_finished_rows_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let handle = OutboxHandle::new(open(dir.path(), Limits::default()));
    let long_ago = sender::now_ms() - KEEP_FINISHED_MS - 1;
    {
        let mut outbox = handle.lock();
        outbox.enqueue(ItemKind::Rating, "/v1/ratings", b"{}", long_ago).unwrap();
        let id = outbox.due(long_ago, 1).unwrap()[0].id;
        outbox.delivered(id, 201, b"{}").unwrap();
        assert_eq!(outbox.total_enqueued().unwrap(), 1);
    }
    let stop = Arc::new(tokio::sync::Notify::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(sender::run(handle.clone(), Counting(calls), backoff::Backoff::default(), stop));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while handle.lock().total_enqueued().unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "a week-old delivered row was never pruned");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
}
