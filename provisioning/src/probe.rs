//! Probing one port: opens it with the drivers' own links at each candidate speed,
//! sends only the probe frames, and collects the reply for a bounded time.

use std::time::{Duration, Instant};

use device_link::{Link, LinkError, SerialLink};
use serde::Serialize;

use crate::classify::{self, Answer, Paper};

/// Speeds the kiosk accepts for the reader (`devices.reader_baud`), the SAM default first.
pub const READER_BAUDS: [u32; 5] = [115_200, 57_600, 38_400, 19_200, 9_600];
/// Speeds receipt printers are usually set to.
pub const PRINTER_BAUDS: [u32; 4] = [115_200, 38_400, 19_200, 9_600];

/// How long each probe attempt waits for its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timings {
    /// Per reader attempt. A SAM answers `12 FF` in a few milliseconds; the frames take
    /// 38 ms on the wire at 9600 baud.
    pub reader: Duration,
    /// Per printer attempt: four one-byte real-time replies.
    pub printer: Duration,
}

impl Default for Timings {
    fn default() -> Self {
        Timings { reader: Duration::from_millis(250), printer: Duration::from_millis(250) }
    }
}

impl Timings {
    /// Waiting time on a serial port where nothing answers: every attempt times out.
    pub fn silent_port(&self) -> Duration {
        self.reader * READER_BAUDS.len() as u32 + self.printer * PRINTER_BAUDS.len() as u32
    }

    /// The most a serial port can take (plus open/close time): a line that answers
    /// something unknown also gets the second printer attempt at each speed.
    pub fn serial_port_bound(&self) -> Duration {
        self.silent_port() + self.printer * PRINTER_BAUDS.len() as u32
    }
}

/// What is on a port, as found by probing it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "found", rename_all = "snake_case")]
pub enum Finding {
    Reader {
        baud: u32,
        /// Hex SAM id; `None` when the SAM answered with a fault status.
        sam_id: Option<String>,
        /// The reply status (`90: ok` for a healthy SAM).
        sam_status: String,
    },
    Printer {
        /// `None` on USB and TCP links, which have no line speed.
        baud: Option<u32>,
        paper: Paper,
        health: printer::Health,
    },
    Unknown {
        baud: Option<u32>,
        len: usize,
        prefix_hex: String,
    },
    NoAnswer,
    CannotOpen {
        error: String,
    },
}

impl Finding {
    fn from_answer(answer: Answer, baud: Option<u32>) -> Finding {
        match answer {
            Answer::Reader(r) => Finding::Reader {
                baud: baud.unwrap_or_default(),
                sam_id: r.sam.map(|s| s.to_string()),
                sam_status: r.status.to_string(),
            },
            Answer::Printer(flags) => {
                Finding::Printer { baud, paper: Paper::from_flags(&flags), health: flags.health() }
            }
            Answer::Unknown { len, prefix } => {
                Finding::Unknown { baud, len, prefix_hex: classify::hex_prefix(&prefix) }
            }
            Answer::Silent => Finding::NoAnswer,
        }
    }

    pub fn is_reader(&self) -> bool {
        matches!(self, Finding::Reader { .. })
    }

    pub fn is_printer(&self) -> bool {
        matches!(self, Finding::Printer { .. })
    }
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Reader { baud, sam_id: Some(id), .. } => write!(f, "ID card reader, SAM {id}, {baud} baud"),
            Finding::Reader { baud, sam_id: None, sam_status } => {
                write!(f, "ID card reader, {baud} baud, but its SAM answered {sam_status}")
            }
            Finding::Printer { baud, paper, health } => {
                f.write_str("receipt printer (ESC/POS)")?;
                if let Some(baud) = baud {
                    write!(f, ", {baud} baud")?;
                }
                write!(f, ", paper {}", paper.as_str())?;
                // Paper states are said above; other trouble is worth a word of its own.
                match health {
                    printer::Health::CoverOpen => f.write_str(", cover open"),
                    printer::Health::CutterError => f.write_str(", cutter error"),
                    printer::Health::Offline => f.write_str(", offline or in error"),
                    _ => Ok(()),
                }
            }
            Finding::Unknown { baud, len, prefix_hex } => {
                write!(f, "something answered but not a known device ({len} bytes of {prefix_hex}")?;
                if let Some(baud) = baud {
                    write!(f, " at {baud} baud")?;
                }
                f.write_str(")")
            }
            Finding::NoAnswer => f.write_str("no answer"),
            Finding::CannotOpen { error } => write!(f, "cannot open: {error}"),
        }
    }
}

/// Why a port could not be probed.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("{reason}{hint}")]
    Open { port: String, reason: String, hint: &'static str },
    #[error("i/o error: {0}")]
    Io(String),
}

impl ProbeError {
    fn open(port: &str, e: LinkError) -> ProbeError {
        // The port is named where the finding is printed; only the reason is kept.
        let reason = e.reason();
        tracing::info!(port, error = %reason, "cannot open port");
        // The kiosk holds its reader port exclusively while it runs.
        let busy = reason.contains("busy") || reason.contains("lock");
        let hint = if busy { " (is the kiosk service running? stop it while probing)" } else { "" };
        ProbeError::Open { port: port.to_string(), reason, hint }
    }

