//! The `receipt` command end to end.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_receipt");
const CERT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/certificate.json");

fn run(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn encode_then_emulate_gives_the_receipt_png() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("cert.bin");
    run(&["encode", CERT, "--out", bin.to_str().unwrap(), "--profile", "clone-58"]);
    let out = dir.path().join("out");
    run(&["emulate", "--input", bin.to_str().unwrap(), "--out", out.to_str().unwrap(), "--profile", "clone-58"]);
    let png = image::open(out.join("receipt-001.png")).unwrap().to_luma8();
    assert_eq!(png.width(), 384);
    assert_eq!(common::decode_qr(&png), [common::CERT_QR]);
}

#[test]
fn render_in_raster_mode_gives_the_same_paper_as_native() {
    let dir = tempfile::tempdir().unwrap();
    let native = dir.path().join("n.png");
    let raster = dir.path().join("r.png");
    run(&["render", CERT, "--png", native.to_str().unwrap()]);
    run(&["render", CERT, "--png", raster.to_str().unwrap(), "--mode", "raster"]);
    assert_eq!(image::open(native).unwrap().to_luma8(), image::open(raster).unwrap().to_luma8());
}

#[test]
fn unknown_profile_is_refused_with_the_known_ones_listed() {
    let out = Command::new(BIN).args(["encode", CERT, "--out", "/dev/null", "--profile", "tm-xyz"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("kiosk-80"));
}

#[test]
fn emulate_pty_prints_its_path_and_saves_what_it_gets() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["emulate", "--pty", "--out", dir.path().to_str().unwrap()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let path = lines.next().unwrap().unwrap();
    // Print through the printer's serial port with the status command and raw bytes.
    let status = Command::new(BIN).args(["status", "--port", &path, "--json"]).output().unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains(r#""health":"ok""#), "{status:?}");
    let mut tty = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    tty.write_all(b"\x1b@hello\n\x1dV\x00").unwrap();
    let png = dir.path().join("receipt-001.png");
    let start = Instant::now();
    while !png.exists() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(png.exists());
}
