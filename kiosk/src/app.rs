//! Running a terminal as a program: the Slint window on the main thread (when there is
//! a display) and the tokio runtime with the core and the devices on a second thread;
//! the production device set from `[devices]`; enrollment. `kiosk` (production) and
//! `kiosk-simulate` (every device simulated) both start their terminals through here.

use crate::central_api::{CentralClient, DeviceIdentity, Timeouts};
use crate::config::Config;
use crate::runtime::camera::DriverCamera;
use crate::runtime::devices::{self, Supervision};
use crate::runtime::escpos_printer::DriverPrinter;
use crate::runtime::maintenance_tools::{self, ConfiguredPorts, MaintenanceTools};
use crate::runtime::{FaceCamera, ReceiptPrinter, ScreenSink, reader};
use crate::terminal::{self, TerminalOptions};
use session::Event;
use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Where the terminal's screens go.
pub enum Frontend {
    /// No display: every screen is written to the log.
    Log,
    /// The Slint window, with the channel its intents arrive on.
    #[cfg(feature = "window")]
    Window {
        screens: crate::window::WindowScreens,
        intents: std::sync::mpsc::Receiver<ui::Intent>,
        /// Where a failing voice is reported once the outbox exists.
        voice: crate::voice::VoiceAlarm,
    },
}

impl std::fmt::Debug for Frontend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Log => "Frontend::Log",
            #[cfg(feature = "window")]
            Self::Window { .. } => "Frontend::Window",
        })
    }
}

impl Frontend {
    /// The runtime's screen sink for this frontend.
    pub fn sink(&self) -> Arc<dyn ScreenSink> {
        match self {
            Self::Log => Arc::new(crate::runtime::LoggedScreens),
            #[cfg(feature = "window")]
            Self::Window { screens, .. } => Arc::new(screens.clone()),
        }
    }

    /// Starts forwarding the window's touches to the running terminal's `events`.
    pub fn connect(self, events: mpsc::Sender<Event>) {
        #[cfg(feature = "window")]
        if let Self::Window { screens, intents, .. } = self {
            let spawned = std::thread::Builder::new()
                .name("ui-intents".into())
                .spawn(move || screens.forward_intents(intents, events));
            match spawned {
                // The start-up benchmark (kiosk/bench/run) times the home screen from here.
                Ok(_) => tracing::info!("the touchscreen is live: touches reach the session core"),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the intent thread: the touchscreen will not respond")
                }
            }
        }
        #[cfg(not(feature = "window"))]
        let _ = (self, events);
    }

    /// The enrolled device id, for the maintenance screen.
    pub fn set_terminal_id(&self, id: &str) {
        #[cfg(feature = "window")]
        if let Self::Window { screens, .. } = self {
            screens.set_terminal_id(id);
        }
        #[cfg(not(feature = "window"))]
        let _ = id;
    }

    /// Says the terminal also reads social security cards (the prompts name both).
    pub fn set_social_security_card(&self, yes: bool) {
        #[cfg(feature = "window")]
        if let Self::Window { screens, .. } = self {
            screens.set_social_security_card(yes);
        }
        #[cfg(not(feature = "window"))]
        let _ = yes;
    }

    /// Telemetry from the frontend (a failed voice) goes to `outbox` from now on.
    pub fn report_to(&self, outbox: &crate::outbox::sender::OutboxHandle) {
        #[cfg(feature = "window")]
        if let Self::Window { voice, .. } = self {
            voice.report_to(outbox);
        }
        #[cfg(not(feature = "window"))]
        let _ = outbox;
    }

    pub fn is_window(&self) -> bool {
        !matches!(self, Self::Log)
    }
}

/// How the window is wanted.
#[derive(Clone, Copy, Debug)]
pub struct WindowChoice {
    /// No window even when a display is there: screens go to the log.
    pub headless: bool,
    /// Full screen (a real terminal) or a normal window (the simulator demo).
    pub fullscreen: bool,
}

/// Runs `terminal` (which starts a terminal showing its screens on the frontend it is
/// given, and returns when it stops) with the Slint window on this thread when there is
/// a display, and on `rt` on a second thread. Without a display, on `rt` here.
pub fn run<F, Fut>(
    config: &Config,
    choice: WindowChoice,
    rt: tokio::runtime::Runtime,
    terminal: F,
) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Frontend) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<ExitCode>>,
{
    #[cfg(feature = "window")]
    if !choice.headless
        && let Some((window, frontend)) = open_window(config, choice.fullscreen)
    {
        return run_beside_window(window, frontend, rt, terminal);
    }
    let _ = (config, choice);
    rt.block_on(terminal(Frontend::Log))
}

