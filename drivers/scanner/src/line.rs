//! The sans-IO line assembler: bytes in (from a serial scanner or the key decoder),
//! complete scans out. Lines end with CR, LF or CRLF; they are bounded in length; lines
//! with bytes a barcode of ours never holds, and partial lines abandoned by the transport,
//! come out as garbage with a reason and a length, never their content.

/// The longest line kept: a verify URL with a long host fits; anything longer is garbage.
pub const MAX_SCAN_LEN: usize = 256;

/// What a line turned out to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assembled {
    /// A complete line of printable ASCII, terminator removed.
    Line(String),
    /// Not a scan (its content is dropped: it may be anything, even personal data).
    Garbage { why: Garbage, len: usize },
}

/// Why a line is garbage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Garbage {
    /// Longer than the bound.
    TooLong,
    /// Holds control characters or non-ASCII bytes (or a key the decoder does not know).
    NotPrintable,
    /// A partial line the transport gave up on (the scanner went quiet or away mid-line).
    Abandoned,
}

impl std::fmt::Display for Garbage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Garbage::TooLong => "longer than any barcode this service prints",
            Garbage::NotPrintable => "holds characters no barcode of this service holds",
            Garbage::Abandoned => "the scanner stopped in the middle of a line",
        })
    }
}

/// Assembles lines from bytes in any chunking.
#[derive(Debug, Clone)]
pub struct LineAssembler {
    buf: Vec<u8>,
    /// Bytes of the current line, including those not kept after an overflow.
    len: usize,
    printable: bool,
    /// The last byte was CR: a LF right after it ends nothing (CRLF is one terminator).
    after_cr: bool,
    max: usize,
}

impl Default for LineAssembler {
    fn default() -> Self {
        LineAssembler::new(MAX_SCAN_LEN)
    }
}

impl LineAssembler {
    pub fn new(max: usize) -> LineAssembler {
        LineAssembler { buf: Vec::new(), len: 0, printable: true, after_cr: false, max }
    }

    /// Feeds bytes; returns every line they complete. Empty lines are skipped.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Assembled> {
        let mut out = Vec::new();
        for &b in bytes {
            let after_cr = std::mem::replace(&mut self.after_cr, b == b'\r');
            match b {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => out.extend(self.finish()),
                _ => {
                    self.len += 1;
                    if !(0x20..0x7F).contains(&b) {
                        self.printable = false;
                    }
                    if self.len <= self.max {
                        self.buf.push(b);
                    }
                }
            }
        }
        out
    }

    /// True when part of a line is waiting for its terminator.
    pub fn has_partial(&self) -> bool {
        self.len > 0
    }

    /// Drops a partial line (the scanner went quiet or was unplugged mid-line).
    pub fn abandon_partial(&mut self) -> Option<Assembled> {
        self.after_cr = false;
        if self.len == 0 {
            return None;
        }
        let len = self.len;
        self.clear();
        Some(Assembled::Garbage { why: Garbage::Abandoned, len })
    }

    fn finish(&mut self) -> Option<Assembled> {
        if self.len == 0 {
            return None;
        }
        let len = self.len;
        let line = if len > self.max {
            Assembled::Garbage { why: Garbage::TooLong, len }
        } else if !self.printable {
            Assembled::Garbage { why: Garbage::NotPrintable, len }
        } else {
            Assembled::Line(self.buf.iter().map(|&b| char::from(b)).collect())
        };
        self.clear();
        Some(line)
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.len = 0;
        self.printable = true;
    }
}
