//! The camera behind the runtime's `FaceCamera` seam: a `camera::CaptureSession` with the
//! head-turn challenge runs on a blocking thread over the camera crate's watchdog
//! (`WatchedCamera`), so a hung or unplugged camera ends the capture instead of hanging it;
//! guidance reaches the core when it changes, preview frames go to the screen, and the
//! portrait ends the capture.

use super::{BoxFuture, FaceCamera, ScreenSink};
use camera::{
    CameraEvent, CaptureConfig, CaptureError, CaptureOutcome, CaptureProgress, CaptureSession, FrameAnalysis,
    FrameSource, Hint, LivenessChallenge, WatchdogConfig, WatchedCamera,
};
use session::{CaptureHint, Device, Event, FaceCapture, FaceHint, Health, LivenessPrompt, Problem, Ticket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Opens the frame source for a capture or a probe (called on the thread that reads it).
pub type SourceOpener = Arc<dyn Fn() -> Result<Box<dyn FrameSource>, CaptureError> + Send + Sync>;

/// How often a capture looks up from waiting for a frame to see whether it was cancelled.
const CANCEL_CHECK: Duration = Duration::from_millis(100);

/// The camera's guidance code for the current frame as the screen words it. Left and
/// right are the citizen's own: a face on the right of the camera's picture belongs to
/// someone standing too far to their left, who must move to their right.
pub fn face_hint(hint: Hint, analysis: &FrameAnalysis) -> FaceHint {
    match hint {
        Hint::NoFace => FaceHint::NoFace,
        Hint::MultipleFaces => FaceHint::MultipleFaces,
        Hint::MoveCloser => FaceHint::MoveCloser,
        Hint::MoveBack => FaceHint::MoveBack,
        Hint::CenterFace => match analysis.face_box {
            Some([x, _, w, _]) if x + w / 2.0 > analysis.width as f32 / 2.0 => FaceHint::MoveRight,
            _ => FaceHint::MoveLeft,
        },
        Hint::TurnToCamera => FaceHint::LookStraight,
        Hint::TooDark => FaceHint::TooDark,
        Hint::TooBright => FaceHint::TooBright,
        Hint::Blurry => FaceHint::Blurry,
        Hint::HoldStill => FaceHint::HoldStill,
    }
}

/// Guidance for one frame: the most important hint, the liveness step, the last seconds.
pub fn guidance(progress: &CaptureProgress) -> CaptureHint {
    let liveness = match progress.liveness_prompt {
        Some(camera::LivenessPrompt::TurnLeft) => Some(LivenessPrompt::TurnHeadLeft),
        Some(camera::LivenessPrompt::TurnRight) => Some(LivenessPrompt::TurnHeadRight),
        Some(camera::LivenessPrompt::LookAtCamera | camera::LivenessPrompt::Done) | None => None,
    };
    let guide = match progress.hints.first() {
        Some(hint) => face_hint(*hint, &progress.analysis),
        None if progress.liveness_prompt == Some(camera::LivenessPrompt::LookAtCamera) => FaceHint::LookStraight,
        None => FaceHint::Good,
    };
    let left = progress.remaining.as_secs_f32().ceil();
    let countdown = (left <= 5.0).then_some(left as u8);
    CaptureHint { guide, countdown, liveness }
}

/// The capture settings the services use: the head-turn challenge (the camera's model
/// sees no eyes, so there is no blink challenge).
pub fn capture_config() -> CaptureConfig {
    CaptureConfig { liveness: LivenessChallenge::Turn, ..CaptureConfig::default() }
}

/// The camera's account of the liveness challenge, whole, as the central service
/// receives it: the one place camera evidence becomes contract evidence.
pub fn evidence(outcome: &CaptureOutcome) -> contract::LivenessEvidence {
    let l = &outcome.liveness;
    let steps: Vec<contract::LivenessStep> = l
        .steps
        .iter()
        .filter(|(p, _)| *p != camera::LivenessPrompt::Done)
        .map(|(p, at)| contract::LivenessStep {
            step: match p {
                camera::LivenessPrompt::LookAtCamera => "look_at_camera",
                camera::LivenessPrompt::TurnLeft => "turn_left",
                camera::LivenessPrompt::TurnRight => "turn_right",
                camera::LivenessPrompt::Done => "done",
            }
            .to_owned(),
            at_ms: u64::try_from(at.as_millis()).unwrap_or(u64::MAX),
        })
        .collect();
    contract::LivenessEvidence {
        method: match l.challenge {
            LivenessChallenge::Turn => "head_turn",
            LivenessChallenge::None => "none",
        }
        .to_owned(),
        // The turn challenge has three steps: look, turn left, turn right.
        score: (steps.len() as f64 / 3.0).min(1.0),
        passed: l.passed,
        frames: l.frames_observed,
        max_left_yaw_deg: l.max_left_yaw_deg,
        max_right_yaw_deg: l.max_right_yaw_deg,
        steps,
        continuity_breaks: l.continuity_breaks,
        summary: l.summary.chars().take(200).collect(),
        portrait_score: Some(outcome.score),
    }
}

/// A real capture session over any frame source.
#[derive(Clone)]
pub struct DriverCamera {
    open: SourceOpener,
    config: CaptureConfig,
    /// How long a capture waits for a frame before it calls the camera gone.
    watchdog: WatchdogConfig,
    /// Last health reported, so a probe knows whether the camera needs looking at.
    faulted: Arc<AtomicBool>,
    /// Held by the running capture: a new one waits for a cancelled one to let go of
    /// the device.
    busy: Arc<Mutex<()>>,
    /// Whether the device is there, without opening it (an open starts the stream and
    /// lights the camera's LED): lets an unplug be seen while nobody uses the camera.
    present: Option<Presence>,
}

/// Looks for the camera without opening it (its device node, for V4L2).
pub type Presence = Arc<dyn Fn() -> bool + Send + Sync>;

impl std::fmt::Debug for DriverCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverCamera").field("faulted", &self.faulted.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

impl DriverCamera {
    pub fn new(open: SourceOpener, config: CaptureConfig) -> Self {
        Self {
            open,
            config,
            watchdog: WatchdogConfig::default(),
            faulted: Arc::new(AtomicBool::new(false)),
            busy: Arc::new(Mutex::new(())),
            present: None,
        }
    }

    /// With a way to see the camera is gone while it is not in use.
    #[must_use]
    pub fn with_presence(mut self, present: Presence) -> Self {
        self.present = Some(present);
        self
    }

    /// The production camera (V4L2 through nokhwa): `device` is an index or a path.
    pub fn v4l(device: String) -> Self {
        let node = camera::device_node(&device);
        let request = camera::CameraRequest { device, ..camera::CameraRequest::default() };
        let camera = Self::new(Arc::new(move || camera::open_camera(&request)), capture_config());
        match node {
            Some(node) => camera.with_presence(Arc::new(move || node.exists())),
            None => camera,
        }
    }

    /// Opens the source once to see whether the camera is there; reports a change.
    pub fn probe(&self, events: &mpsc::Sender<Event>) -> bool {
        let ok = match (self.open)() {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(error = %e, "camera probe failed");
                false
            }
        };
        self.report(events, if ok { Health::Ok } else { Health::Problem(Problem::Missing) });
        ok
    }

    /// Probes at start and then, while the camera is faulted (no capture can run then),
    /// every `interval` until it answers again. While it is healthy, its presence is
    /// looked at every `interval` (where the camera can tell without being opened), so
    /// an unplug is on the start screen before a citizen picks a face service.
    pub async fn watch_health(self, interval: Duration, events: mpsc::Sender<Event>) -> Result<(), String> {
        let mut first = true;
        loop {
            if first || self.faulted.load(Ordering::SeqCst) {
                let this = self.clone();
                let tx = events.clone();
                tokio::task::spawn_blocking(move || this.probe(&tx)).await.map_err(|e| e.to_string())?;
                first = false;
            } else if let Some(present) = &self.present
                && !present()
            {
                tracing::warn!("camera gone (its device node disappeared)");
                let (this, tx) = (self.clone(), events.clone());
                tokio::task::spawn_blocking(move || this.report(&tx, Health::Problem(Problem::Missing)))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = events.closed() => return Ok(()),
            }
        }
    }

    fn report(&self, events: &mpsc::Sender<Event>, health: Health) {
        let faulted = health != Health::Ok;
        if self.faulted.swap(faulted, Ordering::SeqCst) != faulted || faulted {
            let _ = events.blocking_send(Event::DeviceHealth { device: Device::Camera, health });
        }
    }

    /// One capture on the calling (blocking) thread until done, failed or `cancel`led.
    fn run(&self, ticket: Ticket, events: &mpsc::Sender<Event>, screen: &dyn ScreenSink, cancel: &AtomicBool) {
        let send = |event| {
            let _ = events.blocking_send(event);
        };
        let fail = |reason: &str| send(Event::Captured { ticket, result: Err(reason.to_owned()) });
        let _device = self.busy.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cancel.load(Ordering::SeqCst) {
            return;
        }
        let open = Arc::clone(&self.open);
        let camera = WatchedCamera::start("camera", Box::new(move || open()), self.watchdog);
        // The camera is there once it delivers a frame (or ends: a source with no frames).
        let mut ended = false;
        loop {
            if cancel.load(Ordering::SeqCst) {
                return;
            }
            match camera.next_event(CANCEL_CHECK) {
                Some(CameraEvent::Online | CameraEvent::Frame(_)) => break,
                Some(CameraEvent::Ended) => {
                    ended = true;
                    break;
                }
                Some(CameraEvent::Offline { reason }) => {
                    tracing::warn!(%reason, "camera could not be opened");
                    self.report(events, Health::Problem(Problem::Missing));
                    return fail("camera not available");
                }
                None => {}
            }
        }
        self.report(events, Health::Ok);
        let mut session = match CaptureSession::new(self.config.clone()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "face analysis could not start");
                self.report(events, Health::Problem(Problem::Error(e.to_string())));
                return fail("face analysis unavailable");
            }
        };
        let started = Instant::now();
        let mut shown: Option<CaptureHint> = None;
        while !ended && started.elapsed() < self.config.duration {
            if cancel.load(Ordering::SeqCst) {
                return;
            }
            let progress = match camera.next_event(CANCEL_CHECK) {
                Some(CameraEvent::Frame(frame)) => session.push(frame, started.elapsed()),
                Some(CameraEvent::Online) | None => continue,
                Some(CameraEvent::Ended) => break,
                // Unplugged, failing or hung (no frame within the watchdog's stall timeout).
                Some(CameraEvent::Offline { reason }) => {
                    tracing::warn!(%reason, "camera failed during capture");
                    self.report(events, Health::Problem(Problem::Missing));
                    return fail("the camera stopped working");
                }
            };
            screen.frame(progress.preview.clone());
            let hint = guidance(&progress);
            if shown != Some(hint) {
                shown = Some(hint);
                send(Event::CaptureHint { ticket, hint });
            }
            if progress.done {
                break;
            }
        }
        if cancel.load(Ordering::SeqCst) {
            return;
        }
        let liveness_required = self.config.liveness != LivenessChallenge::None;
        let result = match session.finish() {
            Ok(outcome) if liveness_required && !outcome.liveness.passed => {
                tracing::info!(summary = %outcome.liveness.summary, "liveness check failed");
                Err("liveness check failed".to_owned())
            }
            Ok(outcome) => {
                let liveness = evidence(&outcome);
                Ok(FaceCapture { jpeg: outcome.portrait_jpeg, liveness })
            }
            Err(CaptureError::NoAcceptableFrame { last_hints }) => {
                let hints: Vec<&str> = last_hints.iter().map(|h| h.code()).collect();
                tracing::info!(?hints, "no acceptable face");
                Err("no face found".to_owned())
            }
            Err(e) => {
                tracing::warn!(error = %e, "portrait could not be made");
                Err(e.to_string())
            }
        };
        send(Event::Captured { ticket, result });
    }
}

/// Tells the capture thread to stop when the runtime drops the capture (`StopCapture`).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl FaceCamera for DriverCamera {
    fn capture(&self, ticket: Ticket, events: mpsc::Sender<Event>, screen: Arc<dyn ScreenSink>) -> BoxFuture<()> {
        let this = self.clone();
        Box::pin(async move {
            let cancel = Arc::new(AtomicBool::new(false));
            let guard = CancelOnDrop(cancel.clone());
            let _ = tokio::task::spawn_blocking(move || this.run(ticket, &events, screen.as_ref(), &cancel)).await;
            drop(guard);
        })
    }
}

#[cfg(test)]
mod tests;
