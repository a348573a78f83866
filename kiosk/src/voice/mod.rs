//! Spoken guidance: each screen's instruction (and the errors it shows) read aloud in
//! the screen's language, offline, by espeak-ng.
//!
//! The words come from the window (`ui::SpokenPrompt`, the very strings the screen
//! shows); [`queue::Announcer`] decides what to say when; [`Speaker`] runs it on its own
//! thread with a [`Voice`], so speaking never waits on, or holds up, the UI thread or
//! the session core. A voice that fails (no sound card, no espeak-ng) turns speech off
//! for the rest of the run and is reported once.

pub mod espeak;
pub mod queue;

pub use queue::{Announcer, Command, Prompt, SpeechLanguage, Utterance};

use crate::outbox::sender::OutboxHandle;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

/// How often the speaker looks at its voice (utterance finished? failed?) and at the
/// time (a hint steady?) when no view arrives.
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoiceError {
    /// The speech engine cannot be started (not installed, not executable).
    #[error("the speech engine cannot run: {0}")]
    Engine(String),
    /// The engine ran but could not play (no sound card, device busy).
    #[error("no audio output: {0}")]
    Device(String),
}

/// Something that can say a sentence.
pub trait Voice: Send {
    /// Starts saying `text` (stopping anything being said) and returns at once.
    fn speak(&mut self, text: &str, language: SpeechLanguage) -> Result<(), VoiceError>;
    /// Stops talking at once.
    fn stop(&mut self);
    /// Whether it is still talking; the error of an utterance that failed.
    fn poll(&mut self) -> Result<bool, VoiceError>;
}

/// Hands prompts to the speaking thread. Cloneable, never blocks.
#[derive(Debug, Clone)]
pub struct Speaker {
    prompts: mpsc::Sender<Prompt>,
}

impl Speaker {
    /// Starts the speaking thread. `failed` is called once, on that thread, when the
    /// voice fails; speech is off from then on.
    pub fn spawn(voice: Box<dyn Voice>, failed: impl FnOnce(&VoiceError) + Send + 'static) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        std::thread::Builder::new().name("voice".into()).spawn(move || run(rx, voice, failed))?;
        Ok(Self { prompts: tx })
    }

    /// The view now on screen (call it for every view shown; repeats cost nothing).
    pub fn prompt(&self, prompt: Prompt) {
        // Gone only when the thread ended after a failure: speech is off, as intended.
        let _ = self.prompts.send(prompt);
    }
}

fn run(prompts: mpsc::Receiver<Prompt>, mut voice: Box<dyn Voice>, failed: impl FnOnce(&VoiceError)) {
    let mut announcer = Announcer::new();
    let mut waiting: Option<Utterance> = None;
    let mut screen = "";
    let outcome = loop {
        let commands = match prompts.recv_timeout(POLL) {
            Ok(p) => {
                screen = p.screen;
                announcer.view(p, Instant::now())
            }
            Err(mpsc::RecvTimeoutError::Timeout) => announcer.tick(Instant::now()),
            Err(mpsc::RecvTimeoutError::Disconnected) => break Ok(()),
        };
        let step = (|| -> Result<(), VoiceError> {
            for command in commands {
                match command {
                    Command::Stop => {
                        waiting = None;
                        voice.stop();
                    }
                    Command::Say(u) => {
                        waiting = None;
                        voice.stop();
                        voice.speak(&u.text, u.language)?;
                    }
                    Command::After(u) => waiting = Some(u),
                }
            }
            if !voice.poll()? {
                if let Some(u) = waiting.take() {
                    voice.speak(&u.text, u.language)?;
                }
            }
            Ok(())
        })();
        if let Err(e) = step {
            break Err(e);
        }
    };
    voice.stop();
    if let Err(e) = outcome {
        // The screen's name only: the words can hold the citizen's masked name.
        tracing::warn!(error = %e, screen, "speech turned off for this run: the voice failed");
        failed(&e);
        // Drain until the window goes, so senders never see an error worth logging.
        while prompts.recv().is_ok() {}
    }
}

/// Reports a failed voice to operations once: the voice fails before the outbox exists
/// (the window and its speaker start first), so the failure waits here until
/// [`VoiceAlarm::report_to`] gives it the outbox, or goes straight out after that.
#[derive(Clone, Default)]
pub struct VoiceAlarm {
    state: Arc<Mutex<AlarmState>>,
}

impl std::fmt::Debug for VoiceAlarm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VoiceAlarm")
    }
}

#[derive(Default)]
struct AlarmState {
    outbox: Option<OutboxHandle>,
    pending: Option<VoiceError>,
}

impl VoiceAlarm {
    /// For [`Speaker::spawn`]: called once when the voice fails.
    pub fn reporter(&self) -> impl FnOnce(&VoiceError) + Send + 'static {
        let state = self.state.clone();
        move |e| {
            let mut s = state.lock().unwrap_or_else(PoisonError::into_inner);
            match &s.outbox {
                Some(outbox) => crate::runtime::telemetry::voice_failed(outbox, e),
                None => s.pending = Some(e.clone()),
            }
        }
    }

    /// From now on failures go to `outbox`; one that happened before goes now.
    pub fn report_to(&self, outbox: &OutboxHandle) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(e) = s.pending.take() {
            crate::runtime::telemetry::voice_failed(outbox, &e);
        }
        s.outbox = Some(outbox.clone());
    }
}

#[cfg(test)]
mod tests;
