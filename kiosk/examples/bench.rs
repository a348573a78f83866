//! Numbers for `bench/run`: card placed -> identity screen, outbox durable-enqueue
//! latency, and drain rate against the in-process reference central service.

use kiosk::central_api::{CentralClient, Timeouts};
use kiosk::outbox::sender::{self, OutboxHandle};
use kiosk::outbox::{ItemKind, Limits, Outbox};
use kiosk::runtime::ScreenSink;
use kiosk::runtime::simulated::{SimCamera, SimPrinter};
use kiosk::session::{Citizen, Event, Screen, SessionTiming};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct MenuClock(Mutex<Option<tokio::sync::oneshot::Sender<Instant>>>);

impl ScreenSink for MenuClock {
    fn show(&self, screen: &Screen) {
        if matches!(screen, Screen::Menu { .. }) {
            if let Some(tx) = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
                let _ = tx.send(Instant::now());
            }
        }
    }
    fn countdown(&self, _: Option<u32>) {}
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

    // 1. Card placed -> identity (menu) screen, simulated reader with zero SAM delay.
    let clock = Arc::new(MenuClock(Mutex::new(None)));
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
        screen: clock.clone(),
        printer: Arc::new(SimPrinter::default()),
        camera: Arc::new(SimCamera::with_test_face()?),
    })
    .await?;
    let mut card = Vec::new();
    for _ in 0..200 {
        let (tx, rx) = tokio::sync::oneshot::channel();
        *clock.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tx);
        let t0 = Instant::now();
        terminal.events.send(Event::CardPlaced(Citizen::new("11010519491231002X", "张秀英"))).await?;
        card.push(rx.await?.duration_since(t0));
        terminal.events.send(Event::CardRemoved).await?;
    }
    terminal.shutdown().await;
    card.sort();

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
    println!("| card placed -> identity screen p50 / p99 (n=200) | {:?} / {:?} |", pct(&card, 0.5), pct(&card, 0.99));
    println!("| outbox durable enqueue p50 / p99 (n={n}) | {:?} / {:?} |", pct(&enq, 0.5), pct(&enq, 0.99));
    println!("| outbox drain rate to central (mTLS, n={n}) | {:.0} items/s |", n as f64 / drain.as_secs_f64());
    Ok(())
}
