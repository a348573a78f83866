//! What anyone can call without a device certificate costs little and leaves nothing:
//! a bad enrollment token is refused before a CSR is signed and without a stored row,
//! anonymous enrollment is throttled per address, and /metrics (which lists every
//! device) needs a bearer token and is rendered at most one scrape at a time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use central::Rate;
use central::api::ProblemType;
use common::*;

fn idempotency_rows(rig: &Rig) -> i64 {
    let db = rusqlite::Connection::open(rig.dir.path().join("central.db")).unwrap();
    db.query_row("SELECT count(*) FROM idempotency", [], |r| r.get(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_is_refused_before_its_csr_is_signed() {
    let rig = start().await;
    let resp = rig
        .anonymous()
        .post(rig.url("/v1/enroll"))
        .header("Idempotency-Key", "k")
        .json(&enroll_request(Some("NEVER-ISSUED".into()), "not a CSR at all".into()))
        .send()
        .await
        .unwrap();
    // The token is the first thing checked: a signing attempt would answer csr-invalid.
    let (status, p) = problem(resp).await;
    assert_eq!((status, p.kind()), (401, Some(ProblemType::EnrollmentTokenInvalid)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_enrollments_leave_no_rows_behind() {
    let rig = start_with(|c| c.enrollments_per_address = Rate { per_minute: 1000, burst: 1000 }).await;
    let t = rig.enroll().await;
    drop(t);
    let rows = idempotency_rows(&rig);
    let c = rig.anonymous();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    rig.server.store().insert_token(&central::enroll::token_hash("OLD-TOKEN"), now - 700, now - 100).unwrap();
    let used = rig.server.create_enrollment_token(Duration::from_secs(600)).unwrap();
    let (_, csr) = key_and_csr();
    assert_eq!(
        c.post(rig.url("/v1/enroll"))
            .header("Idempotency-Key", "first")
            .json(&enroll_request(Some(used.clone()), csr))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    let rows = rows + 1;
    for i in 0..40 {
        let token = match i % 3 {
            0 => format!("GUESS-{i}"),
            1 => "OLD-TOKEN".to_owned(),
            _ => used.clone(),
        };
        let (_, csr) = key_and_csr();
        let resp = c
            .post(rig.url("/v1/enroll"))
            .header("Idempotency-Key", format!("attempt-{i}"))
            .json(&enroll_request(Some(token), csr))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401);
    }
    assert_eq!(idempotency_rows(&rig), rows, "each refused attempt left an idempotency row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_enrollment_is_throttled_per_address() {
    let rig = start_with(|c| c.enrollments_per_address = Rate { per_minute: 6, burst: 4 }).await;
    let c = rig.anonymous();
    let mut statuses = Vec::new();
    for i in 0..6 {
        let (_, csr) = key_and_csr();
        let resp = c
            .post(rig.url("/v1/enroll"))
            .header("Idempotency-Key", format!("k{i}"))
            .json(&enroll_request(Some(format!("GUESS-{i}")), csr))
            .send()
            .await
            .unwrap();
        if resp.status() == 429 {
            assert!(resp.headers().contains_key("retry-after"));
        }
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429, 429]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_bearer_token() {
    let rig = start().await;
    let t = rig.enroll().await;
    let resp = rig.anonymous().get(rig.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.headers()["www-authenticate"], r#"Bearer realm="central metrics""#);
    let (status, p) = problem(resp).await;
    assert_eq!((status, p.kind()), (401, Some(ProblemType::BearerTokenRequired)));
    let resp = rig.anonymous().get(rig.url("/metrics")).bearer_auth("0".repeat(64)).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let text = rig.metrics_text().await;
    assert!(text.contains(&t.enrolled.device_id));
    // The token is the one in the data directory, which only the service's user can read.
    let token = std::fs::read_to_string(rig.dir.path().join("metrics.token")).unwrap();
    assert_eq!(token.trim(), rig.server.metrics_token());
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(rig.dir.path().join("metrics.token")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// The render counter, read with one more scrape.
async fn renders(rig: &Rig) -> u64 {
    let text = rig.metrics_text().await;
    text.lines().find_map(|l| l.strip_prefix("central_metrics_renders_total ")).unwrap().trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_scrapes_of_a_large_fleet_costs_at_most_two_renders() {
    let rig = std::sync::Arc::new(start().await);
    // A fleet large enough for one render to take a while.
    let store = rig.server.store();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let hb = serde_json::to_string(&heartbeat(central::api::PrinterHealth::Ok)).unwrap();
    for i in 0..5_000 {
        let device_id = format!("KT-FLEET{i:05}");
        store
            .upsert_device(&central::store::DeviceRecord {
                device_id: device_id.clone(),
                hostname: "kiosk".into(),
                software_version: "0.1.0".into(),
                inventory_json: "{}".into(),
                enrolled_at: now,
                cert_serial: format!("{i:032x}"),
                cert_not_after: now + 86_400,
                revoked_at: None,
            })
            .unwrap();
        store
            .record_heartbeat(&central::store::HeartbeatRecord {
                device_id,
                received_at: now,
                json: hb.clone(),
                sessions: 1,
                failures: 0,
                backlog_depth: 0,
                alerts: vec![],
            })
            .unwrap();
    }
    // Twenty scrapers with their connections already open, released together.
    let scrapers: Vec<_> = (0..20).map(|_| rig.anonymous()).collect();
    for s in &scrapers {
        assert_eq!(s.get(rig.url("/ops/login")).send().await.unwrap().status(), 200);
    }
    let started = std::time::Instant::now();
    let before = renders(&rig).await;
    let one_render = started.elapsed();
    let token = rig.server.metrics_token();
    let go = std::sync::Arc::new(tokio::sync::Barrier::new(scrapers.len()));
    let burst: Vec<_> = scrapers
        .into_iter()
        .map(|s| {
            let (rig, go, token) = (rig.clone(), go.clone(), token.clone());
            tokio::spawn(async move {
                go.wait().await;
                s.get(rig.url("/metrics")).bearer_auth(token).send().await.unwrap().status().as_u16()
            })
        })
        .collect();
    for s in burst {
        assert_eq!(s.await.unwrap(), 200);
    }
    let during = renders(&rig).await - before - 1;
    eprintln!("one scrape of 5,000 terminals took {one_render:?}; 20 concurrent scrapes cost {during} renders");
    assert!(during <= 3, "20 concurrent scrapes cost {during} renders");
}
