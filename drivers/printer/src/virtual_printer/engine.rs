//! The virtual printer's mechanism: executes parsed commands onto paper, keeps the
//! printer state that status requests report, and applies injected faults.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::bitmap::Bitmap;
use crate::escpos::{Align, Hri, QrEc};
use crate::paper::{DEFAULT_LINE_SPACING, Paper, Style};
use crate::profile::Profile;
use crate::status::PrinterFlags;

use super::parser::{Command, StreamParser};

/// Commands held while the printer is stopped; past this the oldest are dropped.
const MAX_HELD: usize = 1 << 20;

/// Longest receipt kept in one picture (about 2.5 m at 203 dpi): a runaway stream is
/// cut into pieces instead of eating memory.
pub const MAX_RECEIPT_DOTS: u32 = 20_000;

/// Tallest single picture accepted; the rest is cropped.
const MAX_PICTURE_ROWS: usize = 8_000;

/// Faults a test or demo can switch on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    pub near_end: bool,
    /// Paper runs out once this many more dots are fed.
    pub paper_left_dots: Option<u64>,
    pub cover_open: bool,
    /// The cover opens once the printer has received this many bytes in total.
    pub cover_opens_at_byte: Option<u64>,
    /// The next cut jams.
    pub jam_next_cut: bool,
    /// Link speed for the in-memory pipe and pty (bits per second, 10 bits a byte).
    pub baud: Option<u32>,
    /// Paper speed in mm/s: the paper moves this fast, cuts wait for the paper before
    /// them and so do `GS r` answers (None: the paper moves at once).
    pub print_speed: Option<u32>,
}

/// When the paper moved: what a benchmark reads to time a printout against its paper.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// When the first command other than a real-time request (`DLE EOT`, `DLE ENQ`)
    /// arrived: the start of a job, not of a status poll.
    pub first_data: Option<Instant>,
    /// When each cut happened: once the paper before it has moved, at the print speed.
    pub cuts: Vec<Instant>,
}

/// The paper's motion at [`Faults::print_speed`]: one head, so paper fed while it still
/// moves waits for it. Reads the clock: only this part of the engine is about time.
#[derive(Debug)]
struct Motion {
    /// When the last command arrived.
    now: Instant,
    /// When the paper fed so far has finished moving.
    busy_until: Instant,
    /// `GS r` answers waiting for the paper before them: (when, byte), in order.
    held_answers: VecDeque<(Instant, u8)>,
    timeline: Timeline,
}

impl Motion {
    fn new() -> Self {
        let now = Instant::now();
        Self { now, busy_until: now, held_answers: VecDeque::new(), timeline: Timeline::default() }
    }

    /// When the paper fed so far stops moving (now if it already has).
    fn paper_done(&self) -> Instant {
        self.busy_until.max(self.now)
    }
}

/// Printer state plus its paper.
#[derive(Debug)]
pub struct Engine {
    pub profile: Profile,
    parser: StreamParser,
    paper: Paper,
    style: Style,
    qr_module: u8,
    qr_ec: QrEc,
    qr_data: Vec<u8>,
    bar_height: u8,
    bar_module: u8,
    hri: Hri,
    graphics: Option<Bitmap>,
    pub faults: Faults,
    paper_end: bool,
    cutter_error: bool,
    held: VecDeque<Command>,
    asb_mask: u8,
    last_asb: Option<[u8; 4]>,
    /// Bytes waiting to go back to the host.
    pub replies: Vec<u8>,
    /// Cut receipts, oldest first.
    pub receipts: Vec<Bitmap>,
    /// Paper that never got its cut: stubs left when paper ran out, jams cleared away.
    pub torn: Vec<Bitmap>,
    pub bytes_received: u64,
    motion: Motion,
}

impl Engine {
    pub fn new(profile: Profile) -> Self {
        Self {
            parser: StreamParser::new(profile.chinese_mode_at_power_up),
            paper: Paper::new(profile.width_dots),
            profile,
            style: Style::default(),
            qr_module: 3,
            qr_ec: QrEc::L,
            qr_data: Vec::new(),
            bar_height: 162,
            bar_module: 3,
            hri: Hri::None,
            graphics: None,
            faults: Faults::default(),
            paper_end: false,
            cutter_error: false,
            held: VecDeque::new(),
            asb_mask: 0,
            last_asb: None,
            replies: Vec::new(),
            receipts: Vec::new(),
            torn: Vec::new(),
            bytes_received: 0,
            motion: Motion::new(),
        }
    }

    /// When the paper moved so far.
    pub fn timeline(&self) -> &Timeline {
        &self.motion.timeline
    }

