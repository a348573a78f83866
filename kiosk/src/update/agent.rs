//! The terminal's side of a software update, as a task beside the others:
//!
//! 1. at start, reports what the installer did last (`result.json` -> an
//!    `update.installed` / `update.rolled_back` / `update.refused` event), then runs the
//!    start-up self-test the installer waits for (`health.json`);
//! 2. every `check_every`, asks central for an offer; checks the release signature
//!    against the key in the configuration before downloading, then the bytes against
//!    the signed manifest (anything wrong: `update.refused`, an alert at central, and
//!    that version is never tried again here);
//! 3. inside the update window with nobody at the screen, says `update.started` and
//!    writes `request.json`, which starts the root-side installer.

use super::plan::{self, Decision, Health, Situation, Window};
use super::spool::{self, Outcome, OutcomeKind, Request, Spool};
use crate::central_api::{CentralClient, CentralError};
use crate::outbox::sender::OutboxHandle;
use crate::renewal::Clock;
use crate::runtime::telemetry::Metrics;
use contract as api;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use tokio::sync::Notify;

/// How long the new version waits for the installer's outcome after its self-test
/// (the installer looks for the report four times a second and writes the outcome at
/// once, or rolls back, which stops this process).
const OUTCOME_WAIT: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
pub struct UpdateSettings {
    /// Operations' release key; `None`: this terminal takes no updates (said once at start).
    pub release_key: Option<ed25519_dalek::VerifyingKey>,
    pub window: Window,
    pub check_every: Duration,
    /// Inside the window, while the terminal is in use: how soon to look again.
    pub recheck_busy: Duration,
    /// Debian architecture of this build.
    pub architecture: String,
    /// The start-up self-test lets the devices settle this long before judging them...
    pub self_test_grace: Duration,
    /// ...and gives up (reporting what is missing) after this.
    pub self_test_limit: Duration,
}

