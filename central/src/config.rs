//! Server configuration: embedded defaults, and validation that names the bad setting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything `central::start` needs. `ServerConfig::new(data_dir)` gives the defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Holds the SQLite database, CA, server and signing keys. Created if missing.
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://user@host/db`) to keep the records in instead
    /// of the SQLite file in `data_dir`: several central processes may then share it.
    /// Keys and certificates stay in `data_dir` (each process needs the same copy).
    pub database: Option<String>,
    /// Address to listen on; port 0 picks a free port (see `RunningServer::local_addr`).
    pub listen: SocketAddr,
    /// Heartbeat interval handed to terminals.
    pub heartbeat_interval: Duration,
    /// A terminal is offline after this many intervals without a heartbeat.
    pub offline_after_missed: u32,
    /// Alert when the oldest unsent outbox item is older than this.
    pub backlog_alert_age: Duration,
    /// How often the offline sweeper runs.
    pub sweep_interval: Duration,
    /// Validity of device certificates issued at enrollment.
    pub device_certificate_validity: Duration,
    /// Life of the server's own TLS certificate (default 825 days); it is rotated after
    /// two thirds of it, checked every hour (a sixth of its life if that is shorter).
    pub server_certificate_validity: Duration,
    /// Public base URL printed in verification QR codes (`<public_url>/verify/<code>`).
    /// Defaults to `https://<listen>`.
    pub public_url: Option<String>,
    /// Extra DNS names / IPs for the server certificate (first start only).
    pub server_names: Vec<String>,
    /// How long stored idempotent responses are kept: a submission re-sent within it is
    /// answered from its first result instead of being processed again. A terminal
    /// retries a submission for up to [`TERMINAL_RETRY_WINDOW`], so this must be longer
    /// (at least [`MIN_IDEMPOTENCY_RETENTION`]); 30 days by default.
    pub idempotency_retention: Duration,
    /// Ops dashboard pages reload their content this often (seconds).
    pub dashboard_refresh: Duration,
    /// People in the synthetic registry created at first start.
    pub registry_size: u32,
    /// A new connection must complete its TLS handshake and first request headers, and a
    /// request that has begun must complete its headers, within this.
    pub header_timeout: Duration,
    /// A kept-alive connection with no request is closed after this. Longer than the
    /// terminals' heartbeat interval, so their connection is reused.
    pub idle_timeout: Duration,
    /// A request body must have arrived whole within this of its headers (408 if not).
    pub body_timeout: Duration,
    /// Most connections open at once; at the cap the longest-idle one is closed to admit
    /// a new one. `None`: the open-file limit less a reserve, at most 16,384.
    pub max_connections: Option<usize>,
    /// Ops dashboard logins: throttles and the Argon2 pool.
    pub login: LoginLimits,
    /// Registry lookups (contributions, application progress) per terminal.
    pub lookups_per_terminal: Rate,
    /// First enrollments (anonymous, with a token) per client address.
    pub enrollments_per_address: Rate,
    /// The key that encrypts stored face images. `None`: `face-images.key` in `data_dir`,
    /// beside the database, which a copy of the data directory then decrypts (logged at
    /// start); production keeps it elsewhere (see deploy/README.md).
    pub face_key: Option<PathBuf>,
    /// How long personal data and fleet records are kept.
    pub retention: Retention,
    /// How often the retention sweep runs.
    pub retention_interval: Duration,
    /// This instance's name in `/metrics` (`instance="…"` on every series) and on every
    /// dashboard page, so an operator behind a load balancer knows which of several
    /// instances answered. `None`: `<hostname>:<port>` of the bound address, distinct
    /// per host and port and stable across restarts (a random id would change with each).
    pub instance_name: Option<String>,
    /// Where published packages are kept (`<sha256>.deb`). `None`: `releases` in
    /// `data_dir`. Several instances must share it, like the data directory: the
    /// instance a terminal downloads from must hold the file another one published.
    pub releases_dir: Option<PathBuf>,
    /// The release key's public half (standard base64 of its 32 bytes, the value
    /// terminals have as `[updates] release_key`). When set, `central release publish`
    /// refuses a package whose signature does not verify; when not, the signature is
    /// left to the terminals (which always check it). Central never holds the private
    /// key: operations sign offline.
    pub release_key: Option<String>,
}

