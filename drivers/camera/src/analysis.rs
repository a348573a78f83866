//! Per-frame face analysis: SeetaFace detection (model from the `rustface` package) and the
//! ICAO-style quality gates, each failed gate giving one UI hint.

use std::sync::OnceLock;

use image::GrayImage;
use image::imageops::{self, FilterType};
use serde::Serialize;

use crate::detect::{DetectParams, FaceDetector, downscale};
use crate::track::{Step, StreamCounts, Tracker};
use crate::{CaptureError, Frame};

/// The SeetaFace frontal model, embedded from the resolved `rustface` package (see build.rs).
static SEETA_MODEL: &[u8] = include_bytes!(env!("CAMERA_SEETA_MODEL_PATH"));

/// Box width to eye distance: measured on the test portraits (SeetaFace boxes span about
/// 2.3 eye distances); only used because the model gives no landmarks.
const EYE_DISTANCE_PER_BOX_WIDTH: f32 = 0.43;

/// What the person should do next; one code per failed gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hint {
    NoFace,
    MultipleFaces,
    MoveCloser,
    MoveBack,
    CenterFace,
    TurnToCamera,
    TooDark,
    TooBright,
    Blurry,
    HoldStill,
}

impl Hint {
    /// The stable code the UI and the JSON output use.
    pub fn code(self) -> &'static str {
        match self {
            Hint::NoFace => "no_face",
            Hint::MultipleFaces => "multiple_faces",
            Hint::MoveCloser => "move_closer",
            Hint::MoveBack => "move_back",
            Hint::CenterFace => "center_face",
            Hint::TurnToCamera => "turn_to_camera",
            Hint::TooDark => "too_dark",
            Hint::TooBright => "too_bright",
            Hint::Blurry => "blurry",
            Hint::HoldStill => "hold_still",
        }
    }
}

/// Every threshold of the quality gates.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct QualityConfig {
    /// Smallest face (box width, frame pixels) searched for. The gates need faces down to
    /// about 70 px (half of an acceptable face, 60 px between the eyes, counts as a second
    /// person); smaller ones only turn "no face" into "move closer". The finest pyramid
    /// level shows a face this wide one SeetaFace window (40 px) wide, so the cost grows
    /// with (1 / this)^2. SeetaFace still finds most faces down to about 0.8 of it.
    pub min_face_px: u32,
    /// Scale between pyramid levels. SeetaFace's default is 0.8; 0.7 has a third fewer
    /// levels (and candidates to check) and still finds every face from `min_face_px` up
    /// on the test portraits and their derived cases.
    pub pyramid_step: f32,
    /// Window stride within a pyramid level, in that level's pixels (SeetaFace's default 4).
    pub window_step: u32,
    /// SeetaFace score below which a window is not a face.
    pub min_detection_score: f64,
    /// Other faces at least this fraction of the main face's width count as people.
    pub other_face_ratio: f32,
    /// ICAO: at least this many pixels between the eyes (estimated from the face box).
    pub min_eye_distance_px: f32,
    /// A head-and-shoulders crop needs the face box at most this fraction of frame height.
    pub max_face_height_fraction: f32,
    /// Face centre may be off the frame centre by this fraction of width/height.
    pub center_tolerance: f32,
    /// Near-frontal: the yaw estimate may be at most this many degrees.
    pub max_yaw_deg: f32,
    /// Mean face luma range (0..255).
    pub min_brightness: f32,
    pub max_brightness: f32,
    /// Variance of the Laplacian on the face at its own size (at most 256 px wide).
    pub min_sharpness: f32,
}

impl Default for QualityConfig {
    fn default() -> Self {
        Self {
            min_face_px: 64,
            pyramid_step: 0.7,
            window_step: 4,
            min_detection_score: 2.0,
            other_face_ratio: 0.5,
            min_eye_distance_px: 60.0,
            max_face_height_fraction: 0.6,
            center_tolerance: 0.2,
            max_yaw_deg: 20.0,
            min_brightness: 60.0,
            max_brightness: 210.0,
            min_sharpness: 60.0,
        }
    }
}

/// One detected face, in frame pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    /// Detector confidence (SeetaFace score; > 2 is a face).
    pub confidence: f32,
}

