//! The printer driver: status you can trust, preflight, jobs confirmed receipt by receipt
//! with `GS r 1`, and recovery. Generic over the [`Link`] it is given.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::document::{Document, DocumentError};
use crate::escpos;
use crate::profile::{Mode, Profile};
use crate::status::{Expect, Health, Incoming, PrinterFlags, StatusReader, StatusReport};
use crate::usb_lp::LP_PAPER_EMPTY;
use device_link::{Link, LinkError};

/// Why a job did not print (or did not finish). Each says what a technician should do.
#[derive(Debug, thiserror::Error)]
pub enum PrinterError {
    #[error("paper end: load a new paper roll")]
    PaperEnd,
    #[error("printer cover is open: close it")]
    CoverOpen,
    #[error("cutter error: clear the cutter, then recover")]
    CutterJam,
    #[error("printer is offline (error or waiting for recovery)")]
    Offline,
    #[error("printer reports an unrecoverable error: power-cycle or service it")]
    Unrecoverable,
    #[error("printer does not answer status requests: check cable and power")]
    NoAnswer,
    #[error("paper ran out during receipt {unfinished_receipt}: load paper, recover, reprint from it")]
    PaperOutMidJob { unfinished_receipt: usize },
    #[error("cover opened during receipt {unfinished_receipt}: close it, recover, reprint from it")]
    CoverOpenMidJob { unfinished_receipt: usize },
    #[error("cutter jammed on receipt {unfinished_receipt}: clear it, recover, reprint from it")]
    CutterJamMidJob { unfinished_receipt: usize },
    #[error("receipt {unfinished_receipt} was not confirmed by the printer: check it, reprint from it")]
    NotConfirmed { unfinished_receipt: usize },
    #[error("document cannot be printed: {0}")]
    Document(#[from] DocumentError),
    #[error("link to the printer failed: {0}")]
    Link(#[from] LinkError),
}

impl PrinterError {
    /// For errors during a job: the first receipt that did not finish.
    pub fn unfinished_receipt(&self) -> Option<usize> {
        match self {
            Self::PaperOutMidJob { unfinished_receipt }
            | Self::CoverOpenMidJob { unfinished_receipt }
            | Self::CutterJamMidJob { unfinished_receipt }
            | Self::NotConfirmed { unfinished_receipt } => Some(*unfinished_receipt),
            _ => None,
        }
    }
}

/// What a finished job did.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    /// Receipts printed and confirmed.
    pub receipts: usize,
    pub bytes_sent: usize,
    pub mode: Mode,
    /// The near-end sensor was on: paper should be changed soon.
    pub near_end: bool,
    pub elapsed: Duration,
}

/// Timing and behaviour knobs.
#[derive(Debug, Clone)]
pub struct PrinterOptions {
    /// How long to wait for each `DLE EOT n` answer.
    pub status_timeout: Duration,
    /// Fixed part of the wait for `GS r 1` after a receipt.
    pub confirm_base: Duration,
    /// Link speed used to stretch the confirmation wait (bytes per second).
    pub link_bytes_per_s: f64,
    /// Bytes written between checks for status back packets.
    pub chunk: usize,
    /// None = the profile's default mode.
    pub mode: Option<Mode>,
}

impl Default for PrinterOptions {
    fn default() -> Self {
        Self {
            status_timeout: Duration::from_millis(500),
            confirm_base: Duration::from_secs(5),
            link_bytes_per_s: 11_520.0,
            chunk: 1024,
            mode: None,
        }
    }
}

/// A receipt printer on some link.
#[derive(Debug)]
pub struct Printer<T: Link> {
    link: T,
    profile: Profile,
    options: PrinterOptions,
    reader: StatusReader,
    last_status_back: Option<PrinterFlags>,
    /// Input may be waiting that answers nothing asked now: a new link, a status request
    /// that timed out (its answer may still come), a job (status back packets were on).
    unsettled: bool,
}

impl<T: Link> Printer<T> {
    pub fn new(link: T, profile: Profile) -> Self {
        Self {
            link,
            profile,
            options: PrinterOptions::default(),
            reader: StatusReader::new(),
            last_status_back: None,
            unsettled: true,
        }
    }

    pub fn with_options(mut self, options: PrinterOptions) -> Self {
        self.options = options;
        self
    }

    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.options.mode = Some(mode);
        self
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    pub fn link_mut(&mut self) -> &mut T {
        &mut self.link
    }

