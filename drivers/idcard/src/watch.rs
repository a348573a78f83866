//! The polling task: owns a reader on a dedicated thread, polls for cards and turns
//! what happens into [`ReaderEvent`]s on a tokio channel. Recovers from unplugged
//! ports (reopened through [`Reopening`]) and failing SAMs by itself; sleeps (no CPU)
//! between polls.
//!
//! Polling is adaptive. While the terminal is in use (a card was presented, failed to
//! read or was taken away within [`ReaderConfig::active_for`]) it polls every
//! [`ReaderConfig::active_poll_interval`], so the next card is found within a few
//! milliseconds of being placed; a find exchange is 21 bytes, 1.8 ms at 115200 baud.
//! When no card has come or gone for that long (nobody at the terminal) it polls every
//! [`ReaderConfig::poll_interval`], as slowly as vendors advise and at the least CPU.

use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use device_link::Reopening;
use tokio::sync::mpsc;

use crate::card::Card;
use crate::reader::{CardReader, ReadOptions, ReaderError, SamId, Timeouts};
use crate::{Link, LinkError};

/// Opens (or reopens, after an unplug) the link to the reader.
pub type Opener = Box<dyn FnMut() -> Result<Box<dyn Link>, LinkError> + Send>;

/// A reader over the port that the task's [`Reopening`] holds open.
type PortReader<'a> = CardReader<&'a mut Box<dyn Link>>;

#[derive(Clone, Debug)]
pub struct ReaderConfig {
    /// Time between polls while nobody is at the terminal (no card came or went for
    /// `active_for`); vendors advise no faster than 300 ms.
    pub poll_interval: Duration,
    /// Time between polls while the terminal is in use: for `active_for` after a card
    /// was presented, failed to read or was taken away. Never slower than `poll_interval`.
    pub active_poll_interval: Duration,
    /// How long polling stays at `active_poll_interval` after the last card event.
    pub active_for: Duration,
    /// Time between losing the port (or failing to open it) and the next attempt to open it.
    pub reconnect_interval: Duration,
    pub timeouts: Timeouts,
    pub options: ReadOptions,
    /// Consecutive SAM failures before the SAM is reset.
    pub sam_failures_before_reset: u32,
    /// Consecutive unanswered polls before the link is declared dead and reopened.
    pub silent_polls_before_fault: u32,
    /// Failed reads of one placement before giving up until the card is removed.
    pub read_attempts: u32,
    pub channel_capacity: usize,
}

impl Default for ReaderConfig {
    fn default() -> Self {
        ReaderConfig {
            poll_interval: Duration::from_millis(300),
            // A card is found within 10 ms (plus one find exchange) of being placed:
            // ~80 polls a second at 115200 baud, 0.2-0.5 % of a core for this thread
            // (docs/performance.md), paid only while the terminal is in use.
            active_poll_interval: Duration::from_millis(10),
            // Longer than a session's idle timeout and countdown (75 s), so the next
            // citizen a few minutes later still finds the reader quick.
            active_for: Duration::from_secs(300),
            reconnect_interval: Duration::from_secs(1),
            timeouts: Timeouts::default(),
            options: ReadOptions::default(),
            sam_failures_before_reset: 3,
            silent_polls_before_fault: 3,
            read_attempts: 3,
            channel_capacity: 32,
        }
    }
}

