//! The drivers' one device-link layer: a byte link to a device ([`Link`]) with one meaning
//! of an empty read, the serial port, an in-memory pipe, a pseudo-terminal server for
//! simulators, and the one reconnect mechanism ([`Reopening`]).
//!
//! Start at [`Link`]; drivers take any `L: Link`, simulators serve a [`PtyServer`], and
//! the terminal wraps its device handles in [`Reopening`].

mod pipe;
mod pty;
mod reopen;
mod serial;

use std::time::Duration;

pub use pipe::{PipeEnd, pipe};
pub use pty::{PtyDevice, PtyServer};
pub use reopen::{DeviceError, Reopening};
pub use serial::SerialLink;

/// Why bytes could not be moved, or a link could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot open {target}: {reason}")]
    Open { target: String, reason: String },
    #[error(
        "write timed out after {0:?}: the device is not taking data (offline, out of paper, or held by flow control)"
    )]
    WriteTimeout(Duration),
    #[error("the device closed the link")]
    Closed,
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl LinkError {
    /// The device is gone (never opened, unplugged, closed): the link must be reopened.
    /// A write timeout is not: the device is there but not taking data right now.
    pub fn is_gone(&self) -> bool {
        !matches!(self, LinkError::WriteTimeout(_))
    }

    /// What went wrong, without the target an [`LinkError::Open`] names (for messages
    /// that already name the port).
    pub fn reason(&self) -> String {
        match self {
            LinkError::Open { reason, .. } => reason.clone(),
            other => other.to_string(),
        }
    }
}

/// A byte link to a device: serial port, USB printer node, TCP socket, pipe, pty.
///
/// **The one rule for reads:** [`Link::recv`] returning `Ok(0)` means nothing arrived
/// within the timeout and the link is fine; an `Err` means the link is gone (unplugged,
/// closed) and must be reopened ([`LinkError::is_gone`]; [`Reopening`] does it). Every
/// implementation maps its own "end of stream" (a serial read of 0 bytes after the port
/// signalled data, a TCP read of 0) to [`LinkError::Closed`], never to `Ok(0)`.
///
/// Reads block (no spinning) for at most the timeout. Writes block at most the link's
/// own write timeout and then fail with [`LinkError::WriteTimeout`].
pub trait Link: Send {
    /// Sends all bytes.
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError>;

    /// Reads what is available, waiting up to `timeout` for the first byte. `Ok(0)`:
    /// nothing arrived in time, the link is fine. `Err`: the link is gone.
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError>;

    /// Drops input received but not read yet (late replies to earlier requests) before a
    /// new request. The default reads with short timeouts until the line is quiet.
    fn discard_input(&mut self) -> Result<(), LinkError> {
        drain_input(self).map(drop)
    }

    /// The port status byte, where the link has one (USB printer class `LPGETSTATUS`).
    fn port_status(&mut self) -> Option<u8> {
        None
    }
}

/// How long [`drain_input`] waits for one more byte before it calls the line quiet.
pub const QUIET_LINE: Duration = Duration::from_millis(10);

/// Reads and drops input until nothing arrives for [`QUIET_LINE`]; returns the bytes
/// dropped. Bounded (64 KiB) so a chattering line cannot hold the caller forever.
pub fn drain_input<L: Link + ?Sized>(link: &mut L) -> Result<usize, LinkError> {
    let mut dropped = 0;
    let mut buf = [0u8; 256];
    while dropped < 64 * 1024 {
        let n = link.recv(&mut buf, QUIET_LINE)?;
        if n == 0 {
            break;
        }
        dropped += n;
    }
    if dropped > 0 {
        tracing::debug!(dropped, "discarded stale input");
    }
    Ok(dropped)
}

impl<L: Link + ?Sized> Link for Box<L> {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        (**self).send(bytes)
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        (**self).recv(buf, timeout)
    }
    fn discard_input(&mut self) -> Result<(), LinkError> {
        (**self).discard_input()
    }
    fn port_status(&mut self) -> Option<u8> {
        (**self).port_status()
    }
}

/// A borrowed link is a link, so a driver can run over a handle that [`Reopening`] owns.
impl<L: Link + ?Sized> Link for &mut L {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        (**self).send(bytes)
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        (**self).recv(buf, timeout)
    }
    fn discard_input(&mut self) -> Result<(), LinkError> {
        (**self).discard_input()
    }
    fn port_status(&mut self) -> Option<u8> {
        (**self).port_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_write_timeout_leaves_the_device_there() {
        assert!(!LinkError::WriteTimeout(Duration::from_secs(1)).is_gone());
        assert!(LinkError::Closed.is_gone());
        assert!(LinkError::Io(std::io::Error::other("EIO")).is_gone());
        assert!(LinkError::Open { target: "/dev/ttyUSB0".into(), reason: "gone".into() }.is_gone());
    }

    #[test]
    fn an_open_error_names_its_target_once() {
        let e = LinkError::Open { target: "/dev/ttyUSB0".into(), reason: "No such file or directory".into() };
        assert_eq!(e.to_string(), "cannot open /dev/ttyUSB0: No such file or directory");
        assert_eq!(e.reason(), "No such file or directory");
        assert_eq!(LinkError::Closed.reason(), "the device closed the link");
    }
}
