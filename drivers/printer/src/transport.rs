//! The byte pipe a [`crate::Printer`] is given, and the three real ones: serial port,
//! Linux USB printer class device (`/dev/usb/lpN`) and TCP port 9100.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why bytes could not be moved.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot open {target}: {reason}")]
    Open { target: String, reason: String },
    #[error("write timed out after {0:?} (printer not taking data: offline, paper out or flow control)")]
    WriteTimeout(Duration),
    #[error("connection closed by the printer")]
    Closed,
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// A byte pipe to a printer. Writes block at most the transport's write timeout.
pub trait Transport: Send {
    /// Sends all bytes.
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError>;

    /// Reads what is available, waiting up to `timeout` for the first byte.
    /// `Ok(0)` means nothing came in time.
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError>;

    /// Throws away stale input (late replies to earlier requests); returns bytes dropped.
    fn drain_input(&mut self) -> Result<usize, TransportError> {
        let mut dropped = 0;
        let mut buf = [0u8; 256];
        // Bounded so a chattering line cannot hold us forever.
        while dropped < 64 * 1024 {
            let n = self.read(&mut buf, Duration::from_millis(10))?;
            if n == 0 {
                break;
            }
            dropped += n;
        }
        if dropped > 0 {
            tracing::debug!(dropped, "drained stale printer input");
        }
        Ok(dropped)
    }

    /// The port status byte where the link has one (USB printer class `LPGETSTATUS`).
    fn port_status(&mut self) -> Option<u8> {
        None
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        (**self).write_all(bytes)
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        (**self).read(buf, timeout)
    }
    fn drain_input(&mut self) -> Result<usize, TransportError> {
        (**self).drain_input()
    }
    fn port_status(&mut self) -> Option<u8> {
        (**self).port_status()
    }
}

/// RS-232 / USB-serial printer.
pub struct SerialTransport {
    port: Box<dyn serialport::SerialPort>,
    write_timeout: Duration,
}

impl std::fmt::Debug for SerialTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SerialTransport({:?})", self.port.name())
    }
}

impl SerialTransport {
    /// Opens a serial port, 8N1, with hardware flow control off (most kiosk printers
    /// use XON/XOFF-free RTS/CTS or nothing; choose with [`SerialTransport::open_with`]).
    pub fn open(path: &str, baud: u32) -> Result<Self, TransportError> {
        Self::open_with(path, baud, serialport::FlowControl::None, Duration::from_secs(10))
    }

    pub fn open_with(
        path: &str,
        baud: u32,
        flow: serialport::FlowControl,
        write_timeout: Duration,
    ) -> Result<Self, TransportError> {
        let port = serialport::new(path, baud)
            .flow_control(flow)
            .timeout(write_timeout)
            .open()
            .map_err(|e| TransportError::Open { target: path.to_owned(), reason: e.to_string() })?;
        Ok(Self { port, write_timeout })
    }
}

impl Transport for SerialTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.port.set_timeout(self.write_timeout).map_err(|e| TransportError::Io(e.into()))?;
        match self.port.write_all(bytes) {
            Ok(()) => Ok(self.port.flush()?),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err(TransportError::WriteTimeout(self.write_timeout)),
            Err(e) => Err(e.into()),
        }
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.port.set_timeout(timeout.max(Duration::from_millis(1))).map_err(|e| TransportError::Io(e.into()))?;
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

/// Printer on TCP port 9100 (raw printing).
#[derive(Debug)]
pub struct TcpTransport {
    stream: TcpStream,
    write_timeout: Duration,
}