/// A sustained rate with a burst: `burst` calls at once, then `per_minute` a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

/// Ops dashboard login limits: Argon2 costs 19 MiB and tens of milliseconds a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Attempts per client address (IPv6: per /64).
    pub per_address: Rate,
    /// Attempts per user name typed, known or not.
    pub per_user: Rate,
    /// Threads that run Argon2, apart from the threads that serve terminals.
    pub workers: usize,
    /// Attempts waiting for a worker; more are refused with 429 at once.
    pub queue: usize,
}

/// How long records are kept; the retention sweep deletes or masks what is older.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Face images of decided (approved or rejected) qualification checks, after the decision.
    pub faces_after_decision: Duration,
    /// Face images of checks still under review (the reviewer needs them until then).
    pub faces_undecided: Duration,
    /// Issued certificate documents (holder's name, contribution rows); their
    /// verification page answers "not found" afterwards.
    pub certificates: Duration,
    /// Raw ID numbers of decided or completed applications, after submission; the
    /// masked number is kept. Open unemployment registrations keep theirs while open.
    pub id_numbers_after_decision: Duration,
    /// Who looked up whom in the registry (masked).
    pub registry_access: Duration,
    /// Telemetry events, cleared alerts and hourly figures.
    pub telemetry: Duration,
    /// Terminals' audit records.
    pub audit: Duration,
}

const DAY: Duration = Duration::from_secs(86_400);

/// How long a terminal keeps re-sending a submission after its first attempt before it
/// holds it for a technician instead (the terminal's outbox).
pub const TERMINAL_RETRY_WINDOW: Duration = Duration::from_secs(28 * 86_400);

/// The shortest `idempotency_retention` accepted: the terminals' retry window and a day.
pub const MIN_IDEMPOTENCY_RETENTION: Duration = Duration::from_secs(29 * 86_400);

impl Default for Retention {
    fn default() -> Self {
        Self {
            faces_after_decision: Duration::ZERO,
            faces_undecided: 90 * DAY,
            certificates: 365 * DAY,
            id_numbers_after_decision: 365 * DAY,
            registry_access: 180 * DAY,
            telemetry: 90 * DAY,
            audit: 365 * DAY,
        }
    }
}

