//! Heartbeats, events and alerts, offline detection, Prometheus metrics and the
//! dashboard's login and pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use central::api::*;
use common::*;

fn batch(hb: Option<Heartbeat>, events: Vec<TelemetryEvent>) -> TelemetryBatch {
    TelemetryBatch { heartbeat: hb, events, audit: vec![] }
}

fn event(id: &str, kind: &str) -> TelemetryEvent {
    TelemetryEvent {
        id: id.into(),
        at: time::OffsetDateTime::now_utc(),
        kind: kind.into(),
        severity: Severity::Warning,
        detail: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_out_opens_an_alert_and_ok_clears_it() {
    let rig = start().await;
    let t = rig.enroll().await;
    let resp = t.post(&rig, "/v1/telemetry", "hb1", &batch(Some(heartbeat(PrinterHealth::PaperOut)), vec![])).await;
    assert_eq!(resp.status(), 200);
    let ack: TelemetryAck = resp.json().await.unwrap();
    assert_eq!(ack.heartbeat_interval_s, 30);
    let open = |alerts: Vec<central::store::AlertRow>| {
        alerts.into_iter().filter(|a| a.cleared_at.is_none()).map(|a| a.kind).collect::<Vec<_>>()
    };
    assert_eq!(open(rig.server.store().alerts(100).unwrap()), vec!["paper_out".to_owned()]);
    let metrics = rig.metrics_text().await;
    assert!(metrics.contains("central_alerts_open{kind=\"paper_out\"} 1"), "{metrics}");
    assert_eq!(
        t.post(&rig, "/v1/telemetry", "hb2", &batch(Some(heartbeat(PrinterHealth::Ok)), vec![])).await.status(),
        200
    );
    assert!(open(rig.server.store().alerts(100).unwrap()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_and_an_old_backlog_raise_their_alerts() {
    let rig = start_with(|c| c.backlog_alert_age = Duration::from_secs(60)).await;
    let t = rig.enroll().await;
    let mut hb = heartbeat(PrinterHealth::CoverOpen);
    hb.devices.camera = CameraHealth::Missing;
    hb.outbox = OutboxState { depth: 17, oldest_age_s: 61 };
    assert_eq!(t.post(&rig, "/v1/telemetry", "hb1", &batch(Some(hb), vec![])).await.status(), 200);
    let alerts = rig.server.store().alerts(100).unwrap();
    let fault = alerts.iter().find(|a| a.kind == "device_fault").unwrap();
    assert_eq!(fault.detail, "printer cover open, camera missing");
    assert!(alerts.iter().any(|a| a.kind == "outbox_backlog" && a.cleared_at.is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_goes_offline_after_missed_heartbeats_and_back_online() {
    let rig = start_with(|c| {
        c.heartbeat_interval = Duration::from_secs(1);
        c.offline_after_missed = 1;
        c.sweep_interval = Duration::from_secs(600);
    })
    .await;
    let t = rig.enroll().await;
    assert_eq!(
        t.post(&rig, "/v1/telemetry", "hb1", &batch(Some(heartbeat(PrinterHealth::Ok)), vec![])).await.status(),
        200
    );
    rig.server.sweep_now();
    let offline = |rig: &Rig| {
        rig.server.store().alerts(100).unwrap().iter().any(|a| a.kind == "terminal_offline" && a.cleared_at.is_none())
    };
    // Waiting longer can only make the terminal more silent: no timing threshold to flake on.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    rig.server.sweep_now();
    assert!(offline(&rig));
    let metrics = rig.metrics_text().await;
    assert!(metrics.contains(&format!("central_terminal_up{{device_id=\"{}\"}} 0", t.enrolled.device_id)));
    assert_eq!(
        t.post(&rig, "/v1/telemetry", "hb2", &batch(Some(heartbeat(PrinterHealth::Ok)), vec![])).await.status(),
        200
    );
    assert!(!offline(&rig));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resent_heartbeat_is_replayed_not_counted_twice() {
    // Heartbeat-only batches take the one-transaction path; its answers must be the
    // general path's: a replay for the same body, 422 for another, and a batch with
    // events under a fresh key still goes through.
    let rig = start().await;
    let t = rig.enroll().await;
    let b = batch(Some(heartbeat(PrinterHealth::Ok)), vec![]);
    let first = t.post(&rig, "/v1/telemetry", "hb-same", &b).await;
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first_body = first.bytes().await.unwrap();
    let again = t.post(&rig, "/v1/telemetry", "hb-same", &b).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.bytes().await.unwrap(), first_body, "the stored answer, byte for byte");
    let other = batch(Some(heartbeat(PrinterHealth::PaperOut)), vec![]);
    assert_eq!(t.post(&rig, "/v1/telemetry", "hb-same", &other).await.status(), 422);
    let state = rig.server.store().terminal(&t.enrolled.device_id).unwrap().unwrap();
    assert_eq!(state.heartbeats_total, 1, "recorded once");
    assert!(rig.server.store().alerts(10).unwrap().is_empty(), "the refused body opened nothing");
    let mixed = batch(Some(heartbeat(PrinterHealth::Ok)), vec![event("e1", "session.finished")]);
    let ack: TelemetryAck = t.post(&rig, "/v1/telemetry", "hb-ev", &mixed).await.json().await.unwrap();
    assert_eq!(ack.accepted_events, 1);
    assert_eq!(rig.server.store().terminal(&t.enrolled.device_id).unwrap().unwrap().heartbeats_total, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_deduplicated_by_id_and_counted() {
    let rig = start().await;
    let t = rig.enroll().await;
    let b = batch(None, vec![event("e1", "session.finished"), event("e2", "printer.paper_out")]);
    let ack: TelemetryAck = t.post(&rig, "/v1/telemetry", "ev1", &b).await.json().await.unwrap();
    assert_eq!(ack.accepted_events, 2);
    // A new batch (new key) that repeats e2, as an outbox resend after a lost ack could.
    let b = batch(None, vec![event("e2", "printer.paper_out"), event("e3", "session.started")]);
    let ack: TelemetryAck = t.post(&rig, "/v1/telemetry", "ev2", &b).await.json().await.unwrap();
    assert_eq!(ack.accepted_events, 1);
    assert_eq!(rig.server.store().recent_events(&t.enrolled.device_id, 10).unwrap().len(), 3);
    // The paper-out event opened the alert before any heartbeat.
    assert!(rig.server.store().alerts(10).unwrap().iter().any(|a| a.kind == "paper_out"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_prometheus_conventions() {
    let rig = start().await;
    let t = rig.enroll().await;
    assert_eq!(
        t.post(&rig, "/v1/telemetry", "hb1", &batch(Some(heartbeat(PrinterHealth::Ok)), vec![])).await.status(),
        200
    );
    let resp = rig.metrics().await;
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    // Every series carries the instance label (checked and taken out here).
    let text = without_instance(&resp.text().await.unwrap(), rig.server.instance_name());
    let id = &t.enrolled.device_id;
    for needle in [
        "central_fleet_terminals{status=\"serving\"} 1".to_owned(),
        format!("central_terminal_status{{device_id=\"{id}\",status=\"serving\"}} 1"),
        "central_heartbeats_total 1".to_owned(),
        format!("central_terminal_sessions_total{{device_id=\"{id}\"}} 2"),
        format!("central_terminal_clock_offset_seconds{{device_id=\"{id}\"}} 0.012"),
        format!("central_terminal_outbox_depth{{device_id=\"{id}\"}} 0"),
    ] {
        assert!(text.contains(&needle), "missing {needle} in\n{text}");
    }
    // Every counter's TYPE line says counter and its name ends in _total.
    for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
        let mut parts = line.split_whitespace().skip(2);
        let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
        assert_eq!(kind == "counter", name.ends_with("_total"), "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_needs_a_login_and_shows_no_citizen_data() {
    let rig = start().await;
    rig.server.add_user("ops", "correct horse battery").unwrap();
    let t = rig.enroll().await;
    let cert = CertificateRequest {
        kind: CertificateKind::AllInsurances,
        id_number: central::registry::WORKER_ID.into(),
        name: central::registry::WORKER_NAME.into(),
        period: Period { from: "2024-01".into(), to: "2024-02".into() },
    };
    assert_eq!(t.post(&rig, "/v1/certificates", "c1", &cert).await.status(), 201);
    assert_eq!(
        t.post(&rig, "/v1/telemetry", "hb1", &batch(Some(heartbeat(PrinterHealth::PaperOut)), vec![])).await.status(),
        200
    );
    let browser = reqwest::Client::builder()
        .use_preconfigured_tls(
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates({
                    let mut r = rustls::RootCertStore::empty();
                    r.add(rustls::pki_types::pem::PemObject::from_pem_slice(rig.server.ca_pem().as_bytes()).unwrap())
                        .unwrap();
                    r
                })
                .with_no_client_auth(),
        )
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = browser.get(rig.url("/ops")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let r = browser
        .post(rig.url("/ops/login"))
        .form(&[("username", "ops"), ("password", "wrong password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = browser
        .post(rig.url("/ops/login"))
        .form(&[("username", "ops"), ("password", "correct horse battery")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    for path in ["/ops".to_owned(), format!("/ops/terminals/{}", t.enrolled.device_id), "/ops/alerts".to_owned()] {
        let html = browser.get(rig.url(&path)).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
        assert!(html.contains(&t.enrolled.device_id), "{path}");
        assert!(
            !html.contains(central::registry::WORKER_ID) && !html.contains(central::registry::WORKER_NAME),
            "{path}"
        );
        if path != "/ops" {
            assert!(html.contains("paper_out"), "{path}");
        }
    }
    let fleet = browser
        .get(rig.url("/ops?status=offline"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !fleet.contains(&format!("data-device=\"{}\"", t.enrolled.device_id)),
        "filter hides the alerting terminal"
    );
    let terminal = browser
        .get(rig.url(&format!("/ops/terminals/{}", t.enrolled.device_id)))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(terminal.contains("<svg class=\"chart\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_fault_events_open_their_alerts_with_the_events_detail() {
    let rig = start().await;
    let t = rig.enroll().await;
    let mappings = [
        (
            "outbox.quarantined",
            "outbox_quarantined",
            "outbox row 7 (Submission) cannot be opened; kept for a technician",
        ),
        ("outbox.unauthorized", "outbox_unauthorized", "HTTP 403: deliveries paused, items kept until re-enrollment"),
        ("storage.unwritable", "storage_unwritable", "outbox: disk full; submissions stopped"),
        ("outbox.expired", "outbox_expired", "outbox row 9 (Submission) undelivered past the idempotency window"),
    ];
    let events = mappings
        .iter()
        .enumerate()
        .map(|(i, (kind, _, detail))| TelemetryEvent {
            detail: Some((*detail).into()),
            severity: Severity::Error,
            ..event(&format!("f{i}"), kind)
        })
        .collect();
    assert_eq!(t.post(&rig, "/v1/telemetry", "ev1", &batch(None, events)).await.status(), 200);
    let alerts = rig.server.store().open_alerts().unwrap();
    for (event_kind, alert_kind, detail) in mappings {
        let a = alerts.iter().find(|a| a.kind == alert_kind).unwrap_or_else(|| panic!("no alert for {event_kind}"));
        assert_eq!((a.device_id.as_str(), a.detail.as_str()), (t.enrolled.device_id.as_str(), detail), "{event_kind}");
    }
    let metrics = rig.metrics_text().await;
    for (_, alert_kind, _) in mappings {
        assert!(metrics.contains(&format!("central_alerts_open{{kind=\"{alert_kind}\"}} 1")), "{alert_kind}");
    }

    // A long detail is cut to 200 characters (whole characters); none gets a default.
    let other = rig.enroll().await;
    let long = "磁盘已满".repeat(100);
    let events = vec![
        TelemetryEvent { detail: Some(long.clone()), ..event("g1", "storage.unwritable") },
        event("g2", "outbox.unauthorized"),
    ];
    assert_eq!(other.post(&rig, "/v1/telemetry", "ev2", &batch(None, events)).await.status(), 200);
    let alerts = rig.server.store().open_alerts().unwrap();
    let of = |kind: &str| {
        alerts.iter().find(|a| a.device_id == other.enrolled.device_id && a.kind == kind).unwrap().detail.clone()
    };
    assert_eq!(of("storage_unwritable"), long.chars().take(200).collect::<String>());
    assert!(of("outbox_unauthorized").contains("re-enrollment"), "{}", of("outbox_unauthorized"));
}

/// A terminal that cannot renew its certificate says so once, naming the expiry date;
/// operations see the alert until the terminal reports the renewal. The fleet page lists
/// certificates that expire within 30 days, and only those.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_renewal_alerts_open_and_clear_and_expiring_certificates_are_listed() {
    let rig = start_with(|c| c.device_certificate_validity = Duration::from_secs(2 * 3600)).await;
    let t = rig.enroll().await;
    let failed = TelemetryEvent {
        detail: Some("certificate expires 2027-01-15 10:00 UTC; renewal failed: central service unreachable".into()),
        severity: Severity::Warning,
        ..event("r1", "certificate.renewal_failed")
    };
    assert_eq!(t.post(&rig, "/v1/telemetry", "rn1", &batch(None, vec![failed])).await.status(), 200);
    let open = |alerts: Vec<central::store::AlertRow>| {
        alerts
            .into_iter()
            .filter(|a| a.kind == "certificate_renewal_failed" && a.cleared_at.is_none())
            .collect::<Vec<_>>()
    };
    let alerts = open(rig.server.store().open_alerts().unwrap());
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].device_id, t.enrolled.device_id);
    assert!(alerts[0].detail.contains("expires 2027-01-15 10:00 UTC"), "{}", alerts[0].detail);
    assert!(rig.metrics_text().await.contains("central_alerts_open{kind=\"certificate_renewal_failed\"} 1"));

    let fleet = rig.ops_page("/ops").await;
    assert!(fleet.contains(&format!("data-expiring=\"{}\"", t.enrolled.device_id)), "a two-hour certificate is listed");
    assert!(fleet.contains("in 1 h") || fleet.contains("in 2 h"), "with the time left");

    let renewed = TelemetryEvent {
        detail: Some("new certificate valid until 2027-01-15 12:00 UTC".into()),
        ..event("r2", "certificate.renewed")
    };
    assert_eq!(t.post(&rig, "/v1/telemetry", "rn2", &batch(None, vec![renewed])).await.status(), 200);
    assert!(open(rig.server.store().open_alerts().unwrap()).is_empty(), "the renewal cleared the alert");

    // A year's certificate is not listed.
    let yearly = start().await;
    let y = yearly.enroll().await;
    let fleet = yearly.ops_page("/ops").await;
    assert!(fleet.contains(&y.enrolled.device_id) && fleet.contains(r#"id="expiring-none""#), "nothing expires soon");
}

/// The service's own certificate is listed once it is within 30 days of expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_near_expiry_is_listed_with_the_terminals() {
    let rig = start_with(|c| c.server_certificate_validity = Duration::from_secs(2 * 3600)).await;
    let fleet = rig.ops_page("/ops").await;
    assert!(fleet.contains(r#"data-expiring="central (server certificate)""#), "{fleet}");
}

/// The fleet view says what each terminal is doing: serving; degraded by a printer out
/// of paper (with the fault and since when); in maintenance while a technician is on
/// it; powered off the moment it says so on a clean shutdown, although its last
/// heartbeat is recent; serving again at its next heartbeat. Metrics carry the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_terminal_shows_what_it_is_doing_at_once() {
    let rig = start().await;
    let t = rig.enroll().await;
    let id = t.enrolled.device_id.clone();
    let never = rig.enroll().await;
    let ops = rig.ops().await;
    let status_of = |page: &str, device: &str| -> String {
        let row = page.split(&format!("<tr data-device=\"{device}\">")).nth(1).expect("listed");
        let row = &row[..row.find("</tr>").unwrap()];
        row.split("data-status=\"").nth(1).unwrap().split('"').next().unwrap().to_owned()
    };
    async fn send(rig: &Rig, t: &Terminal, n: &str, hb: Option<Heartbeat>, kinds: &[&str]) -> u16 {
        let events = kinds.iter().enumerate().map(|(i, k)| event(&format!("{n}-{i}"), k)).collect();
        t.post(rig, "/v1/telemetry", n, &batch(hb, events)).await.status().as_u16()
    }
    assert_eq!(send(&rig, &t, "s1", Some(heartbeat(PrinterHealth::Ok)), &[]).await, 200);
    let page = ops.page("/ops").await;
    assert_eq!(status_of(&page, &id), "serving");
    assert_eq!(status_of(&page, &never.enrolled.device_id), "never_seen");

    assert_eq!(send(&rig, &t, "s2", Some(heartbeat(PrinterHealth::PaperOut)), &[]).await, 200);
    let page = ops.page("/ops").await;
    assert_eq!(status_of(&page, &id), "degraded");
    let row = page.split(&format!("<tr data-device=\"{id}\">")).nth(1).unwrap();
    assert!(row[..row.find("</tr>").unwrap()].contains("printer is out of paper"), "says which device");
    assert!(row[..row.find("</tr>").unwrap()].contains("since"), "and since when");

    assert_eq!(send(&rig, &t, "s3", Some(heartbeat(PrinterHealth::Ok)), &["maintenance.entered"]).await, 200);
    assert_eq!(status_of(&ops.page("/ops").await, &id), "maintenance");
    assert!(
        rig.metrics_text()
            .await
            .contains(&format!("central_terminal_status{{device_id=\"{id}\",status=\"maintenance\"}} 1"))
    );
    assert_eq!(send(&rig, &t, "s4", None, &["maintenance.left"]).await, 200);
    assert_eq!(status_of(&ops.page("/ops").await, &id), "serving");

    assert_eq!(send(&rig, &t, "s5", None, &["terminal.powered_off"]).await, 200);
    assert_eq!(status_of(&ops.page("/ops").await, &id), "powered_off", "at once, not after missed heartbeats");
    let metrics = rig.metrics_text().await;
    assert!(metrics.contains("central_fleet_terminals{status=\"powered_off\"} 1"), "{metrics}");
    assert!(metrics.contains(&format!("central_terminal_up{{device_id=\"{id}\"}} 0")));
    let filtered = ops.page("/ops?status=powered_off").await;
    assert!(
        filtered.contains(&format!("data-device=\"{id}\""))
            && !filtered.contains(&format!("data-device=\"{}\"", never.enrolled.device_id))
    );

    assert_eq!(send(&rig, &t, "s6", Some(heartbeat(PrinterHealth::Ok)), &[]).await, 200);
    assert_eq!(status_of(&ops.page("/ops").await, &id), "serving", "switched on again");
}
