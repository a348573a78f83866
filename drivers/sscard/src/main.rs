//! `sscard`: read and watch social security cards through PC/SC, list the readers, or play
//! synthetic cards into vpcd's virtual readers.
//!
//! Exit codes: 0 ok (a blocked or expired card is still read: see its problems) · 1
//! internal error · 2 usage · 3 PC/SC service or reader not available · 4 no card inserted
//! in time · 5 the card could not be read · 7 simulator could not start.

use std::ffi::CString;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use contract::china_time::ymd;
use sscard::json::{card_json, gender_key};
use sscard::sim::{Simulator, load_cards, vpcd};
use sscard::transport::{self, ReaderInfo};
use sscard::{ReadError, ServiceError, SsCard, TransportError, WatchConfig, WatchEvent, mask_id_number, mask_name};

#[derive(Parser)]
#[command(name = "sscard", version, about = "Social security card tool (PC/SC)")]
struct Cli {
    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Read one card: from --reader, else the first reader holding a card, else wait for one.
    Read {
        #[arg(long)]
        reader: Option<String>,
        #[arg(long)]
        json: bool,
        /// Show the name and numbers unmasked.
        #[arg(long)]
        reveal: bool,
        /// Seconds to wait for a card when no reader holds one.
        #[arg(long, default_value_t = 10)]
        wait: u64,
    },
    /// Print card and reader events as they happen (Ctrl-C to stop).
    Watch {
        #[arg(long)]
        reader: Option<String>,
        #[arg(long)]
        json: bool,
        #[arg(long)]
        reveal: bool,
    },
    /// List the readers PC/SC knows and what is in them.
    Readers {
        #[arg(long)]
        json: bool,
    },
    /// Play synthetic cards into a vpcd virtual reader; then reads commands on stdin:
    /// insert LABEL, remove, pull N, list, quit.
    Simulate {
        #[arg(long)]
        cards: PathBuf,
        /// The vpcd reader: 0 ("Virtual PCD 00 00", port 35963) or 1 (35964).
        #[arg(long, default_value_t = 0)]
        reader: u16,
        /// The card inserted at start (default: the first; "none" for an empty reader).
        #[arg(long)]
        insert: Option<String>,
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
        Cmd::Read { reader, json, reveal, wait } => read(reader.as_deref(), json, reveal, Duration::from_secs(wait)),
        Cmd::Watch { reader, json, reveal } => watch(reader, json, reveal),
        Cmd::Readers { json } => readers(json),
        Cmd::Simulate { cards, reader, insert } => simulate(&cards, reader, insert),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("sscard: {message}");
            ExitCode::from(code)
        }
    }
}

fn service(e: ServiceError) -> Failure {
    Failure(3, e.to_string())
}

fn read(reader: Option<&str>, json: bool, reveal: bool, wait: Duration) -> Result<(), Failure> {
    let ctx = transport::establish().map_err(service)?;
    let all = transport::readers(&ctx).map_err(service)?;
    let chosen = transport::choose_reader(&all, reader).map_err(service)?;
    let name = if chosen.card_present {
        chosen.name.clone()
    } else {
        // Nothing in the chosen reader: wait for a card in it (or, unconfigured, in any).
        let candidates: Vec<&ReaderInfo> = match reader {
            Some(_) => vec![chosen],
            None => all.iter().collect(),
        };
        wait_for_card(&ctx, &candidates, wait)?
    };
    let today = contract::china_time::china_date(time::OffsetDateTime::now_utc());
    match transport::read_from_reader(&ctx, &name, today, None) {
        Ok(card) => {
            print_card(&name, &card, json, reveal);
            Ok(())
        }
        Err(
            e @ ReadError::Transport { error: TransportError::ServiceGone | TransportError::ReaderGone { .. }, .. },
        ) => Err(Failure(3, e.to_string())),
        Err(e) => Err(Failure(5, format!("the card in {name:?} could not be read: {e}"))),
    }
}

