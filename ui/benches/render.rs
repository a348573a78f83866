//! Software-renderer CPU cost of the two paths that matter, headless into a 1920x1080
//! RGB888 buffer (no window system, no present): a screen change (full redraw) and one
//! new camera frame on the face-capture screen (partial redraw of the preview only).
//! The printed areas say what each redraw covered. Run in release (`cargo bench`); in a
//! dev build the renderer's drawing code, generic over the pixel type, is instantiated in
//! this crate and so compiled without optimisation (see README, Performance).

use criterion::{Criterion, criterion_group, criterion_main};
use ui::gallery::{sample_views, synthetic_frame};
use ui::render::ScreenRenderer;
use ui::{Language, Orientation, TextSize};

fn render(c: &mut Criterion) {
    let Ok(mut renderer) = ScreenRenderer::new(Orientation::Landscape) else { return };
    let views = sample_views(Language::ZhCn, TextSize::Normal);
    let home = views.iter().find(|(n, _)| *n == "home").map(|(_, v)| v.clone()).unwrap_or_default();
    let Some(face) = views.iter().find(|(n, _)| *n == "face-capture").map(|(_, v)| v.clone()) else { return };

    renderer.render(&home);
    renderer.render(&face);
    let (w, h) = renderer.last_redrawn_area();
    eprintln!("screen change home <-> face-capture redraws {w}x{h} px");
    let mut toggle = false;
    c.bench_function("screen_change_full_redraw_1920x1080", |b| {
        b.iter(|| {
            toggle = !toggle;
            renderer.render(if toggle { &home } else { &face })
        })
    });

    renderer.render(&face);
    let frames: Vec<_> = (0..30).map(synthetic_frame).collect();
    renderer.kiosk().show_frame(&frames[1]);
    renderer.redraw();
    let (w, h) = renderer.last_redrawn_area();
    eprintln!("camera frame (640x480 source, scaled into the preview) redraws {w}x{h} px");
    let mut n = 0;
    // show_frame (copy into a Slint image) + partial redraw: what one frame at 30 fps costs.
    c.bench_function("camera_frame_partial_redraw_preview_of_1920x1080", |b| {
        b.iter(|| {
            n += 1;
            renderer.kiosk().show_frame(&frames[n % frames.len()]);
            renderer.redraw()
        })
    });
    // the copy alone, to tell it from the drawing
    c.bench_function("camera_frame_copy_only_640x480", |b| {
        b.iter(|| {
            n += 1;
            renderer.kiosk().show_frame(&frames[n % frames.len()]);
        })
    });
}

criterion_group!(benches, render);
criterion_main!(benches);
