//! The central service under SIGKILL: it runs as a child process on a fixed data
//! directory and port while the terminal's outbox (in this process, over mutual TLS)
//! sends qualification checks and ratings; the test kills central at random moments
//! while a request is in flight and starts it again on the same data, CA, keys and
//! port. Every submission must end up stored exactly once, and central's database must
//! hold each stored row together with its idempotency record, done.
//!
//! A kill between central reserving an idempotency key and committing its work leaves
//! the reservation `in_flight`. Central drops such reservations when it starts again
//! (nothing can own them any more), so the terminal's retry goes through at once
//! instead of being answered 409 until the reservation is stale (120 s) with the whole
//! queue waiting behind it: `a_reservation_a_kill_left_behind_does_not_hold_up_the_queue`.
//!
//! CI: 200 submissions, at least 10 kills landing mid-request. `KIOSK_SOAK=1`: 1,000
//! submissions, at least 100 such kills.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use contract as api;
use hardware_tests::child::{self, ChildProcess};
use kiosk::central_api::{CentralClient, DeviceIdentity, Timeouts};
use kiosk::outbox::sender::{self, Attempt, Deliver, OutboxHandle};
use kiosk::outbox::{ItemKind, Limits, Outbox, OutboxItem};
use rand::Rng as _;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CHILD: &str = "central_crash_child";
/// How soon after central is back a submission its kill stranded must be delivered:
/// far below the 120 s after which a stale reservation would be taken over.
const STRANDED_DELIVERY: Duration = Duration::from_secs(15);

/// The child: the reference central service on the data directory and port it is
/// given (port 0 the first time: it says which it got), enrolling the terminal on its
/// first start. Runs until killed, or until its stdin closes.
#[test]
#[ignore = "run by sigkill_of_central_mid_commit_never_loses_or_doubles_a_submission as its child process"]
fn central_crash_child() {
    let dir = PathBuf::from(std::env::var("CENTRAL_CRASH_DIR").expect("run by the parent test"));
    let port: u16 = std::env::var("CENTRAL_CRASH_PORT").unwrap().parse().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let listen = SocketAddr::from(([127, 0, 0, 1], port));
        let central = simulation::ReferenceCentral::start_on(&dir.join("central"), 20, listen).await.unwrap();
        let kiosk = dir.join("kiosk");
        if DeviceIdentity::load(&kiosk).unwrap().is_none() {
            let identity = central.enroll(&central.url(), "central-crash").await.unwrap();
            std::fs::create_dir_all(&kiosk).unwrap();
            identity.save(&kiosk).unwrap();
        }
        child::say(&format!("ready {}", central.server.local_addr().port()));
        let mut commands = child::commands();
        while commands.recv().await.is_some() {}
        central.shutdown().await;
    });
}

/// Starts (or restarts) central on `port` and waits until it listens; returns its port.
async fn start_central(dir: &Path, port: u16) -> (ChildProcess, u16) {
    let central = ChildProcess::spawn(
        CHILD,
        None,
        &[("CENTRAL_CRASH_DIR", dir.display().to_string()), ("CENTRAL_CRASH_PORT", port.to_string())],
    )
    .unwrap();
    let ready = central.next(&mut 0, "ready", Duration::from_secs(30)).await.unwrap();
    (central, ready.parse().unwrap())
}

/// What each idempotency key was: a qualification check, or a rating with this session id.
#[derive(Clone, Debug)]
enum Sent {
    Check,
    Rating(String),
}

/// The request the sender has on the wire now, and how the last one ended.
#[derive(Default)]
struct Flight {
    key: Mutex<Option<String>>,
    began: tokio::sync::Notify,
    last: Mutex<Option<(String, Attempt)>>,
    /// The last accepted request's duration, in microseconds.
    typical_us: AtomicU64,
}

