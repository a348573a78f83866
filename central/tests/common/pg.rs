//! A throwaway PostgreSQL cluster for one test: Debian's `postgresql` server binaries
//! (`scripts/setup` installs them), a data directory copied from a template made once
//! by `initdb` and cached in the temp directory, a random loopback port, and the socket
//! in the cluster's own directory. Stopped and removed when dropped.
//!
//! Copying the template and starting it takes well under a second; `initdb` alone took
//! 1.4 s (see central/README.md, "PostgreSQL").
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Bumped when the template's `initdb` options change, so a stale cached one is not used.
const TEMPLATE_FORMAT: u32 = 2;

pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

/// The newest installed server's `bin` directory (`/usr/lib/postgresql/<major>/bin`).
fn server_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "no PostgreSQL server found (/usr/lib/postgresql/*/bin/initdb): the store tests run on \
             PostgreSQL too; scripts/setup installs the `postgresql` package"
        ),
    }
}

/// Our effective user id: the owner of `/proc/self`.
fn uid() -> u32 {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata("/proc/self").unwrap().uid()
}

fn is_root() -> bool {
    uid() == 0
}

/// `program` run as the `postgres` system user when we are root (the server refuses to
/// run as root), else as ourselves.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn give_to_server_user(path: &Path) {
    if is_root() {
        let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(path).status().unwrap();
        assert!(status.success(), "chown {}", path.display());
    }
}

fn run(mut c: Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The cached template data directory, made on first use: `initdb` with 1 MB WAL
/// segments (a sixteenth of the default, less to copy), then started once on its socket
/// alone to create the database `central`. Concurrent test processes may each make
/// one; the first rename wins.
fn template(bin: &Path) -> PathBuf {
    let major = bin.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("x").to_owned();
    let path = std::env::temp_dir().join(format!("central-pg-template-{major}-v{TEMPLATE_FORMAT}-{}", uid()));
    if path.join("PG_VERSION").exists() {
        return path;
    }
    let scratch = tempfile::Builder::new().prefix("central-pg-initdb-").tempdir().unwrap();
    let data = scratch.path().join("data");
    give_to_server_user(scratch.path());
    let mut initdb = as_server_user(&bin.join("initdb"));
    initdb.arg("-D").arg(&data).args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    initdb.arg("--wal-segsize=1");
    run(initdb, "initdb");
    let socket = scratch.path().display().to_string();
    let mut start = as_server_user(&bin.join("pg_ctl"));
    start.arg("-D").arg(&data).arg("-l").arg(scratch.path().join("log"));
    start.args(["-o", &format!("-c listen_addresses= -k {socket} -c fsync=off"), "-w", "start"]);
    run(start, "starting the template cluster");
    let mut createdb = as_server_user(&bin.join("createdb"));
    createdb.args(["-h", &socket, "-U", "postgres", "central"]);
    let created = createdb.output();
    let mut stop = as_server_user(&bin.join("pg_ctl"));
    stop.arg("-D").arg(&data).args(["-m", "fast", "-w", "stop"]);
    run(stop, "stopping the template cluster");
    let created = created.unwrap();
    assert!(created.status.success(), "createdb central: {}", String::from_utf8_lossy(&created.stderr));
    if std::fs::rename(&data, &path).is_err() {
        assert!(path.join("PG_VERSION").exists(), "could not cache the template at {}", path.display());
    }
    path
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl PgCluster {
    /// Starts a fresh cluster with an empty database `central`.
    pub fn start() -> Self {
        Self::start_with("", |_| {})
    }

    /// [`PgCluster::start`] with TLS on (plain connections are still accepted): the
    /// server's certificate, for 127.0.0.1 only, is signed by a CA made here, whose PEM
    /// file is returned.
    pub fn start_tls() -> (Self, PathBuf) {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(vec![]).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "test database CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
        let server_key = rcgen::KeyPair::generate().unwrap();
        let server =
            rcgen::CertificateParams::new(vec!["127.0.0.1".into()]).unwrap().signed_by(&server_key, &issuer).unwrap();
        let cluster = Self::start_with("-c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key", |data| {
            std::fs::write(data.join("server.crt"), server.pem()).unwrap();
            let key = data.join("server.key");
            std::fs::write(&key, server_key.serialize_pem()).unwrap();
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        });
        let ca_path = cluster._dir.path().join("ca.pem");
        std::fs::write(&ca_path, ca.pem()).unwrap();
        (cluster, ca_path)
    }

    /// Starts a fresh cluster with the server options `extra`, after `setup` has put
    /// what they need into the data directory.
    fn start_with(extra: &str, setup: impl FnOnce(&Path)) -> Self {
        let bin = server_bin();
        let template = template(&bin);
        let dir = tempfile::Builder::new().prefix("central-pg-").tempdir().unwrap();
        let data = dir.path().join("data");
        let mut copy = Command::new("cp");
        copy.arg("-a").arg(&template).arg(&data);
        run(copy, "copying the template cluster");
        setup(&data);
        give_to_server_user(dir.path());
        // A port picked free may be taken before the server binds it: try a few.
        for attempt in 1..=5 {
            let port = free_port();
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c max_connections=50 -c shared_buffers=16MB {extra}",
                dir.path().display()
            );
            let mut pg_ctl = as_server_user(&bin.join("pg_ctl"));
            pg_ctl.arg("-D").arg(&data).arg("-l").arg(dir.path().join("log")).args(["-o", &options, "-w", "start"]);
            let started = pg_ctl.output().unwrap();
            if started.status.success() {
                return Self { bin, data, port, _dir: dir };
            }
            let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
            assert!(attempt < 5, "pg_ctl start failed 5 times: {}\n{log}", String::from_utf8_lossy(&started.stderr));
        }
        unreachable!()
    }

    /// The URL of the database `central`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/central", self.port)
    }

    /// The URL of another, new database on this cluster.
    pub fn create_database(&self, name: &str) -> String {
        let mut createdb = as_server_user(&self.bin.join("createdb"));
        createdb.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", name]);
        run(createdb, "createdb");
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs SQL on the database `central` with `psql`, returning its unaligned output.
    pub fn psql(&self, sql: &str) -> String {
        let out = as_server_user(&self.bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", "central"])
            .args(["-v", "ON_ERROR_STOP=1", "-X", "-q", "-A", "-t", "-c", sql])
            .output()
            .unwrap();
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let mut stop = as_server_user(&self.bin.join("pg_ctl"));
        stop.arg("-D").arg(&self.data).args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.output();
    }
}
