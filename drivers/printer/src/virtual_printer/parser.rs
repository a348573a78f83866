//! Sans-IO ESC/POS stream parser: bytes in (in any split), printer commands out. Covers
//! what our encoder emits and the common commands python-escpos and escpos-php send;
//! anything else is skipped by its known length, never a panic.

/// Largest data block (image, QR, graphics) accepted; longer ones are skipped as unknown.
pub const MAX_BLOCK: usize = 4 << 20;

/// One decoded printer command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Char(char),
    LineFeed,
    CarriageReturn,
    Tab,
    Init,
    FeedLines(u8),
    FeedDots(u8),
    /// `None` = default spacing.
    LineSpacing(Option<u8>),
    Bold(bool),
    Underline(u8),
    FontB(bool),
    /// `ESC !` print mode bits.
    PrintMode(u8),
    /// `GS !` size byte.
    Size(u8),
    Align(u8),
    CodePage(u8),
    ChineseMode(bool),
    ChinesePrintMode(u8),
    Cut {
        full: bool,
        feed: u8,
    },
    Raster {
        width_bytes: usize,
        height: usize,
        scale: u8,
        data: Vec<u8>,
    },
    /// `ESC *`: m, columns, column bytes.
    ColumnImage {
        mode: u8,
        columns: usize,
        data: Vec<u8>,
    },
    /// `GS ( L` / `GS 8 L` store raster graphics.
    GraphicsStore {
        width: usize,
        height: usize,
        scale_x: u8,
        scale_y: u8,
        data: Vec<u8>,
    },
    GraphicsPrint,
    QrModule(u8),
    QrEc(u8),
    QrStore(Vec<u8>),
    QrPrint,
    BarcodeHeight(u8),
    BarcodeModule(u8),
    HriPosition(u8),
    Barcode {
        system: u8,
        data: Vec<u8>,
    },
    StatusRequest(u8),
    Recover(u8),
    TransmitStatus(u8),
    AutoStatusBack(u8),
    /// A known command with no effect on paper (drawer pulse, beeper, margins, ...).
    Ignored(&'static str),
    /// Bytes the parser does not know.
    Unknown(Vec<u8>),
}

/// The parser; keeps a partial command between pushes, and the text decoding state.
#[derive(Debug, Clone)]
pub struct StreamParser {
    buf: Vec<u8>,
    chinese: bool,
    code_page: u8,
    chinese_at_power_up: bool,
}

enum Step {
    Done(Command, usize),
    More,
}

use Step::{Done, More};

fn le(lo: u8, hi: u8) -> usize {
    usize::from(lo) | (usize::from(hi) << 8)
}

impl StreamParser {
    /// A parser for a printer that powers up in (or out of) Chinese mode.
    pub fn new(chinese_at_power_up: bool) -> Self {
        Self { buf: Vec::new(), chinese: chinese_at_power_up, code_page: 0, chinese_at_power_up }
    }

    /// Whether double-byte (GB18030) text decoding is on.
    pub fn chinese_mode(&self) -> bool {
        self.chinese
    }

    /// Bytes waiting for the rest of a command.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// Drops a partial command (after `DLE ENQ 2`).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Resets text state as a power cycle does.
    pub fn power_cycle(&mut self) {
        self.buf.clear();
        self.chinese = self.chinese_at_power_up;
        self.code_page = 0;
    }

