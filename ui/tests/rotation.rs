//! A turned screen with unturned touch is a known trap: the picture turns, the finger
//! lands where the unturned picture was. This draws a small mark with Slint's own
//! software renderer turned each of the four ways (what the LinuxKMS backend does with
//! `SLINT_KMS_ROTATION`: `renderer/sw.rs` hands the same rotation to this renderer),
//! finds where the mark lands on the panel, touches it there, and follows the touch the
//! way the backend does (`calloop_backend/input.rs`: libinput's calibrated, normalised
//! position times the turned window's size). With `Rotation::touch_calibration` the touch
//! reaches the mark at every angle; without it (identity), it misses at 90, 180 and 270.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::rc::Rc;

use slint::platform::software_renderer::{MinimalSoftwareWindow, RenderingRotation, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};
use slint::{ComponentHandle, PhysicalSize, Rgb8Pixel};
use ui::Rotation;
use ui::rotation::{IDENTITY, apply};

slint::slint! {
    export component Mark inherits Window {
        background: black;
        // Away from the middle and the diagonals, so that no wrong turn can land on it.
        Rectangle { x: 5px; y: 3px; width: 2px; height: 2px; background: red; }
    }
}

/// The window (the picture, before turning), in pixels.
const W: u32 = 40;
const H: u32 = 30;
/// The mark's centre in the picture.
const MARK: (f32, f32) = (6.0, 4.0);

struct OneWindow(Rc<MinimalSoftwareWindow>);

impl Platform for OneWindow {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.0.clone())
    }
}

/// How the LinuxKMS backend parses `SLINT_KMS_ROTATION` into the renderer's rotation.
fn renderer_rotation(rotation: Rotation) -> RenderingRotation {
    match rotation.slint_kms_rotation().as_str() {
        "0" => RenderingRotation::NoRotation,
        "90" => RenderingRotation::Rotate90,
        "180" => RenderingRotation::Rotate180,
        "270" => RenderingRotation::Rotate270,
        other => panic!("Slint would refuse SLINT_KMS_ROTATION={other}"),
    }
}

/// Draws the mark turned by `rotation`; returns the panel's size and where on it the
/// mark's centre is, in panel pixels.
fn mark_on_panel(window: &MinimalSoftwareWindow, rotation: Rotation) -> ((f32, f32), (f32, f32)) {
    let (pw, ph) = match rotation {
        Rotation::Deg90 | Rotation::Deg270 => (H, W),
        _ => (W, H),
    };
    let mut panel = vec![Rgb8Pixel { r: 0, g: 0, b: 0 }; (pw * ph) as usize];
    window.request_redraw();
    let drawn = window.draw_if_needed(|renderer| {
        renderer.set_repaint_buffer_type(RepaintBufferType::NewBuffer);
        renderer.set_rendering_rotation(renderer_rotation(rotation));
        renderer.render(&mut panel, pw as usize);
    });
    assert!(drawn, "{rotation:?}: nothing drawn");
    let red: Vec<(f32, f32)> = panel
        .iter()
        .enumerate()
        .filter(|(_, p)| p.r > 200 && p.g < 60 && p.b < 60)
        .map(|(i, _)| ((i as u32 % pw) as f32 + 0.5, (i as u32 / pw) as f32 + 0.5))
        .collect();
    assert_eq!(red.len(), 4, "{rotation:?}: the 2x2 mark should be 4 red pixels, found {}", red.len());
    let n = red.len() as f32;
    let centre = (red.iter().map(|p| p.0).sum::<f32>() / n, red.iter().map(|p| p.1).sum::<f32>() / n);
    ((pw as f32, ph as f32), centre)
}

/// Where the backend delivers a touch at `panel_point`, with calibration `matrix`.
fn touch_lands(matrix: [f32; 6], (pw, ph): (f32, f32), panel_point: (f32, f32)) -> (f32, f32) {
    // libinput: the panel's position normalised to 0..1, then the calibration matrix;
    // Slint: times the (turned) window's width and height.
    let (x, y) = apply(matrix, (panel_point.0 / pw, panel_point.1 / ph));
    (x * W as f32, y * H as f32)
}

fn distance(a: (f32, f32), b: (f32, f32)) -> f32 {
    ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
}

#[test]
fn a_touch_on_the_drawn_mark_reaches_it_at_every_rotation_and_unturned_touch_would_miss() {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(OneWindow(window.clone()))).unwrap();
    let mark = Mark::new().unwrap();
    mark.show().unwrap();
    window.set_size(PhysicalSize::new(W, H));

    for rotation in Rotation::ALL {
        let (panel, on_panel) = mark_on_panel(&window, rotation);
        let reached = touch_lands(rotation.touch_calibration(), panel, on_panel);
        assert!(
            distance(reached, MARK) < 0.75,
            "{rotation:?}: the mark is drawn at {on_panel:?} on the panel, a touch there reaches {reached:?}, not {MARK:?}"
        );
        let unturned = touch_lands(IDENTITY, panel, on_panel);
        if rotation == Rotation::Deg0 {
            assert!(distance(unturned, MARK) < 0.75);
        } else {
            assert!(
                distance(unturned, MARK) > 5.0,
                "{rotation:?}: without the calibration the touch should miss the mark, reached {unturned:?}"
            );
        }
    }
    mark.hide().unwrap();
}
