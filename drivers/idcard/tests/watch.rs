//! The polling task against the simulator: events, read-once, removal, recovery from a
//! vanished port and a failing SAM, and no CPU spent between polls.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers may fail loudly

use std::time::Duration;

use idcard::sim::{Fault, SimConfig, SimControl, Simulator, load_cards};
use idcard::watch::FaultKind;
use idcard::{Link, LinkError, ReaderConfig, ReaderEvent, Timeouts, WatchHandle};
use tokio::sync::mpsc::Receiver;

fn sim() -> Simulator {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cards.toml")).unwrap();
    Simulator::new(load_cards(&text).unwrap(), SimConfig { baud: 0, ..SimConfig::default() })
}

fn config() -> ReaderConfig {
    ReaderConfig {
        poll_interval: Duration::from_millis(20),
        reconnect_interval: Duration::from_millis(20),
        timeouts: Timeouts { short: Duration::from_millis(300), read: Duration::from_millis(600) },
        ..ReaderConfig::default()
    }
}

fn opener(control: SimControl) -> impl FnMut() -> Result<Box<dyn Link>, LinkError> + Send + 'static {
    move || control.connect().map(|t| Box::new(t) as Box<dyn Link>)
}

fn start(sim: &Simulator) -> (WatchHandle, Receiver<ReaderEvent>) {
    let (handle, mut rx) = idcard::watch(opener(sim.control()), config());
    assert!(matches!(next(&mut rx), ReaderEvent::Connected { sam_id: Some(_) }));
    (handle, rx)
}

/// Next event; generous limit so a loaded machine cannot flake, but a hang fails.
fn next(rx: &mut Receiver<ReaderEvent>) -> ReaderEvent {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        match rx.try_recv() {
            Ok(e) => return e,
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => panic!("no event: {e:?}"),
        }
    }
}

