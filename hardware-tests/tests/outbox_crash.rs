//! The outbox under SIGKILL: a child process enqueues and sends many submissions to
//! the real reference central service (in this process, over mutual TLS) while the
//! test kills it at random points and restarts it. Every submission must end up at
//! the central service exactly once.

use contract as api;
use kiosk::central_api::{CentralClient, DeviceIdentity, Timeouts};
use kiosk::outbox::sender::{self, OutboxHandle};
use kiosk::outbox::{ItemKind, Limits, Outbox};
use rand::Rng as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Submissions per run (about 15 s with the kills below).
const SUBMISSIONS: u64 = 1_000;
/// Rounds in which the child is always killed; after them it may finish.
const KILL_ROUNDS: u32 = 100;
const CHILD: &str = "outbox_child_process";

fn timeouts() -> Timeouts {
    Timeouts { connect: Duration::from_secs(5), request: Duration::from_secs(10) }
}

/// The child: resumes the plan where the outbox says it stopped, sends until empty.
#[test]
#[ignore = "run by sigkill_at_random_points_never_loses_or_doubles_a_submission as its child process"]
fn outbox_child_process() {
    let dir = std::env::var("OUTBOX_CRASH_DIR").expect("run by the parent test");
    let url = std::env::var("OUTBOX_CRASH_URL").unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = Path::new(&dir);
        let identity = DeviceIdentity::load(dir).unwrap().unwrap();
        let client = CentralClient::new(&url, &identity, timeouts()).unwrap();
        let handle = OutboxHandle::new(Outbox::open(&dir.join("outbox"), Limits::default()).unwrap());
        let backoff =
            kiosk::outbox::backoff::Backoff { base: Duration::from_millis(5), cap: Duration::from_millis(200) };
        let stop = Arc::new(tokio::sync::Notify::new());
        tokio::spawn(sender::run(handle.clone(), client, backoff, stop));
        loop {
            let next = handle.lock().total_enqueued().unwrap();
            if next >= SUBMISSIONS {
                break;
            }
            let body = serde_json::to_vec(&api::RatingRequest {
                session_id: format!("crash-{next}"),
                service: api::Service::Certificate,
                grade: 5,
                reasons: vec![],
            })
            .unwrap();
            handle.lock().enqueue(ItemKind::Rating, api::paths::RATINGS, &body, sender::now_ms()).unwrap();
            handle.wake.notify_one();
            tokio::time::sleep(Duration::from_millis(rand::rng().random_range(0..15))).await;
        }
        while handle.lock().stats().unwrap().depth > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_never_loses_or_doubles_a_submission() {
    let work = tempfile::tempdir().unwrap();
    let central = simulation::ReferenceCentral::start(&work.path().join("central"), 20).await.unwrap();
    let url = central.url();
    let identity = central.enroll(&url, "crash-test").await.unwrap();
    let kiosk_dir = work.path().join("kiosk");
    std::fs::create_dir_all(&kiosk_dir).unwrap();
    identity.save(&kiosk_dir).unwrap();

    let exe = std::env::current_exe().unwrap();
    let mut kills = 0;
    let mut finished = false;
    for round in 0..KILL_ROUNDS + 1 {
        let mut child = tokio::process::Command::new(&exe)
            .args(["--exact", CHILD, "--ignored", "--nocapture", "--test-threads=1"])
            .env("OUTBOX_CRASH_DIR", &kiosk_dir)
            .env("OUTBOX_CRASH_URL", &url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let life = if round < KILL_ROUNDS {
            Duration::from_millis(rand::rng().random_range(20..250))
        } else {
            Duration::from_secs(120)
        };
        match tokio::time::timeout(life, child.wait()).await {
            Ok(status) => {
                assert!(status.unwrap().success(), "the child failed on its own");
                finished = true;
                break;
            }
            Err(_) => {
                child.start_kill().unwrap(); // SIGKILL
                child.wait().await.unwrap();
                // Count only kills that landed mid-way through the plan.
                let outbox = Outbox::open(&kiosk_dir.join("outbox"), Limits::default()).unwrap();
                let enqueued = outbox.total_enqueued().unwrap();
                let pending = outbox.stats().unwrap().depth;
                if enqueued > 0 && (enqueued < SUBMISSIONS || pending > 0) {
                    kills += 1;
                }
            }
        }
    }
    assert!(finished, "the child never finished after {kills} kills");
    assert!(kills >= 3, "the test must kill the child mid-way through the plan (did so {kills} times)");

    let db = rusqlite::Connection::open(work.path().join("central").join("central.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT json_extract(document, '$.session_id'), COUNT(*) FROM ratings GROUP BY 1 ORDER BY 1")
        .unwrap();
    let rows: Vec<(String, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    let doubled: Vec<_> = rows.iter().filter(|(_, n)| *n != 1).collect();
    assert!(doubled.is_empty(), "submissions stored more than once: {doubled:?}");
    let mut want: Vec<String> = (0..SUBMISSIONS).map(|i| format!("crash-{i}")).collect();
    want.sort();
    let got: Vec<String> = rows.into_iter().map(|(s, _)| s).collect();
    assert_eq!(got, want, "every submission exactly once");
    println!("{} submissions, {kills} SIGKILLs mid-way: 0 lost, 0 doubled", SUBMISSIONS);
    central.shutdown().await;
}
