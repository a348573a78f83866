//! Sans-IO printer status: decoding `DLE EOT n` replies, automatic status back packets
//! and `GS r 1` replies out of a byte stream that may hold stray bytes, and the health
//! summary a kiosk reports.

use serde::{Deserialize, Serialize};

/// Everything the standard status bytes can say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrinterFlags {
    pub drawer_open: bool,
    pub offline: bool,
    pub waiting_recovery: bool,
    pub feed_button: bool,
    pub cover_open: bool,
    pub feeding_by_button: bool,
    pub stopped_at_paper_end: bool,
    pub error: bool,
    /// Recoverable error (a paper jam on some kiosk printers).
    pub recoverable_error: bool,
    pub cutter_error: bool,
    pub unrecoverable_error: bool,
    pub auto_recoverable_error: bool,
    pub near_end: bool,
    pub paper_end: bool,
}

/// True when a byte has the fixed bits of a `DLE EOT` reply.
pub fn is_realtime_reply(b: u8) -> bool {
    (b & 0x93) == 0x12
}

/// True when a byte can start an automatic status back packet (`0xx1xx00`).
pub fn is_asb_first(b: u8) -> bool {
    (b & 0x93) == 0x10
}

fn bit(b: u8, mask: u8) -> bool {
    b & mask == mask
}

impl PrinterFlags {
    /// The reply byte a printer in this state sends to `DLE EOT n`.
    pub fn realtime_byte(&self, n: u8) -> Option<u8> {
        let f = |on: bool, mask: u8| if on { mask } else { 0 };
        Some(
            0x12 | match n {
                1 => {
                    f(self.drawer_open, 0x04)
                        | f(self.offline, 0x08)
                        | f(self.waiting_recovery, 0x20)
                        | f(self.feed_button, 0x40)
                }
                2 => {
                    f(self.cover_open, 0x04)
                        | f(self.feeding_by_button, 0x08)
                        | f(self.stopped_at_paper_end, 0x20)
                        | f(self.error, 0x40)
                }
                3 => {
                    f(self.recoverable_error, 0x04)
                        | f(self.cutter_error, 0x08)
                        | f(self.unrecoverable_error, 0x20)
                        | f(self.auto_recoverable_error, 0x40)
                }
                4 => f(self.near_end, 0x0C) | f(self.paper_end, 0x60),
                _ => return None,
            },
        )
    }

    /// Reads the reply to `DLE EOT n` into these flags. Returns false (and changes
    /// nothing) when the byte does not have the reply pattern.
    pub fn apply_realtime(&mut self, n: u8, b: u8) -> bool {
        if !is_realtime_reply(b) {
            return false;
        }
        match n {
            1 => {
                self.drawer_open = bit(b, 0x04);
                self.offline = bit(b, 0x08);
                self.waiting_recovery = bit(b, 0x20);
                self.feed_button = bit(b, 0x40);
            }
            2 => {
                self.cover_open = bit(b, 0x04);
                self.feeding_by_button = bit(b, 0x08);
                self.stopped_at_paper_end = bit(b, 0x20);
                self.error = bit(b, 0x40);
            }
            3 => {
                self.recoverable_error = bit(b, 0x04);
                self.cutter_error = bit(b, 0x08);
                self.unrecoverable_error = bit(b, 0x20);
                self.auto_recoverable_error = bit(b, 0x40);
            }
            4 => {
                // Either sensor bit pair counts: some models set only one bit of each.
                self.near_end = b & 0x0C != 0;
                self.paper_end = b & 0x60 != 0;
            }
            _ => return false,
        }
        true
    }

    /// The automatic status back packet for this state.
    pub fn asb_packet(&self) -> [u8; 4] {
        let f = |on: bool, mask: u8| if on { mask } else { 0 };
        [
            0x10 | f(self.drawer_open, 0x04)
                | f(self.offline, 0x08)
                | f(self.cover_open, 0x20)
                | f(self.feeding_by_button, 0x40),
            f(self.recoverable_error, 0x04)
                | f(self.cutter_error, 0x08)
                | f(self.unrecoverable_error, 0x20)
                | f(self.auto_recoverable_error, 0x40),
            f(self.near_end, 0x03) | f(self.paper_end, 0x0C),
            0x00,
        ]
    }

    /// Flags from an automatic status back packet.
    pub fn from_asb(p: [u8; 4]) -> Self {
        let paper_end = p[2] & 0x0C != 0;
        let cutter_error = bit(p[1], 0x08);
        let unrecoverable_error = bit(p[1], 0x20);
        let recoverable_error = bit(p[1], 0x04);
        let auto_recoverable_error = bit(p[1], 0x40);
        Self {
            drawer_open: bit(p[0], 0x04),
            offline: bit(p[0], 0x08),
            cover_open: bit(p[0], 0x20),
            feeding_by_button: bit(p[0], 0x40),
            recoverable_error,
            cutter_error,
            unrecoverable_error,
            auto_recoverable_error,
            error: cutter_error || unrecoverable_error || recoverable_error || auto_recoverable_error,
            near_end: p[2] & 0x03 != 0,
            paper_end,
            stopped_at_paper_end: paper_end,
            ..Self::default()
        }
    }

    /// The one-word summary for telemetry.
    pub fn health(&self) -> Health {
        if self.paper_end || self.stopped_at_paper_end {
            Health::PaperOut
        } else if self.cover_open {
            Health::CoverOpen
        } else if self.cutter_error {
            Health::CutterError
        } else if self.offline
            || self.error
            || self.unrecoverable_error
            || self.recoverable_error
            || self.auto_recoverable_error
        {
            Health::Offline
        } else if self.near_end {
            Health::NearEnd
        } else {
            Health::Ok
        }
    }
}

