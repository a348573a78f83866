//! The whole service on PostgreSQL: two `central` servers sharing one database (and one
//! copy of the keys) take a terminal's enrollment and submission, and a retry of that
//! submission reaching the other server is answered from the first result: one
//! application, whichever instance a request lands on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use central::api::*;
use common::pg::PgCluster;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_enroll_and_take_a_submission_exactly_once() {
    let cluster = PgCluster::start();
    let url = cluster.url();
    let a = start_with(|c| c.database = Some(url.clone())).await;
    // The second instance: same keys (a copy of the data directory), same database.
    let mut config = config(a.dir.path());
    config.database = Some(url);
    let b = central::start(config).await.unwrap();
    let b_url = |path: &str| format!("https://localhost:{}{path}", b.local_addr().port());

    let t = a.enroll().await;
    assert!(b.store().device(&t.enrolled.device_id).unwrap().is_some(), "B sees A's enrollment");
    let key = uuid::Uuid::new_v4().to_string();
    let first = t
        .http
        .post(b_url(paths::REGISTRATIONS))
        .header("Idempotency-Key", &key)
        .json(&unemployment())
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 201);
    let receipt: RegistrationReceipt = first.json().await.unwrap();
    // The terminal never saw that answer and retries; the retry lands on A.
    let retry = t.post(&a, paths::REGISTRATIONS, &key, &unemployment()).await;
    assert_eq!(retry.status(), 201);
    let again: RegistrationReceipt = retry.json().await.unwrap();
    assert_eq!(again.tracking_number, receipt.tracking_number);

    let stored = a.server.store().application(&receipt.tracking_number).unwrap().unwrap();
    assert_eq!(
        (stored.kind.as_str(), stored.device_id.as_str()),
        ("unemployment_registration", t.enrolled.device_id.as_str())
    );
    assert_eq!(a.server.store().activity_counts().unwrap().applications, 1);
    assert_eq!(cluster.psql("SELECT count(*) FROM applications"), "1", "the rows are in PostgreSQL");
    assert!(!a.dir.path().join("central.db").exists(), "no SQLite file was made");
    b.shutdown().await;
    a.server.shutdown().await;
}
