//! The pure decisions of a software update, with time as an argument: when the
//! terminal may install (the hall's quiet hours, nobody at the screen), whether the new
//! version proved itself, and what a terminal that lost power mid-update does first on
//! its next boot. The agent (`super::agent`) and the root-side installer
//! (`kiosk-provision update`) only carry these decisions out.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The hall's quiet hours in China time, `HH:MM-HH:MM`; may cross midnight
/// (`22:30-06:00`). Default `01:00-05:00`: a 24-hour hall is emptiest then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    start_min: u16,
    end_min: u16,
}

impl Default for Window {
    fn default() -> Self {
        Self { start_min: 60, end_min: 5 * 60 }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("update window {0:?} is not HH:MM-HH:MM in China time with two different times (e.g. 01:00-05:00)")]
pub struct WindowError(pub String);

impl FromStr for Window {
    type Err = WindowError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || WindowError(s.to_owned());
        let minutes = |hm: &str| -> Option<u16> {
            let (h, m) = hm.trim().split_once(':')?;
            if h.len() != 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60).then_some(h * 60 + m)
        };
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let (start_min, end_min) = (minutes(a).ok_or_else(bad)?, minutes(b).ok_or_else(bad)?);
        if start_min == end_min {
            return Err(bad());
        }
        Ok(Self { start_min, end_min })
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.start_min), hm(self.end_min))
    }
}

impl Window {
    /// Whether `unix_s` falls inside the window, in China time (UTC+8, no DST).
    pub fn contains(&self, unix_s: i64) -> bool {
        let minute = u16::try_from((unix_s + 8 * 3600).rem_euclid(86_400) / 60).unwrap_or(0);
        if self.start_min < self.end_min {
            (self.start_min..self.end_min).contains(&minute)
        } else {
            minute >= self.start_min || minute < self.end_min
        }
    }
}

/// Why an install waits while someone uses the terminal (the agent looks again sooner).
pub const IN_USE: &str = "the terminal is in use";

/// What the agent does with the release central offers.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do: already running it, or this terminal refused or rolled it back
    /// before (it is never tried twice; operations publish a fixed version instead).
    Ignore(&'static str),
    /// Download and verify it now (any time of day: it changes nothing running).
    Fetch,
    /// Verified and waiting: outside the window, or someone is using the terminal.
    Wait(&'static str),
    /// Hand it to the installer.
    Install,
}

/// The terminal's view of one offered `version`.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    pub running: &'a str,
    pub offered: &'a str,
    /// Versions this terminal refused or rolled back.
    pub tried: &'a [String],
    /// The package is downloaded and its signature and bytes checked.
    pub verified: bool,
    /// A citizen session or the maintenance screen is open.
    pub busy: bool,
    pub now: i64,
}

pub fn decide(s: Situation<'_>, window: Window) -> Decision {
    if s.offered == s.running {
        return Decision::Ignore("already running it");
    }
    if s.tried.iter().any(|t| t == s.offered) {
        return Decision::Ignore("refused or rolled back here before");
    }
    if !s.verified {
        return Decision::Fetch;
    }
    if !window.contains(s.now) {
        return Decision::Wait("outside the update window");
    }
    if s.busy {
        return Decision::Wait(IN_USE);
    }
    Decision::Install
}

/// What the new version says about itself once it has started: written by the kiosk
/// after its start-up self-test, read by the installer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub version: String,
    pub ok: bool,
    /// Why not, when not ok: which device, or central unreachable, or the home screen
    /// never shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at: i64,
}

