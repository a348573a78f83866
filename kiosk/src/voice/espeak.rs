//! The espeak-ng voice: one child process per utterance, the text on its stdin (never
//! on its command line, where `ps` would show a citizen's name), killed to interrupt.
//!
//! espeak-ng exits 0 even when it cannot open the sound device: it only writes ALSA's
//! complaints to stderr. So anything on stderr counts as a failure of the device.

use super::{SpeechLanguage, Voice, VoiceError};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Mandarin read as pinyin: the plain `cmn` voice reads the tone numbers aloud.
const MANDARIN: &str = "cmn-latn-pinyin";
const ENGLISH: &str = "en";

#[derive(Debug)]
pub struct Espeak {
    program: PathBuf,
    /// espeak-ng's amplitude (`-a`, 0..=200; 100 is its default).
    amplitude: u8,
    child: Option<Child>,
}

impl Espeak {
    /// The `espeak-ng` on the PATH at `volume` (0..=100, the config's).
    pub fn new(volume: u8) -> Self {
        Self::with_program("espeak-ng", volume)
    }

    /// Another binary (tests: a missing one).
    pub fn with_program(program: impl Into<PathBuf>, volume: u8) -> Self {
        Self { program: program.into(), amplitude: volume.min(100), child: None }
    }

    fn command(&self, language: SpeechLanguage) -> Command {
        let mut cmd = Command::new(&self.program);
        let voice = match language {
            SpeechLanguage::Mandarin => MANDARIN,
            SpeechLanguage::English => ENGLISH,
        };
        cmd.args(["-v", voice, "-a", &self.amplitude.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    fn start(&self, mut cmd: Command, text: &str) -> Result<Child, VoiceError> {
        let mut child = cmd.spawn().map_err(|e| VoiceError::Engine(format!("{}: {e}", self.program.display())))?;
        // A sentence is far below the pipe's buffer: this write does not wait for espeak.
        let written = child.stdin.take().map(|mut stdin| stdin.write_all(text.as_bytes()));
        if let Some(Err(e)) = written {
            let _ = child.kill();
            let _ = child.wait();
            return Err(VoiceError::Engine(format!("cannot hand the text to espeak-ng: {e}")));
        }
        Ok(child)
    }

    /// Renders `text` to a WAV file instead of the sound device, and waits for it (the
    /// same voices and settings as [`Voice::speak`]; used by the tests).
    pub fn render_wav(&self, text: &str, language: SpeechLanguage, out: &Path) -> Result<(), VoiceError> {
        let mut cmd = self.command(language);
        cmd.arg("-w").arg(out);
        let child = self.start(cmd, text)?;
        finished(child)
    }
}

/// Waits for an exited (or exiting) espeak-ng and says whether it spoke.
fn finished(mut child: Child) -> Result<(), VoiceError> {
    let status = child.wait().map_err(|e| VoiceError::Engine(e.to_string()))?;
    let mut complaints = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut complaints);
    }
    // The last line is espeak-ng's own summary ("error: No such file or directory");
    // the ALSA lines before it name the missing card.
    let last = complaints.lines().rev().find(|l| !l.trim().is_empty()).map(str::to_owned);
    match (status.success(), last) {
        (true, None) => Ok(()),
        (_, Some(line)) => Err(VoiceError::Device(line)),
        (false, None) => Err(VoiceError::Device(format!("espeak-ng failed ({status})"))),
    }
}

impl Voice for Espeak {
    fn speak(&mut self, text: &str, language: SpeechLanguage) -> Result<(), VoiceError> {
        self.stop();
        self.child = Some(self.start(self.command(language), text)?);
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Already exited is fine; either way reap it so no zombie is left.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn poll(&mut self) -> Result<bool, VoiceError> {
        let Some(child) = &mut self.child else { return Ok(false) };
        match child.try_wait() {
            Ok(None) => Ok(true),
            Ok(Some(_)) | Err(_) => match self.child.take() {
                Some(child) => finished(child).map(|()| false),
                None => Ok(false),
            },
        }
    }
}

impl Drop for Espeak {
    fn drop(&mut self) {
        self.stop();
    }
}
