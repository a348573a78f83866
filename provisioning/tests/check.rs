//! `kiosk-provision check` against a kiosk configuration and real simulated devices on
//! pseudo-terminals: exit codes, and messages that name the key and the value to set.

#![allow(clippy::unwrap_used, clippy::panic)]

mod support;

use std::time::Duration;

use support::{Line, SimReader, VirtualPrinterDevice, config, run, text};

const LIMIT: Duration = Duration::from_secs(60);

/// A camera node stand-in: `check` only looks for the node, it never opens a camera.
fn camera(dir: &std::path::Path) -> String {
    let path = dir.join("video0");
    std::fs::write(&path, b"").unwrap();
    path.display().to_string()
}

fn check(config_path: &str) -> (i32, String, String) {
    // A generous per-attempt wait: a loaded machine must not turn a slow reply into "no answer".
    let (out, _) = run(&["check", "--only", "--attempt-ms", "600", "--config", config_path], LIMIT);
    eprintln!("{}{}", text(&out.stdout), text(&out.stderr));
    (out.status.code().unwrap(), text(&out.stdout), text(&out.stderr))
}

#[test]
fn swapped_reader_and_printer_ports_name_both_keys_and_the_right_values() {
    let dir = tempfile::tempdir().unwrap();
    let reader = Line::serve(SimReader::new(115_200), 115_200);
    let (device, _control) = VirtualPrinterDevice::new();
    let printer = Line::serve(device, 9_600);
    let (r, p) = (reader.path(), printer.path());
    let devices = format!(
        "reader_port = \"{p}\"\nreader_baud = 115200\nprinter = \"{r}\"\ncamera = \"{}\"\n",
        camera(dir.path())
    );
    let (code, out, _) = check(&config(dir.path(), &devices));
    assert_eq!(code, 1, "{out}");
    let reader_fix = format!(
        "devices.reader_port = \"{p}\": a receipt printer answers there; the ID card reader answers on {r} at 115200 baud — set devices.reader_port = \"{r}\""
    );
    assert!(out.contains(&reader_fix), "{out}");
    let printer_fix = format!("devices.printer = \"{r}\": an ID card reader answers there");
    assert!(out.contains(&printer_fix), "{out}");
    assert!(out.contains(&format!("the receipt printer answers on {p} at 9600 baud (paper ok")), "{out}");
    assert!(out.contains(&format!("— set devices.printer = \"{p}\"")), "{out}");
    assert!(out.contains("devices.printer_baud = 9600"), "{out}");
    assert!(out.contains("ok   devices.camera"), "{out}");
}

#[test]
fn reader_at_9600_configured_at_115200_names_the_baud_to_set() {
    let dir = tempfile::tempdir().unwrap();
    let reader = Line::serve(SimReader::new(9_600), 9_600);
    let (device, _control) = VirtualPrinterDevice::new();
    let printer = Line::serve(device, 115_200);
    let devices = format!(
        "reader_port = \"{}\"\nreader_baud = 115200\nprinter = \"{}\"\nprinter_baud = 115200\ncamera = \"{}\"\n",
        reader.path(),
        printer.path(),
        camera(dir.path())
    );
    let (code, out, _) = check(&config(dir.path(), &devices));
    assert_eq!(code, 1, "{out}");
    let want = format!(
        "devices.reader_baud = 115200: the ID card reader on {} answers at 9600 baud — set devices.reader_baud = 9600",
        reader.path()
    );
    assert!(out.contains(&want), "{out}");
    assert!(out.contains(&format!("ok   devices.printer = \"{}\"", printer.path())), "{out}");
}

#[test]
fn correct_configuration_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let reader = Line::serve(SimReader::new(57_600), 57_600);
    let (device, _control) = VirtualPrinterDevice::new();
    let printer = Line::serve(device, 19_200);
    let devices = format!(
        "reader_port = \"{}\"\nreader_baud = 57600\nprinter = \"{}\"\nprinter_baud = 19200\ncamera = \"{}\"\n",
        reader.path(),
        printer.path(),
        camera(dir.path())
    );
    let (code, out, _) = check(&config(dir.path(), &devices));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ID card reader answers at 57600 baud, SAM 05012026112153494D2D53414D2D3031"), "{out}");
    assert!(out.contains("receipt printer (ESC/POS), 19200 baud, paper ok"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn missing_camera_node_and_unset_printer_are_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let reader = Line::serve(SimReader::new(115_200), 115_200);
    let devices =
        format!("reader_port = \"{}\"\ncamera = \"{}\"\n", reader.path(), dir.path().join("video7").display());
    let (code, out, _) = check(&config(dir.path(), &devices));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL devices.printer is not set"), "{out}");
    assert!(
        out.contains(&format!(
            "FAIL devices.camera = \"{}\": no such device node",
            dir.path().join("video7").display()
        )),
        "{out}"
    );
}

#[test]
fn invalid_reader_baud_is_a_bad_config_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = check(&config(dir.path(), "reader_port = \"/dev/ttyUSB0\"\nreader_baud = 12345\n"));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("devices.reader_baud"), "{err}");
    assert!(out.is_empty(), "nothing is probed with a bad config: {out}");
}

#[test]
fn unknown_key_is_a_bad_config_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = check(&config(dir.path(), "reader_speed = 9600\n"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("reader_speed"), "{err}");
}

#[test]
fn missing_config_file_is_a_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = check(&dir.path().join("nope.toml").display().to_string());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nope.toml"), "{err}");
}

#[test]
fn network_printer_that_answers_passes_and_one_that_is_gone_fails() {
    let dir = tempfile::tempdir().unwrap();
    let reader = Line::serve(SimReader::new(115_200), 115_200);
    let vp = printer::virtual_printer::VirtualPrinter::new(printer::Profile::KIOSK_80);
    let server = vp.serve_tcp("127.0.0.1:0").unwrap();
    let cam = camera(dir.path());
    let devices =
        |target: &str| format!("reader_port = \"{}\"\nprinter = \"{target}\"\ncamera = \"{cam}\"\n", reader.path());
    let (code, out, _) = check(&config(dir.path(), &devices(&format!("tcp://{}", server.local_addr()))));
    assert_eq!(code, 0, "{out}");
    let gone = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let (code, out, _) = check(&config(dir.path(), &devices(&format!("tcp://{gone}"))));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("FAIL devices.printer = \"tcp://{gone}\": it cannot be opened")), "{out}");
}

#[test]
fn a_serial_printer_without_its_line_speed_or_at_another_names_printer_baud() {
    let dir = tempfile::tempdir().unwrap();
    let reader = Line::serve(SimReader::new(115_200), 115_200);
    let (device, _control) = VirtualPrinterDevice::new();
    let printer = Line::serve(device, 38_400);
    let devices = |baud: &str| {
        format!(
            "reader_port = \"{}\"\nprinter = \"{}\"\n{baud}camera = \"{}\"\n",
            reader.path(),
            printer.path(),
            camera(dir.path())
        )
    };
    let (code, out, _) = check(&config(dir.path(), &devices("")));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("a serial printer needs its line speed — set devices.printer_baud = 38400"), "{out}");
    let (code, out, _) = check(&config(dir.path(), &devices("printer_baud = 9600\n")));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("but devices.printer_baud = 9600: it answers at 38400 baud — set devices.printer_baud = 38400"),
        "{out}"
    );
    let (code, out, _) = check(&config(dir.path(), &devices("printer_baud = 38400\n")));
    assert_eq!(code, 0, "{out}");
}
