//! The kiosk's maintenance screen re-detects its devices by running this crate's
//! `kiosk-provision detect --json`: the kiosk's own adapter
//! (`kiosk::runtime::maintenance_tools`) against the built binary, with the devices
//! simulated on pseudo-terminals, and the ports it found written to a configuration the
//! kiosk loads.

#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kiosk::runtime::maintenance_tools::{ConfiguredPorts, MaintenanceTools};
use session::Device;
use session::maintenance::{Port, PortCheck, compare};
use support::{Line, SimReader, VirtualPrinterDevice};

fn tools(dir: &std::path::Path, configured: ConfiguredPorts, detect_args: Vec<String>) -> MaintenanceTools {
    MaintenanceTools {
        data_dir: dir.to_owned(),
        central_url: "https://central.example".into(),
        config_path: Some(dir.join("kiosk.toml")),
        configured,
        tool: PathBuf::from(env!("CARGO_BIN_EXE_kiosk-provision")),
        detect_args,
        detect_limit: Duration::from_secs(60),
        restart: Arc::new(|| {}),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reader_on_another_port_is_found_the_working_printer_left_alone_and_the_change_written() {
    let dir = tempfile::tempdir().unwrap();
    // The reader was on a port that is gone; it now answers on a new one, at 9600.
    let reader = Line::serve(SimReader::new(9_600), 9_600);
    let (printer, paper) = VirtualPrinterDevice::new();
    let printer = Line::serve(printer, 9_600);
    let old_reader = dir.path().join("ttyUSB9").display().to_string();
    let configured =
        ConfiguredPorts { reader: Some(old_reader.clone()), printer: Some(printer.path().to_owned()), camera: None };
    // `--only`: the build machine's own serial ports are not this terminal's.
    let args = ["--only", "--attempt-ms", "600", "--port", reader.path()].map(String::from).to_vec();
    let t = tools(dir.path(), configured, args);
    // The printer answers its status polls: the kiosk holds its port.
    let detection = t.detect(&[Device::Printer]).await.unwrap();
    assert_eq!(paper.bytes_received(), 0, "the held printer's line was not probed");
    let checks = compare(&detection);
    let found = Port { path: reader.path().to_owned(), baud: Some(9_600) };
    assert_eq!(
        checks,
        [
            PortCheck::Moved { device: Device::Reader, from: old_reader, to: found.clone() },
            PortCheck::Same { device: Device::Printer, path: printer.path().to_owned() },
        ]
    );

    let path = support::config(dir.path(), "reader_port = \"/dev/ttyUSB9\"\nprinter = \"/dev/usb/lp0\"\n");
    let config = std::fs::read_to_string(&path).unwrap();
    t.apply(&[(Device::Reader, found)]).unwrap();
    let loaded = kiosk::config::Config::load(&dir.path().join("kiosk.toml")).unwrap();
    assert_eq!(loaded.devices.reader_port, Some(PathBuf::from(reader.path())));
    assert_eq!(loaded.devices.reader_baud, 9_600);
    assert_eq!(std::fs::read_to_string(dir.path().join("kiosk.toml.bak")).unwrap(), config);
}

#[tokio::test(flavor = "multi_thread")]
async fn nothing_answering_is_an_empty_finding_not_an_error_of_the_tool() {
    let dir = tempfile::tempdir().unwrap();
    let silent = Line::serve(support::Silent, 115_200);
    let configured = ConfiguredPorts { reader: Some(silent.path().to_owned()), printer: None, camera: None };
    let t = tools(dir.path(), configured, vec!["--only".into()]);
    let detection = t.detect(&[]).await.unwrap();
    // Cameras are listed from /dev; the build machines have none.
    let devices: Vec<_> = detection.found.iter().map(|(d, _)| *d).filter(|d| *d != Device::Camera).collect();
    assert!(devices.is_empty(), "{detection:?}");
}
