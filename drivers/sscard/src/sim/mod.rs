//! The card simulator: plays synthetic social security cards from the card side of vpcd's
//! socket protocol, so the real pcscd and the real vsmartcard-vpcd driver talk to it as
//! to a card in a reader. Inserting a card = connecting to the reader's port; removing it =
//! closing the socket. A cloneable [`SimControl`] inserts, removes and arms faults.

pub mod cards;
pub mod engine;
pub mod vpcd;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use cards::{CardsError, SimCard, load_cards};
pub use engine::CardEngine;

use vpcd::{FrameDecoder, Message, frame};

/// What the simulator saw, for tests and the latency example.
#[derive(Clone, Debug, Default)]
pub struct SimStats {
    /// Times a card was connected to the reader (inserted, or reconnected after pcscd
    /// restarted).
    pub connections: u64,
    pub apdus: u64,
    /// ATR requests: vpcd asks for the ATR at power-up and to check the card is still there.
    pub atr_requests: u64,
    pub power_ons: u64,
    pub resets: u64,
    /// Cards pulled out by the pull fault.
    pub pulls: u64,
    /// When the current card's connection got its first message: pcscd noticed the card.
    pub noticed_at: Option<Instant>,
    /// When the current card was inserted ([`SimControl::insert`]).
    pub inserted_at: Option<Instant>,
}

struct State {
    inserted: Option<usize>,
    /// Bumped on every insert and remove, so the serving loop notices a swap.
    generation: u64,
    /// Pull the card out when it receives this many more APDUs (the last one unanswered).
    pull_after: Option<u64>,
    stats: SimStats,
}

struct Shared {
    cards: Vec<SimCard>,
    address: SocketAddr,
    state: Mutex<State>,
    stop: AtomicBool,
}

/// Inserts and removes cards, arms faults, reads statistics. Cheap to clone.
#[derive(Clone)]
pub struct SimControl {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SimControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimControl({})", self.shared.address)
    }
}

impl SimControl {
    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts the card labelled `label` in the reader (taking out any other first). False
    /// when no card has that label.
    pub fn insert(&self, label: &str) -> bool {
        let Some(index) = self.shared.cards.iter().position(|c| c.label == label) else { return false };
        let mut state = self.state();
        state.inserted = Some(index);
        state.generation += 1;
        state.stats.inserted_at = Some(Instant::now());
        state.stats.noticed_at = None;
        true
    }

    /// Takes the card out (closes the socket).
    pub fn remove(&self) {
        let mut state = self.state();
        state.inserted = None;
        state.generation += 1;
    }

    /// Fault: the card is pulled out when it receives its `n`-th next APDU, which stays
    /// unanswered: the reader sees the card vanish in the middle of a read.
    pub fn pull_after(&self, n: u64) {
        self.state().pull_after = Some(n.max(1));
    }

    /// The label of the card in the reader.
    pub fn inserted(&self) -> Option<String> {
        let state = self.state();
        state.inserted.and_then(|i| self.shared.cards.get(i)).map(|c| c.label.clone())
    }

    pub fn stats(&self) -> SimStats {
        self.state().stats.clone()
    }

    pub fn labels(&self) -> Vec<String> {
        self.shared.cards.iter().map(|c| c.label.clone()).collect()
    }

    /// The reader's port this simulator plays cards on.
    pub fn address(&self) -> SocketAddr {
        self.shared.address
    }
}

/// A running simulator: a thread plays the inserted card on vpcd's port. Dropping it takes
/// the card out and stops the thread.
pub struct Simulator {
    control: SimControl,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Simulator({})", self.control.shared.address)
    }
}

