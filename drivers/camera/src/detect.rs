//! Face detection: the SeetaFace frontal detector (`rustface`) on a pyramid we build and
//! search coarse to fine.
//!
//! `rustface`'s own pyramid always starts at the size of the picture it is given (its
//! `set_min_face_size` is ignored), so the picture is first shrunk (area average, fixed
//! point) until the smallest wanted face is one SeetaFace window wide. Big faces are then
//! searched first, in one call on the next coarser level; the finest level, which costs
//! the most and only finds the smallest faces, is searched last on its own and skipped
//! when a clear face already makes faces that small irrelevant (the kiosk's citizen
//! stands close). Flat parts of a level, which SeetaFace rejects anyway, are cropped
//! away before each call.

use image::GrayImage;

use crate::CaptureError;
use crate::analysis::FaceBox;

/// SeetaFace's fixed window (rustface's `K_WND_SIZE`): a level finds faces about this big
/// (in that level's pixels).
pub(crate) const WINDOW: u32 = 40;

/// Windows (40 px of a level) whose grey-level standard deviation is at most this are
/// cropped away. SeetaFace's first stage rejects every window at 10 or less (rustface
/// `K_STDDEV_THRESH`), so on the finest level the crop loses nothing; in the coarse call
/// a face is bigger than one window of the picture given, and half that limit keeps any
/// face, whose eyes and brows against the skin are never that flat, inside the crop. A
/// plain wall with sensor noise stays below it.
const FLAT_STDDEV: f64 = 5.0;

/// Extra level pixels kept around the textured part, so the later SeetaFace stages (which
/// enlarge and shift a candidate box) still see real pixels instead of zero padding.
const CROP_MARGIN: u32 = 16;

/// SeetaFace finds a face at the levels where it is about 0.8 to 1.25 windows wide, so a
/// level (and every finer one) can be skipped when a face 1.25 windows wide there would
/// be too small to matter.
const LEVEL_REACH: f32 = 1.25;

/// How many of the finest levels are searched one by one (and can be skipped); the rest
/// go in one call. In one call SeetaFace's later stages re-examine each candidate in the
/// resolution of the picture given, finer than the level it was found at; candidates
/// judged at their own coarse level alone let face-like texture through (with 2 here, a
/// textured background gave false faces that 1 and a single call do not).
const FINE_LEVELS: usize = 1;

/// The search stops early only for a face scoring this many times `min_score`: a clear
/// frontal face (over 6 from 64 px up on the test portraits), not a turned head (about 4)
/// or texture that fools a level or two (up to 3.4), which could hide a real face.
const TRUSTED_SCORE: f64 = 3.0;

/// How the search runs; all in frame pixels unless said otherwise.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DetectParams {
    /// Smallest face width searched for.
    pub min_face_px: u32,
    /// Scale from one pyramid level to the next coarser one (0.5..0.95).
    pub pyramid_step: f32,
    /// Window stride within a level, in level pixels.
    pub window_step: u32,
    /// Summed SeetaFace score a face needs.
    pub min_score: f64,
    /// Faces narrower than this fraction of the largest are not reported (and not searched
    /// for once the largest is known): they are people far behind, not a second person
    /// at the kiosk.
    pub other_face_ratio: f32,
}

/// The SeetaFace detector plus the buffers reused from frame to frame.
pub(crate) struct FaceDetector {
    seeta: Box<dyn rustface::Detector + Send>,
    /// Level images, finest first; each level's buffer is kept for the next frame.
    levels: Vec<Level>,
    /// One row of the downscale (value x 256 per sample).
    rows: Vec<u16>,
    /// Integral images for the flatness test.
    sums: Vec<u32>,
    squares: Vec<u64>,
    crop: Vec<u8>,
    window_step: u32,
}

#[derive(Default)]
struct Level {
    pixels: Vec<u8>,
    width: u32,
    height: u32,
}

/// A candidate face in frame pixels with its (summable) SeetaFace score.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    score: f64,
}

impl FaceDetector {
    pub(crate) fn new(model: rustface::Model) -> Result<Self, CaptureError> {
        let mut seeta = rustface::create_detector_with_model(model);
        configure(&mut *seeta);
        Ok(Self {
            seeta: detector_send(seeta),
            levels: Vec::new(),
            rows: Vec::new(),
            sums: Vec::new(),
            squares: Vec::new(),
            crop: Vec::new(),
            window_step: 4,
        })
    }

