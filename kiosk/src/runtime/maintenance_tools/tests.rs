#![allow(clippy::unwrap_used)]

use super::*;
use crate::install_record::state::{Devices, Outcome, SelfTestResult, Step};
use crate::runtime::devices::{Reopening, open_printer};
use crate::runtime::escpos_printer::DriverPrinter;
use printer::virtual_printer::VirtualPrinter;
use printer::{Printer, Profile};

const CENTRAL: &str = "https://central.example:8443";

/// 2026-12-05 12:47:00 UTC: 20:47 in China.
fn now() -> time::OffsetDateTime {
    time::macros::datetime!(2026-12-05 12:47:00 UTC)
}

fn installed(dir: &Path) -> InstallState {
    let mut record = InstallState {
        devices: Some(Devices {
            reader_port: "/dev/ttyUSB0".into(),
            reader_baud: 115_200,
            reader_sam: Some("0501".into()),
            printer: "/dev/usb/lp0".into(),
            printer_baud: None,
            camera: Some("/dev/video0".into()),
        }),
        self_tests: vec![SelfTestResult { device: "printer".into(), outcome: Outcome::Passed("printed".into()) }],
        terminal_id: Some("kiosk-7f3a".into()),
        installed_at: Some("2026年11月30日 10:02:11".into()),
        ..InstallState::default()
    };
    Step::ALL.iter().for_each(|s| record.mark_done(*s));
    record.save(dir).unwrap();
    record
}

fn tools(data_dir: &Path, tool: PathBuf) -> MaintenanceTools {
    MaintenanceTools {
        data_dir: data_dir.to_owned(),
        central_url: CENTRAL.into(),
        config_path: None,
        configured: ConfiguredPorts {
            reader: Some("/dev/ttyUSB0".into()),
            printer: Some("/dev/usb/lp0".into()),
            camera: Some("/dev/video0".into()),
        },
        tool,
        detect_args: vec![],
        detect_limit: Duration::from_secs(10),
        restart: Arc::new(|| {}),
    }
}

/// The receipt as the printer crate draws `doc` on a fresh virtual printer.
fn drawn(doc: printer::Document) -> image::GrayImage {
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    let bytes = printer::encode(&doc, &Profile::KIOSK_80, Some(printer::Mode::Native)).unwrap();
    vp.feed(&bytes);
    vp.control().take_receipts().pop().expect("drawn")
}

#[tokio::test]
async fn the_reprint_comes_out_of_the_printer_over_its_serial_line() {
    let dir = tempfile::tempdir().unwrap();
    let record = installed(dir.path());
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    let paper = vp.control();
    let server = vp.serve_pty().unwrap();
    let path = server.path().display().to_string();
    let link = Reopening::new(move || open_printer(&path, Some(115_200)));
    let driver = DriverPrinter::new(Printer::new(link, Profile::KIOSK_80));
    tools(dir.path(), PathBuf::new()).reprint(&driver, now()).await.unwrap();
    let printed = paper.take_receipts();
    assert_eq!(printed.len(), 1, "one receipt, cut");
    // What came out is the install record's receipt, dot for dot, with today's time.
    let expected = crate::install_record::reprint(&record, CENTRAL, "2026年12月05日 20:47:00").unwrap();
    assert!(expected.strings().contains(&"kiosk-7f3a"));
    assert!(printed[0] == drawn(expected), "the printed receipt differs from the install record's");
}

#[tokio::test]
async fn paper_out_during_the_reprint_is_the_printers_problem() {
    let dir = tempfile::tempdir().unwrap();
    installed(dir.path());
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    vp.control().paper_out_after_mm(20.0);
    let driver = DriverPrinter::new(Printer::new(vp.link(), Profile::KIOSK_80));
    let got = tools(dir.path(), PathBuf::new()).reprint(&driver, now()).await;
    assert_eq!(got, Err(ReprintProblem::Printer(session::Problem::PaperOut)));
}

