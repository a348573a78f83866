//! Exactly once across instances with real processes (issue 16, item 3): two `central
//! serve` processes (this package's binary) share one throwaway PostgreSQL database and
//! one data directory. An enrollment token raced at both enrolls one terminal; a
//! submission in flight at one process when it is killed (SIGKILL, mid-commit) is
//! retried at the other, which takes the dead process's reservation over at once (not
//! after the 120 s stale timeout) and stores exactly one application.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use central::api::*;
use common::pg::PgCluster;
use common::*;

/// A `central serve` process; killed (SIGKILL) when dropped.
struct Instance {
    child: Child,
    base: String,
}

impl Instance {
    fn start(data_dir: &Path, database: &str, name: &str) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_central"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--database", database, "serve", "--listen", "127.0.0.1:0", "--instance-name", name])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the log to its end, so the process never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("central: listening on https://") {
                    let _ = tx.send(addr.to_owned());
                } else {
                    eprintln!("[central] {line}");
                }
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("{name} did not start"));
        let port = addr.rsplit_once(':').unwrap().1;
        Self { child, base: format!("https://localhost:{port}") }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_mid_commit_leaves_its_submission_to_the_other_exactly_once() {
    let cluster = PgCluster::start();
    let url = cluster.url();
    let dir = tempfile::tempdir().unwrap();
    let mut p1 = Instance::start(dir.path(), &url, "p1");
    // The second process shares the data directory: same CA and keys.
    let p2 = Instance::start(dir.path(), &url, "p2");
    let ca_pem = std::fs::read_to_string(dir.path().join("ca.pem")).unwrap();
    let anonymous = client(&ca_pem, None);

    // One token raced at both processes: one terminal.
    let store = central::server::open_database(dir.path(), Some(&url)).unwrap();
    let token = central::enroll::create_token(store.as_ref(), Duration::from_secs(600)).unwrap();
    let enroll = |base: String| {
        let (http, token) = (anonymous.clone(), token.clone());
        async move {
            let (key, csr) = key_and_csr();
            let resp = http
                .post(format!("{base}/v1/enroll"))
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&enroll_request(Some(token), csr))
                .send()
                .await
                .unwrap();
            (resp, key)
        }
    };
    let ((r1, k1), (r2, k2)) = tokio::join!(enroll(p1.base.clone()), enroll(p2.base.clone()));
    let mut statuses = [r1.status().as_u16(), r2.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 401], "one token, one terminal");
    let (won, key, lost) = if r1.status() == 201 { (r1, k1, r2) } else { (r2, k2, r1) };
    let (_, p) = problem(lost).await;
    assert_eq!(p.kind(), Some(ProblemType::EnrollmentTokenUsed));
    let enrolled: EnrollResponse = won.json().await.unwrap();
    let terminal = client(&ca_pem, Some((&enrolled.certificate_pem, &key.serialize_pem())));

    // Hold the device row, so p1's commit (which reads it FOR SHARE) waits mid-transaction.
    let (db, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    db.batch_execute("BEGIN").await.unwrap();
    db.execute("SELECT 1 FROM devices WHERE device_id = $1 FOR UPDATE", &[&enrolled.device_id]).await.unwrap();
    let key = uuid::Uuid::new_v4().to_string();
    let send = |base: String| {
        let (http, key) = (terminal.clone(), key.clone());
        async move {
            http.post(format!("{base}{}", paths::REGISTRATIONS))
                .header("Idempotency-Key", key)
                .json(&unemployment())
                .send()
                .await
        }
    };
    let in_flight = tokio::spawn(send(p1.base.clone()));
    let deadline = Instant::now() + Duration::from_secs(4);
    while cluster.psql("SELECT count(*) FROM idempotency WHERE state = 'in_flight'") != "1" {
        assert!(Instant::now() < deadline, "the submission never reached p1's commit");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Meanwhile a retry at p2 is told the request is in flight: p1 lives.
    let early = send(p2.base.clone()).await.unwrap();
    assert_eq!(early.status(), 409);

    p1.kill();
    assert!(in_flight.await.unwrap().is_err(), "p1 died before answering");
    db.batch_execute("ROLLBACK").await.unwrap();

    // The terminal retries at p2: taken over at once, stored once.
    let started = Instant::now();
    let mut retry = send(p2.base.clone()).await.unwrap();
    while retry.status() == 409 && started.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        retry = send(p2.base.clone()).await.unwrap();
    }
    assert_eq!(retry.status(), 201, "{}", retry.text().await.unwrap());
    assert!(started.elapsed() < Duration::from_secs(10), "well before the 120 s stale timeout");
    let receipt: RegistrationReceipt = retry.json().await.unwrap();
    assert_eq!(cluster.psql("SELECT count(*) FROM applications"), "1");
    // Once more: the stored answer.
    let again: RegistrationReceipt = send(p2.base.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(again.tracking_number, receipt.tracking_number);
    drop(p2);
}