impl FaceBox {
    pub fn center(&self) -> (f32, f32) {
        (self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
}

/// Everything measured about one frame.
#[derive(Debug, Clone, Serialize)]
pub struct FrameAnalysis {
    /// Number of faces found: people at the kiosk, i.e. faces at least `other_face_ratio`
    /// of the largest one's width (smaller ones, far behind, are not searched for).
    pub faces: usize,
    /// True when every gate passed.
    pub accepted: bool,
    /// One hint per failed gate, most important first.
    pub hints: Vec<Hint>,
    /// Quality score 0..1 (higher is better), used to pick the best frame.
    pub score: f32,
    /// Estimated pixels between the eyes of the main face.
    pub eye_distance_px: Option<f32>,
    /// The main (largest) face as [x, y, w, h].
    #[serde(rename = "box")]
    pub face_box: Option<[f32; 4]>,
    /// Yaw estimate in degrees (negative: the face looks towards image left).
    pub yaw_deg: Option<f32>,
    /// Mean luma of the face.
    pub brightness: Option<f32>,
    /// Variance of the Laplacian on the normalised face.
    pub sharpness: Option<f32>,
    pub width: u32,
    pub height: u32,
    /// All faces found (as counted in `faces`), largest first.
    #[serde(skip)]
    pub all_faces: Vec<FaceBox>,
}

impl FrameAnalysis {
    /// The main face, if any.
    pub fn main_face(&self) -> Option<FaceBox> {
        self.all_faces.first().copied()
    }
}

/// Finds faces in frames and grades them against [`QualityConfig`].
pub struct FaceAnalyzer {
    detector: FaceDetector,
    config: QualityConfig,
    tracker: Tracker,
}

impl std::fmt::Debug for FaceAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceAnalyzer").field("config", &self.config).finish_non_exhaustive()
    }
}

fn model() -> Result<&'static rustface::Model, CaptureError> {
    static MODEL: OnceLock<Result<rustface::Model, String>> = OnceLock::new();
    MODEL
        .get_or_init(|| rustface::read_model(std::io::Cursor::new(SEETA_MODEL)).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| CaptureError::Model(e.clone()))
}

impl FaceAnalyzer {
    pub fn new(config: QualityConfig) -> Result<Self, CaptureError> {
        let detector = FaceDetector::new(model()?.clone())?;
        Ok(Self { detector, config, tracker: Tracker::default() })
    }

    pub fn config(&self) -> &QualityConfig {
        &self.config
    }

    /// Detects faces and applies every gate.
    pub fn analyze(&mut self, frame: &Frame) -> FrameAnalysis {
        let gray = frame.to_gray();
        let faces = self.detect(&gray);
        grade(&self.config, &gray, faces)
    }

    /// Like [`analyze`](Self::analyze) for the next frame of one camera stream: where
    /// nothing moved since the last full detection its faces are kept, and when only the
    /// main face moved it is looked for around where it was. A full detection runs when
    /// anything else moved and at least every few frames. The gates always run on the
    /// new frame.
    pub fn analyze_next(&mut self, frame: &Frame) -> FrameAnalysis {
        let gray = frame.to_gray();
        let faces = match self.tracker.plan(&gray) {
            Step::Same(faces) => {
                self.tracker.kept(&faces, false);
                faces
            }
            Step::Follow { region, main, others } => match self.follow(&gray, region, &main) {
                Some(found) => {
                    let mut faces = others;
                    faces.push(found);
                    faces.sort_by(|a, b| b.w.total_cmp(&a.w));
                    self.tracker.kept(&faces, true);
                    faces
                }
                None => self.detect_keyframe(&gray),
            },
            Step::Full => self.detect_keyframe(&gray),
        };
        grade(&self.config, &gray, faces)
    }

    /// How many frames given to [`analyze_next`](Self::analyze_next) took each path.
    pub fn stream_counts(&self) -> StreamCounts {
        self.tracker.counts
    }

    fn detect_keyframe(&mut self, gray: &GrayImage) -> Vec<FaceBox> {
        let faces = self.detect(gray);
        self.tracker.full(&faces, gray.dimensions());
        faces
    }

    /// The main face in `region` of the frame: the search there only covers faces from
    /// 0.7 to 1.4 times its last width, so it costs a few percent of a full detection.
    fn follow(&mut self, gray: &GrayImage, region: [u32; 4], main: &FaceBox) -> Option<FaceBox> {
        let [x0, y0, x1, y1] = region;
        let crop = imageops::crop_imm(gray, x0, y0, x1.saturating_sub(x0), y1.saturating_sub(y0)).to_image();
        let c = &self.config;
        let params = DetectParams {
            min_face_px: ((main.w * 0.7) as u32).max(1),
            pyramid_step: c.pyramid_step,
            window_step: c.window_step,
            min_score: c.min_detection_score,
            other_face_ratio: c.other_face_ratio,
        };
        let found = self.detector.detect(&crop, &params).into_iter().find(|f| f.w <= main.w * 1.4)?;
        Some(FaceBox { x: found.x + x0 as f32, y: found.y + y0 as f32, ..found })
    }

