//! When to speak: a pure state machine over the prompts of the views shown and the
//! time (passed in; no clock, no I/O), tested without a voice.
//!
//! - A new screen, or new words on it (an error appeared, the language changed), stops
//!   what is being said and says the new prompt.
//! - The same prompt again (a camera hint, a countdown tick, a progress bar re-rendered
//!   the screen) changes nothing: the sentence is not restarted.
//! - The face-capture hint changes many times a second: it is said only once it has
//!   held for [`HINT_STEADY`], at most every [`HINT_GAP`], after the sentence being said
//!   (never cutting it), and not again while it stays the same.
//! - Voice off stops at once.

use std::time::{Duration, Instant};

/// How long a face-capture hint must hold before it is said.
pub const HINT_STEADY: Duration = Duration::from_secs(1);
/// The least time between two spoken hints.
pub const HINT_GAP: Duration = Duration::from_secs(3);

/// The language to speak in (the screen's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpeechLanguage {
    Mandarin,
    English,
}

/// What the screen shows now, as far as the voice cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// The screen's name, for logs (never log `text`: it can hold a masked name).
    pub screen: &'static str,
    pub language: SpeechLanguage,
    /// The citizen has the voice on.
    pub voice: bool,
    pub text: String,
    /// The face-capture guidance line, if any.
    pub hint: Option<String>,
}

/// One thing to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Utterance {
    pub text: String,
    pub language: SpeechLanguage,
}

/// What the speaker must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Stop talking and forget anything waiting.
    Stop,
    /// Stop talking, forget anything waiting, and say this now.
    Say(Utterance),
    /// Say this when the current utterance ends; it replaces anything already waiting
    /// (a newer hint makes an older one pointless).
    After(Utterance),
}

#[derive(Debug, Default)]
pub struct Announcer {
    /// The prompt last said, to tell a new one from a re-render.
    said: Option<(&'static str, SpeechLanguage, String)>,
    /// A hint seen but not yet steady long enough, and since when.
    pending: Option<(Utterance, Instant)>,
    /// The hint last said on this screen, and when.
    last_hint: Option<(String, Instant)>,
}

impl Announcer {
    pub fn new() -> Self {
        Self::default()
    }

    /// A view was shown at `now`.
    pub fn view(&mut self, prompt: Prompt, now: Instant) -> Vec<Command> {
        if !prompt.voice {
            let was_speaking = self.said.is_some();
            *self = Self::default();
            return if was_speaking { vec![Command::Stop] } else { vec![] };
        }
        let mut out = Vec::new();
        let key = (prompt.screen, prompt.language, prompt.text);
        if self.said.as_ref() != Some(&key) {
            let screen_changed = self.said.as_ref().is_none_or(|(s, _, _)| *s != key.0);
            out.push(Command::Say(Utterance { text: key.2.clone(), language: key.1 }));
            if screen_changed {
                self.last_hint = None;
            }
            self.pending = None;
            self.said = Some(key);
        }
        match prompt.hint {
            None => self.pending = None,
            Some(hint) => {
                let already_said = self.last_hint.as_ref().is_some_and(|(h, _)| *h == hint);
                let already_pending = self.pending.as_ref().is_some_and(|(u, _)| u.text == hint);
                if already_said {
                    self.pending = None;
                } else if !already_pending {
                    self.pending = Some((Utterance { text: hint, language: prompt.language }, now));
                }
            }
        }
        out.extend(self.tick(now));
        out
    }