impl TcpTransport {
    pub fn connect(addr: &str) -> Result<Self, TransportError> {
        let open_err = |reason: String| TransportError::Open { target: addr.to_owned(), reason };
        let sock = addr
            .to_socket_addrs()
            .map_err(|e| open_err(e.to_string()))?
            .next()
            .ok_or_else(|| open_err("no address".into()))?;
        let stream = TcpStream::connect_timeout(&sock, Duration::from_secs(5)).map_err(|e| open_err(e.to_string()))?;
        stream.set_nodelay(true)?;
        let write_timeout = Duration::from_secs(10);
        stream.set_write_timeout(Some(write_timeout))?;
        Ok(Self { stream, write_timeout })
    }
}

impl Transport for TcpTransport {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        match self.stream.write_all(bytes) {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                Err(TransportError::WriteTimeout(self.write_timeout))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.stream.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        match self.stream.read(buf) {
            Ok(0) => Err(TransportError::Closed),
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

/// Linux USB printer class device. Opened non-blocking so a printer that stopped taking
/// data (paper out) gives a write timeout instead of hanging the kiosk.
#[derive(Debug)]
pub struct UsbLpTransport {
    fd: OwnedFd,
    path: PathBuf,
    write_timeout: Duration,
}

impl UsbLpTransport {
    pub fn open(path: &Path) -> Result<Self, TransportError> {
        use nix::fcntl::{OFlag, open};
        use nix::sys::stat::Mode;
        let fd = open(path, OFlag::O_RDWR | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| TransportError::Open { target: path.display().to_string(), reason: e.desc().to_owned() })?;
        let mut t = Self { fd, path: path.to_owned(), write_timeout: Duration::from_secs(10) };
        // The first read can return a reply to an earlier program's request.
        t.drain_input()?;
        Ok(t)
    }

    pub fn with_write_timeout(mut self, t: Duration) -> Self {
        self.write_timeout = t;
        self
    }

    fn wait(&self, flags: nix::poll::PollFlags, timeout: Duration) -> Result<bool, TransportError> {
        use nix::poll::{PollFd, PollTimeout, poll};
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.fd.as_fd(), flags)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) => Ok(n > 0),
            Err(nix::errno::Errno::EINTR) => Ok(false),
            Err(e) => Err(TransportError::Io(e.into())),
        }
    }
}

impl Transport for UsbLpTransport {
    fn write_all(&mut self, mut bytes: &[u8]) -> Result<(), TransportError> {
        let deadline = Instant::now() + self.write_timeout;
        while !bytes.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!(path = %self.path.display(), unsent = bytes.len(), "USB printer write timed out");
                return Err(TransportError::WriteTimeout(self.write_timeout));
            }
            if !self.wait(nix::poll::PollFlags::POLLOUT, left.min(Duration::from_millis(500)))? {
                continue;
            }
            match nix::unistd::write(&self.fd, bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(TransportError::Io(e.into())),
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        if !self.wait(nix::poll::PollFlags::POLLIN, timeout)? {
            return Ok(0);
        }
        match nix::unistd::read(&self.fd, buf) {
            Ok(n) => Ok(n),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => Ok(0),
            Err(e) => Err(TransportError::Io(e.into())),
        }
    }

    fn port_status(&mut self) -> Option<u8> {
        lp_ioctl::get_status(&self.fd)
    }
}

/// Bit of the `LPGETSTATUS` port status byte meaning "paper empty".
pub const LP_PAPER_EMPTY: u8 = 0x20;

#[allow(unsafe_code)]
mod lp_ioctl {
    use std::os::fd::{AsRawFd, OwnedFd};

    // LPGETSTATUS from <linux/lp.h>: an old-style ioctl number writing an int.
    nix::ioctl_read_bad!(lp_get_status, 0x060b, nix::libc::c_int);

    pub fn get_status(fd: &OwnedFd) -> Option<u8> {
        let mut status: nix::libc::c_int = 0;
        // SAFETY: the fd is open for as long as `fd` lives, and the kernel writes one
        // c_int through the pointer, which points at a live local of that type.
        let r = unsafe { lp_get_status(fd.as_raw_fd(), &mut status) };
        r.ok().map(|_| (status & 0xFF) as u8)
    }
}
