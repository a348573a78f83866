//! sd_notify without a library: `READY=1` and watchdog pings are single datagrams
//! to `$NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace).

use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn send(message: &str) -> std::io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return Ok(false) };
    let socket = UnixDatagram::unbound()?;
    let bytes = path.as_encoded_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt as _;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        socket.send_to_addr(message.as_bytes(), &addr)?;
    } else {
        socket.send_to(message.as_bytes(), path)?;
    }
    Ok(true)
}

/// Tells systemd the service is up (a no-op outside systemd).
pub fn ready() {
    match send("READY=1") {
        Ok(true) => tracing::info!("told systemd READY=1"),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, "sd_notify READY=1 failed"),
    }
}

/// Pings the watchdog at half the interval systemd asked for (`$WATCHDOG_USEC`).
#[derive(Debug)]
pub struct Watchdog {
    every: Option<Duration>,
    last: Mutex<Option<Instant>>,
}

impl Watchdog {
    pub fn from_env() -> Self {
        let every = std::env::var("WATCHDOG_USEC")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .map(|us| Duration::from_micros(us / 2));
        Self { every, last: Mutex::new(None) }
    }

    pub fn ping(&self) {
        let Some(every) = self.every else { return };
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|t| t.elapsed() < every) {
            return;
        }
        *last = Some(Instant::now());
        if let Err(e) = send("WATCHDOG=1") {
            tracing::warn!(error = %e, "watchdog ping failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_reaches_the_notify_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        // SAFETY-free: each nextest test runs in its own process, so setting the
        // environment cannot race another test.
        unsafe_env_set("NOTIFY_SOCKET", &path);
        assert!(send("READY=1").unwrap());
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
    }

    #[allow(unsafe_code)]
    fn unsafe_env_set(key: &str, value: &std::path::Path) {
        // SAFETY: the test process runs this single test (nextest), no other thread reads the environment.
        unsafe { std::env::set_var(key, value) };
    }
}