    /// Faces in a gray picture, largest first, in that picture's pixels. Once a clear face
    /// is found, faces narrower than `other_face_ratio` of it are left out.
    pub(crate) fn detect(&mut self, gray: &GrayImage, p: &DetectParams) -> Vec<FaceBox> {
        let w = gray.width();
        let step = p.window_step.max(1);
        if step != self.window_step {
            self.seeta.set_slide_window_step(step, step);
            self.window_step = step;
        }
        let pyramid_step = p.pyramid_step.clamp(0.5, 0.95);
        self.seeta.set_pyramid_scale_factor(pyramid_step);
        let count = self.build_levels(gray, p.min_face_px, pyramid_step);
        if count == 0 {
            return Vec::new(); // the frame is smaller than the smallest face searched for
        }
        let mut found: Vec<Candidate> = Vec::new();
        // Big faces first: one SeetaFace call over the coarsest built level, with rustface's
        // own pyramid below it.
        let coarse = count - 1;
        self.seeta.set_max_face_size(0);
        self.detect_level(gray, coarse, &mut found);
        // Then the fine levels one at a time (with a largest face of one window, rustface's
        // own pyramid stops after the image it is given), stopping once no smaller face
        // could matter.
        self.seeta.set_max_face_size(WINDOW);
        for i in (0..coarse).rev() {
            let smallest_that_matters = trusted_width(&found, p) * p.other_face_ratio;
            let sees = w as f32 * WINDOW as f32 / self.levels[i].width as f32;
            // Level i finds faces about `sees` wide; finer levels only smaller ones.
            if LEVEL_REACH * sees < smallest_that_matters {
                break;
            }
            self.detect_level(gray, i, &mut found);
        }
        let keep = trusted_width(&found, p) * p.other_face_ratio;
        merge(&found, p.min_score)
            .into_iter()
            .filter(|f| f.w >= keep)
            .map(|f| FaceBox { x: f.x, y: f.y, w: f.w, h: f.h, confidence: f.score as f32 })
            .collect()
    }

    /// Fills `self.levels` (finest first, at most `FINE_LEVELS + 1`) and returns how many
    /// there are.
    fn build_levels(&mut self, gray: &GrayImage, min_face_px: u32, step: f32) -> usize {
        let (w, h) = gray.dimensions();
        // The finest level shows the smallest wanted face one window wide; never enlarge.
        let mut scale = (WINDOW as f32 / min_face_px.max(1) as f32).min(1.0);
        let mut count = 0;
        while count <= FINE_LEVELS {
            let lw = ((w as f32 * scale).round() as u32).min(w);
            let lh = ((h as f32 * scale).round() as u32).min(h);
            if lw < WINDOW || lh < WINDOW {
                break;
            }
            if self.levels.len() <= count {
                self.levels.push(Level::default());
            }
            // Each level from the previous (finer) one: the work shrinks with the level.
            let (done, rest) = self.levels.split_at_mut(count);
            let (src, sw, sh) = match done.last() {
                Some(prev) => (prev.pixels.as_slice(), prev.width, prev.height),
                None => (gray.as_raw().as_slice(), w, h),
            };
            let level = &mut rest[0];
            downscale(src, sw, sh, lw.min(sw), lh.min(sh), &mut self.rows, &mut level.pixels);
            level.width = lw.min(sw);
            level.height = lh.min(sh);
            count += 1;
            scale *= step;
        }
        count
    }

    /// Runs SeetaFace on the textured part of level `i` and adds what it finds, in the
    /// frame's pixels.
    fn detect_level(&mut self, gray: &GrayImage, i: usize, found: &mut Vec<Candidate>) {
        let level = &self.levels[i];
        let (lw, lh) = (level.width, level.height);
        let sx = lw as f32 / gray.width() as f32;
        let sy = lh as f32 / gray.height() as f32;
        let Some([x0, y0, x1, y1]) =
            textured_bounds(&level.pixels, lw, lh, self.window_step, &mut self.sums, &mut self.squares)
        else {
            return; // nothing but flat windows: SeetaFace would reject them all
        };
        // Whole multiples of the stride, so the crop scans the same windows as the level.
        let pad = CROP_MARGIN.div_ceil(self.window_step) * self.window_step;
        let (x0, y0) = (x0.saturating_sub(pad), y0.saturating_sub(pad));
        let (x1, y1) = ((x1 + pad).min(lw), (y1 + pad).min(lh));
        let (cw, ch) = (x1 - x0, y1 - y0);
        self.crop.clear();
        for y in y0..y1 {
            let row = (y * lw) as usize;
            self.crop.extend_from_slice(&level.pixels[row + x0 as usize..row + x1 as usize]);
        }
        let image = rustface::ImageData::new(&self.crop, cw, ch);
        for f in self.seeta.detect(&image) {
            let b = f.bbox();
            found.push(Candidate {
                x: (b.x() + x0 as i32) as f32 / sx,
                y: (b.y() + y0 as i32) as f32 / sy,
                w: b.width() as f32 / sx,
                h: b.height() as f32 / sy,
                score: f.score(),
            });
        }
    }
}