    /// Feeds bytes; returns every command completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Command> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut pos = 0;
        while pos < self.buf.len() {
            match self.step(&self.buf[pos..]) {
                Done(cmd, used) => {
                    match cmd {
                        Command::ChineseMode(on) => self.chinese = on,
                        Command::CodePage(n) => self.code_page = n,
                        _ => {}
                    }
                    out.push(cmd);
                    pos += used.max(1);
                }
                More => break,
            }
        }
        self.buf.drain(..pos.min(self.buf.len()));
        out
    }

    fn step(&self, b: &[u8]) -> Step {
        let Some(&b0) = b.first() else { return More };
        match b0 {
            0x0A => Done(Command::LineFeed, 1),
            0x0D => Done(Command::CarriageReturn, 1),
            0x09 => Done(Command::Tab, 1),
            0x10 => self.dle(b),
            0x1B => self.esc(b),
            0x1D => self.gs(b),
            0x1C => self.fs(b),
            0x00..=0x1F | 0x7F => Done(Command::Ignored("control byte"), 1),
            _ => self.text(b),
        }
    }

    fn text(&self, b: &[u8]) -> Step {
        let b0 = b[0];
        if b0 < 0x80 {
            return Done(Command::Char(char::from(b0)), 1);
        }
        if !self.chinese {
            return Done(Command::Char(single_byte(self.code_page, b0)), 1);
        }
        if !(0x81..=0xFE).contains(&b0) {
            return Done(Command::Char('\u{FFFD}'), 1);
        }
        let Some(&b1) = b.get(1) else { return More };
        let len = if (0x30..=0x39).contains(&b1) { 4 } else { 2 };
        if b.len() < len {
            return More;
        }
        let (text, bad) = encoding_rs::GB18030.decode_without_bom_handling(&b[..len]);
        match text.chars().next() {
            Some(c) if !bad => Done(Command::Char(c), len),
            _ => Done(Command::Char('\u{FFFD}'), 2.min(len)),
        }
    }

    fn dle(&self, b: &[u8]) -> Step {
        let Some(&b1) = b.get(1) else { return More };
        match b1 {
            0x04 | 0x05 => {
                let Some(&n) = b.get(2) else { return More };
                Done(if b1 == 0x04 { Command::StatusRequest(n) } else { Command::Recover(n) }, 3)
            }
            0x14 => {
                if b.len() < 5 {
                    return More;
                }
                Done(Command::Ignored("real-time pulse"), 5)
            }
            _ => Done(Command::Ignored("DLE"), 1),
        }
    }

    fn esc(&self, b: &[u8]) -> Step {
        let Some(&c) = b.get(1) else { return More };
        let arg = b.get(2).copied();
        let one = |cmd: Command| match arg {
            Some(_) => Done(cmd, 3),
            None => More,
        };
        let n = arg.unwrap_or(0);
        match c {
            b'@' => Done(Command::Init, 2),
            b'<' => Done(Command::Ignored("return home"), 2),
            b'2' => Done(Command::LineSpacing(None), 2),
            b'd' => one(Command::FeedLines(n)),
            b'J' => one(Command::FeedDots(n)),
            b'3' => one(Command::LineSpacing(Some(n))),
            b'E' | b'G' => one(Command::Bold(n & 1 == 1)),
            b'-' => one(Command::Underline(n & 3)),
            b'M' => one(Command::FontB(n & 1 == 1 || n == b'1')),
            b'!' => one(Command::PrintMode(n)),
            b'a' => one(Command::Align(if n >= b'0' { n - b'0' } else { n })),
            b't' => one(Command::CodePage(n)),
            b'i' => Done(Command::Cut { full: false, feed: 0 }, 2),
            b'm' => Done(Command::Cut { full: false, feed: 0 }, 2),
            b'e' | b'R' | b'{' | b'V' | b'r' | b' ' | b'U' => one(Command::Ignored("ESC setting")),
            b'c' => {
                // ESC c 3 n / ESC c 4 n / ESC c 5 n: sensors and panel buttons.
                if b.len() < 4 {
                    return More;
                }
                Done(Command::Ignored("ESC c"), 4)
            }
            b'$' | b'\\' => {
                if b.len() < 4 {
                    return More;
                }
                Done(Command::Ignored("print position"), 4)
            }
            b'p' => {
                if b.len() < 5 {
                    return More;
                }
                Done(Command::Ignored("drawer pulse"), 5)
            }
            b'B' => {
                if b.len() < 4 {
                    return More;
                }
                Done(Command::Ignored("beeper"), 4)
            }
            b'D' => {
                // Tab stops, NUL terminated, at most 32.
                match b[2..].iter().take(33).position(|&x| x == 0) {
                    Some(i) => Done(Command::Ignored("tab stops"), 3 + i),
                    None if b.len() >= 35 => Done(Command::Ignored("tab stops"), 35),
                    None => More,
                }
            }
            b'*' => {
                if b.len() < 5 {
                    return More;
                }
                let mode = b[2];
                let columns = le(b[3], b[4]);
                let per = if mode >= 32 { 3 } else { 1 };
                let len = columns * per;
                if b.len() < 5 + len {
                    return More;
                }
                Done(Command::ColumnImage { mode, columns, data: b[5..5 + len].to_vec() }, 5 + len)
            }
            _ => Done(Command::Unknown(b[..2].to_vec()), 2),
        }
    }

    fn fs(&self, b: &[u8]) -> Step {
        let Some(&c) = b.get(1) else { return More };
        let arg = b.get(2).copied();
        let one = |cmd: Command| match arg {
            Some(_) => Done(cmd, 3),
            None => More,
        };
        match c {
            b'&' => Done(Command::ChineseMode(true), 2),
            b'.' => Done(Command::ChineseMode(false), 2),
            b'!' => one(Command::ChinesePrintMode(arg.unwrap_or(0))),
            b'-' | b'C' | b'W' => one(Command::Ignored("FS setting")),
            b'S' | b'p' => {
                if b.len() < 4 {
                    return More;
                }
                Done(Command::Ignored("FS setting"), 4)
            }
            _ => Done(Command::Unknown(b[..2].to_vec()), 2),
        }
    }

    fn gs(&self, b: &[u8]) -> Step {
        let Some(&c) = b.get(1) else { return More };
        let arg = b.get(2).copied();
        let one = |cmd: Command| match arg {
            Some(_) => Done(cmd, 3),
            None => More,
        };
        let n = arg.unwrap_or(0);
        match c {
            b'!' => one(Command::Size(n)),
            b'h' => one(Command::BarcodeHeight(n)),
            b'w' => one(Command::BarcodeModule(n)),
            b'H' => one(Command::HriPosition(if n >= b'0' { n - b'0' } else { n })),
            b'r' => one(Command::TransmitStatus(if n >= b'0' { n - b'0' } else { n })),
            b'a' => one(Command::AutoStatusBack(n)),
            b'f' | b'B' | b'b' | b'I' => one(Command::Ignored("GS setting")),
            b'V' => match arg {
                None => More,
                Some(m @ (0 | 1 | b'0' | b'1')) => Done(Command::Cut { full: m == 0 || m == b'0', feed: 0 }, 3),
                Some(m @ (65 | 66 | 97 | 98 | 103 | 104)) => match b.get(3) {
                    Some(&f) => Done(Command::Cut { full: m % 2 == 1, feed: f }, 4),
                    None => More,
                },
                Some(_) => Done(Command::Unknown(b[..3].to_vec()), 3),
            },
            b'L' | b'W' | b'P' | b'\\' => {
                if b.len() < 4 {
                    return More;
                }
                Done(Command::Ignored("GS layout"), 4)
            }
            b'v' => {
                if b.len() < 8 {
                    return More;
                }
                let (width_bytes, height) = (le(b[4], b[5]), le(b[6], b[7]));
                let len = width_bytes * height;
                if len > MAX_BLOCK {
                    return Done(Command::Unknown(b[..8].to_vec()), 8);
                }
                if b.len() < 8 + len {
                    return More;
                }
                Done(Command::Raster { width_bytes, height, scale: b[3], data: b[8..8 + len].to_vec() }, 8 + len)
            }
            b'k' => self.barcode(b),
            b'(' => {
                if b.len() < 5 {
                    return More;
                }
                let len = le(b[3], b[4]);
                if b.len() < 5 + len {
                    return More;
                }
                let body = &b[5..5 + len];
                let cmd = match b[2] {
                    b'k' => qr_function(body),
                    b'L' => graphics_function(body),
                    _ => Command::Ignored("GS ( function"),
                };
                Done(cmd, 5 + len)
            }
            b'8' => {
                // GS 8 L p1 p2 p3 p4 m fn ...: graphics with a 32-bit length.
                if b.len() < 7 {
                    return More;
                }
                let len = u32::from_le_bytes([b[3], b[4], b[5], b[6]]) as usize;
                if len > MAX_BLOCK {
                    return Done(Command::Unknown(b[..7].to_vec()), 7);
                }
                if b.len() < 7 + len {
                    return More;
                }
                let cmd = if b[2] == b'L' { graphics_function(&b[7..7 + len]) } else { Command::Ignored("GS 8") };
                Done(cmd, 7 + len)
            }
            _ => Done(Command::Unknown(b[..2].to_vec()), 2),
        }
    }

    fn barcode(&self, b: &[u8]) -> Step {
        let Some(&m) = b.get(2) else { return More };
        if m <= 6 {
            // Old form: NUL-terminated data.
            return match b[3..].iter().take(256).position(|&x| x == 0) {
                Some(i) => Done(Command::Barcode { system: m, data: b[3..3 + i].to_vec() }, 4 + i),
                None if b.len() >= 259 => Done(Command::Unknown(b[..3].to_vec()), 3),
                None => More,
            };
        }
        let Some(&len) = b.get(3) else { return More };
        let len = usize::from(len);
        if b.len() < 4 + len {
            return More;
        }
        Done(Command::Barcode { system: m, data: b[4..4 + len].to_vec() }, 4 + len)
    }
}

