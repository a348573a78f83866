//! The install's progress, kept in the kiosk's data directory so a re-run after a
//! failure resumes at the step that failed instead of starting over (a one-time token
//! spent, a test page printed or a PIN typed are not asked for twice).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file in the data directory.
pub const STATE_FILE: &str = "install-state.json";

/// The install's steps, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Detect,
    Config,
    Udev,
    SelfTest,
    Enroll,
    Pin,
    Receipt,
    Service,
    Heartbeat,
}

impl Step {
    pub const ALL: [Step; 9] = [
        Step::Detect,
        Step::Config,
        Step::Udev,
        Step::SelfTest,
        Step::Enroll,
        Step::Pin,
        Step::Receipt,
        Step::Service,
        Step::Heartbeat,
    ];

    /// What the step does, as the technician reads it.
    pub fn title(self) -> &'static str {
        match self {
            Step::Detect => "detect the devices",
            Step::Config => "write the configuration",
            Step::Udev => "write stable device names (udev rules)",
            Step::SelfTest => "self-test each device through its driver",
            Step::Enroll => "enroll with the central service",
            Step::Pin => "set the technician PIN",
            Step::Receipt => "print the provisioning receipt",
            Step::Service => "enable and start the kiosk service",
            Step::Heartbeat => "wait until central has seen the terminal",
        }
    }

    /// 1-based position, for "step 4/9".
    pub fn number(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).map_or(0, |i| i + 1)
    }
}

/// The devices chosen at detection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Devices {
    pub reader_port: String,
    pub reader_baud: u32,
    /// The SAM module's id (hex): tells two readers apart on the receipt.
    pub reader_sam: Option<String>,
    pub printer: String,
    pub printer_baud: Option<u32>,
    pub camera: Option<String>,
}

/// A device's self-test, as recorded and printed on the receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelfTestResult {
    pub device: String,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "result", content = "detail")]
pub enum Outcome {
    /// Passed; the detail is what the technician saw (a masked card number, "printed").
    Passed(String),
    Failed(String),
    /// Skipped at the technician's request (`--skip-self-test`).
    Skipped,
}

/// The step that failed last and why, for the technician and for a re-run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub step: Step,
    pub message: String,
}

/// Everything the install has done so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstallState {
    pub done: Vec<Step>,
    pub failed: Option<Failure>,
    pub devices: Option<Devices>,
    pub self_tests: Vec<SelfTestResult>,
    pub terminal_id: Option<String>,
    /// The argon2 hash of the PIN (never the PIN itself).
    pub pin_hash: Option<String>,
    /// Seconds from the first run's start to "visible at central".
    pub visible_after_s: Option<f64>,
    /// When the install printed its receipt, in China time as printed ("2026年12月05日
    /// 20:47"): a reprint says when the terminal was installed. Absent in records of
    /// installs before reprints existed.
    #[serde(default)]
    pub installed_at: Option<String>,
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read the install state {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the install state {path} is damaged ({source}); delete it to start the install over")]
    Damaged { path: PathBuf, source: serde_json::Error },
    #[error("cannot write the install state {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

impl InstallState {
    pub fn is_done(&self, step: Step) -> bool {
        self.done.contains(&step)
    }

    /// The first step not done yet (None: the install is complete).
    pub fn next(&self) -> Option<Step> {
        Step::ALL.into_iter().find(|s| !self.is_done(*s))
    }

    pub fn mark_done(&mut self, step: Step) {
        if !self.is_done(step) {
            self.done.push(step);
        }
        if self.failed.as_ref().is_some_and(|f| f.step == step) {
            self.failed = None;
        }
    }

    /// Forgets `step` and every step after it (their inputs changed).
    pub fn redo_from(&mut self, step: Step) {
        let from = step.number();
        self.done.retain(|s| s.number() < from);
    }

    /// The state in `dir`, or a fresh one when there is none.
    pub fn load(dir: &Path) -> Result<Self, StateError> {
        let path = dir.join(STATE_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StateError::Damaged { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(StateError::Read { path, source }),
        }
    }

    /// Writes the state atomically: a new file synced, then renamed over the old one, so
    /// a power cut leaves either the old or the new state, never half of one.
    pub fn save(&self, dir: &Path) -> Result<(), StateError> {
        let path = dir.join(STATE_FILE);
        crate::durable::write_json(&path, self).map_err(|source| StateError::Write { path: path.clone(), source })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_saved_state_is_loaded_as_it_was_and_resumes_at_the_failed_step() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(InstallState::load(dir.path()).unwrap(), InstallState::default(), "none yet: a fresh install");
        let mut s = InstallState::default();
        for step in [Step::Detect, Step::Config, Step::Udev, Step::SelfTest] {
            s.mark_done(step);
        }
        s.failed = Some(Failure { step: Step::Enroll, message: "central unreachable".into() });
        s.self_tests
            .push(SelfTestResult { device: "reader".into(), outcome: Outcome::Passed("1101**********002X".into()) });
        s.save(dir.path()).unwrap();
        let back = InstallState::load(dir.path()).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.next(), Some(Step::Enroll));
        assert!(!dir.path().join(format!("{STATE_FILE}.tmp")).exists(), "no temporary file left");
    }

    #[test]
    fn finishing_the_failed_step_clears_the_failure_and_redo_forgets_the_later_steps() {
        let mut s = InstallState::default();
        Step::ALL.iter().take(5).for_each(|st| s.mark_done(*st));
        s.failed = Some(Failure { step: Step::Pin, message: "no PIN".into() });
        s.mark_done(Step::Pin);
        assert_eq!(s.failed, None);
        s.redo_from(Step::Config);
        assert_eq!(s.done, [Step::Detect]);
        assert_eq!(s.next(), Some(Step::Config));
    }

    #[test]
    fn a_damaged_state_file_says_how_to_start_over() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATE_FILE), b"{ half").unwrap();
        let e = InstallState::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("delete it to start the install over"), "{e}");
    }
}
