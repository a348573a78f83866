//! Runs a frame source on its own thread behind a watchdog: a stalled or failed read is
//! reported as `Offline` within the stall timeout, and the source is reopened (through
//! the drivers' shared [`Reopening`]) until it comes back. The owner only ever waits on a
//! channel with a timeout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use device_link::{DeviceError, Reopening};

use crate::{CaptureError, Frame, FrameSource};

/// Opens (or reopens) a frame source; called again after every loss.
pub type SourceOpener = Box<dyn FnMut() -> Result<Box<dyn FrameSource>, CaptureError> + Send>;

/// Watchdog timing.
#[derive(Debug, Clone, Copy)]
pub struct WatchdogConfig {
    /// No frame for this long means the camera is gone (or hung). Keep under 2 s.
    pub stall_timeout: Duration,
    /// Wait between reopen attempts while the camera is offline.
    pub reopen_interval: Duration,
}

impl Default for WatchdogConfig {
    fn default() -> Self {
        Self { stall_timeout: Duration::from_millis(1500), reopen_interval: Duration::from_millis(500) }
    }
}

/// What the watched camera tells its owner.
#[derive(Debug)]
pub enum CameraEvent {
    /// The camera delivers frames (first time, or again after `Offline`).
    Online,
    /// One frame.
    Frame(Frame),
    /// The camera stopped delivering (unplugged, hung, failed to open); reopening.
    Offline { reason: String },
    /// The source has no more frames (a finite file source); the watchdog stopped.
    Ended,
}

enum ReaderMsg {
    Frame(Frame),
    Failed(CaptureError),
}

/// A frame source on its own thread, supervised by a watchdog.
pub struct WatchedCamera {
    events: Receiver<CameraEvent>,
    stop: Arc<AtomicBool>,
    supervisor: Option<JoinHandle<()>>,
    config: WatchdogConfig,
    name: String,
}

impl std::fmt::Debug for WatchedCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchedCamera").field("name", &self.name).field("config", &self.config).finish()
    }
}

impl WatchedCamera {
    /// Starts the capture and watchdog threads. `opener` is called now and after each loss.
    pub fn start(name: impl Into<String>, opener: SourceOpener, config: WatchdogConfig) -> Self {
        let name = name.into();
        let (tx, events) = sync_channel(4);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let name2 = name.clone();
        let supervisor = std::thread::Builder::new()
            .name(format!("camera-watchdog {name}"))
            .spawn(move || supervise(name2, opener, config, tx, stop2))
            .ok();
        Self { events, stop, supervisor, config, name }
    }

    /// The next event, waiting at most `timeout`; `None` if nothing happened.
    pub fn next_event(&self, timeout: Duration) -> Option<CameraEvent> {
        self.events.recv_timeout(timeout).ok()
    }
}

impl FrameSource for WatchedCamera {
    /// The next frame; never blocks longer than about the stall timeout.
    fn next_frame(&mut self) -> Result<Frame, CaptureError> {
        let deadline = Instant::now() + self.config.stall_timeout + self.config.reopen_interval;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(CameraEvent::Frame(f)) => return Ok(f),
                Ok(CameraEvent::Online) => continue,
                Ok(CameraEvent::Offline { reason }) => {
                    return Err(CaptureError::Disconnected { device: format!("{}: {reason}", self.name) });
                }
                Ok(CameraEvent::Ended) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(CaptureError::EndOfStream);
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(CaptureError::Stalled { device: self.name.clone(), after: self.config.stall_timeout });
                }
            }
        }
    }

    fn describe(&self) -> String {
        format!("watched {}", self.name)
    }
}

impl Drop for WatchedCamera {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Hang up first, so a supervisor waiting to hand over a frame stops waiting.
        let (_, closed) = sync_channel(0);
        drop(std::mem::replace(&mut self.events, closed));
        if let Some(h) = self.supervisor.take() {
            // Bounded: the supervisor waits in short slices, and at most the stall timeout
            // for its reader to close the camera (so the camera is free when this returns).
            let _ = h.join();
        }
    }
}

