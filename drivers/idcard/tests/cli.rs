//! The `idcard` command: decode from a file, read through a simulated pty, exit codes.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use idcard::frame::{CardBlocks, Reply, Status};
use idcard::sim::load_cards;

const BIN: &str = env!("CARGO_BIN_EXE_idcard");
const CARDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cards.toml");

fn captured_reply(label: &str) -> Vec<u8> {
    let cards = load_cards(&std::fs::read_to_string(CARDS).unwrap()).unwrap();
    let card = cards.into_iter().find(|c| c.label == label).unwrap();
    let blocks = CardBlocks { text: card.text_block(), photo: card.photo(), fingerprint: None };
    Reply::new(Status::Ok, blocks.encode()).encode().unwrap()
}

#[test]
fn decode_prints_masked_json_from_a_capture_with_leading_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("capture.bin");
    let mut bytes = vec![0x00, 0x13, 0xAA, 0x96];
    bytes.extend(captured_reply("resident-longterm"));
    std::fs::write(&file, &bytes).unwrap();
    let out = Command::new(BIN).args(["decode", "--json"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["id_number"], "1101**********002X");
    assert_eq!(v["name"], "李*");
    assert!(v["valid_until"].is_null());
    let out = Command::new(BIN).args(["decode", "--json", "--reveal"]).arg(&file).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["id_number"], "11010519491231002X");
}

#[test]
fn decode_of_a_file_without_a_card_reply_exits_6_and_says_what_to_capture() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("noise.bin");
    std::fs::write(&file, [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x04, 0x00, 0x00, 0x80, 0x84, 1, 2, 3]).unwrap();
    let out = Command::new(BIN).arg("decode").arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(String::from_utf8_lossy(&out.stderr).contains("capture the reader's reply to 30 01"));
}

#[test]
fn read_on_a_missing_port_exits_3_with_advice() {
    let out = Command::new(BIN).args(["read", "--port", "/nonexistent/ttyUSB9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("check the device path"));
}

struct Sim(Child);
impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn simulate(link: &std::path::Path, extra: &[&str]) -> Sim {
    let mut child = Command::new(BIN)
        .args(["simulate", "--cards", CARDS, "--link"])
        .arg(link)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), link.to_str().unwrap(), "simulate prints the pty path first");
    Sim(child)
}

#[test]
fn read_through_the_simulated_pty_prints_the_card() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("tty");
    let _sim = simulate(&link, &["--place", "hk-mo-tw"]);
    let out = Command::new(BIN).args(["read", "--json", "--port"]).arg(&link).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["card_type"], "hk_mo_tw");
    assert_eq!(v["id_number"], "8100**********0029");
    assert_eq!(v["id_number_valid"], true);
}

#[test]
fn read_with_an_empty_reader_exits_4() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("tty");
    let _sim = simulate(&link, &["--place", "none"]);
    let out = Command::new(BIN).args(["read", "--wait", "1", "--port"]).arg(&link).output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&out.stderr).contains("place the card"));
}

#[test]
fn read_from_a_port_where_nothing_answers_exits_3_and_suggests_the_baud() {
    // A pty with nobody on the other side behaves like a cable to a dead reader.
    let pty = nix::pty::openpty(None, None).unwrap();
    let path = nix::unistd::ttyname(&pty.slave).unwrap();
    let out = Command::new(BIN).args(["read", "--port"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no reader answered") && err.contains("try --baud 9600"), "{err}");
}

#[test]
fn simulate_rejects_a_bad_cards_file_with_exit_7() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[[card]]\nlabel='x'\ncard_type='passport'\n").unwrap();
    let out = Command::new(BIN).args(["simulate", "--cards"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn watch_prints_events_as_the_simulated_card_comes_and_goes() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("tty");
    let mut sim = Command::new(BIN)
        .args(["simulate", "--baud", "0", "--place", "none", "--cards", CARDS, "--link"])
        .arg(&link)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut sim_out = BufReader::new(sim.stdout.take().unwrap());
    let mut sim_in = sim.stdin.take().unwrap();
    let _sim = Sim(sim);
    let mut line = String::new();
    sim_out.read_line(&mut line).unwrap();
    let mut watch = Command::new(BIN)
        .args(["watch", "--poll-ms", "50", "--port"])
        .arg(&link)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let _watch = Sim(watch);
    assert!(lines.next().unwrap().unwrap().starts_with("reader connected"));
    writeln!(sim_in, "place resident-expired").unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "card presented:");
    let block: Vec<String> = lines.by_ref().take(8).map(Result::unwrap).collect();
    assert!(block.iter().any(|l| l.contains("4405**********0014")), "{block:?}");
    assert!(!block.iter().any(|l| l.contains("王五")), "masked by default");
    writeln!(sim_in, "remove").unwrap();
    assert!(lines.any(|l| l.unwrap() == "card removed"));
}