#[tokio::test]
async fn no_record_or_a_damaged_one_prints_nothing_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let vp = VirtualPrinter::new(Profile::KIOSK_80);
    let driver = DriverPrinter::new(Printer::new(vp.link(), Profile::KIOSK_80));
    let t = tools(dir.path(), PathBuf::new());
    assert_eq!(t.reprint(&driver, now()).await, Err(ReprintProblem::NoInstallRecord));
    // An install that stopped before its receipt: nothing true to print either.
    InstallState { terminal_id: Some("kiosk-7f3a".into()), ..InstallState::default() }.save(dir.path()).unwrap();
    assert_eq!(t.reprint(&driver, now()).await, Err(ReprintProblem::NoInstallRecord));
    std::fs::write(dir.path().join(crate::install_record::state::STATE_FILE), b"{ half").unwrap();
    assert_eq!(t.reprint(&driver, now()).await, Err(ReprintProblem::RecordUnreadable));
    assert_eq!(vp.control().receipt_count(), 0);
}

const REPORT: &str = r#"{
  "serial": [
    {"port": "/dev/ttyS0", "found": "no_answer"},
    {"port": "/dev/ttyUSB1", "found": "reader", "baud": 9600, "sam_id": "0501", "sam_status": "90: ok"},
    {"port": "/dev/ttyUSB2", "found": "printer", "baud": 115200, "paper": "ok", "health": "ok"}
  ],
  "usb_printers": [{"port": "/dev/usb/lp1", "found": "printer", "baud": null, "paper": "ok", "health": "ok"}],
  "tcp_printers": [],
  "cameras": ["/dev/video2"],
  "suggested_devices_toml": "[devices]\n",
  "probe_bound_ms_per_serial_port": 3250
}"#;

#[test]
fn the_report_gives_each_device_best_first() {
    let port = |p: &str, baud| Port { path: p.into(), baud };
    assert_eq!(
        parse_report(REPORT.as_bytes()).unwrap(),
        [
            (Device::Reader, port("/dev/ttyUSB1", Some(9600))),
            (Device::Printer, port("/dev/usb/lp1", None)),
            (Device::Printer, port("/dev/ttyUSB2", Some(115_200))),
            (Device::Camera, port("/dev/video2", None)),
        ]
    );
    assert!(parse_report(b"Serial ports (probed in parallel)").is_err());
    assert!(parse_report(b"{\"cameras\": []}").is_err(), "a report without its serial section is not one");
}

