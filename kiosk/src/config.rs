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
    #[serde(default)]
    pub maintenance: MaintenanceSection,
    #[serde(default)]
    pub voice: VoiceSection,
    #[serde(default)]
    pub display: DisplaySection,
    #[serde(default)]
    pub updates: UpdatesSection,
}

/// Staged software updates (`kiosk::update`). Without `release_key` the terminal takes
/// none. Read by the kiosk and, as root, by the installer (`kiosk-provision update`),
/// which trusts this file because the kiosk user cannot write it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UpdatesSection {
    /// Operations' release key: standard base64 of the Ed25519 public key's 32 bytes
    /// (`release.pub` from `central release keygen`).
    pub release_key: Option<String>,
    /// The hall's quiet hours in China time, `HH:MM-HH:MM` (may cross midnight).
    pub window: String,
    /// How often to ask central for an offer.
    pub check_every_s: u64,
    /// How long the installer waits for the new version's self-test before rolling back.
    pub health_deadline_s: u64,
}

impl Default for UpdatesSection {
    fn default() -> Self {
        Self { release_key: None, window: "01:00-05:00".into(), check_every_s: 600, health_deadline_s: 300 }
    }
}

impl UpdatesSection {
    /// The release key, decoded (validated at load, so `None` means not configured).
    pub fn key(&self) -> Option<ed25519_dalek::VerifyingKey> {
        self.release_key.as_deref().and_then(contract::decode_signing_public_key)
    }

    pub fn window(&self) -> crate::update::plan::Window {
        self.window.parse().unwrap_or_default()
    }
}

/// The console display (Slint's LinuxKMS backend, `SLINT_BACKEND=linuxkms-software`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DisplaySection {
    /// How far the picture is turned on the panel, clockwise: 0, 90, 180 or 270. One
    /// value for both: the screen (`SLINT_KMS_ROTATION`) and the touch (libinput's
    /// calibration matrix), so they cannot disagree (`kiosk::display`).
    pub rotation: u16,
}

/// Spoken guidance (espeak-ng): each screen's instruction read aloud.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VoiceSection {
    /// Whether this terminal speaks at all (false: no speaker, or a quiet hall).
    pub enabled: bool,
    /// Every citizen starts with the voice on; otherwise it comes on with large text
    /// (or the voice toggle).
    pub on_by_default: bool,
    /// Loudness, 0 to 100 (espeak-ng's own default loudness is 100).
    pub volume: u8,
}

impl Default for VoiceSection {
    fn default() -> Self {
        Self { enabled: true, on_by_default: false, volume: 80 }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MaintenanceSection {
    /// Argon2 hash (PHC string) of the technician PIN, made by `kiosk maintenance-pin`.
    /// Absent: the hidden gesture does nothing.
    pub pin_hash: Option<String>,
    /// No touch for this long on the technician screens returns to the start screen.
    pub idle_timeout_s: u64,
    /// How long the PIN pad stays locked after five wrong PINs.
    pub lockout_min: u64,
    /// The `kiosk-provision` the maintenance screen runs to re-detect devices. Absent: the
    /// one next to the `kiosk` executable, else `/usr/bin/kiosk-provision`.
    pub provision_tool: Option<PathBuf>,
}

impl Default for MaintenanceSection {
    fn default() -> Self {
        Self { pin_hash: None, idle_timeout_s: 120, lockout_min: 15, provision_tool: None }
    }
}

/// Digits in a technician PIN (the pad shows this many places).
pub const PIN_DIGITS: usize = 6;

/// The argon2 PHC hash of a technician PIN, for `maintenance.pin_hash`.
pub fn hash_pin(pin: &str) -> Result<String, ConfigError> {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    if pin.len() != PIN_DIGITS || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ConfigError::Invalid {
            key: "maintenance.pin_hash",
            problem: format!("a PIN is {PIN_DIGITS} digits"),
        });
    }
    let invalid =
        |e: argon2::password_hash::Error| ConfigError::Invalid { key: "maintenance.pin_hash", problem: e.to_string() };
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(invalid)?;
    argon2::Argon2::default().hash_password(pin.as_bytes(), &salt).map(|h| h.to_string()).map_err(invalid)
}