fn configure(d: &mut dyn rustface::Detector) {
    // Each call's boxes are thresholded only after merging across levels (SeetaFace sums
    // the scores of overlapping boxes), so keep everything here; rustface refuses 0.
    d.set_score_thresh(f64::MIN_POSITIVE);
    d.set_slide_window_step(4, 4);
}

/// SeetaFace's final merge, across levels: boxes overlapping by more than 30 % (IoU) are
/// one face whose score is the sum. Kept: those reaching `min_score`, largest first.
fn merge(found: &[Candidate], min_score: f64) -> Vec<Candidate> {
    let mut sorted = found.to_vec();
    sorted.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut taken = vec![false; sorted.len()];
    let mut out: Vec<Candidate> = Vec::new();
    for i in 0..sorted.len() {
        if taken[i] {
            continue;
        }
        let mut face = sorted[i];
        for j in i + 1..sorted.len() {
            if !taken[j] && iou(&sorted[i], &sorted[j]) > 0.3 {
                taken[j] = true;
                face.score += sorted[j].score;
            }
        }
        out.push(face);
    }
    out.retain(|f| f.score >= min_score);
    out.sort_by(|a, b| b.w.total_cmp(&a.w));
    out
}

/// Width of the largest face scoring [`TRUSTED_SCORE`] times `min_score` (0 if none).
fn trusted_width(found: &[Candidate], p: &DetectParams) -> f32 {
    merge(found, TRUSTED_SCORE * p.min_score).first().map_or(0.0, |f| f.w)
}

fn iou(a: &Candidate, b: &Candidate) -> f32 {
    let iw = (a.x + a.w).min(b.x + b.w) - a.x.max(b.x);
    let ih = (a.y + a.h).min(b.y + b.h) - a.y.max(b.y);
    if iw <= 0.0 || ih <= 0.0 {
        return 0.0;
    }
    let inter = iw * ih;
    inter / (a.w * a.h + b.w * b.h - inter)
}

/// The smallest rectangle `[x0, y0, x1, y1)` holding every window (on the `step` grid)
/// whose standard deviation is above [`FLAT_STDDEV`]; `None` when there is none.
fn textured_bounds(
    px: &[u8],
    w: u32,
    h: u32,
    step: u32,
    sums: &mut Vec<u32>,
    squares: &mut Vec<u64>,
) -> Option<[u32; 4]> {
    let (w, h) = (w as usize, h as usize);
    let stride = w + 1;
    sums.clear();
    sums.resize(stride * (h + 1), 0);
    squares.clear();
    squares.resize(stride * (h + 1), 0);
    for y in 0..h {
        let (mut row_sum, mut row_sq) = (0u32, 0u64);
        for x in 0..w {
            let v = u32::from(px[y * w + x]);
            row_sum += v;
            row_sq += u64::from(v * v);
            sums[(y + 1) * stride + x + 1] = sums[y * stride + x + 1] + row_sum;
            squares[(y + 1) * stride + x + 1] = squares[y * stride + x + 1] + row_sq;
        }
    }
    let win = WINDOW as usize;
    let step = step.max(1) as usize;
    let area = (win * win) as f64;
    let limit = FLAT_STDDEV * FLAT_STDDEV;
    let mut bounds: Option<[usize; 4]> = None;
    for y in (0..=h - win).step_by(step) {
        for x in (0..=w - win).step_by(step) {
            let (a, b, c, d) =
                (y * stride + x, y * stride + x + win, (y + win) * stride + x, (y + win) * stride + x + win);
            let sum = f64::from(sums[d] + sums[a] - sums[b] - sums[c]);
            let sq = (squares[d] + squares[a] - squares[b] - squares[c]) as f64;
            let mean = sum / area;
            if sq / area - mean * mean > limit {
                let r = bounds.get_or_insert([x, y, x + win, y + win]);
                r[0] = r[0].min(x);
                r[1] = r[1].min(y);
                r[2] = r[2].max(x + win);
                r[3] = r[3].max(y + win);
            }
        }
    }
    bounds.map(|r| r.map(|v| v as u32))
}

