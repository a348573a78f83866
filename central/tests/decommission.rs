//! Retiring a terminal: refused at once with a problem type that tells it so, shown as
//! decommissioned with what its outbox still held (never delivered, listed as lost),
//! its history kept under its id; the same hardware enrolled again is a new terminal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use central::api::*;
use common::*;

fn with_backlog(depth: u32, oldest_age_s: u64) -> TelemetryBatch {
    let mut hb = heartbeat(PrinterHealth::Ok);
    hb.outbox = OutboxState { depth, oldest_age_s };
    TelemetryBatch { heartbeat: Some(hb), events: vec![], audit: vec![] }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decommissioned_terminal_is_refused_at_once_and_its_backlog_is_listed_as_lost() {
    let rig = start().await;
    let t = rig.enroll().await;
    let id = t.enrolled.device_id.clone();
    assert_eq!(t.post(&rig, "/v1/telemetry", "hb1", &with_backlog(3, 120)).await.status(), 200);
    let ops = rig.ops().await;
    let page = ops.page(&format!("/ops/terminals/{id}")).await;
    assert!(page.contains(r#"<form id="decommission""#), "the terminal page offers it");

    let retire = format!("/ops/terminals/{id}/decommission");
    // Without the page's token (another site's form, or a stale page): refused.
    assert_eq!(ops.post(&retire).await.0, 403, "no CSRF token");
    assert_eq!(ops.post_form(&retire, &[("csrf", "0".repeat(64).as_str())]).await.0, 403, "a forged token");
    let csrf = csrf_of(&page);
    let (status, location) = ops.post_form(&retire, &[("csrf", &csrf)]).await;
    assert_eq!((status, location.as_deref()), (303, Some(format!("/ops/terminals/{id}").as_str())));

    // Refused at once, and told why.
    let (status, p) = problem(t.post(&rig, "/v1/telemetry", "hb2", &with_backlog(3, 125)).await).await;
    assert_eq!((status, p.kind()), (403, Some(ProblemType::DeviceDecommissioned)), "{p:?}");

    let fleet = ops.page("/ops").await;
    let row = fleet.split(&format!("<tr data-device=\"{id}\">")).nth(1).unwrap();
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains(r#"data-status="decommissioned""#), "{row}");
    assert!(row.contains("3 item(s) were waiting in its outbox"), "the backlog is accounted for: {row}");
    let page = ops.page(&format!("/ops/terminals/{id}")).await;
    assert!(!page.contains(r#"<form id="decommission""#), "nothing more to retire");
    assert!(page.contains("Sessions 2"), "its history stays under its id");
    assert!(rig.metrics_text().await.contains("central_fleet_terminals{status=\"decommissioned\"} 1"));
    assert_eq!(ops.post_form(&retire, &[("csrf", &csrf)]).await.0, 404, "only once");

    // The hardware enrolled again with a new token is a new terminal.
    let again = rig.enroll().await;
    assert_ne!(again.enrolled.device_id, id);
    assert_eq!(again.post(&rig, "/v1/telemetry", "hb3", &with_backlog(0, 0)).await.status(), 200);
    let old = rig.server.store().terminal(&id).unwrap().unwrap();
    assert_eq!(old.decommissioned.as_ref().and_then(|d| d.backlog_depth), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_will_not_retire_a_terminal_without_a_login() {
    let rig = start().await;
    let t = rig.enroll().await;
    let r = rig
        .anonymous()
        .post(rig.url(&format!("/ops/terminals/{}/decommission", t.enrolled.device_id)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.url().path(), "/ops/login", "sent to log in");
    assert_eq!(t.post(&rig, "/v1/telemetry", "hb", &with_backlog(0, 0)).await.status(), 200, "still in service");
}

#[test]
fn the_backlog_is_put_in_words_for_operations() {
    use central::store::Decommission;
    let account = |depth, seen| {
        central::ops::backlog_account(&Decommission {
            at: 10,
            backlog_depth: depth,
            backlog_oldest_age_s: Some(300),
            last_seen: seen,
        })
    };
    assert!(account(Some(0), Some(5)).contains("nothing was lost"));
    let lost = account(Some(4), Some(1_796_400_000));
    assert!(lost.starts_with("4 item(s)") && lost.contains("oldest 300 s") && lost.contains("lost"), "{lost}");
    assert!(account(None, None).contains("never sent a heartbeat"));
}

#[test]
fn the_command_line_refuses_a_device_it_does_not_know() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_central"))
        .args(["--data-dir", &dir.path().display().to_string(), "device", "decommission", "KT-NOSUCH"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no active device KT-NOSUCH"), "{err}");
}