/// Whether `pin` matches `hash` (a PHC string that `Config` validated).
pub fn pin_matches(pin: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier as _};
    PasswordHash::new(hash).is_ok_and(|h| argon2::Argon2::default().verify_password(pin.as_bytes(), &h).is_ok())
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
    /// `https://...`; absent: `kiosk-simulate` runs the reference central in-process.
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
    /// Milliseconds between polls of the reader while the terminal is in use (for five
    /// minutes after a card came or went); idle, it is polled every 300 ms. 300 polls at
    /// that pace always, as vendors advise.
    pub reader_poll_ms: u64,
    /// Receipt printer: a USB printer-class node (`/dev/usb/lp0`), `tcp://host:9100`, or
    /// a serial port (`/dev/ttyUSB1`, then with `printer_baud`).
    pub printer: Option<String>,
    /// Line speed of a printer on a serial port; absent for USB and TCP printers.
    pub printer_baud: Option<u32>,
    /// Paper width profile of the printer: `58mm` or `80mm`.
    pub printer_profile: Option<String>,
    /// Camera device, e.g. `/dev/video0`.
    pub camera: Option<PathBuf>,
    /// The social security card reader (PC/SC): `"auto"` for whichever reader holds a
    /// card, or a reader's name as `sscard readers` lists it. Absent: the terminal takes
    /// ID cards only.
    pub social_security_reader: Option<String>,
    /// The receipt scanner: a serial (CDC-ACM) scanner's port (`/dev/ttyACM0`, with
    /// `scanner_baud`), or a keyboard-wedge scanner's input device under `/dev/input/`.
    /// Absent: receipts' numbers are typed.
    pub scanner: Option<PathBuf>,
    /// Line speed of a serial scanner (CDC-ACM ignores it; 9600 is the usual setting).
    pub scanner_baud: u32,
}

impl Default for DevicesSection {
    fn default() -> Self {
        Self {
            reader_port: None,
            reader_baud: 115_200,
            reader_poll_ms: 10,
            printer: None,
            printer_baud: None,
            printer_profile: None,
            camera: None,
            social_security_reader: None,
            scanner: None,
            scanner_baud: 9600,
        }
    }
}

