//! `idcard`: read, watch and decode ID cards, or simulate a reader on a pseudo-terminal.
//!
//! Exit codes: 0 ok · 1 internal error · 2 usage · 3 reader not reachable ·
//! 4 no card placed in time · 5 card could not be read · 6 nothing decodable in the file ·
//! 7 simulator could not start.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use idcard::frame::{CardBlocks, decode_all};
use idcard::json::card_json;
use idcard::sim::{Fault, SimConfig, Simulator, load_cards};
use idcard::{
    Card, CardReader, Expiry, Link, PhotoDecoder, ReadOptions, ReaderConfig, ReaderError, ReaderEvent, Reply,
    SerialLink, Status, VendorPhotoDecoder, mask_id_number, mask_name,
};

#[derive(Parser)]
#[command(name = "idcard", version, about = "Second-generation ID card reader tool (GA/T 467 SAM protocol)")]
struct Cli {
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Read one card.
    Read {
        #[arg(long)]
        port: String,
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        #[arg(long)]
        json: bool,
        /// Show name and ID number unmasked.
        #[arg(long)]
        reveal: bool,
        /// Seconds to wait for a card.
        #[arg(long, default_value_t = 10)]
        wait: u64,
        /// Also read fingerprint bytes (30 10).
        #[arg(long)]
        fingerprint: bool,
        /// Vendor WLT decoder library (exports `unpack`).
        #[arg(long)]
        photo_decoder: Option<PathBuf>,
        /// Write the photo here (BMP with --photo-decoder, raw WLT otherwise).
        #[arg(long)]
        photo_out: Option<PathBuf>,
    },
    /// Print reader events as they happen (Ctrl-C to stop).
    Watch {
        #[arg(long)]
        port: String,
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        /// Milliseconds between polls while no card came or went for 5 minutes; after a
        /// card event the reader is polled every 10 ms (or this, if shorter).
        #[arg(long, default_value_t = 300)]
        poll_ms: u64,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        reveal: bool,
    },
    /// Decode a captured reply frame from a file of raw bytes (leading garbage allowed).
    Decode {
        file: PathBuf,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        reveal: bool,
    },
    /// Serve synthetic cards on a pseudo-terminal; prints the port path, then reads
    /// commands on stdin: place LABEL, remove, vanish, return, fault KIND, list.
    Simulate {
        #[arg(long)]
        cards: PathBuf,
        /// Symlink to create for the pty (default /tmp/idcard-sim-PID).
        #[arg(long)]
        link: Option<PathBuf>,
        #[arg(long, default_value_t = 115_200)]
        baud: u32,
        #[arg(long, default_value_t = 0)]
        sam_delay_ms: u64,
        /// Card placed at start (default: the first; "none" for an empty reader).
        #[arg(long)]
        place: Option<String>,
    },
}

/// A failure with its exit code and a message for the technician.
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
        Cmd::Read { port, baud, json, reveal, wait, fingerprint, photo_decoder, photo_out } => {
            read(&port, baud, json, reveal, Duration::from_secs(wait), fingerprint, photo_decoder, photo_out)
        }
        Cmd::Watch { port, baud, poll_ms, json, reveal } => watch(&port, baud, poll_ms, json, reveal),
        Cmd::Decode { file, json, reveal } => decode(&file, json, reveal),
        Cmd::Simulate { cards, link, baud, sam_delay_ms, place } => simulate(&cards, link, baud, sam_delay_ms, place),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("idcard: {message}");
            ExitCode::from(code)
        }
    }
}

fn open_port(port: &str, baud: u32) -> Result<SerialLink, Failure> {
    SerialLink::open(port, baud).map_err(|e| {
        Failure(
            3,
            format!(
                "cannot open {port}: {}: check the device path (ls /dev/ttyUSB* /dev/ttyACM*), \
                 that the reader is plugged in, and that you may use it (group dialout)",
                e.reason()
            ),
        )
    })
}

fn not_answering(port: &str, baud: u32, e: &ReaderError) -> Failure {
    match e {
        ReaderError::NoReply { .. } | ReaderError::Garbled { .. } => {
            Failure(3, format!("no reader answered on {port} at {baud} baud: check the cable, or try --baud 9600"))
        }
        other => Failure(3, format!("the reader on {port} is not ready: {other}")),
    }
}

