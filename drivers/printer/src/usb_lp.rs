//! A printer on the Linux USB printer class device (`/dev/usb/lpN`), as a [`Link`] that
//! also reads the port status byte (`LPGETSTATUS`).

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use device_link::{Link, LinkError};

/// Linux USB printer class device. Opened non-blocking so a printer that stopped taking
/// data (paper out) gives a write timeout instead of hanging the kiosk.
#[derive(Debug)]
pub struct UsbLpLink {
    fd: OwnedFd,
    path: PathBuf,
    write_timeout: Duration,
}

impl UsbLpLink {
    pub fn open(path: &Path) -> Result<Self, LinkError> {
        use nix::fcntl::{OFlag, open};
        use nix::sys::stat::Mode;
        let fd = open(path, OFlag::O_RDWR | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC, Mode::empty())
            .map_err(|e| LinkError::Open { target: path.display().to_string(), reason: e.desc().to_owned() })?;
        let mut t = Self { fd, path: path.to_owned(), write_timeout: Duration::from_secs(10) };
        // The first read can return a reply to an earlier program's request.
        t.discard_input()?;
        Ok(t)
    }

    pub fn with_write_timeout(mut self, t: Duration) -> Self {
        self.write_timeout = t;
        self
    }

    fn wait(&self, flags: nix::poll::PollFlags, timeout: Duration) -> Result<bool, LinkError> {
        use nix::poll::{PollFd, PollTimeout, poll};
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.fd.as_fd(), flags)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(n) => Ok(n > 0),
            Err(nix::errno::Errno::EINTR) => Ok(false),
            Err(e) => Err(LinkError::Io(e.into())),
        }
    }
}

impl Link for UsbLpLink {
    fn send(&mut self, mut bytes: &[u8]) -> Result<(), LinkError> {
        let deadline = Instant::now() + self.write_timeout;
        while !bytes.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!(path = %self.path.display(), unsent = bytes.len(), "USB printer write timed out");
                return Err(LinkError::WriteTimeout(self.write_timeout));
            }
            if !self.wait(nix::poll::PollFlags::POLLOUT, left.min(Duration::from_millis(500)))? {
                continue;
            }
            match nix::unistd::write(&self.fd, bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(LinkError::Io(e.into())),
            }
        }
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        if !self.wait(nix::poll::PollFlags::POLLIN, timeout)? {
            return Ok(0);
        }
        match nix::unistd::read(&self.fd, buf) {
            // usblp can report readable and then hand over a zero-length USB packet from a
            // printer with nothing to say; an unplugged one fails the read (ENODEV) instead.
            Ok(n) => Ok(n),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => Ok(0),
            Err(e) => Err(LinkError::Io(e.into())),
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
