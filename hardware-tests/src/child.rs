//! Fault tests run parts of themselves as separate processes: the test binary runs one of
//! its own (ignored) tests as a child, optionally inside a network namespace, to be
//! killed, restarted or cut off. Parent and child talk in lines: the child prints
//! [`say`] lines (`@@ ` and a word) on stdout and reads commands on stdin; the end of
//! its stdin (the parent gone) ends it.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{Notify, mpsc};

/// What starts a line meant for the parent, among the test harness's own output.
const MARK: &str = "@@ ";

/// Child side: tells the parent `line`.
pub fn say(line: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{MARK}{line}");
    let _ = out.flush();
}

/// Child side: the parent's commands, one a line. The channel closes when the parent
/// closes the child's stdin (or dies).
pub fn commands() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Parent side: one child process, killed (SIGKILL) when dropped.
pub struct ChildProcess {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    said: Arc<Mutex<Vec<String>>>,
    changed: Arc<Notify>,
}

impl std::fmt::Debug for ChildProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChildProcess({} pid {:?})", self.name, self.child.id())
    }
}

impl ChildProcess {
    /// Runs the ignored test `test` of this test binary, inside network namespace
    /// `netns` if given (`ip netns exec`, which becomes the test binary), with `env` added.
    /// Its stderr is the parent's.
    pub fn spawn(test: &str, netns: Option<&str>, env: &[(&str, String)]) -> std::io::Result<Self> {
        let exe = std::env::current_exe()?;
        let harness = ["--exact", test, "--ignored", "--nocapture", "--test-threads=1"];
        let mut command = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        command
            .args(harness)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let stdin = child.stdin.take();
        let said = Arc::new(Mutex::new(Vec::new()));
        let changed = Arc::new(Notify::new());
        if let Some(stdout) = child.stdout.take() {
            let (said, changed) = (said.clone(), changed.clone());
            tokio::spawn(async move {
                let mut lines = BufReader::new(stdout).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    // The harness may have begun the line ("test name ... ").
                    if let Some((_, line)) = line.split_once(MARK) {
                        said.lock().unwrap_or_else(PoisonError::into_inner).push(line.to_owned());
                        changed.notify_waiters();
                    }
                }
                // The child closed its stdout (it ended): wake whoever waits for a line.
                said.lock().unwrap_or_else(PoisonError::into_inner).push(String::new());
                changed.notify_waiters();
            });
        }
        Ok(Self { name: test.to_owned(), child, stdin, said, changed })
    }

    /// Sends the child one command line.
    pub async fn send(&mut self, line: &str) -> anyhow::Result<()> {
        let Some(stdin) = self.stdin.as_mut() else { anyhow::bail!("{}: stdin already closed", self.name) };
        stdin.write_all(format!("{line}\n").as_bytes()).await?;
        stdin.flush().await?;
        Ok(())
    }

    /// Closes the child's stdin: a child reading [`commands`] then finishes.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Everything the child said so far, in order (an empty line once its output ended).
    pub fn said(&self) -> Vec<String> {
        self.said.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// How many lines the child said that start with `word`.
    pub fn count(&self, word: &str) -> usize {
        self.said.lock().unwrap_or_else(PoisonError::into_inner).iter().filter(|l| l.starts_with(word)).count()
    }

    /// Waits up to `within` for a line starting with `word`, said after the first
    /// `*cursor` lines; moves the cursor past it and returns the rest of the line.
    pub async fn next(&self, cursor: &mut usize, word: &str, within: Duration) -> anyhow::Result<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.changed.notified();
            {
                let said = self.said.lock().unwrap_or_else(PoisonError::into_inner);
                for (i, line) in said.iter().enumerate().skip(*cursor) {
                    if let Some(rest) = line.strip_prefix(word) {
                        *cursor = i + 1;
                        return Ok(rest.trim().to_owned());
                    }
                }
                if said.last().is_some_and(String::is_empty) {
                    anyhow::bail!("{} ended without saying {word:?}; it said {said:?}", self.name);
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                anyhow::bail!("{} did not say {word:?} within {within:?}", self.name);
            }
        }
    }

    /// Waits up to `within` for the child to end.
    pub async fn wait(&mut self, within: Duration) -> anyhow::Result<ExitStatus> {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => Ok(status?),
            Err(_) => anyhow::bail!("{} still running after {within:?}", self.name),
        }
    }

    /// SIGKILL, and waits for it to be gone.
    pub async fn kill(&mut self) -> anyhow::Result<ExitStatus> {
        self.child.start_kill()?;
        Ok(self.child.wait().await?)
    }
}
