//! The update installer's refusals and its recovery decisions, without installing
//! anything: every package command is `false` (unless a test says otherwise), so a test
//! passes only if the installer refused before running one. (Installing, rolling back and the power cut with the real
//! dpkg in a Debian root: scripts/test.d/30-package.updates.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kiosk::update::plan::Phase;
use kiosk::update::spool::{self, OutcomeKind, Request, Spool};
use provisioning::update::{Commands, Installer, Journal};
use sha2::Digest as _;
use std::path::Path;
use std::time::Duration;

fn never() -> Vec<String> {
    vec!["false".into()]
}

fn installer(dir: &Path, key: Option<ed25519_dalek::VerifyingKey>) -> Installer {
    Installer {
        spool: Spool::in_data_dir(&dir.join("kiosk")),
        state_dir: dir.join("kiosk-update"),
        release_key: key,
        architecture: "arm64".into(),
        health_deadline: Duration::from_secs(5),
        commands: Commands {
            install: never(),
            configure_pending: never(),
            save: never(),
            installed_version: never(),
            restart: vec!["true".into()],
        },
    }
}

fn release_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[42; 32])
}

/// The kiosk's request for the package whose bytes are `manifest_of`, signed by `key`,
/// naming `file` (default: the manifest's own `<sha256>.deb`).
fn signed_request(manifest_of: &[u8], key: &ed25519_dalek::SigningKey, file: Option<&str>) -> Request {
    let sha = hex::encode(sha2::Sha256::digest(manifest_of));
    let manifest = contract::ReleaseManifest {
        package: "kiosk".into(),
        version: "0.2.0-1".into(),
        architecture: "arm64".into(),
        sha256: sha.clone(),
        size: manifest_of.len() as u64,
    };
    Request {
        release: contract::sign_release(manifest, key),
        package_file: file.map_or_else(|| format!("{sha}.deb"), str::to_owned),
        running: "0.1.0-1".into(),
        requested_at: 0,
        faults_before: Vec::new(),
    }
}

/// Puts `bytes` in the spool as the kiosk would and writes its request for `manifest_of`
/// (the bytes the manifest was made from), signed by `key`.
fn request(i: &Installer, bytes: &[u8], manifest_of: &[u8], key: &ed25519_dalek::SigningKey, file: Option<&str>) {
    let r = signed_request(manifest_of, key, file);
    std::fs::create_dir_all(i.spool.incoming()).unwrap();
    std::fs::write(i.spool.package(&r.release.manifest.sha256), bytes).unwrap();
    spool::write_json(&i.spool.request(), &r).unwrap();
}

fn refused_with(i: &Installer, needle: &str) {
    let outcome = i.apply().unwrap().expect("an outcome");
    assert_eq!(outcome.outcome, OutcomeKind::Refused, "{outcome:?}");
    let reason = outcome.reason.clone().unwrap_or_default();
    assert!(reason.contains(needle), "{reason:?} lacks {needle:?}");
    let written: spool::Outcome = spool::read_json(&i.spool.result()).unwrap().unwrap();
    assert_eq!(written, outcome, "the kiosk reads what the installer decided");
    assert!(!i.spool.request().exists(), "the request is consumed (the path unit would start the installer again)");
    assert!(!i.state_dir.join("journal.json").exists(), "nothing was begun");
}

#[test]
fn a_package_whose_bytes_differ_from_the_signed_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = release_key();
    let i = installer(dir.path(), Some(key.verifying_key()));
    let good = b"the real package".repeat(100);
    let mut tampered = good.clone();
    tampered[700] ^= 1;
    request(&i, &tampered, &good, &key, None);
    refused_with(&i, "the signed manifest says");
}

#[test]
fn a_package_signed_by_another_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let i = installer(dir.path(), Some(release_key().verifying_key()));
    let other = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let bytes = b"a package".to_vec();
    request(&i, &bytes, &bytes, &other, None);
    refused_with(&i, "signature was made by key");
}