/// Waits until the simulator has answered `n` more finds (polls), proving time passed.
fn wait_polls(control: &SimControl, n: u64) {
    let target = control.stats().finds + n;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while control.stats().finds < target {
        assert!(std::time::Instant::now() < deadline, "polling stopped");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn card_lying_on_the_reader_is_presented_once_then_removed() {
    let sim = sim();
    let control = sim.control();
    let (_handle, mut rx) = start(&sim);
    control.place("resident");
    let ReaderEvent::CardPresented(card) = next(&mut rx) else { panic!() };
    assert_eq!(card.name, "张三");
    wait_polls(&control, 10);
    assert!(rx.try_recv().is_err(), "no second event while the card lies there");
    assert_eq!(control.stats().reads, 1, "read once");
    control.remove();
    assert!(matches!(next(&mut rx), ReaderEvent::CardRemoved));
    control.place("resident-longterm");
    let ReaderEvent::CardPresented(card) = next(&mut rx) else { panic!() };
    assert_eq!(card.name, "李四");
}

#[test]
fn card_swapped_between_polls_is_removed_then_presented() {
    let sim = sim();
    let control = sim.control();
    let (_handle, mut rx) = start(&sim);
    control.place("resident");
    assert!(matches!(next(&mut rx), ReaderEvent::CardPresented(_)));
    control.place("hk-mo-tw");
    assert!(matches!(next(&mut rx), ReaderEvent::CardRemoved));
    let ReaderEvent::CardPresented(card) = next(&mut rx) else { panic!() };
    assert_eq!(card.card_type, idcard::CardType::HkMoTw);
}

#[test]
fn unplugged_port_is_a_fault_and_recovers_when_it_returns() {
    let sim = sim();
    let control = sim.control();
    let (handle, mut rx) = start(&sim);
    control.place("resident");
    assert!(matches!(next(&mut rx), ReaderEvent::CardPresented(_)));
    control.vanish();
    assert!(matches!(next(&mut rx), ReaderEvent::CardRemoved));
    let ReaderEvent::ReaderFault { fault, detail } = next(&mut rx) else { panic!() };
    assert_eq!(fault, FaultKind::LinkLost, "{detail}");
    std::thread::sleep(Duration::from_millis(100));
    control.reappear();
    let ReaderEvent::ReaderRecovered { sam_id } = next(&mut rx) else { panic!() };
    assert!(sam_id.is_some());
    assert_eq!(handle.sam_id(), sam_id);
    control.place("resident-expired");
    let ReaderEvent::CardPresented(card) = next(&mut rx) else { panic!() };
    assert_eq!(card.name, "王五");
}

#[test]
fn repeated_sam_failures_reset_the_sam_and_recover() {
    let sim = sim();
    let control = sim.control();
    let (_handle, mut rx) = start(&sim);
    control.inject(Fault::SamNotAuthorised);
    let ReaderEvent::ReaderFault { fault, detail } = next(&mut rx) else { panic!() };
    assert_eq!(fault, FaultKind::Sam);
    assert!(detail.contains("not authorised"), "{detail}");
    assert!(matches!(next(&mut rx), ReaderEvent::ReaderRecovered { .. }));
    assert_eq!(control.stats().sam_resets, 1);
    control.place("resident");
    assert!(matches!(next(&mut rx), ReaderEvent::CardPresented(_)));
}

#[test]
fn failed_read_is_reported_and_retried_on_the_next_poll() {
    let sim = sim();
    let control = sim.control();
    let (_handle, mut rx) = start(&sim);
    control.inject(Fault::ReadFailed);
    control.place("foreigner-2023");
    let ReaderEvent::CardReadFailed { error } = next(&mut rx) else { panic!() };
    assert!(error.contains("41"), "{error}");
    assert!(matches!(next(&mut rx), ReaderEvent::CardPresented(_)));
}

#[test]
fn missing_port_at_start_is_a_fault_until_it_appears() {
    let sim = sim();
    let control = sim.control();
    control.vanish();
    let (_handle, mut rx) = idcard::watch(opener(control.clone()), config());
    let ReaderEvent::ReaderFault { fault, .. } = next(&mut rx) else { panic!() };
    assert_eq!(fault, FaultKind::LinkLost);
    control.reappear();
    assert!(matches!(next(&mut rx), ReaderEvent::ReaderRecovered { .. }));
}

#[test]
fn events_arrive_in_a_tokio_runtime() {
    let sim = sim();
    let control = sim.control();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    runtime.block_on(async {
        let (handle, mut rx) = idcard::watch(opener(control.clone()), config());
        assert!(matches!(rx.recv().await, Some(ReaderEvent::Connected { .. })));
        control.place("resident");
        let event = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await.unwrap();
        assert!(matches!(event, Some(ReaderEvent::CardPresented(_))));
        handle.stop();
        assert!(rx.recv().await.is_none(), "channel closes when the task stops");
    });
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
fn polling_thread_sleeps_between_polls() {
    let sim = sim();
    let control = sim.control();
    let mut config = config();
    config.poll_interval = Duration::from_millis(300);
    let (_handle, mut rx) = idcard::watch(opener(control.clone()), config);
    assert!(matches!(next(&mut rx), ReaderEvent::Connected { .. }));
    let before = thread_cpu_ticks("idcard-reader");
    std::thread::sleep(Duration::from_secs(2));
    let used = thread_cpu_ticks("idcard-reader") - before;
    // A spinning thread would burn ~200 ticks (100 Hz) in 2 s; a sleeping one ~0.
    assert!(used < 40, "polling thread used {used} ticks in 2 s");
    assert!(control.stats().finds <= 12, "{} polls in ~2 s at 300 ms", control.stats().finds);
}

/// A simulator at the production line speed (115200 baud, paced) with the test cards.
fn paced_sim() -> Simulator {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/cards.toml")).unwrap();
    Simulator::new(load_cards(&text).unwrap(), SimConfig::default())
}

/// Finds the simulator answers during `d`.
fn finds_during(control: &SimControl, d: Duration) -> u64 {
    let before = control.stats().finds;
    std::thread::sleep(d);
    control.stats().finds - before
}

#[test]
fn the_next_card_is_presented_within_the_wire_floor_and_a_margin_while_the_terminal_is_in_use() {
    let sim = paced_sim();
    let control = sim.control();
    // Slow when idle, so that only the in-use polling can find the card in time.
    let config = ReaderConfig {
        poll_interval: Duration::from_secs(3),
        active_poll_interval: Duration::from_millis(10),
        active_for: Duration::from_secs(60),
        ..ReaderConfig::default()
    };
    let (_handle, mut rx) = idcard::watch(opener(control.clone()), config);
    assert!(matches!(next(&mut rx), ReaderEvent::Connected { .. }));
    control.place("resident");
    assert!(matches!(next(&mut rx), ReaderEvent::CardPresented(_)));
    control.remove();
    assert!(matches!(next(&mut rx), ReaderEvent::CardRemoved));
    // Placed just after a poll: at the idle interval the next find would be 3 s away.
    let placed = std::time::Instant::now();
    control.place("resident-longterm");
    assert!(matches!(next(&mut rx), ReaderEvent::CardPresented(_)));
    let took = placed.elapsed();
    // Find reply, select, 30 01 and 30 03 (no newer address): their bytes at 115200.
    let floor = idcard::sim::wire_time(15 + 10 + 19 + 10 + 1295 + 10 + 11, 115_200);
    // Generous: a loaded machine may be slow, but not a 3 s poll interval slow.
    assert!(took < floor + Duration::from_secs(1), "presented {took:?} after placing (floor {floor:?})");
}

#[test]
fn polling_is_fast_only_for_a_while_after_a_card_event() {
    let sim = paced_sim();
    let control = sim.control();
    let config = ReaderConfig {
        poll_interval: Duration::from_millis(200),
        active_poll_interval: Duration::from_millis(10),
        active_for: Duration::from_secs(1),
        ..ReaderConfig::default()
    };
    let (_handle, mut rx) = idcard::watch(opener(control.clone()), config);
    assert!(matches!(next(&mut rx), ReaderEvent::Connected { .. }));
    // Nobody there yet: one find per 200 ms at most.
    let idle = finds_during(&control, Duration::from_secs(1));
    assert!(idle <= 6, "{idle} finds in a second of idle at 200 ms");
    control.place("resident");
    assert!(matches!(next(&mut rx), ReaderEvent::CardPresented(_)));
    control.remove();
    assert!(matches!(next(&mut rx), ReaderEvent::CardRemoved));
    // In use: at most one find per 10 ms (each also takes 1.8 ms on the wire).
    let busy = finds_during(&control, Duration::from_millis(500));
    assert!(busy <= 51, "{busy} finds in 500 ms at 10 ms");
    // A second after the last card event the hall is idle again.
    std::thread::sleep(Duration::from_millis(700));
    let idle_again = finds_during(&control, Duration::from_secs(1));
    assert!(idle_again <= 6, "{idle_again} finds in a second of idle after the card left");
}

#[test]
fn a_touch_on_the_screen_speeds_the_polling_up_before_any_card() {
    let sim = paced_sim();
    let control = sim.control();
    let config = ReaderConfig {
        poll_interval: Duration::from_millis(200),
        active_poll_interval: Duration::from_millis(10),
        active_for: Duration::from_secs(1),
        ..ReaderConfig::default()
    };
    let (_handle, mut rx) = idcard::watch(opener(control.clone()), config);
    assert!(matches!(next(&mut rx), ReaderEvent::Connected { .. }));
    let idle = finds_during(&control, Duration::from_millis(600));
    assert!(idle <= 4, "{idle} finds in 600 ms of idle at 200 ms");
    idcard::watch::someone_is_here();
    // Seen at the next poll (within 200 ms), then one find about every 12 ms.
    std::thread::sleep(Duration::from_millis(250));
    let touched = finds_during(&control, Duration::from_millis(500));
    assert!(touched >= 15, "only {touched} finds in 500 ms after a touch");
}
