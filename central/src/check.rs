//! `central check`: whether a data directory and database are ready to serve, without
//! changing either (no migration, no key created). Run before starting an instance, e.g.
//! a new one beside others on a shared PostgreSQL database.

use std::path::{Path, PathBuf};

use crate::store::{POSTGRES_MIGRATIONS, PgStore, SQLITE_MIGRATIONS, SqliteStore, mask_database_url};

/// One thing checked: what, and what was found (`Err`: a problem to fix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub what: String,
    pub result: Result<String, String>,
}

/// Certificates (public) and private keys of the fleet CA and the server, by file name.
const CERTIFICATES: &[&str] = &["ca.pem", "server.pem"];
const PEM_KEYS: &[&str] = &["ca.key.pem", "server.key.pem"];
/// 32-byte secrets stored hex-encoded.
const SECRETS: &[&str] = &["certificate-signing.key", crate::telemetry::METRICS_TOKEN_FILE];

/// Checks the database's schema version and connectivity, and the key material in
/// `data_dir` (the face key at `face_key`, or beside the database when `None`).
pub fn run(data_dir: &Path, database: Option<&str>, face_key: Option<&Path>) -> Vec<Finding> {
    let (database, bound) = check_database(data_dir, database);
    let mut out = vec![database];
    if let Some(bound) = bound {
        out.push(finding("fleet CA binding".into(), check_binding(data_dir, bound.as_deref())));
    }
    for name in CERTIFICATES {
        out.push(finding(format!("certificate {name}"), check_pem(&data_dir.join(name), "CERTIFICATE", false)));
    }
    for name in PEM_KEYS {
        out.push(finding(format!("private key {name}"), check_pem(&data_dir.join(name), "PRIVATE KEY", true)));
    }
    let face_key: PathBuf = face_key.map_or_else(|| data_dir.join("face-images.key"), Path::to_path_buf);
    for path in SECRETS.iter().map(|n| data_dir.join(n)).chain([face_key]) {
        let what = format!("secret {}", path.display());
        out.push(finding(what, check_secret(&path)));
    }
    out
}

fn finding(what: String, result: Result<String, String>) -> Finding {
    Finding { what, result }
}

/// The database's finding, and (for a PostgreSQL database that could be read) the fleet
/// CA it is bound to, which instances sharing it must all hold.
fn check_database(data_dir: &Path, database: Option<&str>) -> (Finding, Option<Option<String>>) {
    match database {
        None => {
            let path = data_dir.join("central.db");
            let what = format!("database (SQLite) {}", path.display());
            let found = match SqliteStore::inspect_version(&path) {
                Ok(Some(v)) => compare(v, SQLITE_MIGRATIONS.len()),
                Ok(None) => Err("missing: `central serve` creates it on first start".into()),
                Err(e) => Err(format!("cannot be read: {e}")),
            };
            (finding(what, found), None)
        }
        Some(url) => {
            let what = format!("database (PostgreSQL) {}", mask_database_url(url));
            let mut bound = None;
            let found = match crate::config::check_database_url(url) {
                Err(problem) => Err(problem),
                Ok(()) => match PgStore::inspect(url) {
                    Ok(found) => {
                        bound = Some(found.fleet_ca);
                        compare(found.schema_version, POSTGRES_MIGRATIONS.len()).map(|schema| {
                            let tls = match found.tls {
                                Some(version) => format!("connection encrypted ({version}), server verified"),
                                None => "connection not encrypted".to_owned(),
                            };
                            format!("{schema}; {tls}")
                        })
                    }
                    // The error of a failed connection never holds the password.
                    Err(e) => Err(format!("cannot connect or read it: {e}")),
                },
            };
            (finding(what, found), bound)
        }
    }
}

/// Whether this data directory holds the fleet CA the shared database is bound to: an
/// instance holding another (or none) refuses to start (`StartError::OtherFleetCa`).
fn check_binding(data_dir: &Path, bound: Option<&str>) -> Result<String, String> {
    let path = data_dir.join("ca.pem");
    let ours = match std::fs::read_to_string(&path) {
        Ok(pem) => Some(crate::pki::ca_sha256_of_pem(&pem).map_err(|e| format!("{}: {e}", path.display()))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(describe(&path, &e)),
    };
    match (bound, ours) {
        (None, _) => Ok("not bound yet: the first instance to start binds it to its fleet CA".into()),
        (Some(bound), Some(ours)) if bound == ours => {
            Ok(format!("ca.pem is the fleet CA the database is bound to (SHA-256 {bound})"))
        }
        (Some(bound), Some(ours)) => Err(format!(
            "the database is bound to the fleet CA with SHA-256 {bound}, but {} holds {ours}: this instance \
             would refuse to start; copy ca.pem and ca.key.pem from a running instance's data directory",
            path.display()
        )),
        (Some(bound), None) => Err(format!(
            "the database is bound to the fleet CA with SHA-256 {bound} and {} is missing: copy ca.pem and \
             ca.key.pem from a running instance's data directory (a new CA would be refused)",
            path.display()
        )),
    }
}

fn compare(found: usize, expected: usize) -> Result<String, String> {
    match found.cmp(&expected) {
        std::cmp::Ordering::Equal => Ok(format!("schema version {found}, as this binary expects")),
        std::cmp::Ordering::Less if found == 0 => {
            Err("empty (schema version 0): `central serve` creates the schema on first start".into())
        }
        std::cmp::Ordering::Less => Err(format!(
            "schema version {found}, this binary expects {expected}: `central serve` migrates it at start \
             (back the database up first)"
        )),
        std::cmp::Ordering::Greater => Err(format!(
            "schema version {found} is newer than this binary knows ({expected}): run the newer central \
             it was migrated by"
        )),
    }
}

/// Mode bits of `path` that let group or others read it.
fn readable_by_others(path: &Path) -> Result<bool, String> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).map_err(|e| describe(path, &e))?;
    Ok(meta.permissions().mode() & 0o077 != 0)
}

fn describe(path: &Path, e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "missing: `central serve` creates it on first start".into(),
        _ => format!("cannot be read: {}: {e}", path.display()),
    }
}

fn check_pem(path: &Path, label: &str, private: bool) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| describe(path, &e))?;
    if !(text.contains("-----BEGIN ") && text.contains(label)) {
        return Err(format!("not a PEM {label}"));
    }
    if private && readable_by_others(path)? {
        return Err(format!("readable by group or others: run `chmod 600 {}`", path.display()));
    }
    Ok("present".into())
}

fn check_secret(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| describe(path, &e))?;
    if readable_by_others(path)? {
        return Err(format!("readable by group or others: run `chmod 600 {}`", path.display()));
    }
    match hex::decode(text.trim()) {
        Ok(raw) if raw.len() == 32 => Ok("present".into()),
        _ => Err("not a 32-byte hex key".into()),
    }
}
