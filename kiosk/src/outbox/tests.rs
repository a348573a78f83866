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
    let reopened = open(dir.path(), Limits::default());
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
    let keys: Vec<String> = outbox.due(10, 10).unwrap().into_iter().map(|i| i.key).collect();
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
        (422, "rejected"),
    ];
    for (status, want) in table {
        let got = match Attempt::from_status(status, None, vec![]) {
            Attempt::Accepted { .. } => "accepted",
            Attempt::Retry { .. } => "retry",
            Attempt::Rejected { .. } => "rejected",
        };
        assert_eq!(got, want, "HTTP {status}");
    }
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
