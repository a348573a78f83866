//! `kiosk --simulate` and `kiosk enroll`: the terminal with every device simulated
//! in-process and, without a central URL, the reference central service alongside.

use idcard::sim::{SimConfig, SimControl};
use kiosk::central_api::{CentralClient, DeviceIdentity, Timeouts};
use kiosk::config::Config;
use kiosk::runtime::camera::DriverCamera;
use kiosk::runtime::console::Controls;
use kiosk::runtime::devices::{self, SimulatedDevices, Supervision};
use kiosk::runtime::escpos_printer::DriverPrinter;
use kiosk::runtime::reader::{self, cards};
use kiosk::session::maintenance::{Pin, TestSubject};
use kiosk::session::{CertificateKind, CertificatePeriod, Event, Grade, Intent, Service};
use kiosk::terminal::{self, TerminalOptions};
use kiosk::window::Frontend;
use printer::virtual_printer::PrinterControl;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

fn timeouts(config: &Config) -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(config.central.connect_timeout_s),
        request: Duration::from_secs(config.central.request_timeout_s),
    }
}

fn inventory() -> central::api::HardwareInventory {
    let hostname =
        std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_else(|_| "kiosk".into());
    central::api::HardwareInventory { hostname, software_version: env!("CARGO_PKG_VERSION").into(), devices: vec![] }
}

pub async fn enroll(config: &Config, token: &str, ca: &std::path::Path) -> anyhow::Result<ExitCode> {
    let url = config
        .central
        .url
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("configuration key `central.url` is needed to enroll"))?;
    let ca_pem = std::fs::read_to_string(ca)?;
    let identity = CentralClient::enroll(url, &ca_pem, token, inventory(), timeouts(config)).await?;
    std::fs::create_dir_all(&config.terminal.data_dir)?;
    identity.save(&config.terminal.data_dir)?;
    println!("enrolled as {}", identity.device_id);
    Ok(ExitCode::SUCCESS)
}