    /// Forgets when the paper moved (a benchmark's next round).
    pub fn clear_timeline(&mut self) {
        self.motion.timeline = Timeline::default();
    }

    /// Moves the `GS r` answers whose paper has finished by `now` to [`Engine::replies`];
    /// returns when the next one is due, if any waits.
    pub fn release_due(&mut self, now: Instant) -> Option<Instant> {
        while let Some(&(due, byte)) = self.motion.held_answers.front() {
            if due > now {
                return Some(due);
            }
            self.motion.held_answers.pop_front();
            self.replies.push(byte);
        }
        None
    }

    /// The paper moves `dots` at the print speed, after the paper fed before it.
    fn advance(&mut self, dots: u64) {
        let Some(speed) = self.faults.print_speed.filter(|&s| s > 0) else { return };
        let per_second = f64::from(speed) * self.profile.dots_per_mm();
        let start = self.motion.paper_done();
        self.motion.busy_until = start + Duration::from_secs_f64(dots as f64 / per_second);
    }

    /// The state the status bytes report.
    pub fn flags(&self) -> PrinterFlags {
        let stopped = self.stopped();
        PrinterFlags {
            offline: stopped,
            waiting_recovery: !self.held.is_empty() && !self.fault_active(),
            cover_open: self.faults.cover_open,
            stopped_at_paper_end: self.paper_end,
            error: self.cutter_error,
            cutter_error: self.cutter_error,
            near_end: self.faults.near_end || self.paper_end,
            paper_end: self.paper_end,
            ..PrinterFlags::default()
        }
    }

    fn fault_active(&self) -> bool {
        self.paper_end || self.faults.cover_open || self.cutter_error
    }

    /// Not printing: a fault, or held data waiting for `DLE ENQ`.
    fn stopped(&self) -> bool {
        self.fault_active() || !self.held.is_empty()
    }

    /// Feeds bytes from the host.
    pub fn feed(&mut self, bytes: &[u8]) {
        if let Some(at) = self.faults.cover_opens_at_byte {
            let split = at.saturating_sub(self.bytes_received).min(bytes.len() as u64) as usize;
            if split < bytes.len() {
                self.feed_now(&bytes[..split]);
                self.faults.cover_opens_at_byte = None;
                self.faults.cover_open = true;
                self.push_status_back();
                self.feed_now(&bytes[split..]);
                return;
            }
        }
        self.feed_now(bytes);
    }

    fn feed_now(&mut self, bytes: &[u8]) {
        self.motion.now = Instant::now();
        self.bytes_received += bytes.len() as u64;
        for cmd in self.parser.push(bytes) {
            self.handle(cmd);
        }
        self.push_status_back();
    }

    fn handle(&mut self, cmd: Command) {
        let realtime = matches!(cmd, Command::StatusRequest(_) | Command::Recover(_));
        if !realtime && self.motion.timeline.first_data.is_none() {
            self.motion.timeline.first_data = Some(self.motion.now);
        }
        match cmd {
            // Real-time commands act on arrival, even while stopped.
            Command::StatusRequest(n) => {
                if let Some(b) = self.flags().realtime_byte(n) {
                    self.replies.push(b);
                }
            }
            Command::Recover(n @ (1 | 2)) => self.recover(n == 2),
            cmd if self.stopped() => {
                if self.held.len() >= MAX_HELD {
                    self.held.pop_front();
                }
                self.held.push_back(cmd);
            }
            cmd => self.execute(cmd),
        }
    }

    fn recover(&mut self, clear: bool) {
        if self.cutter_error {
            self.cutter_error = false;
            if clear {
                self.torn.push(self.paper.take());
            } else {
                self.receipts.push(self.paper.take());
            }
        }
        if clear {
            self.held.clear();
            self.parser.clear();
        }
        while !self.fault_active() {
            let Some(cmd) = self.held.pop_front() else { break };
            self.execute(cmd);
        }
        self.push_status_back();
    }

    /// Re-checks faults changed from outside (the control handle) and reports them.
    pub fn faults_changed(&mut self) {
        self.push_status_back();
    }

    /// The paper runs out now.
    pub fn run_out(&mut self) {
        self.faults.paper_left_dots = Some(0);
        if !self.paper_end {
            self.paper_end = true;
            if let Some(stub) = self.uncut() {
                self.torn.push(stub);
                self.paper.take();
            }
        }
        self.push_status_back();
    }

    /// Loads fresh paper.
    pub fn refill(&mut self) {
        self.paper_end = false;
        self.faults.near_end = false;
        self.faults.paper_left_dots = None;
        self.push_status_back();
    }

    fn push_status_back(&mut self) {
        if self.asb_mask == 0 {
            return;
        }
        let packet = self.flags().asb_packet();
        if self.last_asb != Some(packet) {
            self.last_asb = Some(packet);
            self.replies.extend_from_slice(&packet);
        }
    }

