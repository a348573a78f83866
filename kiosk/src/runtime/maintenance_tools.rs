//! The maintenance screen's tools beyond the self-tests, at their edge: printing the
//! provisioning receipt again (the install's record, laid out by
//! [`crate::install_record`], through the same ESC/POS driver as every printout),
//! re-detecting the devices by running the installed `kiosk-provision detect --json`, and
//! writing the ports it found into the configuration. What to do with the answers (what
//! moved, what to apply, when to restart) is decided by the session core.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use session::Device;
use session::maintenance::{DetectError, Detection, Port, ReprintProblem};

use super::ReceiptPrinter;
use crate::install_record::{self, state::InstallState};

/// Long enough for `detect` to probe a dozen serial ports (each at most 3.25 s, all at once)
/// and ask pcscd; short enough that a hung tool does not hold the screen.
pub const DETECT_LIMIT: Duration = Duration::from_secs(30);

/// Where the installed tool is when nothing else is said: the Debian package puts both
/// binaries in `/usr/bin`.
pub const DEFAULT_TOOL: &str = "/usr/bin/kiosk-provision";

/// The configured ports, as `[devices]` names them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfiguredPorts {
    pub reader: Option<String>,
    pub printer: Option<String>,
    pub camera: Option<String>,
}

impl ConfiguredPorts {
    pub fn from_config(d: &crate::config::DevicesSection) -> Self {
        Self {
            reader: d.reader_port.as_ref().map(|p| p.display().to_string()),
            printer: d.printer.clone(),
            camera: d.camera.as_ref().map(|p| p.display().to_string()),
        }
    }

    fn of(&self, device: Device) -> Option<&str> {
        match device {
            Device::Reader => self.reader.as_deref(),
            Device::Printer => self.printer.as_deref(),
            Device::Camera => self.camera.as_deref(),
            _ => None,
        }
    }

    fn pairs(&self) -> Vec<(Device, String)> {
        session::maintenance::DETECTED.into_iter().filter_map(|d| self.of(d).map(|p| (d, p.to_owned()))).collect()
    }
}

/// What the tools need to know about this terminal.
pub struct MaintenanceTools {
    /// Where `install-state.json` is (the kiosk's data directory).
    pub data_dir: PathBuf,
    /// The central service, as today's configuration names it (printed on the receipt).
    pub central_url: String,
    /// The configuration file the ports are written to; `None`: re-detection can show
    /// but not apply (a terminal started without a file, as in the demo).
    pub config_path: Option<PathBuf>,
    pub configured: ConfiguredPorts,
    /// The `kiosk-provision` binary.
    pub tool: PathBuf,
    /// Arguments after `detect --json` (tests: `--only --port <pty>`).
    pub detect_args: Vec<String>,
    pub detect_limit: Duration,
    /// Starts the terminal over after its ports changed.
    pub restart: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for MaintenanceTools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MaintenanceTools").field("tool", &self.tool).field("config_path", &self.config_path).finish()
    }
}

/// The `kiosk-provision` next to this executable (a development build, an unpacked
/// tree), else the installed one.
pub fn default_tool() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("kiosk-provision")))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_TOOL))
}

/// Restarts the kiosk the way systemd stops it: SIGTERM to ourselves runs the clean
/// shutdown (devices released, central told), and the unit's `Restart=always` starts it
/// again on the new configuration. Restarting the drivers in place would need every
/// supervised device task to be rebuilt from the new configuration: the same code as a
/// boot, so the boot itself is used.
pub fn restart_through_systemd() {
    tracing::warn!("maintenance: device ports changed; restarting the terminal");
    if let Err(e) = nix::sys::signal::raise(nix::sys::signal::Signal::SIGTERM) {
        tracing::error!(error = %e, "cannot signal the restart; restart the kiosk service by hand");
    }
}