impl Config {
    /// SHA-256 (hex) of the configuration in effect, defaults included: the heartbeat
    /// reports it so operations see terminals configured unlike their peers. It hashes
    /// the parsed settings (their `Debug` form), so it is comparable between terminals
    /// on the same software version, not across versions.
    pub fn effective_hash(&self) -> String {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(format!("{self:?}").as_bytes()))
    }

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
        const BAUDS: &str = "must be 9600, 19200, 38400, 57600 or 115200";
        let serial_speed = |b: u32| matches!(b, 9600 | 19_200 | 38_400 | 57_600 | 115_200);
        if !serial_speed(self.devices.reader_baud) {
            return bad("devices.reader_baud", BAUDS);
        }
        let idle_poll = idcard::ReaderConfig::default().poll_interval.as_millis();
        if !(5..=idle_poll).contains(&u128::from(self.devices.reader_poll_ms)) {
            return bad(
                "devices.reader_poll_ms",
                &format!("must be between 5 and {idle_poll} ms (the interval when nobody uses the terminal)"),
            );
        }
        match (self.devices.printer.as_deref(), self.devices.printer_baud) {
            (_, Some(b)) if !serial_speed(b) => return bad("devices.printer_baud", BAUDS),
            (Some(p), Some(_)) if p.starts_with("tcp://") || p.starts_with("/dev/usb/") => {
                return bad("devices.printer_baud", "only for a printer on a serial port, not USB or TCP");
            }
            (None, Some(_)) => return bad("devices.printer_baud", "set devices.printer (the serial port) too"),
            // A serial line opened without its speed prints garbage, or nothing.
            (Some(p), None) if p.starts_with("/dev/tty") => {
                return bad("devices.printer_baud", "a printer on a serial port needs its line speed (e.g. 9600)");
            }
            _ => {}
        }
        if self.devices.social_security_reader.as_deref().is_some_and(|r| r.trim().is_empty()) {
            return bad("devices.social_security_reader", "\"auto\" or a reader's name (`sscard readers` lists them)");
        }
        if !serial_speed(self.devices.scanner_baud) {
            return bad("devices.scanner_baud", BAUDS);
        }
        if let Some(hash) = &self.maintenance.pin_hash {
            match argon2::password_hash::PasswordHash::new(hash) {
                Ok(h) if h.algorithm.as_str().starts_with("argon2") => {}
                _ => return bad("maintenance.pin_hash", "must be an argon2 hash made by `kiosk maintenance-pin`"),
            }
        }
        if !(30..=3600).contains(&self.maintenance.idle_timeout_s) {
            return bad("maintenance.idle_timeout_s", "must be between 30 and 3600 seconds");
        }
        if !(1..=24 * 60).contains(&self.maintenance.lockout_min) {
            return bad("maintenance.lockout_min", "must be between 1 and 1440 minutes");
        }
        if !matches!(self.display.rotation, 0 | 90 | 180 | 270) {
            return bad("display.rotation", "must be 0, 90, 180 or 270 (degrees clockwise)");
        }
        if self.voice.volume > 100 {
            return bad("voice.volume", "must be between 0 and 100");
        }
        if let Some(k) = &self.updates.release_key {
            if contract::decode_signing_public_key(k).is_none() {
                return bad("updates.release_key", "must be the base64 Ed25519 public key in release.pub");
            }
        }
        if let Err(e) = self.updates.window.parse::<crate::update::plan::Window>() {
            return bad("updates.window", &e.to_string());
        }
        if !(60..=86_400).contains(&self.updates.check_every_s) {
            return bad("updates.check_every_s", "must be between 60 and 86400 seconds");
        }
        if !(30..=3600).contains(&self.updates.health_deadline_s) {
            return bad("updates.health_deadline_s", "must be between 30 and 3600 seconds");
        }
        if let Some(p) = &self.devices.printer_profile {
            if !matches!(p.as_str(), "58mm" | "80mm") {
                return bad("devices.printer_profile", "must be \"58mm\" or \"80mm\"");
            }
        }
        Ok(())
    }

    /// A configuration for `kiosk-simulate` when none is given.
    pub fn simulated(data_dir: PathBuf) -> Self {
        Self {
            terminal: TerminalSection { data_dir, language: default_language(), orientation: default_orientation() },
            session: SessionSection::default(),
            central: CentralSection::default(),
            outbox: OutboxSection::default(),
            telemetry: TelemetrySection::default(),
            devices: DevicesSection::default(),
            maintenance: MaintenanceSection::default(),
            voice: VoiceSection::default(),
            display: DisplaySection::default(),
            updates: UpdatesSection::default(),
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

    /// How the ID card reader is polled: `devices.reader_poll_ms` while the terminal is
    /// in use, the driver's defaults otherwise.
    pub fn reader(&self) -> idcard::ReaderConfig {
        idcard::ReaderConfig {
            active_poll_interval: std::time::Duration::from_millis(self.devices.reader_poll_ms),
            ..idcard::ReaderConfig::default()
        }
    }

    pub fn session_timing(&self) -> session::SessionTiming {
        session::SessionTiming {
            idle_after: self.session.idle_timeout_s * 1000,
            countdown: self.session.countdown_s * 1000,
            maintenance_idle: self.maintenance.idle_timeout_s * 1000,
            pin_lockout: self.maintenance.lockout_min * 60_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_effective_hash_changes_with_any_setting_and_only_then() {
        let a = Config::parse("[terminal]\ndata_dir = \"/k\"\n", "a").unwrap();
        let same = Config::parse("# a comment changes nothing\n[terminal]\ndata_dir = \"/k\"\n", "b").unwrap();
        let other = Config::parse("[terminal]\ndata_dir = \"/k\"\n[telemetry]\nheartbeat_s = 45\n", "c").unwrap();
        assert_eq!(a.effective_hash(), same.effective_hash());
        assert_ne!(a.effective_hash(), other.effective_hash());
        let hash = a.effective_hash();
        assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{hash}");
    }

    const EXAMPLE: &str = include_str!("../kiosk.example.toml");

    #[test]
    fn documented_example_parses() {
        let c = Config::parse(EXAMPLE, "kiosk.example.toml").unwrap();
        assert_eq!(c.terminal.data_dir, PathBuf::from("/var/lib/kiosk"));
        assert!(c.central.url.as_deref().unwrap().starts_with("https://"));
    }

    #[test]
    fn the_reader_is_polled_fast_while_in_use_and_as_before_when_idle() {
        let example = Config::parse(EXAMPLE, "kiosk.example.toml").unwrap();
        let default = Config::parse("[terminal]\ndata_dir = \"/k\"\n", "t").unwrap();
        for c in [&example, &default] {
            let reader = c.reader();
            assert_eq!(reader.active_poll_interval, std::time::Duration::from_millis(10));
            assert_eq!(reader.poll_interval, std::time::Duration::from_millis(300));
        }
        // Polling as before (every 300 ms, in use or not) stays possible.
        let slow = Config::parse("[terminal]\ndata_dir = \"/k\"\n[devices]\nreader_poll_ms = 300\n", "t").unwrap();
        assert_eq!(slow.reader().active_poll_interval, std::time::Duration::from_millis(300));
    }

    #[test]
    fn the_rotation_is_one_of_four_quarter_turns_and_none_by_default() {
        let none = Config::parse("[terminal]\ndata_dir = \"/k\"\n", "t").unwrap();
        assert_eq!(none.display.rotation, 0);
        for degrees in [0, 90, 180, 270] {
            let text = format!("[terminal]\ndata_dir = \"/k\"\n[display]\nrotation = {degrees}\n");
            assert_eq!(Config::parse(&text, "t").unwrap().display.rotation, degrees);
        }
        for bad in [1, 89, 91, 360, 450] {
            let text = format!("[terminal]\ndata_dir = \"/k\"\n[display]\nrotation = {bad}\n");
            let err = Config::parse(&text, "t").unwrap_err();
            assert!(matches!(err, ConfigError::Invalid { key: "display.rotation", .. }), "{bad}: {err}");
        }
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
        let table: [(&str, &[&str]); 21] = [
            ("[terminal]\ndata_dir = \"/k\"\n[display]\nrotation = 45\n", &["display.rotation", "0, 90, 180 or 270"]),
            ("[terminal]\ndata_dir = \"/k\"\n[display]\nrotation = -90\n", &["rotation"]),
            (
                "[terminal]\ndata_dir = \"/k\"\n[maintenance]\npin_hash = \"123456\"\n",
                &["maintenance.pin_hash", "kiosk maintenance-pin"],
            ),
            (
                "[terminal]\ndata_dir = \"/k\"\n[maintenance]\nlockout_min = 0\n",
                &["maintenance.lockout_min", "between"],
            ),
            ("[terminal]\ndata_dir = \"/k\"\n[devices]\nreader_baud = 12345\n", &["devices.reader_baud", "115200"]),
            (
                "[terminal]\ndata_dir = \"/k\"\n[devices]\nreader_poll_ms = 0\n",
                &["devices.reader_poll_ms", "between 5"],
            ),
            ("[terminal]\ndata_dir = \"/k\"\n[devices]\nreader_poll_ms = 1000\n", &["devices.reader_poll_ms", "300"]),
            (
                "[terminal]\ndata_dir = \"/k\"\n[devices]\nprinter = \"/dev/ttyUSB1\"\n",
                &["devices.printer_baud", "serial port"],
            ),
            (
                "[terminal]\ndata_dir = \"/k\"\n[devices]\nprinter = \"tcp://10.0.0.9:9100\"\nprinter_baud = 9600\n",
                &["devices.printer_baud", "not USB or TCP"],
            ),
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
            ("[terminal]\ndata_dir = \"/k\"\n[voice]\nvolume = 101\n", &["voice.volume", "between 0 and 100"]),
            ("[terminal]\ndata_dir = \"/k\"\n[voice]\nvolume = -1\n", &["volume"]),
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

#[cfg(test)]
mod pin_tests {
    use super::*;

    #[test]
    fn a_hashed_pin_matches_itself_only_and_passes_validation() {
        let hash = hash_pin("246810").unwrap();
        assert!(hash.starts_with("$argon2"), "{hash}");
        assert!(pin_matches("246810", &hash));
        assert!(!pin_matches("246811", &hash));
        assert!(!pin_matches("", &hash));
        let text = format!("[terminal]\ndata_dir = \"/k\"\n[maintenance]\npin_hash = \"{hash}\"\n");
        assert_eq!(Config::parse(&text, "t").unwrap().maintenance.pin_hash.as_deref(), Some(hash.as_str()));
    }

    #[test]
    fn the_pin_line_appended_to_the_example_configuration_lands_in_its_maintenance_table() {
        let hash = hash_pin("135790").unwrap();
        let text = format!("{}pin_hash = \"{hash}\"\n", include_str!("../kiosk.example.toml"));
        let c = Config::parse(&text, "kiosk.toml").unwrap();
        assert!(pin_matches("135790", c.maintenance.pin_hash.as_deref().unwrap()));
    }

    #[test]
    fn pins_that_are_not_six_digits_are_refused() {
        for pin in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert!(hash_pin(pin).is_err(), "{pin:?}");
        }
    }
}
