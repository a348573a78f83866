//! Numbers for `kiosk/bench/run`: card placed -> identity screen through the real reader
//! driver and its simulator; a certificate confirmed -> its first byte at the printer and
//! its cut, on the virtual printer at a serial line's pace and the model's print speed;
//! outbox durable-enqueue latency, and drain rate against the in-process reference
//! central service.
//!
//! `BENCH_QUICK=1` takes fewer samples; with `TERMINAL_BENCH_NUMBERS=FILE` the figures
//! the goals are checked on are also written to FILE as `name=value` lines.

use kiosk::central_api::CentralClient;
use kiosk::outbox::sender::{self, OutboxHandle};
use kiosk::outbox::{ItemKind, Limits, Outbox};
use kiosk::runtime::ScreenSink;
use kiosk::runtime::devices::Supervision;
use kiosk::runtime::escpos_printer::{PrintStamp, document};
use printer::Profile;
use session::{CertificateKind, CertificatePeriod, Event, Intent, PrintJob, Screen, Service, SessionTiming};
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

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The receipt printer as the bench runs it: the kiosk's 80 mm model on a 115200-baud
/// serial line (the slower of its links: USB moves the same bytes in a millisecond).
const PRINTER: Profile = Profile::KIOSK_80;
const PRINTER_BAUD: u32 = 115_200;

/// One certificate printed: from the citizen's Print touch on the preview.
struct Printout {
    /// To the job's first byte at the printer (after the preflight status requests).
    first_byte: Duration,
    /// To the cut, the paper having moved at the print speed.
    cut: Duration,
    /// To the Printed screen (the printer confirmed with `GS r`).
    printed: Duration,
    /// The paper-time floor of this printout: see `receipt_floor`.
    floor_first: Duration,
    floor_cut: Duration,
    paper_mm: f64,
    bytes: usize,
}