impl Flight {
    fn key(&self) -> Option<String> {
        self.key.lock().unwrap().clone()
    }
    /// Waits up to `within` for a request to be on the wire.
    async fn wait_for_request(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let began = self.began.notified();
            if self.key().is_some() {
                return true;
            }
            if tokio::time::timeout_at(deadline, began).await.is_err() {
                return false;
            }
        }
    }
    /// Waits (up to the request timeout and a margin) for the request on the wire to end.
    async fn wait_until_idle(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.key().is_some() {
            assert!(Instant::now() < deadline, "a request outlived its timeout");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// The real client, watched: the test knows which request is in flight when it kills.
struct Watched {
    client: CentralClient,
    flight: Arc<Flight>,
}

impl Deliver for Watched {
    async fn deliver(&self, item: &OutboxItem) -> Attempt {
        *self.flight.key.lock().unwrap() = Some(item.key.clone());
        self.flight.began.notify_waiters();
        let started = Instant::now();
        let attempt = self.client.post_item(item).await;
        if matches!(attempt, Attempt::Accepted { .. }) {
            self.flight.typical_us.store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        }
        *self.flight.last.lock().unwrap() = Some((item.key.clone(), attempt.clone()));
        *self.flight.key.lock().unwrap() = None;
        attempt
    }
}

/// Where central was with the request a kill interrupted, read from its database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Interrupted {
    /// No trace: the request had not been reserved yet.
    BeforeReservation,
    /// Reserved (`in_flight`) but not committed: the process died mid-commit.
    Reserved,
    /// Committed (`done`): only the answer was lost.
    Committed,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::BeforeReservation => "before central reserved its key",
            Self::Reserved => "reserved, not committed",
            Self::Committed => "committed, answer lost",
        })
    }
}

fn central_db(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("central").join("central.db")).unwrap()
}