impl MaintenanceTools {
    /// Prints the provisioning receipt again, `now` in China time on it.
    pub async fn reprint(&self, printer: &dyn ReceiptPrinter, now: time::OffsetDateTime) -> Result<(), ReprintProblem> {
        // Reading the record is file I/O: off the async workers, like the other stores.
        let (dir, url) = (self.data_dir.clone(), self.central_url.clone());
        let doc = tokio::task::spawn_blocking(move || reprint_document(&dir, &url, now))
            .await
            .map_err(|_| ReprintProblem::RecordUnreadable)??;
        printer.print(doc).await.map_err(ReprintProblem::Printer)
    }

    /// Runs `kiosk-provision detect --json` while the kiosk keeps running. The devices are
    /// not released first: the ports of the devices in `working` are skipped (`--skip`)
    /// instead, because the kiosk's drivers hold them (the reader's exclusively, so a probe
    /// would only say "cannot open"; a printer's probe frames would interleave with the
    /// driver's status polls) and have just heard their device answer there; they count
    /// as found where configured. Releasing them would leave citizens' devices closed if
    /// the tool hung. Every other configured port is probed by name, so a udev symlink
    /// (`/dev/kiosk-reader`) is checked as such.
    pub async fn detect(&self, working: &[Device]) -> Result<Detection, DetectError> {
        let configured = self.configured.pairs();
        let mut args: Vec<String> = vec!["detect".into(), "--json".into()];
        for (device, path) in &configured {
            let flag = if working.contains(device) { "--skip" } else { "--port" };
            // Cameras are listed, never opened: nothing to skip or name.
            if *device != Device::Camera {
                args.extend([flag.to_owned(), path.clone()]);
            }
        }
        args.extend(self.detect_args.iter().cloned());
        let mut command = tokio::process::Command::new(&self.tool);
        command.args(&args).kill_on_drop(true).stdin(std::process::Stdio::null());
        let output = match tokio::time::timeout(self.detect_limit, command.output()).await {
            Err(_) => return Err(DetectError::TimedOut),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => return Err(DetectError::ToolMissing),
            Ok(Err(e)) => return Err(DetectError::ToolFailed(e.to_string())),
            Ok(Ok(output)) => output,
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            return Err(DetectError::ToolFailed(format!("{}: {}", output.status, clip(last))));
        }
        let probed = parse_report(&output.stdout).map_err(DetectError::Unreadable)?;
        // The working devices first: they are where the configuration says, whatever else answered.
        let mut found: Vec<(Device, Port)> = configured
            .iter()
            .filter(|(d, _)| working.contains(d) && *d != Device::Camera)
            .map(|(d, p)| (*d, Port { path: p.clone(), baud: None }))
            .collect();
        found.extend(probed);
        Ok(Detection { configured, found })
    }

    /// Writes `ports` into the configuration file (see [`write_ports`]).
    pub fn apply(&self, ports: &[(Device, Port)]) -> Result<(), String> {
        let path = self.config_path.as_deref().ok_or("this terminal runs without a configuration file")?;
        write_ports(path, ports)
    }
}

/// At most this much of a line from a tool goes on the screen.
fn clip(s: &str) -> String {
    s.chars().take(160).collect()
}

/// The receipt from the record in `data_dir`. No record, or one of an install that
/// never printed its receipt, is "no install record"; one that cannot be read is said as such.
pub fn reprint_document(
    data_dir: &Path,
    central_url: &str,
    now: time::OffsetDateTime,
) -> Result<printer::Document, ReprintProblem> {
    let record = InstallState::load(data_dir).map_err(|e| {
        tracing::warn!(error = %e, "maintenance: install record unreadable");
        ReprintProblem::RecordUnreadable
    })?;
    let printed_at = contract::china_time::date_time_zh(now);
    install_record::reprint(&record, central_url, &printed_at).map_err(|_| ReprintProblem::NoInstallRecord)
}

/// `kiosk-provision detect --json`'s report, as much of it as re-detection needs.
#[derive(Deserialize)]
struct Report {
    serial: Vec<PortReport>,
    #[serde(default)]
    usb_printers: Vec<PortReport>,
    #[serde(default)]
    tcp_printers: Vec<PortReport>,
    #[serde(default)]
    cameras: Vec<String>,
}