fn wait_for_card(ctx: &transport::Context, readers: &[&ReaderInfo], wait: Duration) -> Result<String, Failure> {
    let mut states: Vec<pcsc::ReaderState> = readers
        .iter()
        .filter_map(|r| CString::new(r.name.clone()).ok())
        .map(|n| pcsc::ReaderState::new(n, pcsc::State::UNAWARE))
        .collect();
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ctx.get_status_change(left, &mut states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => {}
            Err(e) if transport::is_service_gone(e) => return Err(service(ServiceError::NotRunning)),
            Err(e) => return Err(Failure(3, format!("waiting for a card failed: {e}"))),
        }
        for state in states.iter_mut() {
            state.sync_current_state();
            if state.event_state().contains(pcsc::State::PRESENT) {
                return Ok(state.name().to_string_lossy().into_owned());
            }
        }
        if left.is_zero() {
            let names: Vec<String> = readers.iter().map(|r| format!("{:?}", r.name)).collect();
            return Err(Failure(
                4,
                format!(
                    "no card in {} within {} s: insert the social security card, chip first and facing up, \
                     all the way into the reader, and run again",
                    names.join(", "),
                    wait.as_secs()
                ),
            ));
        }
    }
}

fn print_card(reader: &str, card: &SsCard, json: bool, reveal: bool) {
    println!("{}", card_text(reader, card, json, reveal));
}

/// The card as one JSON line, or as lines of text.
fn card_text(reader: &str, card: &SsCard, json: bool, reveal: bool) -> String {
    if json {
        let mut v = card_json(card, reveal);
        if let Some(obj) = v.as_object_mut() {
            obj.insert("reader".into(), serde_json::json!(reader));
        }
        return v.to_string();
    }
    let (name, ssn, number) = if reveal {
        (card.name.clone(), card.social_security_number.clone(), card.card_number.clone())
    } else {
        (mask_name(&card.name), mask_id_number(&card.social_security_number), mask_id_number(&card.card_number))
    };
    let date = |d: Option<time::Date>| d.map(ymd).unwrap_or_else(|| "?".into());
    let valid = if card.social_security_number_valid() { "valid" } else { "INVALID" };
    let mut lines = vec![
        format!("reader:           {reader}"),
        format!("name:             {name}"),
        format!("social security:  {ssn} ({valid})"),
        format!("card number:      {number}"),
        format!("gender:           {}", gender_key(card.gender)),
        format!("ethnicity:        {}", card.ethnicity.map(|(_, n)| n).unwrap_or("?")),
        format!("birth date:       {}", date(card.birth_date)),
        format!("issued:           {}", date(card.issue_date)),
        format!("valid until:      {}", date(card.valid_until)),
        format!("region:           {}", card.region_code),
        format!("spec version:     {}", card.spec_version),
    ];
    lines.extend(card.problems.iter().map(|p| format!("problem:          {p}")));
    lines.join("\n")
}

