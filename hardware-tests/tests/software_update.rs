//! Staged software updates, the terminal's half, on simulated devices against the real
//! central service over TLS: operations publish a signed release and roll it out; the
//! terminal's agent finds the offer, checks the signature before downloading and the
//! bytes after, waits for the update window and an idle screen, says `update.started`
//! (central shows it updating) and writes the installer's request. The installer's
//! outcome, reported by the kiosk it starts, reaches the dashboard with its reason. A
//! tampered package or another key's signature is refused and raises an alert naming
//! the terminal, as does a package longer than signed (read no further than that); a
//! download the network cuts leaves nothing and is fetched whole once the line is back.
//! The start-up self-test the installer waits for passes on a healthy terminal and
//! names the device that is missing otherwise, unless it was missing before the update.
//!
//! Installing itself (dpkg, rollback, power cut) needs a Debian root:
//! scripts/test.d/30-package.updates, and the whole chain with the installed kiosk on
//! simulated devices: scripts/test.d/30-package.endtoend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use central::registry::{WORKER_ID, WORKER_NAME};
use contract as api;
use hardware_tests::Rig;
use kiosk::central_api::CentralClient;
use kiosk::renewal::Clock;
use kiosk::update::agent::{Checked, UpdateError, UpdateSettings, Updater, self_test};
use kiosk::update::plan::Window;
use kiosk::update::spool::{self, Outcome, OutcomeKind, Request, Spool};
use sha2::Digest as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const RUNNING: &str = "0.1.0-1";

fn release_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[3; 32])
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// A window around now (China time) or one that excludes it.
fn window(open_now: bool) -> Window {
    let minute = ((now() + 8 * 3600).rem_euclid(86_400) / 60) as u16;
    let hm = |m: u16| format!("{:02}:{:02}", (m % 1440) / 60, m % 60);
    let (start, end) = if open_now { (minute + 1440 - 60, minute + 60) } else { (minute + 120, minute + 180) };
    format!("{}-{}", hm(start), hm(end)).parse().unwrap()
}

fn settings(open_now: bool) -> UpdateSettings {
    let mut s = UpdateSettings::new(Some(release_key().verifying_key()), window(open_now));
    s.architecture = kiosk::update::architecture().into();
    s.self_test_grace = Duration::ZERO;
    s.self_test_limit = Duration::from_secs(10);
    s
}

fn clock() -> Clock {
    Arc::new(now)
}

/// The terminal's update agent, as `terminal::start` runs it (with the test's settings).
fn updater(rig: &Rig, settings: UpdateSettings) -> Updater {
    let client = CentralClient::new(&rig.url, &rig.identity, simulation::TIMEOUTS).unwrap();
    Updater::new(
        client,
        Spool::in_data_dir(&rig.kiosk_dir),
        rig.terminal.outbox.clone(),
        rig.terminal.metrics.clone(),
        settings,
        clock(),
    )
    .running_as(RUNNING)
}

/// A package (bytes standing in for a .deb: central and the agent treat it as opaque)
/// and its manifest signed by `key`.
fn release(version: &str, key: &ed25519_dalek::SigningKey) -> (Vec<u8>, api::SignedRelease) {
    let bytes: Vec<u8> = format!("kiosk {version} package ").bytes().cycle().take(200_000).collect();
    let manifest = api::ReleaseManifest {
        package: "kiosk".into(),
        version: version.into(),
        architecture: kiosk::update::architecture().into(),
        sha256: hex::encode(sha2::Sha256::digest(&bytes)),
        size: bytes.len() as u64,
    };
    (bytes, api::sign_release(manifest, key))
}

/// Central's configuration as `central release publish` reads it on the server.
fn central_config(rig: &Rig) -> central::ServerConfig {
    central::ServerConfig::new(&rig.central_dir)
}