#[derive(Deserialize)]
struct PortReport {
    port: String,
    found: String,
    #[serde(default)]
    baud: Option<u32>,
}

/// The devices in a report, best first for each: readers on serial lines; printers on
/// USB, then TCP, then serial (the order `detect` suggests them in); cameras as listed.
pub fn parse_report(stdout: &[u8]) -> Result<Vec<(Device, Port)>, String> {
    let report: Report = serde_json::from_slice(stdout).map_err(|e| clip(&e.to_string()))?;
    let port = |r: &PortReport| Port { path: r.port.clone(), baud: r.baud };
    let readers = report.serial.iter().filter(|r| r.found == "reader").map(|r| (Device::Reader, port(r)));
    let printers = report
        .usb_printers
        .iter()
        .chain(&report.tcp_printers)
        .chain(&report.serial)
        .filter(|r| r.found == "printer")
        .map(|r| (Device::Printer, port(r)));
    let cameras = report.cameras.iter().map(|c| (Device::Camera, Port { path: c.clone(), baud: None }));
    Ok(readers.chain(printers).chain(cameras).collect())
}

/// The `[devices]` keys a device's port is written to; `None` removes the key.
fn keys(device: Device, port: &Port) -> Vec<(&'static str, Option<toml_edit::Value>)> {
    let path = Some(toml_edit::Value::from(port.path.as_str()));
    let baud = port.baud.map(|b| toml_edit::Value::from(i64::from(b)));
    match device {
        Device::Reader => {
            let mut k = vec![("reader_port", path)];
            // No speed found: the configured one stays.
            if baud.is_some() {
                k.push(("reader_baud", baud));
            }
            k
        }
        // A printer on USB or TCP has no line speed: a stale one must not stay.
        Device::Printer => vec![("printer", path), ("printer_baud", baud)],
        Device::Camera => vec![("camera", path)],
        _ => Vec::new(),
    }
}

/// The configuration's text with `ports` set in `[devices]` (the table made if missing),
/// everything else (comments, order, the other sections) kept as written: `toml_edit`
/// edits the document rather than re-serialising it. A text that is no TOML is refused.
pub fn set_ports(text: &str, ports: &[(Device, Port)]) -> Result<String, String> {
    let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("not TOML: {e}"))?;
    let fresh = !doc.contains_key("devices");
    let devices =
        doc.entry("devices").or_insert_with(toml_edit::table).as_table_mut().ok_or("`devices` is not a table")?;
    if fresh && !text.is_empty() {
        devices.decor_mut().set_prefix("\n");
    }
    for (key, value) in ports.iter().flat_map(|(d, p)| keys(*d, p)) {
        match value {
            Some(v) => {
                devices.insert(key, toml_edit::value(v));
            }
            None => {
                devices.remove(key);
            }
        }
    }
    Ok(doc.to_string())
}

/// Rewrites the configuration with `ports`: checked by the kiosk's own loader first (a
/// configuration the kiosk would refuse is never written), the old file kept as
/// `<name>.bak`, the new one written beside it, synced and renamed over it, so a power
/// cut leaves the old or the new file, never half of one.
pub fn write_ports(path: &Path, ports: &[(Device, Port)]) -> Result<(), String> {
    let shown = path.display();
    let old = std::fs::read_to_string(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let new = set_ports(&old, ports).map_err(|e| format!("{shown}: {e}; it is unchanged"))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "kiosk.toml".into());
    let tmp = dir.join(format!(".{name}.new"));
    let write = || -> std::io::Result<()> {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(new.as_bytes())?;
        f.sync_all()?;
        // The configuration holds the PIN's hash: keep the old file's permissions.
        std::fs::set_permissions(&tmp, std::fs::metadata(path)?.permissions())?;
        Ok(())
    };
    write().map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    if let Err(e) = crate::config::Config::load(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(format!("the new configuration would not load ({e}); {shown} is unchanged"));
    }
    let commit = || -> std::io::Result<()> {
        std::fs::copy(path, dir.join(format!("{name}.bak")))?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    commit().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot replace {shown}: {e}")
    })
}

#[cfg(test)]
mod tests;
