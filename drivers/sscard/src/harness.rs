//! The rig the tests, the latency example and the CLI tests share: makes sure pcscd runs
//! with vpcd's two virtual readers (starting `pcscd -f` in its own process group when none
//! is running, and stopping it when the last user is done), and leases the readers with
//! file locks, because nextest runs every test in its own process and two tests must never
//! play cards in the same reader at once.
//!
//! Locks (under [`LOCK_DIR`]): `pcscd.lock` is held shared by every user of the daemon and
//! exclusively by a test that restarts it; `reader-N.lock` is held by the one test using
//! reader N. Always in that order, so they cannot deadlock.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::sim::vpcd;
use crate::transport;

/// Where the locks, the marker of a pcscd this rig started, and its log live.
pub const LOCK_DIR: &str = "/tmp/sscard-vpcd";
/// vpcd's reader driver, from the Debian package vsmartcard-vpcd.
pub const VPCD_DRIVER: &str = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
/// vpcd's reader configuration, from the same package.
pub const VPCD_CONF: &str = "/etc/reader.conf.d/vpcd";
const PID_FILE: &str = "/run/pcscd/pcscd.pid";
const SOCKET_FILE: &str = "/run/pcscd/pcscd.comm";
/// How many virtual readers vpcd's default configuration gives.
pub const READERS: u16 = 2;

/// Why the rig cannot give a test the real pcscd with vpcd's readers.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    #[error("{what} is missing ({path}): install the Debian package {package} (scripts/setup installs it)")]
    MissingPackage { package: &'static str, what: &'static str, path: String },
    #[error(
        "pcscd is not running and only root can start it: start it with `sudo pcscd -f &` or run the tests as root"
    )]
    NotRoot,
    #[error("pcscd did not come up with vpcd's readers within {seconds} s; its log ({log}) ends with:\n{tail}")]
    DidNotStart { seconds: u64, log: String, tail: String },
    #[error(
        "pcscd is running without vpcd's readers (it sees {readers:?}): it was probably started before \
         vsmartcard-vpcd was installed; restart it"
    )]
    NoVpcdReaders { readers: Vec<String> },
    #[error("{0}")]
    Io(String),
}

fn io(what: &str, e: impl std::fmt::Display) -> HarnessError {
    HarnessError::Io(format!("{what}: {e}"))
}

/// Checks that pcscd and vpcd are installed; the error names the package to install.
pub fn require_packages() -> Result<(), HarnessError> {
    let pcscd = ["/usr/sbin/pcscd", "/sbin/pcscd", "/usr/bin/pcscd"];
    if !pcscd.iter().any(|p| Path::new(p).exists()) {
        return Err(HarnessError::MissingPackage {
            package: "pcscd",
            what: "the PC/SC daemon",
            path: "/usr/sbin/pcscd".into(),
        });
    }
    for (what, path) in [("vpcd's reader driver", VPCD_DRIVER), ("vpcd's reader configuration", VPCD_CONF)] {
        if !Path::new(path).exists() {
            return Err(HarnessError::MissingPackage { package: "vsmartcard-vpcd", what, path: path.into() });
        }
    }
    Ok(())
}

fn lock_file(name: &str) -> Result<File, HarnessError> {
    std::fs::create_dir_all(LOCK_DIR).map_err(|e| io(LOCK_DIR, e))?;
    let path = Path::new(LOCK_DIR).join(name);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| io(&path.display().to_string(), e))
}

fn lock(name: &str, arg: FlockArg) -> Result<Flock<File>, HarnessError> {
    Flock::lock(lock_file(name)?, arg).map_err(|(_, e)| io(&format!("locking {name}"), e))
}

/// The vpcd readers pcscd shows, or `None` when pcscd is not answering.
fn visible_readers() -> Option<Vec<String>> {
    let ctx = transport::establish().ok()?;
    let names = transport::reader_names(&ctx).ok()?;
    Some(names.iter().map(|n| n.to_string_lossy().into_owned()).collect())
}

fn has_vpcd(readers: &[String]) -> bool {
    (0..READERS).all(|n| readers.contains(&vpcd::reader_name(n)))
}

/// The pid in pcscd's pid file, if that process is alive (not a zombie).
fn running_pcscd() -> Option<Pid> {
    // pcscd writes "PID\n" and a NUL.
    let text = std::fs::read_to_string(PID_FILE).ok()?;
    let pid: i32 = text.trim_matches(|c: char| c.is_whitespace() || c == '\0').parse().ok()?;
    alive(pid).then(|| Pid::from_raw(pid))
}

