//! The runner: the Slint window, the intent channel, and a cloneable handle the
//! runtime uses from any thread to show a new `View`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use slint::ComponentHandle;

use crate::bind;
use crate::model::{Frame, Intent, Orientation, View};
use crate::slint_ui as g;
use crate::speech::{self, SpokenPrompt};

/// Taps on the emblem needed, within `SECRET_WINDOW`, to open maintenance.
const SECRET_TAPS: usize = 5;
const SECRET_WINDOW: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("the windowing platform failed: {0}")]
    Platform(#[from] slint::PlatformError),
    #[error("the UI event loop is not running (window closed?): {0}")]
    EventLoopGone(#[from] slint::EventLoopError),
}

/// The kiosk window. Lives on the main thread; see [`KioskHandle`] for other threads.
pub struct KioskWindow {
    ui: g::KioskWindow,
    orientation: Orientation,
}

impl KioskWindow {
    /// Creates the window (not yet shown) and the channel its intents arrive on.
    pub fn new(orientation: Orientation) -> Result<(Self, mpsc::Receiver<Intent>), UiError> {
        let (tx, rx) = mpsc::channel();
        let window = Self::with_intent_sink(orientation, move |intent| {
            if tx.send(intent).is_err() {
                tracing::debug!(?intent, "intent dropped: the runtime stopped listening");
            }
        })?;
        Ok((window, rx))
    }

    /// Like [`KioskWindow::new`], but every intent is handed to `sink` (e.g. a tokio
    /// `UnboundedSender::send`) on the UI thread.
    pub fn with_intent_sink(orientation: Orientation, sink: impl Fn(Intent) + 'static) -> Result<Self, UiError> {
        let ui = g::KioskWindow::new()?;
        let (w, h) = orientation.size();
        ui.window().set_size(slint::LogicalSize::new(w as f32, h as f32));
        ui.global::<g::Theme>().set_portrait(orientation == Orientation::Portrait);
        connect_actions(&ui, Rc::new(sink));
        let window = Self { ui, orientation };
        window.apply(&View::default());
        Ok(window)
    }

    /// Shows `view` now. Must be called on the UI thread; other threads use the handle.
    pub fn apply(&self, view: &View) {
        bind::apply(&self.ui, view);
        speech::announce(&self.ui);
    }

    /// What the voice would say for the view shown now.
    pub fn spoken_prompt(&self) -> SpokenPrompt {
        speech::prompt(&self.ui)
    }

    /// After every view shown (from here or a [`KioskHandle`]), `sink` gets its spoken
    /// prompt, on the UI thread: it must only hand it on (e.g. a channel send), never
    /// speak there.
    pub fn on_prompt(&self, sink: impl Fn(SpokenPrompt) + 'static) {
        speech::set_sink(Rc::new(sink));
    }

    /// Replaces only the camera preview (cheap; for the 30 fps path).
    pub fn show_frame(&self, frame: &Frame) {
        bind::set_frame(&self.ui.global::<g::Vm>(), frame);
    }

    pub fn handle(&self) -> KioskHandle {
        KioskHandle { weak: self.ui.as_weak() }
    }

    pub fn orientation(&self) -> Orientation {
        self.orientation
    }

    /// Full screen on the kiosk; windowed for development and benchmarks.
    pub fn set_fullscreen(&self, fullscreen: bool) {
        self.ui.window().set_fullscreen(fullscreen);
    }

    /// Shows the window and runs the event loop until [`KioskHandle::quit`].
    pub fn run(&self) -> Result<(), UiError> {
        self.ui.show()?;
        slint::run_event_loop_until_quit()?;
        self.ui.hide()?;
        Ok(())
    }

    /// The generated Slint component, for tests (`ElementHandle`) and renderers.
    pub fn component(&self) -> &g::KioskWindow {
        &self.ui
    }
}

/// Cloneable, `Send` handle: show a view or a camera frame from any thread.
#[derive(Clone)]
pub struct KioskHandle {
    weak: slint::Weak<g::KioskWindow>,
}

impl KioskHandle {
    /// Shows `view` on the UI thread as soon as the event loop gets to it.
    pub fn show(&self, view: View) -> Result<(), UiError> {
        self.weak.upgrade_in_event_loop(move |ui| {
            bind::apply(&ui, &view);
            speech::announce(&ui);
        })?;
        Ok(())
    }

    /// Replaces only the camera preview image.
    pub fn show_frame(&self, frame: Frame) -> Result<(), UiError> {
        self.weak.upgrade_in_event_loop(move |ui| bind::set_frame(&ui.global::<g::Vm>(), &frame))?;
        Ok(())
    }

    /// Stops the event loop once the views sent before are shown; [`KioskWindow::run`] returns.
    pub fn quit(&self) -> Result<(), UiError> {
        slint::invoke_from_event_loop(|| {
            if let Err(e) = slint::quit_event_loop() {
                tracing::warn!(error = %e, "cannot stop the UI event loop");
            }
        })?;
        Ok(())
    }
}

fn connect_actions(ui: &g::KioskWindow, sink: Rc<dyn Fn(Intent)>) {
    let a = ui.global::<g::Actions>();
    // Two rules because `||` is one token: rustfmt turns `| |` into it.
    macro_rules! on {
        ($setter:ident, || $intent:expr) => {{
            let sink = sink.clone();
            a.$setter(move || sink($intent));
        }};
        ($setter:ident, |$($arg:ident),*| $intent:expr) => {{
            let sink = sink.clone();
            a.$setter(move |$($arg),*| sink($intent));
        }};
    }
    on!(on_choose_service, |s| Intent::ChooseService(bind::service_from(s)));
    on!(on_confirm, || Intent::Confirm);
    on!(on_back, || Intent::Back);
    on!(on_cancel, || Intent::Cancel);
    on!(on_retry, || Intent::Retry);
    on!(on_digit, |d| Intent::KeypadDigit(u8::try_from(d).unwrap_or(0).min(9)));
    on!(on_backspace, || Intent::KeypadBackspace);
    on!(on_clear, || Intent::KeypadClear);
    on!(on_pick_kind, |k| Intent::PickCertificateKind(bind::cert_kind_from(k)));
    on!(on_pick_period, |m| Intent::PickCertificatePeriod(bind::period_from_months(m)));
    on!(on_pick_reason, |r| Intent::PickUnemploymentReason(bind::ureason_from(r)));
    on!(on_pick_band, |p| Intent::PickBand(u16::try_from(p).unwrap_or(0)));
    on!(on_pick_job_kind, |k| Intent::PickJobKind(bind::job_kind_from(k)));
    on!(on_pick_district, |d| Intent::PickDistrict(bind::district_from(d)));
    on!(on_print, || Intent::Print);
    on!(on_rate, |gr| Intent::Rate(bind::grade_from(gr)));
    on!(on_toggle_rating_reason, |r| Intent::ToggleRatingReason(bind::rreason_from(r)));
    on!(on_skip_rating, || Intent::SkipRating);
    on!(on_toggle_language, || Intent::ToggleLanguage);
    on!(on_toggle_large_text, || Intent::ToggleLargeText);
    on!(on_toggle_voice, || Intent::ToggleVoice);
    on!(on_still_here, || Intent::StillHere);
    on!(on_self_test, |d| Intent::SelfTest(bind::device_from(d)));
    on!(on_reprint_receipt, || Intent::ReprintProvisioningReceipt);
    on!(on_redetect_devices, || Intent::RedetectDevices);
    on!(on_apply_ports, || Intent::ApplyDetectedPorts);
    on!(on_close_detection, || Intent::CloseDetection);
    on!(on_exit_maintenance, || Intent::ExitMaintenance);

    // The hidden entry: the gesture is recognised here (like a double click would be);
    // whether to open maintenance is the runtime's call.
    let taps: RefCell<Vec<Instant>> = RefCell::new(Vec::new());
    a.on_secret_tap(move || {
        let now = Instant::now();
        let mut taps = taps.borrow_mut();
        taps.retain(|t| now.duration_since(*t) < SECRET_WINDOW);
        taps.push(now);
        if taps.len() >= SECRET_TAPS {
            taps.clear();
            sink(Intent::MaintenanceGesture);
        }
    });
}
