//! Exactly once across instances (issue 16, item 3), in-process: two `central` servers
//! on one throwaway PostgreSQL database with one copy of the keys. Identical requests
//! raced at both, an enrollment token raced at both, a dashboard session used at the
//! other instance, both offline sweeps running, and an instance with another fleet CA.
//! (`tests/multi_process.rs` does the same with real processes, one of them killed.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use central::api::*;
use central::registry::*;
use common::pg::PgCluster;
use common::*;

fn unemployment(phone: &str) -> RegistrationRequest {
    RegistrationRequest {
        kind: RegistrationKind::Unemployment,
        id_number: WORKER_ID.into(),
        name: WORKER_NAME.into(),
        phone: Some(phone.into()),
        reason: Some(UnemploymentReason::ContractEnded),
        contribution_percent: None,
        job_kind: None,
        district: None,
    }
}

/// Instance A (a rig) and instance B on the same database and a copy of A's keys.
async fn two_instances(
    cluster: &PgCluster,
    adjust: impl Fn(&mut central::ServerConfig),
) -> (Rig, central::RunningServer, String) {
    let url = cluster.url();
    let a = start_with(|c| {
        c.database = Some(url.clone());
        c.instance_name = Some("a".into());
        adjust(c);
    })
    .await;
    let mut config = config(a.dir.path());
    config.database = Some(url);
    config.instance_name = Some("b".into());
    adjust(&mut config);
    let b = central::start(config).await.unwrap();
    let b_base = format!("https://localhost:{}", b.local_addr().port());
    (a, b, b_base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_requests_raced_at_two_instances_store_one_application_and_answer_alike() {
    let cluster = PgCluster::start();
    let (a, b, b_base) = two_instances(&cluster, |_| {}).await;
    let t = a.enroll().await;
    // One round: the same person cannot register twice (a second key is refused, 422).
    for round in 0..1 {
        let key = uuid::Uuid::new_v4().to_string();
        let body = unemployment("13800138000");
        let send = |base: String| {
            let (http, key, body) = (t.http.clone(), key.clone(), body.clone());
            async move {
                http.post(format!("{base}{}", paths::REGISTRATIONS))
                    .header("Idempotency-Key", key)
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let (ra, rb) = tokio::join!(send(a.base.clone()), send(b_base.clone()));
        let mut bodies = Vec::new();
        for (resp, base) in [(ra, a.base.clone()), (rb, b_base.clone())] {
            let mut resp = resp;
            // 409: the other instance holds the key in flight; the terminal retries.
            for _ in 0..50 {
                if resp.status() != 409 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                resp = send(base.clone()).await;
            }
            assert_eq!(resp.status(), 201, "round {round}");
            bodies.push(resp.bytes().await.unwrap());
        }
        assert_eq!(bodies[0], bodies[1], "round {round}: both instances answer with the same stored body");
        let receipt: RegistrationReceipt = serde_json::from_slice(&bodies[0]).unwrap();
        assert_eq!(
            cluster.psql(&format!(
                "SELECT count(*) FROM applications WHERE client_reference = (SELECT client_reference FROM applications WHERE tracking_number = '{}')",
                receipt.tracking_number
            )),
            "1",
            "round {round}"
        );
        // The same key with another body, at either instance: 422.
        let other = t
            .http
            .post(format!("{b_base}{}", paths::REGISTRATIONS))
            .header("Idempotency-Key", &key)
            .json(&unemployment("13900139000"))
            .send()
            .await
            .unwrap();
        let (status, p) = problem(other).await;
        assert_eq!(status, 422, "{p:?}");
    }
    assert_eq!(cluster.psql("SELECT count(*) FROM applications"), "1");
    b.shutdown().await;
    a.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enrollment_token_raced_at_two_instances_enrolls_one_terminal() {
    let cluster = PgCluster::start();
    let (a, b, b_base) = two_instances(&cluster, |_| {}).await;
    for _ in 0..5 {
        let token = a.server.create_enrollment_token(Duration::from_secs(600)).unwrap();
        let enroll = |base: String| {
            let (http, token) = (a.anonymous(), token.clone());
            async move {
                let (_key, csr) = key_and_csr();
                http.post(format!("{base}/v1/enroll"))
                    .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                    .json(&enroll_request(Some(token), csr))
                    .send()
                    .await
                    .unwrap()
            }
        };
        let (ra, rb) = tokio::join!(enroll(a.base.clone()), enroll(b_base.clone()));
        let mut statuses = vec![ra.status().as_u16(), rb.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 401]);
        let refused = if ra.status() == 401 { ra } else { rb };
        let (_, p) = problem(refused).await;
        assert_eq!(p.kind(), Some(ProblemType::EnrollmentTokenUsed));
    }
    assert_eq!(cluster.psql("SELECT count(*) FROM devices"), "5");
    b.shutdown().await;
    a.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_session_opened_at_one_instance_works_at_the_other() {
    let cluster = PgCluster::start();
    let (a, b, b_base) = two_instances(&cluster, |_| {}).await;
    let ops = a.ops().await;
    assert!(ops.page("/ops").await.contains(r#"data-instance="a""#));
    let at_b = ops.at(&b_base);
    let page = at_b.page("/ops/alerts").await;
    assert!(page.contains(r#"data-instance="b""#), "{page}");
    b.shutdown().await;
    a.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_sweeping_open_one_offline_alert_for_a_silent_terminal() {
    let cluster = PgCluster::start();
    let (a, b, _) = two_instances(&cluster, |c| {
        c.heartbeat_interval = Duration::from_secs(1);
        c.offline_after_missed = 1;
        // The test runs the sweeps itself, at the same moment.
        c.sweep_interval = Duration::from_secs(600);
    })
    .await;
    let t = a.enroll().await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let sa = a.server.store();
    let (ra, rb) = (std::sync::Arc::new(a.server), std::sync::Arc::new(b));
    for _ in 0..3 {
        let (x, y) = (ra.clone(), rb.clone());
        let (j1, j2) = tokio::join!(
            tokio::task::spawn_blocking(move || x.sweep_now()),
            tokio::task::spawn_blocking(move || y.sweep_now())
        );
        j1.unwrap();
        j2.unwrap();
    }
    let offline: Vec<_> = sa
        .alerts(100)
        .unwrap()
        .into_iter()
        .filter(|al| al.device_id == t.enrolled.device_id && al.kind == "terminal_offline")
        .collect();
    assert_eq!(offline.len(), 1, "{offline:?}");
    assert_eq!(cluster.psql("SELECT count(*) FROM alerts WHERE kind = 'terminal_offline'"), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_another_fleet_ca_refuses_to_start_on_a_bound_database() {
    let cluster = PgCluster::start();
    let url = cluster.url();
    let a = start_with(|c| c.database = Some(url.clone())).await;
    let bound = cluster.psql("SELECT ca_sha256 FROM fleet_ca");
    assert_eq!(bound.len(), 64, "bound at the first start: {bound}");

    // An empty data directory: it would make a CA of its own. Refused before it does.
    let empty = tempfile::tempdir().unwrap();
    let mut c = config(empty.path());
    c.database = Some(url.clone());
    let e = central::start(c).await.unwrap_err();
    let message = e.to_string();
    assert!(matches!(e, central::StartError::OtherFleetCa { .. }), "{message}");
    assert!(message.contains("has no fleet CA") && message.contains(&bound), "{message}");
    assert!(message.contains("copy the data directory"), "{message}");
    assert!(!empty.path().join("ca.pem").exists(), "no second CA was made");

    // A data directory with a CA of its own (started once on SQLite).
    let other = tempfile::tempdir().unwrap();
    let own = central::start(config(other.path())).await.unwrap();
    own.shutdown().await;
    let mut c = config(other.path());
    c.database = Some(url);
    let e = central::start(c).await.unwrap_err();
    let message = e.to_string();
    assert!(message.contains("holds the fleet CA with SHA-256") && message.contains(&bound), "{message}");
    assert_eq!(cluster.psql("SELECT ca_sha256 FROM fleet_ca"), bound, "the binding is unchanged");
    a.server.shutdown().await;
}
