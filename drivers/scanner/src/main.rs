//! `scanner`: watch a receipt barcode scanner (serial or keyboard wedge), classify a scan
//! by hand, or simulate a serial scanner on a pseudo-terminal.
//!
//! Exit codes: 0 ok · 1 internal error · 2 usage · 3 scanner not reachable · 6 the scan is
//! not one of ours (classify) · 7 simulator could not start.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use scanner::sim::{ScannerSim, Terminator};
use scanner::{EvdevScanner, Scan, ScannerConfig, ScannerEvent, SerialScanner, classify};

#[derive(Parser)]
#[command(name = "scanner", version, about = "Receipt barcode scanner tool")]
struct Cli {
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print the scans that are ours as they come (Ctrl-C to stop).
    Watch {
        /// A serial (CDC-ACM) scanner, e.g. /dev/ttyACM0.
        #[arg(long, conflicts_with = "evdev", required_unless_present = "evdev")]
        port: Option<String>,
        #[arg(long, default_value_t = 9600)]
        baud: u32,
        /// A keyboard-wedge scanner's input device, e.g. /dev/input/by-id/usb-...-event-kbd.
        #[arg(long)]
        evdev: Option<PathBuf>,
        /// The enrollment's verify base URL (https://host/verify/).
        #[arg(long)]
        verify_base_url: Option<String>,
    },
    /// Say what a scanned text is.
    Classify {
        text: String,
        #[arg(long)]
        verify_base_url: Option<String>,
    },
    /// A serial scanner on a pty: prints its path, then scans every line read on stdin;
    /// `!unplug` and `!plug` pull and return its cable.
    Simulate {
        /// Symlink for the pty (default /tmp/scanner-sim-PID).
        #[arg(long)]
        link: Option<PathBuf>,
        /// cr, lf or crlf.
        #[arg(long, default_value = "cr")]
        terminator: String,
    },
}

struct Failure(u8, String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).init();
    let result = match cli.command {
        Cmd::Watch { port, baud, evdev, verify_base_url } => watch(port, baud, evdev, verify_base_url),
        Cmd::Classify { text, verify_base_url } => classify_text(&text, verify_base_url.as_deref()),
        Cmd::Simulate { link, terminator } => simulate(link, &terminator),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("scanner: {message}");
            ExitCode::from(code)
        }
    }
}

fn describe(scan: &Scan) -> String {
    match scan {
        Scan::Tracking(t) => format!("tracking number {t}"),
        Scan::ClientReference(r) => format!("client reference {r}"),
        Scan::VerifyUrl { code } => format!("verify code {code}"),
        Scan::Rejected { why } => format!("rejected: {why}"),
    }
}

fn classify_text(text: &str, verify_base_url: Option<&str>) -> Result<(), Failure> {
    let scan = classify(text, verify_base_url);
    if scan.is_rejected() {
        return Err(Failure(6, describe(&scan)));
    }
    println!("{}", describe(&scan));
    Ok(())
}

fn watch(
    port: Option<String>,
    baud: u32,
    evdev: Option<PathBuf>,
    verify_base_url: Option<String>,
) -> Result<(), Failure> {
    let config = ScannerConfig { verify_base_url, ..ScannerConfig::default() };
    // Fail fast on a wrong path; after that the task reopens the device by itself.
    let (_handle, mut events) = match (port, evdev) {
        (Some(port), _) => {
            let first = SerialScanner::open(&port, baud)
                .map_err(|e| Failure(3, format!("{e}: check the device path (ls /dev/ttyACM*)")))?;
            let mut first = Some(first);
            scanner::watch(move || first.take().map_or_else(|| SerialScanner::open(&port, baud), Ok), config)
        }
        (None, Some(path)) => {
            let first = EvdevScanner::open(&path).map_err(|e| Failure(3, e.to_string()))?;
            let mut first = Some(first);
            scanner::watch(move || first.take().map_or_else(|| EvdevScanner::open(&path), Ok), config)
        }
        (None, None) => return Err(Failure(2, "give --port or --evdev".into())),
    };
    let mut out = std::io::stdout().lock();
    while let Some(event) = events.blocking_recv() {
        let text = match event {
            ScannerEvent::Connected => "scanner connected".to_string(),
            ScannerEvent::Scanned(scan) => describe(&scan),
            ScannerEvent::Fault { detail } => format!("scanner fault: {detail}"),
            ScannerEvent::Recovered => "scanner recovered".to_string(),
        };
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    Ok(())
}

fn simulate(link: Option<PathBuf>, terminator: &str) -> Result<(), Failure> {
    let terminator = match terminator {
        "cr" => Terminator::Cr,
        "lf" => Terminator::Lf,
        "crlf" => Terminator::CrLf,
        other => return Err(Failure(2, format!("terminator {other:?} is not cr, lf or crlf"))),
    };
    let link = link.unwrap_or_else(|| PathBuf::from(format!("/tmp/scanner-sim-{}", std::process::id())));
    let sim = ScannerSim::start(&link)
        .map_err(|e| Failure(7, format!("cannot create a pseudo-terminal at {}: {e}", link.display())))?;
    let control = sim.control().with_terminator(terminator);
    println!("{}", sim.path().display());
    let _ = std::io::stdout().flush();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match line.trim() {
            "!unplug" => control.unplug(),
            "!plug" => control.plug(),
            "!quit" => return Ok(()),
            "" => {}
            text => control.scan(text),
        }
    }
    loop {
        std::thread::park();
    }
}