/// Printer health as the kiosk reports it in telemetry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Ok,
    NearEnd,
    PaperOut,
    CoverOpen,
    CutterError,
    Offline,
    /// The printer did not answer: never reported as ok.
    Unknown,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::NearEnd => "near_end",
            Health::PaperOut => "paper_out",
            Health::CoverOpen => "cover_open",
            Health::CutterError => "cutter_error",
            Health::Offline => "offline",
            Health::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of asking `DLE EOT 1..4`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub flags: PrinterFlags,
    /// Which of n = 1..4 got a valid answer.
    pub answered: [bool; 4],
    /// Raw reply bytes (0 where unanswered), for logs.
    pub raw: [u8; 4],
}

impl StatusReport {
    /// Summary; `Unknown` unless all four requests were answered.
    pub fn health(&self) -> Health {
        if self.answered.iter().all(|&a| a) { self.flags.health() } else { Health::Unknown }
    }
}

/// What the reader is waiting for, so it can tell replies from stray bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The reply to `DLE EOT n`.
    Realtime,
    /// The reply to `GS r 1`.
    PaperSensor,
    /// Nothing asked; only status back packets are meaningful.
    Nothing,
}

/// One meaningful thing read from the printer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    Realtime(u8),
    PaperSensor(u8),
    StatusBack([u8; 4]),
    /// A byte that fits nothing expected: a stale reply, or a printer answering
    /// `10 04 0n` found inside image data. Logged and dropped.
    Stray(u8),
}

/// Splits incoming bytes into replies; keeps a partial status back packet between calls.
#[derive(Debug, Clone, Default)]
pub struct StatusReader {
    asb: [u8; 4],
    asb_len: usize,
}

impl StatusReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Classifies one byte.
    pub fn push(&mut self, b: u8, expect: Expect) -> Option<Incoming> {
        if self.asb_len > 0 {
            // Bytes 2..4 of a packet have bit 4 and bit 7 clear; anything else means
            // the "packet" was a stray byte and this one starts afresh.
            if b & 0x90 == 0 {
                self.asb[self.asb_len] = b;
                self.asb_len += 1;
                if self.asb_len == 4 {
                    self.asb_len = 0;
                    return Some(Incoming::StatusBack(self.asb));
                }
                return None;
            }
            self.asb_len = 0;
        }
        if is_realtime_reply(b) {
            return Some(if expect == Expect::Realtime { Incoming::Realtime(b) } else { Incoming::Stray(b) });
        }
        if expect == Expect::PaperSensor && b & 0x90 == 0 {
            return Some(Incoming::PaperSensor(b));
        }
        if is_asb_first(b) {
            self.asb[0] = b;
            self.asb_len = 1;
            return None;
        }
        Some(Incoming::Stray(b))
    }

    /// Classifies a run of bytes.
    pub fn push_all(&mut self, bytes: &[u8], expect: Expect) -> Vec<Incoming> {
        bytes.iter().filter_map(|&b| self.push(b, expect)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn realtime_bytes_round_trip_every_flag() {
        let all = PrinterFlags {
            drawer_open: true,
            offline: true,
            waiting_recovery: true,
            feed_button: true,
            cover_open: true,
            feeding_by_button: true,
            stopped_at_paper_end: true,
            error: true,
            recoverable_error: true,
            cutter_error: true,
            unrecoverable_error: true,
            auto_recoverable_error: true,
            near_end: true,
            paper_end: true,
        };
        let mut back = PrinterFlags::default();
        for n in 1..=4 {
            let b = all.realtime_byte(n).unwrap();
            assert!(is_realtime_reply(b), "n={n} {b:#04x}");
            assert!(back.apply_realtime(n, b));
        }
        assert_eq!(back, all);
        assert_eq!(PrinterFlags::default().realtime_byte(4), Some(0x12));
        assert_eq!(PrinterFlags { paper_end: true, near_end: true, ..Default::default() }.realtime_byte(4), Some(0x7E));
    }

    #[test]
    fn bytes_without_the_reply_pattern_are_refused() {
        let mut f = PrinterFlags::default();
        assert!(!f.apply_realtime(4, 0x60));
        assert!(!f.apply_realtime(2, 0xFF));
        assert_eq!(f, PrinterFlags::default());
    }

    #[test]
    fn no_answer_is_unknown_never_ok() {
        let r = StatusReport { answered: [true, true, true, false], ..Default::default() };
        assert_eq!(r.health(), Health::Unknown);
        let r = StatusReport { answered: [true; 4], ..Default::default() };
        assert_eq!(r.health(), Health::Ok);
    }

    #[test]
    fn status_back_packets_are_told_from_replies_and_strays() {
        let paper_out = PrinterFlags { paper_end: true, offline: true, ..Default::default() };
        let packet = paper_out.asb_packet();
        let mut r = StatusReader::new();
        // A late DLE EOT reply nobody is waiting for is stray.
        assert_eq!(r.push(0x16, Expect::Nothing), Some(Incoming::Stray(0x16)));
        let mut stream = vec![0xFF]; // line noise
        stream.extend(packet);
        stream.push(0x12);
        let got = r.push_all(&stream, Expect::Realtime);
        assert_eq!(got, [Incoming::Stray(0xFF), Incoming::StatusBack(packet), Incoming::Realtime(0x12)]);
        assert_eq!(PrinterFlags::from_asb(packet).health(), Health::PaperOut);
    }

    #[test]
    fn paper_sensor_replies_are_only_taken_when_asked() {
        let mut r = StatusReader::new();
        assert_eq!(r.push(0x00, Expect::PaperSensor), Some(Incoming::PaperSensor(0)));
        assert_eq!(r.push(0x03, Expect::Nothing), Some(Incoming::Stray(3)));
    }
}
