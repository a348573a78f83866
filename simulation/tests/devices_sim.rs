//! `kiosk-devices-sim` as another process uses it: the line of addresses it prints, the
//! real idcard driver reading the SAM id through the symlinked pseudo-terminal (opened
//! as another user could), the real printer driver's preflight over TCP, and a clean
//! stop on SIGTERM that takes the symlink away.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_reader_and_printer_answer_their_real_drivers_until_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("kiosk-idcard");
    let mut sim = Command::new(env!("CARGO_BIN_EXE_kiosk-devices-sim"))
        .args(["--reader-link", link.to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(sim.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let addresses: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(addresses["reader"], link.to_str().unwrap());
    let terminal = addresses["reader_terminal"].as_str().unwrap();
    assert_eq!(std::fs::canonicalize(&link).unwrap().to_str().unwrap(), terminal);
    let mode = std::fs::metadata(terminal).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o666, "the kiosk user could not open {terminal}");

    let serial = idcard::SerialLink::open(link.to_str().unwrap(), 115_200).unwrap();
    let mut reader = idcard::CardReader::new(serial);
    // The simulator's default SAM id, as `kiosk-provision detect` prints it.
    assert_eq!(reader.sam_id().unwrap().to_string(), "05012026112153494D2D53414D2D3031");

    let printer_at = addresses["printer"].as_str().unwrap().strip_prefix("tcp://").unwrap();
    let tcp = printer::TcpLink::connect(printer_at).unwrap();
    let mut p = printer::Printer::new(tcp, printer::Profile::KIOSK_80);
    assert_eq!(p.preflight().unwrap().health(), printer::Health::Ok);

    terminate(sim.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = sim.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running 10 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
    assert!(std::fs::symlink_metadata(&link).is_err(), "the reader's symlink outlived the simulator");
}

fn terminate(pid: u32) {
    let status = Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
}
