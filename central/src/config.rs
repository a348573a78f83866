//! Server configuration: embedded defaults, and validation that names the bad setting.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Everything `central::start` needs. `ServerConfig::new(data_dir)` gives the defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Holds the SQLite database, CA, server and signing keys. Created if missing.
    pub data_dir: PathBuf,
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
    /// Public base URL printed in verification QR codes (`<public_url>/verify/<code>`).
    /// Defaults to `https://<listen>`.
    pub public_url: Option<String>,
    /// Extra DNS names / IPs for the server certificate (first start only).
    pub server_names: Vec<String>,
    /// How long stored idempotent responses are kept.
    pub idempotency_retention: Duration,
    /// Ops dashboard pages reload their content this often (seconds).
    pub dashboard_refresh: Duration,
    /// People in the synthetic registry created at first start.
    pub registry_size: u32,
}

impl ServerConfig {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            heartbeat_interval: Duration::from_secs(30),
            offline_after_missed: 3,
            backlog_alert_age: Duration::from_secs(15 * 60),
            sweep_interval: Duration::from_secs(5),
            device_certificate_validity: Duration::from_secs(365 * 24 * 3600),
            public_url: None,
            server_names: Vec::new(),
            idempotency_retention: Duration::from_secs(72 * 3600),
            dashboard_refresh: Duration::from_secs(5),
            registry_size: 300,
        }
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
        if let Some(url) = &self.public_url {
            if !url.starts_with("https://") || url.len() < 9 {
                return bad("public_url", format!("{url:?} must be an https:// URL"));
            }
        }
        if !(10..=100_000).contains(&self.registry_size) {
            return bad("registry_size", "must be 10..=100000 people".into());
        }
        if self.dashboard_refresh < Duration::from_secs(1) {
            return bad("dashboard_refresh", "must be at least 1 s".into());
        }
        Ok(())
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
    fn defaults_are_valid() {
        assert_eq!(ServerConfig::new("/tmp/x").validate(), Ok(()));
    }
}
