//! The `sscard` command against `sscard simulate`, the real pcscd and vpcd: read with the
//! fixed keys, masking, the reader choice, exit codes and their advice, readers, watch.

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)] // test helpers may fail loudly

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use sscard::harness::{self, ReaderLease};

const BIN: &str = env!("CARGO_BIN_EXE_sscard");
const CARDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cards.toml");

/// A child process killed when the test ends, pass or fail.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Sim {
    _process: Killed,
    stdin: ChildStdin,
    /// Kept open: the simulator answers every command on it.
    _stdout: BufReader<std::process::ChildStdout>,
}

/// `sscard simulate` on the leased reader with `insert` in it; waits until pcscd sees it.
/// On a loaded machine vpcd can take a while to take a new card connection after the
/// previous test's simulator was killed: one more start of the simulator is allowed
/// before the test fails.
fn simulate(lease: &ReaderLease, insert: &str) -> Sim {
    let mut last_error = None;
    for _ in 0..2 {
        let mut child = Command::new(BIN)
            .args(["simulate", "--cards", CARDS, "--reader", &lease.index.to_string(), "--insert", insert])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut line).unwrap();
        assert_eq!(
            line.trim(),
            format!("{} (127.0.0.1:{})", lease.name, lease.port),
            "simulate names its reader first"
        );
        let stdin = child.stdin.take().unwrap();
        let sim = Sim { _process: Killed(child), stdin, _stdout: stdout };
        if insert == "none" {
            return sim;
        }
        match lease.wait_card(true, Duration::from_secs(20)) {
            Ok(()) => return sim,
            Err(e) => {
                eprintln!("pcscd did not see the simulated card: {e}; starting the simulator again");
                last_error = Some(e);
            }
        }
    }
    panic!("pcscd never saw the simulated card: {last_error:?}")
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn read_prints_the_issues_json_keys_masked_and_revealed() {
    let pcscd = harness::pcscd().unwrap();
    let lease = pcscd.lease_reader().unwrap();
    let _sim = simulate(&lease, "zhang-xiuying");
    let v = json(&Command::new(BIN).args(["read", "--json", "--reader", &lease.name]).output().unwrap());
    assert_eq!(v["name"], "张**");
    assert_eq!(v["social_security_number"], "1101**********002X");
    assert_eq!(v["card_number"], "B110*0001");
    assert_eq!(v["gender"], "female");
    assert_eq!(v["ethnicity"], "汉");
    assert_eq!(v["birth_date"], "1949-12-31");
    assert_eq!(v["issue_date"], "2020-01-01");
    assert_eq!(v["valid_until"], "2040-01-01");
    assert_eq!(v["region_code"], "110100");
    assert_eq!(v["spec_version"], "3.00");
    assert_eq!(v["social_security_number_valid"], true);
    assert_eq!(v["reader"], lease.name.as_str());
    let v = json(&Command::new(BIN).args(["read", "--json", "--reveal", "--reader", &lease.name]).output().unwrap());
    assert_eq!(
        (v["name"].as_str(), v["social_security_number"].as_str()),
        (Some("张秀英"), Some("11010519491231002X"))
    );
}

#[test]
fn read_without_a_reader_uses_the_first_that_holds_a_card() {
    let pcscd = harness::pcscd().unwrap();
    let (first, second) = (pcscd.lease(0).unwrap(), pcscd.lease(1).unwrap());
    let _empty = simulate(&first, "none");
    let _sim = simulate(&second, "wang-wei");
    let v = json(&Command::new(BIN).args(["read", "--json"]).output().unwrap());
    assert_eq!(v["reader"], second.name.as_str());
    assert_eq!(v["social_security_number"], "4501**********0032");
    let out = Command::new(BIN).arg("read").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("王*") && !text.contains("王伟"), "{text}");
}

#[test]
fn read_with_no_card_exits_4_and_says_how_to_insert_it() {
    let pcscd = harness::pcscd().unwrap();
    let lease = pcscd.lease_reader().unwrap();
    let out = Command::new(BIN).args(["read", "--wait", "1", "--reader", &lease.name]).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no card in") && err.contains("chip first"), "{err}");
}

#[test]
fn read_on_an_unknown_reader_exits_3_and_lists_the_readers() {
    let _pcscd = harness::pcscd().unwrap();
    let out = Command::new(BIN).args(["read", "--reader", "Nonexistent Reader 00 00"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no reader named") && err.contains("Virtual PCD 00 00"), "{err}");
}

#[test]
fn read_without_the_pcsc_service_exits_3_and_says_to_start_pcscd() {
    // libpcsclite finds the daemon through this socket path: nobody listens there.
    let out = Command::new(BIN).arg("read").env("PCSCLITE_CSOCK_NAME", "/nonexistent/pcscd.comm").output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("PC/SC service is not running") && err.contains("pcscd"), "{err}");
}

#[test]
fn a_protected_card_exits_5_naming_the_item() {
    let pcscd = harness::pcscd().unwrap();
    let lease = pcscd.lease_reader().unwrap();
    let _sim = simulate(&lease, "protected");
    let out = Command::new(BIN).args(["read", "--reader", &lease.name]).output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("social security number (EF06 record 1, tag 08)") && err.contains("security module"), "{err}");
}

#[test]
fn readers_lists_vpcds_readers_and_what_is_in_them() {
    let pcscd = harness::pcscd().unwrap();
    let lease = pcscd.lease_reader().unwrap();
    let _sim = simulate(&lease, "li-fushou");
    let out = Command::new(BIN).arg("readers").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.lines().any(|l| l.starts_with(&format!("{}\tcard\tATR 3B 68", lease.name))), "{text}");
}

#[test]
fn simulate_rejects_a_bad_cards_file_with_exit_7() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[[card]]\nlabel='x'\n").unwrap();
    let out = Command::new(BIN).args(["simulate", "--cards"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(7));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid TOML"));
}

#[test]
fn watch_prints_events_as_cards_go_in_and_out() {
    let pcscd = harness::pcscd().unwrap();
    let lease = pcscd.lease_reader().unwrap();
    let mut sim = simulate(&lease, "none");
    let mut watch = Command::new(BIN).args(["watch", "--reader", &lease.name]).stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let _watch = Killed(watch);
    assert_eq!(lines.next().unwrap().unwrap(), format!("watching {}", lease.name));
    writeln!(sim.stdin, "insert expired").unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "card inserted:");
    let block: Vec<String> = lines.by_ref().take(12).map(Result::unwrap).collect();
    assert!(block.iter().any(|l| l.contains("4501**********0026")), "{block:?}");
    assert!(block.iter().any(|l| l.contains("problem:") && l.contains("expired on 2015-03-15")), "{block:?}");
    assert!(!block.iter().any(|l| l.contains("陈丽")), "masked by default");
    writeln!(sim.stdin, "remove").unwrap();
    assert!(lines.any(|l| l.unwrap() == format!("card removed from {}", lease.name)));
}