#[test]
fn a_request_naming_another_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = release_key();
    let i = installer(dir.path(), Some(key.verifying_key()));
    let bytes = b"a package".to_vec();
    request(&i, &bytes, &bytes, &key, Some("../../../etc/shadow"));
    refused_with(&i, "is not the manifest's");
}

#[test]
fn without_a_release_key_nothing_is_installed() {
    let dir = tempfile::tempdir().unwrap();
    let i = installer(dir.path(), None);
    let bytes = b"a package".to_vec();
    request(&i, &bytes, &bytes, &release_key(), None);
    refused_with(&i, "no [updates] release_key");
}

#[test]
fn a_package_checked_but_not_saved_is_not_installed() {
    // Valid in every way, but the running version cannot be saved (`save` is `false`):
    // without a way back, nothing is installed, and the version is offered again.
    let dir = tempfile::tempdir().unwrap();
    let key = release_key();
    let i = installer(dir.path(), Some(key.verifying_key()));
    let bytes = b"a package".to_vec();
    request(&i, &bytes, &bytes, &key, None);
    let outcome = i.apply().unwrap().unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::Abandoned, "{outcome:?}");
    assert!(outcome.reason.unwrap().contains("could not be saved"));
    assert!(!i.state_dir.join("journal.json").exists());
}

#[test]
fn no_request_means_nothing_to_do_and_a_garbled_one_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let i = installer(dir.path(), Some(release_key().verifying_key()));
    assert_eq!(i.apply().unwrap(), None);
    std::fs::create_dir_all(i.spool.dir()).unwrap();
    std::fs::write(i.spool.request(), b"{not json").unwrap();
    assert_eq!(i.apply().unwrap(), None);
    assert!(!i.spool.request().exists(), "moved aside, so it cannot start the installer in a loop");
    assert!(i.spool.dir().join("request.json.garbled").exists());
}

#[test]
fn at_boot_an_update_interrupted_before_installing_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let i = installer(dir.path(), Some(release_key().verifying_key()));
    assert_eq!(i.recover().unwrap(), None, "no journal: nothing to do");
    let journal = Journal {
        phase: Phase::Saving,
        version: "0.2.0-1".into(),
        previous: "0.1.0-1".into(),
        saved: None,
        started_at: 0,
    };
    spool::write_json(&i.state_dir.join("journal.json"), &journal).unwrap();
    let outcome = i.recover().unwrap().unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::Abandoned);
    assert!(!i.state_dir.join("journal.json").exists());
}

#[test]
fn a_failed_rollback_stays_in_the_journal_for_the_next_start() {
    // Power lost while installing; the reinstall fails too (`install` is `false`): the
    // journal stays, so the next start tries again, and the kiosk is told.
    let dir = tempfile::tempdir().unwrap();
    let i = installer(dir.path(), Some(release_key().verifying_key()));
    let journal = Journal {
        phase: Phase::Installing,
        version: "0.2.0-1".into(),
        previous: "0.1.0-1".into(),
        saved: Some(dir.path().join("saved.deb")),
        started_at: 0,
    };
    spool::write_json(&i.state_dir.join("journal.json"), &journal).unwrap();
    let outcome = i.recover().unwrap().unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::RolledBack);
    let reason = outcome.reason.unwrap();
    assert!(reason.contains("power was lost while installing") && reason.contains("FAILED"), "{reason}");
    let left: Journal = spool::read_json(&i.state_dir.join("journal.json")).unwrap().unwrap();
    assert_eq!(left.phase, Phase::RollingBack);
}