/// A stand-in `kiosk-provision`: a shell script (a real process, its output read as the
/// real one's is). It writes its arguments next to itself.
fn script(dir: &Path, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("kiosk-provision");
    std::fs::write(&path, format!("#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/args\"\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[tokio::test]
async fn detection_skips_the_ports_the_kiosk_holds_and_counts_them_as_found() {
    let dir = tempfile::tempdir().unwrap();
    let tool = script(dir.path(), &format!("cat <<'JSON'\n{REPORT}\nJSON"));
    let t = tools(dir.path(), tool);
    let got = t.detect(&[Device::Printer]).await.unwrap();
    let args = std::fs::read_to_string(dir.path().join("args")).unwrap();
    assert_eq!(args.trim(), "detect --json --port /dev/ttyUSB0 --skip /dev/usb/lp0");
    assert_eq!(got.found[0], (Device::Printer, Port { path: "/dev/usb/lp0".into(), baud: None }));
    let checks = session::maintenance::compare(&got);
    assert!(
        matches!(
            &checks[..],
            [
                session::maintenance::PortCheck::Moved { device: Device::Reader, .. },
                session::maintenance::PortCheck::Same { device: Device::Printer, .. },
                session::maintenance::PortCheck::Moved { device: Device::Camera, .. },
            ]
        ),
        "{checks:?}"
    );
}

#[tokio::test]
async fn a_failing_garbled_missing_or_hung_tool_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = tools(dir.path(), dir.path().join("absent"));
    assert_eq!(t.detect(&[]).await, Err(DetectError::ToolMissing));
    t.tool = script(dir.path(), "echo 'kiosk-provision: cannot list serial ports' >&2\nexit 3");
    let Err(DetectError::ToolFailed(why)) = t.detect(&[]).await else { panic!("not a failure") };
    assert!(why.contains("cannot list serial ports") && why.contains('3'), "{why}");
    t.tool = script(dir.path(), "echo 'Serial ports (probed in parallel, at most 3.25 s each):'");
    assert!(matches!(t.detect(&[]).await, Err(DetectError::Unreadable(_))));
    t.tool = script(dir.path(), "sleep 5");
    t.detect_limit = Duration::from_millis(200);
    let started = std::time::Instant::now();
    assert_eq!(t.detect(&[]).await, Err(DetectError::TimedOut));
    assert!(started.elapsed() < Duration::from_secs(3), "the hung tool is not waited for");
}

const CONFIG: &str = "# Written by `kiosk-provision install`.\n\n[terminal]\ndata_dir = \"/var/lib/kiosk\"\n\n\
[devices]\nreader_port = \"/dev/ttyUSB0\"\nreader_baud = 115200\nprinter = \"/dev/ttyUSB1\"\nprinter_baud = 9600\n\
printer_profile = \"80mm\"\n\n[maintenance]\npin_hash = \"x\"\n";

#[test]
fn changed_ports_replace_their_lines_and_keep_the_rest_as_written() {
    let ports = [
        (Device::Reader, Port { path: "/dev/ttyUSB3".into(), baud: Some(9600) }),
        (Device::Printer, Port { path: "/dev/usb/lp0".into(), baud: None }),
        (Device::Camera, Port { path: "/dev/video0".into(), baud: None }),
    ];
    assert_eq!(
        set_ports(CONFIG, &ports).unwrap(),
        "# Written by `kiosk-provision install`.\n\n[terminal]\ndata_dir = \"/var/lib/kiosk\"\n\n\
[devices]\nreader_port = \"/dev/ttyUSB3\"\nreader_baud = 9600\nprinter = \"/dev/usb/lp0\"\n\
printer_profile = \"80mm\"\ncamera = \"/dev/video0\"\n\n[maintenance]\npin_hash = \"x\"\n"
    );
    let bare = set_ports("[terminal]\ndata_dir = \"/d\"\n", &ports[2..]).unwrap();
    assert_eq!(bare, "[terminal]\ndata_dir = \"/d\"\n\n[devices]\ncamera = \"/dev/video0\"\n");
    // Comments on the lines kept stay; a file that is no TOML is not touched.
    let commented = CONFIG.replace("printer_profile = \"80mm\"", "printer_profile = \"80mm\" # the roll in this hall");
    assert!(set_ports(&commented, &ports).unwrap().contains("printer_profile = \"80mm\" # the roll in this hall\n"));
    assert!(set_ports("[devices\nreader_port = ", &ports).unwrap_err().starts_with("not TOML"));
}

#[test]
fn applying_keeps_a_copy_and_writes_a_configuration_the_kiosk_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kiosk.toml");
    let moved = [(Device::Reader, Port { path: "/dev/ttyUSB3".into(), baud: Some(9600) })];
    let mut t = tools(dir.path(), PathBuf::new());
    t.config_path = Some(path.clone());
    // A configuration the kiosk would refuse (here: a PIN hash that is none) is left alone.
    std::fs::write(&path, CONFIG).unwrap();
    let refused = t.apply(&moved).unwrap_err();
    assert!(refused.contains("maintenance.pin_hash") && refused.contains("unchanged"), "{refused}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), CONFIG);
    assert!(!dir.path().join("kiosk.toml.bak").exists(), "nothing replaced, nothing to keep");

    let hash = crate::config::hash_pin("246810").unwrap();
    let config = CONFIG.replace("pin_hash = \"x\"", &format!("pin_hash = \"{hash}\""));
    std::fs::write(&path, &config).unwrap();
    t.apply(&moved).unwrap();
    assert_eq!(std::fs::read_to_string(dir.path().join("kiosk.toml.bak")).unwrap(), config);
    let loaded = crate::config::Config::load(&path).unwrap();
    assert_eq!(loaded.devices.reader_port, Some(PathBuf::from("/dev/ttyUSB3")));
    assert_eq!(loaded.devices.reader_baud, 9600);
    assert_eq!(loaded.devices.printer.as_deref(), Some("/dev/ttyUSB1"), "the rest as it was");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "no temporary file left: {leftovers:?}");
    t.config_path = None;
    assert!(t.apply(&[]).is_err(), "no file, nothing to apply to");
}