#[cfg(feature = "window")]
fn run_beside_window<F, Fut>(
    window: ui::KioskWindow,
    frontend: Frontend,
    rt: tokio::runtime::Runtime,
    terminal: F,
) -> anyhow::Result<ExitCode>
where
    F: FnOnce(Frontend) -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<ExitCode>>,
{
    use std::sync::atomic::{AtomicBool, Ordering};
    let quit = window.handle();
    let stopped = Arc::new(AtomicBool::new(false));
    let stopping = stopped.clone();
    let thread = std::thread::Builder::new().name("terminal".into()).spawn(move || {
        let result = rt.block_on(terminal(frontend));
        // The terminal stopped (Ctrl-C, a time limit, an error): close the window too.
        stopping.store(true, Ordering::SeqCst);
        if let Err(e) = quit.quit() {
            tracing::debug!(error = %e, "window already closed");
        }
        result
    })?;
    let shown = window.run();
    if !stopped.load(Ordering::SeqCst) {
        // The window went away on its own (the display died, or it was closed on a
        // desktop). Exiting is safe: everything submitted is already in the outbox on
        // disk, and under systemd the service is restarted.
        return match shown {
            Err(e) => Err(anyhow::anyhow!("the window failed: {e}")),
            Ok(()) => Ok(ExitCode::SUCCESS),
        };
    }
    thread.join().map_err(|_| anyhow::anyhow!("the terminal thread panicked"))?
}

/// The kiosk window, or `None` (with the reason logged) when there is no display.
#[cfg(feature = "window")]
fn open_window(config: &Config, fullscreen: bool) -> Option<(ui::KioskWindow, Frontend)> {
    use crate::display::DisplayKind;
    let rotation = ui::Rotation::from_degrees(config.display.rotation).unwrap_or_default();
    match crate::display::from_environment() {
        DisplayKind::None => {
            tracing::info!("no display (DISPLAY is unset): running without a window, screens go to the log");
            return None;
        }
        DisplayKind::Desktop => {
            if rotation != ui::Rotation::Deg0 {
                tracing::warn!(
                    degrees = rotation.degrees(),
                    "display.rotation turns the console display only; on X11 the X server turns the screen (xrandr) and the touch (xinput)"
                );
            }
        }
        #[cfg(feature = "kms")]
        DisplayKind::Console => {
            if let Err(e) = ui::kms::select(rotation) {
                tracing::error!(error = %e, "cannot start the console display: running without a window, screens go to the log");
                return None;
            }
            tracing::info!(degrees = rotation.degrees(), "console display (LinuxKMS), screen and touch turned alike");
        }
        #[cfg(not(feature = "kms"))]
        DisplayKind::Console => {
            tracing::error!(
                "SLINT_BACKEND asks for the console display, but this build has no `kms` feature: running without a window, screens go to the log"
            );
            return None;
        }
    }
    let orientation = match config.terminal.orientation.as_str() {
        "portrait" => ui::Orientation::Portrait,
        _ => ui::Orientation::Landscape,
    };
    let language = match config.terminal.language.as_str() {
        "en" => ui::Language::En,
        _ => ui::Language::ZhCn,
    };
    match ui::KioskWindow::new(orientation) {
        Ok((window, intents)) => {
            window.set_fullscreen(fullscreen);
            let screens = crate::window::WindowScreens::new(window.handle(), language);
            screens.set_voice_default(config.voice.on_by_default);
            let voice = crate::voice::VoiceAlarm::default();
            if config.voice.enabled {
                let espeak = crate::voice::espeak::Espeak::new(config.voice.volume);
                match crate::voice::Speaker::spawn(Box::new(espeak), voice.reporter()) {
                    // On the UI thread: only a channel send, the speaking is elsewhere.
                    Ok(speaker) => window.on_prompt(move |p| speaker.prompt(crate::window::voice_prompt(p))),
                    Err(e) => tracing::warn!(error = %e, "cannot start the voice thread: no spoken guidance"),
                }
            }
            Some((window, Frontend::Window { screens, intents, voice }))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the window: running without one, screens go to the log");
            None
        }
    }
}

/// The central service's timeouts from the configuration.
pub fn timeouts(config: &Config) -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(config.central.connect_timeout_s),
        request: Duration::from_secs(config.central.request_timeout_s),
    }
}

/// What this terminal says it is at enrollment.
pub fn inventory() -> contract::HardwareInventory {
    let hostname =
        std::fs::read_to_string("/etc/hostname").map(|h| h.trim().to_owned()).unwrap_or_else(|_| "kiosk".into());
    contract::HardwareInventory { hostname, software_version: crate::update::running_version().into(), devices: vec![] }
}