/// What no terminal can beat for `job` on [`PRINTER`] at [`PRINTER_BAUD`]: the driver's
/// preflight (`DLE EOT 1..4`, 12 bytes) and `GS a` (3 bytes) must cross the wire before
/// the job's first byte; then the paper moves at the print speed while the rest arrives
/// (the printer prints as it receives, so wire and paper overlap: the slower of the two
/// counts, not their sum).
fn receipt_floor(job: &PrintJob) -> anyhow::Result<(Duration, Duration, f64, usize)> {
    let doc = document(job, &PrintStamp::now(None));
    let estimate = printer::estimate(&doc, &PRINTER)?;
    let bytes = printer::encode(&doc, &PRINTER, None)?.len();
    let wire = |n: usize| idcard::sim::wire_time(n, PRINTER_BAUD);
    let first = wire(12 + 3);
    Ok((first, first + estimate.duration.max(wire(bytes + 3)), estimate.mm, bytes))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let quick = std::env::var_os("BENCH_QUICK").is_some_and(|v| v == "1");
    let (placements, printouts): (u64, usize) = if quick { (20, 5) } else { (50, 10) };
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
        maintenance_tools: None,
        updates: None,
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
    for _ in 0..placements {
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
        for i in 0..placements {
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

    // 1c. Certificate confirmed -> paper: the worker's 12-month certificate, issued and
    // signed by central and previewed; the clock starts at the Print touch. The virtual
    // printer takes bytes at the serial line's pace and moves its paper at the model's
    // print speed: a cut (and the `GS r` confirmation after it) waits for the paper.
    let paper = sim.devices.paper.clone();
    paper.set_baud(Some(PRINTER_BAUD));
    paper.set_print_speed(Some(PRINTER.speed_mm_per_s));
    let mut prints = Vec::new();
    for _ in 0..printouts {
        terminal.events.send(Event::Touch(Intent::Choose(Service::Certificate))).await?;
        shown(&mut screens, |s| matches!(s, Screen::PlaceCard { .. })).await?;
        reader.place(cards::WORKER);
        shown(&mut screens, |s| matches!(s, Screen::Identity { .. })).await?;
        terminal.events.send(Event::Touch(Intent::Confirm)).await?;
        shown(&mut screens, |s| matches!(s, Screen::CertificateChoice { .. })).await?;
        let (kind, period) = (CertificateKind::AllInsurances, CertificatePeriod::LastMonths(12));
        terminal.events.send(Event::Touch(Intent::ChooseCertificate { kind, period })).await?;
        let certificate = loop {
            let next = tokio::time::timeout(Duration::from_secs(30), screens.recv()).await?;
            match next {
                Some((_, Screen::CertificatePreview { certificate })) => break certificate,
                Some(_) => {}
                None => anyhow::bail!("the terminal stopped showing screens"),
            }
        };
        let (floor_first, floor_cut, paper_mm, bytes) = receipt_floor(&PrintJob::Certificate(certificate))?;
        paper.clear_timeline();
        let t0 = Instant::now();
        terminal.events.send(Event::Touch(Intent::Print)).await?;
        let printed = shown(&mut screens, |s| matches!(s, Screen::Printed { result: Ok(()), .. })).await?;
        let timeline = paper.timeline();
        let (Some(first), Some(cut)) = (timeline.first_data, timeline.cuts.first().copied()) else {
            anyhow::bail!("the certificate did not reach the paper: {timeline:?}");
        };
        prints.push(Printout {
            first_byte: first.saturating_duration_since(t0),
            cut: cut.saturating_duration_since(t0),
            printed: printed.duration_since(t0),
            floor_first,
            floor_cut,
            paper_mm,
            bytes,
        });
        terminal.events.send(Event::Touch(Intent::Done)).await?;
        terminal.events.send(Event::Touch(Intent::Exit)).await?;
        shown(&mut screens, |s| matches!(s, Screen::Welcome { .. })).await?;
        reader.remove();
        // The reader notices the card gone within a 10 ms poll; the next is placed after.
        tokio::time::sleep(Duration::from_millis(300)).await;
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
        "| card placed -> identity screen p50 / p95 (n={placements}; placed just after a poll, 10 ms poll in use, 115200 baud, SAM 0 ms) | {:?} / {:?} (floor + {:.1} / {:.1} ms) |",
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
            "| social security card inserted -> identity screen p50 / p95 (n={placements}; pcscd + vpcd, 400 ms presence check) | {:?} / {:?} |",
            pct(&inserted, 0.5),
            pct(&inserted, 0.95)
        );
    }
    let median = |f: fn(&Printout) -> Duration| {
        let mut v: Vec<Duration> = prints.iter().map(f).collect();
        v.sort();
        (pct(&v, 0.5), pct(&v, 0.95))
    };
    let (first_p50, first_p95) = median(|p| p.first_byte);
    let (cut_p50, cut_p95) = median(|p| p.cut);
    let (printed_p50, printed_p95) = median(|p| p.printed);
    let (floor_first, _) = median(|p| p.floor_first);
    let (floor_cut, _) = median(|p| p.floor_cut);
    // The printout whose floor is the median one, for its paper and bytes.
    let middle = prints.iter().find(|p| p.floor_cut == floor_cut);
    let (paper_mm, bytes) = middle.map_or((0.0, 0), |p| (p.paper_mm, p.bytes));
    let speed = PRINTER.speed_mm_per_s;
    println!(
        "| receipt paper floor ({}: {bytes} bytes at {PRINTER_BAUD} baud, {paper_mm:.0} mm at {speed} mm/s) | first byte {floor_first:?}, cut {floor_cut:?} |",
        PRINTER.name
    );
    println!(
        "| certificate confirmed (Print) -> first job byte at the printer p50 / p95 (n={printouts}) | {first_p50:?} / {first_p95:?} (floor + {:.1} / {:.1} ms) |",
        ms(first_p50) - ms(floor_first),
        ms(first_p95) - ms(floor_first)
    );
    println!(
        "| certificate confirmed (Print) -> cut p50 / p95 | {cut_p50:?} / {cut_p95:?} (floor + {:.1} / {:.1} ms) |",
        ms(cut_p50) - ms(floor_cut),
        ms(cut_p95) - ms(floor_cut)
    );
    println!(
        "| certificate confirmed (Print) -> Printed screen (GS r confirmed) p50 / p95 | {printed_p50:?} / {printed_p95:?} |"
    );
    println!("| outbox durable enqueue p50 / p99 (n={n}) | {:?} / {:?} |", pct(&enq, 0.5), pct(&enq, 0.99));
    println!("| outbox drain rate to central (mTLS, n={n}) | {:.0} items/s |", n as f64 / drain.as_secs_f64());
    if let Some(path) = std::env::var_os("TERMINAL_BENCH_NUMBERS") {
        let numbers = [
            ("identity_p50_ms", ms(pct(&placed, 0.5))),
            ("identity_floor_ms", ms(floor)),
            ("receipt_first_byte_p50_ms", ms(first_p50)),
            ("receipt_first_byte_floor_ms", ms(floor_first)),
            ("receipt_cut_p50_ms", ms(cut_p50)),
            ("receipt_cut_floor_ms", ms(floor_cut)),
        ];
        let text: String = numbers.iter().map(|(k, v)| format!("{k}={v:.2}\n")).collect();
        std::fs::write(path, text)?;
    }
    Ok(())
}
