//! A network printer on TCP port 9100 (raw printing), as a [`Link`].

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use device_link::{Link, LinkError};

/// Printer on TCP port 9100 (raw printing).
#[derive(Debug)]
pub struct TcpLink {
    stream: TcpStream,
    write_timeout: Duration,
}

impl TcpLink {
    pub fn connect(addr: &str) -> Result<Self, LinkError> {
        let open_err = |reason: String| LinkError::Open { target: addr.to_owned(), reason };
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

impl Link for TcpLink {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        match self.stream.write_all(bytes) {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                Err(LinkError::WriteTimeout(self.write_timeout))
            }
            Err(e) => Err(e.into()),
        }
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        self.stream.set_read_timeout(Some(timeout.max(Duration::from_millis(1))))?;
        match self.stream.read(buf) {
            Ok(0) => Err(LinkError::Closed),
            Ok(n) => Ok(n),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}
