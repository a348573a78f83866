//! `kiosk --simulate` and `kiosk enroll`: the terminal with every device simulated
//! in-process and, without a central URL, the reference central service alongside.

use kiosk::central_api::{CentralClient, DeviceIdentity, Timeouts};
use kiosk::config::Config;
use kiosk::runtime::LoggedScreens;
use kiosk::runtime::escpos_printer::DriverPrinter;
use kiosk::runtime::simulated::{SimCamera, SimReader};
use kiosk::session::{CertificateKind, Event, Grade, Intent, Service};
use kiosk::terminal::{self, TerminalOptions};
use printer::virtual_printer::{PrinterControl, VirtualPrinter};
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

pub async fn run_production(_config: Config) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "running against real devices is not wired in this build yet (the idcard/printer/camera drivers \
         are being integrated); use `kiosk --simulate`"
    )
}

pub async fn run(config: Config, run_for: Option<u64>, demo: bool) -> anyhow::Result<ExitCode> {
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
    // The real ESC/POS driver printing to the virtual printer, which renders PNGs.
    let paper = VirtualPrinter::new(printer::Profile::KIOSK_80);
    let receipts = paper.control();
    let printer = DriverPrinter::new(printer::Printer::new(paper.link(), printer::Profile::KIOSK_80));
    let camera = SimCamera::with_test_face()?;
    let terminal = terminal::start(TerminalOptions {
        data_dir: data_dir.clone(),
        central_url: url,
        identity,
        timeouts: timeouts(&config),
        timing: config.session_timing(),
        submit_wait: Duration::from_secs(config.central.submit_wait_s),
        heartbeat: Duration::from_secs(config.telemetry.heartbeat_s),
        backoff: config.backoff(),
        limits: config.outbox_limits(),
        metrics_listen: config.telemetry.metrics_listen,
        screen: Arc::new(LoggedScreens),
        printer: Arc::new(printer),
        camera: Arc::new(camera),
    })
    .await?;
    if let Some(addr) = terminal.metrics_addr {
        tracing::info!("metrics on http://{addr}/metrics");
    }
    // No touchscreen is wired in this build: a scripted citizen walks through the
    // services so the log shows every flow against the simulated devices.
    let demo =
        demo.then(|| tokio::spawn(demo_citizen(terminal.events.clone(), receipts.clone(), data_dir.join("receipts"))));
    match run_for {
        Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    if let Some(demo) = demo {
        demo.abort();
    }
    terminal.shutdown().await;
    if let Some(server) = central_server {
        server.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}

async fn demo_citizen(events: tokio::sync::mpsc::Sender<Event>, paper: PrinterControl, receipts: std::path::PathBuf) {
    let pause = || tokio::time::sleep(Duration::from_millis(1500));
    let touch = |i: Intent| Event::Touch(i);
    let reader = SimReader::new(events.clone());
    pause().await;
    reader.place(central::registry::APPROVED_PENSIONER_ID, central::registry::APPROVED_PENSIONER_NAME).await;
    let steps = [
        touch(Intent::Choose(Service::Certificate)),
        touch(Intent::ChooseCertificate(CertificateKind::Participation)),
        touch(Intent::Print),
        touch(Intent::Done),
        touch(Intent::Rate { grade: Grade::VerySatisfied, reasons: vec![] }),
        touch(Intent::Choose(Service::Qualification)),
    ];
    for step in steps {
        pause().await;
        let _ = events.send(step).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    for step in
        [touch(Intent::Done), touch(Intent::Rate { grade: Grade::Satisfied, reasons: vec![] }), touch(Intent::Exit)]
    {
        pause().await;
        let _ = events.send(step).await;
    }
    reader.remove().await;
    let saved = std::fs::create_dir_all(&receipts)
        .map_err(|e| e.to_string())
        .and_then(|()| paper.save_pngs(&receipts).map_err(|e| e.to_string()));
    match saved {
        Ok(paths) => tracing::info!(?paths, "printed receipts saved as PNG"),
        Err(e) => tracing::warn!(error = %e, "could not save the printed receipts"),
    }
}
