//! Real cameras through nokhwa's V4L2 backend: list, open by index or device path with a
//! requested resolution and frame rate, and decode MJPEG / YUYV with our own decoders.

use std::path::Path;
use std::time::{Duration, Instant};

use nokhwa::pixel_format::RgbFormat;
use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType, Resolution,
};

use crate::frame::{decode_mjpeg, decode_yuyv};
use crate::{CameraInfo, CameraRequest, CaptureError, Frame, FrameSource};

/// Every V4L2 camera the system knows.
pub fn list_cameras() -> Result<Vec<CameraInfo>, CaptureError> {
    let found = nokhwa::query(ApiBackend::Video4Linux).map_err(|e| CaptureError::Backend(e.to_string()))?;
    Ok(found
        .into_iter()
        .map(|c| {
            let index = c.index().as_index().unwrap_or(u32::MAX);
            CameraInfo {
                index,
                path: format!("/dev/video{index}"),
                name: c.human_name(),
                description: c.description().to_owned(),
            }
        })
        .collect())
}

/// Turns "0", "/dev/video0" or a udev symlink (/dev/v4l/by-id/...) into a V4L2 index.
pub fn device_index(device: &str) -> Result<u32, CaptureError> {
    if let Ok(n) = device.parse::<u32>() {
        return Ok(n);
    }
    let resolved =
        std::fs::canonicalize(Path::new(device)).map_err(|_| CaptureError::NoCamera { device: device.to_owned() })?;
    resolved
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("video"))
        .and_then(|n| n.parse().ok())
        .ok_or(CaptureError::NoCamera { device: device.to_owned() })
}

/// A V4L2 camera read through nokhwa.
pub struct NokhwaSource {
    camera: nokhwa::Camera,
    device: String,
    started: Instant,
    sequence: u64,
}

impl std::fmt::Debug for NokhwaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NokhwaSource").field("device", &self.device).finish_non_exhaustive()
    }
}

impl NokhwaSource {
    /// Opens the camera and starts streaming at the closest format to the request.
    pub fn open(request: &CameraRequest) -> Result<Self, CaptureError> {
        let index = device_index(&request.device)?;
        if !Path::new(&format!("/dev/video{index}")).exists() {
            return Err(CaptureError::NoCamera { device: request.device.clone() });
        }
        let fourcc = if request.prefer_yuyv { FrameFormat::YUYV } else { FrameFormat::MJPEG };
        let wanted = CameraFormat::new(Resolution::new(request.width, request.height), fourcc, request.fps);
        let format = RequestedFormat::new::<RgbFormat>(RequestedFormatType::Closest(wanted));
        let mut camera = nokhwa::Camera::with_backend(CameraIndex::Index(index), format, ApiBackend::Video4Linux)
            .map_err(|e| CaptureError::Backend(format!("{}: {e}", request.device)))?;
        camera.open_stream().map_err(|e| CaptureError::Backend(format!("{}: {e}", request.device)))?;
        tracing::info!(device = %request.device, format = %camera.camera_format(), "camera stream open");
        Ok(Self { camera, device: request.device.clone(), started: Instant::now(), sequence: 0 })
    }
}

impl FrameSource for NokhwaSource {
    fn next_frame(&mut self) -> Result<Frame, CaptureError> {
        let buf =
            self.camera.frame().map_err(|e| CaptureError::Disconnected { device: format!("{}: {e}", self.device) })?;
        let res = buf.resolution();
        let image = match buf.source_frame_format() {
            FrameFormat::MJPEG => decode_mjpeg(buf.buffer())?,
            FrameFormat::YUYV => decode_yuyv(res.width(), res.height(), buf.buffer())?,
            other => {
                // Anything else (NV12, GRAY, raw RGB): nokhwa's own decoder handles it.
                let _ = other;
                buf.decode_image::<RgbFormat>().map_err(|e| CaptureError::Decode(e.to_string()))?
            }
        };
        let at: Duration = self.started.elapsed();
        let f = Frame::new(image, self.sequence, at);
        self.sequence += 1;
        Ok(f)
    }

    fn describe(&self) -> String {
        format!("V4L2 camera {}", self.device)
    }
}