    /// Faces in a gray picture, largest first, in that picture's pixels. Faces narrower
    /// than `other_face_ratio` of the largest are people far behind: they are neither
    /// searched for once a big face is found nor reported.
    pub fn detect(&mut self, gray: &GrayImage) -> Vec<FaceBox> {
        let c = &self.config;
        let params = DetectParams {
            min_face_px: c.min_face_px,
            pyramid_step: c.pyramid_step,
            window_step: c.window_step,
            min_score: c.min_detection_score,
            other_face_ratio: c.other_face_ratio,
        };
        self.detector.detect(gray, &params)
    }
}

/// Applies the quality gates to detected faces (pure: no detector involved).
pub fn grade(cfg: &QualityConfig, gray: &GrayImage, mut faces: Vec<FaceBox>) -> FrameAnalysis {
    let (w, h) = gray.dimensions();
    faces.sort_by(|a, b| b.w.total_cmp(&a.w));
    let mut out = FrameAnalysis {
        faces: faces.len(),
        accepted: false,
        hints: Vec::new(),
        score: 0.0,
        eye_distance_px: None,
        face_box: None,
        yaw_deg: None,
        brightness: None,
        sharpness: None,
        width: w,
        height: h,
        all_faces: faces.clone(),
    };
    let Some(main) = faces.first().copied() else {
        out.hints.push(Hint::NoFace);
        return out;
    };
    out.face_box = Some([main.x, main.y, main.w, main.h]);
    let eye = main.w * EYE_DISTANCE_PER_BOX_WIDTH;
    out.eye_distance_px = Some(eye);
    let people = faces.iter().filter(|f| f.w >= main.w * cfg.other_face_ratio).count();
    if people > 1 {
        out.hints.push(Hint::MultipleFaces);
    }
    let (cx, cy) = main.center();
    let too_big = main.h > cfg.max_face_height_fraction * h as f32;
    if eye < cfg.min_eye_distance_px {
        out.hints.push(Hint::MoveCloser);
    } else if too_big {
        out.hints.push(Hint::MoveBack);
    }
    // The whole head (box plus a margin for hair and chin) must be inside the frame.
    let (mx, my) = (main.w * 0.15, main.h * 0.25);
    let inside = main.x - mx >= 0.0
        && main.y - my >= 0.0
        && main.x + main.w + mx <= w as f32
        && main.y + main.h + my * 0.6 <= h as f32;
    let off_x = (cx - w as f32 / 2.0).abs() / w as f32;
    let off_y = (cy - h as f32 / 2.0).abs() / h as f32;
    if (!inside && !too_big) || off_x > cfg.center_tolerance || off_y > cfg.center_tolerance {
        out.hints.push(Hint::CenterFace);
    }
    let face = face_patch(gray, &main);
    let yaw = face.as_ref().map(yaw_estimate);
    out.yaw_deg = yaw;
    if yaw.is_some_and(|y| y.abs() > cfg.max_yaw_deg) {
        out.hints.push(Hint::TurnToCamera);
    }
    let brightness = face.as_ref().map(mean_inner);
    out.brightness = brightness;
    if let Some(b) = brightness {
        if b < cfg.min_brightness {
            out.hints.push(Hint::TooDark);
        } else if b > cfg.max_brightness {
            out.hints.push(Hint::TooBright);
        }
    }
    let sharp = sharpness_patch(gray, &main).as_ref().map(laplacian_variance);
    out.sharpness = sharp;
    if sharp.is_some_and(|s| s < cfg.min_sharpness) {
        out.hints.push(Hint::Blurry);
    }
    out.accepted = out.hints.is_empty();
    // Continuous score so the session can pick the best of several acceptable frames.
    let parts = [
        (eye / (cfg.min_eye_distance_px * 1.5)).min(1.0),
        sharp.map_or(0.0, |s| (s / (cfg.min_sharpness * 3.0)).min(1.0)),
        1.0 - (off_x + off_y).min(1.0),
        1.0 - yaw.map_or(1.0, |y| (y.abs() / 45.0).min(1.0)),
        1.0 - brightness.map_or(1.0, |b| ((b - 130.0).abs() / 130.0).min(1.0)),
        ((main.confidence - 2.0) / 10.0).clamp(0.0, 1.0),
    ];
    let quality = parts.iter().sum::<f32>() / parts.len() as f32;
    // Any failed gate keeps a frame below every accepted one.
    out.score = if out.accepted { 0.5 + quality / 2.0 } else { quality / 2.0 };
    out
}

