//! A card reader simulator: the device side of the protocol, serving synthetic cards
//! over an in-memory pipe or a pseudo-terminal, with wire-accurate timing and faults.
//!
//! Card model: after a successful read the card stays in the field but no longer
//! answers find (`80`) until removed and placed again; select (`20 02`) still answers
//! while it lies there, which is how the driver notices removal.

mod cards;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub use cards::{CardFileError, SimCard, load_cards};
/// The pseudo-terminal server [`Simulator::serve_pty`] returns (the drivers' shared one).
pub use device_link::PtyServer;

use crate::frame::{BaudRate, CardBlocks, Command, Decoder, FrameError, Reply, Status};
use crate::{Link, LinkError, PipeEnd, pipe};

/// Link speed and SAM behaviour.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Bits per second for pacing replies (8N1: 10 bits a byte). 0 = no pacing.
    pub baud: u32,
    /// Time the SAM takes to decrypt a card read, on top of the wire time.
    pub sam_delay: Duration,
    pub sam_id: [u8; 16],
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig { baud: 115_200, sam_delay: Duration::ZERO, sam_id: *b"\x05\x01\x20\x26\x11\x21SIM-SAM-01" }
    }
}

/// A fault to inject. The one-shot ones apply to the next card read reply (`30 01`/`30 10`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Flip the lowest bit of the reply byte at `offset`.
    BitFlip { offset: usize },
    /// Leave out `count` reply bytes starting at `offset`.
    DropBytes { offset: usize, count: usize },
    /// Send half the reply, go silent for this long, then send the rest.
    Stall(Duration),
    /// Answer the read with `41` (read failed).
    ReadFailed,
    /// Answer every command with `66` until the host resets the SAM (`10 FF`).
    SamNotAuthorised,
}

/// Counters tests and benchmarks read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    pub commands: u64,
    pub finds: u64,
    pub reads: u64,
    pub sam_resets: u64,
    pub bad_frames: u64,
}

/// Where the placed card is in the find -> select -> read sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CardState {
    Fresh,
    Found,
    Selected,
    Read,
}

struct State {
    cards: Vec<SimCard>,
    placed: Option<(SimCard, CardState)>,
    faults: Vec<Fault>,
    sam_fault: bool,
    vanished: bool,
    /// Connects refused while vanished.
    refused_connects: u64,
    baud: u32,
    stats: SimStats,
    found_at: Option<Instant>,
}

struct Shared {
    state: Mutex<State>,
    config: SimConfig,
    /// Bumped on every vanish: device loops of older generations hang up.
    generation: AtomicU64,
    stopped: AtomicBool,
}

/// Handle to a running simulator: place and remove cards, inject faults, connect.
/// Cloneable; every clone drives the same simulated reader.
#[derive(Clone)]
pub struct SimControl {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SimControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimControl({:?})", self.shared.config)
    }
}

/// Owns the simulated reader; dropping it stops every device thread.
#[derive(Debug)]
pub struct Simulator {
    control: SimControl,
}

impl Simulator {
    pub fn new(cards: Vec<SimCard>, config: SimConfig) -> Simulator {
        let state = State {
            cards,
            placed: None,
            faults: Vec::new(),
            sam_fault: false,
            vanished: false,
            refused_connects: 0,
            baud: config.baud,
            stats: SimStats::default(),
            found_at: None,
        };
        let shared =
            Shared { state: Mutex::new(state), config, generation: AtomicU64::new(0), stopped: AtomicBool::new(false) };
        Simulator { control: SimControl { shared: Arc::new(shared) } }
    }

    pub fn control(&self) -> SimControl {
        self.control.clone()
    }

    /// Serves the simulator on a pseudo-terminal reachable at the symlink `link`, so the
    /// driver opens it like `/dev/ttyUSB0`. While the reader has vanished the symlink is
    /// gone and the pty hung up; it comes back (a fresh pty) when the reader reappears.
    pub fn serve_pty(&self, link: &std::path::Path) -> Result<PtyServer, LinkError> {
        let (presence, device) = (self.control.clone(), self.control.clone());
        PtyServer::start_pluggable(
            link,
            "idcard-sim-pty",
            // A dropped simulator is not plugged back in (it would hang up at once, forever).
            move || !presence.is_vanished() && !presence.shared.stopped.load(Ordering::SeqCst),
            move |pty| {
                let generation = device.generation();
                device.serve_until(pty, generation);
            },
        )
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.control.shared.stopped.store(true, Ordering::SeqCst);
    }
}

