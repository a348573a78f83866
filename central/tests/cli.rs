//! The `central` binary: bad settings get one message naming them; tokens and users
//! are created in the data directory the server uses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

fn central(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_central"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap()
}

#[test]
fn bad_settings_are_named_in_one_message() {
    let dir = tempfile::tempdir().unwrap();
    for (args, setting) in [
        (&["serve", "--listen", "localhost"][..], "`listen`"),
        (&["serve", "--listen", "127.0.0.1:0", "--offline-after-missed", "0"][..], "`offline_after_missed`"),
        (&["serve", "--listen", "127.0.0.1:0", "--public-url", "http://plain"][..], "`public_url`"),
        (&["serve", "--heartbeat-interval", "5 parsecs"][..], "--heartbeat-interval"),
        (&["serve", "--listen", "127.0.0.1:0", "--database", "sqlite:central.db"][..], "`database`"),
    ] {
        let out = central(dir.path(), args);
        assert!(!out.status.success(), "{args:?} must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(setting), "{args:?}: {err}");
    }
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let out = central(&file, &["serve", "--listen", "127.0.0.1:0"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("`data_dir`"));
}

#[test]
fn token_create_prints_a_token_the_store_accepts_once() {
    let dir = tempfile::tempdir().unwrap();
    let out = central(dir.path(), &["token", "create", "--ttl", "10m"]);
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(token.len(), 23, "{token}");
    let store = central::server::open_store(dir.path()).unwrap();
    use central::store::{Store as _, TokenUse};
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let hash = central::enroll::token_hash(&token);
    assert_eq!(store.consume_token(&hash, now, "KT-1").unwrap(), TokenUse::Accepted);
    assert_eq!(store.consume_token(&hash, now, "KT-2").unwrap(), TokenUse::AlreadyUsed);
}

#[test]
fn user_add_stores_an_argon2_hash_not_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_central"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["user", "add", "ops"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"a long enough password\n").unwrap();
    assert!(child.wait().unwrap().success());
    let store = central::server::open_store(dir.path()).unwrap();
    use central::store::Store as _;
    let hash = store.user_password_hash("ops").unwrap().unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("a long enough password"));
}

