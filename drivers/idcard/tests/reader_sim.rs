//! The blocking reader against the simulator, in memory and over a real pseudo-terminal,
//! including every injected fault.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use std::time::{Duration, Instant};

use idcard::sim::{Fault, SimCard, SimConfig, Simulator, load_cards};
use idcard::{CardReader, CardType, ReadOptions, ReaderError, SerialLink, Status, Timeouts, pipe};

fn cards() -> Vec<SimCard> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cards.toml")).unwrap();
    load_cards(&text).unwrap()
}

/// Unpaced simulator: tests about behaviour, not timing.
fn fast_sim() -> Simulator {
    Simulator::new(cards(), SimConfig { baud: 0, ..SimConfig::default() })
}

const TEST_TIMEOUTS: Timeouts = Timeouts { short: Duration::from_millis(500), read: Duration::from_millis(700) };

fn reader(sim: &Simulator) -> CardReader<idcard::PipeEnd> {
    CardReader::new(sim.control().connect().unwrap()).with_timeouts(TEST_TIMEOUTS)
}

#[test]
fn reads_every_shipped_card_through_the_simulator() {
    let sim = fast_sim();
    let control = sim.control();
    let mut reader = reader(&sim);
    for label in control.labels() {
        control.place(&label);
        let card = reader.read_card().unwrap();
        assert!(card.problems.is_empty(), "{label}: {:?}", card.problems);
        let expected = cards().into_iter().find(|c| c.label == label).unwrap();
        assert_eq!(card.id_number, expected.id_number);
        assert_eq!(card.photo.wlt(), expected.photo().as_slice());
    }
}

#[test]
fn newest_address_is_read_with_the_card() {
    let sim = fast_sim();
    sim.control().place("resident-new-address");
    let card = reader(&sim).read_card().unwrap();
    assert_eq!(card.newest_address.as_deref(), Some("江苏省苏州市示例区新址路20号"));
    sim.control().place("resident");
    let card = reader(&sim).read_card().unwrap();
    assert_eq!(card.newest_address, None, "SW3 91 means no newer address");
}

#[test]
fn fingerprint_read_returns_the_raw_bytes() {
    let sim = fast_sim();
    sim.control().place("resident-new-address");
    let mut reader = reader(&sim).with_options(ReadOptions { fingerprint: true, newest_address: false });
    let card = reader.read_card().unwrap();
    let expected = cards().into_iter().find(|c| c.label == "resident-new-address").unwrap().fingerprint();
    assert_eq!(card.fingerprint.as_deref(), Some(expected.as_slice()));
    assert_eq!(expected.len(), 1024);
}

#[test]
fn empty_reader_reports_no_card() {
    let sim = fast_sim();
    assert!(matches!(reader(&sim).read_card(), Err(ReaderError::NoCard)));
}

#[test]
fn a_card_is_read_once_until_it_is_placed_again() {
    let sim = fast_sim();
    let control = sim.control();
    control.place("resident");
    let mut reader = reader(&sim);
    reader.read_card().unwrap();
    assert!(!reader.find_card().unwrap(), "a read card answers find with 80");
    assert!(reader.select_card().unwrap().is_some(), "but it still answers select while it lies there");
    control.remove();
    assert!(reader.select_card().unwrap().is_none());
    control.place("resident");
    assert!(reader.read_card().is_ok());
}

#[test]
fn sam_id_is_read() {
    let sim = fast_sim();
    let id = reader(&sim).sam_id().unwrap();
    assert_eq!(id.0, SimConfig::default().sam_id);
    assert_eq!(id.to_string().len(), 32);
}

#[test]
fn bit_flip_in_the_reply_is_caught_and_the_read_retried() {
    let sim = fast_sim();
    sim.control().place("resident");
    sim.control().inject(Fault::BitFlip { offset: 500 });
    let card = reader(&sim).read_card().unwrap();
    assert_eq!(card.name, "张三");
    assert_eq!(sim.control().stats().reads, 2, "one garbled reply, one retry");
}

#[test]
fn dropped_bytes_are_caught_and_the_read_retried() {
    let sim = fast_sim();
    sim.control().place("resident-longterm");
    sim.control().inject(Fault::DropBytes { offset: 300, count: 17 });
    let card = reader(&sim).read_card().unwrap();
    assert_eq!(card.id_number, "11010519491231002X");
    assert_eq!(sim.control().stats().reads, 2);
}

#[test]
fn stalled_reply_times_out_and_the_retry_succeeds() {
    let sim = fast_sim();
    sim.control().place("hk-mo-tw");
    sim.control().inject(Fault::Stall(Duration::from_millis(900)));
    let card = reader(&sim).read_card().unwrap();
    assert_eq!(card.card_type, CardType::HkMoTw);
}

#[test]
fn read_failed_status_is_a_typed_error() {
    let sim = fast_sim();
    sim.control().place("resident");
    sim.control().inject(Fault::ReadFailed);
    let err = reader(&sim).read_card().unwrap_err();
    assert!(matches!(err, ReaderError::Status { status: Status::ReadFailed, .. }), "{err}");
    assert!(err.to_string().contains("hold the card flat"));
    // The card was not consumed: the next attempt reads it.
    assert!(reader(&sim).read_card().is_ok());
}

