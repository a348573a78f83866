//! What polling for a card costs while nobody is there: the find exchange's bytes and
//! wire time, and the CPU the polling thread (`idcard-reader`) and the simulator spend
//! per poll, over the in-memory line and over a pseudo-terminal opened as a serial port
//! (the production `SerialLink`). Used by `bench/run`.
//!
//! `cargo run --release -p idcard --example poll_cost -- [SECONDS]`
//!
//! CPU is read per thread from `/proc/self/task/*/schedstat` (nanoseconds on the CPU).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use idcard::frame::{Command, Reply, Status};
use idcard::sim::{SimConfig, Simulator, load_cards, wire_time};
use idcard::{Link, ReaderConfig, ReaderEvent, SerialLink};

/// Nanoseconds on the CPU of every live thread whose name starts with `prefix`, by tid.
fn thread_cpu(prefix: &str) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return out };
    for task in tasks.flatten() {
        let dir = task.path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !name.trim().starts_with(prefix) {
            continue;
        }
        let schedstat = std::fs::read_to_string(dir.join("schedstat")).unwrap_or_default();
        if let Some(ns) = schedstat.split_whitespace().next().and_then(|v| v.parse().ok()) {
            out.insert(task.file_name().to_string_lossy().into_owned(), ns);
        }
    }
    out
}

/// CPU used between two samples by the threads present in both.
fn used(before: &HashMap<String, u64>, after: &HashMap<String, u64>) -> Duration {
    let ns: u64 = after.iter().filter_map(|(tid, a)| before.get(tid).map(|b| a.saturating_sub(*b))).sum();
    Duration::from_nanos(ns)
}

fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(10);
    let find = Command::FindCard.encode().len();
    let none = Reply::new(Status::FindFailed, vec![]).encode().map(|f| f.len()).unwrap_or(0);
    let found = Reply::new(Status::CardFound, vec![0; 4]).encode().map(|f| f.len()).unwrap_or(0);
    for baud in [115_200, 9_600] {
        let ms = |b: usize| wire_time(b, baud).as_secs_f64() * 1000.0;
        println!("wire\t{baud}\t{find}\t{none}\t{:.2}\t{found}\t{:.2}", ms(find + none), ms(find + found));
    }

    let cards = load_cards(include_str!("../testdata/cards.toml")).unwrap_or_default();
    let pty_path = std::env::temp_dir().join(format!("idcard-poll-cost-{}", std::process::id()));
    let intervals = [0u64, 5, 10, 20, 50, 300];
    for baud in [115_200u32, 9_600] {
        for over_pty in [false, true] {
            for &interval in &intervals {
                let sim = Simulator::new(cards.clone(), SimConfig { baud, ..SimConfig::default() });
                let control = sim.control();
                let _server;
                let opener: Box<dyn FnMut() -> Result<Box<dyn Link>, idcard::LinkError> + Send> = if over_pty {
                    _server = match sim.serve_pty(&pty_path) {
                        Ok(s) => s,
                        Err(e) => {
                            eprintln!("no pty: {e}");
                            return;
                        }
                    };
                    let path = pty_path.to_string_lossy().into_owned();
                    Box::new(move || SerialLink::open(&path, baud).map(|l| Box::new(l) as Box<dyn Link>))
                } else {
                    let control = control.clone();
                    Box::new(move || control.connect().map(|l| Box::new(l) as Box<dyn Link>))
                };
                let config = ReaderConfig { poll_interval: Duration::from_millis(interval), ..ReaderConfig::default() };
                let (handle, mut rx) = idcard::watch(opener, config.clone());
                if !matches!(rx.blocking_recv(), Some(ReaderEvent::Connected { .. })) {
                    eprintln!("the reader did not connect");
                    return;
                }
                std::thread::sleep(Duration::from_millis(500));
                let (r0, s0, f0, t0) =
                    (thread_cpu("idcard-reader"), thread_cpu("idcard-sim"), control.stats().finds, Instant::now());
                std::thread::sleep(Duration::from_secs(seconds));
                let (r1, s1, f1, wall) =
                    (thread_cpu("idcard-reader"), thread_cpu("idcard-sim"), control.stats().finds, t0.elapsed());
                handle.stop();
                drop(rx);
                let polls = (f1 - f0).max(1);
                let (driver, simulator) = (used(&r0, &r1), used(&s0, &s1));
                let pct = |d: Duration| d.as_secs_f64() / wall.as_secs_f64() * 100.0;
                println!(
                    "poll\t{baud}\t{}\t{interval}\t{:.1}\t{:.2}\t{:.1}\t{:.3}\t{:.1}\t{:.3}",
                    if over_pty { "pty" } else { "pipe" },
                    polls as f64 / wall.as_secs_f64(),
                    wall.as_secs_f64() * 1000.0 / polls as f64,
                    driver.as_secs_f64() * 1e6 / polls as f64,
                    pct(driver),
                    simulator.as_secs_f64() * 1e6 / polls as f64,
                    pct(simulator),
                );
            }
        }
    }
}
