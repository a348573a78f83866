//! The two transports: a serial (CDC-ACM) scanner over any [`Link`], and a keyboard-wedge
//! scanner read exclusively through evdev (`EVIOCGRAB`, so nothing it types reaches the
//! UI). Both turn what the device sends into [`Assembled`] lines.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use device_link::{DeviceError, Link, LinkError, SerialLink};

use crate::keys::KeyDecoder;
use crate::line::{Assembled, LineAssembler};

/// How long a partial line may wait for the rest: a scanner sends a whole code in one burst,
/// so a line still unfinished after this was cut off.
pub const PARTIAL_LINE_TIMEOUT: Duration = Duration::from_millis(500);

/// Why a scanner could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(transparent)]
    Link(#[from] LinkError),
    #[error("cannot open the scanner {path}: {reason}")]
    Open { path: String, reason: String },
    #[error("the scanner's input device failed: {0}")]
    Input(std::io::Error),
}

impl DeviceError for SourceError {
    /// Every failure but a write timeout means the device must be opened again.
    fn is_gone(&self) -> bool {
        match self {
            SourceError::Link(e) => e.is_gone(),
            SourceError::Open { .. } | SourceError::Input(_) => true,
        }
    }
}

/// A scanner the task can wait on.
pub trait ScanSource: Send {
    /// Waits up to `timeout` for input and returns the lines it completed (often none).
    fn poll(&mut self, timeout: Duration) -> Result<Vec<Assembled>, SourceError>;
}

/// A serial scanner: line-terminated bytes over a [`Link`] (a CDC-ACM `/dev/ttyACM0`).
#[derive(Debug)]
pub struct SerialScanner<L: Link> {
    link: L,
    lines: LineAssembler,
    partial_since: Option<Instant>,
}

impl<L: Link> SerialScanner<L> {
    pub fn new(link: L) -> SerialScanner<L> {
        SerialScanner { link, lines: LineAssembler::default(), partial_since: None }
    }
}

impl SerialScanner<SerialLink> {
    /// Opens a serial scanner (CDC-ACM ignores the speed; serial-to-USB bridges do not).
    pub fn open(path: &str, baud: u32) -> Result<Self, SourceError> {
        Ok(SerialScanner::new(SerialLink::open(path, baud)?))
    }
}

impl<L: Link> ScanSource for SerialScanner<L> {
    fn poll(&mut self, timeout: Duration) -> Result<Vec<Assembled>, SourceError> {
        let mut buf = [0u8; 512];
        let n = self.link.recv(&mut buf, timeout)?;
        let mut out = self.lines.push(&buf[..n]);
        settle_partial(&mut self.lines, &mut self.partial_since, n > 0, &mut out);
        Ok(out)
    }
}

/// Starts or ends the partial-line clock and abandons a line that waited too long.
fn settle_partial(lines: &mut LineAssembler, since: &mut Option<Instant>, got_input: bool, out: &mut Vec<Assembled>) {
    if !lines.has_partial() {
        *since = None;
        return;
    }
    let now = Instant::now();
    match since {
        Some(at) if !got_input && now.duration_since(*at) >= PARTIAL_LINE_TIMEOUT => {
            out.extend(lines.abandon_partial());
            *since = None;
        }
        Some(_) => {}
        None => *since = Some(now),
    }
}

/// A keyboard-wedge scanner: key events from `/dev/input/eventN`, grabbed exclusively.
pub struct EvdevScanner {
    device: evdev::Device,
    path: PathBuf,
    keys: KeyDecoder,
    lines: LineAssembler,
    partial_since: Option<Instant>,
}

impl std::fmt::Debug for EvdevScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EvdevScanner({})", self.path.display())
    }
}

impl EvdevScanner {
    /// Opens the input device and grabs it: from now on only this process sees its keys.
    /// Use a stable path (`/dev/input/by-id/usb-…-event-kbd`).
    pub fn open(path: &Path) -> Result<EvdevScanner, SourceError> {
        let fail = |reason: String| SourceError::Open { path: path.display().to_string(), reason };
        let mut device = evdev::Device::open(path).map_err(|e| {
            fail(format!("{e}: check the path (ls -l /dev/input/by-id/) and that you may read it (group input)"))
        })?;
        device.grab().map_err(|e| fail(format!("cannot grab it exclusively ({e}): another program holds it")))?;
        device.set_nonblocking(true).map_err(|e| fail(e.to_string()))?;
        Ok(EvdevScanner {
            device,
            path: path.to_owned(),
            keys: KeyDecoder::new(),
            lines: LineAssembler::default(),
            partial_since: None,
        })
    }
}

impl ScanSource for EvdevScanner {
    fn poll(&mut self, timeout: Duration) -> Result<Vec<Assembled>, SourceError> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.device.as_fd(), PollFlags::POLLIN)];
        let ready = poll(&mut fds, PollTimeout::from(ms)).map_err(|e| SourceError::Input(e.into()))?;
        let hung_up = fds[0].revents().is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR));
        if hung_up {
            return Err(SourceError::Input(std::io::Error::other("the input device went away")));
        }
        let mut typed = Vec::new();
        if ready > 0 {
            match self.device.fetch_events() {
                Ok(events) => {
                    for event in events {
                        if event.event_type() == evdev::EventType::KEY {
                            typed.extend(self.keys.key(event.code(), event.value()));
                        }
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(SourceError::Input(e)),
            }
        }
        let mut out = self.lines.push(&typed);
        settle_partial(&mut self.lines, &mut self.partial_since, !typed.is_empty(), &mut out);
        Ok(out)
    }
}