/// Publishes the release at central (`central release publish`) and rolls it out to
/// this terminal alone (`central rollout start --devices`).
fn publish_and_roll_out(rig: &Rig, bytes: &[u8], release: &api::SignedRelease) {
    let files = tempfile::tempdir().unwrap();
    let deb = files.path().join("kiosk.deb");
    let manifest = files.path().join("kiosk.deb.release.json");
    std::fs::write(&deb, bytes).unwrap();
    std::fs::write(&manifest, serde_json::to_vec(release).unwrap()).unwrap();
    let store = rig.central.store();
    central::release::publish(&central_config(rig), store.as_ref(), &deb, &manifest, now()).unwrap();
    let m = &release.manifest;
    let target = central::release::Target::Devices(vec![rig.device_id.clone()]);
    central::release::start_rollout(store.as_ref(), &m.version, &m.architecture, &target, now()).unwrap();
}

async fn until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn terminal_row(rig: &Rig) -> central::store::TerminalRow {
    rig.central.store().terminal(&rig.device_id).unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_release_is_fetched_verified_and_requested_in_the_window_with_nobody_at_the_screen() {
    let rig = Rig::start().await.unwrap();
    let (bytes, signed) = release("0.2.0-1", &release_key());
    let published = Instant::now();
    publish_and_roll_out(&rig, &bytes, &signed);

    // Outside the window: downloaded and checked at once, installed later.
    let mut outside = updater(&rig, settings(false));
    assert_eq!(outside.check_once().await.unwrap(), Checked::Waiting("outside the update window"));
    let spool = Spool::in_data_dir(&rig.kiosk_dir);
    assert_eq!(std::fs::read(spool.package(&signed.manifest.sha256)).unwrap(), bytes, "downloaded whole");
    assert!(!spool.request().exists());

    // In the window, but a citizen is at the screen (their card read, the menu shown).
    let mut agent = updater(&rig, settings(true));
    let mark = rig.screens.count();
    rig.reader.place(WORKER_ID, WORKER_NAME).await;
    rig.screens.wait_for(mark, |s| matches!(s, session::Screen::Menu { .. })).await;
    let busy = || rig.terminal.metrics.busy.load(Ordering::Relaxed);
    until("the session counts as busy", || busy().then_some(())).await;
    assert_eq!(agent.check_once().await.unwrap(), Checked::Waiting("the terminal is in use"));
    assert!(!spool.request().exists());

    // They leave: the request for the installer.
    rig.touch(session::Intent::Exit).await;
    rig.reader.remove().await;
    until("the session ended", || (!busy()).then_some(())).await;
    assert_eq!(agent.check_once().await.unwrap(), Checked::Requested("0.2.0-1".into()));
    let requested = published.elapsed();
    let request: Request = spool::read_json(&spool.request()).unwrap().unwrap();
    assert_eq!(request.release, signed);
    assert_eq!(request.running, RUNNING);
    assert_eq!(request.package_file, format!("{}.deb", signed.manifest.sha256));
    until("central shows the terminal updating", || {
        (terminal_row(&rig).mode.as_deref() == Some("updating")).then_some(())
    })
    .await;
    eprintln!("published -> install requested in {requested:?} (check interval aside)");

    // The installer's outcome, reported by the next start, reaches central with its reason.
    let outcome = Outcome {
        version: "0.2.0-1".into(),
        outcome: OutcomeKind::RolledBack,
        reason: Some("self-test failed: reader: missing (back on 0.1.0-1)".into()),
        took_s: 12.5,
        at: now(),
    };
    spool::write_json(&spool.result(), &outcome).unwrap();
    let next_start = updater(&rig, settings(true));
    assert_eq!(next_start.report_last_outcome().unwrap(), Some(outcome));
    assert!(!spool.result().exists(), "reported once");
    assert_eq!(spool.tried_versions(), ["0.2.0-1"]);
    until("central shows the rollback as an alert naming the reason", || {
        rig.central
            .store()
            .open_alerts()
            .unwrap()
            .into_iter()
            .find(|a| a.device_id == rig.device_id && a.kind == "update_rolled_back")
            .filter(|a| a.detail.contains("reader: missing"))
    })
    .await;
    until("no longer updating", || terminal_row(&rig).mode.is_none().then_some(())).await;
    // Never offered again, and never tried again here even if it were.
    let mut again = updater(&rig, settings(true));
    assert!(matches!(again.check_once().await.unwrap(), Checked::NothingOffered | Checked::Ignored(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_package_is_refused_after_download_and_raises_an_alert() {
    let rig = Rig::start().await.unwrap();
    let (bytes, signed) = release("0.3.0-1", &release_key());
    publish_and_roll_out(&rig, &bytes, &signed);
    change_stored_package(&rig, &signed, |bytes| bytes[1000] ^= 0x20);
    refused_after_download(&rig, &signed).await;
}

/// Changes the package central serves after it was published (its storage, or a
/// compromised central): the signed manifest still says what the bytes must be.
fn change_stored_package(rig: &Rig, signed: &api::SignedRelease, change: impl FnOnce(&mut Vec<u8>)) {
    let stored = central_config(rig).releases_dir().join(format!("{}.deb", signed.manifest.sha256));
    let mut bytes = std::fs::read(&stored).unwrap();
    change(&mut bytes);
    std::fs::write(&stored, bytes).unwrap();
}

/// The agent's next look downloads the package and refuses it: nothing kept or
/// requested, the version never tried again here, an alert naming the terminal at
/// central. Returns the reason.
async fn refused_after_download(rig: &Rig, signed: &api::SignedRelease) -> String {
    let mut agent = updater(rig, settings(true));
    let err = agent.check_once().await.unwrap_err();
    let UpdateError::Refused { version, reason } = err else { panic!("{err}") };
    assert_eq!(version, signed.manifest.version);
    assert!(reason.contains("the signed manifest says"), "{reason}");
    let spool = Spool::in_data_dir(&rig.kiosk_dir);
    let package = spool.package(&signed.manifest.sha256);
    assert!(!package.exists() && !package.with_extension("part").exists(), "the changed bytes are not kept");
    assert!(!spool.request().exists(), "nothing requested");
    assert_eq!(spool.tried_versions(), [version], "never tried again here");
    until("an alert naming the terminal", || {
        rig.central
            .store()
            .open_alerts()
            .unwrap()
            .into_iter()
            .find(|a| a.device_id == rig.device_id && a.kind == "update_refused")
    })
    .await;
    reason
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_signed_by_another_key_is_refused_before_downloading() {
    let rig = Rig::start().await.unwrap();
    let other = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let (bytes, signed) = release("0.4.0-1", &other);
    publish_and_roll_out(&rig, &bytes, &signed);
    let mut agent = updater(&rig, settings(true));
    let err = agent.check_once().await.unwrap_err();
    assert!(err.to_string().contains("signature was made by key"), "{err}");
    let spool = Spool::in_data_dir(&rig.kiosk_dir);
    assert!(!spool.package(&signed.manifest.sha256).exists(), "nothing downloaded");
    assert_eq!(spool.tried_versions(), ["0.4.0-1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_up_self_test_passes_on_a_healthy_terminal_and_names_a_missing_device() {
    let rig = Rig::start().await.unwrap();
    let spool = Spool::in_data_dir(&rig.kiosk_dir);
    let m = rig.terminal.metrics.clone();
    let started = Instant::now();
    let health = self_test(m.clone(), spool.clone(), "0.2.0-1".into(), Vec::new(), settings(true), clock()).await;
    assert!(health.ok, "{health:?}");
    assert_eq!(spool.read_health().unwrap(), Some(health));
    eprintln!("self-test passed {:?} after it began", started.elapsed());

    rig.reader.control.vanish();
    until("the reader is reported missing", || {
        matches!(m.devices().reader, session::Health::Problem(session::Problem::Missing)).then_some(())
    })
    .await;
    let mut quick = settings(true);
    quick.self_test_limit = Duration::from_secs(2);
    let health = self_test(m.clone(), spool.clone(), "0.2.0-1".into(), Vec::new(), quick.clone(), clock()).await;
    assert!(!health.ok);
    assert_eq!(health.reason.as_deref(), Some("reader: missing"), "{health:?}");
    assert_eq!(spool.read_health().unwrap(), Some(health), "what the installer reads");

    // The same missing reader, already missing when the update was requested: the
    // hall's to fix (the terminal is degraded on the dashboard), not the update's.
    let before = vec!["reader: missing".to_owned()];
    let health = self_test(m, spool.clone(), "0.2.0-1".into(), before, quick, clock()).await;
    assert!(health.ok, "{health:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_by_the_network_leaves_nothing_and_is_fetched_whole_once_it_is_back() {
    let rig = Rig::start().await.unwrap();
    let (bytes, signed) = release("0.5.0-1", &release_key());
    publish_and_roll_out(&rig, &bytes, &signed);
    let spool = Spool::in_data_dir(&rig.kiosk_dir);
    let package = spool.package(&signed.manifest.sha256);
    let part = package.with_extension("part");
    // A slow line, cut as soon as the first bytes of the package have arrived.
    rig.link.set_latency(Duration::from_millis(20));
    let mut agent = updater(&rig, settings(true));
    let check = tokio::spawn(async move {
        let checked = agent.check_once().await;
        (agent, checked)
    });
    until("the download begins", || std::fs::metadata(&part).ok().filter(|m| m.len() > 0)).await;
    rig.link.cut();
    let (mut agent, checked) = check.await.unwrap();
    let err = checked.unwrap_err();
    assert!(matches!(err, UpdateError::Central(_)), "{err}");
    assert!(!part.exists() && !package.exists(), "nothing of the cut download is kept");
    assert!(spool.tried_versions().is_empty(), "a network drop does not count against the version");
    assert!(!spool.request().exists());

    rig.link.set_latency(Duration::ZERO);
    rig.link.restore();
    assert_eq!(agent.check_once().await.unwrap(), Checked::Requested("0.5.0-1".into()));
    assert_eq!(std::fs::read(&package).unwrap(), bytes, "the whole package, verified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_package_longer_than_signed_is_read_no_further_and_refused() {
    let rig = Rig::start().await.unwrap();
    let (bytes, signed) = release("0.6.0-1", &release_key());
    publish_and_roll_out(&rig, &bytes, &signed);
    // Central's stored file grows by 5 MB of something else (a swapped or hostile file).
    change_stored_package(&rig, &signed, |bytes| bytes.resize(bytes.len() + 5_000_000, 0x5a));
    let reason = refused_after_download(&rig, &signed).await;
    // "package is N bytes ...": read to just past the signed size, not the 5.2 MB sent.
    let got: u64 = reason.split_whitespace().nth(2).and_then(|n| n.parse().ok()).unwrap();
    assert!(got > 200_000 && got < 300_000, "{got} bytes read of 5,200,000: {reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_new_version_reports_the_installers_outcome_as_soon_as_the_installer_writes_it() {
    // The start the installer made after installing: its request names the version
    // running now, with the camera missing already when it was made.
    let rig = Rig::start().await.unwrap();
    let (_, signed) = release(RUNNING, &release_key());
    let spool = Spool::in_data_dir(&rig.kiosk_dir);
    std::fs::create_dir_all(spool.dir()).unwrap();
    let request = Request {
        release: signed,
        package_file: "new.deb".into(),
        running: "0.0.9-1".into(),
        requested_at: now(),
        faults_before: vec!["camera: missing".into()],
    };
    spool::write_json(&spool.request(), &request).unwrap();
    let stop = Arc::new(tokio::sync::Notify::new());
    let agent = tokio::spawn(updater(&rig, settings(true)).run(stop.clone()));

    // The installer's part: the health report, then its outcome.
    let health = until("the start-up self-test's report", || spool.read_health().ok().flatten()).await;
    assert!(health.ok && health.version == RUNNING, "{health:?}");
    let outcome =
        Outcome { version: RUNNING.into(), outcome: OutcomeKind::Installed, reason: None, took_s: 11.5, at: now() };
    let written = Instant::now();
    spool::write_json(&spool.result(), &outcome).unwrap();
    let store = rig.central.store();
    until("central records the install", || {
        store.update_outcomes(RUNNING).unwrap().into_iter().find(|o| o.device_id == rig.device_id)
    })
    .await;
    eprintln!("outcome written -> recorded at central in {:?}", written.elapsed());
    assert!(!spool.result().exists(), "reported once");
    stop.notify_waiters();
    agent.abort();
}