/// Area-average downscale of an 8-bit gray image (`dw <= sw`, `dh <= sh`) in fixed point:
/// every source pixel counts by how much of it falls in the destination pixel, which is
/// the anti-aliasing a detector pyramid needs at a fraction of a general filter's cost.
/// Rows are combined first (a plain multiply-add over whole rows, which vectorises), so
/// the per-sample gather only runs on `dh` rows.
pub(crate) fn downscale(src: &[u8], sw: u32, sh: u32, dw: u32, dh: u32, row: &mut Vec<u16>, out: &mut Vec<u8>) {
    out.clear();
    if dw == 0 || dh == 0 || dw > sw || dh > sh || src.len() < sw as usize * sh as usize {
        return;
    }
    if (dw, dh) == (sw, sh) {
        out.extend_from_slice(&src[..(sw * sh) as usize]);
        return;
    }
    let tx = Taps::new(sw, dw);
    let ty = Taps::new(sh, dh);
    let sw = sw as usize;
    out.reserve(dw as usize * dh as usize);
    for y in 0..dh as usize {
        // Vertical: the weighted sum of this output row's source rows, value x 256 (at
        // most 255 x 256: fits u16).
        row.clear();
        row.resize(sw, 0);
        let (first, weights) = ty.at(y);
        for (k, &wgt) in weights.iter().enumerate().filter(|(_, w)| **w > 0) {
            let line = &src[(first + k) * sw..(first + k + 1) * sw];
            for (acc, &v) in row.iter_mut().zip(line) {
                *acc += wgt * u16::from(v);
            }
        }
        // Horizontal: weighted sum of those samples, back to 8 bits with rounding.
        match &tx {
            Taps::Four { first, weights } => out.extend(first.iter().zip(weights).map(|(&f, w)| {
                let r = &row[f..f + 4];
                let acc = u32::from(w[0]) * u32::from(r[0])
                    + u32::from(w[1]) * u32::from(r[1])
                    + u32::from(w[2]) * u32::from(r[2])
                    + u32::from(w[3]) * u32::from(r[3]);
                ((acc + (1 << 15)) >> 16) as u8
            })),
            Taps::Any { .. } => out.extend((0..dw as usize).map(|x| {
                let (f, w) = tx.at(x);
                let acc: u32 = w.iter().zip(&row[f..]).map(|(&a, &b)| u32::from(a) * u32::from(b)).sum();
                ((acc + (1 << 15)) >> 16) as u8
            })),
        }
    }
}

/// Per destination sample of one axis: the first source sample and the weights (summing
/// to 256) of the source samples from there. Shrinking by up to 3x needs at most four,
/// kept in a fixed array so the inner loop has no length to check.
enum Taps {
    Four { first: Vec<usize>, weights: Vec<[u16; 4]> },
    Any { first: Vec<usize>, weights: Vec<u16>, n: usize },
}

impl Taps {
    fn new(src: u32, dst: u32) -> Self {
        let ratio = f64::from(src) / f64::from(dst);
        let needed = ratio.ceil() as usize + 1;
        let n = if needed <= 4 && src >= 4 { 4 } else { needed.min(src as usize) };
        let src = src as usize;
        let mut first = Vec::with_capacity(dst as usize);
        let mut weights = vec![0u16; dst as usize * n];
        for (i, ws) in weights.chunks_exact_mut(n).enumerate() {
            let a = i as f64 * ratio;
            let b = ((i + 1) as f64 * ratio).min(src as f64);
            // Start early enough that all n taps are inside the source.
            let start = (a.floor() as usize).min(src - n);
            let mut total = 0u32;
            for (k, wgt) in ws.iter_mut().enumerate() {
                let p = (start + k) as f64;
                let overlap = (b.min(p + 1.0) - a.max(p)).max(0.0);
                *wgt = (overlap / (b - a) * 256.0).round() as u16;
                total += u32::from(*wgt);
            }
            // Rounding may leave the sum off by one or two: give it to the biggest weight.
            if let Some(big) = ws.iter_mut().max() {
                *big = (i32::from(*big) + 256 - total as i32).clamp(0, 256) as u16;
            }
            first.push(start);
        }
        if n == 4 {
            let weights = weights.chunks_exact(4).map(|w| [w[0], w[1], w[2], w[3]]).collect();
            Taps::Four { first, weights }
        } else {
            Taps::Any { first, weights, n }
        }
    }

