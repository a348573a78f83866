//! Numbers for `bench/run`: card placed -> identity screen through the real reader
//! driver and its simulator, outbox durable-enqueue latency, and drain rate against the
//! in-process reference central service.

use kiosk::central_api::{CentralClient, Timeouts};
use kiosk::outbox::sender::{self, OutboxHandle};
use kiosk::outbox::{ItemKind, Limits, Outbox};
use kiosk::runtime::ScreenSink;
use kiosk::runtime::devices::{SimulatedDevices, Supervision};
use kiosk::runtime::reader::cards;
use kiosk::session::{Event, Intent, Screen, Service, SessionTiming};
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
    let mut config = central::ServerConfig::new(dir.path().join("central"));
    config.listen = "127.0.0.1:0".parse()?;
    let server = central::start(config).await?;
    let url = format!("https://127.0.0.1:{}", server.local_addr().port());
    let timeouts = Timeouts { connect: Duration::from_secs(5), request: Duration::from_secs(10) };
    let token = server.create_enrollment_token(Duration::from_secs(600))?;
    let inventory =
        central::api::HardwareInventory { hostname: "bench".into(), software_version: "bench".into(), devices: vec![] };
    let identity = CentralClient::enroll(&url, &server.ca_pem(), &token, inventory, timeouts).await?;

    // 1. Card placed -> identity screen: the service is chosen first, then the card is
    // placed on idcard's simulator (115200 baud, zero SAM delay) and read by the real
    // watch task at its production poll interval; the core answers with Screen::Identity.
    let (tx, mut screens) = mpsc::unbounded_channel();
    let sim = SimulatedDevices::new(idcard::sim::SimConfig::default(), Duration::from_millis(100))?;
    let terminal = kiosk::terminal::start(kiosk::terminal::TerminalOptions {
        data_dir: dir.path().join("kiosk"),
        central_url: url.clone(),
        identity: identity.clone(),
        timeouts,
        timing: SessionTiming::default(),
        submit_wait: Duration::from_secs(3),
        heartbeat: Duration::from_secs(30),
        backoff: Default::default(),
        limits: Limits::default(),
        metrics_listen: None,
        screen: Arc::new(Clock(tx)),
        printer: sim.printer.clone(),
        camera: Arc::new(sim.camera.clone()),
        maintenance_pin: None,
    })
    .await?;
    let devices = sim.start(&terminal.events, &Supervision::default());
    let reader = sim.reader.control();
    let (mut placed, mut found) = (Vec::new(), Vec::new());
    for _ in 0..50 {
        terminal.events.send(Event::Touch(Intent::Choose(Service::Contributions))).await?;
        shown(&mut screens, |s| matches!(s, Screen::PlaceCard { .. })).await?;
        let t0 = Instant::now();
        reader.place(cards::WORKER);
        let at = shown(&mut screens, |s| matches!(s, Screen::Identity { .. })).await?;
        placed.push(at.duration_since(t0));
        found.push(at.duration_since(reader.found_at().unwrap_or(t0)));
        reader.remove();
        shown(&mut screens, |s| matches!(s, Screen::Welcome { .. })).await?;
    }
    drop(devices);
    terminal.shutdown().await;
    placed.sort();
    found.sort();

    // 2. Durable enqueue latency (sealed, WAL, synchronous=FULL).
    let handle = OutboxHandle::new(Outbox::open(&dir.path().join("outbox-bench"), Limits::default())?);
    let body = serde_json::to_vec(&central::api::RatingRequest {
        session_id: "bench".into(),
        service: central::api::ServiceKind::Certificate,
        grade: 5,
        reasons: vec![],
    })?;
    let n = 1000;
    let mut enq = Vec::new();
    for i in 0..n {
        let body = String::from_utf8(body.clone())?.replace("bench", &format!("bench-{i}"));
        let t0 = Instant::now();
        handle.lock().enqueue(ItemKind::Rating, central::api::paths::RATINGS, body.as_bytes(), sender::now_ms())?;
        enq.push(t0.elapsed());
    }
    enq.sort();

    // 3. Drain rate against the reference central service over mutual TLS.
    let client = CentralClient::new(&url, &identity, timeouts)?;
    let stop = Arc::new(tokio::sync::Notify::new());
    let t0 = Instant::now();
    let task = tokio::spawn(sender::run(handle.clone(), client, Default::default(), stop.clone()));
    while handle.lock().stats()?.depth > 0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drain = t0.elapsed();
    task.abort();
    server.shutdown().await;

    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| card placed -> identity screen p50 / p95 (n=50; 300 ms poll, 115200 baud, SAM 0 ms) | {:?} / {:?} |",
        pct(&placed, 0.5),
        pct(&placed, 0.95)
    );
    println!(
        "| first find of the card -> identity screen p50 / p95 (read, decode, core) | {:?} / {:?} |",
        pct(&found, 0.5),
        pct(&found, 0.95)
    );
    println!("| outbox durable enqueue p50 / p99 (n={n}) | {:?} / {:?} |", pct(&enq, 0.5), pct(&enq, 0.99));
    println!("| outbox drain rate to central (mTLS, n={n}) | {:.0} items/s |", n as f64 / drain.as_secs_f64());
    Ok(())
}