fn qr_function(body: &[u8]) -> Command {
    match body {
        [0x31, 0x41, ..] => Command::Ignored("QR model"),
        [0x31, 0x43, n, ..] => Command::QrModule(*n),
        [0x31, 0x45, n, ..] => Command::QrEc(*n),
        [0x31, 0x50, 0x30, data @ ..] => Command::QrStore(data.to_vec()),
        [0x31, 0x51, 0x30, ..] => Command::QrPrint,
        _ => Command::Ignored("GS ( k function"),
    }
}

fn graphics_function(body: &[u8]) -> Command {
    match body {
        // m fn=112 a bx by c xL xH yL yH data
        [0x30, 0x70, _a, bx, by, _c, xl, xh, yl, yh, data @ ..] => {
            let (width, height) = (le(*xl, *xh), le(*yl, *yh));
            Command::GraphicsStore { width, height, scale_x: *bx, scale_y: *by, data: data.to_vec() }
        }
        [0x30, 0x32 | 0x02, ..] => Command::GraphicsPrint,
        _ => Command::Ignored("GS ( L function"),
    }
}

/// Code page 437's upper half (what `ESC t 0` selects on most printers).
const CP437_HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";

/// Decodes one byte >= 0x80 in a single-byte code page.
fn single_byte(code_page: u8, b: u8) -> char {
    let enc = match code_page {
        16 => encoding_rs::WINDOWS_1252,
        17 => encoding_rs::IBM866,
        18 => encoding_rs::WINDOWS_1250, // close enough to PC852 for Latin-2 letters
        _ => return CP437_HIGH.chars().nth(usize::from(b.wrapping_sub(0x80))).unwrap_or('\u{FFFD}'),
    };
    let bytes = [b];
    let (text, _) = enc.decode_without_bom_handling(&bytes);
    text.chars().next().unwrap_or('\u{FFFD}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp437_table_has_128_characters() {
        assert_eq!(CP437_HIGH.chars().count(), 128);
        assert_eq!(single_byte(0, 0x82), 'é');
        assert_eq!(single_byte(16, 0xE9), 'é');
    }

    #[test]
    fn commands_split_across_pushes_are_reassembled() {
        let mut p = StreamParser::new(true);
        let stream =
            [&[0x1B, 0x40, 0xD0][..], &[0xD5, 0x1D, 0x76, 0x30, 0x00, 0x01], &[0x00, 0x01, 0x00], &[0x80, 0x0A]];
        let mut cmds = Vec::new();
        for part in stream {
            cmds.extend(p.push(part));
        }
        assert_eq!(
            cmds,
            [
                Command::Init,
                Command::Char('姓'),
                Command::Raster { width_bytes: 1, height: 1, scale: 0, data: vec![0x80] },
                Command::LineFeed
            ]
        );
        assert_eq!(p.pending(), 0);
    }

    #[test]
    fn chinese_mode_off_decodes_the_code_page() {
        let mut p = StreamParser::new(true);
        let cmds = p.push(&[0x1C, 0x2E, 0x82, 0x1C, 0x26, 0xC3, 0xFB]);
        assert_eq!(
            cmds,
            [Command::ChineseMode(false), Command::Char('é'), Command::ChineseMode(true), Command::Char('名')]
        );
    }

    #[test]
    fn status_requests_and_cuts_are_recognised() {
        let mut p = StreamParser::new(false);
        let cmds = p.push(&[0x10, 0x04, 0x04, 0x1D, 0x56, 0x42, 0x30, 0x1D, 0x56, 0x00, 0x1D, 0x72, 0x01]);
        assert_eq!(
            cmds,
            [
                Command::StatusRequest(4),
                Command::Cut { full: false, feed: 0x30 },
                Command::Cut { full: true, feed: 0 },
                Command::TransmitStatus(1)
            ]
        );
    }

    #[test]
    fn qr_and_barcode_commands_carry_their_data() {
        let mut p = StreamParser::new(false);
        let mut bytes = crate::escpos::qr(b"1234", 3, crate::escpos::QrEc::L);
        bytes.extend(crate::escpos::code128(b"{B012ABCDabcd"));
        let cmds = p.push(&bytes);
        assert_eq!(cmds[1], Command::QrModule(3));
        assert_eq!(cmds[2], Command::QrEc(0x30));
        assert_eq!(cmds[3], Command::QrStore(b"1234".to_vec()));
        assert_eq!(cmds[4], Command::QrPrint);
        assert_eq!(cmds[5], Command::Barcode { system: 0x49, data: b"{B012ABCDabcd".to_vec() });
    }
}
