//! A TCP proxy between the terminal and the central service that can cut the network
//! at once, in the middle of a request, or after a request is in but before its answer is out;
//! and inject one-shot faults into a connection: a reset (RST) mid-request or mid-answer, a
//! stall of the whole link, an answer kept back until released, and a latency per chunk.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long the waits below allow before declaring the rig hung.
const HANG: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Up,
    /// Open connections dropped, new ones closed as soon as they are accepted.
    Down,
    /// Armed: a connection forwards `after` terminal bytes (counted from arming), then the link goes down.
    CutMidRequest {
        after: usize,
    },
    /// Armed: once a connection forwarded `after` terminal bytes (counted from arming), the central
    /// service's bytes on it are held back until the link is cut.
    HoldAnswers {
        after: usize,
    },
    /// Armed, one-shot: the first connection to forward `after` terminal bytes (counted
    /// from arming) is reset (RST both ways) with the rest of its request in flight.
    ResetMidRequest {
        after: usize,
    },
    /// Armed, one-shot: on the first connection where the terminal sent `after` bytes,
    /// the central service's answer is let through in part, then both ends are reset.
    ResetMidAnswer {
        after: usize,
    },
    /// Armed, one-shot: once a connection forwarded `after` terminal bytes, every
    /// connection stops forwarding (both ways) for `pause`.
    StallAfter {
        after: usize,
        pause: Duration,
    },
    /// Armed, one-shot: on the first connection where the terminal sent `after` bytes,
    /// the central service's answer waits until [`NetworkLink::release_answers`].
    DelayAnswers {
        after: usize,
    },
    /// Armed, one-shot: only reports the first connection to forward `after` terminal bytes.
    Watch {
        after: usize,
    },
}

impl Mode {
    /// The one-shot faults go back to `Up` once they fired.
    fn one_shot(self) -> bool {
        matches!(
            self,
            Self::ResetMidRequest { .. }
                | Self::ResetMidAnswer { .. }
                | Self::StallAfter { .. }
                | Self::DelayAnswers { .. }
                | Self::Watch { .. }
        )
    }
}

/// A one-shot fault the proxy injected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injected {
    /// The connection was reset after `forwarded` terminal bytes (since arming) reached
    /// the central service; `dropped` more had already arrived and were thrown away.
    ResetMidRequest { forwarded: usize, dropped: usize },
    /// The connection was reset after `answered` of the answer's bytes were let through.
    ResetMidAnswer { answered: usize },
    /// The whole link stopped forwarding for `pause`.
    Stalled { pause: Duration },
    /// The central service answered (`bytes` so far) and the answer is being kept back.
    AnswerDelayed { bytes: usize },
    /// A connection forwarded `forwarded` terminal bytes since arming (nothing else done).
    Watched { forwarded: usize },
}

#[derive(Clone, Copy, Debug)]
struct LinkState {
    mode: Mode,
    /// Bumped on every arming, so each connection counts its bytes from that moment.
    armed: u64,
}

/// What the proxy did when it cut a request in the middle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MidRequestCut {
    /// Terminal bytes on the cut connection (since arming) that reached the central service.
    pub forwarded: usize,
    /// Bytes the terminal had already sent that were thrown away: the request was still coming.
    pub dropped: usize,
}

/// The link's shared state, seen by the listener and by every relayed connection.
struct Shared {
    state: watch::Sender<LinkState>,
    cut: watch::Sender<Option<MidRequestCut>>,
    /// Answer bytes held back since the last arming.
    held: watch::Sender<usize>,
    /// The one-shot fault injected since the last arming.
    injected: watch::Sender<Option<Injected>>,
    /// Added before every chunk forwarded, either way.
    latency: watch::Sender<Duration>,
    /// Nothing is forwarded, either way, before this.
    stalled_until: watch::Sender<Option<tokio::time::Instant>>,
    /// Bumped by every release of delayed answers.
    released: watch::Sender<u64>,
}