impl Simulator {
    /// Plays `cards` on vpcd's reader at `127.0.0.1:port` (35963 for "Virtual PCD 00 00",
    /// 35964 for "… 00 01"). No card is inserted yet.
    pub fn start(cards: Vec<SimCard>, port: u16) -> Simulator {
        let shared = Arc::new(Shared {
            cards,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            state: Mutex::new(State { inserted: None, generation: 0, pull_after: None, stats: SimStats::default() }),
            stop: AtomicBool::new(false),
        });
        let control = SimControl { shared: shared.clone() };
        let thread = std::thread::Builder::new()
            .name(format!("sscard-sim-{port}"))
            .spawn(move || serve(&SimControl { shared }))
            .ok();
        Simulator { control, thread }
    }

    pub fn control(&self) -> SimControl {
        self.control.clone()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.control.remove();
        self.control.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// While a card is inserted: connect to vpcd (again after pcscd restarts) and answer it.
fn serve(control: &SimControl) {
    while !control.shared.stop.load(Ordering::SeqCst) {
        let (index, generation) = {
            let state = control.state();
            (state.inserted, state.generation)
        };
        let Some(card) = index.and_then(|i| control.shared.cards.get(i)) else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        // pcscd not running (yet): keep trying, as a card lying in an unpowered reader.
        let Ok(stream) = TcpStream::connect_timeout(&control.shared.address, Duration::from_millis(200)) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        control.state().stats.connections += 1;
        let ended = play(control, card, stream, generation);
        tracing::debug!(card = card.label, ?ended, "card connection ended");
        if ended == Ended::ReaderClosed {
            // pcscd went away (restart) or vpcd dropped the card: connect again shortly.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Removed,
    Pulled,
    ReaderClosed,
}

fn play(control: &SimControl, card: &SimCard, mut stream: TcpStream, generation: u64) -> Ended {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(10)));
    let atr = card.atr_bytes().unwrap_or_else(|_| cards::DEFAULT_ATR.to_vec());
    let mut engine = CardEngine::new(card);
    let mut decoder = FrameDecoder::default();
    let mut buf = [0u8; 4096];
    let still_inserted = || {
        let state = control.state();
        state.generation == generation && !control.shared.stop.load(Ordering::SeqCst)
    };
    loop {
        if !still_inserted() {
            let _ = stream.shutdown(Shutdown::Both);
            return Ended::Removed;
        }
        // vpcd writes a message's length and its payload in two send() calls on a socket
        // with Nagle's algorithm on: the payload waits until the length is acknowledged,
        // and a delayed ACK here would add ~40 ms to every APDU. Quick ACKs are re-armed
        // before every read because the kernel leaves quick-ACK mode by itself.
        let _ = socket2::SockRef::from(&stream).set_tcp_quickack(true);
        match stream.read(&mut buf) {
            Ok(0) => return Ended::ReaderClosed,
            Ok(n) => decoder.push(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            Err(_) => return Ended::ReaderClosed,
        }
        while let Some(payload) = decoder.next_payload() {
            let reply = {
                let mut state = control.state();
                if state.stats.noticed_at.is_none() {
                    state.stats.noticed_at = Some(Instant::now());
                }
                match Message::from_payload(&payload) {
                    Message::Atr => {
                        state.stats.atr_requests += 1;
                        Some(atr.clone())
                    }
                    Message::PowerOn => {
                        state.stats.power_ons += 1;
                        engine.reset();
                        None
                    }
                    Message::Reset => {
                        state.stats.resets += 1;
                        engine.reset();
                        None
                    }
                    Message::PowerOff | Message::UnknownControl(_) => None,
                    Message::Apdu(apdu) => {
                        state.stats.apdus += 1;
                        if let Some(left) = state.pull_after.as_mut() {
                            *left -= 1;
                            if *left == 0 {
                                state.pull_after = None;
                                state.stats.pulls += 1;
                                state.inserted = None;
                                state.generation += 1;
                                drop(state);
                                let _ = stream.shutdown(Shutdown::Both);
                                return Ended::Pulled;
                            }
                        }
                        Some(engine.respond(&apdu))
                    }
                }
            };
            if let Some(reply) = reply
                && stream.write_all(&frame(&reply)).is_err()
            {
                return Ended::ReaderClosed;
            }
        }
    }
}
