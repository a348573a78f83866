//! The runtime around the pure session core: feeds it device events, touches and
//! time, and carries out its effects (screens, central calls, outbox, printer,
//! camera, audit trail). Devices and the screen are seams so that simulators, the
//! real drivers and the Slint window plug in alike.

pub mod camera;
pub mod certificates;
pub mod convert;
pub mod devices;
pub mod escpos_printer;
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

/// A screen sink that writes each screen to the log (no window).
#[derive(Debug, Default)]
pub struct LoggedScreens;

impl ScreenSink for LoggedScreens {
    fn show(&self, screen: &Screen) {
        tracing::info!(?screen, "screen");
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
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Runtime")
    }
}

fn failure(e: &CentralError) -> Failure {
    match e {
        CentralError::BadSignature(_) => Failure::BadSignature,
        // A decision about the person, not an outage.
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
        }
        Self { state, wiring, events_tx, events_rx, capture: None, started: Instant::now() }
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
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let watchdog = systemd::Watchdog::from_env();
        tokio::pin!(stop);
        loop {
            let event = tokio::select! {
                Some(event) = self.events_rx.recv() => event,
                _ = tick.tick() => {
                    watchdog.ping();
                    Event::Tick(self.started.elapsed().as_millis() as u64)
                }
                _ = &mut stop => break,
            };
            if let Event::DeviceHealth { device, health } = &event {
                self.wiring.metrics.set_health(*device, health.clone());
            }
            let effects = session::handle(&mut self.state, event);
            self.execute(effects);
        }
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
            Effect::Show(screen) => w.screen.show(&screen),
            Effect::Countdown(left) => w.screen.countdown(left),
            Effect::Audit(record) => {
                w.metrics.audit(&record);
                telemetry::event_for(&record, &w.outbox);
                let appended = w
                    .audit
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .append(&record, time::OffsetDateTime::now_utc());
                if let Err(e) = appended {
                    tracing::error!(error = %e, "audit record could not be written");
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
                self.reply(async move {
                    let (path, body) = convert::submission(&submission, time::OffsetDateTime::now_utc());
                    drop(submission);
                    let result = match outbox.submit(ItemKind::Submission, path, &body, wait).await {
                        Err(e) => Err(Failure::NotStored(e.to_string())),
                        Ok((_, Some(Attempt::Accepted { body, .. }))) => match convert::delivered(path, &body) {
                            Some(d) => Ok(d),
                            None => Err(Failure::CentralUnavailable("unreadable answer".into())),
                        },
                        Ok((_, Some(Attempt::Rejected { status, .. }))) => {
                            Err(Failure::Refused(format!("HTTP {status}")))
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
                        Err(e) => tracing::warn!(error = %e, "rating not stored"),
                    }
                }
            }
        }
    }
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
    fn a_refusal_is_told_apart_from_an_outage() {
        let problem = |status| CentralError::Problem { status, title: "not eligible".into(), kind: None };
        for status in [404, 409, 422] {
            assert_eq!(failure(&problem(status)), Failure::Refused("not eligible".into()), "{status}");
        }
        for status in [401, 429, 500, 503] {
            assert!(matches!(failure(&problem(status)), Failure::CentralUnavailable(_)), "{status}");
        }
        assert!(matches!(failure(&CentralError::Unreachable("timeout".into())), Failure::CentralUnavailable(_)));
    }
}
