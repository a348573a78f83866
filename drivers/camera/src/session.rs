//! The capture session, sans-IO: the caller pushes frames with the time, the session
//! answers with guidance and keeps only the best frame; `finish` crops and encodes it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use image::imageops::{self, FilterType};
use serde::Serialize;

use crate::analysis::{FaceAnalyzer, FaceBox, FrameAnalysis, Hint, QualityConfig};
use crate::liveness::{LivenessChallenge, LivenessConfig, LivenessEvidence, LivenessPrompt, LivenessTracker};
use crate::{CaptureError, Frame, FrameSource};

/// How a capture runs.
#[derive(Debug, Clone)]
pub struct CaptureConfig {
    /// Give up after this long.
    pub duration: Duration,
    pub quality: QualityConfig,
    pub liveness: LivenessChallenge,
    pub liveness_config: LivenessConfig,
    /// JPEG quality to start from (lowered until the portrait fits `max_jpeg_bytes`).
    pub jpeg_quality: u8,
    pub max_jpeg_bytes: usize,
    /// Portrait height in pixels (width is 3/4 of it).
    pub portrait_height: u32,
    /// Width of the preview image for the screen.
    pub preview_width: u32,
    /// The face may move at most this fraction of its width between frames.
    pub hold_still_fraction: f32,
    /// Stop early after this many acceptable frames (once liveness is done).
    pub enough_good_frames: u32,
    /// Write per-frame analyses and the portrait here (nothing is written otherwise).
    pub debug_dir: Option<PathBuf>,
}

impl Default for CaptureConfig {
    fn default() -> Self {
        Self {
            duration: Duration::from_secs(20),
            quality: QualityConfig::default(),
            liveness: LivenessChallenge::None,
            liveness_config: LivenessConfig::default(),
            jpeg_quality: 90,
            max_jpeg_bytes: 100_000,
            portrait_height: 640,
            preview_width: 160,
            hold_still_fraction: 0.08,
            enough_good_frames: 5,
            debug_dir: None,
        }
    }
}

/// A small RGB picture for the screen, with the face box in its coordinates.
#[derive(Clone)]
pub struct Preview {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    pub face_box: Option<[f32; 4]>,
}

/// Never the pixels: they are a face.
impl std::fmt::Debug for Preview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Preview({}x{}, face {:?})", self.width, self.height, self.face_box)
    }
}

/// What the UI shows after each frame.
#[derive(Debug, Clone)]
pub struct CaptureProgress {
    /// What to tell the person now (empty when this frame was good).
    pub hints: Vec<Hint>,
    pub accepted: bool,
    pub best_score: Option<f32>,
    pub liveness_prompt: Option<LivenessPrompt>,
    pub liveness_passed: bool,
    pub remaining: Duration,
    /// Enough good frames (and liveness done), or time is up: call `finish`.
    pub done: bool,
    pub preview: Preview,
    pub analysis: FrameAnalysis,
}

/// The result: one portrait and the evidence.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureOutcome {
    #[serde(skip)]
    pub portrait_jpeg: Vec<u8>,
    pub portrait_width: u32,
    pub portrait_height: u32,
    pub jpeg_quality: u8,
    pub score: f32,
    pub analysis: FrameAnalysis,
    pub liveness: LivenessEvidence,
    pub frames_seen: u32,
    pub good_frames: u32,
}

/// One face capture. Frames are consumed; only the best is kept until `finish`.
pub struct CaptureSession {
    config: CaptureConfig,
    analyzer: FaceAnalyzer,
    liveness: LivenessTracker,
    best: Option<(Frame, FrameAnalysis)>,
    last_face: Option<FaceBox>,
    last_hints: Vec<Hint>,
    frames_seen: u32,
    good_frames: u32,
    debug_log: Vec<String>,
}

impl std::fmt::Debug for CaptureSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureSession")
            .field("frames_seen", &self.frames_seen)
            .field("good_frames", &self.good_frames)
            .field("best_score", &self.best.as_ref().map(|b| b.1.score))
            .finish_non_exhaustive()
    }
}