/// The terminal on real hardware: the card reader on its serial port, the receipt
/// printer on USB or TCP, the camera through V4L2, each under supervision.
pub async fn run_production(config: Config, frontend: Frontend) -> anyhow::Result<ExitCode> {
    let key = |k: &str| anyhow::anyhow!("configuration key `{k}` is needed to run against real devices");
    let data_dir = config.terminal.data_dir.clone();
    let url = config.central.url.clone().ok_or_else(|| key("central.url"))?;
    let identity = DeviceIdentity::load(&data_dir)?
        .ok_or_else(|| anyhow::anyhow!("not enrolled: run `kiosk enroll --token ... --ca ...` first"))?;
    let d = &config.devices;
    let reader_port = d.reader_port.as_ref().ok_or_else(|| key("devices.reader_port"))?;
    let printer_target = d.printer.clone().ok_or_else(|| key("devices.printer"))?;
    let camera_device = d.camera.as_ref().ok_or_else(|| key("devices.camera"))?;
    let profile = match d.printer_profile.as_deref() {
        Some("58mm") => printer::Profile::CLONE_58,
        _ => printer::Profile::KIOSK_80,
    };
    let printer_baud = d.printer_baud;
    let link = devices::Reopening::new(move || devices::open_printer(&printer_target, printer_baud));
    let printer =
        Arc::new(DriverPrinter::new(printer::Printer::new(link, profile)).with_terminal_id(&identity.device_id));
    let camera = DriverCamera::v4l(camera_device.display().to_string());
    let screen = frontend.sink();
    frontend.set_terminal_id(&identity.device_id);
    let terminal = terminal::start(options(&config, url, identity, printer.clone(), camera.clone(), screen)).await?;
    frontend.connect(terminal.events.clone());
    let reader = reader::serial_opener(reader_port.display().to_string(), d.reader_baud);
    let supervision = Supervision { backoff: config.backoff(), ..Supervision::default() };
    let devices = devices::start(&terminal.events, reader, &printer, &camera, &supervision);
    let _ = tokio::signal::ctrl_c().await;
    drop(devices);
    terminal.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

fn options(
    config: &Config,
    central_url: String,
    identity: DeviceIdentity,
    printer: Arc<dyn kiosk::runtime::ReceiptPrinter>,
    camera: DriverCamera,
    screen: Arc<dyn kiosk::runtime::ScreenSink>,
) -> TerminalOptions {
    TerminalOptions {
        data_dir: config.terminal.data_dir.clone(),
        central_url,
        identity,
        timeouts: timeouts(config),
        timing: config.session_timing(),
        submit_wait: Duration::from_secs(config.central.submit_wait_s),
        heartbeat: Duration::from_secs(config.telemetry.heartbeat_s),
        backoff: config.backoff(),
        limits: config.outbox_limits(),
        metrics_listen: config.telemetry.metrics_listen,
        screen,
        printer,
        camera: Arc::new(camera),
        maintenance_pin: config.maintenance.pin_hash.clone(),
    }
}

/// `kiosk --simulate`: screens go to `frontend`; with `script`, a scripted citizen walks
/// through the services; the simulator console reads commands from standard input.
/// The technician PIN of a simulated terminal without one configured.
const DEMO_PIN: &str = "246810";

pub async fn run(
    mut config: Config,
    run_for: Option<u64>,
    script: bool,
    frontend: Frontend,
) -> anyhow::Result<ExitCode> {
    if config.maintenance.pin_hash.is_none() {
        config.maintenance.pin_hash = Some(kiosk::config::hash_pin(DEMO_PIN)?);
        tracing::info!("simulator: five taps on the top-left corner, then PIN {DEMO_PIN}, open the maintenance screen");
    }
    let data_dir = config.terminal.data_dir.clone();
    std::fs::create_dir_all(&data_dir)?;
    let mut central_server = None;
    let (url, identity) = match &config.central.url {
        Some(url) => {
            let identity = DeviceIdentity::load(&data_dir)?
                .ok_or_else(|| anyhow::anyhow!("not enrolled: run `kiosk enroll --token ... --ca ...` first"))?;
            (url.clone(), identity)
        }
        None => {
            let mut server_config = central::ServerConfig::new(data_dir.join("central"));
            server_config.listen = "127.0.0.1:0".parse()?;
            let server = central::start(server_config).await?;
            let url = format!("https://127.0.0.1:{}", server.local_addr().port());
            tracing::info!(%url, "reference central service started in-process");
            let identity = match DeviceIdentity::load(&data_dir)? {
                Some(identity) if identity.ca_pem == server.ca_pem() => identity,
                _ => {
                    let token = server.create_enrollment_token(Duration::from_secs(600))?;
                    let identity =
                        CentralClient::enroll(&url, &server.ca_pem(), &token, inventory(), timeouts(&config)).await?;
                    identity.save(&data_dir)?;
                    tracing::info!(device = %identity.device_id, "enrolled with the in-process central service");
                    identity
                }
            };
            central_server = Some(server);
            (url, identity)
        }
    };
    // Every device behind its real driver: idcard's simulator at 115200 baud with a
    // SAM that takes as long as a real one, the ESC/POS driver on the virtual printer
    // (receipts saved as PNG), a capture session on a synthetic head turn at 10 frames/s.
    let sam = SimConfig { sam_delay: Duration::from_millis(400), ..SimConfig::default() };
    let sim = SimulatedDevices::for_terminal(sam, Duration::from_millis(100), &identity.device_id)?;
    let screen = frontend.sink();
    frontend.set_terminal_id(&identity.device_id);
    let terminal =
        terminal::start(options(&config, url, identity, sim.printer.clone(), sim.camera.clone(), screen)).await?;
    frontend.connect(terminal.events.clone());
    let console = Controls { reader: sim.reader.control(), paper: sim.paper.clone() };
    let console = tokio::spawn(console.run(tokio::io::BufReader::new(tokio::io::stdin())));
    let supervision = Supervision { backoff: config.backoff(), ..Supervision::default() };
    let device_tasks = sim.start(&terminal.events, &supervision);
    if let Some(addr) = terminal.metrics_addr {
        tracing::info!("metrics on http://{addr}/metrics");
    }
    // A scripted citizen walks through the services so the log (and the window, if
    // there is one) shows every flow against the simulated devices.
    let demo = script.then(|| {
        tokio::spawn(demo_citizen(
            terminal.events.clone(),
            sim.reader.control(),
            sim.paper.clone(),
            data_dir.join("receipts"),
        ))
    });
    match run_for {
        Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    if let Some(demo) = demo {
        demo.abort();
    }
    console.abort();
    drop(device_tasks);
    terminal.shutdown().await;
    if let Some(server) = central_server {
        server.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}

async fn demo_citizen(
    events: tokio::sync::mpsc::Sender<Event>,
    reader: SimControl,
    paper: PrinterControl,
    receipts: std::path::PathBuf,
) {
    let pause = || tokio::time::sleep(Duration::from_millis(1500));
    let touch = |i: Intent| Event::Touch(i);
    pause().await;
    reader.place(cards::APPROVED_PENSIONER);
    let steps = [
        touch(Intent::Choose(Service::Certificate)),
        touch(Intent::Confirm),
        touch(Intent::ChooseCertificate {
            kind: CertificateKind::Participation,
            period: CertificatePeriod::LastMonths(12),
        }),
        touch(Intent::Print),
        touch(Intent::Done),
        touch(Intent::Rate { grade: Grade::VerySatisfied, reasons: vec![] }),
        touch(Intent::Choose(Service::Qualification)),
        touch(Intent::Confirm),
    ];
    for step in steps {
        pause().await;
        let _ = events.send(step).await;
    }
    // The camera's head turn and the submission take a few seconds.
    tokio::time::sleep(Duration::from_secs(8)).await;
    for step in
        [touch(Intent::Done), touch(Intent::Rate { grade: Grade::Satisfied, reasons: vec![] }), touch(Intent::Exit)]
    {
        pause().await;
        let _ = events.send(step).await;
    }
    reader.remove();
    pause().await;
    // A card the terminal must refuse: the start screen says why.
    reader.place(cards::EXPIRED);
    pause().await;
    reader.remove();
    // A technician's visit: the hidden gesture, the PIN, a test page, a test card.
    let visit = [
        touch(Intent::Maintenance),
        touch(Intent::SubmitPin(Pin::new(DEMO_PIN))),
        touch(Intent::SelfTest(TestSubject::Printer)),
        touch(Intent::SelfTest(TestSubject::Reader)),
    ];
    for step in visit {
        pause().await;
        let _ = events.send(step).await;
    }
    pause().await;
    reader.place(cards::WORKER);
    pause().await;
    reader.remove();
    pause().await;
    let _ = events.send(touch(Intent::ExitMaintenance)).await;
    let saved = std::fs::create_dir_all(&receipts)
        .map_err(|e| e.to_string())
        .and_then(|()| paper.save_pngs(&receipts).map_err(|e| e.to_string()));
    match saved {
        Ok(paths) => tracing::info!(?paths, "printed receipts saved as PNG"),
        Err(e) => tracing::warn!(error = %e, "could not save the printed receipts"),
    }
}
