//! Numbers for `kiosk/bench/run`: card placed -> identity screen through the real reader
//! driver and its simulator, outbox durable-enqueue latency, and drain rate against the
//! in-process reference central service.

use kiosk::central_api::CentralClient;
use kiosk::outbox::sender::{self, OutboxHandle};
use kiosk::outbox::{ItemKind, Limits, Outbox};
use kiosk::runtime::ScreenSink;
use kiosk::runtime::devices::Supervision;
use session::{Event, Intent, Screen, Service, SessionTiming};
use simulation::{DeviceSettings, ReferenceCentral, SimulatedTerminal, TIMEOUTS, TerminalSetup, cards};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Screens as they are shown, with the time.
struct Clock(mpsc::UnboundedSender<(Instant, Screen)>);

impl ScreenSink for Clock {
    fn show(&self, screen: &Screen) {
        let _ = self.0.send((Instant::now(), screen.clone()));
    }
    fn countdown(&self, _: Option<u32>) {}
}

async fn shown(
    rx: &mut mpsc::UnboundedReceiver<(Instant, Screen)>,
    pred: impl Fn(&Screen) -> bool,
) -> anyhow::Result<Instant> {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await?;
        match next {
            Some((at, screen)) if pred(&screen) => return Ok(at),
            Some(_) => {}
            None => anyhow::bail!("the terminal stopped showing screens"),
        }
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1).min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let central = ReferenceCentral::start(&dir.path().join("central"), 300).await?;
    let url = central.url();
    let identity = central.enroll(&url, "bench").await?;

    // 1. Card placed -> identity screen: the service is chosen first, then the card is
    // placed on idcard's simulator (115200 baud, zero SAM delay) and read by the real
    // watch task at its production poll intervals; the core answers with Screen::Identity.
    // The previous card's removal is noticed by a poll and the next card placed within a
    // few milliseconds of it, so each placement waits a whole poll interval (the worst
    // case; after the first placement the terminal is in use and polls every 10 ms).
    let (tx, mut screens) = mpsc::unbounded_channel();
    let (data_dir, central_url, id) = (dir.path().join("kiosk"), url.clone(), identity.clone());
    let options = move |printer, camera| kiosk::terminal::TerminalOptions {
        data_dir,
        central_url,
        identity: id,
        timeouts: TIMEOUTS,
        timing: SessionTiming::default(),
        submit_wait: Duration::from_secs(3),
        heartbeat: Duration::from_secs(30),
        backoff: Default::default(),
        limits: Limits::default(),
        metrics_listen: None,
        screen: Arc::new(Clock(tx)),
        printer,
        camera,
        maintenance_pin: None,
    };
    // The social security card reader too, when pcscd and vpcd are there (it is then
    // measured as well).
    let devices = DeviceSettings {
        camera_pace: Duration::from_millis(100),
        social_security_card: simulation::Want::IfAvailable,
        ..DeviceSettings::default()
    };
    let sim = SimulatedTerminal::start(TerminalSetup {
        options: Box::new(options),
        devices,
        supervision: Supervision::default(),
        wrap_printer: None,
    })
    .await?;
    let (terminal, reader) = (&sim.terminal, sim.devices.reader.control());
    let (mut placed, mut found) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        terminal.events.send(Event::Touch(Intent::Choose(Service::ContributionRecord))).await?;
        shown(&mut screens, |s| matches!(s, Screen::PlaceCard { .. })).await?;
        let t0 = Instant::now();
        reader.place(cards::WORKER);
        let at = shown(&mut screens, |s| matches!(s, Screen::Identity { .. })).await?;
        placed.push(at.duration_since(t0));
        found.push(at.duration_since(reader.found_at().unwrap_or(t0)));
        reader.remove();
        shown(&mut screens, |s| matches!(s, Screen::Welcome { .. })).await?;
    }
    // 1b. Social security card inserted -> identity screen: through the real pcscd and
    // vsmartcard-vpcd, the card simulated on vpcd's socket.
    let mut inserted = Vec::new();
    if let Some(card) = sim.devices.social_security.as_ref().map(|s| s.control.clone()) {
        for i in 0..50u64 {
            terminal.events.send(Event::Touch(Intent::Choose(Service::ContributionRecord))).await?;
            shown(&mut screens, |s| matches!(s, Screen::PlaceCard { .. })).await?;
            // Not in step with vpcd's 400 ms presence check, as a citizen is not.
            tokio::time::sleep(Duration::from_millis(37 * (i % 11))).await;
            let t0 = Instant::now();
            card.insert(simulation::social_security_cards::WORKER);
            let at = shown(&mut screens, |s| matches!(s, Screen::Identity { .. })).await?;
            inserted.push(at.duration_since(t0));
            card.remove();
            shown(&mut screens, |s| matches!(s, Screen::Welcome { .. })).await?;
        }
        inserted.sort();
    }
    sim.shutdown().await;
    placed.sort();
    found.sort();
    // The wire floor: every byte from the find reply that sees the card to the last read
    // reply at 115200 baud (find reply 15, select 10 + 19, 30 01 10 + 1295, 30 03 10 + 11:
    // the worker's card has no newer address).
    let floor = idcard::sim::wire_time(15 + 10 + 19 + 10 + 1295 + 10 + 11, 115_200);
    let over = |d: Duration| d.as_secs_f64() * 1000.0 - floor.as_secs_f64() * 1000.0;

    // 2. Durable enqueue latency (sealed, WAL, synchronous=FULL).
    let handle = OutboxHandle::new(Outbox::open(&dir.path().join("outbox-bench"), Limits::default())?);
    let body = serde_json::to_vec(&contract::RatingRequest {
        session_id: "bench".into(),
        service: contract::Service::Certificate,
        grade: 5,
        reasons: vec![],
    })?;
    let n = 1000;
    let mut enq = Vec::new();
    for i in 0..n {
        let body = String::from_utf8(body.clone())?.replace("bench", &format!("bench-{i}"));
        let t0 = Instant::now();
        handle.lock().enqueue(ItemKind::Rating, contract::paths::RATINGS, body.as_bytes(), sender::now_ms())?;
        enq.push(t0.elapsed());
    }
    enq.sort();

    // 3. Drain rate against the reference central service over mutual TLS.
    let client = CentralClient::new(&url, &identity, TIMEOUTS)?;
    let stop = Arc::new(tokio::sync::Notify::new());
    let t0 = Instant::now();
    let task = tokio::spawn(sender::run(handle.clone(), client, Default::default(), stop.clone()));
    while handle.lock().stats()?.depth > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drain = t0.elapsed();
    task.abort();
    central.shutdown().await;

    println!("| measure | value |");
    println!("|---|---|");
    println!("| wire floor (find reply, select, 30 01, 30 03 at 115200 baud) | {floor:?} |");
    println!(
        "| card placed -> identity screen p50 / p95 (n=50; placed just after a poll, 10 ms poll in use, 115200 baud, SAM 0 ms) | {:?} / {:?} (floor + {:.1} / {:.1} ms) |",
        pct(&placed, 0.5),
        pct(&placed, 0.95),
        over(pct(&placed, 0.5)),
        over(pct(&placed, 0.95))
    );
    println!(
        "| first find of the card -> identity screen p50 / p95 (read, decode, core) | {:?} / {:?} |",
        pct(&found, 0.5),
        pct(&found, 0.95)
    );
    if inserted.is_empty() {
        println!("| social security card inserted -> identity screen | not measured (no pcscd with vsmartcard-vpcd) |");
    } else {
        println!(
            "| social security card inserted -> identity screen p50 / p95 (n=50; pcscd + vpcd, 400 ms presence check) | {:?} / {:?} |",
            pct(&inserted, 0.5),
            pct(&inserted, 0.95)
        );
    }
    println!("| outbox durable enqueue p50 / p99 (n={n}) | {:?} / {:?} |", pct(&enq, 0.5), pct(&enq, 0.99));
    println!("| outbox drain rate to central (mTLS, n={n}) | {:.0} items/s |", n as f64 / drain.as_secs_f64());
    Ok(())
}
