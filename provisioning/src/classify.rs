//! Sans-IO core: the probe requests, and what the bytes that came back mean (an ID card
//! reader, an ESC/POS printer, something unknown, or silence). Pure; never panics.

use idcard::SamId;
use idcard::frame::{Command, Reply, Status, decode_all};
use printer::status::{Expect, Incoming, PrinterFlags, StatusReader};
use serde::Serialize;

/// `DLE EOT 1..4`: the real-time status requests. Printers answer them at once, even when
/// offline or out of paper, and never print them.
pub const PRINTER_PROBE: [u8; 12] = [0x10, 0x04, 0x01, 0x10, 0x04, 0x02, 0x10, 0x04, 0x03, 0x10, 0x04, 0x04];

/// How many received bytes an unknown answer keeps, for the report.
pub const KEPT_BYTES: usize = 16;

/// `12 FF`: ask the SAM for its id; the only frame the reader probe sends.
pub fn reader_probe() -> Vec<u8> {
    Command::SamId.encode()
}

/// A reader's answer to the SAM-id request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReaderAnswer {
    /// `None` when the reader answered with a status other than `90` (a SAM fault).
    pub sam: Option<SamId>,
    pub status: Status,
}

/// What a probe's reply says is on the line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Reader(ReaderAnswer),
    Printer(PrinterFlags),
    /// Bytes came back but they are neither: how many, and the first [`KEPT_BYTES`].
    Unknown {
        len: usize,
        prefix: Vec<u8>,
    },
    Silent,
}

impl Answer {
    /// A known device answered: waiting for more bytes cannot change the verdict.
    pub fn is_final(&self) -> bool {
        matches!(self, Answer::Reader(_) | Answer::Printer(_))
    }

    fn unknown_or_silent(bytes: &[u8]) -> Answer {
        if bytes.is_empty() {
            Answer::Silent
        } else {
            Answer::Unknown { len: bytes.len(), prefix: bytes[..bytes.len().min(KEPT_BYTES)].to_vec() }
        }
    }
}

/// Classifies the bytes received after [`reader_probe`]: any checksummed GA/T 467 reply
/// frame (noise around it allowed) is a reader. Our own request echoed back is not a reply
/// (its body is two bytes), so an echoing line stays unknown.
pub fn classify_reader_reply(bytes: &[u8]) -> Answer {
    for frame in decode_all(bytes).into_iter().flatten() {
        if let Some(reply) = Reply::from_frame(frame) {
            let sam = (reply.status == Status::Ok && reply.data.len() >= 16).then(|| {
                let mut id = [0u8; 16];
                id.copy_from_slice(&reply.data[..16]);
                SamId(id)
            });
            return Answer::Reader(ReaderAnswer { sam, status: reply.status });
        }
    }
    Answer::unknown_or_silent(bytes)
}

/// Classifies the bytes received after [`PRINTER_PROBE`]: exactly four bytes with the
/// `DLE EOT` reply pattern (status back packets may be interleaved) and nothing else. A
/// chatty line (text happens to match the pattern often) is therefore never a printer.
pub fn classify_printer_reply(bytes: &[u8]) -> Answer {
    let mut reader = StatusReader::new();
    let mut flags = PrinterFlags::default();
    let mut replies = 0u8;
    let mut stray = false;
    for incoming in reader.push_all(bytes, Expect::Realtime) {
        match incoming {
            Incoming::Realtime(b) if replies < 4 => {
                replies += 1;
                stray |= !flags.apply_realtime(replies, b);
            }
            Incoming::StatusBack(_) => {}
            Incoming::Realtime(_) | Incoming::PaperSensor(_) | Incoming::Stray(_) => stray = true,
        }
    }
    if replies == 4 && !stray { Answer::Printer(flags) } else { Answer::unknown_or_silent(bytes) }
}

/// The paper as a technician reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Paper {
    Ok,
    NearEnd,
    Out,
}

impl Paper {
    pub fn from_flags(flags: &PrinterFlags) -> Paper {
        if flags.paper_end || flags.stopped_at_paper_end {
            Paper::Out
        } else if flags.near_end {
            Paper::NearEnd
        } else {
            Paper::Ok
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Paper::Ok => "ok",
            Paper::NearEnd => "near end",
            Paper::Out => "out",
        }
    }
}

/// Lower-case hex with spaces, for unknown answers (`aa aa 96`).
pub fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sam_id_reply_is_a_reader_with_its_id() {
        let id = *b"\x05\x01\x20\x26\x11\x21SIM-SAM-01";
        let mut bytes = vec![0xFF, 0x00]; // line noise before the frame
        bytes.extend(Reply::new(Status::Ok, id.to_vec()).encode().unwrap());
        let Answer::Reader(r) = classify_reader_reply(&bytes) else { panic!("not a reader") };
        assert_eq!(r.sam, Some(SamId(id)));
    }

    #[test]
    fn sam_fault_reply_is_still_a_reader() {
        let bytes = Reply::new(Status::SamNotAuthorised, vec![]).encode().unwrap();
        assert_eq!(
            classify_reader_reply(&bytes),
            Answer::Reader(ReaderAnswer { sam: None, status: Status::SamNotAuthorised })
        );
    }

    #[test]
    fn echoed_request_is_unknown_not_a_reader() {
        let probe = reader_probe();
        assert_eq!(classify_reader_reply(&probe), Answer::Unknown { len: probe.len(), prefix: probe.clone() });
        assert!(matches!(classify_printer_reply(&PRINTER_PROBE), Answer::Unknown { len: 12, .. }));
    }

    #[test]
    fn four_status_bytes_are_a_printer_and_paper_state_is_read() {
        let out = PrinterFlags { paper_end: true, stopped_at_paper_end: true, ..Default::default() };
        let bytes: Vec<u8> = (1..=4).map(|n| out.realtime_byte(n).unwrap()).collect();
        let Answer::Printer(flags) = classify_printer_reply(&bytes) else { panic!("not a printer") };
        assert_eq!(Paper::from_flags(&flags), Paper::Out);
        assert_eq!(classify_printer_reply(&[0x12, 0x12, 0x12, 0x12]), Answer::Printer(PrinterFlags::default()));
    }

    #[test]
    fn text_that_matches_the_pattern_is_not_a_printer() {
        // 'R' and 'V' have the DLE EOT reply bits; a chatty device sends more than four.
        assert!(matches!(classify_printer_reply(b"RRRR"), Answer::Printer(_)));
        assert!(matches!(classify_printer_reply(b"RRRRV"), Answer::Unknown { len: 5, .. }));
        assert!(matches!(classify_printer_reply(b"$GPRMC,RV"), Answer::Unknown { .. }));
        assert_eq!(classify_printer_reply(&[0x12, 0x12, 0x12]), Answer::Unknown { len: 3, prefix: vec![0x12; 3] });
    }

    #[test]
    fn nothing_is_silent_and_unknown_keeps_a_bounded_prefix() {
        assert_eq!(classify_reader_reply(&[]), Answer::Silent);
        assert_eq!(classify_printer_reply(&[]), Answer::Silent);
        let Answer::Unknown { len, prefix } = classify_reader_reply(&[0x55; 100]) else { panic!() };
        assert_eq!((len, prefix.len()), (100, KEPT_BYTES));
        assert_eq!(hex_prefix(&[0xAA, 0x05]), "aa 05");
    }
}