impl ServerConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            database: None,
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            heartbeat_interval: Duration::from_secs(30),
            offline_after_missed: 3,
            backlog_alert_age: Duration::from_secs(15 * 60),
            sweep_interval: Duration::from_secs(5),
            device_certificate_validity: Duration::from_secs(365 * 24 * 3600),
            server_certificate_validity: crate::pki::SERVER_CERTIFICATE_VALIDITY,
            public_url: None,
            server_names: Vec::new(),
            idempotency_retention: 30 * DAY,
            dashboard_refresh: Duration::from_secs(5),
            registry_size: 300,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            body_timeout: Duration::from_secs(60),
            max_connections: None,
            login: LoginLimits {
                per_address: Rate { per_minute: 10, burst: 10 },
                per_user: Rate { per_minute: 5, burst: 5 },
                workers: 1,
                queue: 4,
            },
            lookups_per_terminal: Rate { per_minute: 10, burst: 20 },
            enrollments_per_address: Rate { per_minute: 10, burst: 20 },
            face_key: None,
            retention: Retention::default(),
            retention_interval: Duration::from_secs(3600),
            instance_name: None,
            releases_dir: None,
            release_key: None,
        }
    }

    /// The directory published packages are kept in.
    pub fn releases_dir(&self) -> PathBuf {
        self.releases_dir.clone().unwrap_or_else(|| self.data_dir.join("releases"))
    }

    /// Time without heartbeat after which a terminal counts as offline.
    pub fn offline_after(&self) -> Duration {
        self.heartbeat_interval * self.offline_after_missed
    }

    /// Checks every setting; the error names the one that is wrong.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |setting: &'static str, problem: String| Err(ConfigError { setting, problem });
        if self.data_dir.as_os_str().is_empty() {
            return bad("data_dir", "must not be empty".into());
        }
        if self.data_dir.exists() && !self.data_dir.is_dir() {
            return bad("data_dir", format!("{} exists and is not a directory", self.data_dir.display()));
        }
        if let Some(key) = &self.release_key {
            crate::release::parse_public_key(key).map_err(|problem| ConfigError { setting: "release_key", problem })?;
        }
        if let Some(url) = &self.database {
            check_database_url(url).map_err(|problem| ConfigError { setting: "database", problem })?;
        }
        if self.heartbeat_interval < Duration::from_secs(1) || self.heartbeat_interval > Duration::from_secs(3600) {
            return bad("heartbeat_interval", "must be between 1 s and 1 h".into());
        }
        if !(1..=100).contains(&self.offline_after_missed) {
            return bad("offline_after_missed", "must be 1..=100 intervals".into());
        }
        if self.backlog_alert_age < Duration::from_secs(1) {
            return bad("backlog_alert_age", "must be at least 1 s".into());
        }
        if self.sweep_interval < Duration::from_millis(100) || self.sweep_interval > Duration::from_secs(600) {
            return bad("sweep_interval", "must be between 100 ms and 10 min".into());
        }
        if self.device_certificate_validity < Duration::from_secs(3600) {
            return bad("device_certificate_validity", "must be at least 1 h".into());
        }
        if self.server_certificate_validity < Duration::from_secs(3600) {
            return bad("server_certificate_validity", "must be at least 1 h".into());
        }
        if let Some(url) = &self.public_url {
            if !url.starts_with("https://") || url.len() < 9 {
                return bad("public_url", format!("{url:?} must be an https:// URL"));
            }
        }
        if !(10..=100_000).contains(&self.registry_size) {
            return bad("registry_size", "must be 10..=100000 people".into());
        }
        if self.idempotency_retention < MIN_IDEMPOTENCY_RETENTION {
            return bad(
                "idempotency_retention",
                format!(
                    "must be at least {} days: a terminal may retry a submission for {} days, and a shorter \
                     window could store a re-sent application twice",
                    MIN_IDEMPOTENCY_RETENTION.as_secs() / 86_400,
                    TERMINAL_RETRY_WINDOW.as_secs() / 86_400
                ),
            );
        }
        if self.dashboard_refresh < Duration::from_secs(1) {
            return bad("dashboard_refresh", "must be at least 1 s".into());
        }
        for (setting, value) in [
            ("header_timeout", self.header_timeout),
            ("idle_timeout", self.idle_timeout),
            ("body_timeout", self.body_timeout),
        ] {
            if value < Duration::from_millis(100) || value > Duration::from_secs(3600) {
                return bad(setting, "must be between 100 ms and 1 h".into());
            }
        }
        if self.max_connections.is_some_and(|n| n < 8) {
            return bad("max_connections", "must be at least 8".into());
        }
        for (setting, rate) in [
            ("login.per_address", self.login.per_address),
            ("login.per_user", self.login.per_user),
            ("lookups_per_terminal", self.lookups_per_terminal),
            ("enrollments_per_address", self.enrollments_per_address),
        ] {
            if rate.per_minute == 0 || rate.burst == 0 {
                return bad(setting, "per_minute and burst must be at least 1".into());
            }
        }
        if !(1..=64).contains(&self.login.workers) {
            return bad("login.workers", "must be 1..=64 threads".into());
        }
        if self.login.queue > 10_000 {
            return bad("login.queue", "must be at most 10000".into());
        }
        if self.face_key.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return bad("face_key", "must not be empty".into());
        }
        if self.retention_interval < Duration::from_secs(1) {
            return bad("retention_interval", "must be at least 1 s".into());
        }
        if let Some(name) = &self.instance_name {
            // It goes into a Prometheus label and an HTML attribute: keep it plain.
            if name.is_empty()
                || name.len() > 64
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || ".:_-".contains(c))
            {
                return bad("instance_name", format!("{name:?} must be 1..=64 of [A-Za-z0-9.:_-]"));
            }
        }
        Ok(())
    }

    /// The instance name: `instance_name`, or `<hostname>:<port>` of `actual`.
    pub(crate) fn instance_name_for(&self, actual: SocketAddr) -> String {
        if let Some(name) = &self.instance_name {
            return name.clone();
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().chars().filter(|c| c.is_ascii_alphanumeric() || ".-_".contains(*c)).collect::<String>())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "central".to_owned());
        format!("{host}:{}", actual.port())
    }

    pub(crate) fn verify_base_url(&self, actual: SocketAddr) -> String {
        let base = self.public_url.clone().unwrap_or_else(|| {
            if actual.ip().is_unspecified() {
                format!("https://localhost:{}", actual.port())
            } else {
                format!("https://{actual}")
            }
        });
        format!("{}/verify/", base.trim_end_matches('/'))
    }
}

