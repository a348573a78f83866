//! The watch task: its own thread waits in `SCardGetStatusChange` (no command polling) for
//! cards going in and out and for readers coming and going (`\\?PnP?\Notification`),
//! reads each inserted card once, and sends [`WatchEvent`]s on a tokio channel. When pcscd
//! stops or restarts, the dead context is dropped and a new one established after a
//! delay; it never loops on the old one.

use std::collections::BTreeMap;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::card::SsCard;
use crate::read::{ReadError, SecurityModule};
use crate::transport::{self, Context, ServiceError};

/// How the task is set up.
pub struct WatchConfig {
    /// The reader to watch; `None` watches every reader and reads a card from whichever
    /// one it is put in.
    pub reader: Option<String>,
    /// Wait between losing pcscd (or failing to reach it) and the next attempt.
    pub reconnect_interval: Duration,
    /// The longest one `SCardGetStatusChange` waits before the task looks at its stop flag
    /// again (a stop also cancels the wait at once).
    pub wait_slice: Duration,
    pub channel_capacity: usize,
    /// The terminal's security module for cards that protect items; `None` reports them.
    pub security_module: Option<Box<dyn SecurityModule>>,
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            reader: None,
            reconnect_interval: Duration::from_secs(1),
            wait_slice: Duration::from_secs(5),
            channel_capacity: 32,
            security_module: None,
        }
    }
}

impl std::fmt::Debug for WatchConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchConfig")
            .field("reader", &self.reader)
            .field("reconnect_interval", &self.reconnect_interval)
            .field("security_module", &self.security_module.as_ref().map(|m| m.name().to_owned()))
            .finish_non_exhaustive()
    }
}

/// What the terminal needs to know.
#[derive(Debug)]
pub enum WatchEvent {
    /// PC/SC answered for the first time; these readers are watched.
    Ready { readers: Vec<String> },
    /// A card was inserted and read. Check `card.problems` (blocked, expired, number).
    CardInserted { reader: String, card: Box<SsCard> },
    /// A card that was inserted (read or not) left the reader.
    CardRemoved { reader: String },
    /// A card is in the reader but could not be read; `error` says why (pulled out, item
    /// refused, not a social security card...).
    CardReadFailed { reader: String, error: ReadError },
    /// The service or the reader is gone; the task keeps trying to recover.
    ReaderFault { fault: FaultKind, detail: String },
    /// Back after a fault: these readers are watched again.
    ReaderRecovered { readers: Vec<String> },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// pcscd is not running, stopped or restarted.
    ServiceUnavailable,
    /// The configured reader (or any reader) is not connected.
    NoReader,
}

/// Stops the task when dropped or on [`WatchHandle::stop`].
#[derive(Debug)]
pub struct WatchHandle {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// The live context, so that a stop can cancel a blocked `SCardGetStatusChange`.
    context: Mutex<Option<Context>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("stop", &self.stop).finish_non_exhaustive()
    }
}

impl WatchHandle {
    /// Stops the task and waits for its thread (a read in progress finishes first).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(ctx) = self.shared.context.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            let _ = ctx.cancel();
        }
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

/// Starts the watch task on its own thread; events arrive on the returned channel, which
/// closes when the task stops.
pub fn watch(config: WatchConfig) -> (WatchHandle, mpsc::Receiver<WatchEvent>) {
    let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
    let shared = Arc::new(Shared::default());
    let task = WatchTask { config, events: tx, shared: shared.clone(), faulted: false, ever_ready: false };
    let thread = std::thread::Builder::new().name("sscard-watch".into()).spawn(move || task.run()).ok();
    (WatchHandle { shared, thread }, rx)
}

/// A change the task acts on, derived from reader states by [`Tracker`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Inserted(String),
    Removed(String),
}

/// What a reader state says, reduced to what the tracker needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    pub present: bool,
    /// pcsc-lite's insert/remove counter (the high 16 bits of the event state): a card
    /// swapped between two wake-ups still shows as removed and inserted.
    pub event_count: u32,
}

/// The sans-IO core of the task: remembers which readers hold a card and turns reader
/// states into insertions and removals. Each card is reported once per insertion.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    readers: BTreeMap<String, Observed>,
}

