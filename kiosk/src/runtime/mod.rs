//! The runtime around the pure session core: feeds it device events, touches and
//! time, and carries out its effects (screens, central calls, outbox, printer,
//! camera, audit trail). Devices and the screen are seams so that simulators, the
//! real drivers and the Slint window plug in alike.

pub mod camera;
pub mod certificates;
pub mod convert;
pub mod devices;
pub mod escpos_printer;
pub mod maintenance_tools;
pub mod pin_guard;
pub mod print_progress;
pub mod printer_health;
pub mod reader;
pub mod scanner;
pub mod social_security;
pub mod supervise;
pub mod systemd;
pub mod telemetry;

use crate::audit::AuditLog;
use crate::central_api::{CentralClient, CentralError};
use crate::outbox::ItemKind;
use crate::outbox::sender::{Attempt, OutboxHandle};
use session::{self, Delivery, Effect, Event, Failure, PrintJob, Problem, Screen, State, Ticket};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telemetry::Metrics;
use tokio::sync::mpsc;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Where screens go: the Slint window, or a log of screens.
pub trait ScreenSink: Send + Sync + 'static {
    fn show(&self, screen: &Screen);
    fn countdown(&self, seconds_left: Option<u32>);
    /// A downscaled camera preview frame during face capture (many a second).
    fn frame(&self, preview: ::camera::Preview) {
        let _ = preview;
    }
    /// How far the printout on the printing screen got (0..=100; 100 once the printer
    /// confirmed it). An estimate while it runs: see [`print_progress`].
    fn printing(&self, percent: u8) {
        let _ = percent;
    }
}

/// The receipt printer as the runtime needs it. A job is laid out once; the same
/// document is estimated (for the printing bar) and printed.
pub trait ReceiptPrinter: Send + Sync + 'static {
    /// The printed document of `job` (see [`escpos_printer::document`]).
    fn layout(&self, job: &PrintJob) -> printer::Document;
    fn print(&self, doc: printer::Document) -> BoxFuture<Result<(), Problem>>;
    /// How long `doc` should take to come out (its paper at the printer's speed), for
    /// the printing bar; None when unknown, and the bar then waits for the printer.
    fn expected_duration(&self, doc: &printer::Document) -> Option<Duration> {
        let _ = doc;
        None
    }
}

/// The camera: runs one capture, reporting guidance (when it changes) and the result as
/// events and preview frames to `screen`. Dropping the future ends the capture.
pub trait FaceCamera: Send + Sync + 'static {
    fn capture(&self, ticket: Ticket, events: mpsc::Sender<Event>, screen: Arc<dyn ScreenSink>) -> BoxFuture<()>;
}

/// A screen sink that writes each screen's name to the log (no window). Only the
/// name: what is on a screen (a typed phone number, a holder's name) stays off logs.
#[derive(Debug, Default)]
pub struct LoggedScreens;

impl ScreenSink for LoggedScreens {
    fn show(&self, screen: &Screen) {
        tracing::info!(screen = screen.name(), "screen");
    }
    fn countdown(&self, seconds_left: Option<u32>) {
        tracing::info!(?seconds_left, "idle countdown");
    }
}

/// Everything the runtime talks to.
#[derive(Clone)]
pub struct Wiring {
    pub screen: Arc<dyn ScreenSink>,
    pub printer: Arc<dyn ReceiptPrinter>,
    pub camera: Arc<dyn FaceCamera>,
    pub central: CentralClient,
    pub outbox: OutboxHandle,
    pub audit: Arc<Mutex<AuditLog>>,
    pub metrics: Arc<Metrics>,
    /// How long a citizen waits for the server before the receipt says "queued".
    pub submit_wait: Duration,
    /// Distinguishes this run's session numbers in ratings sent to central.
    pub boot_id: String,
    /// Argon2 hash of the technician PIN (`maintenance.pin_hash`); `None`: no maintenance entry.
    pub maintenance_pin: Option<Arc<str>>,
    /// Where wrong technician PINs and a lockout are kept across restarts.
    pub pin_guard_file: Option<std::path::PathBuf>,
    /// The receipt reprint and re-detection; `None`: the maintenance screen's answer is
    /// "no install record" and "tool missing" (a terminal started without them, as in tests).
    pub tools: Option<Arc<maintenance_tools::MaintenanceTools>>,
}