#[allow(clippy::too_many_arguments)]
fn read(
    port: &str,
    baud: u32,
    json: bool,
    reveal: bool,
    wait: Duration,
    fingerprint: bool,
    photo_decoder: Option<PathBuf>,
    photo_out: Option<PathBuf>,
) -> Result<(), Failure> {
    let decoder = match &photo_decoder {
        Some(path) => Some(VendorPhotoDecoder::load(path, "unpack").map_err(|e| Failure(1, e.to_string()))?),
        None => None,
    };
    let link = open_port(port, baud)?;
    let options = ReadOptions { fingerprint, newest_address: true };
    let mut reader = CardReader::new(link).with_options(options);
    if let Err(e) = reader.sam_status() {
        if !e.is_sam_fault() || reader.reset_sam().and_then(|()| reader.sam_status()).is_err() {
            return Err(not_answering(port, baud, &e));
        }
    }
    let deadline = Instant::now() + wait;
    loop {
        match reader.read_card() {
            Ok(card) => {
                print_card(&card, json, reveal);
                if let Some(out) = photo_out {
                    save_photo(&card, decoder.as_ref().map(|d| d as &dyn PhotoDecoder), &out)?;
                }
                return Ok(());
            }
            Err(ReaderError::NoCard) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(300)),
            Err(ReaderError::NoCard) => {
                return Err(Failure(
                    4,
                    format!(
                        "no card on the reader within {} s: place the card flat on the reader and run again",
                        wait.as_secs()
                    ),
                ));
            }
            Err(e @ (ReaderError::LinkLost(_) | ReaderError::NoReply { .. })) => {
                return Err(not_answering(port, baud, &e));
            }
            Err(e) => return Err(Failure(5, format!("the card could not be read: {e}"))),
        }
    }
}

fn save_photo(card: &Card, decoder: Option<&dyn PhotoDecoder>, out: &PathBuf) -> Result<(), Failure> {
    let bytes = match decoder {
        Some(d) => card.photo.decode(d).map_err(|e| Failure(5, e.to_string()))?,
        None => card.photo.wlt().to_vec(),
    };
    std::fs::write(out, bytes).map_err(|e| Failure(1, format!("cannot write the photo to {}: {e}", out.display())))
}

fn print_card(card: &Card, json: bool, reveal: bool) {
    if json {
        println!("{}", card_json(card, reveal));
        return;
    }
    let (name, id) = if reveal {
        (card.name.clone(), card.id_number.clone())
    } else {
        (mask_name(&card.name), mask_id_number(&card.id_number))
    };
    let date = |d: Option<idcard::CardDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "?".into());
    println!("card type:   {}", card.card_type.as_str());
    println!("name:        {name}");
    println!("gender:      {}", card.gender.as_str());
    if let Some((_, e)) = card.ethnicity {
        println!("ethnicity:   {e}");
    }
    println!("birth date:  {}", date(card.birth_date));
    println!("address:     {}", card.current_address());
    println!("id number:   {id} ({})", if card.id_number_valid() { "valid" } else { "INVALID" });
    println!("issuer:      {}", card.issuer);
    let until = match card.valid_until {
        Some(Expiry::NoExpiry) => "长期 (no expiry)".to_string(),
        Some(Expiry::Until(d)) => d.to_string(),
        None => "?".into(),
    };
    println!("valid:       {} .. {until}", date(card.valid_from));
    for p in &card.problems {
        println!("problem:     {p}");
    }
}

fn watch(port: &str, baud: u32, poll_ms: u64, json: bool, reveal: bool) -> Result<(), Failure> {
    let path = port.to_string();
    let opener = move || SerialLink::open(&path, baud).map(|link| Box::new(link) as Box<dyn Link>);
    let config = ReaderConfig { poll_interval: Duration::from_millis(poll_ms), ..ReaderConfig::default() };
    let (_handle, mut events) = idcard::watch(opener, config);
    while let Some(event) = events.blocking_recv() {
        match event {
            ReaderEvent::CardPresented(card) if json => {
                println!("{}", serde_json::json!({"event": "card_presented", "card": card_json(&card, reveal)}))
            }
            ReaderEvent::CardPresented(card) => {
                println!("card presented:");
                print_card(&card, false, reveal);
            }
            ReaderEvent::CardRemoved => println!("card removed"),
            ReaderEvent::CardReadFailed { error } => println!("card read failed: {error}"),
            ReaderEvent::Connected { sam_id } => {
                println!("reader connected on {port} (SAM {})", sam_id.map(|s| s.to_string()).unwrap_or_default())
            }
            ReaderEvent::ReaderFault { fault, detail } => println!("reader fault ({fault:?}): {detail}"),
            ReaderEvent::ReaderRecovered { .. } => println!("reader recovered"),
        }
        let _ = std::io::stdout().flush();
    }
    Ok(())
}