    /// Time passed with no new view: a hint may have become steady.
    pub fn tick(&mut self, now: Instant) -> Vec<Command> {
        let Some((hint, since)) = &self.pending else { return vec![] };
        let steady = now.saturating_duration_since(*since) >= HINT_STEADY;
        let spaced = self.last_hint.as_ref().is_none_or(|(_, at)| now.saturating_duration_since(*at) >= HINT_GAP);
        if !(steady && spaced) {
            return vec![];
        }
        let hint = hint.clone();
        self.last_hint = Some((hint.text.clone(), now));
        self.pending = None;
        vec![Command::After(hint)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt(screen: &'static str, text: &str) -> Prompt {
        Prompt { screen, language: SpeechLanguage::Mandarin, voice: true, text: text.into(), hint: None }
    }

    fn face(hint: &str) -> Prompt {
        Prompt { hint: Some(hint.into()), ..prompt("face-capture", "请看摄像头") }
    }

    fn say(text: &str) -> Command {
        Command::Say(Utterance { text: text.into(), language: SpeechLanguage::Mandarin })
    }

    fn after(text: &str) -> Command {
        Command::After(Utterance { text: text.into(), language: SpeechLanguage::Mandarin })
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_new_screen_interrupts_and_says_its_prompt() {
        let t = Instant::now();
        let mut a = Announcer::new();
        assert_eq!(a.view(prompt("home", "欢迎"), t), vec![say("欢迎")]);
        assert_eq!(a.view(prompt("card-reading", "请放身份证"), t + 200 * MS), vec![say("请放身份证")]);
    }

    #[test]
    fn the_same_screen_re_rendered_does_not_restart_the_prompt() {
        let t = Instant::now();
        let mut a = Announcer::new();
        a.view(prompt("printing", "正在打印"), t);
        for i in 1..50 {
            assert_eq!(a.view(prompt("printing", "正在打印"), t + i * 33 * MS), vec![], "frame {i}");
            assert_eq!(a.tick(t + i * 40 * MS), vec![]);
        }
    }

    #[test]
    fn new_words_on_the_same_screen_or_another_language_are_said() {
        let t = Instant::now();
        let mut a = Announcer::new();
        a.view(prompt("progress-lookup", "请输入受理号"), t);
        assert_eq!(
            a.view(prompt("progress-lookup", "请输入受理号 受理号无效"), t),
            vec![say("请输入受理号 受理号无效")]
        );
        let english = Prompt { language: SpeechLanguage::English, ..prompt("progress-lookup", "Type it") };
        assert_eq!(
            a.view(english, t),
            vec![Command::Say(Utterance { text: "Type it".into(), language: SpeechLanguage::English })]
        );
    }

    #[test]
    fn voice_off_stops_once_and_on_again_says_the_screen() {
        let t = Instant::now();
        let mut a = Announcer::new();
        a.view(prompt("home", "欢迎"), t);
        let off = Prompt { voice: false, ..prompt("home", "欢迎") };
        assert_eq!(a.view(off.clone(), t), vec![Command::Stop]);
        assert_eq!(a.view(off, t), vec![]);
        assert_eq!(a.view(prompt("home", "欢迎"), t), vec![say("欢迎")]);
    }

    #[test]
    fn a_hint_is_said_only_after_it_held_for_a_second_and_after_the_prompt() {
        let t = Instant::now();
        let mut a = Announcer::new();
        assert_eq!(a.view(face("请靠近一点"), t), vec![say("请看摄像头")]);
        assert_eq!(a.tick(t + 999 * MS), vec![]);
        assert_eq!(a.tick(t + 1000 * MS), vec![after("请靠近一点")]);
        // said once: the same hint again and again is not repeated
        assert_eq!(a.view(face("请靠近一点"), t + 1100 * MS), vec![]);
        assert_eq!(a.tick(t + 10_000 * MS), vec![]);
    }

    #[test]
    fn a_flickering_hint_is_never_said() {
        let t = Instant::now();
        let mut a = Announcer::new();
        a.view(face("请靠近一点"), t);
        // the camera changes its mind every 300 ms for ten seconds
        for i in 1..=33u32 {
            let hint = if i % 2 == 0 { "请靠近一点" } else { "请保持不动" };
            let out = a.view(face(hint), t + i * 300 * MS);
            assert_eq!(out, vec![], "at {} ms", i * 300);
        }
    }

    #[test]
    fn hints_are_spaced_and_a_new_screen_forgets_them() {
        let t = Instant::now();
        let mut a = Announcer::new();
        a.view(face("请靠近一点"), t);
        assert_eq!(a.tick(t + 1000 * MS), vec![after("请靠近一点")]);
        a.view(face("请保持不动"), t + 1200 * MS);
        // steady from 2.2 s, but the last hint was said at 1 s: wait until 4 s
        assert_eq!(a.tick(t + 2500 * MS), vec![]);
        assert_eq!(a.tick(t + 4000 * MS), vec![after("请保持不动")]);
        // another screen, then back: the same hint may be said again
        a.view(prompt("result", "完成"), t + 5000 * MS);
        assert_eq!(a.view(face("请保持不动"), t + 5100 * MS), vec![say("请看摄像头")]);
        assert_eq!(a.tick(t + 6100 * MS), vec![after("请保持不动")]);
    }
}
