//! Card placed -> `CardPresented` latency against the simulator at 115200 baud with zero
//! SAM delay, next to the wire-time floor, over the in-memory line and over a
//! pseudo-terminal opened as a serial port (`SerialLink`, as in production). Used by
//! `bench/run`.
//!
//! Latency is measured from the moment the simulator received the find that first saw
//! the card (so the poll interval's wait is excluded) to the event reaching the receiver.

use std::time::{Duration, Instant};

use idcard::sim::{SimConfig, Simulator, load_cards, wire_time};
use idcard::{Link, LinkError, ReadOptions, ReaderConfig, ReaderEvent, SerialLink};

fn main() {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(30);
    let text = include_str!("../testdata/cards.toml");
    let cards = load_cards(text).unwrap_or_default();
    let pty_path = std::env::temp_dir().join(format!("idcard-latency-{}", std::process::id()));
    for (over_pty, newest_address) in [(false, false), (false, true), (true, false), (true, true)] {
        let sim = Simulator::new(
            cards.clone(),
            SimConfig { baud: 115_200, sam_delay: Duration::ZERO, ..SimConfig::default() },
        );
        let control = sim.control();
        let _server;
        let opener: Box<dyn FnMut() -> Result<Box<dyn Link>, LinkError> + Send> = if over_pty {
            _server = match sim.serve_pty(&pty_path) {
                Ok(server) => server,
                Err(e) => {
                    eprintln!("no pseudo-terminal: {e}");
                    return;
                }
            };
            let path = pty_path.to_string_lossy().into_owned();
            Box::new(move || SerialLink::open(&path, 115_200).map(|t| Box::new(t) as Box<dyn Link>))
        } else {
            let control = control.clone();
            Box::new(move || control.connect().map(|t| Box::new(t) as Box<dyn Link>))
        };
        let config = ReaderConfig {
            poll_interval: Duration::from_millis(50),
            options: ReadOptions { fingerprint: false, newest_address },
            ..ReaderConfig::default()
        };
        let (_handle, mut rx) = idcard::watch(opener, config);
        let mut samples = Vec::new();
        let mut since_placed = Vec::new();
        for _ in 0..runs {
            let placed = Instant::now();
            // The second card has a newer address, so 30 03 returns its full 70 bytes.
            control.place(if newest_address { "resident-new-address" } else { "resident" });
            loop {
                match rx.blocking_recv() {
                    Some(ReaderEvent::CardPresented(_)) => break,
                    Some(_) => continue,
                    None => return,
                }
            }
            let now = Instant::now();
            if let Some(found) = control.found_at() {
                samples.push(now - found);
            }
            since_placed.push(now - placed);
            control.remove();
            while !matches!(rx.blocking_recv(), Some(ReaderEvent::CardRemoved) | None) {}
        }
        // find reply, select request + reply, read request + reply (+ 30 03 request + reply).
        let bytes = 15 + 10 + 19 + 10 + 1295 + if newest_address { 10 + 81 } else { 0 };
        let floor = wire_time(bytes, 115_200);
        samples.sort();
        since_placed.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let pick =
            |v: &[Duration], q: f64| v.get(((v.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default();
        println!(
            "latency\t{}{}\t{runs}\t{:.1}\t{:.1}\t{:.1}\t{:.1}\t{:.1}\t{:.1}\t{:.1}",
            if newest_address { "30 01 + 30 03" } else { "30 01" },
            if over_pty { ", pty" } else { "" },
            ms(floor),
            ms(wire_time(1295, 115_200)),
            ms(pick(&samples, 0.0)),
            ms(pick(&samples, 0.5)),
            ms(pick(&samples, 0.95)),
            ms(pick(&samples, 0.5)) - ms(floor),
            ms(pick(&since_placed, 0.5)),
        );
    }
}
