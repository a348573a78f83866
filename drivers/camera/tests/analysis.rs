//! The face analyzer and its quality gates on the real portraits and derived hard cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

mod common;

use camera::{FaceAnalyzer, Frame, Hint, QualityConfig};
use common::*;
use image::{RgbImage, imageops};

fn analyze(img: RgbImage) -> camera::FrameAnalysis {
    let mut a = FaceAnalyzer::new(QualityConfig::default()).unwrap();
    a.analyze(&Frame::from_rgb(img.width(), img.height(), img.into_raw()).unwrap())
}

#[test]
fn grace_hopper_portrait_passes_every_gate() {
    let a = analyze(grace());
    assert_eq!(a.faces, 1);
    assert!(a.accepted, "hints: {:?}", a.hints);
    let eye = a.eye_distance_px.unwrap();
    // The test data README measures about 88 px between the eyes.
    assert!((70.0..110.0).contains(&eye), "eye distance {eye}");
    assert!(a.score > 0.5);
}

#[test]
fn astronaut_face_is_found_but_too_small() {
    let a = analyze(astronaut());
    assert_eq!(a.faces, 1);
    assert!(!a.accepted);
    assert!(a.hints.contains(&Hint::MoveCloser), "{:?}", a.hints);
    // About 43 px between the eyes per the README.
    let eye = a.eye_distance_px.unwrap();
    assert!((30.0..56.0).contains(&eye), "eye distance {eye}");
}

#[test]
fn darkened_portrait_asks_for_light() {
    let a = analyze(scale_brightness(&grace(), 0.3));
    assert!(!a.accepted);
    assert_eq!(a.hints, vec![Hint::TooDark]);
}

#[test]
fn washed_out_portrait_is_too_bright() {
    let a = analyze(lift_brightness(&grace(), 160.0));
    assert!(!a.accepted);
    assert_eq!(a.hints, vec![Hint::TooBright]);
}

#[test]
fn blurred_portrait_is_blurry() {
    let a = analyze(blurred(&grace(), 4.0));
    assert!(!a.accepted);
    assert_eq!(a.hints, vec![Hint::Blurry]);
}

#[test]
fn portrait_shrunk_onto_a_720p_canvas_asks_to_move_closer() {
    let a = analyze(on_canvas(&grace(), 1280, 720, 0.45, 525, 240));
    assert_eq!(a.faces, 1, "{:?}", a.hints);
    assert!(a.hints.contains(&Hint::MoveCloser), "{:?}", a.hints);
}

#[test]
fn large_centred_portrait_on_a_720p_canvas_is_accepted() {
    let a = analyze(on_canvas(&grace(), 1280, 720, 1.4, 282, 0));
    assert_eq!(a.faces, 1);
    assert!(a.accepted, "{:?}", a.hints);
}

#[test]
fn two_people_side_by_side_are_refused() {
    let g = grace();
    let mut c = on_canvas(&g, 1280, 720, 1.1, 40, 80);
    let s = imageops::resize(&g, 563, 563, imageops::FilterType::Triangle);
    imageops::overlay(&mut c, &s, 680, 80);
    let a = analyze(c);
    assert!(a.faces >= 2, "faces {}", a.faces);
    assert!(a.hints.contains(&Hint::MultipleFaces), "{:?}", a.hints);
}

#[test]
fn face_cut_off_at_the_edge_asks_to_centre() {
    // The side of the head beyond the right edge of a 640x480 frame: still detected.
    let a = analyze(on_canvas(&grace(), 640, 480, 0.9, 330, 0));
    assert_eq!(a.faces, 1);
    assert!(a.hints.contains(&Hint::CenterFace), "{:?}", a.hints);
    // Most of the face gone: nothing to guide on.
    let gone = analyze(on_canvas(&grace(), 640, 480, 0.9, 460, 0));
    assert!(!gone.accepted);
}

#[test]
fn face_off_centre_but_whole_asks_to_centre() {
    let a = analyze(on_canvas(&grace(), 1280, 720, 1.2, 0, 50));
    assert_eq!(a.faces, 1);
    assert!(a.hints.contains(&Hint::CenterFace), "{:?}", a.hints);
}

#[test]
fn rotated_portrait_is_not_accepted() {
    let a = analyze(imageops::rotate90(&grace()));
    assert!(!a.accepted, "{:?}", a);
}

#[test]
fn pictures_without_a_face_say_no_face() {
    let astro = astronaut();
    let background = imageops::resize(
        &imageops::crop_imm(&astro, 300, 330, 200, 150).to_image(),
        640,
        480,
        imageops::FilterType::Triangle,
    );
    for img in [noise(640, 480), RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128])), background] {
        let a = analyze(img);
        assert_eq!(a.faces, 0);
        assert_eq!(a.hints, vec![Hint::NoFace]);
        assert!(a.eye_distance_px.is_none() && a.face_box.is_none());
        assert_eq!(a.score, 0.0);
    }
}

#[test]
fn tiny_and_empty_frames_do_not_panic() {
    let a = analyze(RgbImage::new(5, 3));
    assert_eq!(a.hints, vec![Hint::NoFace]);
}

#[test]
fn every_threshold_is_configurable() {
    let strict = QualityConfig { min_eye_distance_px: 200.0, ..QualityConfig::default() };
    let mut a = FaceAnalyzer::new(strict).unwrap();
    let g = grace();
    let r = a.analyze(&Frame::from_rgb(g.width(), g.height(), g.into_raw()).unwrap());
    assert_eq!(r.hints, vec![Hint::MoveCloser]);
}

#[test]
fn json_shape_has_the_documented_fields() {
    let v = serde_json::to_value(analyze(grace())).unwrap();
    for k in ["faces", "accepted", "hints", "score", "eye_distance_px", "box"] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["box"].as_array().unwrap().len(), 4);
    let none = serde_json::to_value(analyze(noise(64, 48))).unwrap();
    assert!(none["box"].is_null() && none["eye_distance_px"].is_null());
    assert_eq!(none["hints"][0], "no_face");
}

#[test]
fn blur_on_a_large_720p_face_is_still_caught() {
    // Judged at portrait scale: a big face does not hide a soft focus.
    let a = analyze(blurred(&on_canvas(&grace(), 1280, 720, 1.4, 282, 0), 3.0));
    assert_eq!(a.faces, 1);
    assert!(a.hints.contains(&Hint::Blurry), "{:?}", a.hints);
}