/// What keeps the start-up self-test from passing, in words for the dashboard: the home
/// screen not shown, central not reached, and each device fault (`"camera: missing"`)
/// the version before the update did not already have. A device that was already
/// missing or failing is the hall's to fix and on the dashboard as degraded; rolling
/// every update back for it would keep the terminal on old software until a technician
/// came, fix or not.
pub fn self_test_gaps(
    home_shown: bool,
    heartbeat_accepted: bool,
    device_faults: &[String],
    faults_before: &[String],
) -> Vec<String> {
    let mut gaps = Vec::new();
    if !home_shown {
        gaps.push("the home screen was not shown".to_owned());
    }
    if !heartbeat_accepted {
        gaps.push("central did not accept a heartbeat".to_owned());
    }
    gaps.extend(device_faults.iter().filter(|f| !faults_before.contains(f)).cloned());
    gaps
}

/// The installer's verdict on the version it installed.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Healthy,
    /// Keep waiting for its health report.
    Waiting,
    /// Roll back, for this reason.
    Failed(String),
}

/// `health` is the newest report (possibly from another version: a crashed new
/// version leaves none); `waited_s` since the new version was started, of `limit_s`.
pub fn verdict(version: &str, health: Option<&Health>, waited_s: u64, limit_s: u64) -> Verdict {
    match health {
        Some(h) if h.version == version && h.ok => Verdict::Healthy,
        Some(h) if h.version == version => {
            Verdict::Failed(format!("self-test failed: {}", h.reason.as_deref().unwrap_or("no reason given")))
        }
        _ if waited_s >= limit_s => {
            Verdict::Failed(format!("no health report from {version} within {limit_s} s of starting it"))
        }
        _ => Verdict::Waiting,
    }
}

/// Where an update stands, kept by the installer in its journal (written and synced
/// before each step, so a power cut leaves the last step begun on record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Saving the running version as a package to come back to.
    Saving,
    /// `dpkg -i` of the new version.
    Installing,
    /// The new version restarted; waiting for its health report.
    Verifying,
    /// Reinstalling the saved version.
    RollingBack,
}

/// What the installer does first when it finds a journal at boot.
#[derive(Debug, PartialEq, Eq)]
pub enum BootAction {
    /// No update was under way.
    Nothing,
    /// Nothing was installed yet: drop the attempt (the agent offers it again later).
    Abandon,
    /// Reinstall the saved version and report why.
    RollBack(String),
}

