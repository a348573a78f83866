//! Test support: devices on pseudo-terminals ([`line`]) and running the built binary.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod line;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use line::*;

/// Runs the built `kiosk-provision`; fails the test if it runs past `limit` (it must
/// never hang; the limit is generous, far above the documented bound).
pub fn run(args: &[&str], limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kiosk-provision"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        if child.try_wait().unwrap().is_some() {
            let took = started.elapsed();
            return (child.wait_with_output().unwrap(), took);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("kiosk-provision {args:?} still running after {limit:?}; stdout: {}", text(&out.stdout));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes a kiosk configuration whose `[devices]` section is `devices`.
pub fn config(dir: &Path, devices: &str) -> String {
    let path = dir.join("kiosk.toml");
    let body = format!("[terminal]\ndata_dir = \"{}\"\n\n[devices]\n{devices}", dir.display());
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}
