//! The one pseudo-terminal server: a simulator plays a device on the master side of a
//! pty while the driver opens the slave path like `/dev/ttyUSB0` with [`crate::SerialLink`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serialport::{SerialPort, TTYPort};

use crate::{Link, LinkError};

/// The device end of a pseudo-terminal, handed to the thread that plays the device.
///
/// It holds the host's side (the slave) open too, so the host can close and reopen the
/// port without the device seeing a hang-up, and so the device can read the line
/// settings the host chose ([`PtyDevice::host_baud`]). Once the server stops, `recv` and
/// `send` fail with [`LinkError::Closed`], which ends any serving loop.
pub struct PtyDevice {
    master: TTYPort,
    slave: TTYPort,
    slave_path: PathBuf,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for PtyDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PtyDevice({})", self.slave_path.display())
    }
}

impl PtyDevice {
    fn open(stop: Arc<AtomicBool>) -> Result<PtyDevice, LinkError> {
        let cannot = |reason: String| LinkError::Open { target: "a pseudo-terminal".into(), reason };
        // Raw mode on the slave (serialport does it): no echo, no CR/LF translation.
        let (master, slave) = TTYPort::pair().map_err(|e| cannot(e.to_string()))?;
        let slave_path = slave.name().map(PathBuf::from).ok_or_else(|| cannot("it has no name".into()))?;
        Ok(PtyDevice { master, slave, slave_path, stop })
    }

    /// The line speed the host set on its end (termios is per terminal, so the device
    /// sees it), to play a device that only understands one speed.
    pub fn host_baud(&self) -> Option<u32> {
        self.slave.baud_rate().ok()
    }

    /// The server is stopping: serving loops should end.
    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

impl Link for PtyDevice {
    /// Blocks until the host has room for every byte (as a device's UART would), unless
    /// the server stops meanwhile.
    fn send(&mut self, mut bytes: &[u8]) -> Result<(), LinkError> {
        use std::io::Write;
        self.master.set_timeout(Duration::from_millis(50)).map_err(|e| LinkError::Io(e.into()))?;
        while !bytes.is_empty() {
            if self.stopping() {
                return Err(LinkError::Closed);
            }
            match self.master.write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(LinkError::Io(e)),
            }
        }
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        use std::io::Read;
        if self.stopping() {
            return Err(LinkError::Closed);
        }
        self.master.set_timeout(timeout).map_err(|e| LinkError::Io(e.into()))?;
        match self.master.read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Ok(0),
            // With the slave held open the master cannot hang up; an error here is a
            // moment with no terminal attached, which the device sees as a quiet line.
            Err(e) => {
                tracing::debug!(error = %e, "pty read failed");
                std::thread::sleep(timeout.min(Duration::from_millis(20)));
                Ok(0)
            }
        }
    }
}

/// A running pseudo-terminal server: a thread plays the device on the master side; the
/// driver opens [`PtyServer::path`]. Dropping the server stops the thread (its device
/// end fails with [`LinkError::Closed`]) and waits for it.
#[derive(Debug)]
pub struct PtyServer {
    path: PathBuf,
    /// The path is a symlink this server made, removed when it stops.
    symlink: bool,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PtyServer {
    /// Serves one pseudo-terminal: `serve` runs on a thread named `name` with the device
    /// end, until it returns (the device hangs up) or the server is dropped.
    pub fn start<F>(name: &str, serve: F) -> Result<PtyServer, LinkError>
    where
        F: FnOnce(&mut PtyDevice) + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let mut device = PtyDevice::open(stop.clone())?;
        let path = device.slave_path.clone();
        let thread = std::thread::Builder::new().name(name.into()).spawn(move || serve(&mut device))?;
        Ok(PtyServer { path, symlink: false, stop, thread: Some(thread) })
    }

    /// Serves a device that can be unplugged and plugged back, at the stable `symlink`
    /// (as udev gives a USB adapter a stable name). `serve` runs once per plug-in;
    /// when it returns the pty hangs up and the symlink goes away, like an unplugged
    /// adapter. A fresh pty is linked as soon as `plugged_in()` says the device is back.
    pub fn start_pluggable<P, F>(
        symlink: &Path,
        name: &str,
        plugged_in: P,
        mut serve: F,
    ) -> Result<PtyServer, LinkError>
    where
        P: Fn() -> bool + Send + 'static,
        F: FnMut(&mut PtyDevice) + Send + 'static,
    {
        let stop = Arc::new(AtomicBool::new(false));
        let first = plug_in(symlink, &stop)?;
        let (stop2, link) = (stop.clone(), symlink.to_path_buf());
        let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
            let mut current = Some(first);
            while !stop2.load(Ordering::SeqCst) {
                let Some(mut device) = current.take() else {
                    if !plugged_in() {
                        std::thread::sleep(Duration::from_millis(20));
                        continue;
                    }
                    match plug_in(&link, &stop2) {
                        Ok(device) => current = Some(device),
                        Err(e) => {
                            tracing::error!(error = %e, "pty server cannot plug its device back in");
                            std::thread::sleep(Duration::from_millis(200));
                        }
                    }
                    continue;
                };
                serve(&mut device);
                // Unplugged or stopped: take the path away first, then hang up.
                let _ = std::fs::remove_file(&link);
                drop(device);
            }
        });
        match spawned {
            Ok(thread) => Ok(PtyServer { path: symlink.to_path_buf(), symlink: true, stop, thread: Some(thread) }),
            Err(e) => {
                let _ = std::fs::remove_file(symlink);
                Err(e.into())
            }
        }
    }

    /// The terminal to open as the device's serial port.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A fresh pty behind `symlink`.