    /// Counts fed paper against the paper left; true when it just ran out.
    fn account_feed(&mut self, dots: u64) -> bool {
        if let Some(left) = self.faults.paper_left_dots {
            if dots >= left {
                self.faults.paper_left_dots = Some(0);
                self.paper_end = true;
                // What was printed so far stays as a stub without its cut.
                self.torn.push(self.paper.take());
                self.push_status_back();
                return true;
            }
            self.faults.paper_left_dots = Some(left - dots);
        }
        false
    }

    fn execute(&mut self, cmd: Command) {
        let before = self.paper.position();
        self.apply(cmd);
        let after = self.paper.position();
        if after > before {
            self.advance(u64::from(after - before));
            self.account_feed(u64::from(after - before));
        }
        if self.paper.position() > MAX_RECEIPT_DOTS {
            tracing::warn!("receipt longer than {MAX_RECEIPT_DOTS} dots: cut into pieces");
            self.receipts.push(self.paper.take());
        }
    }

    fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::Char(c) => self.paper.put_char(c, self.style),
            Command::LineFeed => self.paper.print_line(),
            Command::Tab => {
                for _ in 0..8 {
                    self.paper.put_char(' ', self.style);
                }
            }
            Command::Init => {
                self.style = Style::default();
                self.paper.align = Align::Left;
                self.paper.line_spacing = DEFAULT_LINE_SPACING;
                self.qr_data.clear();
            }
            Command::FeedLines(n) => self.paper.feed_lines(u32::from(n)),
            Command::FeedDots(n) => self.paper.feed_dots(u32::from(n)),
            Command::LineSpacing(n) => self.paper.line_spacing = n.map_or(DEFAULT_LINE_SPACING, u32::from),
            Command::Bold(on) => self.style.bold = on,
            Command::Underline(n) => self.style.underline = n.min(2),
            Command::FontB(on) => self.style.font_b = on,
            Command::PrintMode(n) => {
                self.style.font_b = n & 0x01 != 0;
                self.style.bold = n & 0x08 != 0;
                self.style.height = if n & 0x10 != 0 { 2 } else { 1 };
                self.style.width = if n & 0x20 != 0 { 2 } else { 1 };
                self.style.underline = if n & 0x80 != 0 { 1 } else { 0 };
            }
            Command::Size(n) => {
                self.style.width = ((n >> 4) & 7) + 1;
                self.style.height = (n & 7) + 1;
            }
            Command::Align(n) => {
                self.paper.align = match n {
                    1 => Align::Center,
                    2 => Align::Right,
                    _ => Align::Left,
                }
            }
            Command::ChinesePrintMode(n) => {
                // Chinese kiosk printers apply FS ! double width/height to both scripts.
                if n & 0x04 != 0 {
                    self.style.width = self.style.width.max(2);
                }
                if n & 0x08 != 0 {
                    self.style.height = self.style.height.max(2);
                }
            }
            Command::Cut { feed, .. } => self.cut(feed),
            Command::Raster { width_bytes, height, scale, data } => {
                let (sx, sy) = (1 + usize::from(scale & 1), 1 + usize::from((scale >> 1) & 1));
                let max_w = self.profile.width_dots as usize / sx;
                let b = Bitmap::from_packed_rows_clipped(width_bytes, height, &data, max_w, MAX_PICTURE_ROWS / sy);
                let b = scale_bitmap(&b, sx as u32, sy as u32);
                self.paper.print_picture(&b);
            }
            Command::ColumnImage { mode, columns, data } => {
                let columns = columns.min(self.profile.width_dots as usize);
                self.paper.put_picture(column_image(mode, columns, &data));
            }
            Command::GraphicsStore { width, height, scale_x, scale_y, data } => {
                let wb = width.div_ceil(8);
                let (sx, sy) = (usize::from(scale_x.clamp(1, 2)), usize::from(scale_y.clamp(1, 2)));
                let max_w = width.min(self.profile.width_dots as usize / sx);
                let b = Bitmap::from_packed_rows_clipped(wb, height, &data, max_w, MAX_PICTURE_ROWS / sy);
                self.graphics = Some(scale_bitmap(&b, sx as u32, sy as u32));
            }
            Command::GraphicsPrint => {
                if let Some(g) = self.graphics.take() {
                    self.paper.print_picture(&g);
                }
            }
            Command::QrModule(n) => self.qr_module = n.clamp(1, 16),
            Command::QrEc(n) => {
                self.qr_ec = match n {
                    0x30 => QrEc::L,
                    0x31 => QrEc::M,
                    0x32 => QrEc::Q,
                    0x33 => QrEc::H,
                    _ => self.qr_ec,
                }
            }
            Command::QrStore(data) => self.qr_data = data,
            Command::QrPrint => {
                if !self.profile.native_qr {
                    tracing::debug!("QR print command on a model without native QR: ignored");
                } else if !self.paper.print_qr(&self.qr_data, self.qr_module, self.qr_ec) {
                    tracing::debug!(len = self.qr_data.len(), "stored QR data does not fit a symbol");
                }
            }
            Command::BarcodeHeight(n) => self.bar_height = n.max(1),
            Command::BarcodeModule(n) => self.bar_module = n.clamp(1, 6),
            Command::HriPosition(n) => {
                self.hri = match n {
                    1 => Hri::Above,
                    2 => Hri::Below,
                    3 => Hri::Both,
                    _ => Hri::None,
                }
            }
            Command::Barcode { system, data } => self.barcode(system, &data),
            Command::TransmitStatus(n) => {
                // GS r: answered in order, only when everything before it was printed.
                let f = self.flags();
                let b =
                    if n == 1 { (if f.near_end { 0x03 } else { 0 }) | (if f.paper_end { 0x0C } else { 0 }) } else { 0 };
                // At print speed the answer waits for the paper before it to stop.
                let due = self.motion.paper_done();
                if due > self.motion.now || !self.motion.held_answers.is_empty() {
                    self.motion.held_answers.push_back((due, b));
                } else {
                    self.replies.push(b);
                }
            }
            Command::AutoStatusBack(n) => {
                self.asb_mask = n;
                self.last_asb = None;
                self.push_status_back();
            }
            Command::CarriageReturn
            | Command::CodePage(_)
            | Command::ChineseMode(_)
            | Command::StatusRequest(_)
            | Command::Recover(_)
            | Command::Ignored(_) => {}
            Command::Unknown(bytes) => tracing::debug!(?bytes, "unknown command skipped"),
        }
    }

    fn barcode(&mut self, system: u8, data: &[u8]) {
        let symbol = match system {
            0x49 => crate::code128::parse_escpos(data),
            // Other symbologies: printed as their text only, so nothing is silently lost.
            _ => None,
        };
        match symbol {
            Some(s) if self.profile.native_code128 => {
                self.paper.print_code128(&s.values, &s.text, self.bar_module, self.bar_height, self.hri);
            }
            _ => tracing::debug!(system, len = data.len(), "barcode not printable on this model"),
        }
    }

    fn cut(&mut self, feed: u8) {
        self.paper.feed_dots(u32::from(feed));
        self.advance(u64::from(feed));
        if self.paper_end {
            return;
        }
        if self.faults.jam_next_cut {
            self.faults.jam_next_cut = false;
            self.cutter_error = true;
            self.push_status_back();
            return;
        }
        self.receipts.push(self.paper.take());
        let at = self.motion.paper_done();
        self.motion.timeline.cuts.push(at);
    }

    /// Paper printed but not cut yet (for renderers that end without a cut).
    pub fn uncut(&self) -> Option<Bitmap> {
        let mut p = self.paper.clone();
        let b = p.take();
        (b.used_height() > 0).then_some(b)
    }

    /// Ends the stream: anything printed but not cut becomes a last receipt.
    pub fn finish(&mut self) {
        if let Some(b) = self.uncut() {
            self.receipts.push(b);
            self.paper.take();
        }
    }
}

fn scale_bitmap(b: &Bitmap, sx: u32, sy: u32) -> Bitmap {
    if sx == 1 && sy == 1 {
        return b.clone();
    }
    let mut out = Bitmap::new(b.width() * sx, b.height() * sy);
    for y in 0..b.height() {
        for x in 0..b.width() {
            if b.get(x, y) {
                out.fill(i64::from(x * sx), i64::from(y * sy), sx, sy);
            }
        }
    }
    out
}

/// `ESC *` column data (MSB = top dot) into a picture; 8-dot modes are triple height
/// and single density modes double width, as on a 203 dpi head.
fn column_image(mode: u8, columns: usize, data: &[u8]) -> Bitmap {
    let (dots, sx, sy) = match mode {
        0 => (8, 2, 3),
        1 => (8, 1, 3),
        32 => (24, 2, 1),
        _ => (24, 1, 1),
    };
    let per = dots / 8;
    let mut b = Bitmap::new(columns as u32, dots);
    for col in 0..columns {
        for k in 0..per as usize {
            let byte = data.get(col * per as usize + k).copied().unwrap_or(0);
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    b.set(col as i64, (k * 8 + bit) as i64, true);
                }
            }
        }
    }
    scale_bitmap(&b, sx, sy)
}