fn decode(file: &PathBuf, json: bool, reveal: bool) -> Result<(), Failure> {
    let bytes = std::fs::read(file).map_err(|e| Failure(6, format!("cannot read {}: {e}", file.display())))?;
    let events = decode_all(&bytes);
    let mut cards = 0;
    for event in &events {
        let Ok(frame) = event else { continue };
        let Some(reply) = Reply::from_frame(frame.clone()) else { continue };
        if reply.status != Status::Ok {
            eprintln!("idcard: frame with status {}", reply.status);
            continue;
        }
        let blocks = CardBlocks::parse(&reply.data, false).or_else(|_| CardBlocks::parse(&reply.data, true));
        let Ok(blocks) = blocks else { continue };
        match Card::parse(&blocks.text, blocks.photo, blocks.fingerprint) {
            Ok(card) => {
                print_card(&card, json, reveal);
                cards += 1;
            }
            Err(e) => eprintln!("idcard: {e}"),
        }
    }
    if cards == 0 {
        let errors = events.iter().filter(|e| e.is_err()).count();
        return Err(Failure(
            6,
            format!(
                "no card reply in {} ({} frames, {errors} damaged): capture the reader's reply to 30 01 or 30 10",
                file.display(),
                events.len() - errors
            ),
        ));
    }
    Ok(())
}

fn simulate(
    cards: &PathBuf,
    link: Option<PathBuf>,
    baud: u32,
    sam_delay_ms: u64,
    place: Option<String>,
) -> Result<(), Failure> {
    let text =
        std::fs::read_to_string(cards).map_err(|e| Failure(7, format!("cannot read {}: {e}", cards.display())))?;
    let cards = load_cards(&text).map_err(|e| Failure(7, e.to_string()))?;
    let first = cards.first().map(|c| c.label.clone());
    let config = SimConfig { baud, sam_delay: Duration::from_millis(sam_delay_ms), ..SimConfig::default() };
    let sim = Simulator::new(cards, config);
    let control = sim.control();
    let link = link.unwrap_or_else(|| PathBuf::from(format!("/tmp/idcard-sim-{}", std::process::id())));
    let server = sim
        .serve_pty(&link)
        .map_err(|e| Failure(7, format!("cannot create a pseudo-terminal at {}: {e}", link.display())))?;
    match place.or(first).as_deref() {
        Some("none") | None => {}
        Some(label) if !control.place(label) => return Err(Failure(7, format!("no card labelled {label:?}"))),
        Some(_) => {}
    }
    println!("{}", server.path().display());
    let _ = std::io::stdout().flush();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["place", label] if control.place(label) => format!("placed {label}"),
            ["place", label] => format!("no card labelled {label}"),
            ["remove"] => {
                control.remove();
                "removed".into()
            }
            ["vanish"] => {
                control.vanish();
                "port vanished".into()
            }
            ["return"] => {
                control.reappear();
                "port back".into()
            }
            ["fault", kind, rest @ ..] => match parse_fault(kind, rest) {
                Some(f) => {
                    control.inject(f);
                    format!("fault {kind} armed")
                }
                None => "faults: bitflip [OFFSET], drop [OFFSET COUNT], stall MS, read-failed, sam".into(),
            },
            ["list"] => control.labels().join(" "),
            ["quit"] => return Ok(()),
            [] => continue,
            _ => "commands: place LABEL, remove, vanish, return, fault KIND, list, quit".into(),
        };
        println!("{reply}");
        let _ = std::io::stdout().flush();
    }
    // stdin closed (e.g. started from a script): keep serving until killed.
    loop {
        std::thread::park();
    }
}

fn parse_fault(kind: &str, args: &[&str]) -> Option<Fault> {
    let num = |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    Some(match kind {
        "bitflip" => Fault::BitFlip { offset: num(0, 100) },
        "drop" => Fault::DropBytes { offset: num(0, 100), count: num(1, 10) },
        "stall" => Fault::Stall(Duration::from_millis(num(0, 5000) as u64)),
        "read-failed" => Fault::ReadFailed,
        "sam" => Fault::SamNotAuthorised,
        _ => return None,
    })
}