impl UpdateSettings {
    pub fn new(release_key: Option<ed25519_dalek::VerifyingKey>, window: Window) -> Self {
        Self {
            release_key,
            window,
            check_every: Duration::from_secs(600),
            recheck_busy: Duration::from_secs(30),
            architecture: super::architecture().to_owned(),
            self_test_grace: Duration::from_secs(15),
            self_test_limit: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Central(#[from] CentralError),
    #[error(transparent)]
    Spool(#[from] spool::SpoolError),
    #[error("release {version} refused: {reason}")]
    Refused { version: String, reason: String },
}

/// What one look at central came to, for logs and tests.
#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    /// No release key configured, or central offers nothing.
    NothingOffered,
    Ignored(&'static str),
    Waiting(&'static str),
    /// The install was requested: the installer takes over.
    Requested(String),
}

pub struct Updater {
    central: CentralClient,
    spool: Spool,
    outbox: OutboxHandle,
    metrics: Arc<Metrics>,
    settings: UpdateSettings,
    clock: Clock,
    running: String,
    /// The release whose package is downloaded and checked.
    verified: Option<api::SignedRelease>,
}

impl Updater {
    pub fn new(
        central: CentralClient,
        spool: Spool,
        outbox: OutboxHandle,
        metrics: Arc<Metrics>,
        settings: UpdateSettings,
        clock: Clock,
    ) -> Self {
        Self {
            central,
            spool,
            outbox,
            metrics,
            settings,
            clock,
            running: super::running_version().to_owned(),
            verified: None,
        }
    }

    /// Pretends to run `version` (tests run several versions from one binary).
    pub fn running_as(mut self, version: &str) -> Self {
        version.clone_into(&mut self.running);
        self
    }

    pub async fn run(mut self, stop: Arc<Notify>) {
        if let Err(e) = self.report_last_outcome() {
            tracing::warn!(error = %e, "the last update's outcome could not be reported");
        }
        // This start is the new version of an update the installer is verifying.
        let verifying = self.request_for_running();
        let faults_before = verifying.as_ref().map(|r| r.faults_before.clone()).unwrap_or_default();
        let self_test = tokio::spawn(self_test(
            self.metrics.clone(),
            self.spool.clone(),
            self.running.clone(),
            faults_before,
            self.settings.clone(),
            self.clock.clone(),
        ));
        if self.settings.release_key.is_none() {
            tracing::info!("no [updates] release_key configured: this terminal takes no software updates");
            let _ = self_test.await;
            return;
        }
        if verifying.is_some() {
            // The installer decides on the self-test's report and writes its outcome
            // at once; ops see "installed" now, not at the next restart.
            let _ = self_test.await;
            self.report_outcome_when_written(&stop).await;
        } else {
            // The devices report in their first seconds: an install requested before
            // then would record too few faults for the new version's self-test to forgive.
            tokio::select! {
                () = tokio::time::sleep(self.settings.self_test_grace) => {}
                () = stop.notified() => return,
            }
        }
        loop {
            let wait = match self.check_once().await {
                Ok(Checked::Waiting(plan::IN_USE)) => self.settings.recheck_busy,
                Ok(Checked::Requested(version)) => {
                    tracing::info!(version, "update requested: the installer takes over");
                    return;
                }
                Ok(checked) => {
                    tracing::debug!(?checked, "update check");
                    self.settings.check_every
                }
                Err(e) => {
                    tracing::warn!(error = %e, "update check failed; trying again later");
                    self.settings.check_every
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.notified() => return,
            }
        }
    }

    fn tell(&self, kind: &str, severity: api::Severity, detail: String) {
        match self.outbox.lock().enqueue_event(kind, severity, Some(detail), crate::outbox::sender::now_ms()) {
            Ok(_) => self.outbox.wake.notify_one(),
            Err(e) => tracing::error!(kind, error = %e, "update event not stored"),
        }
    }

    /// Turns the installer's `result.json` into an event (through the outbox, so it
    /// reaches central even after a network outage), then removes it.
    pub fn report_last_outcome(&self) -> Result<Option<Outcome>, UpdateError> {
        let Some(outcome) = spool::read_json::<Outcome>(&self.spool.result())? else { return Ok(None) };
        let detail = api::update_detail(&outcome.version, outcome.reason.as_deref());
        match outcome.outcome {
            OutcomeKind::Installed => {
                tracing::info!(version = outcome.version, took_s = outcome.took_s, "update installed");
                self.tell(api::update_event::INSTALLED, api::Severity::Info, detail);
            }
            OutcomeKind::RolledBack | OutcomeKind::Refused => {
                let kind = if outcome.outcome == OutcomeKind::RolledBack {
                    api::update_event::ROLLED_BACK
                } else {
                    api::update_event::REFUSED
                };
                tracing::error!(kind, detail, "update not kept");
                self.spool.add_tried(&outcome.version)?;
                self.tell(kind, api::Severity::Error, detail);
            }
            OutcomeKind::Abandoned => tracing::warn!(detail, "update abandoned before installing; it is offered again"),
        }
        spool::remove(&self.spool.result())?;
        // Whatever was downloaded is installed or refused by now.
        if let Ok(entries) = std::fs::read_dir(self.spool.incoming()) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(Some(outcome))
    }

    /// The installer's pending request, when it is for the version running now.
    fn request_for_running(&self) -> Option<Request> {
        match spool::read_json::<Request>(&self.spool.request()) {
            Ok(Some(r)) if r.release.manifest.version == self.running => Some(r),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "update request unreadable");
                None
            }
        }
    }

    /// Waits (a bounded while: a dead installer's outcome is reported at the next
    /// start instead) for the installer's outcome of this version, and reports it.
    async fn report_outcome_when_written(&self, stop: &Notify) {
        let give_up = tokio::time::Instant::now() + OUTCOME_WAIT;
        while !self.spool.result().exists() && tokio::time::Instant::now() < give_up {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(250)) => {}
                () = stop.notified() => return,
            }
        }
        if let Err(e) = self.report_last_outcome() {
            tracing::warn!(error = %e, "the update's outcome could not be reported");
        }
    }

    /// One look at central's offer, and whatever it leads to.
    pub async fn check_once(&mut self) -> Result<Checked, UpdateError> {
        let Some(key) = self.settings.release_key else { return Ok(Checked::NothingOffered) };
        let Some(offer) = self.central.update_offer(&self.settings.architecture).await? else {
            return Ok(Checked::NothingOffered);
        };
        let version = offer.release.manifest.version.clone();
        loop {
            let tried = self.spool.tried_versions();
            let situation = Situation {
                running: &self.running,
                offered: &version,
                tried: &tried,
                verified: self.verified.as_ref() == Some(&offer.release),
                busy: self.metrics.busy.load(Relaxed),
                now: (self.clock)(),
            };
            match plan::decide(situation, self.settings.window) {
                Decision::Ignore(why) => return Ok(Checked::Ignored(why)),
                Decision::Wait(why) => return Ok(Checked::Waiting(why)),
                Decision::Fetch => match self.fetch(&offer, &key).await {
                    Ok(()) => self.verified = Some(offer.release.clone()),
                    Err(UpdateError::Refused { version, reason }) => {
                        tracing::error!(version, reason, "update refused");
                        self.spool.add_tried(&version)?;
                        self.tell(
                            api::update_event::REFUSED,
                            api::Severity::Error,
                            api::update_detail(&version, Some(&reason)),
                        );
                        return Err(UpdateError::Refused { version, reason });
                    }
                    Err(e) => return Err(e),
                },
                Decision::Install => {
                    self.request_install(&offer.release)?;
                    return Ok(Checked::Requested(version));
                }
            }
        }
    }

    /// Checks the signature first (nothing is downloaded for a release the key did not
    /// sign), then downloads and checks the bytes.
    async fn fetch(&self, offer: &api::UpdateOffer, key: &ed25519_dalek::VerifyingKey) -> Result<(), UpdateError> {
        let m = &offer.release.manifest;
        let refused = |reason: String| UpdateError::Refused { version: m.version.clone(), reason };
        api::verify_release(&offer.release, key, "kiosk", &self.settings.architecture)
            .map_err(|e| refused(e.to_string()))?;
        let dest = self.spool.package(&m.sha256);
        let expected = format!("{}/{}", api::paths::UPDATE_PACKAGES, m.sha256);
        if offer.download_path != expected {
            return Err(refused(format!("download path {:?} is not {expected}", offer.download_path)));
        }
        let (sha256, size) = self.central.download_package(&offer.download_path, &dest, m.size).await?;
        if let Err(e) = api::check_package(m, &sha256, size) {
            let _ = std::fs::remove_file(&dest);
            return Err(refused(e.to_string()));
        }
        tracing::info!(version = m.version, size, "update downloaded and verified");
        Ok(())
    }

    /// Says `update.started` (delivered before the installer stops this process, when
    /// central can be reached within a few seconds), then writes the request.
    fn request_install(&self, release: &api::SignedRelease) -> Result<(), UpdateError> {
        let version = &release.manifest.version;
        self.tell(api::update_event::STARTED, api::Severity::Info, api::update_detail(version, None));
        let request = Request {
            release: release.clone(),
            package_file: format!("{}.deb", release.manifest.sha256),
            running: self.running.clone(),
            requested_at: (self.clock)(),
            faults_before: device_faults(&self.metrics),
        };
        // The self-test of this start must not be taken for the new version's.
        spool::remove(&self.spool.health())?;
        spool::write_json(&self.spool.request(), &request)?;
        Ok(())
    }
}

/// The start-up self-test the installer waits for after a restart: the home screen
/// shown, central reached (a heartbeat accepted), and no device missing or failing.
/// Paper and cover states do not fail it: they are the hall's to fix, not the
/// software's. Written to `health.json` once decided.
pub async fn self_test(
    metrics: Arc<Metrics>,
    spool: Spool,
    version: String,
    faults_before: Vec<String>,
    s: UpdateSettings,
    clock: Clock,
) -> Health {
    tokio::time::sleep(s.self_test_grace).await;
    let started = tokio::time::Instant::now();
    let health = loop {
        let faults = device_faults(&metrics);
        let missing = plan::self_test_gaps(
            metrics.home_shown.load(Relaxed),
            metrics.heartbeat_accepted.load(Relaxed),
            &faults,
            &faults_before,
        );
        if missing.is_empty() {
            if !faults.is_empty() {
                tracing::warn!(faults = faults.join("; "), "passed with the device faults it had before the update");
            }
            break Health { version: version.clone(), ok: true, reason: None, at: clock() };
        }
        if started.elapsed() + s.self_test_grace >= s.self_test_limit {
            break Health { version: version.clone(), ok: false, reason: Some(missing.join("; ")), at: clock() };
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    match spool::write_json(&spool.health(), &health) {
        Ok(()) if health.ok => tracing::info!(version, "start-up self-test passed"),
        Ok(()) => tracing::error!(version, reason = health.reason, "start-up self-test failed"),
        Err(e) => tracing::error!(error = %e, "start-up self-test result not written"),
    }
    health
}

/// The devices missing or failing now, as the dashboard words them (`"camera: missing"`).
fn device_faults(metrics: &Metrics) -> Vec<String> {
    let devices = metrics.devices();
    [session::Device::Reader, session::Device::Printer, session::Device::Camera, session::Device::Storage]
        .into_iter()
        .filter_map(|device| match devices.health(device) {
            Some(session::Health::Problem(p @ (session::Problem::Missing | session::Problem::Error(_)))) => {
                Some(format!("{device:?}: {p:?}").to_lowercase())
            }
            _ => None,
        })
        .collect()
}
