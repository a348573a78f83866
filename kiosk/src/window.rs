//! The Slint window as the runtime's screen: a `ScreenSink` that presents the core's
//! screens through the [`Presenter`], and a thread that turns the window's intents
//! into core events. The window itself lives on the main thread (`ui::KioskWindow`).

use crate::present::{Presenter, local_time};
use crate::runtime::ScreenSink;
use session::{Event, Screen};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;
use ui::{Intent, KioskHandle};

/// How often the start screen's clock is redrawn when nothing else happens.
const CLOCK_REFRESH: Duration = Duration::from_secs(20);

/// Shows the core's screens in the window. Cloneable; every clone shares the presenter.
#[derive(Clone)]
pub struct WindowScreens {
    presenter: Arc<Mutex<Presenter>>,
    handle: KioskHandle,
}

impl std::fmt::Debug for WindowScreens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WindowScreens")
    }
}

impl WindowScreens {
    pub fn new(handle: KioskHandle, language: ui::Language) -> Self {
        Self { presenter: Arc::new(Mutex::new(Presenter::with_language(language))), handle }
    }

    /// Names the terminal on the maintenance screen (known once it is enrolled).
    pub fn set_terminal_id(&self, id: &str) {
        self.lock().set_terminal_id(id);
    }

    /// Whether every citizen starts with the voice on (`voice.on_by_default`).
    pub fn set_voice_default(&self, on: bool) {
        self.lock().set_voice_default(on);
    }

    /// Says the terminal also reads social security cards.
    pub fn set_social_security_card(&self, yes: bool) {
        self.lock().set_social_security_card(yes);
    }

    fn lock(&self) -> MutexGuard<'_, Presenter> {
        self.presenter.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends the current view. Called with the presenter locked so that views reach the
    /// window in the order they were made.
    fn redraw(&self, presenter: &Presenter) {
        let view = presenter.view(local_time(time::OffsetDateTime::now_utc()));
        if let Err(e) = self.handle.show(view) {
            tracing::warn!(error = %e, "the window is gone; view not shown");
        }
    }

    /// Runs until the window's intent channel closes (the window was dropped): each
    /// intent goes through the presenter, its events to the core, and the window is
    /// redrawn. Blocking: run it on its own thread.
    pub fn forward_intents(&self, intents: std::sync::mpsc::Receiver<Intent>, events: mpsc::Sender<Event>) {
        loop {
            let intent = match intents.recv_timeout(CLOCK_REFRESH) {
                Ok(intent) => intent,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    let presenter = self.lock();
                    self.redraw(&presenter);
                    continue;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
            };
            let out = {
                let mut presenter = self.lock();
                let out = presenter.intent(intent);
                self.redraw(&presenter);
                out
            };
            for event in out {
                if events.blocking_send(event).is_err() {
                    tracing::info!("the runtime stopped; intents are no longer forwarded");
                    return;
                }
            }
        }
    }
}

impl ScreenSink for WindowScreens {
    fn show(&self, screen: &Screen) {
        let mut presenter = self.lock();
        presenter.show(screen.clone());
        self.redraw(&presenter);
    }

    fn countdown(&self, seconds_left: Option<u32>) {
        let mut presenter = self.lock();
        presenter.countdown(seconds_left);
        self.redraw(&presenter);
    }

    fn printing(&self, percent: u8) {
        let mut presenter = self.lock();
        presenter.printing(percent);
        self.redraw(&presenter);
    }

    /// Straight to the window (the 30 fps path); the presenter is not involved.
    fn frame(&self, preview: camera::Preview) {
        let frame = ui::model::Frame { width: preview.width, height: preview.height, rgb: preview.rgb };
        if let Err(e) = self.handle.show_frame(frame) {
            tracing::debug!(error = %e, "camera frame not shown: the window is gone");
        }
    }
}

/// The window's spoken prompt as the voice takes it.
pub fn voice_prompt(p: ui::SpokenPrompt) -> crate::voice::Prompt {
    crate::voice::Prompt {
        screen: p.screen,
        language: match p.language {
            ui::Language::ZhCn => crate::voice::SpeechLanguage::Mandarin,
            ui::Language::En => crate::voice::SpeechLanguage::English,
        },
        voice: p.voice,
        text: p.text,
        hint: p.hint,
    }
}
