//! The real driver against the real pcscd and the real vsmartcard-vpcd driver, with the
//! simulator playing the cards: every card, a card pulled mid-read, a protected item, a
//! blocked card, 6Cxx answers, card in/out without command polling, the card's connection
//! closed and reopened, a reader that is not there, and pcscd killed and started again.
//!
//! The rig (`sscard::harness`) starts pcscd when none runs and leases one virtual reader
//! per test (file locks: nextest runs tests in separate processes).

#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)] // test helpers may fail loudly

use std::time::{Duration, Instant};

use sscard::harness::{self, Pcscd, ReaderLease};
use sscard::sim::{Simulator, load_cards};
use sscard::watch::FaultKind;
use sscard::{Item, ReadError, StatusWord, WatchConfig, WatchEvent, WatchHandle};
use tokio::sync::mpsc::Receiver;

fn rig() -> (Pcscd, ReaderLease) {
    let pcscd = harness::pcscd().expect("the test rig needs pcscd with vpcd");
    let lease = pcscd.lease_reader().expect("a virtual reader");
    (pcscd, lease)
}

fn simulator(lease: &ReaderLease) -> Simulator {
    Simulator::start(load_cards(include_str!("../testdata/cards.toml")).unwrap(), lease.port)
}

fn config(lease: &ReaderLease) -> WatchConfig {
    WatchConfig {
        reader: Some(lease.name.clone()),
        reconnect_interval: Duration::from_millis(200),
        wait_slice: Duration::from_millis(500),
        ..WatchConfig::default()
    }
}

fn start(lease: &ReaderLease) -> (WatchHandle, Receiver<WatchEvent>) {
    let (handle, mut rx) = sscard::watch(config(lease));
    match next(&mut rx) {
        WatchEvent::Ready { readers } => assert_eq!(readers, vec![lease.name.clone()]),
        other => panic!("expected Ready, got {other:?}"),
    }
    (handle, rx)
}

/// The next event; a generous limit so a loaded machine cannot flake, but a hang fails.
fn next(rx: &mut Receiver<WatchEvent>) -> WatchEvent {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match rx.try_recv() {
            Ok(e) => return e,
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("no event: {e:?}"),
        }
    }
}

fn inserted(rx: &mut Receiver<WatchEvent>) -> Box<sscard::SsCard> {
    match next(rx) {
        WatchEvent::CardInserted { card, .. } => card,
        other => panic!("expected CardInserted, got {other:?}"),
    }
}

fn removed(rx: &mut Receiver<WatchEvent>) {
    match next(rx) {
        WatchEvent::CardRemoved { .. } => {}
        other => panic!("expected CardRemoved, got {other:?}"),
    }
}

fn read_failed(rx: &mut Receiver<WatchEvent>) -> ReadError {
    match next(rx) {
        WatchEvent::CardReadFailed { error, .. } => error,
        other => panic!("expected CardReadFailed, got {other:?}"),
    }
}

#[test]
fn every_synthetic_card_is_read_through_pcscd_and_vpcd() {
    let (_pcscd, lease) = rig();
    let sim = simulator(&lease);
    let control = sim.control();
    let (_handle, mut rx) = start(&lease);
    for label in control.labels() {
        assert!(control.insert(&label));
        if label == "protected" {
            let e = read_failed(&mut rx);
            assert_eq!(e.refused_item(), Some(Item::SocialSecurityNumber), "{e}");
        } else {
            let card = inserted(&mut rx);
            let expected = load_cards(include_str!("../testdata/cards.toml"))
                .unwrap()
                .into_iter()
                .find(|c| c.label == label)
                .unwrap();
            assert_eq!(card.social_security_number, expected.social_security_number, "{label}");
            assert_eq!(card.name, expected.name, "{label}");
            match label.as_str() {
                "blocked" => assert!(card.is_blocked()),
                "expired" => assert!(card.is_expired()),
                "birth-date-mismatch" => assert!(!card.social_security_number_valid()),
                _ => assert!(card.problems.is_empty(), "{label}: {:?}", card.problems),
            }
        }
        control.remove();
        removed(&mut rx);
    }
}