/// vpcd's ports (35963, 35964) lie in Linux's ephemeral range (32768-60999), so any client
/// on the machine may be given one as its local port and keep pcscd from listening there.
/// Reserving them (root only; added to what is already reserved) stops that.
fn reserve_vpcd_ports() {
    const RESERVED: &str = "/proc/sys/net/ipv4/ip_local_reserved_ports";
    let ports = format!("{}-{}", vpcd::FIRST_PORT, vpcd::FIRST_PORT + READERS - 1);
    let current = std::fs::read_to_string(RESERVED).unwrap_or_default();
    let current = current.trim();
    if current.split(',').any(|r| r == ports) {
        return;
    }
    let wanted = if current.is_empty() { ports.clone() } else { format!("{current},{ports}") };
    match std::fs::write(RESERVED, wanted) {
        Ok(()) => tracing::info!(ports, "reserved vpcd's ports from the ephemeral range"),
        Err(e) => tracing::warn!(ports, error = %e, "cannot reserve vpcd's ports"),
    }
}

/// Live processes named pcscd.
fn pcscd_processes() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "pcscd") && alive(*pid)
        })
        .collect()
}

/// A live process (a zombie has exited; only its parent has not collected it yet).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// Effective uid 0, from /proc (nix's `user` feature is not in the workspace's set).
fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|ids| ids.split_whitespace().nth(1)) == Some("0")
}

fn marker() -> PathBuf {
    Path::new(LOCK_DIR).join("pcscd.started")
}

fn log_path() -> PathBuf {
    Path::new(LOCK_DIR).join("pcscd.log")
}

/// A share of the running pcscd (or the whole of it, for a test that restarts it). Drop
/// it at the end of the test: the last user stops a pcscd the rig started.
#[derive(Debug)]
pub struct Pcscd {
    lock: Option<Flock<File>>,
    exclusive: bool,
    child: Option<Child>,
}

/// Joins the users of pcscd, starting it if none runs.
pub fn pcscd() -> Result<Pcscd, HarnessError> {
    open(false)
}

/// The daemon for this test alone (no other test runs against it meanwhile): for tests that
/// kill and restart it.
pub fn pcscd_exclusive() -> Result<Pcscd, HarnessError> {
    open(true)
}

fn open(exclusive: bool) -> Result<Pcscd, HarnessError> {
    require_packages()?;
    let arg = if exclusive { FlockArg::LockExclusive } else { FlockArg::LockShared };
    let lock = lock("pcscd.lock", arg)?;
    let mut pcscd = Pcscd { lock: Some(lock), exclusive, child: None };
    pcscd.ensure_running()?;
    Ok(pcscd)
}