/// `kiosk enroll`: a one-time token and a locally generated key become this terminal's
/// device certificate, saved in the data directory.
pub async fn enroll(config: &Config, token: &str, ca: &std::path::Path) -> anyhow::Result<ExitCode> {
    let url = config
        .central
        .url
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("configuration key `central.url` is needed to enroll"))?;
    let ca_pem = std::fs::read_to_string(ca)?;
    let identity = CentralClient::enroll(url, &ca_pem, token, inventory(), timeouts(config)).await?;
    std::fs::create_dir_all(&config.terminal.data_dir)?;
    let data = &config.terminal.data_dir;
    identity.save(data)?;
    let outbox = data.join("outbox");
    if outbox.join(crate::outbox::RETIRED_FILE).exists() {
        // A decommissioned terminal enrolled again is a new terminal: its audit trail
        // starts a new chain (the old one is kept aside, and at central under the old
        // id), and it is back in service.
        let aside = data.join(format!("retired-{}", crate::outbox::sender::now_ms() / 1000));
        crate::audit::set_aside(&data.join("audit.sqlite"), &aside)?;
        crate::outbox::Outbox::clear_retired(&outbox)?;
        println!("this terminal was decommissioned: its old audit trail is kept in {}", aside.display());
    }
    println!("enrolled as {}", identity.device_id);
    Ok(ExitCode::SUCCESS)
}

/// The terminal's options from its configuration, with the devices and screen given.
pub fn options(
    config: &Config,
    central_url: String,
    identity: DeviceIdentity,
    printer: Arc<dyn ReceiptPrinter>,
    camera: Arc<dyn FaceCamera>,
    screen: Arc<dyn ScreenSink>,
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
        camera,
        maintenance_pin: config.maintenance.pin_hash.clone(),
        maintenance_tools: None,
        updates: Some(update_settings(config)),
    }
}

/// The update agent's settings from `[updates]`.
pub fn update_settings(config: &Config) -> crate::update::agent::UpdateSettings {
    let u = &config.updates;
    let mut s = crate::update::agent::UpdateSettings::new(u.key(), u.window());
    s.check_every = Duration::from_secs(u.check_every_s);
    // The self-test gives up (naming what is missing) before the installer's deadline,
    // so the rollback's reason is the missing device, not a missing report.
    s.self_test_limit = Duration::from_secs(u.health_deadline_s.saturating_sub(SELF_TEST_MARGIN_S))
        .max(s.self_test_grace + Duration::from_secs(5));
    s
}

/// How much sooner than `[updates] health_deadline_s` the self-test reports a failure.
const SELF_TEST_MARGIN_S: u64 = 10;

/// The terminal on real hardware: the card reader on its serial port, the receipt
/// printer on USB, serial or TCP, the camera through V4L2, each under supervision.
/// Runs until Ctrl-C (systemd's stop).
pub async fn run_production(config: Config, config_path: PathBuf, frontend: Frontend) -> anyhow::Result<ExitCode> {
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
    frontend.set_social_security_card(d.social_security_reader.is_some());
    let verify_base_url = identity.verify_base_url.clone();
    let camera_seam: Arc<dyn FaceCamera> = Arc::new(camera.clone());
    let mut terminal_options = options(&config, url.clone(), identity, printer.clone(), camera_seam, screen);
    terminal_options.maintenance_tools = Some(MaintenanceTools {
        data_dir: data_dir.clone(),
        central_url: url,
        config_path: Some(config_path),
        configured: ConfiguredPorts::from_config(d),
        tool: config.maintenance.provision_tool.clone().unwrap_or_else(maintenance_tools::default_tool),
        detect_args: Vec::new(),
        detect_limit: maintenance_tools::DETECT_LIMIT,
        restart: Arc::new(maintenance_tools::restart_through_systemd),
    });
    let terminal = terminal::start(terminal_options).await?;
    terminal.metrics.set_config_hash(config.effective_hash());
    frontend.report_to(&terminal.outbox);
    frontend.connect(terminal.events.clone());
    let reader = reader::serial_opener(reader_port.display().to_string(), d.reader_baud);
    let supervision = Supervision { backoff: config.backoff(), reader: config.reader(), ..Supervision::default() };
    let optional = devices::OptionalDevices::from_config(d, Some(verify_base_url));
    let devices = devices::start(&terminal.events, reader, &printer, &camera, &optional, &supervision);
    stop_requested().await;
    drop(devices);
    terminal.power_off().await;
    Ok(ExitCode::SUCCESS)
}

/// Until systemd stops the service (SIGTERM) or someone presses Ctrl-C (SIGINT).
pub async fn stop_requested() {
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: stopping"),
                _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot wait for SIGTERM; only Ctrl-C stops the terminal cleanly");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_self_test_gives_up_before_the_installer_stops_waiting() {
        let config = |deadline: u64| {
            let text = format!("[terminal]\ndata_dir = \"/k\"\n[updates]\nhealth_deadline_s = {deadline}\n");
            update_settings(&Config::parse(&text, "c").unwrap())
        };
        assert_eq!(config(300).self_test_limit, Duration::from_secs(290));
        // The shortest deadline still leaves the devices their grace and a few looks.
        let shortest = config(30);
        assert_eq!(shortest.self_test_limit, Duration::from_secs(20));
        assert!(shortest.self_test_limit >= shortest.self_test_grace + Duration::from_secs(5));
    }
}