/// Why `url` is no PostgreSQL URL the store can use (its password masked in the answer).
pub fn check_database_url(url: &str) -> Result<(), String> {
    let shown = crate::store::mask_database_url(url);
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(format!(
            "{shown:?} must be a postgres:// or postgresql:// URL (leave it out to use the SQLite file in data_dir)"
        ));
    }
    // The store's own reading (the driver's parser and the TLS settings), so a URL
    // accepted here is one the store can open. It never quotes the URL.
    crate::store::check_connection_settings(url).map_err(|problem| format!("{shown:?}: {problem}"))
}

/// A setting that is out of range, named so an operator knows what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{setting}`: {problem}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub problem: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_heartbeat_interval_names_the_setting() {
        let mut c = ServerConfig::new("/tmp/x");
        c.heartbeat_interval = Duration::ZERO;
        let e = c.validate().unwrap_err();
        assert_eq!(e.setting, "heartbeat_interval");
        assert!(e.to_string().contains("`heartbeat_interval`"));
    }

    #[test]
    fn an_idempotency_window_shorter_than_the_terminals_retries_is_refused() {
        let mut c = ServerConfig::new("/tmp/x");
        assert_eq!(c.idempotency_retention, Duration::from_secs(30 * 86_400), "default: 30 days");
        c.idempotency_retention = Duration::from_secs(72 * 3600);
        let e = c.validate().unwrap_err();
        assert_eq!(e.setting, "idempotency_retention");
        assert!(e.problem.contains("at least 29 days") && e.problem.contains("28 days"), "{e}");
        assert!(e.problem.contains("twice"), "{e}");
        c.idempotency_retention = MIN_IDEMPOTENCY_RETENTION - Duration::from_secs(1);
        assert_eq!(c.validate().map_err(|e| e.setting), Err("idempotency_retention"));
        c.idempotency_retention = MIN_IDEMPOTENCY_RETENTION;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn only_postgres_urls_select_the_postgres_store_and_the_password_is_never_shown() {
        let mut c = ServerConfig::new("/tmp/x");
        for bad in
            ["mysql://root:hunter2@db/central", "central.db", "postgres:/db", "postgres://u:hunter2@h:notaport/db"]
        {
            c.database = Some(bad.into());
            let e = c.validate().unwrap_err();
            assert_eq!(e.setting, "database", "{bad}");
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
        assert!(c.validate().unwrap_err().problem.contains("not a valid PostgreSQL URL"));
        c.database = Some("mysql://db".into());
        assert!(c.validate().unwrap_err().problem.contains("must be a postgres:// or postgresql:// URL"));
        for good in ["postgres://central@db.example/central", "postgresql://u:p@127.0.0.1:5433/c?sslmode=disable"] {
            c.database = Some(good.into());
            assert_eq!(c.validate(), Ok(()), "{good}");
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(ServerConfig::new("/tmp/x").validate(), Ok(()));
    }
}
