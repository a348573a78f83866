//! Serving a virtual printer on a pseudo-terminal (stands in for a serial port; the
//! drivers' shared [`PtyServer`]) or on a TCP port (stands in for a network printer on 9100).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use device_link::{Link, LinkError, PtyDevice, PtyServer};

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
    e.release_due(Instant::now());
    std::mem::take(&mut e.replies)
}

/// Replies waiting, with the `GS r` answers whose paper has stopped (the serving loops
/// come back every 20 ms, so an answer goes out at most that late).
fn take_replies(shared: &Shared) -> Vec<u8> {
    let mut e = shared.lock();
    e.release_due(Instant::now());
    std::mem::take(&mut e.replies)
}

/// Serves the printer on a new pseudo-terminal (the drivers' shared [`PtyServer`]).
pub(super) fn serve_pty(shared: Arc<Shared>) -> Result<PtyServer, LinkError> {
    PtyServer::start("virtual-printer-pty", move |device| serve_device(&shared, device))
}

/// Answers what comes in on the pty until the server stops.
fn serve_device(shared: &Shared, device: &mut PtyDevice) {
    let mut buf = [0u8; 4096];
    loop {
        let mut replies = match device.recv(&mut buf, Duration::from_millis(20)) {
            Ok(0) => Vec::new(),
            Ok(n) => exchange(shared, &buf[..n]),
            // Only a stopping server fails the device end.
            Err(_) => return,
        };
        // Status back packets caused by injected faults go out too.
        replies.extend(take_replies(shared));
        if !replies.is_empty() && device.send(&replies).is_err() {
            return;
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
