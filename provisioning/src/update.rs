//! `kiosk-provision update apply|recover`: the root-side installer of a software update.
//!
//! `apply` is started by `kiosk-update.path` when the kiosk writes its request. It trusts
//! nothing the kiosk user could have written: it copies the package into its own
//! root-only directory and checks that copy against the release key in
//! `/etc/kiosk/kiosk.toml`. Then, keeping a journal synced before each step: save the
//! running version as a package (`dpkg-repack`), `dpkg -i` the new one, restart the
//! kiosk, and wait for the new version's start-up self-test. A failed install, a failed
//! self-test or none within the deadline puts the saved version back.
//!
//! `recover` runs before every kiosk start (`ExecStartPre=-+` in kiosk.service: as root,
//! and its failure never keeps the kiosk from starting): a journal left by a power cut
//! means an update stopped half-way, and the saved version is reinstalled before the
//! kiosk runs. An `apply` in progress holds a lock, so the
//! restart it makes itself is not taken for a power cut.
//!
//! The decisions are pure (`kiosk::update::plan`); this file only carries them out.

use kiosk::update::plan::{self, BootAction, Phase, Verdict};
use kiosk::update::spool::{self, Outcome, OutcomeKind, Request, Spool};
use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use spool::{HEALTH_FILE as HEALTH, REQUEST_FILE as REQUEST, RESULT_FILE as RESULT};

/// The installer's journal: the step begun, and what it needs to undo it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    pub phase: Phase,
    pub version: String,
    pub previous: String,
    /// The saved running version (`dpkg-repack`), once saved.
    #[serde(default)]
    pub saved: Option<PathBuf>,
    pub started_at: i64,
}

/// How the installer reaches the system; the tests in a Debian root point these at
/// `chroot` wrappers, production uses the defaults.
#[derive(Debug, Clone)]
pub struct Commands {
    /// Installs the package file appended (`dpkg --force-confold -i`).
    pub install: Vec<String>,
    /// Finishes an interrupted dpkg run (`dpkg --configure -a`).
    pub configure_pending: Vec<String>,
    /// Writes the installed `kiosk` package as a .deb into the working directory.
    pub save: Vec<String>,
    /// Prints the installed `kiosk` package's version.
    pub installed_version: Vec<String>,
    /// Restarts the kiosk service.
    pub restart: Vec<String>,
}

impl Default for Commands {
    fn default() -> Self {
        let v = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect();
        Self {
            install: v(&["dpkg", "--force-confold", "-i"]),
            configure_pending: v(&["dpkg", "--force-confold", "--configure", "-a"]),
            save: v(&["dpkg-repack", "kiosk"]),
            installed_version: v(&["dpkg-query", "-W", "-f=${Version}", "kiosk"]),
            restart: v(&["systemctl", "restart", "kiosk.service"]),
        }
    }
}