impl SimControl {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Connects an in-memory host end (fails while the port has vanished).
    pub fn connect(&self) -> Result<PipeEnd, LinkError> {
        let mut state = self.lock();
        if state.vanished {
            state.refused_connects += 1;
            return Err(LinkError::Open {
                target: "the simulated reader".into(),
                reason: "its port is unplugged".into(),
            });
        }
        drop(state);
        let (host, mut device) = pipe();
        let control = self.clone();
        let generation = self.shared.generation.load(Ordering::SeqCst);
        std::thread::Builder::new()
            .name("idcard-sim".into())
            .spawn(move || control.serve_until(&mut device, generation))?;
        Ok(host)
    }

    /// Labels of the loaded cards, in file order.
    pub fn labels(&self) -> Vec<String> {
        self.lock().cards.iter().map(|c| c.label.clone()).collect()
    }

    /// Places the loaded card with this label; `false` if there is none.
    pub fn place(&self, label: &str) -> bool {
        let card = self.lock().cards.iter().find(|c| c.label == label).cloned();
        card.map(|c| self.place_card(c)).is_some()
    }

    /// Places any card (replacing the one on the reader).
    pub fn place_card(&self, card: SimCard) {
        let mut s = self.lock();
        s.placed = Some((card, CardState::Fresh));
        s.found_at = None;
    }

    pub fn remove(&self) {
        self.lock().placed = None;
    }

    pub fn inject(&self, fault: Fault) {
        let mut s = self.lock();
        if fault == Fault::SamNotAuthorised {
            s.sam_fault = true;
        } else {
            s.faults.push(fault);
        }
    }

