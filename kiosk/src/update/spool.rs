//! Where the kiosk (user `kiosk`) and the root-side installer (`kiosk-provision update
//! apply`, started by `kiosk-update.path`) meet: `<data_dir>/updates/`.
//!
//! - `incoming/<sha256>.deb` and `.release.json`: downloaded and checked by the kiosk.
//! - `request.json`: the kiosk asks for an install (its appearance starts the installer).
//! - `health.json`: each kiosk start's self-test, read by the installer.
//! - `result.json`: the installer's outcome, turned into a telemetry event by the next
//!   kiosk start and then removed.
//! - `tried.json`: versions refused or rolled back here, never offered to the installer
//!   again.
//!
//! The installer trusts none of it: it copies the package to its own root-only
//! directory and checks that copy against the release key in `/etc/kiosk/kiosk.toml`
//! (which the kiosk user cannot write) before installing anything.

use super::plan::Health;
use contract::SignedRelease;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::path::{Path, PathBuf};

/// The file names, for the installer (which opens them relative to the directory).
pub const REQUEST_FILE: &str = "request.json";
pub const HEALTH_FILE: &str = "health.json";
pub const RESULT_FILE: &str = "result.json";

#[derive(Clone, Debug)]
pub struct Spool {
    dir: PathBuf,
}

/// The kiosk's request to install a release it downloaded and verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub release: SignedRelease,
    /// File name under `incoming/` (never a path: the installer refuses one).
    pub package_file: String,
    /// The version running when the request was made.
    pub running: String,
    pub requested_at: i64,
    /// The devices missing or failing when the request was made (`"camera: missing"`):
    /// the new version's self-test is not failed for them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults_before: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Installed,
    RolledBack,
    Refused,
    /// Stopped before anything was installed (a power cut while saving): offered again.
    Abandoned,
}

/// What the installer did, for the next kiosk start to report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub version: String,
    pub outcome: OutcomeKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Seconds from the installer starting to the outcome.
    pub took_s: f64,
    pub at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not what it should hold ({detail}); it was moved aside to {aside}")]
    Garbled { path: String, detail: String, aside: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io { path: path.display().to_string(), source }
}

/// Writes `value` as JSON durably (`crate::durable`): after a power cut the file holds
/// the old content or the new, never half.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<(), SpoolError> {
    crate::durable::write_json(path, value).map_err(io(path))
}

/// `Ok(None)` when the file is absent. A file that does not parse is moved aside (kept
/// for the technician, named in the error) so it cannot block every later update.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>, SpoolError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        let aside = path.with_extension("json.garbled");
        let _ = std::fs::rename(path, &aside);
        SpoolError::Garbled {
            path: path.display().to_string(),
            detail: e.to_string(),
            aside: aside.display().to_string(),
        }
    })
}

/// Removes `path`; absent is fine.
pub fn remove(path: &Path) -> Result<(), SpoolError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(path)(e)),
        _ => Ok(()),
    }
}

impl Spool {
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self { dir: data_dir.join("updates") }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn incoming(&self) -> PathBuf {
        self.dir.join("incoming")
    }

    /// Downloaded package by its SHA-256 (checked to be 64 hex chars by the manifest).
    pub fn package(&self, sha256: &str) -> PathBuf {
        self.incoming().join(format!("{sha256}.deb"))
    }

    pub fn request(&self) -> PathBuf {
        self.dir.join(REQUEST_FILE)
    }

    pub fn health(&self) -> PathBuf {
        self.dir.join(HEALTH_FILE)
    }

    pub fn result(&self) -> PathBuf {
        self.dir.join(RESULT_FILE)
    }

    pub fn tried(&self) -> PathBuf {
        self.dir.join("tried.json")
    }

    pub fn read_health(&self) -> Result<Option<Health>, SpoolError> {
        read_json(&self.health())
    }

    /// Versions refused or rolled back here.
    pub fn tried_versions(&self) -> Vec<String> {
        match read_json::<Vec<String>>(&self.tried()) {
            Ok(v) => v.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(error = %e, "the list of versions tried here is unreadable; starting it again");
                Vec::new()
            }
        }
    }

    pub fn add_tried(&self, version: &str) -> Result<(), SpoolError> {
        let mut v = self.tried_versions();
        if !v.iter().any(|t| t == version) {
            v.push(version.to_owned());
            // A terminal tries few versions; the newest 50 are plenty to never loop.
            let excess = v.len().saturating_sub(50);
            v.drain(..excess);
            write_json(&self.tried(), &v)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_garbled_file_is_moved_aside_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::in_data_dir(dir.path());
        assert!(read_json::<Outcome>(&spool.result()).unwrap().is_none());
        std::fs::create_dir_all(spool.dir()).unwrap();
        std::fs::write(spool.result(), b"{half").unwrap();
        let e = read_json::<Outcome>(&spool.result()).unwrap_err();
        assert!(e.to_string().contains("result.json.garbled"), "{e}");
        assert!(!spool.result().exists());
        assert!(read_json::<Outcome>(&spool.result()).unwrap().is_none(), "no longer in the way");
    }

    #[test]
    fn tried_versions_are_remembered_once() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::in_data_dir(dir.path());
        spool.add_tried("0.2.0").unwrap();
        spool.add_tried("0.2.0").unwrap();
        spool.add_tried("0.3.0").unwrap();
        assert_eq!(spool.tried_versions(), ["0.2.0", "0.3.0"]);
        std::fs::write(spool.tried(), b"garbage").unwrap();
        assert!(spool.tried_versions().is_empty());
    }
}