/// How long the camera self-test waits for analysed frames.
const CAMERA_TEST_LIMIT: Duration = Duration::from_secs(8);

pub struct Runtime {
    state: State,
    wiring: Wiring,
    events_tx: mpsc::Sender<Event>,
    events_rx: mpsc::Receiver<Event>,
    capture: Option<tokio::task::JoinHandle<()>>,
    started: Instant,
    storage: Storage,
    /// Whether the core was told the terminal is decommissioned.
    retired_told: bool,
}

/// Whether the outbox and audit trail can be written. Audit records that could not
/// be written wait here, in order, and are written first when the disk has room
/// again: the chain keeps its order and nothing goes unaudited.
#[derive(Default)]
struct Storage {
    unwritten: std::collections::VecDeque<(session::AuditRecord, time::OffsetDateTime)>,
    /// Set by whoever fails to write the outbox (a submission, a rating).
    suspect: Arc<std::sync::atomic::AtomicBool>,
    /// What the core was last told.
    down: bool,
    /// Ticks since the last look at the free space.
    ticks: u32,
}

/// While all is well, the free space is looked at every this many ticks (seconds): a
/// disk filling up is found before the next citizen's records need it.
const STORAGE_LOOK_EVERY: u32 = 5;

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runtime")
    }
}

fn failure(e: &CentralError) -> Failure {
    match e {
        CentralError::BadSignature(_) => Failure::BadSignature,
        // A decision about the person, not an outage.
        CentralError::Problem { status: 422, kind: Some(kind), detail: Some(detail), .. }
            if kind == contract::ProblemType::NotEligible.slug() =>
        {
            convert::ineligible(detail).map_or_else(|| Failure::Refused(detail.clone()), Failure::NotEligible)
        }
        CentralError::Problem { status: 404 | 409 | 422, title, .. } => Failure::Refused(title.clone()),
        other => Failure::CentralUnavailable(other.to_string()),
    }
}

impl Runtime {
    pub fn new(timing: session::SessionTiming, wiring: Wiring) -> Self {
        let (events_tx, events_rx) = mpsc::channel(256);
        let mut state = State::new(timing);
        if wiring.maintenance_pin.is_some() {
            state = state.with_maintenance();
            if let Some(saved) = wiring.pin_guard_file.as_deref().and_then(pin_guard::load) {
                state = state.with_pin_guard(saved);
            }
        }
        Self {
            state,
            wiring,
            events_tx,
            events_rx,
            capture: None,
            started: Instant::now(),
            storage: Storage::default(),
            retired_told: false,
        }
    }

    /// Devices and the UI send their events here.
    pub fn events(&self) -> mpsc::Sender<Event> {
        self.events_tx.clone()
    }