impl CaptureSession {
    pub fn new(config: CaptureConfig) -> Result<Self, CaptureError> {
        let analyzer = FaceAnalyzer::new(config.quality.clone())?;
        let liveness = LivenessTracker::new(config.liveness, config.liveness_config);
        Ok(Self {
            config,
            analyzer,
            liveness,
            best: None,
            last_face: None,
            last_hints: vec![Hint::NoFace],
            frames_seen: 0,
            good_frames: 0,
            debug_log: Vec::new(),
        })
    }

    /// Analyses one frame taken `now` after the session started.
    pub fn push(&mut self, frame: Frame, now: Duration) -> CaptureProgress {
        self.frames_seen += 1;
        // Frames of one stream: unchanged parts need no new detection (see analyze_next).
        let mut analysis = self.analyzer.analyze_next(&frame);
        if let (Some(face), Some(prev)) = (analysis.main_face(), self.last_face) {
            let (cx, cy) = face.center();
            let (px, py) = prev.center();
            let moved = ((cx - px).powi(2) + (cy - py).powi(2)).sqrt() / face.w.max(1.0);
            if moved > self.config.hold_still_fraction {
                analysis.hints.push(Hint::HoldStill);
                analysis.accepted = false;
                analysis.score = analysis.score.min(0.5);
            }
        }
        self.last_face = analysis.main_face();
        self.liveness.observe(&analysis, now);
        if analysis.accepted {
            self.good_frames += 1;
        }
        let preview = preview(&frame, &analysis, self.config.preview_width);
        if self.config.debug_dir.is_some() {
            self.debug_log.push(serde_json::to_string(&analysis).unwrap_or_default());
        }
        if analysis.accepted && self.best.as_ref().is_none_or(|(_, b)| analysis.score > b.score) {
            // The previous best is dropped (and zeroed) here.
            self.best = Some((frame, analysis.clone()));
        }
        self.last_hints = analysis.hints.clone();
        let remaining = self.config.duration.saturating_sub(now);
        let liveness_ok = self.config.liveness == LivenessChallenge::None || self.liveness.passed();
        let done = remaining.is_zero() || (liveness_ok && self.good_frames >= self.config.enough_good_frames);
        CaptureProgress {
            hints: analysis.hints.clone(),
            accepted: analysis.accepted,
            best_score: self.best.as_ref().map(|b| b.1.score),
            liveness_prompt: self.liveness.prompt(),
            liveness_passed: self.liveness.passed(),
            remaining,
            done,
            preview,
            analysis,
        }
    }

    /// Crops and encodes the best frame. Fails when no frame passed every gate.
    pub fn finish(self) -> Result<CaptureOutcome, CaptureError> {
        let liveness = self.liveness.evidence();
        let Some((frame, analysis)) = self.best else {
            return Err(CaptureError::NoAcceptableFrame { last_hints: self.last_hints });
        };
        let Some(face) = analysis.main_face() else {
            return Err(CaptureError::NoAcceptableFrame { last_hints: self.last_hints });
        };
        let crop = portrait_crop(&frame, &face, self.config.portrait_height);
        let (jpeg, quality) = encode_within(&crop, self.config.jpeg_quality, self.config.max_jpeg_bytes)?;
        let outcome = CaptureOutcome {
            portrait_width: crop.width(),
            portrait_height: crop.height(),
            portrait_jpeg: jpeg,
            jpeg_quality: quality,
            score: analysis.score,
            analysis,
            liveness,
            frames_seen: self.frames_seen,
            good_frames: self.good_frames,
        };
        if let Some(dir) = &self.config.debug_dir {
            write_debug(dir, &self.debug_log, &outcome)?;
        }
        Ok(outcome)
    }