#[test]
fn a_rollback_leaves_its_outcome_before_restarting_the_version_put_back() {
    // The version put back reports the outcome as it starts: were it written after the
    // restart, the dashboard would learn of the rollback only at the next restart.
    let dir = tempfile::tempdir().unwrap();
    let mut i = installer(dir.path(), Some(release_key().verifying_key()));
    let sh = |script: String| vec!["sh".to_owned(), "-c".to_owned(), script];
    let restarts = dir.path().join("restarts");
    let result = i.spool.result();
    i.commands = Commands {
        install: sh("exit 0".into()),
        configure_pending: never(),
        save: sh("echo saved > kiosk_0.1.0-1_arm64.deb".into()),
        installed_version: sh("echo 0.1.0-1".into()),
        // Each restart notes whether the outcome is there for the kiosk it starts.
        restart: sh(format!(
            "if [ -e '{}' ]; then echo outcome >> '{}'; else echo none >> '{}'; fi",
            result.display(),
            restarts.display(),
            restarts.display()
        )),
    };
    // The new version never reports (it crashed): rolled back at the deadline.
    i.health_deadline = Duration::from_secs(1);
    let bytes = b"a package".to_vec();
    request(&i, &bytes, &bytes, &release_key(), None);
    let outcome = i.apply().unwrap().unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::RolledBack, "{outcome:?}");
    assert!(outcome.reason.as_deref().unwrap_or_default().contains("back on 0.1.0-1"), "{outcome:?}");
    assert_eq!(std::fs::read_to_string(&restarts).unwrap(), "none\noutcome\n", "new version, then the one put back");
    assert!(!i.state_dir.join("journal.json").exists(), "the journal ends with the rollback");
}

#[test]
fn recover_leaves_an_update_in_progress_alone() {
    // The installer restarts the kiosk itself, whose ExecStartPre runs `recover`: the
    // lock tells it apart from a power cut.
    let dir = tempfile::tempdir().unwrap();
    let i = installer(dir.path(), Some(release_key().verifying_key()));
    let journal = Journal {
        phase: Phase::Verifying,
        version: "0.2.0-1".into(),
        previous: "0.1.0-1".into(),
        saved: None,
        started_at: 0,
    };
    spool::write_json(&i.state_dir.join("journal.json"), &journal).unwrap();
    let lock =
        std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(i.state_dir.join("lock")).unwrap();
    let held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock).unwrap();
    assert_eq!(i.recover().unwrap(), None);
    assert!(i.state_dir.join("journal.json").exists(), "untouched");
    drop(held);
    assert_eq!(i.recover().unwrap().unwrap().outcome, OutcomeKind::RolledBack, "once the lock is free: a power cut");
}

#[test]
fn links_planted_in_the_kiosk_owned_spool_are_never_followed_by_root() {
    let dir = tempfile::tempdir().unwrap();
    let key = release_key();
    let i = installer(dir.path(), Some(key.verifying_key()));
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"root's file").unwrap();

    // The package named by the request is a link to another file: refused, not copied.
    let bytes = b"a package".to_vec();
    request(&i, &bytes, &bytes, &key, None);
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    std::fs::remove_file(i.spool.package(&sha)).unwrap();
    std::os::unix::fs::symlink(&victim, i.spool.package(&sha)).unwrap();
    // The temporary file of the outcome is a link to root's file: not written through.
    std::os::unix::fs::symlink(&victim, i.spool.dir().join("result.json.tmp")).unwrap();
    let outcome = i.apply().unwrap().unwrap();
    assert_eq!(outcome.outcome, OutcomeKind::Refused, "{outcome:?}");
    assert!(outcome.reason.as_deref().unwrap_or_default().contains("symbolic link"), "{outcome:?}");
    assert_eq!(std::fs::read(&victim).unwrap(), b"root's file", "never written through a link");
    assert!(!std::fs::symlink_metadata(i.spool.result()).unwrap().file_type().is_symlink());
    assert!(!i.state_dir.join("new.deb").exists(), "nothing copied through the link");

    // The spool directory itself replaced by a link: nothing is read or written there.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let spool_dir = i.spool.dir().to_owned();
    std::fs::rename(&spool_dir, elsewhere.join("updates")).unwrap();
    std::os::unix::fs::symlink(elsewhere.join("updates"), &spool_dir).unwrap();
    request_in(&elsewhere.join("updates"), &bytes, &key);
    assert_eq!(i.apply().unwrap(), None, "not followed");
    assert!(elsewhere.join("updates/request.json").exists(), "left alone");
}

/// A request written straight into `dir` (a spool reached through a link).
fn request_in(dir: &Path, bytes: &[u8], key: &ed25519_dalek::SigningKey) {
    spool::write_json(&dir.join("request.json"), &signed_request(bytes, key, None)).unwrap();
}
