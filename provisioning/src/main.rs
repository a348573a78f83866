//! The technician's tool: `detect` lists what is on which port and suggests the
//! `[devices]` section; `check` tests a kiosk configuration against the hardware.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
        Command::Detect { ports, only, json } => {
            let found = detect::detect(&Candidates::gather(&ports, only), &timings);
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