/// What the kiosk needs to know about.
#[derive(Debug)]
pub enum ReaderEvent {
    /// The reader answered for the first time.
    Connected {
        sam_id: Option<SamId>,
    },
    CardPresented(Box<Card>),
    CardRemoved,
    /// A card is on the reader but could not be read (ask the citizen to place it again).
    CardReadFailed {
        error: String,
    },
    /// The reader stopped working; the task keeps trying to recover.
    ReaderFault {
        fault: FaultKind,
        detail: String,
    },
    ReaderRecovered {
        sam_id: Option<SamId>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The port could not be opened or disappeared (USB unplugged).
    LinkLost,
    /// The port is there but the reader does not answer.
    NoReply,
    /// The SAM keeps failing; it is being reset.
    Sam,
}

/// Stops the polling thread when dropped or on [`WatchHandle::stop`].
#[derive(Debug)]
pub struct WatchHandle {
    stop: Option<std_mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    sam_id: Arc<Mutex<Option<SamId>>>,
}

impl WatchHandle {
    /// The SAM id read at the last (re)connection, for telemetry.
    pub fn sam_id(&self) -> Option<SamId> {
        *self.sam_id.lock().unwrap_or_else(|e| e.into_inner())
    }
    /// Stops polling and waits for the thread to finish its current command.
    pub fn stop(mut self) {
        self.shutdown();
    }
    fn shutdown(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the polling task on its own thread. `opener` is called at start and again
/// after every loss of the link. Events arrive on the returned tokio channel.
/// When someone last used the terminal (touched the screen). A citizen usually picks a
/// service before placing the card: from a touch on, the reader polls as it does after
/// a card event, so the first card after a quiet hour is found as fast as the next.
/// Process-wide because a terminal process drives one ID card reader.
static LAST_ACTIVITY: Mutex<Option<Instant>> = Mutex::new(None);

/// Someone is at the terminal (a touch): poll fast for [`ReaderConfig::active_for`].
/// The polling thread sees it at its next poll (within one idle interval).
pub fn someone_is_here() {
    *LAST_ACTIVITY.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now());
}

fn last_activity() -> Option<Instant> {
    *LAST_ACTIVITY.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn watch<F>(opener: F, config: ReaderConfig) -> (WatchHandle, mpsc::Receiver<ReaderEvent>)
where
    F: FnMut() -> Result<Box<dyn Link>, LinkError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
    let (stop_tx, stop_rx) = std_mpsc::channel();
    let sam_id = Arc::new(Mutex::new(None));
    let task =
        PollTask { config, events: tx, stop: stop_rx, sam_id: sam_id.clone(), faulted: false, last_card_event: None };
    let thread = std::thread::Builder::new().name("idcard-reader".into()).spawn(move || task.run(opener)).ok();
    (WatchHandle { stop: Some(stop_tx), thread, sam_id }, rx)
}

/// Whether a card is on the reader, as far as polling knows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Empty,
    Presented,
    /// Lying there but failed `read_attempts` times: wait for removal.
    Unreadable,
}

struct PollTask {
    config: ReaderConfig,
    events: mpsc::Sender<ReaderEvent>,
    stop: std_mpsc::Receiver<()>,
    sam_id: Arc<Mutex<Option<SamId>>>,
    faulted: bool,
    /// When a card was last presented, failed to read or was taken away.
    last_card_event: Option<Instant>,
}

/// The task ends: stop requested or nobody listens any more.
struct Stopped;

impl PollTask {
    fn run<F>(mut self, opener: F)
    where
        F: FnMut() -> Result<Box<dyn Link>, LinkError> + Send + 'static,
    {
        let mut port = Reopening::new(opener).with_reopen_delay(self.config.reconnect_interval);
        let mut ever_connected = false;
        loop {
            // Waited out here rather than inside `get`, so that a stop request is heard.
            if self.sleep(port.until_next_open()).is_err() {
                return;
            }
            let link = match port.get() {
                Ok(link) => link,
                Err(e) => {
                    if self.fault(FaultKind::LinkLost, format!("cannot open the reader port: {e}")).is_err() {
                        return;
                    }
                    continue;
                }
            };
            let reader = CardReader::new(link).with_timeouts(self.config.timeouts).with_options(self.config.options);
            let ended = self.session(reader, &mut ever_connected);
            // A session ends when the link is lost or the reader stopped answering on it:
            // either way the port is closed and opened afresh after `reconnect_interval`.
            port.close();
            if ended.is_err() {
                return;
            }
        }
    }

