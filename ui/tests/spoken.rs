//! What the voice says on every sample screen, in both languages, pinned in
//! tests/spoken/{zh_CN,en}.txt (one `name: text` line per screen).
//! `UI_UPDATE_SPOKEN=1` rewrites them after a deliberate change of wording.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::Kiosk;
use std::path::PathBuf;
use ui::gallery::sample_views;
use ui::*;

fn spoken(language: Language) -> Vec<(&'static str, SpokenPrompt)> {
    let kiosk = Kiosk::new(language, Orientation::Landscape);
    sample_views(language, TextSize::Normal)
        .into_iter()
        .map(|(name, view)| {
            kiosk.window.apply(&view);
            (name, kiosk.window.spoken_prompt())
        })
        .collect()
}

fn check(language: Language) {
    let path =
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/spoken")).join(format!("{}.txt", language.locale()));
    let mut text = String::new();
    for (name, prompt) in spoken(language) {
        assert_eq!(prompt.language, language, "{name}");
        assert!(!prompt.text.contains('\n'), "{name}: one line");
        text.push_str(&format!("{name}: {}\n", prompt.text));
        if let Some(hint) = prompt.hint {
            text.push_str(&format!("{name} (hint): {hint}\n"));
        }
    }
    if std::env::var_os("UI_UPDATE_SPOKEN").is_some_and(|v| v == "1") {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let pinned = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UI_UPDATE_SPOKEN=1)", path.display()));
    for (want, got) in pinned.lines().zip(text.lines()) {
        assert_eq!(got, want, "spoken text changed (UI_UPDATE_SPOKEN=1 rewrites {})", path.display());
    }
    assert_eq!(pinned.lines().count(), text.lines().count(), "screens added or removed");
}

#[test]
fn chinese_spoken_prompts_match_the_pinned_text() {
    check(Language::ZhCn);
}

#[test]
fn english_spoken_prompts_match_the_pinned_text() {
    check(Language::En);
}

#[test]
fn no_screen_is_silent_and_every_prompt_is_what_the_screen_shows() {
    let kiosk = Kiosk::new(Language::ZhCn, Orientation::Landscape);
    for language in [Language::ZhCn, Language::En] {
        for (name, view) in sample_views(language, TextSize::Normal) {
            kiosk.window.apply(&view);
            let prompt = kiosk.window.spoken_prompt();
            assert!(!prompt.text.trim().is_empty(), "{name} ({language:?}) says nothing");
            // Every sentence spoken is a text on screen. The prompt joins them with a
            // space, which Chinese sentences do not hold (the technician's screen, with
            // its "terminal · version" line, aside).
            if language == Language::ZhCn && !name.starts_with("maintenance") {
                for part in prompt.text.split(' ') {
                    assert!(kiosk.shows(part), "{name}: {part:?} is not on screen");
                }
            }
        }
    }
}

#[test]
fn the_prompt_follows_the_language_the_screen_and_the_voice_toggle() {
    let kiosk = Kiosk::english();
    let view = View { language: Language::En, screen: common::screen("card-waiting"), ..View::default() };
    kiosk.window.apply(&view);
    let prompt = kiosk.window.spoken_prompt();
    assert_eq!(prompt.screen, "card-reading");
    assert_eq!(prompt.text, "Place your ID card on the reader below the screen.");
    assert!(!prompt.voice);
    assert_eq!(prompt.hint, None);

    kiosk.window.apply(&View { language: Language::ZhCn, voice: true, ..view.clone() });
    let prompt = kiosk.window.spoken_prompt();
    assert_eq!((prompt.language, prompt.voice), (Language::ZhCn, true));
    assert!(prompt.text.contains("身份证"), "{}", prompt.text);

    // the idle question covers the screen, without its ticking seconds
    let idle = View { idle: Some(IdleCountdown { seconds_left: 9 }), ..view.clone() };
    kiosk.window.apply(&idle);
    let a = kiosk.window.spoken_prompt();
    kiosk.window.apply(&View { idle: Some(IdleCountdown { seconds_left: 8 }), ..view });
    assert_eq!((a.screen, a.text.as_str()), ("idle", "Are you still there?"));
    assert_eq!(kiosk.window.spoken_prompt(), a, "a countdown tick says nothing new");
}

#[test]
fn the_face_capture_hint_travels_apart_from_the_instruction() {
    let kiosk = Kiosk::english();
    kiosk.show(common::screen("face-capture"));
    let prompt = kiosk.window.spoken_prompt();
    assert_eq!(prompt.screen, "face-capture");
    assert!(prompt.text.starts_with("Look at the camera and follow the prompts. "), "{}", prompt.text);
    assert!(prompt.hint.is_some());
    assert!(!prompt.text.contains(prompt.hint.as_deref().unwrap()));
}

#[test]
fn every_view_shown_reaches_the_prompt_sink() {
    let kiosk = Kiosk::english();
    let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = got.clone();
    kiosk.window.on_prompt(move |p| sink.borrow_mut().push(p.screen));
    kiosk.show(common::screen("card-waiting"));
    kiosk.show(common::screen("rating"));
    assert_eq!(*got.borrow(), ["card-reading", "rating"]);
}
