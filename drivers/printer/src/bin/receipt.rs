//! `receipt`: print, check, encode, render and emulate ESC/POS receipts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use printer::virtual_printer::VirtualPrinter;
use printer::{Document, Link, Mode, Printer, Profile, SerialLink, TcpLink, UsbLpLink};

#[derive(Parser)]
#[command(name = "receipt", about = "ESC/POS receipt printer tool: print, status, encode, render, emulate")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct Target {
    /// Serial port, e.g. /dev/ttyUSB0
    #[arg(long)]
    port: Option<String>,
    /// USB printer class device, e.g. /dev/usb/lp0
    #[arg(long)]
    usb: Option<PathBuf>,
    /// Network printer, e.g. 192.0.2.10:9100
    #[arg(long)]
    tcp: Option<String>,
}

#[derive(Args)]
struct LinkArgs {
    #[command(flatten)]
    target: Target,
    /// Serial speed
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
}

#[derive(Subcommand)]
enum Command {
    /// Print a JSON document on a printer.
    Print {
        doc: PathBuf,
        #[command(flatten)]
        link: LinkArgs,
        #[arg(long, default_value = "kiosk-80")]
        profile: String,
        #[arg(long)]
        mode: Option<Mode>,
    },
    /// Ask the printer for its status (DLE EOT 1..4).
    Status {
        #[command(flatten)]
        link: LinkArgs,
        #[arg(long, default_value = "kiosk-80")]
        profile: String,
        #[arg(long)]
        json: bool,
    },
    /// Encode a JSON document into ESC/POS bytes.
    Encode {
        doc: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "kiosk-80")]
        profile: String,
        #[arg(long)]
        mode: Option<Mode>,
    },
    /// Encode a document and print it on the virtual printer into a PNG.
    Render {
        doc: PathBuf,
        #[arg(long)]
        png: PathBuf,
        #[arg(long, default_value = "kiosk-80")]
        profile: String,
        #[arg(long)]
        mode: Option<Mode>,
    },
    /// Run the virtual printer on a byte stream file, a pseudo-terminal or a TCP port.
    Emulate {
        #[arg(long, conflicts_with_all = ["pty", "tcp"])]
        input: Option<PathBuf>,
        /// Serve on a new pseudo-terminal (prints its path) until interrupted.
        #[arg(long)]
        pty: bool,
        /// Serve on a TCP address, e.g. 127.0.0.1:9100, until interrupted.
        #[arg(long)]
        tcp: Option<String>,
        /// Folder for one PNG per cut receipt.
        #[arg(long, default_value = "receipts")]
        out: PathBuf,
        #[arg(long, default_value = "kiosk-80")]
        profile: String,
    },
}

fn profile(name: &str) -> Result<Profile> {
    Profile::by_name(name).with_context(|| format!("unknown profile {name:?} (kiosk-80, clone-58, epson-80)"))
}

fn open(link: &LinkArgs) -> Result<Box<dyn Link>> {
    let t = &link.target;
    Ok(match (&t.port, &t.usb, &t.tcp) {
        (Some(p), _, _) => Box::new(SerialLink::open(p, link.baud)?),
        (_, Some(u), _) => Box::new(UsbLpLink::open(u)?),
        (_, _, Some(a)) => Box::new(TcpLink::connect(a)?),
        _ => bail!("give --port, --usb or --tcp"),
    })
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Print { doc, link, profile: p, mode } => {
            let doc = Document::from_file(&doc)?;
            let mut printer = Printer::new(open(&link)?, profile(&p)?);
            if let Some(m) = mode {
                printer = printer.with_mode(m);
            }
            let report = printer.print(&doc)?;
            println!(
                "printed {} receipt(s), {} bytes, {:?} mode{}",
                report.receipts,
                report.bytes_sent,
                report.mode,
                if report.near_end { " (paper near end)" } else { "" }
            );
        }
        Command::Status { link, profile: p, json } => {
            let mut printer = Printer::new(open(&link)?, profile(&p)?);
            let report = printer.status()?;
            let health = report.health();
            if json {
                let v = serde_json::json!({"health": health, "answered": report.answered, "raw": report.raw, "flags": report.flags});
                println!("{v}");
            } else {
                println!("health: {health}");
                println!("replies: {:02X?} (answered {:?})", report.raw, report.answered);
            }
            if !matches!(health, printer::Health::Ok | printer::Health::NearEnd) {
                std::process::exit(2);
            }
        }
        Command::Encode { doc, out, profile: p, mode } => {
            let bytes = printer::encode(&Document::from_file(&doc)?, &profile(&p)?, mode)?;
            std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            println!("{} bytes -> {}", bytes.len(), out.display());
        }
        Command::Render { doc, png, profile: p, mode } => {
            let p = profile(&p)?;
            let bytes = printer::encode(&Document::from_file(&doc)?, &p, mode)?;
            let vp = VirtualPrinter::new(p);
            vp.feed(&bytes);
            vp.control().finish();
            for (i, img) in vp.control().receipts().iter().enumerate() {
                let path = if i == 0 { png.clone() } else { numbered(&png, i + 1) };
                img.save(&path).with_context(|| format!("writing {}", path.display()))?;
                println!("{} ({}x{} dots)", path.display(), img.width(), img.height());
            }
        }
        Command::Emulate { input, pty, tcp, out, profile: p } => emulate(input, pty, tcp, &out, profile(&p)?)?,
    }
    Ok(())
}

fn numbered(png: &Path, n: usize) -> PathBuf {
    let stem = png.file_stem().map_or_else(|| "receipt".into(), |s| s.to_string_lossy().into_owned());
    png.with_file_name(format!("{stem}-{n}.png"))
}

fn emulate(input: Option<PathBuf>, pty: bool, tcp: Option<String>, out: &Path, profile: Profile) -> Result<()> {
    let vp = VirtualPrinter::new(profile);
    let control = vp.control();
    if let Some(input) = input {
        let bytes = std::fs::read(&input).with_context(|| format!("reading {}", input.display()))?;
        vp.feed(&bytes);
        control.finish();
        for p in control.save_pngs(out)? {
            println!("{}", p.display());
        }
        return Ok(());
    }
    let _pty = if pty {
        let server = vp.serve_pty()?;
        println!("{}", server.path().display());
        Some(server)
    } else {
        None
    };
    let _tcp = match tcp {
        Some(addr) => {
            let server = vp.serve_tcp(&addr)?;
            println!("listening on {}", server.local_addr());
            Some(server)
        }
        None => None,
    };
    if _pty.is_none() && _tcp.is_none() {
        bail!("give --input FILE, --pty or --tcp ADDR");
    }
    std::fs::create_dir_all(out)?;
    let mut saved = 0;
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let receipts = control.receipts();
        for img in receipts.iter().skip(saved) {
            saved += 1;
            let path = out.join(format!("receipt-{saved:03}.png"));
            img.save(&path)?;
            println!("{}", path.display());
        }
    }
}