impl Tracker {
    pub fn observe(&mut self, reader: &str, now: Observed) -> Vec<Change> {
        let name = reader.to_owned();
        let changes = match self.readers.get(reader) {
            None if now.present => vec![Change::Inserted(name)],
            None => vec![],
            Some(before) => match (before.present, now.present) {
                (false, true) => vec![Change::Inserted(name)],
                (true, false) => vec![Change::Removed(name)],
                // Out and in again between two wake-ups: the count moved on.
                (true, true) if now.event_count != before.event_count && now.event_count != 0 => {
                    vec![Change::Removed(name.clone()), Change::Inserted(name)]
                }
                _ => vec![],
            },
        };
        self.readers.insert(reader.to_owned(), now);
        changes
    }

    /// The reader disappeared: a card in it is gone too.
    pub fn forget(&mut self, reader: &str) -> Vec<Change> {
        match self.readers.remove(reader) {
            Some(o) if o.present => vec![Change::Removed(reader.to_owned())],
            _ => vec![],
        }
    }

    /// The service is gone: every card is reported removed.
    pub fn forget_all(&mut self) -> Vec<Change> {
        let names: Vec<String> = self.readers.keys().cloned().collect();
        names.iter().flat_map(|n| self.forget(n)).collect()
    }

    pub fn holds_card(&self, reader: &str) -> bool {
        self.readers.get(reader).is_some_and(|o| o.present)
    }
}

/// The task ends: stop requested or nobody listens.
struct Stopped;

/// Why a monitoring session with one context ended.
enum Ended {
    ServiceGone(String),
}

struct WatchTask {
    config: WatchConfig,
    events: mpsc::Sender<WatchEvent>,
    shared: Arc<Shared>,
    faulted: bool,
    ever_ready: bool,
}

impl WatchTask {
    fn run(mut self) {
        let mut tracker = Tracker::default();
        while !self.stopping() {
            let ctx = match transport::establish() {
                Ok(ctx) => ctx,
                Err(e) => {
                    if self.fault(FaultKind::ServiceUnavailable, e.to_string()).is_err()
                        || self.sleep(self.config.reconnect_interval).is_err()
                    {
                        return;
                    }
                    continue;
                }
            };
            *self.shared.context.lock().unwrap_or_else(|e| e.into_inner()) = Some(ctx.clone());
            let ended = self.monitor(&ctx, &mut tracker);
            *self.shared.context.lock().unwrap_or_else(|e| e.into_inner()) = None;
            // Release the dead context: it keeps answering "no service" even once pcscd is back.
            drop(ctx);
            match ended {
                Err(Stopped) => return,
                Ok(Ended::ServiceGone(detail)) => {
                    for change in tracker.forget_all() {
                        if let Change::Removed(reader) = change
                            && self.emit(WatchEvent::CardRemoved { reader }).is_err()
                        {
                            return;
                        }
                    }
                    if self.fault(FaultKind::ServiceUnavailable, detail).is_err()
                        || self.sleep(self.config.reconnect_interval).is_err()
                    {
                        return;
                    }
                }
            }
        }
    }

