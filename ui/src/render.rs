//! Headless rendering of any `View` to pixels with Slint's software renderer: used by
//! the screenshot tests, `ui-gallery` and the frame-time benchmark. Installs its own
//! Slint platform, so it cannot share a process with a real window.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use image::RgbImage;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter, WindowEvent};
use slint::{ComponentHandle, PhysicalSize, Rgb8Pixel};

use crate::model::{Orientation, View};
use crate::window::{KioskWindow, UiError};

thread_local! {
    static INSTALLED: Cell<bool> = const { Cell::new(false) };
    /// The window the platform created last, picked up by `ScreenRenderer::new`.
    static CREATED: RefCell<Option<Rc<MinimalSoftwareWindow>>> = const { RefCell::new(None) };
}

/// One in-memory software window per component, so several renderers (e.g. one per
/// orientation) can live in one process.
struct HeadlessPlatform;

impl Platform for HeadlessPlatform {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        let window = MinimalSoftwareWindow::new(RepaintBufferType::ReusedBuffer);
        CREATED.with(|c| *c.borrow_mut() = Some(window.clone()));
        Ok(window)
    }

    /// A clock that never moves: animated elements (the waiting spinner) are drawn the
    /// same on every render, so screenshots are deterministic.
    fn duration_since_start(&self) -> Duration {
        Duration::ZERO
    }
}

fn install_platform() -> Result<(), UiError> {
    if INSTALLED.get() {
        return Ok(());
    }
    slint::platform::set_platform(Box::new(HeadlessPlatform))
        .map_err(|e| slint::PlatformError::Other(format!("cannot install the headless renderer: {e}")))?;
    INSTALLED.set(true);
    Ok(())
}

/// A kiosk window that renders into memory instead of onto a screen.
pub struct ScreenRenderer {
    window: Rc<MinimalSoftwareWindow>,
    kiosk: KioskWindow,
    buffer: Vec<Rgb8Pixel>,
    size: (u32, u32),
    /// Bounding box (width, height) of what the last redraw touched.
    last_area: (u32, u32),
}

impl ScreenRenderer {
    /// Installs the headless platform (once per process) and creates the window.
    pub fn new(orientation: Orientation) -> Result<Self, UiError> {
        Self::with_scale(orientation, 1.0)
    }

    /// Renders the same 1920x1080 (or 1080x1920) layout at `scale` x the pixels, e.g.
    /// 1/3 for small reference images (the layout is unchanged, only rasterised smaller).
    pub fn with_scale(orientation: Orientation, scale: f32) -> Result<Self, UiError> {
        install_platform()?;
        let (kiosk, _intents) = KioskWindow::new(orientation)?;
        let window = CREATED
            .with(|c| c.borrow_mut().take())
            .ok_or_else(|| slint::PlatformError::Other("the headless platform made no window".into()))?;
        let (w, h) = orientation.size();
        let size = ((w as f32 * scale).round() as u32, (h as f32 * scale).round() as u32);
        window.dispatch_event(WindowEvent::ScaleFactorChanged { scale_factor: scale });
        window.set_size(PhysicalSize::new(size.0, size.1));
        kiosk.component().window().show()?;
        Ok(Self {
            window,
            kiosk,
            buffer: vec![Rgb8Pixel::default(); (size.0 * size.1) as usize],
            size,
            last_area: (0, 0),
        })
    }

    pub fn kiosk(&self) -> &KioskWindow {
        &self.kiosk
    }

    /// Shows `view` and renders it; returns the full-size picture.
    pub fn render(&mut self, view: &View) -> RgbImage {
        self.kiosk.apply(view);
        self.redraw();
        self.image()
    }

    /// Renders whatever changed since the last frame (partial rendering: the cheap path,
    /// e.g. a new camera frame); returns whether anything was drawn.
    pub fn redraw(&mut self) -> bool {
        slint::platform::update_timers_and_animations();
        let w = self.size.0;
        let buffer = &mut self.buffer;
        let mut area = self.last_area;
        let drawn = self.window.draw_if_needed(|renderer| {
            let region = renderer.render(buffer, w as usize);
            let size = region.bounding_box_size();
            area = (size.width, size.height);
        });
        self.last_area = area;
        drawn
    }

    /// Width and height of the bounding box of what the last drawing redrew (the whole
    /// window after a screen change, the preview area after a camera frame).
    pub fn last_redrawn_area(&self) -> (u32, u32) {
        self.last_area
    }

    /// The last rendered frame.
    pub fn image(&self) -> RgbImage {
        let (w, h) = self.size;
        let mut bytes = Vec::with_capacity(self.buffer.len() * 3);
        for p in &self.buffer {
            bytes.extend_from_slice(&[p.r, p.g, p.b]);
        }
        RgbImage::from_raw(w, h, bytes).unwrap_or_else(|| RgbImage::new(w, h))
    }
}

/// Every pixel is compared per channel; the share of pixels differing by more than
/// `channel_tolerance` is returned (0.0 = identical). Different sizes give 1.0.
pub fn difference(a: &RgbImage, b: &RgbImage, channel_tolerance: u8) -> f64 {
    if a.dimensions() != b.dimensions() {
        return 1.0;
    }
    let differing = a
        .pixels()
        .zip(b.pixels())
        .filter(|(p, q)| p.0.iter().zip(q.0.iter()).any(|(x, y)| x.abs_diff(*y) > channel_tolerance))
        .count();
    differing as f64 / f64::from(a.width() * a.height()).max(1.0)
}