    fn at(&self, i: usize) -> (usize, &[u16]) {
        match self {
            Taps::Four { first, weights } => (first[i], &weights[i][..]),
            Taps::Any { first, weights, n } => (first[i], &weights[i * n..(i + 1) * n]),
        }
    }
}

// rustface's detector holds only owned data; the trait object just lacks the bound.
fn detector_send(d: Box<dyn rustface::Detector>) -> Box<dyn rustface::Detector + Send> {
    struct SendDetector(Box<dyn rustface::Detector>);
    // The FuSt detector is plain owned vectors and numbers (no Rc, no raw pointers).
    #[allow(unsafe_code)]
    // SAFETY: FuStDetector owns its model and buffers; nothing in it is shared or thread-bound.
    unsafe impl Send for SendDetector {}
    impl rustface::Detector for SendDetector {
        fn detect(&mut self, image: &rustface::ImageData) -> Vec<rustface::FaceInfo> {
            self.0.detect(image)
        }
        fn set_window_size(&mut self, s: u32) {
            self.0.set_window_size(s)
        }
        fn set_slide_window_step(&mut self, x: u32, y: u32) {
            self.0.set_slide_window_step(x, y)
        }
        fn set_min_face_size(&mut self, s: u32) {
            self.0.set_min_face_size(s)
        }
        fn set_max_face_size(&mut self, s: u32) {
            self.0.set_max_face_size(s)
        }
        fn set_pyramid_scale_factor(&mut self, f: f32) {
            self.0.set_pyramid_scale_factor(f)
        }
        fn set_score_thresh(&mut self, t: f64) {
            self.0.set_score_thresh(t)
        }
    }
    Box::new(SendDetector(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downscale_keeps_flat_images_flat_and_averages_areas() {
        let (mut rows, mut out) = (Vec::new(), Vec::new());
        downscale(&[77; 100 * 60], 100, 60, 71, 43, &mut rows, &mut out);
        assert_eq!(out.len(), 71 * 43);
        assert!(out.iter().all(|&v| v == 77));
        // 2:1 is the mean of each 2x2 block.
        let src: Vec<u8> = (0..16).map(|i| (i * 10) as u8).collect();
        downscale(&src, 4, 4, 2, 2, &mut rows, &mut out);
        assert_eq!(out, vec![25, 45, 105, 125]);
    }

    #[test]
    fn taps_stay_inside_the_source_and_sum_to_one() {
        for (src, dst) in [(640, 457), (457, 366), (41, 40), (1280, 40), (50, 49)] {
            let t = Taps::new(src, dst);
            for i in 0..dst as usize {
                let (first, w) = t.at(i);
                assert!(first + w.len() <= src as usize, "{src}->{dst} at {i}");
                assert_eq!(w.iter().map(|&v| u32::from(v)).sum::<u32>(), 256, "{src}->{dst} at {i}");
            }
        }
    }

    #[test]
    fn flat_picture_has_no_textured_window_and_a_patch_is_bounded() {
        let (mut s, mut q) = (Vec::new(), Vec::new());
        let mut px = vec![100u8; 200 * 120];
        assert_eq!(textured_bounds(&px, 200, 120, 4, &mut s, &mut q), None);
        // A checkerboard patch at x 100..120, y 50..70.
        for y in 50..70 {
            for x in 100..120 {
                px[y * 200 + x] = if (x + y) % 2 == 0 { 40 } else { 200 };
            }
        }
        let [x0, y0, x1, y1] = textured_bounds(&px, 200, 120, 4, &mut s, &mut q).expect("textured");
        assert!(x0 <= 100 && y0 <= 50 && x1 >= 120 && y1 >= 70, "{x0},{y0},{x1},{y1}");
        assert!(x0 >= 60 && y0 >= 10 && x1 <= 160 && y1 <= 110, "{x0},{y0},{x1},{y1}");
    }

    #[test]
    fn merge_sums_overlapping_boxes_and_drops_weak_ones() {
        let c = |x: f32, s: f64| Candidate { x, y: 0.0, w: 100.0, h: 100.0, score: s };
        let faces = merge(&[c(0.0, 1.5), c(10.0, 1.0), c(500.0, 1.0)], 2.0);
        assert_eq!(faces.len(), 1);
        assert!((faces[0].score - 2.5).abs() < 1e-9 && faces[0].x == 0.0);
    }
}