impl Pcscd {
    fn ensure_running(&mut self) -> Result<(), HarnessError> {
        let _starting = lock("start.lock", FlockArg::LockExclusive)?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(readers) = visible_readers() {
                return if has_vpcd(&readers) { Ok(()) } else { Err(HarnessError::NoVpcdReaders { readers }) };
            }
            // A pcscd that does not answer is starting up or shutting down (--auto-exit, a
            // SIGTERM): a second one started now could not take vpcd's ports.
            if pcscd_processes().is_empty() {
                break;
            }
            if Instant::now() > deadline {
                return self.wait_ready(Duration::ZERO);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if !is_root() {
            return Err(HarnessError::NotRoot);
        }
        reserve_vpcd_ports();
        // Another program may hold vpcd's port for a moment (a client that was given it as its
        // ephemeral port before the reservation): pcscd then comes up without that reader.
        let mut attempts = 0;
        loop {
            self.spawn()?;
            attempts += 1;
            match self.wait_ready(Duration::from_secs(10)) {
                Err(HarnessError::NoVpcdReaders { .. }) if attempts < 10 => {
                    tracing::warn!(attempts, "pcscd could not open vpcd's ports; starting it again");
                    if let Some(mut child) = self.child.take() {
                        let _ = child.kill();
                        let _ = child.wait();
                    }
                    std::thread::sleep(Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }

    fn spawn(&mut self) -> Result<(), HarnessError> {
        // A pcscd killed with SIGKILL leaves its pid file and socket behind, and refuses to
        // start while the old pid looks alive.
        let _ = std::fs::remove_file(PID_FILE);
        let _ = std::fs::remove_file(SOCKET_FILE);
        let log = File::create(log_path()).map_err(|e| io("pcscd log", e))?;
        let log2 = log.try_clone().map_err(|e| io("pcscd log", e))?;
        use std::os::unix::process::CommandExt;
        // Its own process group: a signal to the test does not reach it, and it is stopped
        // on purpose. --auto-exit ends it 60 s after its last client if the rig is killed.
        let child = Command::new("pcscd")
            .args(["--foreground", "--auto-exit"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .process_group(0)
            .spawn()
            .map_err(|e| io("starting pcscd", e))?;
        std::fs::write(marker(), child.id().to_string()).map_err(|e| io("pcscd marker", e))?;
        tracing::info!(pid = child.id(), "started pcscd for the tests");
        self.child = Some(child);
        Ok(())
    }

    fn wait_ready(&self, limit: Duration) -> Result<(), HarnessError> {
        let deadline = Instant::now() + limit;
        loop {
            match visible_readers() {
                Some(readers) if has_vpcd(&readers) => return Ok(()),
                Some(readers) if Instant::now() >= deadline => return Err(HarnessError::NoVpcdReaders { readers }),
                _ if Instant::now() >= deadline => {
                    let log = log_path();
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    let tail: Vec<&str> = text.lines().rev().take(10).collect();
                    return Err(HarnessError::DidNotStart {
                        seconds: limit.as_secs(),
                        log: log.display().to_string(),
                        tail: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
                    });
                }
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Kills the running pcscd with `signal` and waits until it is gone (exclusive use only).
    pub fn kill(&mut self, signal: Signal) -> Result<(), HarnessError> {
        if !self.exclusive {
            return Err(HarnessError::Io("only a test holding pcscd exclusively may kill it".into()));
        }
        let Some(pid) = running_pcscd() else { return Ok(()) };
        kill(pid, signal).map_err(|e| io("killing pcscd", e))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(pid.as_raw()) {
            if Instant::now() > deadline {
                return Err(HarnessError::Io(format!("pcscd ({pid}) did not exit after {signal}")));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(marker());
        Ok(())
    }

    /// Starts pcscd again after [`Pcscd::kill`].
    pub fn start(&mut self) -> Result<(), HarnessError> {
        self.ensure_running()
    }

    /// Leases whichever virtual reader is free first, once no card is left in it.
    pub fn lease_reader(&self) -> Result<ReaderLease, HarnessError> {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            for n in 0..READERS {
                if let Ok(lock) = Flock::lock(lock_file(&format!("reader-{n}.lock"))?, FlockArg::LockExclusiveNonblock)
                {
                    return ReaderLease::new(n, lock);
                }
            }
            if Instant::now() > deadline {
                return Err(HarnessError::Io("no virtual reader became free in 10 minutes".into()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Leases reader `n` (waiting for it).
    pub fn lease(&self, n: u16) -> Result<ReaderLease, HarnessError> {
        ReaderLease::new(n, lock(&format!("reader-{n}.lock"), FlockArg::LockExclusive)?)
    }
}

impl Drop for Pcscd {
    fn drop(&mut self) {
        let Some(lock) = self.lock.take() else { return };
        let Ok(file) = lock.unlock() else { return };
        // The last user (nobody else holds a share) stops the pcscd the rig started.
        let Ok(_last) = Flock::lock(file, FlockArg::LockExclusiveNonblock) else { return };
        let Some(pid) = std::fs::read_to_string(marker()).ok().and_then(|s| s.trim().parse::<i32>().ok()) else {
            return;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if alive(pid) && comm.trim() == "pcscd" {
            let _ = killpg(Pid::from_raw(pid), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if alive(pid) {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(marker());
    }
}

/// One of vpcd's readers, for this test alone.
#[derive(Debug)]
pub struct ReaderLease {
    pub index: u16,
    /// Its PC/SC name, "Virtual PCD 00 0N".
    pub name: String,
    /// The port a simulated card connects to.
    pub port: u16,
    _lock: Flock<File>,
}

impl ReaderLease {
    fn new(index: u16, lock: Flock<File>) -> Result<ReaderLease, HarnessError> {
        let lease = ReaderLease { index, name: vpcd::reader_name(index), port: vpcd::FIRST_PORT + index, _lock: lock };
        lease.wait_card(false, Duration::from_secs(10))?;
        Ok(lease)
    }

    /// Waits until pcscd sees a card in this reader (`present`) or none.
    pub fn wait_card(&self, present: bool, limit: Duration) -> Result<(), HarnessError> {
        let deadline = Instant::now() + limit;
        loop {
            let now = transport::establish()
                .ok()
                .and_then(|ctx| transport::readers(&ctx).ok())
                .and_then(|rs| rs.into_iter().find(|r| r.name == self.name))
                .map(|r| r.card_present);
            if now == Some(present) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(HarnessError::Io(format!(
                    "pcscd never saw the reader {:?} {} (it says {now:?})",
                    self.name,
                    if present { "holding a card" } else { "empty" }
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
