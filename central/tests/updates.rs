//! Staged software updates, central's side, over real HTTPS with device certificates:
//! publishing checks the package and (with `release_key`) its signature; the offer
//! follows the rollout (target, pause, resume, the version a terminal runs, what it
//! reported); the package is served byte for byte; update events become outcomes,
//! alerts, the `updating` state and the dashboard's rollout section.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use central::api::*;
use central::release::{PackageFields, Target};
use central::store::Store as _;
use common::*;

/// A release key made as operations make it, offline: (private key path, public base64).
fn release_key(dir: &Path) -> (PathBuf, String) {
    let (key, public) = central::release::keygen(&dir.join("offline")).unwrap();
    (key, std::fs::read_to_string(public).unwrap().trim().to_owned())
}

/// A package file with `bytes`, signed for `version` on arm64: (deb, manifest).
fn signed_package(dir: &Path, key: &Path, version: &str, bytes: &[u8]) -> (PathBuf, PathBuf) {
    let deb = dir.join(format!("kiosk_{version}_arm64.deb"));
    std::fs::write(&deb, bytes).unwrap();
    let fields = PackageFields { package: "kiosk".into(), version: version.into(), architecture: "arm64".into() };
    let (manifest, signed) = central::release::sign_package(key, &deb, Some(fields)).unwrap();
    assert_eq!(manifest, dir.join(format!("kiosk_{version}_arm64.deb.release.json")));
    assert_eq!(signed.manifest.size, bytes.len() as u64);
    (deb, manifest)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn event(id: &str, kind: &str, detail: &str) -> TelemetryEvent {
    TelemetryEvent {
        id: id.into(),
        at: time::OffsetDateTime::now_utc(),
        kind: kind.into(),
        severity: Severity::Warning,
        detail: Some(detail.into()),
    }
}

fn running(version: &str) -> TelemetryBatch {
    let mut hb = heartbeat(PrinterHealth::Ok);
    hb.software_version = version.into();
    TelemetryBatch { heartbeat: Some(hb), events: vec![], audit: vec![] }
}

fn events(list: Vec<TelemetryEvent>) -> TelemetryBatch {
    TelemetryBatch { heartbeat: None, events: list, audit: vec![] }
}

async fn offer(rig: &Rig, t: &Terminal, architecture: &str) -> reqwest::Response {
    t.http.get(rig.url(&format!("/v1/updates/offer?architecture={architecture}"))).send().await.unwrap()
}

/// The rig's configuration with the release key: what `central release publish` uses.
fn publishing(rig: &Rig, public: &str) -> central::ServerConfig {
    let mut c = config(rig.dir.path());
    c.release_key = Some(public.to_owned());
    c
}

#[test]
fn publish_refuses_a_mismatched_file_and_a_bad_signature_when_the_release_key_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = release_key(dir.path());
    let store = central::store::SqliteStore::open(&dir.path().join("c.db")).unwrap();
    let mut config = central::ServerConfig::new(dir.path().join("data"));
    config.release_key = Some(public);

    // The file is not the one the manifest describes: refused, nothing stored.
    let (deb, manifest) = signed_package(dir.path(), &key, "0.2.0", b"the real package");
    std::fs::write(&deb, b"the real package, tampered").unwrap();
    let err = central::release::publish(&config, &store, &deb, &manifest, now()).unwrap_err();
    assert!(format!("{err:#}").contains("is not the package its manifest describes"), "{err:#}");
    assert_eq!(store.release("0.2.0", "arm64").unwrap(), None);

    // Signed with another key (a key the terminals do not trust): refused.
    let other = tempfile::tempdir().unwrap();
    let (other_key, _) = release_key(other.path());
    let (deb, manifest) = signed_package(dir.path(), &other_key, "0.2.1", b"another package");
    let err = central::release::publish(&config, &store, &deb, &manifest, now()).unwrap_err();
    assert!(format!("{err:#}").contains("signature does not verify"), "{err:#}");
    assert_eq!(store.release("0.2.1", "arm64").unwrap(), None);

    // A manifest edited after signing (the version changed): refused.
    let (deb, manifest) = signed_package(dir.path(), &key, "0.2.2", b"a third package");
    let edited = std::fs::read_to_string(&manifest).unwrap().replace("0.2.2", "0.2.3");
    std::fs::write(&manifest, edited).unwrap();
    let err = central::release::publish(&config, &store, &deb, &manifest, now()).unwrap_err();
    assert!(format!("{err:#}").contains("signature does not verify"), "{err:#}");

    // The right key and file: stored as <sha256>.deb and recorded; again: no change.
    let (deb, manifest) = signed_package(dir.path(), &key, "0.3.0", b"a good package");
    let p = central::release::publish(&config, &store, &deb, &manifest, now()).unwrap();
    assert!(p.signature_checked && !p.already);
    let stored = config.releases_dir().join(format!("{}.deb", p.record.sha256));
    assert_eq!(std::fs::read(&stored).unwrap(), b"a good package");
    assert_eq!(store.release("0.3.0", "arm64").unwrap(), Some(p.record.clone()));
    assert!(central::release::publish(&config, &store, &deb, &manifest, now()).unwrap().already);
    // Another file under the same version: refused (a version means one package).
    let (deb, manifest) = signed_package(dir.path(), &key, "0.3.0", b"a different 0.3.0");
    let err = central::release::publish(&config, &store, &deb, &manifest, now()).unwrap_err();
    assert!(format!("{err:#}").contains("publish a new version instead"), "{err:#}");

    // Without a configured key the signature is left to the terminals.
    config.release_key = None;
    let (deb, manifest) = signed_package(dir.path(), &other_key, "0.4.0", b"unchecked");
    let p = central::release::publish(&config, &store, &deb, &manifest, now()).unwrap();
    assert!(!p.signature_checked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offer_follows_the_rollout_its_pauses_and_what_the_terminal_runs_and_reported() {
    let rig = start().await;
    let (key, public) = release_key(rig.dir.path());
    let (a, b) = (rig.enroll().await, rig.enroll().await);
    let (a_id, b_id) = (a.enrolled.device_id.clone(), b.enrolled.device_id.clone());
    for (t, k) in [(&a, "a-hb1"), (&b, "b-hb1")] {
        assert_eq!(t.post(&rig, "/v1/telemetry", k, &running("0.1.0")).await.status(), 200);
    }
    assert_eq!(offer(&rig, &a, "arm64").await.status(), 204, "no rollout");

    // Only a published release can be rolled out.
    let store = rig.server.store();
    let target = Target::Devices(vec![a_id.clone()]);
    let err = central::release::start_rollout(store.as_ref(), "0.2.0", "arm64", &target, now()).unwrap_err();
    assert!(err.to_string().contains("not published"), "{err}");
    let (deb, manifest) = signed_package(rig.dir.path(), &key, "0.2.0", b"kiosk 0.2.0 package bytes");
    let published =
        central::release::publish(&publishing(&rig, &public), store.as_ref(), &deb, &manifest, now()).unwrap();
    let id = central::release::start_rollout(store.as_ref(), "0.2.0", "arm64", &target, now()).unwrap();

    let resp = offer(&rig, &a, "arm64").await;
    assert_eq!(resp.status(), 200);
    let got: UpdateOffer = resp.json().await.unwrap();
    assert_eq!(got.rollout_id, id);
    assert_eq!(got.download_path, format!("/v1/updates/packages/{}", published.record.sha256));
    let trusted = central::release::parse_public_key(&public).unwrap();
    assert_eq!(verify_release(&got.release, &trusted, "kiosk", "arm64"), Ok(()), "as operations signed it");
    assert_eq!(offer(&rig, &b, "arm64").await.status(), 204, "not in the named list");
    assert_eq!(offer(&rig, &a, "amd64").await.status(), 204, "another architecture");
    for bad in ["", "ARM64", "arm64%2F..", "x%20y"] {
        let (status, p) = problem(offer(&rig, &a, bad).await).await;
        assert_eq!((status, p.kind()), (400, Some(ProblemType::MalformedRequest)), "{bad:?}");
    }
    let (status, _) = problem(a.http.get(rig.url("/v1/updates/offer")).send().await.unwrap()).await;
    assert_eq!(status, 400, "no architecture");
    let (status, _) =
        problem(rig.anonymous().get(rig.url("/v1/updates/offer?architecture=arm64")).send().await.unwrap()).await;
    assert_eq!(status, 401, "terminals only");

    // Paused and resumed from the dashboard (its CSRF-protected buttons).
    let ops = rig.ops().await;
    let page = ops.page("/ops/versions").await;
    assert!(page.contains(&format!(r#"<tr data-rollout="{id}" data-state="active">"#)), "{page}");
    let pause = format!("/ops/rollouts/{id}/pause");
    assert_eq!(ops.post(&pause).await.0, 403, "no CSRF token");
    let csrf = csrf_of(&page);
    assert_eq!(ops.post_form(&pause, &[("csrf", &csrf)]).await, (303, Some("/ops/versions".to_owned())));
    assert_eq!(offer(&rig, &a, "arm64").await.status(), 204, "paused");
    let page = ops.page("/ops/versions").await;
    assert!(page.contains(r#"data-state="paused""#) && page.contains(&format!("rollout-{id}-resume")));
    let resume = format!("/ops/rollouts/{id}/resume");
    assert_eq!(ops.post_form(&resume, &[("csrf", &csrf)]).await.0, 303);
    assert_eq!(offer(&rig, &a, "arm64").await.status(), 200, "resumed");
    assert_eq!(ops.post_form("/ops/rollouts/999/pause", &[("csrf", &csrf)]).await.0, 409, "no such rollout");

    // A terminal already on the version is not offered it.
    assert_eq!(a.post(&rig, "/v1/telemetry", "a-hb2", &running("0.2.0")).await.status(), 200);
    assert_eq!(offer(&rig, &a, "arm64").await.status(), 204, "runs it already");

    // A new rollout to everyone supersedes the named one.
    let all = central::release::start_rollout(store.as_ref(), "0.2.0", "arm64", &Target::Percent(100), now()).unwrap();
    assert_eq!(store.rollout(id).unwrap().unwrap().state, "superseded");
    let err = central::release::set_paused(store.as_ref(), id, false, now()).unwrap_err();
    assert!(err.to_string().contains("superseded"), "{err}");
    let resp = offer(&rig, &b, "arm64").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<UpdateOffer>().await.unwrap().rollout_id, all);

    // b tries, fails its self-test and rolls back: not offered 0.2.0 again; the alert
    // names the terminal; the versions view shows why.
    let reason = "self-test failed: printer did not answer";
    let batch = events(vec![
        event("u1", update_event::STARTED, "0.2.0"),
        event("u2", update_event::ROLLED_BACK, &update_detail("0.2.0", Some(reason))),
    ]);
    assert_eq!(b.post(&rig, "/v1/telemetry", "b-ev1", &batch).await.status(), 200);
    assert_eq!(offer(&rig, &b, "arm64").await.status(), 204, "rolled back: not offered again");
    let outcome = store.update_outcome(&b_id, "0.2.0").unwrap().unwrap();
    assert_eq!((outcome.outcome.as_str(), outcome.reason.as_deref()), ("rolled_back", Some(reason)));
    let alerts = store.open_alerts().unwrap();
    let alert = alerts.iter().find(|x| x.kind == "update_rolled_back").expect("alert opened");
    assert_eq!((alert.device_id.as_str(), alert.detail.as_str()), (b_id.as_str(), format!("0.2.0: {reason}").as_str()));
    let page = ops.page("/ops/versions").await;
    let row = page.split(&format!(r#"<tr data-rollout="{all}""#)).nth(1).unwrap();
    let row = &row[..row.find("</tr>").unwrap()];
    // Targeted 2, running it 1 (a), installed 0, rolled back 1, refused 0.
    assert!(
        row.contains(
            "<td>100 %</td><td>active</td><td>2</td><td>1</td><td>0</td><td class=\"open\">1</td><td class=\"\">0</td>"
        ),
        "{row}"
    );
    let problem_row = page.split(&format!(r#"<tr data-update-problem="{b_id}""#)).nth(1).unwrap();
    assert!(problem_row.contains("rolled back") && problem_row.contains(reason), "{problem_row}");
    let fleet = ops.page("/ops").await;
    let b_row = fleet.split(&format!("<tr data-device=\"{b_id}\">")).nth(1).unwrap();
    assert!(!b_row[..b_row.find("</tr>").unwrap()].contains("updating"), "the rollback ended the update");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_package_raises_an_alert_naming_the_terminal() {
    let rig = start().await;
    let t = rig.enroll().await;
    let id = t.enrolled.device_id.clone();
    let detail =
        update_detail("0.2.0", Some("package is 12 bytes with SHA-256 ab…, the signed manifest says 10 bytes"));
    assert_eq!(
        t.post(&rig, "/v1/telemetry", "ev", &events(vec![event("r1", update_event::REFUSED, &detail)])).await.status(),
        200
    );
    let alerts = rig.server.store().open_alerts().unwrap();
    let alert = alerts.iter().find(|a| a.kind == "update_refused").expect("alert");
    assert_eq!((alert.device_id.as_str(), alert.detail.as_str()), (id.as_str(), detail.as_str()));
    assert_eq!(rig.server.store().update_outcome(&id, "0.2.0").unwrap().unwrap().outcome, "refused");
    assert!(rig.metrics_text().await.contains("central_alerts_open{kind=\"update_refused\"} 1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_package_is_served_byte_for_byte_and_nothing_else_is() {
    let rig = start().await;
    let (key, public) = release_key(rig.dir.path());
    let t = rig.enroll().await;
    // Bigger than one read chunk, so it streams in several.
    let bytes: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let (deb, manifest) = signed_package(rig.dir.path(), &key, "0.2.0", &bytes);
    let store = rig.server.store();
    let p = central::release::publish(&publishing(&rig, &public), store.as_ref(), &deb, &manifest, now()).unwrap();

    let resp = t.http.get(rig.url(&format!("/v1/updates/packages/{}", p.record.sha256))).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/vnd.debian.binary-package");
    assert_eq!(resp.headers()["content-length"], bytes.len().to_string().as_str());
    assert_eq!(resp.bytes().await.unwrap().as_ref(), bytes.as_slice());

    for path in [
        format!("/v1/updates/packages/{}", "0".repeat(64)),
        format!("/v1/updates/packages/{}", p.record.sha256.to_uppercase()),
        "/v1/updates/packages/..%2F..%2Fcentral.db".to_owned(),
        "/v1/updates/packages/%2e%2e".to_owned(),
        format!("/v1/updates/packages/{}.deb", p.record.sha256),
    ] {
        let (status, p) = problem(t.http.get(rig.url(&path)).send().await.unwrap()).await;
        assert_eq!((status, p.kind()), (404, Some(ProblemType::NotFound)), "{path}");
    }
    let anonymous = rig.anonymous().get(rig.url(&format!("/v1/updates/packages/{}", p.record.sha256)));
    assert_eq!(anonymous.send().await.unwrap().status(), 401, "terminals only");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_updating_terminal_is_shown_updating_even_when_silent_until_its_outcome() {
    let rig = start_with(|c| {
        c.heartbeat_interval = std::time::Duration::from_secs(1);
        c.offline_after_missed = 2;
    })
    .await;
    let t = rig.enroll().await;
    let id = t.enrolled.device_id.clone();
    assert_eq!(t.post(&rig, "/v1/telemetry", "hb", &running("0.1.0")).await.status(), 200);
    let batch = events(vec![event("s1", update_event::STARTED, "0.2.0")]);
    assert_eq!(t.post(&rig, "/v1/telemetry", "ev1", &batch).await.status(), 200);
    // The old version's heartbeats while it installs do not end the update.
    assert_eq!(t.post(&rig, "/v1/telemetry", "hb-during", &running("0.1.0")).await.status(), 200);
    assert_eq!(rig.server.store().terminal(&id).unwrap().unwrap().mode.as_deref(), Some("updating"));
    // Silent for longer than the offline window: restarting into the new version.
    tokio::time::sleep(std::time::Duration::from_millis(3200)).await;
    let ops = rig.ops().await;
    let fleet = ops.page("/ops").await;
    let row = fleet.split(&format!("<tr data-device=\"{id}\">")).nth(1).unwrap();
    assert!(row[..row.find("</tr>").unwrap()].contains(r#"data-status="updating""#), "{row}");
    assert!(fleet.contains("Updating<b>1</b>"), "the card counts it");
    let metrics = rig.metrics_text().await;
    assert!(metrics.contains("central_fleet_terminals{status=\"updating\"} 1"), "{metrics}");
    assert!(metrics.contains(&format!("central_terminal_status{{device_id=\"{id}\",status=\"updating\"}} 1")));

    let mut done = running("0.2.0");
    done.events = vec![event("s2", update_event::INSTALLED, "0.2.0")];
    assert_eq!(t.post(&rig, "/v1/telemetry", "ev2", &done).await.status(), 200);
    let row = rig.server.store().terminal(&id).unwrap().unwrap();
    assert_eq!(row.mode, None, "installed: no longer updating");
    assert_eq!(rig.server.store().update_outcome(&id, "0.2.0").unwrap().unwrap().outcome, "installed");
    assert!(rig.metrics_text().await.contains("central_fleet_terminals{status=\"serving\"} 1"));
}