#[test]
fn a_card_pulled_mid_read_is_a_clean_error_and_the_next_insertion_reads() {
    let (_pcscd, lease) = rig();
    let sim = simulator(&lease);
    let control = sim.control();
    let (_handle, mut rx) = start(&lease);
    control.pull_after(12); // the 12th command reads the name (EF06 record 2)
    control.insert("wang-wei");
    let error = read_failed(&mut rx);
    assert!(error.is_card_removed(), "{error:?}");
    assert!(error.to_string().contains("taken out while reading the name"), "{error}");
    removed(&mut rx);
    assert_eq!(control.stats().pulls, 1);
    control.insert("wang-wei");
    assert_eq!(inserted(&mut rx).name, "王伟");
}

#[test]
fn a_protected_holder_file_names_the_item_and_asks_for_a_security_module() {
    let (_pcscd, lease) = rig();
    let sim = simulator(&lease);
    let (_handle, mut rx) = start(&lease);
    sim.control().insert("protected");
    let error = read_failed(&mut rx);
    assert!(matches!(error, ReadError::Refused { status: StatusWord(0x69, 0x82), .. }), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("social security number (EF06 record 1, tag 08)"), "{text}");
    assert!(text.contains("security module") && text.contains("none is configured"), "{text}");
}

/// EXTERNAL AUTHENTICATE with the simulator's unlock key, through pcscd.
struct TestModule;
impl sscard::SecurityModule for TestModule {
    fn name(&self) -> &str {
        "test PSAM"
    }
    fn authenticate(&mut self, card: &mut dyn sscard::Exchange, _: Item) -> Result<(), sscard::SecurityError> {
        let answer = card
            .exchange(&[0x00, 0x82, 0x00, 0x00, 0x08, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77])
            .map_err(|e| sscard::SecurityError(e.to_string()))?;
        if answer == [0x90, 0x00] { Ok(()) } else { Err(sscard::SecurityError(format!("{answer:02X?}"))) }
    }
}

#[test]
fn a_configured_security_module_unlocks_the_protected_card_through_pcscd() {
    let (_pcscd, lease) = rig();
    let sim = simulator(&lease);
    let (_handle, mut rx) =
        sscard::watch(WatchConfig { security_module: Some(Box::new(TestModule)), ..config(&lease) });
    assert!(matches!(next(&mut rx), WatchEvent::Ready { .. }));
    sim.control().insert("protected");
    assert_eq!(inserted(&mut rx).name, "刘强");
}

#[test]
fn a_blocked_card_is_reported_blocked() {
    let (_pcscd, lease) = rig();
    let sim = simulator(&lease);
    let (_handle, mut rx) = start(&lease);
    sim.control().insert("blocked");
    let card = inserted(&mut rx);
    assert!(card.is_blocked());
    assert!(card.problems[0].to_string().contains("blocked"));
}

#[test]
fn wrong_length_and_t0_answers_are_followed_through_pcscd() {
    let (_pcscd, lease) = rig();
    let sim = simulator(&lease);
    let control = sim.control();
    let (_handle, mut rx) = start(&lease);
    control.insert("t0-wrong-length");
    let card = inserted(&mut rx);
    assert_eq!(card.name, "吴磊");
    assert!(card.problems.is_empty(), "{:?}", card.problems);
    assert_eq!(control.stats().apdus, 3 + 13 * 2 + 1, "every 61 fetched, the name's 6C resent");
}

/// CPU ticks (user + system) used by the thread named `name` in this process.
fn thread_cpu_ticks(name: &str) -> u64 {
    for entry in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = entry.unwrap().path();
        if std::fs::read_to_string(dir.join("comm")).unwrap_or_default().trim() == name {
            let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
            let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
            let fields: Vec<&str> = after_comm.split(' ').collect();
            return fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        }
    }
    panic!("no thread {name}");
}

#[test]
fn card_in_and_out_come_from_reader_states_without_command_polling() {
    let (_pcscd, lease) = rig();
    let sim = simulator(&lease);
    let control = sim.control();
    let (_handle, mut rx) = start(&lease);
    control.insert("zhang-xiuying");
    inserted(&mut rx);
    let (apdus, atrs) = (control.stats().apdus, control.stats().atr_requests);
    let cpu = thread_cpu_ticks("sscard-watch");
    std::thread::sleep(Duration::from_secs(2));
    assert!(rx.try_recv().is_err(), "one event per insertion");
    assert_eq!(control.stats().apdus, apdus, "no command reached the card while it lay in the reader");
    assert!(control.stats().atr_requests > atrs, "pcscd's own presence check (vpcd asks for the ATR) goes on");
    assert!(thread_cpu_ticks("sscard-watch") - cpu < 20, "the watch thread sleeps in SCardGetStatusChange");
    control.remove();
    removed(&mut rx);
}