/// The state and creation time of central's idempotency record of `key`.
fn idempotency_record(db: &rusqlite::Connection, device: &str, key: &str) -> Option<(String, i64)> {
    use rusqlite::OptionalExtension as _;
    db.query_row("SELECT state, created_at FROM idempotency WHERE scope = ?1 AND key = ?2", [device, key], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .optional()
    .unwrap()
}

/// Central in a child process, the terminal's outbox and sender in this one.
struct CrashRig {
    /// Killed (on drop too) before its data directory goes.
    central: ChildProcess,
    dir: PathBuf,
    port: u16,
    device: String,
    handle: OutboxHandle,
    sent: BTreeMap<String, Sent>,
    flight: Arc<Flight>,
    stop: Arc<tokio::sync::Notify>,
    sending: tokio::task::JoinHandle<()>,
    _work: tempfile::TempDir,
}

impl CrashRig {
    /// Central started (and the terminal enrolled), `submissions` in the outbox
    /// (qualification checks and ratings, alternately), the sender running.
    async fn start(submissions: usize) -> Self {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().to_owned();
        let (central, port) = start_central(&dir, 0).await;
        let url = format!("https://127.0.0.1:{port}");
        let kiosk = dir.join("kiosk");
        let identity = DeviceIdentity::load(&kiosk).unwrap().expect("enrolled by central's first start");
        let timeouts = Timeouts { connect: Duration::from_secs(2), request: Duration::from_secs(5) };
        let client = CentralClient::new(&url, &identity, timeouts).unwrap();
        // Every submission is in the outbox before the first kill: the terminal's side
        // of the story is outbox_crash.rs; here only central dies.
        let handle = OutboxHandle::new(Outbox::open(&kiosk.join("outbox"), Limits::default()).unwrap());
        let mut sent = BTreeMap::new();
        let check = hardware_tests::qualification_check_body();
        for i in 0..submissions {
            let (kind, path, body, what) = if i % 2 == 0 {
                (ItemKind::Submission, api::paths::QUALIFICATION_CHECKS, check.clone(), Sent::Check)
            } else {
                let session_id = format!("central-crash-{i}");
                let rating = api::RatingRequest {
                    session_id: session_id.clone(),
                    service: api::Service::QualificationCheck,
                    grade: 4,
                    reasons: vec![],
                };
                (ItemKind::Rating, api::paths::RATINGS, serde_json::to_vec(&rating).unwrap(), Sent::Rating(session_id))
            };
            let key = handle.lock().enqueue(kind, path, &body, sender::now_ms()).unwrap();
            sent.insert(key, what);
        }
        let flight = Arc::new(Flight::default());
        let stop = Arc::new(tokio::sync::Notify::new());
        let backoff =
            kiosk::outbox::backoff::Backoff { base: Duration::from_millis(10), cap: Duration::from_millis(250) };
        let watched = Watched { client, flight: flight.clone() };
        let sending = tokio::spawn(sender::run(handle.clone(), watched, backoff, stop.clone()));
        Self { central, dir, port, device: identity.device_id, handle, sent, flight, stop, sending, _work: work }
    }

    fn depth(&self) -> u64 {
        self.handle.lock().stats().unwrap().depth
    }

    /// Waits for a request on the wire, lets it run a random part of a typical request's
    /// time, SIGKILLs central and starts it again on the same data and port. Returns where
    /// central was with the request, when the kill broke one (None: it had ended first).
    async fn kill_mid_request(&mut self) -> Option<(String, Interrupted)> {
        if !self.flight.wait_for_request(Duration::from_secs(5)).await {
            return None;
        }
        // Until a request has gone through, assume 20 ms (a kill always in the handshake
        // would let none go through).
        let typical = match self.flight.typical_us.load(Ordering::Relaxed) {
            0 => 20_000,
            us => us.clamp(200, 50_000),
        };
        let into = Duration::from_micros(rand::rng().random_range(0..=typical));
        tokio::task::spawn_blocking(move || std::thread::sleep(into)).await.unwrap();
        let on_the_wire = self.flight.key();
        self.central.kill().await.unwrap(); // SIGKILL
        self.flight.wait_until_idle().await;
        let last = self.flight.last.lock().unwrap().clone();
        // The kill landed mid-request when it broke the request that was on the wire.
        let interrupted = match (on_the_wire, last) {
            (Some(key), Some((ended, Attempt::Retry { .. }))) if key == ended => {
                let db = central_db(&self.dir);
                let state = match idempotency_record(&db, &self.device, &key) {
                    None => Interrupted::BeforeReservation,
                    Some((state, _)) if state == "in_flight" => Interrupted::Reserved,
                    Some(_) => Interrupted::Committed,
                };
                Some((key, state))
            }
            _ => None,
        };
        (self.central, _) = start_central(&self.dir, self.port).await;
        interrupted
    }

    /// Waits up to `limit` for the outbox to empty, then stops the sender and central.
    async fn drain_and_stop(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.depth() > 0 {
            assert!(Instant::now() < deadline, "outbox not drained within {limit:?}: {} left", self.depth());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.stop.notify_waiters();
        self.sending.abort();
        self.central.close_stdin();
        assert!(self.central.wait(Duration::from_secs(30)).await.unwrap().success());
    }

    /// Nothing lost, nothing doubled, each stored row with its idempotency record done
    /// and answering with that row, the terminal holding the same answer. Returns the
    /// count of qualification checks.
    fn verify(&self) -> usize {
        let db = central_db(&self.dir);
        assert_eq!(db.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0)).unwrap(), "ok");
        let outbox = self.handle.lock();
        assert_eq!(outbox.stats().unwrap().depth, 0, "the terminal's outbox must end empty");
        let (mut lost, mut doubled) = (Vec::new(), Vec::new());
        for (key, what) in &self.sent {
            let (stored, id): (i64, Option<String>) = match what {
                Sent::Check => db
                    .query_row(
                        "SELECT COUNT(*), MAX(tracking_number) FROM applications WHERE client_reference = ?1",
                        [api::client_reference(key)],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap(),
                Sent::Rating(session) => db
                    .query_row(
                        "SELECT COUNT(*), MAX(rating_id) FROM ratings \
                         WHERE json_extract(document, '$.session_id') = ?1",
                        [session],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .unwrap(),
            };
            match stored {
                0 => lost.push(key.clone()),
                1 => {}
                _ => doubled.push(key.clone()),
            }
            let Some(id) = id else { continue };
            let (state, status, body): (String, Option<i64>, Option<Vec<u8>>) = db
                .query_row(
                    "SELECT state, status, body FROM idempotency WHERE scope = ?1 AND key = ?2",
                    [&self.device, key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .unwrap_or_else(|e| panic!("{id} has no idempotency record: {e}"));
            assert_eq!((state.as_str(), status), ("done", Some(201)), "{id}");
            let body = body.unwrap();
            let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
            let named = answer.get("tracking_number").or_else(|| answer.get("rating_id")).and_then(|v| v.as_str());
            assert_eq!(named, Some(id.as_str()), "the stored answer names another row");
            assert_eq!(outbox.response(key).unwrap(), Some((201, body)), "the terminal holds another answer for {id}");
        }
        assert!(lost.is_empty() && doubled.is_empty(), "lost {lost:?}, doubled {doubled:?}");
        let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        let checks = self.sent.values().filter(|s| matches!(s, Sent::Check)).count();
        assert_eq!(count("SELECT COUNT(*) FROM applications"), checks as i64, "applications nobody sent");
        assert_eq!(count("SELECT COUNT(*) FROM ratings"), (self.sent.len() - checks) as i64, "ratings nobody sent");
        // (Faces of approved checks are swept at once: central keeps none after the decision.)
        let orphans =
            "SELECT COUNT(*) FROM face_images WHERE tracking_number NOT IN (SELECT tracking_number FROM applications)";
        assert_eq!(count(orphans), 0, "faces without an application");
        assert_eq!(count("SELECT COUNT(*) FROM idempotency WHERE state != 'done'"), 0, "reservations left behind");
        checks
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_central_mid_commit_never_loses_or_doubles_a_submission() {
    let soak = std::env::var("KIOSK_SOAK").is_ok_and(|v| v == "1");
    let (submissions, kills_wanted) = if soak { (1_000, 100) } else { (200, 10) };
    let mut rig = CrashRig::start(submissions).await;
    let started = Instant::now();
    let mut kills = 0u32;
    let mut interrupted: BTreeMap<Interrupted, u32> = BTreeMap::new();
    while interrupted.values().sum::<u32>() < kills_wanted && kills < kills_wanted * 6 && rig.depth() > 0 {
        // Let the sender get going between kills.
        tokio::time::sleep(Duration::from_millis(rand::rng().random_range(0..150))).await;
        kills += 1;
        if let Some((_, at)) = rig.kill_mid_request().await {
            *interrupted.entry(at).or_default() += 1;
        }
    }
    let kill_phase = started.elapsed();
    let mid_request = interrupted.values().sum::<u32>();
    assert!(
        mid_request >= kills_wanted,
        "only {mid_request} of {kills} kills landed while a request was in flight (wanted {kills_wanted})"
    );
    rig.drain_and_stop(Duration::from_secs(60)).await;
    let drained = started.elapsed();
    let checks = rig.verify();
    let landed: Vec<String> = interrupted.iter().map(|(at, n)| format!("{n} {at}")).collect();
    println!(
        "central SIGKILL: {} submissions ({checks} checks, {} ratings), {kills} kills, {mid_request} mid-request \
         ({}); kill phase {:.1} s, drained after {:.1} s; lost 0, doubled 0",
        rig.sent.len(),
        rig.sent.len() - checks,
        landed.join(", "),
        kill_phase.as_secs_f64(),
        drained.as_secs_f64(),
    );
}

/// A kill between reservation and commit: central, started again, drops the stranded
/// reservation, so the terminal's retry is stored at once and the queue behind it
/// moves on (before, it was answered 409 for 120 s while the whole queue waited).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_a_kill_left_behind_does_not_hold_up_the_queue() {
    let mut rig = CrashRig::start(200).await;
    let mut kills = 0;
    let stranded = loop {
        kills += 1;
        assert!(kills <= 60, "no kill in 60 landed between reservation and commit");
        tokio::time::sleep(Duration::from_millis(rand::rng().random_range(0..150))).await;
        if let Some((key, Interrupted::Reserved)) = rig.kill_mid_request().await {
            break key;
        }
    };
    let restarted = Instant::now();
    let delivered_before = rig.handle.lock().stats().unwrap().delivered_total;
    let delivered = loop {
        if rig.handle.lock().response(&stranded).unwrap().is_some() {
            break restarted.elapsed();
        }
        assert!(
            restarted.elapsed() < STRANDED_DELIVERY,
            "the submission a kill stranded mid-commit was not delivered within {STRANDED_DELIVERY:?} of the restart"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let meanwhile = rig.handle.lock().stats().unwrap().delivered_total - delivered_before - 1;
    rig.drain_and_stop(Duration::from_secs(60)).await;
    rig.verify();
    println!(
        "central SIGKILL mid-commit after {kills} kills: the stranded submission was delivered {:.2} s after \
         central restarted ({meanwhile} others delivered meanwhile); lost 0, doubled 0",
        delivered.as_secs_f64()
    );
}
