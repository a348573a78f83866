//! `kiosk-simulate`: the terminal with every device simulated behind its real driver
//! and, without a central URL in the configuration, the reference central service in
//! this process (the terminal enrolls itself). With a display the window opens and
//! standard input is the simulator console; without one (or with `--demo-script`) a
//! scripted citizen walks through the services.

use clap::Parser;
use kiosk::app::{self, Frontend, WindowChoice};
use kiosk::central_api::DeviceIdentity;
use kiosk::config::Config;
use kiosk::runtime::devices::Supervision;
use printer::virtual_printer::PrinterControl;
use session::maintenance::{Pin, TestSubject};
use session::{CertificateKind, CertificatePeriod, Event, Intent, RatingGrade, Service};
use simulation::{DeviceSettings, ReferenceCentral, SimulatedTerminal, TerminalSetup, cards};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "kiosk-simulate",
    version,
    about = "The kiosk on simulated devices, with the reference central service"
)]
struct Cli {
    /// Configuration file (default: every default, data under the temporary folder).
    #[arg(long)]
    config: Option<PathBuf>,
    /// How long to run before exiting (default: until Ctrl-C).
    #[arg(long, value_parser = seconds)]
    run_for: Option<u64>,
    /// No scripted citizen (an idle terminal, for measurements).
    #[arg(long)]
    no_demo: bool,
    /// With a window: also run the scripted citizen (the default without a window).
    #[arg(long)]
    demo_script: bool,
    /// No window even when a display is available: screens go to the log.
    #[arg(long)]
    headless: bool,
}

fn seconds(s: &str) -> Result<u64, String> {
    s.trim_end_matches('s').parse().map_err(|_| format!("{s:?} is not a number of seconds"))
}

/// The technician PIN of a simulated terminal without one configured.
const DEMO_PIN: &str = "246810";

fn main() -> ExitCode {
    // Before any thread starts: arenas made earlier would keep their own settings.
    let tuned = kiosk::memory::tune_allocator();
    // Logs to stderr: stdout is the simulator console's.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    tracing::debug!(tuned, "allocator: large blocks given back when freed, at most two arenas");
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kiosk-simulate: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::simulated(std::env::temp_dir().join("kiosk-simulate")),
    };
    if config.maintenance.pin_hash.is_none() {
        config.maintenance.pin_hash = Some(kiosk::config::hash_pin(DEMO_PIN)?);
        tracing::info!("simulator: five taps on the top-left corner, then PIN {DEMO_PIN}, open the maintenance screen");
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let choice = WindowChoice { headless: cli.headless, fullscreen: false };
    let settings = config.clone();
    app::run(&config, choice, rt, move |frontend| {
        let script = !cli.no_demo && (cli.demo_script || !frontend.is_window());
        simulate(settings, cli.run_for, script, frontend)
    })
}

/// The terminal on simulated devices until Ctrl-C or `run_for` seconds.
async fn simulate(config: Config, run_for: Option<u64>, script: bool, frontend: Frontend) -> anyhow::Result<ExitCode> {
    let data_dir = config.terminal.data_dir.clone();
    std::fs::create_dir_all(&data_dir)?;
    let (url, identity, central) = match &config.central.url {
        Some(url) => {
            let identity = DeviceIdentity::load(&data_dir)?.ok_or_else(|| {
                anyhow::anyhow!("not enrolled with {url}: run `kiosk enroll --token ... --ca ...` first")
            })?;
            (url.clone(), identity, None)
        }
        None => {
            let central = ReferenceCentral::start(&data_dir.join("central"), 300).await?;
            tracing::info!(url = %central.url(), "reference central service started in-process");
            let identity = central.enrolled(&data_dir).await?;
            (central.url(), identity, Some(central))
        }
    };
    let screen = frontend.sink();
    frontend.set_terminal_id(&identity.device_id);
    let devices = DeviceSettings::lifelike(&identity.device_id, &identity.verify_base_url);
    let options = {
        let config = config.clone();
        move |printer, camera| app::options(&config, url, identity, printer, camera, screen)
    };
    let supervision = Supervision { backoff: config.backoff(), reader: config.reader(), ..Supervision::default() };
    let sim = SimulatedTerminal::start(TerminalSetup {
        options: Box::new(options),
        devices,
        supervision,
        wrap_printer: None,
    })
    .await?;
    frontend.set_social_security_card(sim.devices.social_security.is_some());
    frontend.report_to(&sim.terminal.outbox);
    frontend.connect(sim.terminal.events.clone());
    let console = tokio::spawn(sim.devices.controls().run(tokio::io::BufReader::new(tokio::io::stdin())));
    if let Some(addr) = sim.terminal.metrics_addr {
        tracing::info!("metrics on http://{addr}/metrics");
    }
    // A scripted citizen walks through the services so the log (and the window, if
    // there is one) shows every flow against the simulated devices.
    let demo = script.then(|| {
        tokio::spawn(demo_citizen(
            sim.terminal.events.clone(),
            sim.devices.reader.control(),
            sim.devices.social_security.as_ref().map(|s| s.control.clone()),
            sim.devices.paper.clone(),
            data_dir.join("receipts"),
        ))
    });
    match run_for {
        Some(secs) => tokio::time::sleep(Duration::from_secs(secs)).await,
        None => kiosk::app::stop_requested().await,
    }
    if let Some(demo) = demo {
        demo.abort();
    }
    console.abort();
    if let Err(e) = sim.terminal.announce_power_off().await {
        tracing::warn!(error = %e, "could not tell the central service this terminal is powering off");
    }
    sim.shutdown().await;
    if let Some(central) = central {
        central.shutdown().await;
    }
    Ok(ExitCode::SUCCESS)
}

async fn demo_citizen(
    events: tokio::sync::mpsc::Sender<Event>,
    reader: idcard::sim::SimControl,
    social_security: Option<sscard::sim::SimControl>,
    paper: PrinterControl,
    receipts: PathBuf,
) {
    let pause = || tokio::time::sleep(Duration::from_millis(1500));
    let touch = |i: Intent| Event::Touch(i);
    pause().await;
    reader.place(cards::APPROVED_PENSIONER);
    let steps = [
        touch(Intent::Choose(Service::Certificate)),
        touch(Intent::Confirm),
        touch(Intent::ChooseCertificate {
            kind: CertificateKind::AllInsurances,
            period: CertificatePeriod::LastMonths(12),
        }),
        touch(Intent::Print),
        touch(Intent::Done),
        touch(Intent::Rate { grade: RatingGrade::VerySatisfied, reasons: vec![] }),
        touch(Intent::Choose(Service::QualificationCheck)),
        touch(Intent::Confirm),
    ];
    for step in steps {
        pause().await;
        let _ = events.send(step).await;
    }
    // The camera's head turn and the submission take a few seconds.
    tokio::time::sleep(Duration::from_secs(8)).await;
    for step in [
        touch(Intent::Done),
        touch(Intent::Rate { grade: RatingGrade::Satisfied, reasons: vec![] }),
        touch(Intent::Exit),
    ] {
        pause().await;
        let _ = events.send(step).await;
    }
    reader.remove();
    pause().await;
    // A worker with their social security card looks at their contribution record.
    if let Some(card) = &social_security {
        card.insert(simulation::social_security_cards::WORKER);
        for step in [
            touch(Intent::Choose(Service::ContributionRecord)),
            touch(Intent::Confirm),
            touch(Intent::Done),
            touch(Intent::SkipRating),
            touch(Intent::Exit),
        ] {
            pause().await;
            let _ = events.send(step).await;
        }
        card.remove();
        pause().await;
    }
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
