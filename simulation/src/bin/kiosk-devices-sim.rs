//! `kiosk-devices-sim`: the simulated ID card reader and receipt printer as devices of
//! their own, for a `kiosk` that runs as a separate process (the package test's
//! end-to-end software update runs the installed kiosk in a Debian root against them).
//! The reader is idcard's simulator on a pseudo-terminal behind a symlink (as udev names
//! the real one); the printer is the virtual ESC/POS printer on a TCP port (as a network
//! printer on `tcp://host:9100`). Prints one JSON line with both addresses, then serves
//! until SIGTERM or SIGINT. There is no camera here: V4L2 cannot be simulated without a
//! kernel module.

use clap::Parser;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "kiosk-devices-sim",
    version,
    about = "Simulated ID card reader and receipt printer for a separate kiosk process"
)]
struct Cli {
    /// The symlink the reader's pseudo-terminal gets (the kiosk's `reader_port`).
    #[arg(long)]
    reader_link: PathBuf,
    /// Where the printer listens (the kiosk's `printer = "tcp://..."`).
    #[arg(long, default_value = "127.0.0.1:0")]
    printer_listen: String,
}

fn main() -> ExitCode {
    // Logs to stderr: stdout carries the one line of addresses.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kiosk-devices-sim: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let cards = idcard::sim::load_cards(include_str!("../../testdata/cards.toml"))?;
    let reader = idcard::sim::Simulator::new(cards, idcard::sim::SimConfig::default());
    let pty = reader.serve_pty(&cli.reader_link)?;
    let terminal = std::fs::canonicalize(pty.path())?;
    // The kiosk runs as its own user; the real reader's node is the kiosk group's by the
    // udev rule. A pseudo-terminal is its creator's, so it is opened up here.
    std::fs::set_permissions(&terminal, std::fs::Permissions::from_mode(0o666))?;
    let printer = printer::virtual_printer::VirtualPrinter::new(printer::Profile::KIOSK_80);
    let server = printer.serve_tcp(&cli.printer_listen)?;
    let line = serde_json::json!({
        "reader": cli.reader_link,
        "reader_terminal": terminal,
        "printer": format!("tcp://{}", server.local_addr()),
    });
    println!("{line}");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (mut term, mut int) = (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?);
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        anyhow::Ok(())
    })?;
    tracing::info!(receipts = printer.control().receipt_count(), "stopping");
    // Dropping the servers removes the symlink and closes the port.
    drop(pty);
    drop(server);
    Ok(())
}