pub struct Installer {
    pub spool: Spool,
    /// Root-only: the journal, the checked copy of the new package, the saved one.
    pub state_dir: PathBuf,
    pub release_key: Option<ed25519_dalek::VerifyingKey>,
    pub architecture: String,
    pub health_deadline: Duration,
    pub commands: Commands,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallerError {
    #[error(transparent)]
    Spool(#[from] spool::SpoolError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("another `kiosk-provision update apply` is running (lock {0})")]
    Busy(String),
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// Runs `argv` (with `extra` appended) and returns its trimmed stdout, or what it said
/// on failure (the last lines of stderr: what a technician reads in the outcome).
fn run(argv: &[String], extra: &[&str], cwd: Option<&Path>) -> Result<String, String> {
    let (program, args) = argv.split_first().ok_or_else(|| "empty command".to_owned())?;
    let mut cmd = Command::new(program);
    cmd.args(args).args(extra);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let shown = || format!("{} {}", argv.join(" "), extra.join(" ")).trim().to_owned();
    let out = cmd.output().map_err(|e| format!("{} could not run: {e}", shown()))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = tail[tail.len().saturating_sub(2)..].join(" / ");
    Err(format!("{} failed ({}): {tail}", shown(), out.status))
}

/// An exclusive lock on the state directory for the process's life (released by the
/// kernel when it dies, so a power cut or a kill never leaves it held).
pub struct Lock(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>);

/// The kiosk's spool as root must use it: the kiosk user owns the directory, so any
/// name in it may be a link planted to make root write (or read) elsewhere. The
/// directory is opened once without following a link, and every file in it is then
/// opened, created, renamed and removed relative to that descriptor, never following one.
struct SpoolDir {
    fd: std::os::fd::OwnedFd,
    shown: PathBuf,
}

impl SpoolDir {
    fn open(dir: &Path) -> Result<Self, InstallerError> {
        use nix::fcntl::OFlag;
        let flags = OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_RDONLY | OFlag::O_CLOEXEC;
        nix::fcntl::open(dir, flags, nix::sys::stat::Mode::empty())
            .map(|fd| Self { fd, shown: dir.to_owned() })
            .map_err(|e| InstallerError::Io(format!("{} (opened without following links)", dir.display()), e.into()))
    }

    fn err(&self, name: &str, e: nix::errno::Errno) -> InstallerError {
        InstallerError::Io(self.shown.join(name).display().to_string(), e.into())
    }

    /// Opens `name` (one component, or `incoming/<file>`) for reading; `None` if absent.
    fn open_read(&self, name: &str) -> Result<Option<std::fs::File>, InstallerError> {
        use nix::fcntl::OFlag;
        let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let (dir, file) = match name.split_once('/') {
            Some((sub, file)) => {
                let sub_flags = OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_RDONLY | OFlag::O_CLOEXEC;
                match nix::fcntl::openat(&self.fd, sub, sub_flags, nix::sys::stat::Mode::empty()) {
                    Ok(fd) => (Some(fd), file),
                    Err(nix::errno::Errno::ENOENT) => return Ok(None),
                    Err(e) => return Err(self.err(sub, e)),
                }
            }
            None => (None, name),
        };
        let opened = match &dir {
            Some(d) => nix::fcntl::openat(d, file, flags, nix::sys::stat::Mode::empty()),
            None => nix::fcntl::openat(&self.fd, file, flags, nix::sys::stat::Mode::empty()),
        };
        match opened {
            Ok(fd) => Ok(Some(std::fs::File::from(fd))),
            Err(nix::errno::Errno::ENOENT) => Ok(None),
            Err(e) => Err(self.err(name, e)),
        }
    }

    /// `Ok(None)` when absent; a file that does not parse is renamed aside.
    fn read_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<Option<T>, InstallerError> {
        let Some(mut f) = self.open_read(name)? else { return Ok(None) };
        let mut bytes = Vec::new();
        // A request or health report is a few kilobytes; a huge file is not one.
        (&mut f).take(1 << 20).read_to_end(&mut bytes).map_err(|e| InstallerError::Io(name.to_owned(), e))?;
        match serde_json::from_slice(&bytes) {
            Ok(v) => Ok(Some(v)),
            Err(e) => {
                let aside = format!("{name}.garbled");
                let _ = nix::fcntl::renameat(&self.fd, name, &self.fd, aside.as_str());
                Err(InstallerError::Spool(spool::SpoolError::Garbled {
                    path: self.shown.join(name).display().to_string(),
                    detail: e.to_string(),
                    aside: self.shown.join(aside).display().to_string(),
                }))
            }
        }
    }

    /// Writes `name` through a new temporary file (created exclusively, so never through
    /// a link) and a rename within the directory, synced.
    fn write_json(&self, name: &str, value: &impl Serialize) -> Result<(), InstallerError> {
        use nix::fcntl::OFlag;
        let tmp = format!("{name}.tmp");
        self.remove(&tmp)?;
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let mode = nix::sys::stat::Mode::from_bits_truncate(0o644);
        let fd = nix::fcntl::openat(&self.fd, tmp.as_str(), flags, mode).map_err(|e| self.err(&tmp, e))?;
        let mut f = std::fs::File::from(fd);
        let bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
        f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(|e| InstallerError::Io(tmp.clone(), e))?;
        nix::fcntl::renameat(&self.fd, tmp.as_str(), &self.fd, name).map_err(|e| self.err(name, e))?;
        nix::unistd::fsync(&self.fd).map_err(|e| self.err(".", e))
    }

    /// Removes `name` (a link is removed, not followed); absent is fine.
    fn remove(&self, name: &str) -> Result<(), InstallerError> {
        match nix::unistd::unlinkat(&self.fd, name, nix::unistd::UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(nix::errno::Errno::ENOENT) => Ok(()),
            Err(e) => Err(self.err(name, e)),
        }
    }
}

impl Installer {
    fn journal_path(&self) -> PathBuf {
        self.state_dir.join("journal.json")
    }

    fn spool_dir(&self) -> Result<SpoolDir, InstallerError> {
        SpoolDir::open(self.spool.dir())
    }

    fn lock(&self) -> Result<Lock, InstallerError> {
        let path = self.state_dir.join("lock");
        let io = |e| InstallerError::Io(path.display().to_string(), e);
        std::fs::create_dir_all(&self.state_dir).map_err(io)?;
        set_mode(&self.state_dir, 0o700).map_err(io)?;
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(io)?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock)
            .map(Lock)
            .map_err(|_| InstallerError::Busy(path.display().to_string()))
    }

    fn journal(&self) -> Result<Option<Journal>, InstallerError> {
        Ok(spool::read_json(&self.journal_path())?)
    }

    fn write_journal(&self, j: &Journal) -> Result<(), InstallerError> {
        Ok(spool::write_json(&self.journal_path(), j)?)
    }

    /// Writes the outcome for the kiosk and ends the attempt (journal, request and
    /// package copies gone).
    fn finish(&self, outcome: &Outcome) -> Result<(), InstallerError> {
        self.leave_for_kiosk(outcome)?;
        spool::remove(&self.journal_path())?;
        for f in ["new.deb", "saved"] {
            let p = self.state_dir.join(f);
            let _ = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        }
        match outcome.outcome {
            OutcomeKind::Installed => {
                tracing::info!(version = outcome.version, took_s = outcome.took_s, "update installed")
            }
            _ => tracing::error!(?outcome, "update not installed"),
        }
        Ok(())
    }

    /// Writes the outcome for the kiosk to report and consumes its request.
    fn leave_for_kiosk(&self, outcome: &Outcome) -> Result<(), InstallerError> {
        match self.spool_dir() {
            Ok(dir) => {
                dir.write_json(RESULT, outcome)?;
                dir.remove(REQUEST)
            }
            // No spool (the kiosk never ran): nobody to tell, nothing to consume.
            Err(e) => {
                tracing::warn!(error = %e, ?outcome, "the outcome cannot be left for the kiosk");
                Ok(())
            }
        }
    }

    /// `kiosk-provision update recover`: before the kiosk starts. Returns the outcome
    /// written, if an update was found interrupted.
    pub fn recover(&self) -> Result<Option<Outcome>, InstallerError> {
        let _lock = match self.lock() {
            Ok(l) => l,
            // The apply in progress restarts the kiosk itself: nothing to recover.
            Err(InstallerError::Busy(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let journal = self.journal()?;
        match plan::at_boot(journal.as_ref().map(|j| j.phase)) {
            BootAction::Nothing => Ok(None),
            BootAction::Abandon => {
                let j = journal.as_ref().map_or_else(String::new, |j| j.version.clone());
                let outcome = Outcome {
                    version: j,
                    outcome: OutcomeKind::Abandoned,
                    reason: Some("power was lost before anything was installed".into()),
                    took_s: 0.0,
                    at: now(),
                };
                self.finish(&outcome)?;
                Ok(Some(outcome))
            }
            BootAction::RollBack(reason) => {
                let Some(j) = journal else { return Ok(None) };
                // Whatever dpkg left half-done is finished first, so the reinstall
                // starts from a consistent package database.
                if let Err(e) = run(&self.commands.configure_pending, &[], None) {
                    tracing::warn!(error = e, "finishing the interrupted dpkg run failed; reinstalling anyway");
                }
                let outcome = self.roll_back(&j, reason, Instant::now(), false)?;
                Ok(Some(outcome))
            }
        }
    }

    /// `kiosk-provision update apply`: carries out the kiosk's request, if any.
    pub fn apply(&self) -> Result<Option<Outcome>, InstallerError> {
        let _lock = self.lock()?;
        let started = Instant::now();
        if self.journal()?.is_some() {
            // An earlier apply died without a reboot (killed): finish it first.
            drop(_lock);
            self.recover()?;
            if self.journal()?.is_some() {
                return Err(InstallerError::Io(
                    self.journal_path().display().to_string(),
                    std::io::Error::other("an interrupted update could not be rolled back"),
                ));
            }
            return self.apply();
        }
        let dir = match self.spool_dir() {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "the kiosk's update spool cannot be opened safely; nothing installed");
                return Ok(None);
            }
        };
        let request: Request = match dir.read_json(REQUEST) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(None),
            Err(e) => {
                tracing::error!(error = %e, "update request unreadable; dropped");
                let _ = dir.remove(REQUEST);
                return Ok(None);
            }
        };
        let version = request.release.manifest.version.clone();
        let outcome = |kind, reason: Option<String>| Outcome {
            version: version.clone(),
            outcome: kind,
            reason,
            took_s: started.elapsed().as_secs_f64(),
            at: now(),
        };
        let new = match self.checked_copy(&dir, &request) {
            Ok(path) => path,
            Err(reason) => {
                let o = outcome(OutcomeKind::Refused, Some(reason));
                self.finish(&o)?;
                self.restart_quietly();
                return Ok(Some(o));
            }
        };
        let previous = run(&self.commands.installed_version, &[], None).unwrap_or_default();
        let mut journal =
            Journal { phase: Phase::Saving, version: version.clone(), previous, saved: None, started_at: now() };
        self.write_journal(&journal)?;
        match self.save_running() {
            Ok(saved) => journal.saved = Some(saved),
            Err(reason) => {
                // Without the running version saved there is no way back: install nothing.
                let o =
                    outcome(OutcomeKind::Abandoned, Some(format!("the running version could not be saved: {reason}")));
                self.finish(&o)?;
                self.restart_quietly();
                return Ok(Some(o));
            }
        }
        journal.phase = Phase::Installing;
        self.write_journal(&journal)?;
        let path = new.display().to_string();
        if let Err(e) = run(&self.commands.install, &[&path], None) {
            return self.roll_back(&journal, format!("installing failed: {e}"), started, true).map(Some);
        }
        journal.phase = Phase::Verifying;
        self.write_journal(&journal)?;
        dir.remove(HEALTH)?;
        if let Err(e) = run(&self.commands.restart, &[], None) {
            return self.roll_back(&journal, format!("restarting the kiosk failed: {e}"), started, true).map(Some);
        }
        let waiting = Instant::now();
        let limit = self.health_deadline.as_secs();
        loop {
            let health = dir.read_json::<plan::Health>(HEALTH).unwrap_or_else(|e| {
                tracing::warn!(error = %e, "health report unreadable");
                None
            });
            match plan::verdict(&version, health.as_ref(), waiting.elapsed().as_secs(), limit) {
                Verdict::Healthy => {
                    let o = outcome(OutcomeKind::Installed, None);
                    self.finish(&o)?;
                    return Ok(Some(o));
                }
                Verdict::Failed(reason) => return self.roll_back(&journal, reason, started, true).map(Some),
                Verdict::Waiting => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }

    /// Puts the saved version back, records why, and restarts the kiosk (unless the boot
    /// is about to start it).
    fn roll_back(
        &self,
        j: &Journal,
        reason: String,
        started: Instant,
        restart: bool,
    ) -> Result<Outcome, InstallerError> {
        tracing::error!(version = j.version, previous = j.previous, reason, "rolling back");
        let mut rolling = j.clone();
        rolling.phase = Phase::RollingBack;
        self.write_journal(&rolling)?;
        let mut reason = reason;
        match &j.saved {
            Some(saved) => {
                let path = saved.display().to_string();
                if let Err(e) = run(&self.commands.install, &[&path], None) {
                    // Left in the journal: the next boot tries again.
                    reason = format!("{reason}; reinstalling {} FAILED: {e}", j.previous);
                    tracing::error!(reason, "rollback failed; the next start tries again");
                    let o = Outcome {
                        version: j.version.clone(),
                        outcome: OutcomeKind::RolledBack,
                        reason: Some(reason),
                        took_s: started.elapsed().as_secs_f64(),
                        at: now(),
                    };
                    self.leave_for_kiosk(&o)?;
                    return Ok(o);
                }
            }
            None => reason = format!("{reason}; nothing was saved to reinstall"),
        }
        let o = Outcome {
            version: j.version.clone(),
            outcome: OutcomeKind::RolledBack,
            reason: Some(format!("{reason} (back on {})", j.previous)),
            took_s: started.elapsed().as_secs_f64(),
            at: now(),
        };
        // The outcome is written before the restart, so the version put back reports it
        // as it starts (written after, it would wait for the next restart). A power cut
        // between the two: the boot starts the kiosk anyway, on the version put back.
        self.finish(&o)?;
        if restart {
            self.restart_quietly();
        }
        Ok(o)
    }

    fn restart_quietly(&self) {
        if let Err(e) = run(&self.commands.restart, &[], None) {
            tracing::error!(error = e, "restarting the kiosk failed");
        }
    }

    /// Saves the running version as a .deb in `saved/`.
    fn save_running(&self) -> Result<PathBuf, String> {
        let dir = self.state_dir.join("saved");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        run(&self.commands.save, &[], Some(&dir))?;
        let debs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "deb"))
            .collect();
        match debs.as_slice() {
            [one] => {
                // The file dpkg-repack made is synced before any install depends on it.
                std::fs::File::open(one).and_then(|f| f.sync_all()).map_err(|e| format!("{}: {e}", one.display()))?;
                Ok(one.clone())
            }
            _ => Err(format!("expected one .deb in {}, found {}", dir.display(), debs.len())),
        }
    }

    /// Copies the requested package into the root-only directory and checks the copy:
    /// the kiosk user cannot change what is installed after it was checked.
    fn checked_copy(&self, dir: &SpoolDir, r: &Request) -> Result<PathBuf, String> {
        let key = self.release_key.as_ref().ok_or("no [updates] release_key in the configuration")?;
        contract::verify_release(&r.release, key, "kiosk", &self.architecture).map_err(|e| e.to_string())?;
        let m = &r.release.manifest;
        if r.package_file != format!("{}.deb", m.sha256) {
            return Err(format!("package file {:?} is not the manifest's {}.deb", r.package_file, m.sha256));
        }
        let source = format!("incoming/{}", r.package_file);
        let dest = self.state_dir.join("new.deb");
        let mut from = match dir.open_read(&source) {
            Ok(Some(f)) => f,
            Ok(None) => return Err(format!("{source} is missing from the kiosk's spool")),
            Err(e) => return Err(e.to_string()),
        };
        let mut copy = || -> std::io::Result<(String, u64)> {
            let mut to = std::fs::File::create(&dest)?;
            let (mut hasher, mut size, mut buf) = (sha2::Sha256::new(), 0u64, vec![0u8; 64 * 1024]);
            loop {
                let n = from.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                // Never more than the signed size: a swapped huge file cannot fill the disk.
                size += n as u64;
                if size > m.size {
                    break;
                }
                hasher.update(&buf[..n]);
                to.write_all(&buf[..n])?;
            }
            to.sync_all()?;
            Ok((hex::encode(hasher.finalize()), size))
        };
        let (sha256, size) = copy().map_err(|e| format!("{source}: {e}"))?;
        contract::check_package(m, &sha256, size).map_err(|e| e.to_string())?;
        Ok(dest)
    }
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// The installer for a kiosk configuration (its data directory and release key).
pub fn for_config(config: &kiosk::config::Config, state_dir: PathBuf, commands: Commands) -> Installer {
    Installer {
        spool: Spool::in_data_dir(&config.terminal.data_dir),
        state_dir,
        release_key: config.updates.key(),
        architecture: kiosk::update::architecture().to_owned(),
        health_deadline: Duration::from_secs(config.updates.health_deadline_s),
        commands,
    }
}