    /// Runs until `stop` resolves. Time reaches the core as a tick each second;
    /// the watchdog is pinged from this loop so a hung core stops the pings.
    pub async fn run(mut self, stop: impl Future<Output = ()>) {
        let start = self.state.start();
        self.execute(start);
        self.check_retired();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let watchdog = systemd::Watchdog::from_env();
        tokio::pin!(stop);
        loop {
            let event = tokio::select! {
                Some(event) = self.events_rx.recv() => event,
                _ = tick.tick() => {
                    watchdog.ping();
                    self.check_retired();
                    if let Some(health) = self.check_storage() {
                        let device = session::Device::Storage;
                        self.wiring.metrics.set_health(device, health.clone());
                        let effects = session::handle(&mut self.state, Event::DeviceHealth { device, health });
                        self.execute(effects);
                    }
                    Event::Tick(self.started.elapsed().as_millis() as u64)
                }
                _ = &mut stop => break,
            };
            match &event {
                Event::DeviceHealth { device, health } => self.wiring.metrics.set_health(*device, health.clone()),
                // Someone is at the screen: the card they are about to place is found at once.
                Event::Touch(_) => idcard::watch::someone_is_here(),
                _ => {}
            }
            let effects = session::handle(&mut self.state, event);
            self.execute(effects);
            let busy = self.state.in_session() || self.state.in_maintenance();
            self.wiring.metrics.busy.store(busy, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Once operations decommissioned the terminal (the outbox saw central refuse it as
    /// such, now or before a restart), every service stops: the screen says the terminal
    /// is out of service until a technician enrolls it again.
    fn check_retired(&mut self) {
        if self.retired_told || !self.wiring.outbox.is_retired() {
            return;
        }
        self.retired_told = true;
        tracing::error!("this terminal is decommissioned: out of service until it is enrolled again");
        let device = session::Device::Enrollment;
        let health = session::Health::Problem(session::Problem::Missing);
        self.wiring.metrics.set_health(device, health.clone());
        let effects = session::handle(&mut self.state, Event::DeviceHealth { device, health });
        self.execute(effects);
    }

    fn execute(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            self.execute_one(effect);
        }
    }

    fn reply(&self, fut: impl Future<Output = Event> + Send + 'static) {
        let tx = self.events_tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(fut.await).await;
        });
    }

    fn execute_one(&mut self, effect: Effect) {
        let w = &self.wiring;
        match effect {
            Effect::Show(screen) => {
                if matches!(screen, session::Screen::Welcome { .. }) {
                    w.metrics.home_shown.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                w.screen.show(&screen)
            }
            Effect::Countdown(left) => w.screen.countdown(left),
            Effect::Audit(record) => {
                w.metrics.audit(&record);
                telemetry::event_for(&record, &w.outbox);
                self.storage.unwritten.push_back((record, time::OffsetDateTime::now_utc()));
                if let Err(e) = self.write_audit() {
                    if !self.storage.down {
                        tracing::error!(
                            error = %e,
                            "audit record could not be written (disk full?); services stop until it can, \
                             the record waits in memory"
                        );
                    }
                    self.storage.suspect.store(true, std::sync::atomic::Ordering::Relaxed);
                }
            }
            Effect::IssueCertificate { ticket, citizen, kind, period } => {
                let central = w.central.clone();
                self.reply(async move {
                    let now = time::OffsetDateTime::now_utc();
                    let result =
                        certificates::issue(&central, &citizen, kind, period, now).await.map_err(|e| failure(&e));
                    Event::CertificateIssued { ticket, result }
                });
            }
            Effect::FetchContributions { ticket, citizen } => {
                let central = w.central.clone();
                self.reply(async move {
                    let result = central.contributions_of(citizen.id_number.expose(), citizen.name.expose()).await;
                    Event::ContributionsLoaded {
                        ticket,
                        result: result.map(|h| convert::contributions(&h)).map_err(|e| failure(&e)),
                    }
                });
            }
            Effect::FetchPensionPayments { ticket, citizen } => {
                let central = w.central.clone();
                self.reply(async move {
                    let result = central.pension_payments_of(citizen.id_number.expose(), citizen.name.expose()).await;
                    Event::PensionPaymentsLoaded {
                        ticket,
                        result: result.map(|r| convert::pension_payments(&r)).map_err(|e| failure(&e)),
                    }
                });
            }
            Effect::CheckEligibility { ticket, citizen, service } => {
                let central = w.central.clone();
                self.reply(async move {
                    let result = match convert::registration_kind(service) {
                        Some(kind) => central
                            .eligibility_of(kind, citizen.id_number.expose(), citizen.name.expose())
                            .await
                            .map(|e| convert::eligibility(&e))
                            .map_err(|e| failure(&e)),
                        None => {
                            Err(Failure::CentralUnavailable(format!("no eligibility check for {}", service.code())))
                        }
                    };
                    Event::EligibilityChecked { ticket, result }
                });
            }
            Effect::FetchOpenings { ticket, kind, district } => {
                let central = w.central.clone();
                self.reply(async move {
                    let result = central.job_openings(kind, district).await;
                    Event::OpeningsLoaded { ticket, result: result.map(|o| o.openings).map_err(|e| failure(&e)) }
                });
            }
            Effect::LookUpApplication { ticket, tracking } => {
                let central = w.central.clone();
                let outbox = w.outbox.clone();
                self.reply(async move {
                    // A "queued" receipt's reference: this terminal may still hold the
                    // submission, and the central service cannot know it yet.
                    if contract::is_client_reference(&tracking) {
                        match outbox.lock().held_submission(&tracking) {
                            Ok(Some(held)) => {
                                let progress = convert::held_progress(&tracking, &held);
                                return Event::ApplicationFound { ticket, result: Ok(Some(progress)) };
                            }
                            Ok(None) => {}
                            Err(e) => tracing::warn!(error = %e, "outbox unreadable; asking the central service"),
                        }
                    }
                    let result = central.application(&tracking).await;
                    Event::ApplicationFound {
                        ticket,
                        result: result.map(|p| p.map(|p| convert::progress(&p))).map_err(|e| failure(&e)),
                    }
                });
            }
            Effect::Submit { ticket, submission } => {
                let outbox = w.outbox.clone();
                let wait = w.submit_wait;
                let metrics = w.metrics.clone();
                let suspect = self.storage.suspect.clone();
                self.reply(async move {
                    let (path, body) = convert::submission(&submission, time::OffsetDateTime::now_utc());
                    let body = zeroize::Zeroizing::new(body);
                    drop(submission);
                    let result = match outbox.submit(ItemKind::Submission, path, &body, wait).await {
                        Err(e) => {
                            tracing::error!(error = %e, "a submission could not be stored; services stop until it can");
                            suspect.store(true, std::sync::atomic::Ordering::Relaxed);
                            Err(Failure::NotStored(e.to_string()))
                        }
                        Ok((_, Some(Attempt::Accepted { body, .. }))) => match convert::delivered(path, &body) {
                            Some(d) => Ok(d),
                            None => Err(Failure::CentralUnavailable("unreadable answer".into())),
                        },
                        Ok((_, Some(Attempt::Rejected { status, body }))) => Err(convert::refusal(status, &body)),
                        // Retired this very moment: the submission was wiped with the rest,
                        // so the citizen must not leave with a "queued" receipt.
                        Ok((_, Some(Attempt::Decommissioned))) => {
                            Err(Failure::CentralUnavailable("this terminal was decommissioned".into()))
                        }
                        Ok((key, _)) => Ok(Delivery::Queued { reference: convert::queued_reference(&key) }),
                    };
                    metrics.submission(&result);
                    Event::Submitted { ticket, result }
                });
            }
            Effect::Print { ticket, job } => {
                let (printer, screen) = (w.printer.clone(), w.screen.clone());
                self.reply(async move {
                    Event::Printed { ticket, result: print_progress::print(&*printer, &*screen, job).await }
                });
            }
            Effect::StartCapture { ticket, .. } => {
                if let Some(old) = self.capture.take() {
                    old.abort();
                }
                let run = w.camera.capture(ticket, self.events_tx.clone(), w.screen.clone());
                self.capture = Some(tokio::spawn(run));
            }
            Effect::StopCapture => {
                if let Some(task) = self.capture.take() {
                    task.abort();
                }
            }
            Effect::CheckPin { ticket, pin } => {
                let hash = w.maintenance_pin.clone();
                self.reply(async move {
                    // Argon2 is slow on purpose: off the core's thread.
                    let accepted = tokio::task::spawn_blocking(move || {
                        hash.is_some_and(|h| crate::config::pin_matches(pin.expose(), &h))
                    })
                    .await
                    .unwrap_or(false);
                    if !accepted {
                        tracing::warn!("maintenance: wrong technician PIN");
                    }
                    Event::PinChecked { ticket, accepted }
                });
            }
            Effect::PrintProvisioningReceipt { ticket } => {
                let (printer, tools) = (w.printer.clone(), w.tools.clone());
                self.reply(async move {
                    let result = match tools {
                        Some(t) => t.reprint(&*printer, time::OffsetDateTime::now_utc()).await,
                        None => Err(session::maintenance::ReprintProblem::NoInstallRecord),
                    };
                    Event::ProvisioningReceiptPrinted { ticket, result }
                });
            }
            Effect::DetectDevices { ticket, working } => {
                let tools = w.tools.clone();
                self.reply(async move {
                    let result = match tools {
                        Some(t) => t.detect(&working).await,
                        None => Err(session::maintenance::DetectError::ToolMissing),
                    };
                    if let Err(e) = &result {
                        tracing::warn!(error = ?e, "maintenance: device detection failed");
                    }
                    Event::DevicesDetected { ticket, result }
                });
            }
            Effect::ApplyDevicePorts { ticket, ports } => {
                let tools = w.tools.clone();
                self.reply(async move {
                    let write = tokio::task::spawn_blocking(move || match tools {
                        Some(t) => t.apply(&ports),
                        None => Err("this terminal runs without a configuration file".to_owned()),
                    });
                    let result = write.await.unwrap_or_else(|e| Err(e.to_string()));
                    if let Err(e) = &result {
                        tracing::warn!(error = %e, "maintenance: device ports not written");
                    }
                    Event::DevicePortsApplied { ticket, result }
                });
            }
            Effect::Restart => match &w.tools {
                Some(t) => (t.restart)(),
                None => {
                    tracing::warn!("maintenance: restart asked for, but this terminal has no way to restart itself")
                }
            },
            Effect::CheckCentral { ticket } => {
                let central = w.central.clone();
                let hb = w.metrics.heartbeat(&w.outbox, 0, 0);
                self.reply(async move {
                    let started = Instant::now();
                    let batch = contract::TelemetryBatch { heartbeat: Some(hb), events: vec![], audit: vec![] };
                    let result = match central.send_telemetry(&batch).await {
                        Ok(()) => Ok(u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX)),
                        Err(e) => {
                            tracing::warn!(error = %e, "maintenance: central service check failed");
                            Err(e.to_string())
                        }
                    };
                    Event::CentralChecked { ticket, result }
                });
            }
            Effect::TestCamera { ticket } => {
                if let Some(old) = self.capture.take() {
                    old.abort();
                }
                let (tx, rx) = mpsc::channel(16);
                let run = w.camera.capture(ticket, tx, w.screen.clone());
                let events = self.events_tx.clone();
                self.capture = Some(tokio::spawn(async move {
                    let result = camera_test(run, rx).await;
                    let _ = events.send(Event::CameraTested { ticket, result }).await;
                }));
            }
            Effect::RememberPinGuard(guard) => {
                if let Some(path) = &w.pin_guard_file {
                    pin_guard::save(path, guard);
                }
            }
            Effect::SubmitRating(record) => {
                if let Some(request) = convert::rating(&record, &w.boot_id) {
                    let body = serde_json::to_vec(&request).unwrap_or_default();
                    let enqueued = w.outbox.lock().enqueue(
                        ItemKind::Rating,
                        contract::paths::RATINGS,
                        &body,
                        crate::outbox::sender::now_ms(),
                    );
                    match enqueued {
                        Ok(_) => w.outbox.wake.notify_one(),
                        Err(e) => {
                            tracing::warn!(error = %e, "rating not stored");
                            self.storage.suspect.store(true, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                }
            }
        }
    }
}

/// How much room the outbox must still have for the terminal to take submissions:
/// a qualification check with its face is about 100 KiB.
const SUBMISSION_ROOM: u64 = 1024 * 1024;

impl Runtime {
    /// Writes the audit records waiting in memory, oldest first.
    fn write_audit(&mut self) -> Result<(), crate::audit::AuditError> {
        let mut log = self.wiring.audit.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some((record, at)) = self.storage.unwritten.front() {
            log.append(record, *at)?;
            self.storage.unwritten.pop_front();
        }
        Ok(())
    }

    /// Every tick: while something failed to write, retries the waiting audit records
    /// and probes the outbox with a real write; otherwise, every few ticks, looks at
    /// the budget and the free space (no write). Returns the health to tell the core
    /// when it changed.
    fn check_storage(&mut self) -> Option<session::Health> {
        use std::sync::atomic::Ordering::Relaxed;
        self.storage.ticks += 1;
        if !self.storage.down && !self.storage.suspect.load(Relaxed) && self.storage.unwritten.is_empty() {
            if self.storage.ticks < STORAGE_LOOK_EVERY {
                return None;
            }
            self.storage.ticks = 0;
            // Cheap (no write): the budget and the free space.
            if self.wiring.outbox.lock().has_room(SUBMISSION_ROOM).is_ok() {
                return None;
            }
        }
        let audit = self.write_audit().map_err(|e| format!("audit trail: {e}"));
        let outbox = audit.and_then(|()| {
            self.wiring.outbox.lock().probe_writable(SUBMISSION_ROOM).map_err(|e| format!("outbox: {e}"))
        });
        self.storage.suspect.store(false, Relaxed);
        match outbox {
            Ok(()) if self.storage.down => {
                tracing::info!("storage writable again: services resume");
                self.storage.down = false;
                Some(session::Health::Ok)
            }
            Ok(()) => None,
            Err(why) if !self.storage.down => {
                tracing::error!(
                    why,
                    unwritten_audit_records = self.storage.unwritten.len(),
                    "storage cannot be written: every service stops (nothing is lost: records wait in memory)"
                );
                self.storage.down = true;
                self.storage.suspect.store(true, Relaxed);
                Some(session::Health::Problem(Problem::Error(why)))
            }
            Err(_) => {
                self.storage.suspect.store(true, Relaxed);
                None
            }
        }
    }
}

/// The maintenance screen's camera test, for a camera outside a running terminal
/// (`kiosk-provision install`): one capture until the camera reports analysed frames.
pub async fn camera_self_test(camera: &dyn FaceCamera, screen: Arc<dyn ScreenSink>) -> Result<(), Problem> {
    let (tx, rx) = mpsc::channel(16);
    camera_test(camera.capture(Ticket(0), tx, screen), rx).await
}

/// Runs a capture until the camera reports analysed frames (any guidance or a
/// capture), then drops it; a camera that says nothing within the limit fails.
async fn camera_test(run: BoxFuture<()>, mut reports: mpsc::Receiver<Event>) -> Result<(), Problem> {
    let first = async {
        tokio::pin!(run);
        tokio::select! {
            report = reports.recv() => match report {
                Some(Event::CaptureHint { .. } | Event::Captured { result: Ok(_), .. }) => Ok(()),
                Some(Event::Captured { result: Err(why), .. }) => Err(Problem::Error(why)),
                _ => Err(Problem::Missing),
            },
            () = &mut run => Err(Problem::Missing),
        }
    };
    tokio::time::timeout(CAMERA_TEST_LIMIT, first).await.unwrap_or(Err(Problem::Missing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headless_screen_logs_carry_no_personal_data() {
        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl Write for Buffer {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().write(b)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        use std::io::Write;
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt().with_writer(move || sink.clone()).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, || {
            LoggedScreens.show(&Screen::RegistrationForm { phone: "13912345678".into(), error: None });
            LoggedScreens.show(&Screen::TrackingEntry { typed: "QC-20261121-0004837".into(), error: None });
        });
        let logged = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(logged.contains("registration_form") && logged.contains("tracking_entry"), "{logged}");
        for secret in ["13912345678", "1391", "0004837"] {
            assert!(!logged.contains(secret), "{secret} in {logged}");
        }
    }

    #[test]
    fn a_refusal_is_told_apart_from_an_outage() {
        let problem = |status| CentralError::Problem { status, title: "not eligible".into(), kind: None, detail: None };
        for status in [404, 409, 422] {
            assert_eq!(failure(&problem(status)), Failure::Refused("not eligible".into()), "{status}");
        }
        for status in [401, 429, 500, 503] {
            assert!(matches!(failure(&problem(status)), Failure::CentralUnavailable(_)), "{status}");
        }
        assert!(matches!(failure(&CentralError::Unreachable("timeout".into())), Failure::CentralUnavailable(_)));
    }
}