    fn io(e: impl std::fmt::Display) -> ProbeError {
        ProbeError::Io(e.to_string())
    }
}

impl From<ProbeError> for Finding {
    fn from(e: ProbeError) -> Finding {
        Finding::CannotOpen { error: e.to_string() }
    }
}

/// Reads into `got` until the classifier is sure or the time is up.
fn collect(
    mut recv: impl FnMut(&mut [u8], Duration) -> Result<usize, ProbeError>,
    classify: fn(&[u8]) -> Answer,
    timeout: Duration,
) -> Result<Answer, ProbeError> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let n = recv(&mut buf, left)?;
        got.extend_from_slice(&buf[..n]);
        // A chattering line must not grow memory for the whole attempt.
        if got.len() > 64 * 1024 || classify(&got).is_final() {
            break;
        }
    }
    Ok(classify(&got))
}

/// One reader attempt: `12 FF` at `baud` through the serial link the idcard driver uses.
pub fn probe_reader(path: &str, baud: u32, timeout: Duration) -> Result<Answer, ProbeError> {
    let mut link = SerialLink::open(path, baud).map_err(|e| ProbeError::open(path, e))?;
    link.discard_input().map_err(ProbeError::io)?;
    link.send(&classify::reader_probe()).map_err(ProbeError::io)?;
    let answer = collect(|buf, t| link.recv(buf, t).map_err(ProbeError::io), classify::classify_reader_reply, timeout)?;
    tracing::debug!(port = path, baud, ?answer, "reader probe");
    Ok(answer)
}

/// One printer attempt over any printer link: `DLE EOT 1..4`. Something answered
/// but not fully is asked once more: a printer in GB18030 mode takes the last byte of the
/// reader probe (`EE`) as the first half of a character and swallows our first `DLE`.
fn probe_printer_on(link: &mut dyn Link, timeout: Duration) -> Result<Answer, ProbeError> {
    let ask = |link: &mut dyn Link| {
        link.discard_input().map_err(ProbeError::io)?;
        link.send(&classify::PRINTER_PROBE).map_err(ProbeError::io)?;
        collect(|buf, t| link.recv(buf, t).map_err(ProbeError::io), classify::classify_printer_reply, timeout)
    };
    let first = ask(link)?;
    if !matches!(first, Answer::Unknown { .. }) {
        return Ok(first);
    }
    let second = ask(link)?;
    Ok(if second.is_final() { second } else { first })
}

/// One printer attempt on a serial port at `baud`, through the serial link the printer
/// driver uses.
pub fn probe_printer_serial(path: &str, baud: u32, timeout: Duration) -> Result<Answer, ProbeError> {
    let write_timeout = Duration::from_millis(500);
    let mut link =
        SerialLink::open(path, baud).map_err(|e| ProbeError::open(path, e))?.with_write_timeout(write_timeout);
    let answer = probe_printer_on(&mut link, timeout)?;
    tracing::debug!(port = path, baud, ?answer, "printer probe");
    Ok(answer)
}

/// A serial port: the reader at each of [`READER_BAUDS`], then a printer at each of
/// [`PRINTER_BAUDS`]. At most [`Timings::serial_port_bound`] plus open/close time.
pub fn probe_serial_port(path: &str, timings: &Timings) -> Finding {
    let mut first_unknown = None;
    let reader = READER_BAUDS.iter().map(|&baud| (baud, true));
    let printer = PRINTER_BAUDS.iter().map(|&baud| (baud, false));
    for (baud, for_reader) in reader.chain(printer) {
        let answer = if for_reader {
            probe_reader(path, baud, timings.reader)
        } else {
            probe_printer_serial(path, baud, timings.printer)
        };
        match answer {
            Err(e) => return e.into(),
            Ok(answer @ (Answer::Reader(_) | Answer::Printer(_))) => return Finding::from_answer(answer, Some(baud)),
            Ok(answer @ Answer::Unknown { .. }) => {
                first_unknown.get_or_insert(Finding::from_answer(answer, Some(baud)));
            }
            Ok(Answer::Silent) => {}
        }
    }
    first_unknown.unwrap_or(Finding::NoAnswer)
}

/// A USB printer-class node, opened the way the kiosk opens it.
pub fn probe_usb_printer(path: &str, timings: &Timings) -> Finding {
    let opened =
        printer::UsbLpLink::open(std::path::Path::new(path)).map(|t| t.with_write_timeout(Duration::from_millis(500)));
    match opened {
        Err(e) => ProbeError::open(path, e).into(),
        Ok(mut link) => match probe_printer_on(&mut link, timings.printer) {
            Ok(answer) => Finding::from_answer(answer, None),
            Err(e) => e.into(),
        },
    }
}

/// A network printer, `tcp://host:9100`, connected the way the kiosk connects.
pub fn probe_tcp_printer(target: &str, timings: &Timings) -> Finding {
    let addr = target.strip_prefix("tcp://").unwrap_or(target);
    match printer::TcpLink::connect(addr) {
        Err(e) => ProbeError::open(target, e).into(),
        Ok(mut link) => match probe_printer_on(&mut link, timings.printer) {
            Ok(answer) => Finding::from_answer(answer, None),
            Err(e) => e.into(),
        },
    }
}
