//! Renders every screen with the software renderer — both languages, both orientations,
//! normal and large text — and compares each, rasterised at a third of the pixels
//! (640x360 / 360x640, the same layout), against the committed
//! PNG under tests/reference/. `UI_UPDATE_REFERENCES=1` rewrites the references.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use image::RgbImage;
use ui::gallery::sample_views;
use ui::render::{ScreenRenderer, difference};
use ui::{Language, Orientation, TextSize};

/// A pixel counts as changed when a channel moves by more than this (anti-aliasing and
/// font hinting noise stay below it).
const CHANNEL_TOLERANCE: u8 = 40;
/// Share of changed pixels allowed per screen.
const MAX_CHANGED: f64 = 0.004;

fn reference_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/reference"))
}

/// References are small: the full layout rendered at a third of the pixels.
const SCALE: f32 = 1.0 / 3.0;

fn check(orientation: Orientation, language: Language, text_size: TextSize) {
    let combo = format!(
        "{}-{}{}",
        if orientation == Orientation::Landscape { "landscape" } else { "portrait" },
        language.locale(),
        if text_size == TextSize::Large { "-large" } else { "" }
    );
    let update = std::env::var_os("UI_UPDATE_REFERENCES").is_some_and(|v| v == "1");
    let mut renderer = ScreenRenderer::with_scale(orientation, SCALE).unwrap();
    let mut failures = Vec::new();
    for (name, view) in sample_views(language, text_size) {
        let got = renderer.render(&view);
        let path = reference_dir().join(format!("{combo}-{name}.png"));
        if update {
            std::fs::create_dir_all(reference_dir()).unwrap();
            got.save(&path).unwrap();
            continue;
        }
        let Ok(want) = image::open(&path).map(|i| i.to_rgb8()) else {
            failures.push(format!("{name}: no reference {} (run with UI_UPDATE_REFERENCES=1)", path.display()));
            continue;
        };
        let changed = difference(&got, &want, CHANNEL_TOLERANCE);
        if changed > MAX_CHANGED {
            let actual = std::env::temp_dir().join(format!("ui-actual-{combo}-{name}.png"));
            let _ = got.save(&actual);
            failures.push(format!("{name}: {:.2}% of pixels changed; see {}", changed * 100.0, actual.display()));
        }
    }
    assert!(failures.is_empty(), "{combo}:\n{}", failures.join("\n"));
}

#[test]
fn landscape_chinese_matches_references() {
    check(Orientation::Landscape, Language::ZhCn, TextSize::Normal);
}

#[test]
fn landscape_english_matches_references() {
    check(Orientation::Landscape, Language::En, TextSize::Normal);
}

#[test]
fn landscape_chinese_large_text_matches_references() {
    check(Orientation::Landscape, Language::ZhCn, TextSize::Large);
}

#[test]
fn landscape_english_large_text_matches_references() {
    check(Orientation::Landscape, Language::En, TextSize::Large);
}

#[test]
fn portrait_chinese_matches_references() {
    check(Orientation::Portrait, Language::ZhCn, TextSize::Normal);
}

#[test]
fn portrait_english_matches_references() {
    check(Orientation::Portrait, Language::En, TextSize::Normal);
}

#[test]
fn portrait_chinese_large_text_matches_references() {
    check(Orientation::Portrait, Language::ZhCn, TextSize::Large);
}

#[test]
fn portrait_english_large_text_matches_references() {
    check(Orientation::Portrait, Language::En, TextSize::Large);
}

#[test]
fn a_changed_screen_is_caught_by_the_comparison() {
    let mut renderer = ScreenRenderer::with_scale(Orientation::Landscape, SCALE).unwrap();
    let views = sample_views(Language::ZhCn, TextSize::Normal);
    let home = renderer.render(&views[0].1);
    let degraded = renderer.render(&views[1].1);
    assert_eq!(difference(&home, &home, CHANNEL_TOLERANCE), 0.0);
    assert!(difference(&home, &degraded, CHANNEL_TOLERANCE) > MAX_CHANGED, "two unavailable tiles must not pass");
}

#[test]
fn chinese_text_is_drawn_with_a_cjk_font() {
    // With no CJK font the software renderer draws nothing (or boxes) for 参保证明; compare
    // the tile area of the two languages: Chinese glyphs must put ink where English does.
    let mut renderer = ScreenRenderer::new(Orientation::Landscape).unwrap();
    let zh = renderer.render(&sample_views(Language::ZhCn, TextSize::Normal)[0].1);
    let ink = |img: &RgbImage| img.pixels().filter(|p| p.0.iter().all(|&c| c < 90)).count();
    assert!(ink(&zh) > 5_000, "dark text pixels on the Chinese home screen: {}", ink(&zh));
}