fn watch(reader: Option<String>, json: bool, reveal: bool) -> Result<(), Failure> {
    let (_handle, mut events) = sscard::watch(WatchConfig { reader, ..WatchConfig::default() });
    let mut out = std::io::stdout().lock();
    while let Some(event) = events.blocking_recv() {
        let text = if json {
            match &event {
                WatchEvent::Ready { readers } => serde_json::json!({"event": "ready", "readers": readers}),
                WatchEvent::CardInserted { reader, card } => {
                    serde_json::json!({"event": "card_inserted", "reader": reader, "card": card_json(card, reveal)})
                }
                WatchEvent::CardRemoved { reader } => serde_json::json!({"event": "card_removed", "reader": reader}),
                WatchEvent::CardReadFailed { reader, error } => {
                    serde_json::json!({"event": "card_read_failed", "reader": reader, "error": error.to_string()})
                }
                WatchEvent::ReaderFault { fault, detail } => {
                    serde_json::json!({"event": "reader_fault", "fault": format!("{fault:?}"), "detail": detail})
                }
                WatchEvent::ReaderRecovered { readers } => {
                    serde_json::json!({"event": "reader_recovered", "readers": readers})
                }
            }
            .to_string()
        } else {
            match event {
                WatchEvent::Ready { readers } => format!("watching {}", readers.join(", ")),
                WatchEvent::CardInserted { reader, card } => {
                    format!("card inserted:\n{}", card_text(&reader, &card, false, reveal))
                }
                WatchEvent::CardRemoved { reader } => format!("card removed from {reader}"),
                WatchEvent::CardReadFailed { reader, error } => format!("card read failed in {reader}: {error}"),
                WatchEvent::ReaderFault { fault, detail } => format!("reader fault ({fault:?}): {detail}"),
                WatchEvent::ReaderRecovered { readers } => format!("reader recovered: {}", readers.join(", ")),
            }
        };
        // Nobody reads our output any more (the pipe closed): stop quietly.
        if writeln!(out, "{text}").and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    Ok(())
}

fn readers(json: bool) -> Result<(), Failure> {
    let ctx = transport::establish().map_err(service)?;
    let all = transport::readers(&ctx).map_err(service)?;
    if all.is_empty() {
        return Err(service(ServiceError::NoReaders));
    }
    for r in &all {
        let state = match (r.card_present, r.mute) {
            (true, true) => "card (mute)",
            (true, false) => "card",
            (false, _) => "empty",
        };
        if json {
            println!(
                "{}",
                serde_json::json!({"reader": r.name, "card_present": r.card_present, "mute": r.mute, "atr": hex::encode_upper(&r.atr)})
            );
        } else if r.atr.is_empty() {
            println!("{}\t{state}", r.name);
        } else {
            println!("{}\t{state}\tATR {}", r.name, sscard::apdu::hex_spaced(&r.atr));
        }
    }
    Ok(())
}

fn simulate(cards: &PathBuf, reader: u16, insert: Option<String>) -> Result<(), Failure> {
    let text =
        std::fs::read_to_string(cards).map_err(|e| Failure(7, format!("cannot read {}: {e}", cards.display())))?;
    let cards = load_cards(&text).map_err(|e| Failure(7, e.to_string()))?;
    if reader >= sscard::harness::READERS {
        return Err(Failure(2, format!("vpcd has readers 0 and 1, not {reader}")));
    }
    let first = cards.first().map(|c| c.label.clone());
    let port = vpcd::FIRST_PORT + reader;
    let sim = Simulator::start(cards, port);
    let control = sim.control();
    match insert.or(first).as_deref() {
        Some("none") | None => {}
        Some(label) if !control.insert(label) => return Err(Failure(7, format!("no card labelled {label:?}"))),
        Some(_) => {}
    }
    println!("{} (127.0.0.1:{port})", vpcd::reader_name(reader));
    let _ = std::io::stdout().flush();
    if std::net::TcpStream::connect_timeout(&control.address(), Duration::from_secs(1)).is_err() {
        eprintln!(
            "sscard: nothing listens on {}: is pcscd running (pcscd -f as root) with vsmartcard-vpcd installed? \
             Cards go in as soon as it is.",
            control.address()
        );
    }
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        let reply = match words.as_slice() {
            ["insert", label] if control.insert(label) => format!("inserted {label}"),
            ["insert", label] => format!("no card labelled {label}"),
            ["remove"] => {
                control.remove();
                "removed".into()
            }
            ["pull", n] => match n.parse() {
                Ok(n) => {
                    control.pull_after(n);
                    format!("the card will be pulled at its {n}th next command")
                }
                Err(_) => "pull N: N is a number of commands".into(),
            },
            ["list"] => control.labels().join(" "),
            ["quit"] => return Ok(()),
            [] => continue,
            _ => "commands: insert LABEL, remove, pull N, list, quit".into(),
        };
        // Whoever reads our stdout may have gone: the cards stay in regardless.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{reply}").and_then(|()| out.flush());
    }
    // stdin closed (started from a script): keep the card in until killed.
    loop {
        std::thread::park();
    }
}