pub fn at_boot(phase: Option<Phase>) -> BootAction {
    match phase {
        None => BootAction::Nothing,
        Some(Phase::Saving) => BootAction::Abandon,
        // A half-unpacked package, or a new version that never proved itself before
        // the power went: the saved version is the one known to work.
        Some(Phase::Installing) => BootAction::RollBack("power was lost while installing".into()),
        Some(Phase::Verifying) => BootAction::RollBack("power was lost before the new version proved itself".into()),
        Some(Phase::RollingBack) => BootAction::RollBack("power was lost while rolling back".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-05 00:00 in China is 2026-12-04 16:00 UTC.
    const MIDNIGHT_CHINA: i64 = 1_796_400_000;

    fn at(h: i64, m: i64) -> i64 {
        MIDNIGHT_CHINA + h * 3600 + m * 60
    }

    #[test]
    fn the_window_is_read_in_china_time_and_may_cross_midnight() {
        assert_eq!(time::OffsetDateTime::from_unix_timestamp(MIDNIGHT_CHINA).unwrap().hour(), 16);
        let night: Window = "01:00-05:00".parse().unwrap();
        assert_eq!(night, Window::default());
        assert!(!night.contains(at(0, 59)));
        assert!(night.contains(at(1, 0)));
        assert!(night.contains(at(4, 59)));
        assert!(!night.contains(at(5, 0)));
        assert!(!night.contains(at(13, 0)));
        let late: Window = "22:30-06:00".parse().unwrap();
        assert!(late.contains(at(23, 0)) && late.contains(at(2, 0)) && late.contains(at(22, 30)));
        assert!(!late.contains(at(6, 0)) && !late.contains(at(12, 0)));
        assert_eq!(late.to_string(), "22:30-06:00");
    }

    #[test]
    fn a_malformed_window_is_refused_with_an_example() {
        for bad in ["", "1:00-5:00", "01:00", "25:00-05:00", "01:60-05:00", "01:00-01:00", "night"] {
            let e = bad.parse::<Window>().unwrap_err();
            assert!(e.to_string().contains("01:00-05:00"), "{bad}: {e}");
        }
    }

    fn situation(now: i64) -> Situation<'static> {
        Situation { running: "0.1.0", offered: "0.2.0", tried: &[], verified: true, busy: false, now }
    }

    #[test]
    fn it_installs_only_when_verified_in_the_window_and_idle() {
        let w = Window::default();
        assert_eq!(decide(situation(at(2, 0)), w), Decision::Install);
        assert_eq!(decide(Situation { verified: false, ..situation(at(14, 0)) }, w), Decision::Fetch);
        assert_eq!(decide(situation(at(14, 0)), w), Decision::Wait("outside the update window"));
        assert_eq!(
            decide(Situation { busy: true, ..situation(at(2, 0)) }, w),
            Decision::Wait("the terminal is in use")
        );
        assert!(matches!(decide(Situation { offered: "0.1.0", ..situation(at(2, 0)) }, w), Decision::Ignore(_)));
        let tried = ["0.2.0".to_owned()];
        assert!(matches!(decide(Situation { tried: &tried, ..situation(at(2, 0)) }, w), Decision::Ignore(_)));
    }

    #[test]
    fn the_new_version_must_report_itself_healthy_before_the_deadline() {
        let ok = Health { version: "0.2.0".into(), ok: true, reason: None, at: 5 };
        assert_eq!(verdict("0.2.0", Some(&ok), 10, 100), Verdict::Healthy);
        let old = Health { version: "0.1.0".into(), ..ok.clone() };
        assert_eq!(verdict("0.2.0", Some(&old), 10, 100), Verdict::Waiting, "the old version's report does not count");
        assert_eq!(verdict("0.2.0", None, 10, 100), Verdict::Waiting);
        let Verdict::Failed(why) = verdict("0.2.0", None, 100, 100) else { panic!() };
        assert_eq!(why, "no health report from 0.2.0 within 100 s of starting it");
        let sick = Health { ok: false, reason: Some("printer: missing".into()), ..ok };
        assert_eq!(
            verdict("0.2.0", Some(&sick), 10, 100),
            Verdict::Failed("self-test failed: printer: missing".into())
        );
    }

    #[test]
    fn the_self_test_fails_on_what_the_update_broke_not_on_what_was_broken_before() {
        let faults = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(self_test_gaps(true, true, &[], &[]).is_empty());
        assert_eq!(
            self_test_gaps(false, false, &[], &[]),
            ["the home screen was not shown", "central did not accept a heartbeat"]
        );
        // The camera was missing before the update: not the new version's doing.
        let before = faults(&["camera: missing"]);
        assert!(self_test_gaps(true, true, &faults(&["camera: missing"]), &before).is_empty());
        // The reader went missing with the new version; the camera still counts only once.
        assert_eq!(
            self_test_gaps(true, true, &faults(&["reader: missing", "camera: missing"]), &before),
            ["reader: missing"]
        );
        // A fault that changed kind is new.
        assert_eq!(
            self_test_gaps(true, true, &faults(&["camera: error(\"busy\")"]), &before),
            ["camera: error(\"busy\")"]
        );
        // Nothing excuses the home screen or central.
        assert_eq!(self_test_gaps(false, true, &[], &before), ["the home screen was not shown"]);
    }

    #[test]
    fn a_power_cut_after_anything_was_installed_ends_on_the_saved_version() {
        assert_eq!(at_boot(None), BootAction::Nothing);
        assert_eq!(at_boot(Some(Phase::Saving)), BootAction::Abandon);
        for phase in [Phase::Installing, Phase::Verifying, Phase::RollingBack] {
            assert!(matches!(at_boot(Some(phase)), BootAction::RollBack(_)), "{phase:?}");
        }
    }
}
