//! Camera capture, on-device face analysis, quality gates, liveness and portrait encoding.
//!
//! Frames come from a [`FrameSource`] (a V4L2 camera through nokhwa, image files, or a
//! synthetic script), usually behind a [`WatchedCamera`] so a hung read never hangs the
//! kiosk; a lost camera is reopened through the drivers' shared [`device_link::Reopening`]. A [`CaptureSession`] is fed frames and time and returns guidance; its
//! `finish` gives one 3:4 JPEG portrait plus liveness evidence.

mod analysis;
mod detect;
mod frame;
mod liveness;
mod session;
mod source;
mod track;
#[cfg(feature = "v4l")]
mod v4l;
mod watchdog;

use std::path::PathBuf;
use std::time::Duration;

pub use analysis::{
    FaceAnalyzer, FaceBox, FrameAnalysis, Hint, QualityConfig, grade, laplacian_variance, yaw_estimate,
};
pub use frame::{Frame, decode_mjpeg, decode_yuyv};
pub use liveness::{LivenessChallenge, LivenessConfig, LivenessEvidence, LivenessPrompt, LivenessTracker};
pub use session::{
    CaptureConfig, CaptureOutcome, CaptureProgress, CaptureSession, Preview, encode_within, portrait_crop,
};
pub use source::{CameraPlug, FrameSource, ImageSource, SyntheticSource, SyntheticStep, head_turn};
pub use track::StreamCounts;
#[cfg(feature = "v4l")]
pub use v4l::{NokhwaSource, device_index, list_cameras};
pub use watchdog::{CameraEvent, SourceOpener, WatchdogConfig, WatchedCamera};

/// What went wrong, in terms a technician can act on.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("no camera at {device}: check the USB cable and that a /dev/video* device exists")]
    NoCamera { device: String },
    #[error("camera {device} disconnected")]
    Disconnected { device: String },
    #[error("camera {device} delivered no frame for {} ms", after.as_millis())]
    Stalled { device: String, after: Duration },
    #[error("bad frame: {reason}")]
    BadFrame { reason: &'static str },
    #[error("could not decode frame: {0}")]
    Decode(String),
    #[error("camera backend: {0}")]
    Backend(String),
    #[error("no more frames")]
    EndOfStream,
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("face model: {0}")]
    Model(String),
    #[error("could not encode portrait: {0}")]
    Encode(String),
    #[error("no frame passed the quality gates (last hints: {})", last_hints.iter().map(|h| h.code()).collect::<Vec<_>>().join(", "))]
    NoAcceptableFrame { last_hints: Vec<Hint> },
    #[error("camera support (feature v4l) is not built in")]
    Unsupported,
}

/// A camera that is missing, unplugged, hung or failing in its driver is gone and must be
/// reopened; a bad frame, the end of a file source, or a face-analysis error is not.
impl device_link::DeviceError for CaptureError {
    fn is_gone(&self) -> bool {
        matches!(
            self,
            CaptureError::NoCamera { .. }
                | CaptureError::Disconnected { .. }
                | CaptureError::Stalled { .. }
                | CaptureError::Io { .. }
                | CaptureError::Backend(_)
        )
    }
}

/// A camera the system knows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CameraInfo {
    pub index: u32,
    pub path: String,
    pub name: String,
    pub description: String,
}

/// Which camera to open and how.
#[derive(Debug, Clone)]
pub struct CameraRequest {
    /// Index ("0") or device path ("/dev/video0", "/dev/v4l/by-id/...").
    pub device: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Ask for YUYV instead of MJPEG.
    pub prefer_yuyv: bool,
}

impl Default for CameraRequest {
    fn default() -> Self {
        Self { device: "0".into(), width: 640, height: 480, fps: 30, prefer_yuyv: false }
    }
}

/// Opens a real camera (V4L2 through nokhwa).
pub fn open_camera(request: &CameraRequest) -> Result<Box<dyn FrameSource>, CaptureError> {
    #[cfg(feature = "v4l")]
    {
        Ok(Box::new(v4l::NokhwaSource::open(request)?))
    }
    #[cfg(not(feature = "v4l"))]
    {
        let _ = request;
        Err(CaptureError::Unsupported)
    }
}

/// The device node a camera request names (`0` is `/dev/video0`; a path, such as a
/// udev `/dev/v4l/by-id/...` link, is itself), to see whether the camera is plugged in
/// without opening it. None for a name that is neither.
pub fn device_node(device: &str) -> Option<std::path::PathBuf> {
    if let Ok(n) = device.parse::<u32>() {
        return Some(std::path::PathBuf::from(format!("/dev/video{n}")));
    }
    device.starts_with('/').then(|| std::path::PathBuf::from(device))
}

/// A real camera behind the watchdog: reopened automatically after an unplug.
pub fn watch_camera(request: CameraRequest, config: WatchdogConfig) -> WatchedCamera {
    let name = request.device.clone();
    WatchedCamera::start(name, Box::new(move || open_camera(&request)), config)
}
