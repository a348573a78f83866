//! An in-memory pair of connected links, for tests and for simulators that run in the
//! same process as the driver (the terminal's `--simulate` mode).

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::{Link, LinkError};

#[derive(Default)]
struct Lane {
    bytes: VecDeque<u8>,
    closed: bool,
}

struct Shared {
    lanes: Mutex<[Lane; 2]>,
    ready: Condvar,
}

/// One end of an in-memory byte pipe; see [`pipe`]. Dropping or closing either end
/// makes the other end's reads and writes fail with [`LinkError::Closed`], like an
/// unplugged cable.
pub struct PipeEnd {
    shared: Arc<Shared>,
    /// Index of the lane this end reads from; it writes to the other one.
    side: usize,
}

impl std::fmt::Debug for PipeEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PipeEnd({})", self.side)
    }
}

/// A connected pair of in-memory links.
pub fn pipe() -> (PipeEnd, PipeEnd) {
    let shared = Arc::new(Shared { lanes: Mutex::new(Default::default()), ready: Condvar::new() });
    (PipeEnd { shared: shared.clone(), side: 0 }, PipeEnd { shared, side: 1 })
}

impl PipeEnd {
    fn lock(&self) -> MutexGuard<'_, [Lane; 2]> {
        // A poisoned lock only means a peer thread panicked; the bytes are still consistent.
        self.shared.lanes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes both directions, as if the cable were pulled.
    pub fn close(&self) {
        let mut lanes = self.lock();
        lanes[0].closed = true;
        lanes[1].closed = true;
        self.shared.ready.notify_all();
    }

    pub fn is_closed(&self) -> bool {
        self.lock()[self.side].closed
    }
}

impl Drop for PipeEnd {
    fn drop(&mut self) {
        self.close();
    }
}

impl Link for PipeEnd {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        let mut lanes = self.lock();
        let lane = &mut lanes[1 - self.side];
        if lane.closed {
            return Err(LinkError::Closed);
        }
        lane.bytes.extend(bytes);
        self.shared.ready.notify_all();
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        let deadline = Instant::now() + timeout;
        let mut lanes = self.lock();
        loop {
            let lane = &mut lanes[self.side];
            if !lane.bytes.is_empty() {
                let n = buf.len().min(lane.bytes.len());
                for (slot, b) in buf.iter_mut().zip(lane.bytes.drain(..n)) {
                    *slot = b;
                }
                return Ok(n);
            }
            if lane.closed {
                return Err(LinkError::Closed);
            }
            let now = Instant::now();
            if now >= deadline || buf.is_empty() {
                return Ok(0);
            }
            lanes = self
                .shared
                .ready
                .wait_timeout(lanes, deadline - now)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
    }

    /// Drops what was sent to this end and not read; never waits (nothing is in flight
    /// in memory).
    fn discard_input(&mut self) -> Result<(), LinkError> {
        self.lock()[self.side].bytes.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bytes_cross_both_ways_and_a_quiet_pipe_reads_nothing() {
        let (mut host, mut device) = pipe();
        host.send(b"ping").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(device.recv(&mut buf, Duration::from_secs(5)).unwrap(), 4);
        assert_eq!(&buf[..4], b"ping");
        device.send(b"pong").unwrap();
        assert_eq!(host.recv(&mut buf, Duration::from_secs(5)).unwrap(), 4);
        assert_eq!(&buf[..4], b"pong");
        let started = Instant::now();
        assert_eq!(host.recv(&mut buf, Duration::from_millis(30)).unwrap(), 0, "nothing came: Ok(0)");
        assert!(started.elapsed() >= Duration::from_millis(30), "waited for the timeout");
    }

    #[test]
    fn a_reader_waiting_wakes_when_bytes_arrive() {
        let (mut host, mut device) = pipe();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            device.send(b"x").unwrap();
            device
        });
        let mut buf = [0u8; 4];
        assert_eq!(host.recv(&mut buf, Duration::from_secs(20)).unwrap(), 1);
        drop(writer.join().unwrap());
    }

    #[test]
    fn dropping_one_end_is_a_closed_link_at_the_other() {
        let (mut host, device) = pipe();
        assert!(!host.is_closed());
        drop(device);
        assert!(host.is_closed());
        let mut buf = [0u8; 4];
        assert!(matches!(host.recv(&mut buf, Duration::from_millis(10)), Err(LinkError::Closed)));
        assert!(matches!(host.send(b"x"), Err(LinkError::Closed)));
    }

    #[test]
    fn bytes_sent_before_the_close_are_still_read() {
        let (mut host, mut device) = pipe();
        device.send(b"last words").unwrap();
        drop(device);
        let mut buf = [0u8; 16];
        assert_eq!(host.recv(&mut buf, Duration::ZERO).unwrap(), 10);
        assert!(host.recv(&mut buf, Duration::ZERO).unwrap_err().is_gone());
    }

    #[test]
    fn discarding_input_drops_unread_bytes_only() {
        let (mut host, mut device) = pipe();
        device.send(b"stale").unwrap();
        host.discard_input().unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(host.recv(&mut buf, Duration::ZERO).unwrap(), 0);
        host.send(b"new").unwrap();
        assert_eq!(device.recv(&mut buf, Duration::ZERO).unwrap(), 3, "the other direction is untouched");
    }
}
