//! The camera behind the runtime's `FaceCamera` seam: a `camera::CaptureSession` with the
//! head-turn challenge runs on a blocking thread; guidance reaches the core when it
//! changes, preview frames go to the screen, and the portrait ends the capture.

use super::{BoxFuture, FaceCamera, ScreenSink};
use crate::session::{CaptureHint, Device, Event, FaceCapture, Health, Problem, Ticket};
use camera::{
    CaptureConfig, CaptureError, CaptureOutcome, CaptureProgress, CaptureSession, FrameAnalysis, FrameSource, Hint,
    LivenessChallenge, SyntheticSource, SyntheticStep,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use ui::model::{FaceHint, LivenessPrompt};

/// Opens the frame source for one capture (called on the capture's own thread).
pub type SourceOpener = Arc<dyn Fn() -> Result<Box<dyn FrameSource>, CaptureError> + Send + Sync>;

/// The synthetic test portrait the simulated camera "sees".
pub const TEST_FACE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata/faces/grace_hopper_512x512.jpg");

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

/// What goes to the central service as liveness evidence (`central::api::LivenessEvidence`
/// keys, plus the camera's own account of the challenge).
fn evidence(outcome: &CaptureOutcome) -> serde_json::Value {
    let l = &outcome.liveness;
    let steps = l.steps.iter().filter(|(p, _)| *p != camera::LivenessPrompt::Done).count();
    serde_json::json!({
        "method": "head_turn",
        "score": (steps as f64 / 3.0).min(1.0),
        "passed": l.passed,
        "frames": l.frames_observed,
        "continuity_breaks": l.continuity_breaks,
        "summary": l.summary,
        "portrait_score": outcome.score,
    })
}

/// A real capture session over any frame source.
#[derive(Clone)]
pub struct DriverCamera {
    open: SourceOpener,
    config: CaptureConfig,
    /// Last health reported, so a probe knows whether the camera needs looking at.
    faulted: Arc<AtomicBool>,
    /// Held by the running capture: a new one waits for a cancelled one to let go of
    /// the device.
    busy: Arc<Mutex<()>>,
}

impl std::fmt::Debug for DriverCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverCamera").field("faulted", &self.faulted.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

impl DriverCamera {
    pub fn new(open: SourceOpener, config: CaptureConfig) -> Self {
        Self { open, config, faulted: Arc::new(AtomicBool::new(false)), busy: Arc::new(Mutex::new(())) }
    }

    /// The production camera (V4L2 through nokhwa): `device` is an index or a path.
    pub fn v4l(device: String) -> Self {
        let request = camera::CameraRequest { device, ..camera::CameraRequest::default() };
        Self::new(Arc::new(move || camera::open_camera(&request)), capture_config())
    }

    /// The simulated camera: the test portrait looking at the camera, turning its head
    /// left, then right, then looking back, one picture every `pace`.
    pub fn simulated(pace: Duration) -> std::io::Result<Self> {
        let face = image::open(TEST_FACE).map_err(std::io::Error::other)?.to_rgb8();
        let script: Vec<SyntheticStep> = [0.0, 0.0, 0.0, -70.0, -70.0, -70.0, 70.0, 70.0, 70.0, 0.0]
            .into_iter()
            .map(|shift| SyntheticStep::Picture(turned(&face, shift)))
            .collect();
        let open: SourceOpener = Arc::new(move || {
            Ok(Box::new(SyntheticSource::new(script.clone()).repeating(true).paced(pace)) as Box<dyn FrameSource>)
        });
        Ok(Self::new(open, capture_config()))
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
    /// every `interval` until it answers again.
    pub async fn watch_health(self, interval: Duration, events: mpsc::Sender<Event>) -> Result<(), String> {
        let mut first = true;
        loop {
            if first || self.faulted.load(Ordering::SeqCst) {
                let this = self.clone();
                let tx = events.clone();
                tokio::task::spawn_blocking(move || this.probe(&tx)).await.map_err(|e| e.to_string())?;
                first = false;
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
        let mut source = match (self.open)() {
            Ok(source) => source,
            Err(e) => {
                tracing::warn!(error = %e, "camera could not be opened");
                self.report(events, Health::Problem(Problem::Missing));
                return fail("camera not available");
            }
        };
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
        while started.elapsed() < self.config.duration {
            if cancel.load(Ordering::SeqCst) {
                return;
            }
            let progress = match source.next_frame() {
                Ok(frame) => session.push(frame, started.elapsed()),
                Err(CaptureError::EndOfStream) => break,
                Err(e) => {
                    tracing::warn!(error = %e, source = %source.describe(), "camera failed during capture");
                    self.report(events, Health::Problem(Problem::Missing));
                    return fail("the camera stopped working");
                }
            };
            let p = &progress.preview;
            screen.frame(ui::model::Frame { width: p.width, height: p.height, rgb: p.rgb.clone() });
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

/// Fakes a head turn on a flat portrait: the middle of the face (nose, eyes) slides
/// sideways by up to `shift` px while the outline stays, as when a head rotates.
fn turned(src: &image::RgbImage, shift: f32) -> image::RgbImage {
    let (cx, cy, sigma) = (273.0f32, 206.0f32, 40.0f32); // the test portrait's nose
    let (w, h) = src.dimensions();
    image::RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let d = shift * (-(dx * dx + dy * dy) / (2.0 * sigma * sigma)).exp();
        let sx = (x as f32 - d).round().clamp(0.0, (w - 1) as f32) as u32;
        *src.get_pixel(sx, y)
    })
}

#[cfg(test)]
mod tests;