    /// Convenience: pulls frames from `source` until done, reporting each step.
    /// Camera losses are waited out (the watchdog reopens); a source that ends stops it.
    pub fn run(
        mut self,
        source: &mut dyn FrameSource,
        mut on_progress: impl FnMut(&CaptureProgress),
    ) -> Result<CaptureOutcome, CaptureError> {
        let start = Instant::now();
        loop {
            let now = start.elapsed();
            if now >= self.config.duration {
                break;
            }
            match source.next_frame() {
                Ok(frame) => {
                    let p = self.push(frame, start.elapsed());
                    on_progress(&p);
                    if p.done {
                        break;
                    }
                }
                Err(CaptureError::EndOfStream) => break,
                Err(e @ (CaptureError::Stalled { .. } | CaptureError::Disconnected { .. })) => {
                    tracing::warn!(error = %e, "camera trouble during capture; waiting for it");
                    // A bare source may fail at once every call: do not spin.
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
        self.finish()
    }
}

fn preview(frame: &Frame, a: &FrameAnalysis, width: u32) -> Preview {
    let width = width.clamp(16, frame.width().max(16));
    let s = width as f32 / frame.width().max(1) as f32;
    let height = ((frame.height() as f32 * s).round() as u32).max(1);
    let small = imageops::resize(frame.image(), width, height, FilterType::Triangle);
    Preview {
        width,
        height,
        rgb: small.into_raw(),
        face_box: a.face_box.map(|b| [b[0] * s, b[1] * s, b[2] * s, b[3] * s]),
    }
}

/// A 3:4 head-and-shoulders crop around the face, kept inside the frame, scaled to
/// `height` (never enlarged).
pub fn portrait_crop(frame: &Frame, face: &FaceBox, height: u32) -> image::RgbImage {
    let (fw, fh) = (frame.width() as f32, frame.height() as f32);
    // Head and shoulders: about 2.4 face boxes tall, face in the upper middle.
    let mut ch = face.h * 2.4;
    let mut cw = ch * 3.0 / 4.0;
    let fit = (fw / cw).min(fh / ch).min(1.0);
    ch *= fit;
    cw *= fit;
    let (cx, _) = face.center();
    let x = (cx - cw / 2.0).clamp(0.0, (fw - cw).max(0.0));
    let y = (face.y - face.h * 0.55).clamp(0.0, (fh - ch).max(0.0));
    let crop = imageops::crop_imm(frame.image(), x as u32, y as u32, cw.max(1.0) as u32, ch.max(1.0) as u32).to_image();
    let out_h = height.min(crop.height()).max(4);
    let out_w = (out_h * 3 / 4).max(3);
    imageops::resize(&crop, out_w, out_h, FilterType::CatmullRom)
}

/// JPEG at `quality`, lowered step by step until it fits `max_bytes`.
pub fn encode_within(img: &image::RgbImage, quality: u8, max_bytes: usize) -> Result<(Vec<u8>, u8), CaptureError> {
    let mut q = quality.clamp(1, 100);
    let mut img = img.clone();
    loop {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
            .encode_image(&img)
            .map_err(|e| CaptureError::Encode(e.to_string()))?;
        if out.len() <= max_bytes {
            return Ok((out, q));
        }
        if q > 40 {
            q -= 10;
        } else if img.width() > 120 {
            img = imageops::resize(&img, img.width() * 3 / 4, img.height() * 3 / 4, FilterType::Triangle);
        } else {
            return Err(CaptureError::Encode(format!("portrait does not fit in {max_bytes} bytes")));
        }
    }
}

fn write_debug(dir: &std::path::Path, log: &[String], outcome: &CaptureOutcome) -> Result<(), CaptureError> {
    let io = |e| CaptureError::Io { path: dir.to_path_buf(), source: e };
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(dir.join("frames.jsonl"), log.join("\n")).map_err(io)?;
    std::fs::write(dir.join("portrait.jpg"), &outcome.portrait_jpeg).map_err(io)?;
    std::fs::write(dir.join("outcome.json"), serde_json::to_vec_pretty(outcome).unwrap_or_default()).map_err(io)?;
    Ok(())
}
