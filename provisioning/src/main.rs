//! The technician's tool: `detect` lists what is on which port and suggests the
//! `[devices]` section; `check` tests a kiosk configuration against the hardware.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use provisioning::install::run::{self as install, Subject};
use provisioning::{Timings, check, detect, discover::Candidates};

/// Exit codes (see README): all configured devices answer / something is wrong / bad config or usage.
const EXIT_WRONG: u8 = 1;
const EXIT_BAD_CONFIG: u8 = 2;

#[derive(Parser, Debug)]
#[command(name = "kiosk-provision", version, about = "Find the kiosk's devices and check its [devices] configuration")]
struct Cli {
    /// How long each probe attempt waits for a reply, in milliseconds (slow adapters).
    #[arg(long, global = true, value_name = "MS", default_value_t = 250, value_parser = clap::value_parser!(u64).range(20..=10_000))]
    attempt_ms: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Probe serial ports, USB printer nodes and list cameras; print the suggested [devices] section.
    Detect {
        /// Also probe this port (serial device, /dev/usb/lpN or tcp://host:9100); repeatable.
        #[arg(long = "port", value_name = "P")]
        ports: Vec<String>,
        /// Probe only the --port arguments, not the ports the system lists.
        #[arg(long)]
        only: bool,
        /// Print the findings as JSON.
        #[arg(long)]
        json: bool,
        /// Leave this port alone (a running kiosk's driver holds it); repeatable.
        #[arg(long = "skip", value_name = "P")]
        skip: Vec<String>,
    },
    /// Probe the ports a kiosk configuration names; say what to change when a device is elsewhere.
    Check {
        #[arg(long, default_value = "/etc/kiosk/kiosk.toml")]
        config: PathBuf,
        /// Also search this port for misplaced devices; repeatable.
        #[arg(long = "port", value_name = "P")]
        ports: Vec<String>,
        /// Search only the configured ports and the --port arguments.
        #[arg(long)]
        only: bool,
    },
    /// The guided install: detect, configure, self-test, enroll, PIN, receipt, start,
    /// and wait until central sees the terminal. Asks for what the flags do not give
    /// (in a terminal); a re-run after a failure resumes at the failed step.
    Install(Box<InstallArgs>),
    /// The software update installer (root): `apply` carries out the kiosk's request
    /// (started by kiosk-update.path), `recover` undoes an update a power cut
    /// interrupted (run before every kiosk start). Prints the outcome as JSON.
    Update(UpdateArgs),
}

