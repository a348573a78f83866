//! A TCP proxy between the terminal and the central service that can cut the network
//! at once, in the middle of a request, or after a request is in but before its answer is out.

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
}

impl Shared {
    fn mode(&self) -> (Mode, u64) {
        let s = *self.state.borrow();
        (s.mode, s.armed)
    }
    fn arm(&self, mode: Mode) {
        self.cut.send_replace(None);
        self.held.send_replace(0);
        self.state.send_modify(|s| {
            s.mode = mode;
            s.armed += 1;
        });
    }
}

/// A TCP proxy whose link can be cut (open connections dropped, new ones refused).
pub struct NetworkLink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl NetworkLink {
    pub async fn start(target: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: watch::channel(LinkState { mode: Mode::Up, armed: 0 }).0,
            cut: watch::channel(None).0,
            held: watch::channel(0).0,
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

/// Relays one connection until either side closes it or the link goes down.
async fn relay(inbound: TcpStream, target: SocketAddr, link: Arc<Shared>) {
    let Ok(outbound) = TcpStream::connect(target).await else { return };
    let mut state = link.state.subscribe();
    let holding = AtomicBool::new(false);
    let (from_terminal, to_terminal) = inbound.into_split();
    let (from_central, to_central) = outbound.into_split();
    // HTTP/1.1 clients never half-close while awaiting an answer, so either direction
    // ending ends the connection.
    tokio::select! {
        () = upstream(from_terminal, to_central, &link, &holding) => {}
        () = downstream(from_central, to_terminal, &link, &holding) => {}
        // A connection whose answer is held back cannot be resumed: it ends when the hold does.
        _ = state.wait_for(|s| {
            s.mode == Mode::Down || (holding.load(Ordering::SeqCst) && !matches!(s.mode, Mode::HoldAnswers { .. }))
        }) => {}
    }
}

/// Terminal to central: counts bytes since arming, and cuts or starts holding at the threshold.
async fn upstream(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, link: &Shared, holding: &AtomicBool) {
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
                    holding.store(true, Ordering::SeqCst);
                }
            }
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Central to terminal: forwards, unless this connection's answer is being held back.
async fn downstream(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, link: &Shared, holding: &AtomicBool) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) if holding.load(Ordering::SeqCst) => {
                // The central service closed, but the terminal must not learn of it
                // before the cut.
                std::future::pending::<()>().await;
                return;
            }
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if holding.load(Ordering::SeqCst) {
            link.held.send_modify(|held| *held += n);
            continue; // thrown away with the connection when the link is cut
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