#[test]
fn a_card_lying_in_the_reader_when_the_task_starts_is_read() {
    let (_pcscd, lease) = rig();
    let sim = simulator(&lease);
    sim.control().insert("li-fushou");
    lease.wait_card(true, Duration::from_secs(30)).unwrap(); // generous: vpcd on a loaded machine
    let (_handle, mut rx) = start(&lease);
    assert_eq!(inserted(&mut rx).name, "李福寿");
}

#[test]
fn the_card_connection_closed_and_reopened_is_removal_then_insertion() {
    let (_pcscd, lease) = rig();
    let (_handle, mut rx) = start(&lease);
    let sim = simulator(&lease);
    sim.control().insert("wang-wei");
    inserted(&mut rx);
    // The whole simulator goes away (its socket closes) and a new one comes back.
    drop(sim);
    removed(&mut rx);
    let sim = simulator(&lease);
    sim.control().insert("wang-wei");
    assert_eq!(inserted(&mut rx).name, "王伟");
}

#[test]
fn a_configured_reader_that_is_not_there_is_a_fault_naming_it() {
    let _pcscd = harness::pcscd().unwrap();
    let (_handle, mut rx) =
        sscard::watch(WatchConfig { reader: Some("Virtual PCD 00 07".into()), ..WatchConfig::default() });
    match next(&mut rx) {
        WatchEvent::ReaderFault { fault: FaultKind::NoReader, detail } => {
            assert!(detail.contains("\"Virtual PCD 00 07\" is not connected"), "{detail}")
        }
        other => panic!("expected a fault, got {other:?}"),
    }
}

#[test]
fn pcscd_killed_and_started_again_is_a_fault_then_recovery_then_the_next_card() {
    let _ = tracing_subscriber::fmt().with_max_level(tracing::Level::INFO).try_init(); // shown when it fails
    let mut pcscd = harness::pcscd_exclusive().expect("the test rig needs pcscd with vpcd");
    let lease = pcscd.lease(0).unwrap();
    let sim = simulator(&lease);
    let control = sim.control();
    let (_handle, mut rx) = start(&lease);
    control.insert("zhang-xiuying");
    inserted(&mut rx);

    pcscd.kill(nix::sys::signal::Signal::SIGKILL).unwrap();
    removed(&mut rx);
    match next(&mut rx) {
        WatchEvent::ReaderFault { fault: FaultKind::ServiceUnavailable, detail } => {
            assert!(detail.contains("pcscd"), "{detail}")
        }
        other => panic!("expected a fault, got {other:?}"),
    }
    // Down for a while: the task waits (establishing a new context) without flooding events.
    std::thread::sleep(Duration::from_millis(800));
    assert!(rx.try_recv().is_err(), "one fault, not one per retry");

    pcscd.start().unwrap();
    match next(&mut rx) {
        WatchEvent::ReaderRecovered { readers } => assert_eq!(readers, vec![lease.name.clone()]),
        other => panic!("expected recovery, got {other:?}"),
    }
    // The card stayed in the reader: it is read again on the new daemon.
    assert_eq!(inserted(&mut rx).name, "张秀英");
    control.insert("li-fushou");
    removed(&mut rx);
    assert_eq!(inserted(&mut rx).name, "李福寿");
}

#[test]
fn stopping_the_task_cancels_its_wait_and_closes_the_channel() {
    let (_pcscd, lease) = rig();
    let (handle, mut rx) = sscard::watch(WatchConfig { wait_slice: Duration::from_secs(60), ..config(&lease) });
    assert!(matches!(next(&mut rx), WatchEvent::Ready { .. }));
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    handle.stop();
    assert!(started.elapsed() < Duration::from_secs(2), "SCardCancel ended the wait");
    assert!(rx.blocking_recv().is_none(), "the channel closes when the task stops");
}