#[derive(clap::Args, Debug)]
struct UpdateArgs {
    #[arg(value_enum)]
    action: UpdateAction,
    #[arg(long, default_value = "/etc/kiosk/kiosk.toml")]
    config: PathBuf,
    /// The installer's own root-only directory (journal, checked package, saved version).
    #[arg(long, default_value = "/var/lib/kiosk-update")]
    state_dir: PathBuf,
    /// Replaces `dpkg` in the install commands (a test root's wrapper).
    #[arg(long, value_name = "CMD", hide = true)]
    dpkg: Option<String>,
    /// Restarts the kiosk, run with `sh -c` (default: systemctl restart kiosk.service).
    #[arg(long, value_name = "CMD")]
    restart_command: Option<String>,
    /// Overrides `[updates] health_deadline_s`.
    #[arg(long, value_name = "S")]
    health_deadline_s: Option<u64>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum UpdateAction {
    Apply,
    Recover,
}

#[derive(clap::Args, Debug)]
struct InstallArgs {
    /// The central service's URL (https://...).
    #[arg(long = "central", value_name = "URL")]
    central: Option<String>,
    /// The fleet CA certificate (PEM) operations gave with the token.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// The fleet CA's SHA-256 fingerprint operations gave (hex, colons optional):
    /// enrollment is refused when the CA file's differs.
    #[arg(long, value_name = "SHA256")]
    ca_fingerprint: Option<String>,
    /// The one-time enrollment token.
    #[arg(long, value_name = "T")]
    token: Option<String>,
    /// A file whose first line is the 6-digit technician PIN (asked, without echo, when absent).
    #[arg(long, value_name = "F")]
    pin_file: Option<PathBuf>,
    /// Do not ask before replacing an existing configuration (no copy is kept).
    #[arg(long)]
    yes: bool,
    #[arg(long, default_value = "/etc/kiosk/kiosk.toml")]
    config: PathBuf,
    /// The kiosk's data directory (identity, outbox, audit trail; the install's progress).
    #[arg(long, default_value = "/var/lib/kiosk")]
    data_dir: PathBuf,
    /// Also probe this port; repeatable.
    #[arg(long = "port", value_name = "P")]
    ports: Vec<String>,
    /// Probe only the --port arguments.
    #[arg(long)]
    only: bool,
    /// The camera's device (default: the first /dev/video* found).
    #[arg(long, value_name = "DEV")]
    camera: Option<String>,
    /// The paper width: 80mm or 58mm (it cannot be probed).
    #[arg(long, default_value = "80mm", value_parser = ["80mm", "58mm"])]
    printer_profile: String,
    /// The kiosk's local metrics address (default: the kiosk's own, 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,
    /// Install without this device's self-test (said on the receipt); repeatable.
    #[arg(long = "skip-self-test", value_enum, value_name = "DEVICE")]
    skip_self_tests: Vec<Subject>,
    /// How long the reader's self-test waits for a test card.
    #[arg(long, default_value_t = 60, value_name = "S")]
    card_wait_s: u64,
    /// Where the per-terminal udev rules go.
    #[arg(long, default_value = "/etc/udev/rules.d/70-kiosk-terminal.rules")]
    udev_rules: PathBuf,
    /// Starts the kiosk service, run with `sh -c` (default: systemctl enable --now kiosk.service).
    #[arg(long, value_name = "CMD")]
    start_command: Option<String>,
    /// How long to wait for central to accept the first heartbeat.
    #[arg(long, default_value_t = 120, value_name = "S")]
    heartbeat_wait_s: u64,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let attempt = std::time::Duration::from_millis(cli.attempt_ms);
    let timings = Timings { reader: attempt, printer: attempt };
    match cli.command {
        Command::Update(a) => update(a),
        Command::Install(a) => {
            let options = install::Options {
                config_path: a.config,
                data_dir: a.data_dir,
                central_url: a.central,
                ca: a.ca,
                ca_fingerprint: a.ca_fingerprint,
                token: a.token,
                pin_file: a.pin_file,
                yes: a.yes,
                ports: a.ports,
                only: a.only,
                camera: a.camera,
                printer_profile: a.printer_profile,
                metrics_listen: a.metrics_listen,
                skip_self_tests: a.skip_self_tests,
                card_wait: std::time::Duration::from_secs(a.card_wait_s),
                udev_rules: a.udev_rules,
                start_command: a.start_command,
                heartbeat_wait: std::time::Duration::from_secs(a.heartbeat_wait_s),
                timings,
            };
            ExitCode::from(install::install(&options))
        }
        Command::Detect { ports, only, json, skip } => {
            let found = detect::detect(&Candidates::gather(&ports, only).without(&skip), &timings);
            if json {
                let doc = serde_json::json!({
                    "serial": found.serial,
                    "usb_printers": found.usb_printers,
                    "tcp_printers": found.tcp_printers,
                    "cameras": found.cameras,
                    "suggested_devices_toml": found.suggested_toml(),
                    "probe_bound_ms_per_serial_port": timings.serial_port_bound().as_millis() as u64,
                });
                println!("{doc:#}");
            } else {
                print!("{}", found.render(&timings));
            }
            ExitCode::SUCCESS
        }
        Command::Check { config, ports, only } => {
            let config = match kiosk::config::Config::load(&config) {
                Ok(c) => c,
                Err(e) => {
                    tracing::info!(error = %e, "configuration refused");
                    eprintln!("kiosk-provision: {e}");
                    return ExitCode::from(EXIT_BAD_CONFIG);
                }
            };
            let d = config.devices;
            let devices = check::DevicesSection {
                reader_port: d.reader_port,
                reader_baud: d.reader_baud,
                printer: d.printer,
                printer_baud: d.printer_baud,
                camera: d.camera,
            };
            let verdicts = check::check(&devices, &ports, only, &timings);
            for v in &verdicts {
                println!("{} {}", if v.ok { "ok  " } else { "FAIL" }, v.text);
            }
            if verdicts.iter().all(|v| v.ok) { ExitCode::SUCCESS } else { ExitCode::from(EXIT_WRONG) }
        }
    }
}

fn update(a: UpdateArgs) -> ExitCode {
    use provisioning::update;
    let config = match kiosk::config::Config::load(&a.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kiosk-provision: {e}");
            return ExitCode::from(EXIT_BAD_CONFIG);
        }
    };
    let mut commands = update::Commands::default();
    if let Some(dpkg) = a.dpkg {
        commands.install[0].clone_from(&dpkg);
        commands.configure_pending[0] = dpkg;
    }
    if let Some(cmd) = a.restart_command {
        commands.restart = vec!["sh".into(), "-c".into(), cmd];
    }
    let mut installer = update::for_config(&config, a.state_dir, commands);
    if let Some(s) = a.health_deadline_s {
        installer.health_deadline = std::time::Duration::from_secs(s);
    }
    let result = match a.action {
        UpdateAction::Apply => installer.apply(),
        UpdateAction::Recover => installer.recover(),
    };
    match result {
        Ok(outcome) => {
            println!("{}", serde_json::to_string(&outcome).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kiosk-provision update: {e}");
            ExitCode::from(EXIT_WRONG)
        }
    }
}
