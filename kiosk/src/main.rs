//! `kiosk`: the self-service terminal runtime on real hardware. Reads like a table of
//! contents: parse the command line, load the configuration, then run, enroll, verify
//! the audit trail or make a PIN hash. (Every device simulated, with the reference
//! central service alongside: `kiosk-simulate`, in the `simulation` crate.)

use clap::{Parser, Subcommand};
use kiosk::app::{self, WindowChoice};
use kiosk::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "kiosk", version, about = "Self-service kiosk runtime")]
struct Cli {
    /// Configuration file (see kiosk/kiosk.example.toml).
    #[arg(long, global = true, default_value = "/etc/kiosk/kiosk.toml")]
    config: PathBuf,
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

fn main() -> ExitCode {
    // Before any thread starts: arenas made earlier would keep their own settings.
    let tuned = kiosk::memory::tune_allocator();
    // Logs to stderr, like every tool of the project.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    tracing::debug!(tuned, "allocator: large blocks given back when freed, at most two arenas");
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kiosk: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(Command::MaintenancePin) = cli.command {
        return maintenance_pin();
    }
    let config = Config::load(&cli.config)?;
    if cli.command.is_none() {
        // The screen's rotation goes into the environment while this is the only thread.
        kiosk::display::set_rotation_before_threads(&config)?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    match &cli.command {
        Some(Command::Audit { action: AuditAction::Verify }) => audit_verify(&config),
        Some(Command::Enroll { token, ca }) => rt.block_on(app::enroll(&config, token, ca)),
        Some(Command::MaintenancePin) => maintenance_pin(),
        None => {
            let choice = WindowChoice { headless: cli.headless, fullscreen: true };
            let settings = config.clone();
            let path = cli.config.clone();
            app::run(&config, choice, rt, move |frontend| app::run_production(settings, path, frontend))
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