impl Shared {
    fn mode(&self) -> (Mode, u64) {
        let s = *self.state.borrow();
        (s.mode, s.armed)
    }
    fn arm(&self, mode: Mode) {
        self.cut.send_replace(None);
        self.held.send_replace(0);
        self.injected.send_replace(None);
        self.state.send_modify(|s| {
            s.mode = mode;
            s.armed += 1;
        });
    }
    /// Claims the one-shot fault armed as `armed`: true for the one connection that
    /// injects it (the link goes back up for the others).
    fn fire(&self, armed: u64, what: Injected) -> bool {
        let won = self.state.send_if_modified(|s| {
            if s.armed == armed && s.mode.one_shot() {
                s.mode = Mode::Up;
                true
            } else {
                false
            }
        });
        if won {
            self.injected.send_replace(Some(what));
        }
        won
    }
    /// Waits out the latency and any stall before a chunk is forwarded.
    async fn pace(&self) {
        let latency = *self.latency.borrow();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        loop {
            let until = *self.stalled_until.borrow();
            match until {
                Some(until) if until > tokio::time::Instant::now() => tokio::time::sleep_until(until).await,
                _ => return,
            }
        }
    }
}

/// Resets both ends of a relayed connection once its halves are dropped (RST, not FIN).
fn reset(terminal: &TcpStream, central: &TcpStream) {
    let _ = terminal.set_zero_linger();
    let _ = central.set_zero_linger();
}

/// A TCP proxy whose link can be cut (open connections dropped, new ones refused).
pub struct NetworkLink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl NetworkLink {
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        Self::start_between(SocketAddr::from(([127, 0, 0, 1], 0)), target).await
    }

    /// Listens on `listen` (port 0: a free port), relaying to `target`.
    pub async fn start_between(listen: SocketAddr, target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: watch::channel(LinkState { mode: Mode::Up, armed: 0 }).0,
            cut: watch::channel(None).0,
            held: watch::channel(0).0,
            injected: watch::channel(None).0,
            latency: watch::channel(Duration::ZERO).0,
            stalled_until: watch::channel(None).0,
            released: watch::channel(0).0,
        });
        let link = shared.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                if link.mode().0 == Mode::Down {
                    continue; // cut: the connection is closed at once
                }
                tokio::spawn(relay(inbound, target, link.clone()));
            }
        });
        Ok(Self { addr, shared })
    }

    /// Cuts the link now: open connections (and any answer held back) are dropped,
    /// new ones closed on arrival.
    pub fn cut(&self) {
        self.shared.state.send_modify(|s| s.mode = Mode::Down);
    }

    pub fn restore(&self) {
        self.shared.state.send_modify(|s| s.mode = Mode::Up);
    }

    /// Arms a cut in the middle of the next large request: the first connection on which
    /// the terminal sends more than `after` bytes from now gets exactly `after` of them
    /// through, then the link goes down (as [`cut`](Self::cut)) with the rest in flight.
    pub fn cut_mid_request(&self, after: usize) {
        self.shared.arm(Mode::CutMidRequest { after });
    }

    /// Arms holding back answers: on a connection where the terminal sent at least
    /// `after` bytes from now, the request still goes through in full but nothing the
    /// central service sends back is forwarded. [`cut`](Self::cut) (or `restore`) drops
    /// those connections and what they held.
    pub fn hold_answers_after(&self, after: usize) {
        self.shared.arm(Mode::HoldAnswers { after });
    }

    /// Arms a reset in the middle of the next large request: the first connection on
    /// which the terminal sends more than `after` bytes from now gets exactly `after` of
    /// them through, then both its ends are reset (RST). The link stays up.
    pub fn reset_mid_request(&self, after: usize) {
        self.shared.arm(Mode::ResetMidRequest { after });
    }

    /// Arms a reset in the middle of an answer: on the first connection where the
    /// terminal sends at least `after` bytes from now, the central service's answer (so
    /// it has finished the request) is let through in part, then both ends are reset.
    pub fn reset_mid_answer(&self, after: usize) {
        self.shared.arm(Mode::ResetMidAnswer { after });
    }

    /// Arms a stall: once a connection forwarded `after` terminal bytes from now, no
    /// connection forwards anything, either way, for `pause`. Bytes wait, none are lost.
    pub fn stall_after(&self, after: usize, pause: Duration) {
        self.shared.arm(Mode::StallAfter { after, pause });
    }

    /// Arms keeping an answer back: on the first connection where the terminal sends at
    /// least `after` bytes from now, the central service's answer waits in the proxy
    /// until [`release_answers`](Self::release_answers); the connection stays open.
    pub fn delay_answers_after(&self, after: usize) {
        self.shared.arm(Mode::DelayAnswers { after });
    }

    /// Lets the answers kept back by [`delay_answers_after`](Self::delay_answers_after) go.
    pub fn release_answers(&self) {
        self.shared.released.send_modify(|n| *n += 1);
    }

    /// Arms a watch: reports (see [`injected`](Self::injected)) the first connection to
    /// forward `after` terminal bytes from now, and changes nothing.
    pub fn watch_for(&self, after: usize) {
        self.shared.arm(Mode::Watch { after });
    }

    /// Adds `latency` before every chunk forwarded, either way (zero: none).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.latency.send_replace(latency);
    }

    /// Waits (generously) for the armed one-shot fault to be injected.
    pub async fn injected(&self) -> Injected {
        let mut injected = self.shared.injected.subscribe();
        let happened =
            tokio::time::timeout(HANG, injected.wait_for(Option::is_some)).await.ok().and_then(|i| *i.ok()?);
        assert!(happened.is_some(), "the armed fault was never injected: no request that large was sent");
        happened.unwrap_or_else(|| unreachable!())
    }

    /// Waits (generously) for the armed mid-request cut to happen.
    pub async fn mid_request_cut(&self) -> MidRequestCut {
        let mut cut = self.shared.cut.subscribe();
        let happened = tokio::time::timeout(HANG, cut.wait_for(Option::is_some)).await.ok().and_then(|c| *c.ok()?);
        assert!(happened.is_some(), "the armed mid-request cut never happened: no request that large was sent");
        happened.unwrap_or_else(|| unreachable!())
    }

    /// Waits (generously) until the central service has answered a held request, and
    /// returns how many answer bytes are being held back.
    pub async fn answer_held(&self) -> usize {
        let mut held = self.shared.held.subscribe();
        let held = tokio::time::timeout(HANG, held.wait_for(|n| *n > 0)).await.ok().and_then(|n| Some(*n.ok()?));
        assert!(held.is_some(), "the central service never answered a held request");
        held.unwrap_or_default()
    }
}