#[test]
fn metrics_token_prints_the_token_the_server_keeps_and_face_key_makes_a_private_key() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let out = central(dir.path(), &["metrics-token"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()), "{token}");
    assert_eq!(central(dir.path(), &["metrics-token"]).stdout, format!("{token}\n").into_bytes(), "the same token");
    let key = dir.path().join("elsewhere").join("face-images.key");
    std::fs::create_dir(key.parent().unwrap()).unwrap();
    let out = central(dir.path(), &["face-key", key.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
}

/// Starts the server once in `dir` (on `database` if given) and stops it: what a first
/// `central serve` leaves behind.
fn serve_once(dir: &std::path::Path, database: Option<String>) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let mut config = common::config(dir);
        config.database = database;
        central::start(config).await.unwrap().shutdown().await;
    });
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn check_names_each_problem_changes_nothing_and_passes_once_served() {
    let dir = tempfile::tempdir().unwrap();
    let out = central(dir.path(), &["check"]);
    assert!(!out.status.success());
    let report = stdout(&out);
    assert!(report.contains("PROBLEM database (SQLite)") && report.contains("missing"), "{report}");
    assert!(report.contains("PROBLEM certificate ca.pem"), "{report}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("checks found a problem"));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "check created nothing");

    serve_once(dir.path(), None);
    let out = central(dir.path(), &["check"]);
    let report = stdout(&out);
    assert!(out.status.success(), "{report}");
    let expected = central::store::SQLITE_MIGRATIONS.len();
    assert!(report.contains(&format!("schema version {expected}, as this binary expects")), "{report}");
    assert!(!report.contains("PROBLEM"), "{report}");

    // A database an older binary left behind, and a key others can read.
    let db = rusqlite::Connection::open(dir.path().join("central.db")).unwrap();
    db.pragma_update(None, "user_version", expected as i64 - 1).unwrap();
    drop(db);
    use std::os::unix::fs::PermissionsExt as _;
    let key = dir.path().join("certificate-signing.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = central(dir.path(), &["check"]);
    assert!(!out.status.success());
    let report = stdout(&out);
    assert!(report.contains(&format!("this binary expects {expected}")), "{report}");
    assert!(report.contains("chmod 600"), "{report}");
}

#[test]
fn check_reaches_the_postgres_database_and_never_shows_its_password() {
    let cluster = common::pg::PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let url = cluster.url();
    let out = central(dir.path(), &["check", "--database", &url]);
    assert!(!out.status.success());
    let report = stdout(&out);
    assert!(report.contains("PROBLEM database (PostgreSQL)") && report.contains("schema version 0"), "{report}");

    serve_once(dir.path(), Some(url.clone()));
    let out = central(dir.path(), &["check", "--database", &url]);
    let report = stdout(&out);
    assert!(out.status.success(), "{report}");
    let expected = central::store::POSTGRES_MIGRATIONS.len();
    assert!(report.contains(&format!("schema version {expected}, as this binary expects")), "{report}");
    assert!(report.contains("connection not encrypted"), "{report}");
    assert!(report.contains("fleet CA binding: ca.pem is the fleet CA the database is bound to"), "{report}");
    // Before a second instance joins: a data directory with its own CA, or none, is
    // named, as the instance itself would refuse to start.
    let other = tempfile::tempdir().unwrap();
    serve_once(other.path(), None);
    let empty = tempfile::tempdir().unwrap();
    for (dir, says) in [(other.path(), "but"), (empty.path(), "is missing")] {
        let out = central(dir, &["check", "--database", &url]);
        let report = stdout(&out);
        assert!(!out.status.success(), "{report}");
        assert!(report.contains("PROBLEM fleet CA binding: the database is bound to the fleet CA"), "{report}");
        assert!(report.contains(says) && report.contains("copy ca.pem and ca.key.pem"), "{report}");
    }
    assert!(!dir.path().join("central.db").exists(), "no SQLite file");
    // A TLS mode without the CA to verify the server against is a setting to fix.
    let out = central(dir.path(), &["check", "--database", &format!("{url}?sslmode=require")]);
    let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && all.contains("needs sslrootcert=PATH"), "{all}");

    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let unreachable = format!("postgres://central:hunter2@127.0.0.1:{port}/central");
    let out = central(dir.path(), &["check", "--database", &unreachable]);
    assert!(!out.status.success());
    let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("cannot connect") && all.contains("central:***@"), "{all}");
    assert!(!all.contains("hunter2"), "{all}");
    let out = central(dir.path(), &["check", "--database", "mysql://root:hunter2@db/central"]);
    let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && all.contains("postgres://") && !all.contains("hunter2"), "{all}");
}

#[test]
fn serve_logs_the_engine_it_uses_with_the_password_masked() {
    use std::io::BufRead as _;
    let cluster = common::pg::PgCluster::start();
    let dir = tempfile::tempdir().unwrap();
    // Trust authentication ignores the password; it is there to be masked.
    let url = cluster.url().replace("postgres@", "postgres:hunter2@");
    let mut child = Command::new(env!("CARGO_BIN_EXE_central"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &url])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    for line in std::io::BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        log.push_str(&line);
        log.push('\n');
        if line.contains("listening on") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(log.contains("storage: PostgreSQL") && log.contains("postgres:***@127.0.0.1"), "{log}");
    // The line may carry colour codes between a field's name and its value.
    let storage = log.lines().find(|l| l.contains("storage: PostgreSQL")).unwrap_or_default();
    assert!(storage.contains("tls") && storage.contains("\"none\""), "says it is not encrypted: {storage}");
    assert!(!log.contains("hunter2"), "{log}");
    assert!(!dir.path().join("central.db").exists());
}

