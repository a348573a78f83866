//! Serving a virtual printer on a pseudo-terminal (stands in for a serial port) or on a
//! TCP port (stands in for a network printer on 9100).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Shared;

/// Feeds received bytes into the printer and returns its replies, pacing like a serial
/// line when a baud rate is set.
fn exchange(shared: &Shared, bytes: &[u8]) -> Vec<u8> {
    let baud = shared.lock().faults.baud;
    if let Some(baud) = baud.filter(|&b| b > 0) {
        std::thread::sleep(Duration::from_secs_f64(bytes.len() as f64 * 10.0 / f64::from(baud)));
    }
    let mut e = shared.lock();
    e.feed(bytes);
    std::mem::take(&mut e.replies)
}

fn take_replies(shared: &Shared) -> Vec<u8> {
    std::mem::take(&mut shared.lock().replies)
}

/// A virtual printer on a pseudo-terminal. Dropping it stops serving.
#[derive(Debug)]
pub struct PtyServer {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PtyServer {
    /// The terminal to open as the printer's serial port.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PtyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(super) fn serve_pty(shared: Arc<Shared>) -> std::io::Result<PtyServer> {
    use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
    let pty = nix::pty::openpty(None, None).map_err(std::io::Error::from)?;
    let mut t = tcgetattr(&pty.slave).map_err(std::io::Error::from)?;
    cfmakeraw(&mut t);
    tcsetattr(&pty.slave, SetArg::TCSANOW, &t).map_err(std::io::Error::from)?;
    let path = nix::unistd::ttyname(&pty.slave).map_err(std::io::Error::from)?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let master = pty.master;
    // The slave stays open here too, so the master does not see a hang-up between
    // clients.
    let slave = pty.slave;
    let thread = std::thread::Builder::new().name("virtual-printer-pty".into()).spawn(move || {
        let _slave = slave;
        pty_loop(&shared, &master, &stop2);
    })?;
    Ok(PtyServer { path, stop, thread: Some(thread) })
}

fn pty_loop(shared: &Shared, master: &OwnedFd, stop: &AtomicBool) {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        let ready = poll(&mut fds, PollTimeout::from(20u16)).unwrap_or(0);
        let mut replies = if ready > 0 {
            match nix::unistd::read(master, &mut buf) {
                Ok(n) if n > 0 => exchange(shared, &buf[..n]),
                Ok(_) | Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => Vec::new(),
                Err(e) => {
                    tracing::debug!(error = %e, "pty read failed");
                    std::thread::sleep(Duration::from_millis(20));
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        // Status back packets caused by injected faults go out too.
        replies.extend(take_replies(shared));
        let mut rest = &replies[..];
        while !rest.is_empty() {
            match nix::unistd::write(master, rest) {
                Ok(n) => rest = &rest[n..],
                Err(_) => break,
            }
        }
    }
}

/// A virtual printer on a TCP port. Dropping it stops serving.
#[derive(Debug)]
pub struct TcpServer {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TcpServer {
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.addr
    }
}

impl Drop for TcpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

pub(super) fn serve_tcp(shared: Arc<Shared>, addr: &str) -> std::io::Result<TcpServer> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let thread = std::thread::Builder::new().name("virtual-printer-tcp".into()).spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, _)) => serve_connection(&shared, stream, &stop2),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })?;
    Ok(TcpServer { addr, stop, thread: Some(thread) })
}

fn serve_connection(shared: &Shared, mut stream: std::net::TcpStream, stop: &AtomicBool) {
    if stream.set_nonblocking(false).is_err() || stream.set_read_timeout(Some(Duration::from_millis(20))).is_err() {
        return;
    }
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let mut replies = match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => exchange(shared, &buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => Vec::new(),
            Err(_) => return,
        };
        replies.extend(take_replies(shared));
        if !replies.is_empty() && stream.write_all(&replies).is_err() {
            return;
        }
    }
}
