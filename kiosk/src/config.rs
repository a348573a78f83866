//! The terminal's TOML configuration: unknown keys are refused, and every error names
//! the key and what is wrong with it. `kiosk.example.toml` documents every key.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// Syntax errors, unknown keys and wrong types; toml's message names the key and line.
    #[error("configuration {path}: {message}")]
    Parse { path: String, message: String },
    #[error("configuration key `{key}`: {problem}")]
    Invalid { key: &'static str, problem: String },
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub terminal: TerminalSection,
    #[serde(default)]
    pub session: SessionSection,
    #[serde(default)]
    pub central: CentralSection,
    #[serde(default)]
    pub outbox: OutboxSection,
    #[serde(default)]
    pub telemetry: TelemetrySection,
    #[serde(default)]
    pub devices: DevicesSection,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TerminalSection {
    /// Where the outbox, audit trail, keys and certificates live.
    pub data_dir: PathBuf,
    #[serde(default = "default_language")]
    pub language: String,
    /// How the touchscreen is mounted: "landscape" (1920x1080) or "portrait" (1080x1920).
    #[serde(default = "default_orientation")]
    pub orientation: String,
}

fn default_language() -> String {
    "zh".into()
}

fn default_orientation() -> String {
    "landscape".into()
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSection {
    pub idle_timeout_s: u64,
    pub countdown_s: u64,
}

impl Default for SessionSection {
    fn default() -> Self {
        Self { idle_timeout_s: 60, countdown_s: 15 }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CentralSection {
    /// `https://...`; absent: `--simulate` runs the reference central in-process.
    pub url: Option<String>,
    pub connect_timeout_s: u64,
    pub request_timeout_s: u64,
    /// How long a citizen waits for the server before the receipt says "queued".
    pub submit_wait_s: u64,
}

impl Default for CentralSection {
    fn default() -> Self {
        Self { url: None, connect_timeout_s: 5, request_timeout_s: 15, submit_wait_s: 8 }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxSection {
    pub max_mb: u64,
    pub alarm_mb: u64,
    pub backoff_base_ms: u64,
    pub backoff_cap_s: u64,
}

impl Default for OutboxSection {
    fn default() -> Self {
        Self { max_mb: 512, alarm_mb: 384, backoff_base_ms: 500, backoff_cap_s: 300 }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySection {
    pub heartbeat_s: u64,
    /// Local Prometheus endpoint; must be a loopback address.
    pub metrics_listen: Option<SocketAddr>,
}

impl Default for TelemetrySection {
    fn default() -> Self {
        Self { heartbeat_s: 30, metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9464))) }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DevicesSection {
    /// Serial port of the ID card reader's SAM module, e.g. `/dev/ttyUSB0`.
    pub reader_port: Option<PathBuf>,
    /// Its baud rate (SAM modules ship at 115200; some are set to 9600).
    pub reader_baud: u32,
    /// Receipt printer: a USB printer-class node (`/dev/usb/lp0`) or `tcp://host:9100`.
    pub printer: Option<String>,
    /// Paper width profile of the printer: `58mm` or `80mm`.
    pub printer_profile: Option<String>,
    /// Camera device, e.g. `/dev/video0`.
    pub camera: Option<PathBuf>,
}

impl Default for DevicesSection {
    fn default() -> Self {
        Self { reader_port: None, reader_baud: 115_200, printer: None, printer_profile: None, camera: None }
    }
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: shown.clone(), source })?;
        Self::parse(&text, &shown)
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Config =
            toml::from_str(text).map_err(|e| ConfigError::Parse { path: origin.into(), message: e.to_string() })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, problem: &str| Err(ConfigError::Invalid { key, problem: problem.into() });
        if !matches!(self.terminal.language.as_str(), "zh" | "en") {
            return bad("terminal.language", "must be \"zh\" or \"en\"");
        }
        if !matches!(self.terminal.orientation.as_str(), "landscape" | "portrait") {
            return bad("terminal.orientation", "must be \"landscape\" or \"portrait\"");
        }
        if self.session.idle_timeout_s < 10 {
            return bad("session.idle_timeout_s", "must be at least 10 seconds");
        }
        if !(3..=120).contains(&self.session.countdown_s) {
            return bad("session.countdown_s", "must be between 3 and 120 seconds");
        }
        if let Some(url) = &self.central.url {
            if !url.starts_with("https://") {
                return bad("central.url", "must start with https:// (the terminal only talks TLS)");
            }
        }
        if self.central.request_timeout_s == 0 || self.central.connect_timeout_s == 0 {
            return bad("central.request_timeout_s", "timeouts must be at least 1 second");
        }
        if self.outbox.max_mb == 0 {
            return bad("outbox.max_mb", "must be at least 1");
        }
        if self.outbox.alarm_mb > self.outbox.max_mb {
            return bad("outbox.alarm_mb", "must not exceed outbox.max_mb");
        }
        if self.outbox.backoff_base_ms == 0 || self.outbox.backoff_cap_s * 1000 < self.outbox.backoff_base_ms {
            return bad("outbox.backoff_cap_s", "must be positive and not below outbox.backoff_base_ms");
        }
        if self.telemetry.heartbeat_s < 5 {
            return bad("telemetry.heartbeat_s", "must be at least 5 seconds");
        }
        if let Some(addr) = self.telemetry.metrics_listen {
            if !addr.ip().is_loopback() {
                return bad("telemetry.metrics_listen", "must be a loopback address (nothing listens publicly)");
            }
        }
        if !matches!(self.devices.reader_baud, 9600 | 19_200 | 38_400 | 57_600 | 115_200) {
            return bad("devices.reader_baud", "must be 9600, 19200, 38400, 57600 or 115200");
        }
        if let Some(p) = &self.devices.printer_profile {
            if !matches!(p.as_str(), "58mm" | "80mm") {
                return bad("devices.printer_profile", "must be \"58mm\" or \"80mm\"");
            }
        }
        Ok(())
    }

    /// A configuration for `--simulate` when none is given.
    pub fn simulated(data_dir: PathBuf) -> Self {
        Self {
            terminal: TerminalSection { data_dir, language: default_language(), orientation: default_orientation() },
            session: SessionSection::default(),
            central: CentralSection::default(),
            outbox: OutboxSection::default(),
            telemetry: TelemetrySection::default(),
            devices: DevicesSection::default(),
        }
    }

    pub fn outbox_limits(&self) -> crate::outbox::Limits {
        crate::outbox::Limits {
            max_bytes: self.outbox.max_mb * 1024 * 1024,
            alarm_bytes: self.outbox.alarm_mb * 1024 * 1024,
        }
    }

    pub fn backoff(&self) -> crate::outbox::backoff::Backoff {
        crate::outbox::backoff::Backoff {
            base: std::time::Duration::from_millis(self.outbox.backoff_base_ms),
            cap: std::time::Duration::from_secs(self.outbox.backoff_cap_s),
        }
    }

    pub fn session_timing(&self) -> crate::session::SessionTiming {
        crate::session::SessionTiming {
            idle_after: self.session.idle_timeout_s * 1000,
            countdown: self.session.countdown_s * 1000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../kiosk.example.toml");

    #[test]
    fn documented_example_parses() {
        let c = Config::parse(EXAMPLE, "kiosk.example.toml").unwrap();
        assert_eq!(c.terminal.data_dir, PathBuf::from("/var/lib/kiosk"));
        assert!(c.central.url.as_deref().unwrap().starts_with("https://"));
    }

    #[test]
    fn minimal_config_gets_defaults() {
        let c = Config::parse("[terminal]\ndata_dir = \"/tmp/k\"\n", "t").unwrap();
        assert_eq!(c.session, SessionSection::default());
        assert_eq!(c.central.url, None);
    }

    /// (config text, words the error must contain)
    #[test]
    fn every_error_names_the_key_and_the_problem() {
        let table: [(&str, &[&str]); 11] = [
            ("[terminal]\ndata_dir = \"/k\"\n[devices]\nreader_baud = 12345\n", &["devices.reader_baud", "115200"]),
            ("[terminal]\ndata_dir = \"/k\"\nlanguage_typo = \"zh\"\n", &["language_typo", "unknown field"]),
            ("[terminal]\ndata_dir = \"/k\"\n[outbox]\nmax_mb = \"big\"\n", &["max_mb", "invalid type"]),
            (
                "[terminal]\ndata_dir = \"/k\"\n[session]\nidle_timeout_s = 2\n",
                &["session.idle_timeout_s", "at least 10"],
            ),
            ("[terminal]\ndata_dir = \"/k\"\n[central]\nurl = \"http://c\"\n", &["central.url", "https://"]),
            ("[terminal]\ndata_dir = \"/k\"\n[outbox]\nmax_mb = 10\nalarm_mb = 20\n", &["outbox.alarm_mb", "max_mb"]),
            (
                "[terminal]\ndata_dir = \"/k\"\n[telemetry]\nmetrics_listen = \"0.0.0.0:9464\"\n",
                &["telemetry.metrics_listen", "loopback"],
            ),
            ("[terminal]\ndata_dir = \"/k\"\nlanguage = \"fr\"\n", &["terminal.language"]),
            ("[terminal]\ndata_dir = \"/k\"\norientation = \"sideways\"\n", &["terminal.orientation"]),
            ("[terminal]\n", &["data_dir", "missing field"]),
            (
                "[devices]\nprinter_profile = \"80mm\"\n[terminal]\ndata_dir = \"/k\"\n[extra]\n",
                &["extra", "unknown field"],
            ),
        ];
        for (text, words) in table {
            let err = Config::parse(text, "kiosk.toml").unwrap_err().to_string();
            for w in words {
                assert!(err.contains(w), "{text:?}: {err:?} lacks {w:?}");
            }
        }
    }
}