#[test]
fn sam_not_authorised_is_a_sam_fault_cleared_by_reset() {
    let sim = fast_sim();
    sim.control().place("resident");
    sim.control().inject(Fault::SamNotAuthorised);
    let mut reader = reader(&sim);
    let err = reader.read_card().unwrap_err();
    assert!(err.is_sam_fault(), "{err}");
    assert!(err.to_string().contains("not authorised"));
    reader.reset_sam().unwrap();
    assert_eq!(sim.control().stats().sam_resets, 1);
    assert!(reader.read_card().is_ok());
}

#[test]
fn silent_reader_times_out_per_command() {
    let (host, _device_end_that_never_answers) = pipe();
    let mut reader = CardReader::new(host)
        .with_timeouts(Timeouts { short: Duration::from_millis(100), read: Duration::from_millis(300) });
    let started = Instant::now();
    let err = reader.find_card().unwrap_err();
    assert!(matches!(err, ReaderError::NoReply { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20), "must not hang");
    assert!(err.to_string().contains("check the cable"));
}

#[test]
fn vanished_port_is_a_lost_link_and_reconnects_after_return() {
    let sim = fast_sim();
    let control = sim.control();
    control.place("resident");
    let mut reader = reader(&sim);
    control.vanish();
    let err = reader.read_card().unwrap_err();
    assert!(matches!(err, ReaderError::LinkLost(_)), "{err}");
    assert!(control.connect().is_err(), "no port while unplugged");
    assert_eq!(control.refused_connects(), 1);
    control.reappear();
    let mut reader = CardReader::new(control.connect().unwrap()).with_timeouts(TEST_TIMEOUTS);
    assert!(reader.read_card().is_ok());
}

#[test]
fn reads_a_card_over_a_pseudo_terminal_with_the_serial_link() {
    let sim = Simulator::new(cards(), SimConfig::default());
    sim.control().place("foreigner-2017");
    let dir = tempfile::tempdir().unwrap();
    let server = sim.serve_pty(&dir.path().join("ttySIM")).unwrap();
    let port = SerialLink::open(server.path().to_str().unwrap(), 115_200).unwrap();
    let mut reader = CardReader::new(port);
    reader.sam_status().unwrap();
    let card = reader.read_card().unwrap();
    assert_eq!(card.card_type, CardType::Foreigner2017);
    assert!(card.id_number_valid());
}

#[test]
fn pty_port_vanishing_takes_the_path_away_and_brings_it_back() {
    let sim = Simulator::new(cards(), SimConfig { baud: 0, ..SimConfig::default() });
    let control = sim.control();
    control.place("resident");
    let dir = tempfile::tempdir().unwrap();
    let server = sim.serve_pty(&dir.path().join("ttySIM")).unwrap();
    let path = server.path().to_str().unwrap().to_string();
    let mut reader = CardReader::new(SerialLink::open(&path, 115_200).unwrap()).with_timeouts(TEST_TIMEOUTS);
    reader.sam_status().unwrap();
    control.vanish();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::path::Path::new(&path).exists() {
        assert!(Instant::now() < deadline, "path never went away");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(reader.sam_status().is_err());
    control.reappear();
    let reopened = loop {
        if let Ok(t) = SerialLink::open(&path, 115_200) {
            break t;
        }
        assert!(Instant::now() < deadline, "path never came back");
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut reader = CardReader::new(reopened).with_timeouts(TEST_TIMEOUTS);
    assert_eq!(reader.read_card().unwrap().name, "张三");
}

#[test]
fn simulated_wire_is_never_faster_than_the_baud_rate_plus_sam_delay() {
    // A lower bound only: the simulator may be slower on a loaded machine, never faster.
    let sam_delay = Duration::from_millis(50);
    let sim = Simulator::new(cards(), SimConfig { baud: 115_200, sam_delay, ..SimConfig::default() });
    sim.control().place("resident");
    let mut reader = CardReader::new(sim.control().connect().unwrap())
        .with_options(ReadOptions { fingerprint: false, newest_address: false });
    assert!(reader.find_card().unwrap());
    assert!(reader.select_card().unwrap().is_some());
    let started = Instant::now();
    reader.read_selected().unwrap();
    let floor = idcard::sim::wire_time(10 + 1295, 115_200) + sam_delay;
    assert!(started.elapsed() >= floor, "{:?} < {floor:?}", started.elapsed());
    assert_eq!(idcard::sim::wire_time(1295, 115_200).as_millis(), 112);
    assert_eq!(idcard::sim::wire_time(2321, 9_600).as_millis(), 2417);
}

#[test]
fn baud_change_command_is_acknowledged_and_slows_the_wire() {
    let sim = Simulator::new(cards(), SimConfig::default());
    sim.control().place("resident");
    let mut reader = CardReader::new(sim.control().connect().unwrap())
        .with_options(ReadOptions { fingerprint: false, newest_address: false })
        .with_timeouts(Timeouts { short: Duration::from_secs(5), read: Duration::from_secs(10) });
    let reply =
        reader.transact(idcard::Command::SetBaud(idcard::frame::BaudRate::B9600), Duration::from_secs(5)).unwrap();
    assert_eq!(reply.status, Status::Ok);
    let started = Instant::now();
    reader.read_card().unwrap();
    assert!(started.elapsed() >= idcard::sim::wire_time(1295, 9_600));
}
