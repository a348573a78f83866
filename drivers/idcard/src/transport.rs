//! The byte links the driver runs over: a small [`Transport`] trait, a serial port
//! implementation and an in-memory pipe pair for tests and the simulator.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A byte link to a reader. Reads block (no spinning) for at most `timeout`.
pub trait Transport {
    /// Writes all bytes.
    fn send(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Reads what is available, waiting up to `timeout`; `Ok(0)` means nothing arrived.
    /// An error means the link is gone (unplugged, closed).
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize>;
    /// Drops bytes received but not read yet (stale replies before a new command).
    fn discard_input(&mut self) -> io::Result<()>;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        (**self).send(bytes)
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        (**self).recv(buf, timeout)
    }
    fn discard_input(&mut self) -> io::Result<()> {
        (**self).discard_input()
    }
}

/// A serial port (USB-serial bridge, on-board UART or pseudo-terminal), 8N1.
pub struct SerialTransport {
    port: serialport::TTYPort,
    path: String,
}

impl std::fmt::Debug for SerialTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SerialTransport({})", self.path)
    }
}

impl SerialTransport {
    pub fn open(path: &str, baud: u32) -> io::Result<Self> {
        let port = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(Duration::from_millis(100))
            .open_native()
            .map_err(io::Error::from)?;
        Ok(SerialTransport { port, path: path.to_string() })
    }
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl Transport for SerialTransport {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.port.write_all(bytes)?;
        self.port.flush()
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        use serialport::SerialPort;
        // serialport's read polls the fd: the thread sleeps in the kernel until bytes or timeout.
        self.port.set_timeout(timeout.max(Duration::from_millis(1))).map_err(io::Error::from)?;
        match self.port.read(buf) {
            Ok(0) => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "serial port closed")),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == io::ErrorKind::TimedOut => Ok(0),
            Err(e) => Err(e),
        }
    }
    fn discard_input(&mut self) -> io::Result<()> {
        use serialport::SerialPort;
        self.port.clear(serialport::ClearBuffer::Input).map_err(io::Error::from)
    }
}

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
/// makes the other end's reads and writes fail, like an unplugged cable.
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

/// A connected pair of in-memory transports.
pub fn pipe() -> (PipeEnd, PipeEnd) {
    let shared = Arc::new(Shared { lanes: Mutex::new(Default::default()), ready: Condvar::new() });
    (PipeEnd { shared: shared.clone(), side: 0 }, PipeEnd { shared, side: 1 })
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the other end of the pipe is gone")
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

impl Transport for PipeEnd {
    fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut lanes = self.lock();
        let lane = &mut lanes[1 - self.side];
        if lane.closed {
            return Err(gone());
        }
        lane.bytes.extend(bytes);
        self.shared.ready.notify_all();
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
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
                return Err(gone());
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

    fn discard_input(&mut self) -> io::Result<()> {
        let mut lanes = self.lock();
        lanes[self.side].bytes.clear();
        Ok(())
    }
}
