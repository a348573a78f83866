//! The serial port link (USB-serial bridge, on-board UART or pseudo-terminal), 8N1 with
//! no flow control: what the card reader's SAM and kiosk receipt printers speak.

use std::io::{Read, Write};
use std::time::Duration;

use serialport::SerialPort;

use crate::{Link, LinkError};

/// A serial port, 8 data bits, no parity, 1 stop bit, no flow control.
pub struct SerialLink {
    port: serialport::TTYPort,
    path: String,
    write_timeout: Duration,
}

impl std::fmt::Debug for SerialLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SerialLink({})", self.path)
    }
}

impl SerialLink {
    /// How long a write may wait for the device to take the bytes, unless changed with
    /// [`SerialLink::with_write_timeout`].
    pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);

    /// Opens `path` at `baud`. The port is held exclusively until the link is dropped.
    pub fn open(path: &str, baud: u32) -> Result<Self, LinkError> {
        let port = serialport::new(path, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(Self::DEFAULT_WRITE_TIMEOUT)
            .open_native()
            .map_err(|e| LinkError::Open { target: path.to_owned(), reason: e.to_string() })?;
        Ok(SerialLink { port, path: path.to_owned(), write_timeout: Self::DEFAULT_WRITE_TIMEOUT })
    }

    /// Writes give up with [`LinkError::WriteTimeout`] after `timeout`.
    pub fn with_write_timeout(mut self, timeout: Duration) -> Self {
        self.write_timeout = timeout;
        self
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// The line speed the port is set to.
    pub fn baud(&self) -> Result<u32, LinkError> {
        self.port.baud_rate().map_err(|e| LinkError::Io(e.into()))
    }
}

impl Link for SerialLink {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.port.set_timeout(self.write_timeout).map_err(|e| LinkError::Io(e.into()))?;
        let timed_out = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::TimedOut => LinkError::WriteTimeout(self.write_timeout),
            _ => LinkError::Io(e),
        };
        self.port.write_all(bytes).map_err(timed_out)?;
        self.port.flush().map_err(timed_out)
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        // The read polls the fd: the thread sleeps in the kernel until bytes or timeout.
        self.port.set_timeout(timeout.max(Duration::from_millis(1))).map_err(|e| LinkError::Io(e.into()))?;
        match self.port.read(buf) {
            // The port said it was readable and then had nothing: it hung up.
            Ok(0) if !buf.is_empty() => Err(LinkError::Closed),
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Ok(0),
            Err(e) => Err(LinkError::Io(e)),
        }
    }

    /// Empties the kernel's input queue, then drains what is still on the wire (a late
    /// reply half received), so the next reply read belongs to the next request.
    fn discard_input(&mut self) -> Result<(), LinkError> {
        self.port.clear(serialport::ClearBuffer::Input).map_err(|e| LinkError::Io(e.into()))?;
        crate::drain_input(self).map(drop)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::PtyServer;

    #[test]
    fn a_missing_port_is_an_open_error_naming_it() {
        let err = SerialLink::open("/dev/ttyUSB-nonexistent", 115_200).unwrap_err();
        assert!(matches!(&err, LinkError::Open { target, .. } if target == "/dev/ttyUSB-nonexistent"), "{err}");
        assert!(err.is_gone());
    }

    #[test]
    fn a_quiet_port_reads_nothing_and_a_hung_up_one_is_gone() {
        let server = PtyServer::start("quiet", |device| {
            // Stay quiet until told to hang up.
            let mut buf = [0u8; 16];
            while let Ok(n) = device.recv(&mut buf, Duration::from_millis(20)) {
                if buf[..n].contains(&b'q') {
                    return;
                }
            }
        })
        .unwrap();
        let mut link = SerialLink::open(server.path().to_str().unwrap(), 9600).unwrap();
        assert_eq!(link.baud().unwrap(), 9600);
        let mut buf = [0u8; 16];
        assert_eq!(link.recv(&mut buf, Duration::from_millis(30)).unwrap(), 0, "quiet line, link fine");
        link.send(b"q").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let err = loop {
            match link.recv(&mut buf, Duration::from_millis(50)) {
                Ok(_) => assert!(std::time::Instant::now() < deadline, "never hung up"),
                Err(e) => break e,
            }
        };
        assert!(err.is_gone(), "{err}");
    }
}
