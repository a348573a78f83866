//! Card inserted -> `CardInserted` (card data) latency through the real pcscd, the real
//! vpcd driver and the simulator: `cargo run -p sscard --example insert_latency [-- N]`
//! (needs pcscd and vsmartcard-vpcd, as the tests do; N insertions, 50 by default).
//!
//! Two figures per insertion: from the simulator's insert (the card connects to vpcd) to
//! the event, which includes the wait for pcscd's next presence check of the reader (it
//! polls every 400 ms; insertions are spread over that period); and from the moment pcscd noticed the card (its first message on
//! the card's connection) to the event: power-up, ATR, SCardGetStatusChange wake-up and
//! the 16 APDUs of the read.

use std::time::{Duration, Instant};

use sscard::sim::{Simulator, load_cards};
use sscard::{WatchConfig, WatchEvent};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(50);
    let pcscd = sscard::harness::pcscd()?;
    let lease = pcscd.lease_reader()?;
    let sim = Simulator::start(load_cards(include_str!("../testdata/cards.toml"))?, lease.port);
    let control = sim.control();
    let (_handle, mut events) =
        sscard::watch(WatchConfig { reader: Some(lease.name.clone()), ..WatchConfig::default() });
    let (mut since_insert, mut since_noticed) = (Vec::new(), Vec::new());
    // Removal is noticed at one of pcscd's presence checks; inserting right after would
    // always wait a whole check period. A varying pause spreads insertions over the period,
    // as citizens do.
    let mut jitter: u64 = 0x2545_F491_4F6C_DD1D;
    for _ in 0..runs {
        jitter ^= jitter << 13;
        jitter ^= jitter >> 7;
        jitter ^= jitter << 17;
        std::thread::sleep(Duration::from_millis(jitter % 400));
        let inserted = Instant::now();
        control.insert("wang-wei");
        loop {
            match events.blocking_recv() {
                Some(WatchEvent::CardInserted { .. }) => break,
                Some(WatchEvent::CardReadFailed { error, .. }) => return Err(error.into()),
                Some(_) => continue,
                None => return Err("the watch task stopped".into()),
            }
        }
        let now = Instant::now();
        since_insert.push(now - inserted);
        if let Some(noticed) = control.stats().noticed_at {
            since_noticed.push(now - noticed);
        }
        control.remove();
        while !matches!(events.blocking_recv(), Some(WatchEvent::CardRemoved { .. }) | None) {}
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pick = |v: &mut Vec<Duration>, q: f64| {
        v.sort();
        v.get(((v.len() as f64 - 1.0) * q).round() as usize).copied().unwrap_or_default()
    };
    println!("runs\tfrom\tp50 ms\tp95 ms\tmax ms");
    for (name, v) in [("card inserted", &mut since_insert), ("pcscd noticed", &mut since_noticed)] {
        let (p50, p95, max) = (pick(v, 0.5), pick(v, 0.95), pick(v, 1.0));
        println!("{}\t{name}\t{:.1}\t{:.1}\t{:.1}", v.len(), ms(p50), ms(p95), ms(max));
    }
    Ok(())
}