/// The offline key tools and publishing, as operations run them: keygen writes a
/// private key only its owner reads and refuses to overwrite it; sign writes the
/// manifest beside the package; publish with --release-key refuses a package signed
/// with another key, and a rollout starts only for a published version.
#[test]
fn release_keygen_sign_publish_and_rollout_from_the_command_line() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let offline = dir.path().join("offline");
    let out = central(dir.path(), &["release", "keygen", "--out", offline.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let public = std::fs::read_to_string(offline.join("release.pub")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), public, "the public key is printed");
    assert!(central::release::parse_public_key(&public).is_ok());
    let mode = std::fs::metadata(offline.join("release.key")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let again = central(dir.path(), &["release", "keygen", "--out", offline.to_str().unwrap()]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("refusing to overwrite"));

    let deb = dir.path().join("kiosk_0.2.0_arm64.deb");
    std::fs::write(&deb, b"package bytes").unwrap();
    let key = offline.join("release.key");
    let sign = |key: &std::path::Path| {
        central(
            dir.path(),
            &[
                "release",
                "sign",
                "--key",
                key.to_str().unwrap(),
                deb.to_str().unwrap(),
                "--package",
                "kiosk",
                "--version",
                "0.2.0",
                "--architecture",
                "arm64",
            ],
        )
    };
    let out = sign(&key);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let manifest = dir.path().join("kiosk_0.2.0_arm64.deb.release.json");
    let signed: central::api::SignedRelease = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    let trusted = central::release::parse_public_key(&public).unwrap();
    assert_eq!(central::api::verify_release(&signed, &trusted, "kiosk", "arm64"), Ok(()));

    let rollout = central(dir.path(), &["rollout", "start", "0.2.0", "--architecture", "arm64", "--percent", "10"]);
    assert!(String::from_utf8_lossy(&rollout.stderr).contains("not published"), "a rollout needs the release");

    // Signed with another key: publish with the fleet's public key refuses it.
    let other = dir.path().join("other");
    assert!(central(dir.path(), &["release", "keygen", "--out", other.to_str().unwrap()]).status.success());
    assert!(sign(&other.join("release.key")).status.success());
    let publish = |with_key: bool| {
        let mut args = vec!["release", "publish", deb.to_str().unwrap(), manifest.to_str().unwrap()];
        if with_key {
            args.extend(["--release-key", public.trim()]);
        }
        central(dir.path(), &args)
    };
    let out = publish(true);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("signature does not verify"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(sign(&key).status.success());
    let out = publish(true);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("kiosk 0.2.0 published for arm64"));

    let out = central(dir.path(), &["rollout", "start", "0.2.0", "--architecture", "arm64", "--percent", "10"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(central(dir.path(), &["rollout", "pause", &id]).status.success());
    let list = central(dir.path(), &["rollout", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains(&format!("{id}\t0.2.0\tarm64\t10 %\tpaused")));
    assert!(central(dir.path(), &["rollout", "resume", &id]).status.success());
    assert!(central(dir.path(), &["rollout", "widen", &id, "--percent", "30"]).status.success());
    assert!(!central(dir.path(), &["rollout", "widen", &id, "--percent", "20"]).status.success(), "only up");
    let out = central(dir.path(), &["rollout", "start", "0.2.0", "--architecture", "arm64", "--devices", "KT-1,KT-2"]);
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&central(dir.path(), &["rollout", "list"]).stdout).into_owned();
    assert!(list.contains("KT-1, KT-2\tactive") && list.contains("30 %\tsuperseded"), "{list}");
}

/// Without --package, --version and --architecture, `release sign` reads them from the
/// package with dpkg-deb, as it does with a real build.
#[test]
fn release_sign_reads_the_fields_of_a_real_deb_with_dpkg_deb() {
    let dir = tempfile::tempdir().unwrap();
    let offline = dir.path().join("offline");
    assert!(central(dir.path(), &["release", "keygen", "--out", offline.to_str().unwrap()]).status.success());
    let root = dir.path().join("pkg");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: kiosk\nVersion: 0.3.0~rc1\nArchitecture: arm64\nMaintainer: t <t@example.org>\nDescription: t\n",
    )
    .unwrap();
    let deb = dir.path().join("kiosk.deb");
    let built =
        Command::new("dpkg-deb").arg("--build").arg("--root-owner-group").arg(&root).arg(&deb).output().unwrap();
    assert!(built.status.success(), "{}", String::from_utf8_lossy(&built.stderr));
    let key = offline.join("release.key");
    let out = central(dir.path(), &["release", "sign", "--key", key.to_str().unwrap(), deb.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let signed: central::api::SignedRelease =
        serde_json::from_slice(&std::fs::read(dir.path().join("kiosk.deb.release.json")).unwrap()).unwrap();
    let m = &signed.manifest;
    assert_eq!((m.package.as_str(), m.version.as_str(), m.architecture.as_str()), ("kiosk", "0.3.0~rc1", "arm64"));
    assert_eq!(m.size, std::fs::metadata(&deb).unwrap().len());
    let out = central(
        dir.path(),
        &["release", "sign", "--key", key.to_str().unwrap(), deb.to_str().unwrap(), "--version", "1"],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("all of --package, --version and --architecture"));
    // Where dpkg-deb is missing, the message says what to do.
    let out = Command::new(env!("CARGO_BIN_EXE_central"))
        .args(["release", "sign", "--key", key.to_str().unwrap(), deb.to_str().unwrap()])
        .env("PATH", dir.path().join("no-such-bin"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("dpkg-deb is not installed"), "{out:?}");
}