fn plug_in(symlink: &Path, stop: &Arc<AtomicBool>) -> Result<PtyDevice, LinkError> {
    let device = PtyDevice::open(stop.clone())?;
    let _ = std::fs::remove_file(symlink);
    std::os::unix::fs::symlink(&device.slave_path, symlink)
        .map_err(|e| LinkError::Open { target: symlink.display().to_string(), reason: e.to_string() })?;
    Ok(device)
}

impl Drop for PtyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if self.symlink {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::SerialLink;
    use std::sync::mpsc;
    use std::time::Instant;

    /// Echoes every byte back until the server stops.
    fn echo(device: &mut PtyDevice) {
        let mut buf = [0u8; 64];
        while let Ok(n) = device.recv(&mut buf, Duration::from_millis(20)) {
            if n > 0 && device.send(&buf[..n]).is_err() {
                return;
            }
        }
    }

    fn read_exactly(link: &mut SerialLink, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < n {
            assert!(Instant::now() < deadline, "only {got:?} arrived");
            let k = link.recv(&mut buf, Duration::from_millis(100)).unwrap();
            got.extend_from_slice(&buf[..k]);
        }
        got
    }

    #[test]
    fn a_serial_link_talks_to_the_device_and_can_reopen_the_port() {
        let server = PtyServer::start("echo", echo).unwrap();
        let path = server.path().to_str().unwrap().to_owned();
        let mut link = SerialLink::open(&path, 115_200).unwrap();
        link.send(b"hello").unwrap();
        assert_eq!(read_exactly(&mut link, 5), b"hello");
        drop(link);
        // The device never saw a hang-up: a second host finds it answering.
        let mut again = SerialLink::open(&path, 115_200).unwrap();
        again.send(b"\x00\xFF").unwrap();
        assert_eq!(read_exactly(&mut again, 2), b"\x00\xFF", "raw bytes pass untranslated");
    }

    #[test]
    fn the_device_sees_the_speed_the_host_chose() {
        let (tx, rx) = mpsc::channel();
        let server = PtyServer::start("speed", move |device| {
            let mut buf = [0u8; 8];
            while let Ok(n) = device.recv(&mut buf, Duration::from_millis(20)) {
                if n > 0 {
                    let _ = tx.send(device.host_baud());
                }
            }
        })
        .unwrap();
        let mut link = SerialLink::open(server.path().to_str().unwrap(), 9600).unwrap();
        link.send(b"?").unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(20)).unwrap(), Some(9600));
    }

    #[test]
    fn dropping_the_server_stops_its_device_thread() {
        let (tx, rx) = mpsc::channel();
        let server = PtyServer::start("stops", move |device| {
            echo(device);
            let _ = tx.send(device.stopping());
        })
        .unwrap();
        drop(server);
        assert!(rx.recv_timeout(Duration::from_secs(20)).unwrap(), "the serving loop saw the stop");
    }

    #[test]
    fn a_pluggable_device_takes_its_path_away_while_unplugged_and_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let symlink = dir.path().join("ttySIM");
        let unplugged = Arc::new(AtomicBool::new(false));
        let (check, serving) = (unplugged.clone(), unplugged.clone());
        let server = PtyServer::start_pluggable(
            &symlink,
            "pluggable",
            move || !check.load(Ordering::SeqCst),
            move |device| {
                let mut buf = [0u8; 64];
                while !serving.load(Ordering::SeqCst) {
                    match device.recv(&mut buf, Duration::from_millis(20)) {
                        Ok(n) if n > 0 && device.send(&buf[..n]).is_err() => return,
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            },
        )
        .unwrap();
        assert_eq!(server.path(), symlink);
        let path = symlink.to_str().unwrap();
        let mut link = SerialLink::open(path, 115_200).unwrap();
        link.send(b"one").unwrap();
        assert_eq!(read_exactly(&mut link, 3), b"one");

        unplugged.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(20);
        while symlink.exists() {
            assert!(Instant::now() < deadline, "the path never went away");
            std::thread::sleep(Duration::from_millis(10));
        }
        let mut buf = [0u8; 8];
        let gone = loop {
            match link.recv(&mut buf, Duration::from_millis(50)) {
                Ok(_) => assert!(Instant::now() < deadline, "the host never saw the hang-up"),
                Err(e) => break e,
            }
        };
        assert!(gone.is_gone(), "{gone}");
        assert!(SerialLink::open(path, 115_200).is_err(), "no port while unplugged");

        unplugged.store(false, Ordering::SeqCst);
        let mut back = loop {
            if let Ok(link) = SerialLink::open(path, 115_200) {
                break link;
            }
            assert!(Instant::now() < deadline, "the path never came back");
            std::thread::sleep(Duration::from_millis(10));
        };
        back.send(b"two").unwrap();
        assert_eq!(read_exactly(&mut back, 3), b"two");
        drop(back);
        drop(server);
        assert!(!symlink.exists(), "a stopped server leaves no symlink behind");
    }
}
