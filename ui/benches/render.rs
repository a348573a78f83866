//! Software-renderer cost of the two paths that matter: drawing a whole screen (a
//! screen change) and drawing one new camera frame on the face-capture screen (30 fps).

use criterion::{Criterion, criterion_group, criterion_main};
use ui::gallery::{sample_views, synthetic_frame};
use ui::render::ScreenRenderer;
use ui::{Language, Orientation, TextSize};

fn render(c: &mut Criterion) {
    let Ok(mut renderer) = ScreenRenderer::new(Orientation::Landscape) else { return };
    let views = sample_views(Language::ZhCn, TextSize::Normal);
    let home = views.iter().find(|(n, _)| *n == "home").map(|(_, v)| v.clone()).unwrap_or_default();
    let Some(face) = views.iter().find(|(n, _)| *n == "face-capture").map(|(_, v)| v.clone()) else { return };
    let mut toggle = false;
    c.bench_function("screen_change_home_to_face_capture_1920x1080", |b| {
        b.iter(|| {
            toggle = !toggle;
            renderer.render(if toggle { &home } else { &face })
        })
    });
    renderer.render(&face);
    let frames: Vec<_> = (0..30).map(synthetic_frame).collect();
    let mut n = 0;
    c.bench_function("camera_frame_update_640x480_preview", |b| {
        b.iter(|| {
            n += 1;
            renderer.kiosk().show_frame(&frames[n % frames.len()]);
            renderer.redraw()
        })
    });
}

criterion_group!(benches, render);
criterion_main!(benches);