    /// The port disappears (USB unplugged): open connections drop, new ones fail.
    pub fn vanish(&self) {
        self.lock().vanished = true;
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The port comes back.
    pub fn reappear(&self) {
        self.lock().vanished = false;
    }

    pub fn is_vanished(&self) -> bool {
        self.lock().vanished
    }

    /// How many [`SimControl::connect`]s failed because the port had vanished.
    pub fn refused_connects(&self) -> u64 {
        self.lock().refused_connects
    }

    pub fn stats(&self) -> SimStats {
        self.lock().stats
    }

    /// When the find that first saw the current card arrived (for latency measurements).
    pub fn found_at(&self) -> Option<Instant> {
        self.lock().found_at
    }

    fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::SeqCst)
    }

    /// The device loop: reads requests, answers them, until the link or generation ends
    /// (a pty server that stops fails the link, which ends the loop too).
    fn serve_until(&self, link: &mut dyn Link, generation: u64) {
        let mut decoder = Decoder::new();
        let mut buf = [0u8; 512];
        while !self.shared.stopped.load(Ordering::SeqCst) && self.generation() == generation {
            let n = match link.recv(&mut buf, Duration::from_millis(20)) {
                Ok(n) => n,
                Err(_) => return,
            };
            decoder.push(&buf[..n]);
            while let Some(event) = decoder.next_event() {
                let reply = match event {
                    Ok(frame) => {
                        let wire = frame.wire_len();
                        self.pace(wire, Instant::now());
                        match Command::from_frame(&frame) {
                            Some(cmd) => self.answer(cmd),
                            None => {
                                vec![Chunk::Bytes(Reply::new(Status::BadCommand, vec![]).encode().unwrap_or_default())]
                            }
                        }
                    }
                    Err(e) => {
                        self.lock().stats.bad_frames += 1;
                        let status = match e {
                            FrameError::BadChecksum { .. } => Status::HostChecksumError,
                            _ => Status::HostLengthError,
                        };
                        vec![Chunk::Bytes(Reply::new(status, vec![]).encode().unwrap_or_default())]
                    }
                };
                for chunk in reply {
                    match chunk {
                        Chunk::Pause(d) => std::thread::sleep(d),
                        Chunk::Bytes(bytes) => {
                            if self.send_paced(link, &bytes).is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Sleeps until `bytes` would have crossed the wire since `start`.
    fn pace(&self, bytes: usize, start: Instant) {
        let baud = self.lock().baud;
        if baud > 0 {
            let due = start + wire_time(bytes, baud);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
    }

    /// Sends in small chunks, each when its last bit would arrive at the configured baud.
    fn send_paced(&self, link: &mut dyn Link, bytes: &[u8]) -> Result<(), LinkError> {
        const CHUNK: usize = 32;
        let start = Instant::now();
        let mut sent = 0;
        for chunk in bytes.chunks(CHUNK) {
            sent += chunk.len();
            self.pace(sent, start);
            if self.generation_changed_or_stopped() {
                return Err(LinkError::Closed);
            }
            link.send(chunk)?;
        }
        Ok(())
    }

    fn generation_changed_or_stopped(&self) -> bool {
        self.shared.stopped.load(Ordering::SeqCst) || self.lock().vanished
    }

    /// The reply to one command, as wire chunks (more than one only for stalls).
    fn answer(&self, cmd: Command) -> Vec<Chunk> {
        let mut s = self.lock();
        s.stats.commands += 1;
        let frame = |status: Status, data: Vec<u8>| Reply::new(status, data).encode().unwrap_or_default();
        let sam_blocked = s.sam_fault && !matches!(cmd, Command::ResetSam);
        if sam_blocked {
            return vec![Chunk::Bytes(frame(Status::SamNotAuthorised, vec![]))];
        }
        let reply = match cmd {
            Command::ResetSam => {
                s.stats.sam_resets += 1;
                s.sam_fault = false;
                frame(Status::Ok, vec![])
            }
            Command::SamStatus | Command::MaxRfFrameBytes(_) => frame(Status::Ok, vec![]),
            Command::SamId => frame(Status::Ok, self.shared.config.sam_id.to_vec()),
            Command::SetBaud(b) => {
                let reply = frame(Status::Ok, vec![]);
                if s.baud != 0 {
                    s.baud = BaudRate::bits_per_second(b);
                }
                reply
            }
            Command::FindCard => {
                s.stats.finds += 1;
                let found_now = Instant::now();
                match &mut s.placed {
                    Some((_, state)) if *state != CardState::Read => {
                        if *state == CardState::Fresh {
                            *state = CardState::Found;
                            s.found_at = Some(found_now);
                        }
                        frame(Status::CardFound, vec![0; 4])
                    }
                    _ => frame(Status::FindFailed, vec![]),
                }
            }
            Command::SelectCard => match &mut s.placed {
                Some((card, state)) if *state != CardState::Fresh => {
                    if *state == CardState::Found {
                        *state = CardState::Selected;
                    }
                    frame(Status::Ok, card.serial())
                }
                _ => frame(Status::SelectFailed, vec![]),
            },
            Command::ReadText | Command::ReadTextAndFingerprint => {
                s.stats.reads += 1;
                return self.answer_read(s, cmd == Command::ReadTextAndFingerprint);
            }
            Command::ReadNewestAddress => match &s.placed {
                Some((card, CardState::Selected | CardState::Read)) => match card.newest_address_block() {
                    Some(block) => frame(Status::Ok, block),
                    None => frame(Status::NoSuchItem, vec![]),
                },
                _ => frame(Status::ReadFailed, vec![]),
            },
        };
        vec![Chunk::Bytes(reply)]
    }

    fn answer_read(&self, mut s: MutexGuard<'_, State>, fingerprint: bool) -> Vec<Chunk> {
        let frame = |status: Status, data: Vec<u8>| Reply::new(status, data).encode().unwrap_or_default();
        let Some((card, state)) = &mut s.placed else {
            return vec![Chunk::Bytes(frame(Status::ReadFailed, vec![]))];
        };
        if *state == CardState::Fresh || *state == CardState::Found {
            return vec![Chunk::Bytes(frame(Status::ReadFailed, vec![]))];
        }
        let blocks = CardBlocks {
            text: card.text_block(),
            photo: card.photo(),
            fingerprint: fingerprint.then(|| card.fingerprint()),
        };
        let faults = std::mem::take(&mut s.faults);
        if faults.contains(&Fault::ReadFailed) {
            s.faults = faults.into_iter().filter(|f| *f != Fault::ReadFailed).collect();
            return vec![Chunk::Bytes(frame(Status::ReadFailed, vec![]))];
        }
        if let Some((_, state)) = &mut s.placed {
            *state = CardState::Read;
        }
        drop(s);
        std::thread::sleep(self.shared.config.sam_delay);
        let mut bytes = frame(Status::Ok, blocks.encode());
        let mut stall = None;
        for fault in faults {
            match fault {
                Fault::BitFlip { offset } => {
                    let len = bytes.len();
                    if let Some(b) = bytes.get_mut(offset % len.max(1)) {
                        *b ^= 0x01;
                    }
                }
                Fault::DropBytes { offset, count } => {
                    let start = offset.min(bytes.len());
                    let end = start.saturating_add(count).min(bytes.len());
                    bytes.drain(start..end);
                }
                Fault::Stall(d) => stall = Some(d),
                Fault::ReadFailed | Fault::SamNotAuthorised => {}
            }
        }
        match stall {
            Some(d) => {
                let rest = bytes.split_off(bytes.len() / 2);
                vec![Chunk::Bytes(bytes), Chunk::Pause(d), Chunk::Bytes(rest)]
            }
            None => vec![Chunk::Bytes(bytes)],
        }
    }
}

/// What the device puts on the wire: bytes, or a silence (stall fault).
enum Chunk {
    Bytes(Vec<u8>),
    Pause(Duration),
}

/// Wire time of `bytes` at `baud` with 8N1 framing (10 bits a byte).
pub fn wire_time(bytes: usize, baud: u32) -> Duration {
    if baud == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos((bytes as u64 * 10 * 1_000_000_000) / u64::from(baud))
}
