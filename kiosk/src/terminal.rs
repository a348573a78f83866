//! Assembles a running terminal: outbox + sender, audit trail, central client,
//! session runtime, telemetry, `/metrics`, with the devices and screen it is given.

use crate::audit::AuditLog;
use crate::central_api::{CentralClient, DeviceIdentity, Timeouts};
use crate::outbox::backoff::Backoff;
use crate::outbox::sender::{self, OutboxHandle};
use crate::outbox::{Limits, Outbox};
use crate::runtime::telemetry::{self, Metrics};
use crate::runtime::{FaceCamera, ReceiptPrinter, Runtime, ScreenSink, Wiring};
use session::{Event, SessionTiming};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

pub struct TerminalOptions {
    pub data_dir: PathBuf,
    pub central_url: String,
    pub identity: DeviceIdentity,
    pub timeouts: Timeouts,
    pub timing: SessionTiming,
    pub submit_wait: Duration,
    pub heartbeat: Duration,
    pub backoff: Backoff,
    pub limits: Limits,
    pub metrics_listen: Option<SocketAddr>,
    pub screen: Arc<dyn ScreenSink>,
    pub printer: Arc<dyn ReceiptPrinter>,
    pub camera: Arc<dyn FaceCamera>,
    /// `maintenance.pin_hash`.
    pub maintenance_pin: Option<String>,
    /// The maintenance screen's receipt reprint and re-detection.
    pub maintenance_tools: Option<crate::runtime::maintenance_tools::MaintenanceTools>,
    /// Software updates and the start-up self-test the update installer waits for
    /// (`None`: neither, as on simulated terminals that no installer restarts).
    pub updates: Option<crate::update::agent::UpdateSettings>,
}

/// A terminal running on the current tokio runtime.
pub struct Terminal {
    pub events: mpsc::Sender<Event>,
    pub outbox: OutboxHandle,
    pub audit: Arc<Mutex<AuditLog>>,
    pub metrics: Arc<Metrics>,
    pub metrics_addr: Option<SocketAddr>,
    central: CentralClient,
    stop: Arc<Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Terminal")
    }
}

pub async fn start(o: TerminalOptions) -> anyhow::Result<Terminal> {
    let outbox = OutboxHandle::new(Outbox::open(&o.data_dir.join("outbox"), o.limits)?);
    let audit = Arc::new(Mutex::new(AuditLog::open(&o.data_dir.join("audit.sqlite"))?));
    let central = CentralClient::new(&o.central_url, &o.identity, o.timeouts)?;
    let metrics = Arc::new(Metrics::for_data_dir(o.data_dir.clone()));
    let stop = Arc::new(Notify::new());
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(sender::run(outbox.clone(), central.clone(), o.backoff, stop.clone())));
    tasks.push(tokio::spawn(telemetry::run(
        metrics.clone(),
        outbox.clone(),
        audit.clone(),
        central.clone(),
        o.heartbeat,
    )));
    tasks.push(tokio::spawn(
        crate::renewal::Renewer::new(
            central.clone(),
            o.data_dir.clone(),
            o.identity.clone(),
            outbox.clone(),
            crate::app::inventory(),
            crate::renewal::system_clock(),
            crate::renewal::RenewalTiming::default(),
        )
        .run(stop.clone()),
    ));
    if let Some(settings) = o.updates {
        let updater = crate::update::agent::Updater::new(
            central.clone(),
            crate::update::spool::Spool::in_data_dir(&o.data_dir),
            outbox.clone(),
            metrics.clone(),
            settings,
            crate::renewal::system_clock(),
        );
        tasks.push(tokio::spawn(updater.run(stop.clone())));
    }
    let mut metrics_addr = None;
    if let Some(addr) = o.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        metrics_addr = Some(listener.local_addr()?);
        tasks.push(tokio::spawn(telemetry::serve_metrics(listener, metrics.clone(), outbox.clone())));
    }
    let wiring_central = central.clone();
    let wiring = Wiring {
        screen: o.screen,
        printer: o.printer,
        camera: o.camera,
        central,
        outbox: outbox.clone(),
        audit: audit.clone(),
        metrics: metrics.clone(),
        submit_wait: o.submit_wait,
        boot_id: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
        maintenance_pin: o.maintenance_pin.map(Arc::from),
        pin_guard_file: Some(o.data_dir.join("pin-guard.json")),
        tools: o.maintenance_tools.map(Arc::new),
    };
    let runtime = Runtime::new(o.timing, wiring);
    let events = runtime.events();
    let stopped = stop.clone();
    tasks.push(tokio::spawn(runtime.run(async move { stopped.notified().await })));
    crate::runtime::systemd::ready();
    Ok(Terminal { events, outbox, audit, metrics, metrics_addr, central: wiring_central, stop, tasks })
}

/// The longest a clean shutdown waits to tell central: a terminal that cannot reach it
/// still stops at once (central then sees it offline after missed heartbeats).
const POWER_OFF_NOTICE: Duration = Duration::from_secs(1);

impl Terminal {
    /// Tells central, directly and not through the outbox (a notice delivered after the
    /// next start would be false), that this terminal is being switched off: operations
    /// see it as powered off at once rather than offline minutes later.
    pub async fn announce_power_off(&self) -> Result<(), crate::central_api::CentralError> {
        let event = crate::outbox::event(
            "terminal.powered_off",
            contract::Severity::Info,
            None,
            crate::outbox::sender::now_ms(),
        );
        let batch = contract::TelemetryBatch { heartbeat: None, events: vec![event], audit: vec![] };
        match tokio::time::timeout(POWER_OFF_NOTICE, self.central.send_telemetry(&batch)).await {
            Ok(sent) => sent,
            Err(_) => Err(crate::central_api::CentralError::Unreachable(format!(
                "no answer within {} ms",
                POWER_OFF_NOTICE.as_millis()
            ))),
        }
    }

    /// A clean shutdown (systemd's stop, Ctrl-C): says so to central, then stops.
    pub async fn power_off(self) {
        match self.announce_power_off().await {
            Ok(()) => tracing::info!("told the central service this terminal is powering off"),
            Err(e) => tracing::warn!(error = %e, "could not tell the central service this terminal is powering off"),
        }
        self.shutdown().await;
    }

    pub async fn shutdown(self) {
        self.stop.notify_waiters();
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
    }
}
