//! Between the frames of one stream (a capture session): detection is skipped where
//! nothing moved, and a face that moved a little is looked for only around where it was.
//! A full detection still runs whenever anything moves elsewhere, and at least every
//! [`MAX_FRAMES_BETWEEN_FULL`] frames.

use image::GrayImage;

use crate::analysis::FaceBox;
use crate::detect::downscale;

/// Motion is judged on the frame shrunk to cells of this many pixels square: a cell's mean
/// hardly changes with sensor noise (it averages 256 pixels) but does when something in
/// it moves.
const CELL: u32 = 16;

/// A cell whose mean grey level changed by more than this has moved.
const MOTION_LEVELS: u8 = 6;

/// At most this many frames in a row reuse or follow the last full detection, so what
/// changes too slowly to count as motion is still seen within a third of a second at
/// 30 frames/s.
pub(crate) const MAX_FRAMES_BETWEEN_FULL: u32 = 10;

/// A followed face is looked for in its box grown by this fraction of its width on every
/// side: how far it may move between frames without a full detection.
const FOLLOW_MARGIN: f32 = 0.5;

/// What to do with the next frame of the stream.
#[derive(Debug)]
pub(crate) enum Step {
    /// Nothing moved since the last full detection: its faces still hold.
    Same(Vec<FaceBox>),
    /// Only the region around the main face moved: look for it in `region`
    /// (`[x0, y0, x1, y1)`, frame pixels); the `others` did not move.
    Follow { region: [u32; 4], main: FaceBox, others: Vec<FaceBox> },
    /// Detect on the whole frame.
    Full,
}

/// How many frames took each path, for logs and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StreamCounts {
    pub full: u32,
    pub followed: u32,
    pub unchanged: u32,
}

#[derive(Default)]
pub(crate) struct Tracker {
    /// The frame of the last full detection, as cell means.
    key: Vec<u8>,
    key_size: (u32, u32),
    /// The faces now (after any following since the key frame).
    faces: Vec<FaceBox>,
    since_full: u32,
    has_key: bool,
    /// This frame's cell means.
    thumb: Vec<u8>,
    rows: Vec<u16>,
    pub(crate) counts: StreamCounts,
}

impl Tracker {
    /// Decides how to analyse `gray`, the next frame.
    pub(crate) fn plan(&mut self, gray: &GrayImage) -> Step {
        let (w, h) = gray.dimensions();
        let (tw, th) = ((w / CELL).max(1), (h / CELL).max(1));
        downscale(gray.as_raw(), w, h, tw.min(w), th.min(h), &mut self.rows, &mut self.thumb);
        if !self.has_key || self.key_size != (w, h) || self.since_full >= MAX_FRAMES_BETWEEN_FULL {
            return Step::Full;
        }
        // The cells that changed since the key frame, as one rectangle of frame pixels.
        let mut moved: Option<[u32; 4]> = None;
        for (i, (&now, &then)) in self.thumb.iter().zip(&self.key).enumerate() {
            if now.abs_diff(then) > MOTION_LEVELS {
                let (cx, cy) = (i as u32 % tw * CELL, i as u32 / tw * CELL);
                let r = moved.get_or_insert([cx, cy, cx + CELL, cy + CELL]);
                *r = [r[0].min(cx), r[1].min(cy), r[2].max(cx + CELL), r[3].max(cy + CELL)];
            }
        }
        let Some(moved) = moved else {
            return Step::Same(self.faces.clone());
        };
        let Some(main) = self.faces.first().copied() else {
            return Step::Full; // something moved into an empty scene
        };
        let m = main.w * FOLLOW_MARGIN;
        let region = [
            (main.x - m).max(0.0) as u32,
            (main.y - m).max(0.0) as u32,
            ((main.x + main.w + m).max(0.0) as u32).min(w),
            ((main.y + main.h + m).max(0.0) as u32).min(h),
        ];
        let inside = moved[0] >= region[0] && moved[1] >= region[1] && moved[2] <= region[2] && moved[3] <= region[3];
        if !inside {
            return Step::Full;
        }
        Step::Follow { region, main, others: self.faces[1..].to_vec() }
    }

    /// After a full detection of the frame just planned: it becomes the key frame.
    pub(crate) fn full(&mut self, faces: &[FaceBox], size: (u32, u32)) {
        std::mem::swap(&mut self.key, &mut self.thumb);
        self.key_size = size;
        self.has_key = true;
        self.faces = faces.to_vec();
        self.since_full = 0;
        self.counts.full += 1;
    }

    /// After the main face was followed (or nothing moved) in the frame just planned.
    pub(crate) fn kept(&mut self, faces: &[FaceBox], followed: bool) {
        self.faces = faces.to_vec();
        self.since_full += 1;
        if followed {
            self.counts.followed += 1;
        } else {
            self.counts.unchanged += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(x: f32, w: f32) -> FaceBox {
        FaceBox { x, y: 100.0, w, h: w, confidence: 20.0 }
    }

    fn frame_with_block(x: u32) -> GrayImage {
        GrayImage::from_fn(640, 480, |px, py| {
            image::Luma([if (x..x + 40).contains(&px) && (100..140).contains(&py) { 200 } else { 60 }])
        })
    }

    #[test]
    fn unchanged_frames_reuse_then_motion_near_the_face_follows_and_elsewhere_detects() {
        let mut t = Tracker::default();
        assert!(matches!(t.plan(&frame_with_block(300)), Step::Full));
        t.full(&[face(280.0, 80.0)], (640, 480));
        assert!(matches!(t.plan(&frame_with_block(300)), Step::Same(f) if f.len() == 1));
        t.kept(&[face(280.0, 80.0)], false);
        // The block moved by 16 px, inside the face's margin: follow it.
        assert!(matches!(t.plan(&frame_with_block(316)), Step::Follow { .. }));
        t.kept(&[face(296.0, 80.0)], true);
        // Something moved far from the face: detect everything again.
        let mut far = frame_with_block(316);
        for y in 300..340 {
            for x in 20..60 {
                far.put_pixel(x, y, image::Luma([250]));
            }
        }
        assert!(matches!(t.plan(&far), Step::Full));
        assert_eq!(t.counts, StreamCounts { full: 1, followed: 1, unchanged: 1 });
    }

    #[test]
    fn a_still_scene_is_detected_again_after_max_frames() {
        let mut t = Tracker::default();
        let f = frame_with_block(300);
        assert!(matches!(t.plan(&f), Step::Full));
        t.full(&[], (640, 480));
        for _ in 0..MAX_FRAMES_BETWEEN_FULL {
            assert!(matches!(t.plan(&f), Step::Same(_)));
            t.kept(&[], false);
        }
        assert!(matches!(t.plan(&f), Step::Full));
    }
}
