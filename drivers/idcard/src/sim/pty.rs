//! Serves the simulator on a pseudo-terminal behind a stable symlink, so the driver
//! opens it like `/dev/ttyUSB0`. A vanished port removes the symlink and hangs up.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};

use super::SimControl;
use crate::transport::Transport;

/// The master side of a pty, as the device end of the link.
struct PtyMaster {
    master: OwnedFd,
    // Held open so the master never sees a hang-up while the host reconnects.
    _slave: OwnedFd,
}

impl Transport for PtyMaster {
    fn send(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            let n = nix::unistd::write(&self.master, bytes).map_err(io::Error::from)?;
            bytes = &bytes[n..];
        }
        Ok(())
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        let ready = poll(&mut fds, PollTimeout::from(ms)).map_err(io::Error::from)?;
        if ready == 0 {
            return Ok(0);
        }
        match nix::unistd::read(&self.master, buf) {
            Ok(n) => Ok(n),
            // EIO: no slave open right now; treat as quiet line.
            Err(nix::errno::Errno::EIO) => {
                std::thread::sleep(timeout.min(Duration::from_millis(20)));
                Ok(0)
            }
            Err(e) => Err(e.into()),
        }
    }
    fn discard_input(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn open_pty(link: &Path) -> io::Result<PtyMaster> {
    let pty = openpty(None, None).map_err(io::Error::from)?;
    // Raw mode: no echo, no CR/LF translation, every byte passes as is.
    let mut t = tcgetattr(&pty.slave).map_err(io::Error::from)?;
    cfmakeraw(&mut t);
    tcsetattr(&pty.slave, SetArg::TCSANOW, &t).map_err(io::Error::from)?;
    let slave_path = nix::unistd::ttyname(&pty.slave).map_err(io::Error::from)?;
    let _ = std::fs::remove_file(link);
    std::os::unix::fs::symlink(&slave_path, link)?;
    Ok(PtyMaster { master: pty.master, _slave: pty.slave })
}

/// A running pty server; stops and removes its symlink when dropped.
#[derive(Debug)]
pub struct PtyServer {
    link: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PtyServer {
    pub(super) fn start(control: SimControl, link: &Path) -> io::Result<PtyServer> {
        let first = open_pty(link)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (stop2, link2) = (stop.clone(), link.to_path_buf());
        let thread = std::thread::Builder::new().name("idcard-sim-pty".into()).spawn(move || {
            let mut current = Some(first);
            while !stop2.load(Ordering::SeqCst) {
                let Some(mut pty) = current.take() else {
                    if control.is_vanished() {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    match open_pty(&link2) {
                        Ok(p) => current = Some(p),
                        Err(e) => {
                            tracing::error!(error = %e, "simulator cannot reopen its pty");
                            std::thread::sleep(Duration::from_millis(200));
                        }
                    }
                    continue;
                };
                let generation = control.generation();
                control.serve_until(&mut pty, generation, &stop2);
                // Vanished or stopped: hang up, and take the path away like an unplugged adapter.
                let _ = std::fs::remove_file(&link2);
                drop(pty);
            }
        })?;
        Ok(PtyServer { link: link.to_path_buf(), stop, thread: Some(thread) })
    }

    /// The path to open (a symlink to the current `/dev/pts/N`).
    pub fn path(&self) -> &Path {
        &self.link
    }
}

impl Drop for PtyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.link);
    }
}
