//! A serial (CDC-ACM) scanner simulator: writes scans to a pseudo-terminal as a scanner
//! would, line-terminated, at a stable path that comes and goes with unplug and plug. For
//! tests and the demo; the driver opens the path with `SerialLink`.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use device_link::{Link, LinkError, PtyServer};

/// How a scanner ends a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Terminator {
    #[default]
    Cr,
    Lf,
    CrLf,
}

impl Terminator {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Terminator::Cr => b"\r",
            Terminator::Lf => b"\n",
            Terminator::CrLf => b"\r\n",
        }
    }
}

#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<Vec<u8>>>,
    unplugged: AtomicBool,
    /// Pause between bytes (0: a burst, as real scanners send).
    byte_delay_us: std::sync::atomic::AtomicU64,
}

/// Scans, raw bytes, unplug and plug. Cheap to clone.
#[derive(Clone)]
pub struct ScannerControl {
    shared: Arc<Shared>,
    terminator: Terminator,
}

impl std::fmt::Debug for ScannerControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScannerControl").field("terminator", &self.terminator).finish_non_exhaustive()
    }
}

impl ScannerControl {
    /// Scans `text`: its bytes and the terminator.
    pub fn scan(&self, text: &str) {
        let mut bytes = text.as_bytes().to_vec();
        bytes.extend_from_slice(self.terminator.bytes());
        self.send_raw(&bytes);
    }

    /// Sends bytes as they are (partial lines, garbage).
    pub fn send_raw(&self, bytes: &[u8]) {
        self.shared.queue.lock().unwrap_or_else(|e| e.into_inner()).push_back(bytes.to_vec());
    }

    pub fn with_terminator(mut self, terminator: Terminator) -> ScannerControl {
        self.terminator = terminator;
        self
    }

    /// Sends each byte after `delay` (a slow or chunked device).
    pub fn set_byte_delay(&self, delay: Duration) {
        self.shared.byte_delay_us.store(delay.as_micros() as u64, Ordering::SeqCst);
    }

    /// The USB cable is pulled: the path goes away and the pty hangs up.
    pub fn unplug(&self) {
        self.shared.unplugged.store(true, Ordering::SeqCst);
    }

    pub fn plug(&self) {
        self.shared.unplugged.store(false, Ordering::SeqCst);
    }
}

/// A running simulated scanner at a stable path; stops when dropped.
#[derive(Debug)]
pub struct ScannerSim {
    server: PtyServer,
    control: ScannerControl,
}

impl ScannerSim {
    /// Serves a scanner at `symlink` (as udev gives `/dev/ttyACM0` a stable name).
    pub fn start(symlink: &Path) -> Result<ScannerSim, LinkError> {
        let shared = Arc::new(Shared::default());
        let (plugged, serving) = (shared.clone(), shared.clone());
        let server = PtyServer::start_pluggable(
            symlink,
            "scanner-sim",
            move || !plugged.unplugged.load(Ordering::SeqCst),
            move |device| serve(device, &serving),
        )?;
        Ok(ScannerSim { server, control: ScannerControl { shared, terminator: Terminator::Cr } })
    }

    pub fn path(&self) -> &Path {
        self.server.path()
    }

    pub fn control(&self) -> ScannerControl {
        self.control.clone()
    }
}

fn serve(device: &mut device_link::PtyDevice, shared: &Shared) {
    let mut sink = [0u8; 64];
    while !shared.unplugged.load(Ordering::SeqCst) {
        let next = shared.queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
        let Some(bytes) = next else {
            // A scanner ignores what the host sends; reading also notices the server stopping.
            if device.recv(&mut sink, Duration::from_millis(5)).is_err() {
                return;
            }
            continue;
        };
        let delay = Duration::from_micros(shared.byte_delay_us.load(Ordering::SeqCst));
        let sent = if delay.is_zero() {
            device.send(&bytes)
        } else {
            bytes.iter().try_for_each(|b| {
                std::thread::sleep(delay);
                device.send(std::slice::from_ref(b))
            })
        };
        if sent.is_err() {
            return;
        }
    }
}