fn supervise(
    name: String,
    opener: SourceOpener,
    config: WatchdogConfig,
    events: SyncSender<CameraEvent>,
    stop: Arc<AtomicBool>,
) {
    let opener = Arc::new(Mutex::new(opener));
    // None = not yet known, Some(true) online, Some(false) offline (already reported).
    let mut online: Option<bool> = None;
    // Readers we gave up on but that are still stuck inside the driver.
    let mut abandoned: Vec<Arc<AtomicBool>> = Vec::new();
    let slice = Duration::from_millis(50);
    while !stop.load(Ordering::SeqCst) {
        abandoned.retain(|done| !done.load(Ordering::SeqCst));
        if abandoned.len() >= 2 {
            // Do not pile up threads on a device that hangs every call.
            sleep_unless_stopped(config.reopen_interval, &stop);
            continue;
        }
        let (tx, rx) = sync_channel::<ReaderMsg>(2);
        let cancel = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let spawned = {
            let (opener, cancel, done) = (Arc::clone(&opener), Arc::clone(&cancel), Arc::clone(&done));
            std::thread::Builder::new()
                .name(format!("camera-reader {name}"))
                .spawn(move || {
                    read_frames(opener, config.reopen_interval, &tx, &cancel);
                    done.store(true, Ordering::SeqCst);
                })
                .is_ok()
        };
        if !spawned {
            tracing::error!(camera = %name, "could not spawn the camera reader thread");
            sleep_unless_stopped(config.reopen_interval, &stop);
            continue;
        }
        // The reader reopens a lost camera itself; this loop only watches it and ends
        // when it hangs (a read or an open that never returns) or stops.
        let mut last_heard = Instant::now();
        let reason = loop {
            if stop.load(Ordering::SeqCst) {
                break None;
            }
            match rx.recv_timeout(slice) {
                Ok(ReaderMsg::Frame(f)) => {
                    if online != Some(true) {
                        online = Some(true);
                        tracing::info!(camera = %name, "camera online");
                        if events.send(CameraEvent::Online).is_err() {
                            break None;
                        }
                    }
                    // Every frame reaches the owner: a slow consumer slows the reads (as
                    // reading the camera directly would), it never loses a frame.
                    if events.send(CameraEvent::Frame(f)).is_err() {
                        break None;
                    }
                    // Time spent waiting for the consumer is not the camera stalling.
                    last_heard = Instant::now();
                }
                Ok(ReaderMsg::Failed(CaptureError::EndOfStream)) => {
                    let _ = events.send(CameraEvent::Ended);
                    break None;
                }
                Ok(ReaderMsg::Failed(e)) if !e.is_gone() => {
                    // A bad frame from a camera that is still there: skip it. A camera
                    // that only sends bad frames is caught as a stall.
                    tracing::warn!(camera = %name, error = %e, "bad camera frame skipped");
                }
                Ok(ReaderMsg::Failed(e)) => {
                    last_heard = Instant::now();
                    if online != Some(false) {
                        online = Some(false);
                        let reason = e.to_string();
                        tracing::warn!(camera = %name, %reason, "camera offline, will reopen");
                        if events.send(CameraEvent::Offline { reason }).is_err() {
                            break None;
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    // While offline the reader is quiet between open attempts.
                    let patience = match online {
                        Some(false) => config.stall_timeout + config.reopen_interval,
                        _ => config.stall_timeout,
                    };
                    if last_heard.elapsed() >= patience {
                        abandoned.push(Arc::clone(&done));
                        break Some(format!("no frame for {} ms", config.stall_timeout.as_millis()));
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break Some("capture thread ended".to_owned()),
            }
        };
        cancel.store(true, Ordering::SeqCst);
        let Some(reason) = reason else {
            // Stopped, or nobody listens: let the reader close the camera before the owner
            // (who may open it again at once) goes on. Bounded: a hung reader is left.
            drop(rx);
            wait_until_set(&done, config.stall_timeout);
            return;
        };
        if online != Some(false) {
            online = Some(false);
            tracing::warn!(camera = %name, %reason, "camera offline, will reopen");
            if events.send(CameraEvent::Offline { reason }).is_err() {
                return;
            }
        }
        sleep_unless_stopped(config.reopen_interval, &stop);
    }
}

/// The reader thread: reads frames through a [`Reopening`] source, which is reopened
/// (at most every `reopen_interval`) after the camera was lost, until cancelled.
fn read_frames(
    opener: Arc<Mutex<SourceOpener>>,
    reopen_interval: Duration,
    tx: &SyncSender<ReaderMsg>,
    cancel: &AtomicBool,
) {
    let mut camera: Reopening<Box<dyn FrameSource>, CaptureError> = Reopening::new(move || match opener.lock() {
        Ok(mut open) => open(),
        Err(_) => Err(CaptureError::Backend("camera opener poisoned by an earlier panic".into())),
    })
    .with_reopen_delay(reopen_interval);
    while !cancel.load(Ordering::SeqCst) {
        sleep_unless_stopped(camera.until_next_open(), cancel);
        if cancel.load(Ordering::SeqCst) {
            return;
        }
        let msg = match camera.with(|source| source.next_frame()) {
            Ok(f) => ReaderMsg::Frame(f),
            Err(CaptureError::EndOfStream) => {
                let _ = tx.send(ReaderMsg::Failed(CaptureError::EndOfStream));
                return;
            }
            Err(e) => ReaderMsg::Failed(e),
        };
        if cancel.load(Ordering::SeqCst) || tx.send(msg).is_err() {
            return;
        }
    }
}

/// Waits (bounded by `limit`) until `flag` is set.
fn wait_until_set(flag: &AtomicBool, limit: Duration) {
    let end = Instant::now() + limit;
    while !flag.load(Ordering::SeqCst) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let end = Instant::now() + total;
    while !stop.load(Ordering::SeqCst) {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}