/// What one relayed connection's two directions share.
#[derive(Default)]
struct Connection {
    /// The central service's bytes are held back (thrown away) until the link is cut.
    holding: AtomicBool,
    /// The next answer is reset part-way, if the fault armed as this generation is still unclaimed.
    reset_answer: std::sync::Mutex<Option<u64>>,
    /// The next answer waits for a release, if the fault armed as this generation is still unclaimed.
    delay_answer: std::sync::Mutex<Option<u64>>,
}

impl Connection {
    fn take(slot: &std::sync::Mutex<Option<u64>>) -> Option<u64> {
        slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take()
    }
    fn set(slot: &std::sync::Mutex<Option<u64>>, armed: u64) {
        *slot.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(armed);
    }
}

/// Relays one connection until either side closes it or the link goes down.
async fn relay(inbound: TcpStream, target: SocketAddr, link: Arc<Shared>) {
    let Ok(outbound) = TcpStream::connect(target).await else { return };
    let mut state = link.state.subscribe();
    let conn = Connection::default();
    let (from_terminal, to_terminal) = inbound.into_split();
    let (from_central, to_central) = outbound.into_split();
    // HTTP/1.1 clients never half-close while awaiting an answer, so either direction
    // ending ends the connection.
    tokio::select! {
        () = upstream(from_terminal, to_central, &link, &conn) => {}
        () = downstream(from_central, to_terminal, &link, &conn) => {}
        // A connection whose answer is held back cannot be resumed: it ends when the hold does.
        _ = state.wait_for(|s| {
            s.mode == Mode::Down || (conn.holding.load(Ordering::SeqCst) && !matches!(s.mode, Mode::HoldAnswers { .. }))
        }) => {}
    }
}