    /// One connection's life: handshake, then poll until the link fails.
    fn session(&mut self, mut reader: PortReader<'_>, ever: &mut bool) -> Result<(), Stopped> {
        if let Err(e) = self.handshake(&mut reader) {
            let kind = if matches!(e, ReaderError::LinkLost(_)) { FaultKind::LinkLost } else { FaultKind::NoReply };
            return self.fault(kind, e.to_string());
        }
        let sam_id = reader.sam_id().ok();
        *self.sam_id.lock().unwrap_or_else(|e| e.into_inner()) = sam_id;
        tracing::info!(sam_id = ?sam_id, "card reader connected");
        if self.faulted {
            self.faulted = false;
            self.emit(ReaderEvent::ReaderRecovered { sam_id })?;
        } else if !*ever {
            self.emit(ReaderEvent::Connected { sam_id })?;
        }
        *ever = true;

        let (mut field, mut read_failures, mut silent, mut sam_failures) = (Field::Empty, 0u32, 0u32, 0u32);
        loop {
            self.sleep(self.poll_wait())?;
            let result = self.poll(&mut reader, &mut field, &mut read_failures);
            match result {
                Ok(()) => {
                    silent = 0;
                    sam_failures = 0;
                }
                Err(ReaderError::LinkLost(e)) => {
                    if field == Field::Presented {
                        self.emit(ReaderEvent::CardRemoved)?;
                    }
                    return self.fault(FaultKind::LinkLost, format!("reader port lost: {e}"));
                }
                Err(e @ (ReaderError::NoReply { .. } | ReaderError::Garbled { .. })) => {
                    silent += 1;
                    tracing::warn!(error = %e, silent, "reader did not answer a poll");
                    if silent >= self.config.silent_polls_before_fault {
                        return self.fault(FaultKind::NoReply, e.to_string());
                    }
                }
                Err(e) if e.is_sam_fault() => {
                    sam_failures += 1;
                    tracing::warn!(error = %e, sam_failures, "SAM failure");
                    if sam_failures >= self.config.sam_failures_before_reset {
                        sam_failures = 0;
                        self.fault(FaultKind::Sam, format!("{e}; resetting the SAM"))?;
                        match reader.reset_sam().and_then(|()| reader.sam_status()) {
                            Ok(()) => {
                                self.faulted = false;
                                self.emit(ReaderEvent::ReaderRecovered { sam_id: reader.sam_id().ok() })?;
                            }
                            Err(e) => tracing::error!(error = %e, "SAM reset did not help: the reader needs service"),
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "poll failed"),
            }
        }
    }

    fn handshake(&mut self, reader: &mut PortReader<'_>) -> Result<(), ReaderError> {
        match reader.sam_status() {
            Err(e) if e.is_sam_fault() => reader.reset_sam().and_then(|()| reader.sam_status()),
            other => other,
        }
    }

    /// One poll: find; read a new card; notice removal.
    fn poll(
        &mut self,
        reader: &mut PortReader<'_>,
        field: &mut Field,
        read_failures: &mut u32,
    ) -> Result<(), ReaderError> {
        let found = reader.find_card()?;
        match (*field, found) {
            (Field::Unreadable, true) => return Ok(()),
            (Field::Unreadable, false) => {
                *field = Field::Empty;
                return Ok(());
            }
            (Field::Presented, false) => {
                // A card already read no longer answers find; select tells if it is still there.
                if reader.select_card()?.is_none() {
                    *field = Field::Empty;
                    self.emit(ReaderEvent::CardRemoved).map_err(|_| stopped_error())?;
                }
                return Ok(());
            }
            (Field::Presented, true) => {
                // Taken away and placed again between two polls.
                *field = Field::Empty;
                self.emit(ReaderEvent::CardRemoved).map_err(|_| stopped_error())?;
            }
            (Field::Empty, false) => return Ok(()),
            (Field::Empty, true) => {}
        }
        if reader.select_card()?.is_none() {
            return Ok(());
        }
        match reader.read_selected() {
            Ok(card) => {
                *read_failures = 0;
                *field = Field::Presented;
                tracing::info!(card = ?card, "card read");
                self.emit(ReaderEvent::CardPresented(Box::new(card))).map_err(|_| stopped_error())?;
                Ok(())
            }
            Err(e) if matches!(e, ReaderError::LinkLost(_)) || e.is_sam_fault() => Err(e),
            Err(e) => {
                *read_failures += 1;
                if *read_failures >= self.config.read_attempts {
                    *read_failures = 0;
                    *field = Field::Unreadable;
                }
                tracing::warn!(error = %e, "card read failed");
                self.emit(ReaderEvent::CardReadFailed { error: e.to_string() }).map_err(|_| stopped_error())?;
                Ok(())
            }
        }
    }

    fn fault(&mut self, fault: FaultKind, detail: String) -> Result<(), Stopped> {
        if self.faulted {
            return Ok(());
        }
        self.faulted = true;
        tracing::error!(?fault, %detail, "card reader fault");
        self.emit(ReaderEvent::ReaderFault { fault, detail })
    }

    fn emit(&mut self, event: ReaderEvent) -> Result<(), Stopped> {
        if matches!(
            event,
            ReaderEvent::CardPresented(_) | ReaderEvent::CardRemoved | ReaderEvent::CardReadFailed { .. }
        ) {
            self.last_card_event = Some(Instant::now());
        }
        self.events.blocking_send(event).map_err(|_| Stopped)
    }

    /// Time until the next poll: short while the terminal is in use, long when no card
    /// has come or gone, and nobody touched the screen, for `active_for`.
    fn poll_wait(&self) -> Duration {
        let recent = |at: Instant| at.elapsed() < self.config.active_for;
        let in_use = self.last_card_event.is_some_and(recent) || last_activity().is_some_and(recent);
        if in_use { self.config.active_poll_interval.min(self.config.poll_interval) } else { self.config.poll_interval }
    }

    /// Blocks (no CPU) for `d`, returning early if asked to stop.
    fn sleep(&self, d: Duration) -> Result<(), Stopped> {
        match self.stop.recv_timeout(d) {
            Err(std_mpsc::RecvTimeoutError::Timeout) => Ok(()),
            _ => Err(Stopped),
        }
    }
}

/// The listener went away mid-poll: surface it as a lost link so the loop unwinds.
fn stopped_error() -> ReaderError {
    ReaderError::LinkLost(LinkError::Io(std::io::Error::other("event receiver dropped")))
}
