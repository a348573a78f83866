//! `kiosk`: the self-service terminal runtime. Reads like a table of contents: parse
//! the command line, load the configuration, then run, simulate, enroll or verify.

use clap::{Parser, Subcommand};
use kiosk::config::Config;
use kiosk::window::{Frontend, WindowScreens};
use std::path::PathBuf;
use std::process::ExitCode;

mod simulate;

#[derive(Parser, Debug)]
#[command(name = "kiosk", version, about = "Self-service kiosk runtime")]
struct Cli {
    /// Configuration file (see kiosk/kiosk.example.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Every device simulated in-process; without a central URL, the reference
    /// central service runs alongside and the terminal enrolls itself.
    #[arg(long)]
    simulate: bool,
    /// With --simulate: how long to run before exiting (default: until Ctrl-C).
    #[arg(long, value_parser = humantime_secs)]
    run_for: Option<u64>,
    /// With --simulate: no scripted citizen (an idle terminal, for measurements).
    #[arg(long)]
    no_demo: bool,
    /// With --simulate and a window: also run the scripted citizen (the default without
    /// a window).
    #[arg(long)]
    demo_script: bool,
    /// No window even when a display is available: screens go to the log.
    #[arg(long)]
    headless: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Audit trail tools.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
    /// Reads a 6-digit technician PIN on standard input and prints the `pin_hash` line
    /// for the configuration's `[maintenance]` table (argon2; the PIN itself is not kept).
    MaintenancePin,
    /// Enroll this terminal with a one-time token from the central service.
    Enroll {
        #[arg(long)]
        token: String,
        /// The central service's CA certificate (PEM).
        #[arg(long)]
        ca: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum AuditAction {
    /// Walks the hash chain; exits non-zero naming the first edited or deleted record.
    Verify,
}

fn humantime_secs(s: &str) -> Result<u64, String> {
    s.trim_end_matches('s').parse().map_err(|_| format!("{s:?} is not a number of seconds"))
}

fn main() -> ExitCode {
    // Logs to stderr: stdout is the simulator console's (`--simulate`).
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kiosk: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    match &cli.config {
        Some(path) => Ok(Config::load(path)?),
        None if cli.simulate => Ok(Config::simulated(std::env::temp_dir().join("kiosk-simulate"))),
        None => anyhow::bail!("no configuration: pass --config /etc/kiosk/kiosk.toml (or --simulate)"),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(Command::MaintenancePin) = cli.command {
        return maintenance_pin();
    }
    let config = load_config(&cli)?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    match &cli.command {
        Some(Command::Audit { action: AuditAction::Verify }) => audit_verify(&config),
        Some(Command::Enroll { token, ca }) => rt.block_on(simulate::enroll(&config, token, ca)),
        Some(Command::MaintenancePin) => maintenance_pin(),
        None => run_terminal(&cli, config, rt),
    }
}

/// The terminal itself: the Slint window on this (main) thread when a display is
/// there, the tokio runtime with the core and the devices on a second thread.
fn run_terminal(cli: &Cli, config: Config, rt: tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
    let window = if cli.headless { None } else { open_window(&config, !cli.simulate) };
    let (simulate, run_for) = (cli.simulate, cli.run_for);
    let script = !cli.no_demo && (cli.demo_script || window.is_none());
    let Some((window, frontend)) = window else {
        return if simulate {
            rt.block_on(simulate::run(config, run_for, script, Frontend::Log))
        } else {
            rt.block_on(simulate::run_production(config, Frontend::Log))
        };
    };
    let quit = window.handle();
    let stopped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping = stopped.clone();
    let terminal = std::thread::Builder::new().name("terminal".into()).spawn(move || {
        let result = if simulate {
            rt.block_on(simulate::run(config, run_for, script, frontend))
        } else {
            rt.block_on(simulate::run_production(config, frontend))
        };
        // The terminal stopped (Ctrl-C, --run-for, an error): close the window too.
        stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Err(e) = quit.quit() {
            tracing::debug!(error = %e, "window already closed");
        }
        result
    })?;
    let shown = window.run();
    if !stopped.load(std::sync::atomic::Ordering::SeqCst) {
        // The window went away on its own (the display died, or it was closed on a
        // desktop). Exiting is safe: everything submitted is already in the outbox on
        // disk, and under systemd the service is restarted.
        return match shown {
            Err(e) => Err(anyhow::anyhow!("the window failed: {e}")),
            Ok(()) => Ok(ExitCode::SUCCESS),
        };
    }
    terminal.join().map_err(|_| anyhow::anyhow!("the terminal thread panicked"))?
}

/// The kiosk window, or `None` (with the reason logged) when there is no display.
fn open_window(config: &Config, fullscreen: bool) -> Option<(ui::KioskWindow, Frontend)> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        tracing::info!("no display (DISPLAY is unset): running without a window, screens go to the log");
        return None;
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
            // Full screen on a real terminal; a normal window for the simulator demo.
            window.set_fullscreen(fullscreen);
            let screens = WindowScreens::new(window.handle(), language);
            Some((window, Frontend::Window { screens, intents }))
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the window: running without one, screens go to the log");
            None
        }
    }
}

fn maintenance_pin() -> anyhow::Result<ExitCode> {
    let mut pin = String::new();
    std::io::stdin().read_line(&mut pin)?;
    let hash = kiosk::config::hash_pin(pin.trim())?;
    // A bare key: appended to kiosk.example.toml it lands in `[maintenance]`, its last table.
    println!("pin_hash = \"{hash}\"");
    Ok(ExitCode::SUCCESS)
}

fn audit_verify(config: &Config) -> anyhow::Result<ExitCode> {
    let log = kiosk::audit::AuditLog::open(&config.terminal.data_dir.join("audit.sqlite"))?;
    match log.verify()? {
        Ok(n) => {
            println!("audit trail intact: {n} records");
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            println!("audit trail BROKEN: {broken}");
            Ok(ExitCode::from(2))
        }
    }
}
