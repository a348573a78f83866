//! Software-renderer CPU cost of the two paths that matter, headless into a 1920x1080
//! RGB888 buffer (no window system, no present): a screen change (full redraw) and one
//! new camera frame on the face-capture screen (partial redraw of the preview only).
//! The printed areas say what each redraw covered. Criterion measures wall-clock time,
//! which other processes on a loaded machine stretch; the `_thread_cpu` variant counts
//! only this thread's CPU time, like `bench/run`. Run in release (`cargo bench`); in a
//! dev build the renderer's drawing code, generic over the pixel type, is instantiated in
//! this crate and so compiled without optimisation (see README, Performance).

use std::time::Duration;

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
    if thread_cpu().is_some() {
        c.bench_function("camera_frame_partial_redraw_preview_thread_cpu", |b| {
            b.iter_custom(|iters| {
                let start = thread_cpu().unwrap_or_default();
                for _ in 0..iters {
                    n += 1;
                    renderer.kiosk().show_frame(&frames[n % frames.len()]);
                    renderer.redraw();
                }
                thread_cpu().unwrap_or_default().saturating_sub(start)
            })
        });
    }
    // the copy alone, to tell it from the drawing
    c.bench_function("camera_frame_copy_only_640x480", |b| {
        b.iter(|| {
            n += 1;
            renderer.kiosk().show_frame(&frames[n % frames.len()]);
        })
    });
}

/// CPU time this thread has run so far (Linux: /proc/thread-self/schedstat, in ns).
fn thread_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(stat.split_whitespace().next()?.parse().ok()?))
}

criterion_group!(benches, render);
criterion_main!(benches);