    pub fn into_link(self) -> T {
        self.link
    }

    /// Reads once (up to `timeout`), sorting what came in. Status back packets update
    /// `last_status_back`; stray bytes are logged and dropped.
    fn read_incoming(&mut self, expect: Expect, timeout: Duration) -> Result<Vec<Incoming>, LinkError> {
        let mut buf = [0u8; 64];
        let n = self.link.recv(&mut buf, timeout)?;
        let mut out = Vec::new();
        for inc in self.reader.push_all(&buf[..n], expect) {
            match inc {
                Incoming::StatusBack(p) => self.last_status_back = Some(PrinterFlags::from_asb(p)),
                Incoming::Stray(b) => tracing::debug!(byte = b, "stray byte from printer ignored"),
                _ => {}
            }
            out.push(inc);
        }
        Ok(out)
    }

    fn wait_for(&mut self, expect: Expect, timeout: Duration) -> Result<Option<u8>, LinkError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            for inc in self.read_incoming(expect, left)? {
                match (inc, expect) {
                    (Incoming::Realtime(b), Expect::Realtime) | (Incoming::PaperSensor(b), Expect::PaperSensor) => {
                        return Ok(Some(b));
                    }
                    _ => {}
                }
            }
        }
    }

    /// Asks `DLE EOT 1..4` one at a time. Stale input (late answers to earlier requests)
    /// is discarded first, but only when something may be in flight: a serial port's
    /// discard waits for a quiet line ([`device_link::QUIET_LINE`], 10 ms), which every
    /// print's preflight would otherwise add to the citizen's wait. Never fails on a
    /// silent printer: unanswered requests leave the report's health `Unknown`.
    pub fn status(&mut self) -> Result<StatusReport, PrinterError> {
        if self.unsettled {
            self.link.discard_input()?;
        }
        // Settled again only when all four answers came (an error leaves it unsettled).
        self.unsettled = true;
        self.reader = StatusReader::new();
        let mut report = StatusReport::default();
        for n in 1..=4u8 {
            self.link.send(&escpos::status_request(n))?;
            if let Some(b) = self.wait_for(Expect::Realtime, self.options.status_timeout)? {
                report.answered[usize::from(n - 1)] = report.flags.apply_realtime(n, b);
                report.raw[usize::from(n - 1)] = b;
            }
        }
        self.unsettled = !report.answered.iter().all(|&a| a);
        if let Some(ps) = self.link.port_status() {
            if ps & LP_PAPER_EMPTY != 0 {
                report.flags.paper_end = true;
            }
        }
        tracing::debug!(health = %report.health(), raw = ?report.raw, "printer status");
        Ok(report)
    }

    /// The telemetry summary; `Unknown` when the printer cannot be reached.
    pub fn health(&mut self) -> Health {
        self.status().map_or(Health::Unknown, |r| r.health())
    }

    /// Checks the printer can take a job: refuses on offline, cover open, paper end,
    /// cutter or unrecoverable error, or no answer; near end is only a warning.
    pub fn preflight(&mut self) -> Result<StatusReport, PrinterError> {
        let report = self.status()?;
        let f = report.flags;
        let refusal = match report.health() {
            Health::Unknown => Some(PrinterError::NoAnswer),
            Health::PaperOut => Some(PrinterError::PaperEnd),
            Health::CoverOpen => Some(PrinterError::CoverOpen),
            Health::CutterError => Some(PrinterError::CutterJam),
            Health::Offline if f.unrecoverable_error => Some(PrinterError::Unrecoverable),
            Health::Offline => Some(PrinterError::Offline),
            Health::NearEnd => {
                tracing::warn!("paper near end: change the roll soon");
                None
            }
            Health::Ok => None,
        };
        match refusal {
            Some(e) => {
                tracing::warn!(error = %e, "printer refused the job before printing");
                Err(e)
            }
            None => Ok(report),
        }
    }

    /// Prints one receipt.
    pub fn print(&mut self, doc: &Document) -> Result<JobReport, PrinterError> {
        self.print_job(std::slice::from_ref(doc))
    }

    /// Prints receipts in order, each confirmed with `GS r 1` before the next. On a
    /// fault mid-job the error names the first unfinished receipt: after fixing the
    /// printer call [`Printer::recover`] and print `docs[unfinished..]` again.
    pub fn print_job(&mut self, docs: &[Document]) -> Result<JobReport, PrinterError> {
        let started = Instant::now();
        let mode = self.options.mode.unwrap_or(self.profile.default_mode);
        // Encode everything first: a bad document fails before any paper moves.
        let encoded =
            docs.iter().map(|d| crate::encode::encode(d, &self.profile, Some(mode))).collect::<Result<Vec<_>, _>>()?;
        let report = self.preflight()?;
        self.last_status_back = None;
        // Status back packets may come until the printer has read `GS a 0` at the end.
        self.unsettled = true;
        self.link.send(&escpos::auto_status_back(0x0E))?;
        let mut bytes_sent = 3;
        for (i, bytes) in encoded.iter().enumerate() {
            for chunk in bytes.chunks(self.options.chunk.max(16)) {
                match self.link.send(chunk) {
                    Ok(()) => bytes_sent += chunk.len(),
                    Err(LinkError::WriteTimeout(_)) => return Err(self.interrupted(i)),
                    Err(e) => return Err(e.into()),
                }
                self.read_incoming(Expect::Nothing, Duration::ZERO)?;
                if self.status_back_fault() {
                    return Err(self.interrupted(i));
                }
            }
            self.link.send(&escpos::transmit_paper_status())?;
            bytes_sent += 3;
            if !self.confirm(bytes.len())? {
                return Err(self.interrupted(i));
            }
            tracing::info!(receipt = i, bytes = bytes.len(), "receipt printed and confirmed");
        }
        self.link.send(&escpos::auto_status_back(0))?;
        bytes_sent += 3;
        Ok(JobReport {
            receipts: docs.len(),
            bytes_sent,
            mode,
            near_end: report.flags.near_end,
            elapsed: started.elapsed(),
        })
    }

    fn status_back_fault(&self) -> bool {
        self.last_status_back.is_some_and(|f| !matches!(f.health(), Health::Ok | Health::NearEnd))
    }

    /// Waits for the `GS r 1` answer; false on a fault packet or timeout.
    fn confirm(&mut self, bytes: usize) -> Result<bool, PrinterError> {
        let wire = Duration::from_secs_f64(bytes as f64 / self.options.link_bytes_per_s.max(1.0));
        let deadline = Instant::now() + self.options.confirm_base + wire;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            for inc in self.read_incoming(Expect::PaperSensor, left.min(Duration::from_millis(200)))? {
                if matches!(inc, Incoming::PaperSensor(_)) {
                    return Ok(true);
                }
            }
            if self.status_back_fault() {
                return Ok(false);
            }
        }
    }

    /// Finds out why receipt `i` did not finish.
    fn interrupted(&mut self, i: usize) -> PrinterError {
        let health = match self.status() {
            Ok(r) if r.health() != Health::Unknown => r.health(),
            _ => self.last_status_back.map_or(Health::Unknown, |f| f.health()),
        };
        let err = match health {
            Health::PaperOut => PrinterError::PaperOutMidJob { unfinished_receipt: i },
            Health::CoverOpen => PrinterError::CoverOpenMidJob { unfinished_receipt: i },
            Health::CutterError => PrinterError::CutterJamMidJob { unfinished_receipt: i },
            _ => PrinterError::NotConfirmed { unfinished_receipt: i },
        };
        tracing::warn!(error = %err, %health, "job interrupted");
        err
    }

    /// After the cause is fixed: `DLE ENQ 1` lets the printer finish the data it holds
    /// (the rest of the interrupted job) instead of discarding it. Only for callers that
    /// will not reprint; most should use [`Printer::recover`].
    pub fn resume(&mut self) -> Result<StatusReport, PrinterError> {
        self.unsettled = true;
        self.link.send(&escpos::realtime_recover(false))?;
        self.last_status_back = None;
        self.preflight()
    }

    /// After the cause is fixed (paper loaded, cover closed, cutter cleared): clears the
    /// printer's buffers with `DLE ENQ 2`, re-initialises it and checks it is ready.
    pub fn recover(&mut self) -> Result<StatusReport, PrinterError> {
        self.unsettled = true;
        self.link.send(&escpos::realtime_recover(true))?;
        self.link.send(&escpos::init())?;
        self.last_status_back = None;
        self.preflight()
    }
}