/// Terminal to central: counts bytes since arming, and cuts, resets, stalls or starts
/// holding at the threshold.
async fn upstream(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, link: &Shared, conn: &Connection) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut counted_since = None;
    let mut sent = 0usize;
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let (mode, armed) = link.mode();
        if counted_since != Some(armed) {
            counted_since = Some(armed);
            sent = 0;
        }
        match mode {
            Mode::Down => return,
            Mode::Up => {}
            Mode::CutMidRequest { after } if sent + n > after => {
                let room = after - sent;
                let _ = to.write_all(&buf[..room]).await;
                let _ = to.flush().await;
                link.cut.send_replace(Some(MidRequestCut { forwarded: after, dropped: n - room }));
                link.state.send_modify(|s| {
                    if s.armed == armed {
                        s.mode = Mode::Down;
                    }
                });
                return;
            }
            Mode::CutMidRequest { .. } => sent += n,
            Mode::HoldAnswers { after } => {
                sent += n;
                if sent >= after {
                    conn.holding.store(true, Ordering::SeqCst);
                }
            }
            Mode::ResetMidRequest { after } if sent + n > after => {
                let room = after - sent;
                let _ = to.write_all(&buf[..room]).await;
                let _ = to.flush().await;
                if link.fire(armed, Injected::ResetMidRequest { forwarded: after, dropped: n - room }) {
                    reset(from.as_ref(), to.as_ref());
                    return;
                }
                // Another connection took the fault: forward the rest as usual.
                if to.write_all(&buf[room..n]).await.is_err() {
                    return;
                }
                continue;
            }
            Mode::StallAfter { after, pause } if sent + n >= after => {
                if link.fire(armed, Injected::Stalled { pause }) {
                    link.stalled_until.send_replace(Some(tokio::time::Instant::now() + pause));
                }
            }
            Mode::Watch { after } if sent + n >= after => {
                link.fire(armed, Injected::Watched { forwarded: sent + n });
            }
            Mode::ResetMidAnswer { after } if sent + n >= after => Connection::set(&conn.reset_answer, armed),
            Mode::DelayAnswers { after } if sent + n >= after => Connection::set(&conn.delay_answer, armed),
            Mode::ResetMidRequest { .. }
            | Mode::ResetMidAnswer { .. }
            | Mode::StallAfter { .. }
            | Mode::DelayAnswers { .. }
            | Mode::Watch { .. } => sent += n,
        }
        link.pace().await;
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Central to terminal: forwards, unless this connection's answer is being held back,
/// kept back until released, or reset part-way.
async fn downstream(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, link: &Shared, conn: &Connection) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) if conn.holding.load(Ordering::SeqCst) => {
                // The central service closed, but the terminal must not learn of it
                // before the cut.
                std::future::pending::<()>().await;
                return;
            }
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if conn.holding.load(Ordering::SeqCst) {
            link.held.send_modify(|held| *held += n);
            continue; // thrown away with the connection when the link is cut
        }
        if let Some(armed) = Connection::take(&conn.reset_answer) {
            let part = n.div_ceil(2);
            if link.fire(armed, Injected::ResetMidAnswer { answered: part }) {
                let _ = to.write_all(&buf[..part]).await;
                let _ = to.flush().await;
                reset(to.as_ref(), from.as_ref());
                return;
            }
        }
        if let Some(armed) = Connection::take(&conn.delay_answer) {
            let released = *link.released.borrow();
            if link.fire(armed, Injected::AnswerDelayed { bytes: n }) {
                let mut release = link.released.subscribe();
                if release.wait_for(|r| *r > released).await.is_err() {
                    return;
                }
            }
        }
        link.pace().await;
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
