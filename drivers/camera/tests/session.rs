//! The capture session: best-frame choice, portrait crop and JPEG, hints over time,
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly
//! liveness from frame sequences, and what may touch the disk.

mod common;

use std::time::Duration;

use camera::{
    CaptureConfig, CaptureError, CaptureSession, FaceBox, Frame, FrameAnalysis, Hint, LivenessChallenge,
    LivenessConfig, LivenessPrompt, LivenessTracker, SyntheticSource, SyntheticStep,
};
use common::*;
use image::RgbImage;

fn frame(img: RgbImage) -> Frame {
    Frame::from_rgb(img.width(), img.height(), img.into_raw()).unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn good_frames_give_a_3_by_4_portrait_under_100_kb() {
    let mut s = CaptureSession::new(CaptureConfig::default()).unwrap();
    let canvas = on_canvas(&grace(), 1280, 720, 1.4, 282, 0);
    let mut last = None;
    for i in 0..3 {
        last = Some(s.push(frame(canvas.clone()), ms(i * 66)));
    }
    let p = last.unwrap();
    assert!(p.accepted && p.hints.is_empty(), "{:?}", p.hints);
    assert_eq!(p.preview.width, 160);
    assert_eq!(p.preview.rgb.len(), (p.preview.width * p.preview.height * 3) as usize);
    assert!(p.preview.face_box.is_some());
    let out = s.finish().unwrap();
    assert!(out.portrait_jpeg.len() <= 100_000, "{} bytes", out.portrait_jpeg.len());
    let img = image::load_from_memory(&out.portrait_jpeg).unwrap();
    assert_eq!(img.width() * 4, img.height() * 3, "{}x{}", img.width(), img.height());
    assert!(img.height() >= 400);
    // The portrait still holds exactly one acceptable face.
    let mut a = camera::FaceAnalyzer::new(camera::QualityConfig {
        min_eye_distance_px: 20.0,
        center_tolerance: 0.3,
        ..Default::default()
    })
    .unwrap();
    let again = a.analyze(&frame(img.to_rgb8()));
    assert_eq!(again.faces, 1);
    assert_eq!(out.good_frames, 3);
    assert!(!out.liveness.passed && out.liveness.challenge == LivenessChallenge::None);
}

#[test]
fn tight_byte_limit_lowers_jpeg_quality_instead_of_failing() {
    let cfg = CaptureConfig { max_jpeg_bytes: 20_000, ..CaptureConfig::default() };
    let mut s = CaptureSession::new(cfg).unwrap();
    s.push(frame(grace()), ms(0));
    let out = s.finish().unwrap();
    assert!(out.portrait_jpeg.len() <= 20_000);
    assert!(out.jpeg_quality < 90);
}

#[test]
fn best_frame_is_kept_over_worse_later_ones() {
    let mut s = CaptureSession::new(CaptureConfig::default()).unwrap();
    let sharp = grace();
    let p1 = s.push(frame(sharp.clone()), ms(0));
    let best = p1.best_score.unwrap();
    let p2 = s.push(frame(blurred(&sharp, 4.0)), ms(66));
    assert!(p2.hints.contains(&Hint::Blurry));
    assert_eq!(p2.best_score, Some(best));
    let p3 = s.push(frame(noise(512, 512)), ms(132));
    assert_eq!(p3.hints, vec![Hint::NoFace]);
    let out = s.finish().unwrap();
    assert_eq!(out.score, best);
    assert_eq!(out.frames_seen, 3);
}

#[test]
fn session_without_an_acceptable_frame_fails_with_the_last_hints() {
    let mut s = CaptureSession::new(CaptureConfig::default()).unwrap();
    s.push(frame(astronaut()), ms(0));
    let p = s.push(frame(astronaut()), ms(66));
    assert!(p.hints.contains(&Hint::MoveCloser));
    match s.finish() {
        Err(CaptureError::NoAcceptableFrame { last_hints }) => {
            assert!(last_hints.contains(&Hint::MoveCloser))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn face_jumping_between_frames_asks_to_hold_still() {
    let mut s = CaptureSession::new(CaptureConfig::default()).unwrap();
    let g = grace();
    s.push(frame(on_canvas(&g, 1280, 720, 1.3, 300, 20)), ms(0));
    let p = s.push(frame(on_canvas(&g, 1280, 720, 1.3, 360, 20)), ms(66));
    assert!(p.hints.contains(&Hint::HoldStill), "{:?}", p.hints);
    assert!(!p.accepted);
}

#[test]
fn time_running_out_marks_the_session_done() {
    let cfg = CaptureConfig { duration: Duration::from_secs(2), ..CaptureConfig::default() };
    let mut s = CaptureSession::new(cfg).unwrap();
    let p = s.push(frame(noise(320, 240)), ms(500));
    assert!(!p.done);
    assert_eq!(p.remaining, ms(1500));
    let p = s.push(frame(noise(320, 240)), ms(2100));
    assert!(p.done && p.remaining.is_zero());
}

#[test]
fn debug_directory_gets_files_only_when_given() {
    let dir = tempfile::tempdir().unwrap();
    let debug = dir.path().join("debug");
    let cfg = CaptureConfig { debug_dir: Some(debug.clone()), ..CaptureConfig::default() };
    let mut s = CaptureSession::new(cfg).unwrap();
    s.push(frame(grace()), ms(0));
    s.finish().unwrap();
    assert!(debug.join("portrait.jpg").is_file() && debug.join("frames.jsonl").is_file());

    let quiet = dir.path().join("quiet");
    std::fs::create_dir(&quiet).unwrap();
    let mut s = CaptureSession::new(CaptureConfig::default()).unwrap();
    s.push(frame(grace()), ms(0));
    s.finish().unwrap();
    assert_eq!(std::fs::read_dir(&quiet).unwrap().count(), 0);
}

#[test]
fn run_drives_a_frame_source_until_enough_good_frames() {
    let cfg = CaptureConfig { enough_good_frames: 3, ..CaptureConfig::default() };
    let s = CaptureSession::new(cfg).unwrap();
    let mut src = SyntheticSource::new(vec![SyntheticStep::Picture(noise(320, 240)), SyntheticStep::Picture(grace())])
        .repeating(true);
    let mut progress = 0;
    let out = s.run(&mut src, |_| progress += 1).unwrap();
    assert_eq!(progress, 4);
    assert_eq!(out.good_frames, 3);
}

#[test]
fn run_on_a_source_that_ends_without_a_face_reports_no_acceptable_frame() {
    let s = CaptureSession::new(CaptureConfig::default()).unwrap();
    let mut src = SyntheticSource::new(vec![SyntheticStep::Picture(noise(320, 240)); 2]);
    assert!(matches!(s.run(&mut src, |_| {}), Err(CaptureError::NoAcceptableFrame { .. })));
}

fn pose(yaw: f32, x: f32) -> FrameAnalysis {
    FrameAnalysis {
        faces: 1,
        accepted: true,
        hints: vec![],
        score: 0.8,
        eye_distance_px: Some(80.0),
        face_box: Some([x, 100.0, 200.0, 200.0]),
        yaw_deg: Some(yaw),
        brightness: Some(130.0),
        sharpness: Some(500.0),
        width: 640,
        height: 480,
        all_faces: vec![FaceBox { x, y: 100.0, w: 200.0, h: 200.0, confidence: 10.0 }],
    }
}

#[test]
fn turn_challenge_passes_on_frontal_left_right_sequence() {
    let mut t = LivenessTracker::new(LivenessChallenge::Turn, LivenessConfig::default());
    assert_eq!(t.prompt(), Some(LivenessPrompt::LookAtCamera));
    let yaws = [0.0, 1.0, -15.0, -20.0, -18.0, 5.0, 16.0, 20.0];
    for (i, y) in yaws.iter().enumerate() {
        t.observe(&pose(*y, 220.0 + i as f32 * 3.0), ms(i as u64 * 100));
    }
    assert!(t.passed());
    let ev = t.evidence();
    assert!(ev.passed);
    assert_eq!(
        ev.steps.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![LivenessPrompt::LookAtCamera, LivenessPrompt::TurnLeft, LivenessPrompt::TurnRight]
    );
    assert_eq!(ev.max_left_yaw_deg, Some(-20.0));
    assert!(ev.summary.contains("passed"), "{}", ev.summary);
}

#[test]
fn turn_challenge_fails_when_the_head_never_turns_right() {
    let mut t = LivenessTracker::new(LivenessChallenge::Turn, LivenessConfig::default());
    for (i, y) in [0.0, 0.0, -20.0, -20.0, 0.0, 3.0].iter().enumerate() {
        t.observe(&pose(*y, 220.0), ms(i as u64 * 100));
    }
    assert!(!t.passed());
    assert_eq!(t.prompt(), Some(LivenessPrompt::TurnRight));
    let ev = t.evidence();
    assert!(!ev.passed && ev.summary.contains("failed"), "{}", ev.summary);
}

#[test]
fn swapping_faces_mid_challenge_restarts_it() {
    let mut t = LivenessTracker::new(LivenessChallenge::Turn, LivenessConfig::default());
    for (i, (y, x)) in
        [(0.0, 100.0), (0.0, 100.0), (-20.0, 100.0), (-20.0, 100.0), (20.0, 400.0), (20.0, 400.0)].iter().enumerate()
    {
        t.observe(&pose(*y, *x), ms(i as u64 * 100));
    }
    assert!(!t.passed());
    assert_eq!(t.evidence().continuity_breaks, 1);
}

/// Real analyzer on a synthesised head turn: the portrait's inner face is warped left,
/// then right, as a turning head moves the nose and eyes against the face outline.
#[test]
fn warped_portrait_sequence_passes_the_turn_challenge() {
    let cfg = CaptureConfig { liveness: LivenessChallenge::Turn, hold_still_fraction: 1.0, ..CaptureConfig::default() };
    let mut s = CaptureSession::new(cfg).unwrap();
    let g = grace();
    let mut t = 0;
    let mut prompts = Vec::new();
    for shift in [0.0, 0.0, 0.0, -70.0, -70.0, -70.0, 70.0, 70.0, 70.0, 0.0] {
        let p = s.push(frame(turned(&g, 273.0, 206.0, 40.0, shift)), ms(t));
        prompts.push(p.liveness_prompt);
        t += 100;
    }
    let out = s.finish().unwrap();
    assert!(out.liveness.passed, "{}", out.liveness.summary);
    assert!(prompts.contains(&Some(LivenessPrompt::TurnRight)));
}

/// A flat photo slid and tilted in front of the camera does not turn its head.
#[test]
fn photo_moved_around_fails_the_turn_challenge() {
    let cfg = CaptureConfig { liveness: LivenessChallenge::Turn, hold_still_fraction: 1.0, ..CaptureConfig::default() };
    let mut s = CaptureSession::new(cfg).unwrap();
    let g = grace();
    let mut t = 0;
    for x in [100, 100, 70, 50, 130, 150, 100] {
        s.push(frame(on_canvas(&g, 640, 480, 0.9, x, 10)), ms(t));
        t += 100;
    }
    let squashed = image::imageops::resize(&g, 420, 512, image::imageops::FilterType::Triangle);
    s.push(frame(on_canvas(&squashed, 640, 480, 0.9, 130, 10)), ms(t));
    let out = s.finish().unwrap();
    assert!(!out.liveness.passed, "{}", out.liveness.summary);
}

#[test]
fn capture_survives_a_camera_unplugged_mid_session() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let opens = std::sync::Arc::new(AtomicU32::new(0));
    let opens2 = std::sync::Arc::clone(&opens);
    let g = grace();
    let mut cam = camera::WatchedCamera::start(
        "unplug-mid-capture",
        Box::new(move || {
            let src = if opens2.fetch_add(1, Ordering::SeqCst) == 0 {
                SyntheticSource::new(vec![
                    SyntheticStep::Picture(g.clone()),
                    SyntheticStep::Stall(Duration::from_secs(30)),
                ])
            } else {
                SyntheticSource::still(g.clone()).paced(Duration::from_millis(30))
            };
            Ok(Box::new(src) as Box<dyn camera::FrameSource>)
        }),
        camera::WatchdogConfig {
            stall_timeout: Duration::from_millis(300),
            reopen_interval: Duration::from_millis(100),
        },
    );
    let cfg = CaptureConfig { enough_good_frames: 3, duration: Duration::from_secs(60), ..CaptureConfig::default() };
    let out = CaptureSession::new(cfg).unwrap().run(&mut cam, |_| {}).unwrap();
    assert_eq!(out.good_frames, 3);
    assert!(opens.load(Ordering::SeqCst) >= 2, "the camera was reopened");
}
