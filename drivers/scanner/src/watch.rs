//! The scanner task: its own thread reads the scanner (reopened through
//! [`device_link::Reopening`] after an unplug), classifies each line and sends the scans
//! that are ours on a tokio channel. Everything else is ignored with a log line that says
//! why and how long it was, never what it said.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use device_link::Reopening;
use tokio::sync::mpsc;

use crate::classify::{Classifier, Scan};
use crate::line::Assembled;
use crate::source::{ScanSource, SourceError};

#[derive(Clone, Debug)]
pub struct ScannerConfig {
    /// The enrollment's `verify_base_url`; without it verify URLs are rejected.
    pub verify_base_url: Option<String>,
    /// Wait between losing the scanner (or failing to open it) and the next attempt.
    pub reopen_interval: Duration,
    /// The longest one read waits before the task looks at its stop flag.
    pub poll_interval: Duration,
    pub channel_capacity: usize,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig {
            verify_base_url: None,
            reopen_interval: Duration::from_secs(1),
            poll_interval: Duration::from_millis(200),
            channel_capacity: 16,
        }
    }
}

/// What the terminal needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerEvent {
    /// The scanner was opened for the first time.
    Connected,
    /// A tracking number, client reference or verify URL of this service (never
    /// [`Scan::Rejected`]): open that application's status.
    Scanned(Scan),
    /// The scanner is gone or cannot be opened; the task keeps trying.
    Fault {
        detail: String,
    },
    Recovered,
}

/// Stops the task when dropped or on [`ScannerHandle::stop`].
#[derive(Debug)]
pub struct ScannerHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ScannerHandle {
    pub fn stop(mut self) {
        self.shutdown();
    }
    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ScannerHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the scanner task. `opener` opens the scanner (a [`crate::SerialScanner`] or an
/// [`crate::EvdevScanner`]) at start and after every loss.
pub fn watch<S, F>(opener: F, config: ScannerConfig) -> (ScannerHandle, mpsc::Receiver<ScannerEvent>)
where
    S: ScanSource + 'static,
    F: FnMut() -> Result<S, SourceError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(config.channel_capacity.max(1));
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let thread = std::thread::Builder::new()
        .name("scanner".into())
        .spawn(move || run(Reopening::new(opener).with_reopen_delay(config.reopen_interval), &config, &tx, &stop2))
        .ok();
    (ScannerHandle { stop, thread }, rx)
}

fn run<S: ScanSource>(
    mut scanner: Reopening<S, SourceError>,
    config: &ScannerConfig,
    events: &mpsc::Sender<ScannerEvent>,
    stop: &AtomicBool,
) {
    let classifier = Classifier::new(config.verify_base_url.as_deref());
    let (mut ever_open, mut faulted) = (false, false);
    let emit = |event| events.blocking_send(event).is_ok();
    while !stop.load(Ordering::SeqCst) && !events.is_closed() {
        // Waited out here in small steps so that a stop is heard.
        let wait = scanner.until_next_open();
        if !wait.is_zero() {
            std::thread::sleep(wait.min(config.poll_interval));
            continue;
        }
        let was_open = scanner.is_open();
        let lines = scanner.with(|s| s.poll(config.poll_interval));
        if !was_open && scanner.is_open() {
            let event = if faulted {
                ScannerEvent::Recovered
            } else if !ever_open {
                ScannerEvent::Connected
            } else {
                ScannerEvent::Recovered
            };
            tracing::info!(?event, "scanner open");
            faulted = false;
            ever_open = true;
            if !emit(event) {
                return;
            }
        }
        match lines {
            Ok(lines) => {
                for line in lines {
                    if let Some(scan) = accept(&classifier, line)
                        && !emit(ScannerEvent::Scanned(scan))
                    {
                        return;
                    }
                }
            }
            Err(e) => {
                if !faulted {
                    faulted = true;
                    tracing::error!(error = %e, "scanner lost");
                    if !emit(ScannerEvent::Fault { detail: e.to_string() }) {
                        return;
                    }
                }
            }
        }
    }
}

/// A scan of ours, or `None` after a log line saying why not (never its content).
pub fn accept(classifier: &Classifier, line: Assembled) -> Option<Scan> {
    match line {
        Assembled::Line(text) => {
            let scan = classifier.classify(&text);
            match &scan {
                Scan::Rejected { why } => {
                    tracing::warn!(len = text.len(), %why, "scan ignored");
                    None
                }
                ok => {
                    tracing::info!(kind = ok.kind(), "scan");
                    Some(scan)
                }
            }
        }
        Assembled::Garbage { why, len } => {
            tracing::warn!(len, %why, "scanner input ignored");
            None
        }
    }
}