    /// Watches with one context until the service goes away.
    fn monitor(&mut self, ctx: &Context, tracker: &mut Tracker) -> Result<Ended, Stopped> {
        // The PnP pseudo-reader's state carries the reader count; kept across re-listing so
        // that an unchanged count does not wake the wait.
        let mut pnp_state = pcsc::State::UNAWARE;
        let mut known: BTreeMap<String, pcsc::State> = BTreeMap::new();
        loop {
            let names = match transport::reader_names(ctx) {
                Ok(names) => names,
                Err(ServiceError::NotRunning) => return Ok(Ended::ServiceGone("pcscd stopped".into())),
                Err(e) => return Ok(Ended::ServiceGone(e.to_string())),
            };
            let watched: Vec<CString> = names
                .into_iter()
                .filter(|n| self.config.reader.as_deref().is_none_or(|want| n.to_bytes() == want.as_bytes()))
                .collect();
            let watched_names: Vec<String> = watched.iter().map(|n| n.to_string_lossy().into_owned()).collect();
            // Readers that went away: their cards went with them.
            for gone in known.keys().filter(|k| !watched_names.contains(k)).cloned().collect::<Vec<_>>() {
                known.remove(&gone);
                for change in tracker.forget(&gone) {
                    self.apply(ctx, change)?;
                }
            }
            if watched.is_empty() {
                let detail = match &self.config.reader {
                    Some(name) => format!("the reader {name:?} is not connected: check its USB cable"),
                    None => ServiceError::NoReaders.to_string(),
                };
                self.fault(FaultKind::NoReader, detail)?;
            } else if self.faulted {
                self.faulted = false;
                tracing::info!(readers = ?watched_names, "card reader back");
                self.emit(WatchEvent::ReaderRecovered { readers: watched_names.clone() })?;
            } else if !self.ever_ready {
                self.ever_ready = true;
                self.emit(WatchEvent::Ready { readers: watched_names.clone() })?;
            }

            let mut states = vec![pcsc::ReaderState::new(pcsc::PNP_NOTIFICATION(), pnp_state)];
            states.extend(watched.iter().map(|n| {
                let previous = known.get(&n.to_string_lossy().into_owned()).copied();
                pcsc::ReaderState::new(n.clone(), previous.unwrap_or(pcsc::State::UNAWARE))
            }));
            // Wait for changes until the reader set changes.
            loop {
                if self.stopping() {
                    return Err(Stopped);
                }
                match ctx.get_status_change(self.config.wait_slice, &mut states) {
                    Ok(()) => {}
                    Err(pcsc::Error::Timeout) => continue,
                    Err(pcsc::Error::Cancelled) => continue,
                    Err(e) if transport::is_service_gone(e) => {
                        return Ok(Ended::ServiceGone(format!("pcscd stopped or restarted ({e})")));
                    }
                    // A reader vanished under the wait: list them again.
                    Err(pcsc::Error::UnknownReader | pcsc::Error::ReaderUnavailable) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "waiting for reader changes failed");
                        self.sleep(self.config.reconnect_interval)?;
                        break;
                    }
                }
                let mut relist = false;
                for state in states.iter_mut() {
                    let event = state.event_state();
                    if !event.contains(pcsc::State::CHANGED) {
                        continue;
                    }
                    state.sync_current_state();
                    let name = state.name().to_owned();
                    if name.as_c_str() == pcsc::PNP_NOTIFICATION() {
                        pnp_state = event;
                        relist = true;
                        continue;
                    }
                    let reader = name.to_string_lossy().into_owned();
                    if event.intersects(pcsc::State::UNAVAILABLE | pcsc::State::UNKNOWN | pcsc::State::IGNORE) {
                        relist = true;
                        continue;
                    }
                    known.insert(reader.clone(), event);
                    let observed =
                        Observed { present: event.contains(pcsc::State::PRESENT), event_count: state.event_count() };
                    for change in tracker.observe(&reader, observed) {
                        self.apply(ctx, change)?;
                    }
                }
                if relist {
                    break;
                }
            }
        }
    }

    fn apply(&mut self, ctx: &Context, change: Change) -> Result<(), Stopped> {
        match change {
            Change::Removed(reader) => {
                tracing::info!(reader, "card removed");
                self.emit(WatchEvent::CardRemoved { reader })
            }
            Change::Inserted(reader) => {
                let today = contract::china_time::china_date(time::OffsetDateTime::now_utc());
                let security = self.config.security_module.as_deref_mut().map(|m| m as &mut dyn SecurityModule);
                match transport::read_from_reader(ctx, &reader, today, security) {
                    Ok(card) => {
                        tracing::info!(reader, card = ?card, "card read");
                        self.emit(WatchEvent::CardInserted { reader, card: Box::new(card) })
                    }
                    Err(error) => {
                        tracing::warn!(reader, %error, "card read failed");
                        self.emit(WatchEvent::CardReadFailed { reader, error })
                    }
                }
            }
        }
    }

    fn fault(&mut self, fault: FaultKind, detail: String) -> Result<(), Stopped> {
        if self.faulted {
            return Ok(());
        }
        self.faulted = true;
        tracing::error!(?fault, %detail, "social security card reader fault");
        self.emit(WatchEvent::ReaderFault { fault, detail })
    }

    fn emit(&self, event: WatchEvent) -> Result<(), Stopped> {
        self.events.blocking_send(event).map_err(|_| Stopped)
    }

    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst) || self.events.is_closed()
    }

    /// Sleeps `d` in small steps so that a stop is heard.
    fn sleep(&self, d: Duration) -> Result<(), Stopped> {
        let deadline = std::time::Instant::now() + d;
        loop {
            if self.stopping() {
                return Err(Stopped);
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}