/// The face box cut out of the frame and scaled to 128 px wide, so sharpness and pose
/// numbers do not depend on how far away the person stands.
fn face_patch(gray: &GrayImage, b: &FaceBox) -> Option<GrayImage> {
    let x0 = b.x.max(0.0) as u32;
    let y0 = b.y.max(0.0) as u32;
    let x1 = ((b.x + b.w) as u32).min(gray.width());
    let y1 = ((b.y + b.h) as u32).min(gray.height());
    if x1 <= x0 + 8 || y1 <= y0 + 8 {
        return None;
    }
    let crop = imageops::crop_imm(gray, x0, y0, x1 - x0, y1 - y0).to_image();
    let nh = ((128.0 * (y1 - y0) as f32 / (x1 - x0) as f32).round() as u32).max(8);
    Some(resize(&crop, 128, nh))
}

/// The face at its own resolution, capped at 256 px wide (about its size in the
/// portrait): blur is judged at the scale the portrait will show it.
fn sharpness_patch(gray: &GrayImage, b: &FaceBox) -> Option<GrayImage> {
    let x0 = b.x.max(0.0) as u32;
    let y0 = b.y.max(0.0) as u32;
    let x1 = ((b.x + b.w) as u32).min(gray.width());
    let y1 = ((b.y + b.h) as u32).min(gray.height());
    if x1 <= x0 + 8 || y1 <= y0 + 8 {
        return None;
    }
    let crop = imageops::crop_imm(gray, x0, y0, x1 - x0, y1 - y0).to_image();
    if crop.width() <= 256 {
        return Some(crop);
    }
    let nh = ((256.0 * crop.height() as f32 / crop.width() as f32).round() as u32).max(8);
    Some(resize(&crop, 256, nh))
}

/// Shrinks with the detector's area average (a fraction of a general filter's cost);
/// enlarges small faces with a triangle filter.
fn resize(p: &GrayImage, w: u32, h: u32) -> GrayImage {
    if w > p.width() || h > p.height() {
        return imageops::resize(p, w, h, FilterType::Triangle);
    }
    let (mut rows, mut out) = (Vec::new(), Vec::new());
    downscale(p.as_raw(), p.width(), p.height(), w, h, &mut rows, &mut out);
    GrayImage::from_raw(w, h, out).unwrap_or_else(|| imageops::resize(p, w, h, FilterType::Triangle))
}

/// Mean luma of the inner face (skips hair and background at the box edges).
fn mean_inner(p: &GrayImage) -> f32 {
    let (w, h) = p.dimensions();
    let (mut sum, mut n) = (0u64, 0u64);
    for y in h / 5..h * 4 / 5 {
        for x in w / 5..w * 4 / 5 {
            sum += u64::from(p.get_pixel(x, y).0[0]);
            n += 1;
        }
    }
    if n == 0 { 0.0 } else { sum as f32 / n as f32 }
}

/// Variance of the 4-neighbour Laplacian: low when the face is out of focus or smeared.
pub fn laplacian_variance(p: &GrayImage) -> f32 {
    let (w, h) = p.dimensions();
    if w < 3 || h < 3 {
        return 0.0;
    }
    let px = p.as_raw();
    let at = |x: u32, y: u32| i32::from(px[(y * w + x) as usize]);
    let (mut sum, mut sq, mut n) = (0f64, 0f64, 0f64);
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let l = at(x - 1, y) + at(x + 1, y) + at(x, y - 1) + at(x, y + 1) - 4 * at(x, y);
            let l = f64::from(l);
            sum += l;
            sq += l * l;
            n += 1.0;
        }
    }
    let mean = sum / n;
    (sq / n - mean * mean) as f32
}

/// Rough yaw from where the face's vertical edges (nose ridge, eye corners, cheek line)
/// sit across the box: centred for a frontal face, pushed to one side when the head
/// turns. A flat photo moved or tilted keeps them centred, which liveness relies on.
pub fn yaw_estimate(p: &GrayImage) -> f32 {
    let (w, h) = p.dimensions();
    if w < 8 || h < 8 {
        return 0.0;
    }
    let (mut mass, mut moment) = (0f64, 0f64);
    let cx = f64::from(w) / 2.0;
    // Between the eyes and the mouth: where the nose is.
    for y in h * 3 / 10..h * 7 / 10 {
        for x in w / 8..w * 7 / 8 - 1 {
            let d = (i32::from(p.get_pixel(x + 1, y).0[0]) - i32::from(p.get_pixel(x, y).0[0])).unsigned_abs();
            let d = f64::from(d);
            mass += d;
            moment += d * (f64::from(x) + 0.5 - cx);
        }
    }
    if mass <= 0.0 {
        return 0.0;
    }
    let offset = moment / mass / (f64::from(w) * 3.0 / 8.0); // -1..1
    (offset * 90.0) as f32
}
