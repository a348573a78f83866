//! `kiosk-provision detect` against real drivers' simulators on real pseudo-terminals
//! that only pass bytes at the device's own speed.

#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::time::Duration;

use support::{Echo, Line, SAM_HEX, Silent, SimReader, VirtualPrinterDevice, run, text};

/// Far above the documented bound (3.25 s a port): only catches a hang.
const LIMIT: Duration = Duration::from_secs(60);

/// Per-attempt wait for tests that expect a device: generous, so a loaded machine cannot
/// turn a slow reply into "no answer" (the default, 250 ms, is what the silent test uses).
const SLOW_ATTEMPT_MS: &str = "600";

fn detect(port: &str) -> String {
    let (out, took) = run(&["detect", "--only", "--attempt-ms", SLOW_ATTEMPT_MS, "--port", port], LIMIT);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    // Reported, not asserted: timings are measured (examples/probe_timings.rs), never tested.
    eprintln!("detect --port {port} took {took:?}");
    text(&out.stdout)
}

#[test]
fn reader_at_115200_is_found_with_its_sam_id() {
    let line = Line::serve(SimReader::new(115_200), 115_200);
    let out = detect(line.path());
    assert!(out.contains(&format!("{}: ID card reader, SAM {SAM_HEX}, 115200 baud", line.path())), "{out}");
    assert!(out.contains(&format!("reader_port = \"{}\"\nreader_baud = 115200", line.path())), "{out}");
}

#[test]
fn reader_at_9600_is_found_at_9600_not_at_a_faster_speed() {
    let line = Line::serve(SimReader::new(9_600), 9_600);
    let out = detect(line.path());
    assert!(out.contains(&format!("{}: ID card reader, SAM {SAM_HEX}, 9600 baud", line.path())), "{out}");
    assert!(out.contains("reader_baud = 9600"), "{out}");
}

#[test]
fn printer_at_9600_is_found_and_its_paper_out_is_read() {
    let (device, control) = VirtualPrinterDevice::new();
    control.paper_out();
    let line = Line::serve(device, 9_600);
    let out = detect(line.path());
    assert!(out.contains(&format!("{}: receipt printer (ESC/POS), 9600 baud, paper out", line.path())), "{out}");
    assert!(out.contains(&format!("printer = \"{}\"", line.path())), "{out}");
    assert!(out.contains("printer_baud = 9600"), "a serial printer's speed goes into the configuration: {out}");
}

#[test]
fn printer_with_paper_is_ok_and_near_end_is_said() {
    let (device, control) = VirtualPrinterDevice::new();
    let line = Line::serve(device, 38_400);
    assert!(detect(line.path()).contains("receipt printer (ESC/POS), 38400 baud, paper ok"));
    control.set_near_end(true);
    assert!(detect(line.path()).contains("receipt printer (ESC/POS), 38400 baud, paper near end"));
}

#[test]
fn printer_served_by_the_printer_crate_on_its_own_pty_is_found() {
    let vp = printer::virtual_printer::VirtualPrinter::new(printer::Profile::KIOSK_80);
    let server = vp.serve_pty().unwrap();
    let port = server.path().display().to_string();
    let out = detect(&port);
    // Its pty ignores the speed, so the first printer speed tried answers.
    assert!(out.contains(&format!("{port}: receipt printer (ESC/POS), 115200 baud, paper ok")), "{out}");
    assert_eq!(vp.control().receipt_count(), 0, "probing must not print");
}

#[test]
fn silent_port_is_no_answer_within_the_bound() {
    let line = Line::serve(Silent, 9_600);
    let (out, took) = run(&["detect", "--only", "--port", line.path()], LIMIT);
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&format!("{}: no answer", line.path())), "{stdout}");
    assert!(stdout.contains("# reader_port ="), "nothing found stays commented out: {stdout}");
    eprintln!("detect on a silent pty took {took:?}");
}

#[test]
fn echoing_line_is_something_unknown_with_its_bytes() {
    let line = Line::serve(Echo::default(), 115_200);
    let out = detect(line.path());
    let want = "something answered but not a known device (10 bytes of aa aa aa 96 69 00 03 12 ff ee at 115200 baud)";
    assert!(out.contains(&format!("{}: {want}", line.path())), "{out}");
}

#[test]
fn missing_port_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let port = dir.path().join("ttyUSB9").display().to_string();
    let out = detect(&port);
    assert!(out.contains(&format!("{port}: cannot open: ")), "{out}");
}

#[test]
fn json_output_names_each_device_and_the_suggested_section() {
    let reader = Line::serve(SimReader::new(19_200), 19_200);
    let (device, _control) = VirtualPrinterDevice::new();
    let printer = Line::serve(device, 115_200);
    let (out, _) = run(
        &[
            "detect",
            "--only",
            "--attempt-ms",
            SLOW_ATTEMPT_MS,
            "--port",
            reader.path(),
            "--port",
            printer.path(),
            "--json",
        ],
        LIMIT,
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let serial = doc["serial"].as_array().unwrap();
    assert_eq!(serial[0]["port"], reader.path());
    assert_eq!(serial[0]["found"], "reader");
    assert_eq!(serial[0]["baud"], 19_200);
    assert_eq!(serial[0]["sam_id"], SAM_HEX);
    assert_eq!(serial[1]["found"], "printer");
    assert_eq!(serial[1]["paper"], "ok");
    let toml_text = doc["suggested_devices_toml"].as_str().unwrap();
    let table: toml::Table = toml::from_str(toml_text).unwrap();
    assert_eq!(table["devices"]["reader_port"].as_str(), Some(reader.path()));
    assert_eq!(table["devices"]["reader_baud"].as_integer(), Some(19_200));
    assert_eq!(table["devices"]["printer"].as_str(), Some(printer.path()));
}

#[test]
fn network_printer_is_probed_over_tcp() {
    let vp = printer::virtual_printer::VirtualPrinter::new(printer::Profile::KIOSK_80);
    vp.control().set_cover_open(true);
    let server = vp.serve_tcp("127.0.0.1:0").unwrap();
    let target = format!("tcp://{}", server.local_addr());
    let out = detect(&target);
    assert!(out.contains(&format!("{target}: receipt printer (ESC/POS), paper ok, cover open")), "{out}");
    assert!(out.contains(&format!("printer = \"{target}\"")), "{out}");
}
