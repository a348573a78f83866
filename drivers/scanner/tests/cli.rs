//! The `scanner` command: classify with exit codes, and watch a simulated scanner.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_scanner");

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn classify_says_what_a_scan_is_and_exits_6_for_foreign_codes() {
    let out = Command::new(BIN).args(["classify", "QC-20261121-0004837"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "tracking number QC-20261121-0004837");
    let out = Command::new(BIN)
        .args(["classify", "https://c.example/verify/ABCD", "--verify-base-url", "https://c.example/verify/"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "verify code ABCD");
    let out = Command::new(BIN).args(["classify", "6901234567892"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rejected: not a tracking number"));
}

#[test]
fn watch_on_a_missing_port_exits_3_with_advice() {
    let out = Command::new(BIN).args(["watch", "--port", "/nonexistent/ttyACM9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("check the device path"));
}

#[test]
fn watch_prints_the_scans_a_simulated_scanner_sends_and_ignores_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyACM");
    let mut sim = Command::new(BIN)
        .args(["simulate", "--link"])
        .arg(&link)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sim_in = sim.stdin.take().unwrap();
    let mut line = String::new();
    BufReader::new(sim.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let _sim = Killed(sim);
    assert_eq!(line.trim(), link.to_str().unwrap());
    let mut watch = Command::new(BIN).args(["watch", "--port"]).arg(&link).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let _watch = Killed(watch);
    assert_eq!(lines.next().unwrap().unwrap(), "scanner connected");
    writeln!(sim_in, "not a receipt").unwrap();
    writeln!(sim_in, "202611210004837").unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "tracking number 202611210004837");
}
