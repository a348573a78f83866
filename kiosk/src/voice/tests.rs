//! The speaker thread with a scripted voice, the espeak-ng adapter for real (to a WAV
//! file, and to this machine's missing sound card), and the one telemetry event a
//! failing voice raises.

use super::espeak::Espeak;
use super::*;
use crate::outbox::{ItemKind, Limits, Outbox};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What the scripted voice was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    Speak(String),
    Stop,
}

/// Talks for `busy` after each `speak`; fails every utterance with `fail` if set.
struct Scripted {
    calls: Arc<Mutex<Vec<Call>>>,
    busy: Duration,
    until: Option<Instant>,
    fail: Option<VoiceError>,
}

impl Voice for Scripted {
    fn speak(&mut self, text: &str, _: SpeechLanguage) -> Result<(), VoiceError> {
        self.calls.lock().unwrap().push(Call::Speak(text.into()));
        self.until = Some(Instant::now() + self.busy);
        Ok(())
    }
    fn stop(&mut self) {
        self.calls.lock().unwrap().push(Call::Stop);
        self.until = None;
    }
    fn poll(&mut self) -> Result<bool, VoiceError> {
        match (&self.fail, self.until) {
            (Some(e), Some(_)) => Err(e.clone()),
            (_, Some(t)) => Ok(Instant::now() < t),
            (_, None) => Ok(false),
        }
    }
}

fn scripted(busy: Duration, fail: Option<VoiceError>) -> (Box<dyn Voice>, Arc<Mutex<Vec<Call>>>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    (Box::new(Scripted { calls: calls.clone(), busy, until: None, fail }), calls)
}

fn prompt(screen: &'static str, text: &str, hint: Option<&str>) -> Prompt {
    Prompt { screen, language: SpeechLanguage::Mandarin, voice: true, text: text.into(), hint: hint.map(Into::into) }
}

/// Waits (up to 3 s) until `done` holds for the calls made so far.
fn wait_for(calls: &Arc<Mutex<Vec<Call>>>, done: impl Fn(&[Call]) -> bool) -> Vec<Call> {
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let now = calls.lock().unwrap().clone();
        if done(&now) || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spoken(calls: &[Call]) -> Vec<&str> {
    calls
        .iter()
        .filter_map(|c| match c {
            Call::Speak(t) => Some(t.as_str()),
            Call::Stop => None,
        })
        .collect()
}

#[test]
fn the_speaker_says_each_screen_once_and_a_steady_hint_after_it() {
    let (voice, calls) = scripted(Duration::from_millis(300), None);
    let speaker = Speaker::spawn(voice, |e| panic!("no failure expected: {e}")).unwrap();
    speaker.prompt(prompt("home", "欢迎", None));
    // 30 re-renders of the capture screen (camera hints) within a second
    for i in 0..30 {
        let hint = if i < 25 { "请靠近一点" } else { "请保持不动" };
        speaker.prompt(prompt("face-capture", "请看摄像头", Some(hint)));
        std::thread::sleep(Duration::from_millis(10));
    }
    let calls = wait_for(&calls, |c| spoken(c).len() >= 3);
    assert_eq!(spoken(&calls), ["欢迎", "请看摄像头", "请保持不动"], "{calls:?}");
    // the capture screen interrupted the welcome: a stop before it was said
    let second = calls.iter().position(|c| *c == Call::Speak("请看摄像头".into())).unwrap();
    assert!(calls[..second].contains(&Call::Stop), "{calls:?}");
}

#[test]
fn a_failing_voice_turns_speech_off_and_is_reported_once() {
    let (voice, calls) = scripted(Duration::from_secs(1), Some(VoiceError::Device("cannot find card '0'".into())));
    let reports = Arc::new(AtomicUsize::new(0));
    let counted = reports.clone();
    let speaker = Speaker::spawn(voice, move |e| {
        assert_eq!(*e, VoiceError::Device("cannot find card '0'".into()));
        counted.fetch_add(1, Ordering::SeqCst);
    })
    .unwrap();
    for (i, screen) in ["home", "card-reading", "identity-confirm", "result", "rating"].into_iter().enumerate() {
        speaker.prompt(prompt(screen, &format!("第{i}句"), None));
        std::thread::sleep(Duration::from_millis(150));
    }
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(reports.load(Ordering::SeqCst), 1);
    assert_eq!(spoken(&calls.lock().unwrap()), ["第0句"], "nothing is tried after the failure");
}

/// The outbox's telemetry items, as the JSON the central service gets.
fn telemetry(outbox: &crate::outbox::sender::OutboxHandle) -> Vec<serde_json::Value> {
    let due = outbox.lock().due(i64::MAX, 100).unwrap();
    due.iter().filter(|i| i.kind == ItemKind::Telemetry).map(|i| serde_json::from_slice(&i.body).unwrap()).collect()
}

#[test]
fn a_missing_espeak_ng_sends_one_telemetry_event_without_the_words() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = crate::outbox::sender::OutboxHandle::new(Outbox::open(dir.path(), Limits::default()).unwrap());
    let alarm = VoiceAlarm::default();
    // the window's speaker starts before the outbox exists
    let espeak = Espeak::with_program(dir.path().join("no-such-espeak-ng"), 80);
    let speaker = Speaker::spawn(Box::new(espeak), alarm.reporter()).unwrap();
    let started = Instant::now();
    for screen in ["home", "card-reading", "contribution-record"] {
        speaker.prompt(prompt(screen, "缴费记录：王*明", None));
    }
    assert!(started.elapsed() < Duration::from_millis(50), "handing prompts over never waits");
    std::thread::sleep(Duration::from_millis(300));
    assert!(telemetry(&outbox).is_empty());
    alarm.report_to(&outbox);
    alarm.report_to(&outbox);
    let events = telemetry(&outbox);
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0]["events"][0];
    assert_eq!(event["kind"], "voice.unavailable");
    assert_eq!(event["severity"], "warning");
    let detail = event["detail"].as_str().unwrap();
    assert!(detail.contains("cannot run") && detail.contains("no-such-espeak-ng"), "{detail}");
    assert!(!detail.contains("王"), "the words are never reported: {detail}");
}

/// espeak-ng is installed by scripts/setup: its absence is a broken setup, not a skip.
fn require_espeak() {
    let found = std::process::Command::new("espeak-ng").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "espeak-ng is not installed: run scripts/setup (or `apt-get install espeak-ng`)"
    );
}

#[test]
fn without_a_sound_card_espeak_ng_fails_as_a_device_error_quickly() {
    require_espeak();
    let mut voice = Espeak::new(80);
    let started = Instant::now();
    voice.speak("请把身份证放在屏幕下方的读卡器上。", SpeechLanguage::Mandarin).unwrap();
    assert!(started.elapsed() < Duration::from_millis(200), "speak only starts espeak-ng: {:?}", started.elapsed());
    let outcome = loop {
        match voice.poll() {
            Ok(true) if started.elapsed() < Duration::from_secs(10) => std::thread::sleep(Duration::from_millis(10)),
            other => break other,
        }
    };
    if std::path::Path::new("/dev/snd").exists() {
        // A machine with a sound card may really play it; either way nothing hangs.
        eprintln!("this machine has /dev/snd: espeak-ng said {outcome:?}");
    } else {
        assert!(matches!(outcome, Err(VoiceError::Device(_))), "{outcome:?}");
    }
}

#[test]
fn interrupting_kills_espeak_ng_at_once() {
    require_espeak();
    let mut voice = Espeak::new(80);
    // long enough to still be running where a sound card plays it
    voice.speak(&"请把身份证放在屏幕下方的读卡器上。".repeat(20), SpeechLanguage::Mandarin).unwrap();
    let started = Instant::now();
    voice.stop();
    assert!(started.elapsed() < Duration::from_millis(100), "{:?}", started.elapsed());
    assert_eq!(voice.poll(), Ok(false), "nothing left talking");
}

/// (samples per second, channels, the 16-bit samples) of a PCM WAV file.
fn read_wav(bytes: &[u8]) -> (u32, u16, Vec<i16>) {
    assert_eq!(&bytes[0..4], b"RIFF");
    assert_eq!(&bytes[8..12], b"WAVE");
    let (mut rate, mut channels, mut samples) = (0, 0, None);
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        // espeak-ng streams: it may leave the data chunk's length unset (0 or too big)
        let body = &bytes[at + 8..(at + 8 + len).min(bytes.len())];
        match id {
            b"fmt " => {
                assert_eq!(u16::from_le_bytes([body[0], body[1]]), 1, "PCM");
                channels = u16::from_le_bytes([body[2], body[3]]);
                rate = u32::from_le_bytes(body[4..8].try_into().unwrap());
                assert_eq!(u16::from_le_bytes([body[14], body[15]]), 16, "16-bit samples");
            }
            b"data" => {
                let data = if len == 0 || len > bytes.len() { &bytes[at + 8..] } else { body };
                samples = Some(data.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect());
                break;
            }
            _ => {}
        }
        at += 8 + len + (len & 1);
    }
    (rate, channels, samples.expect("a data chunk"))
}

#[test]
fn a_prompt_renders_as_speech_of_plausible_length_in_both_languages() {
    require_espeak();
    let dir = tempfile::tempdir().unwrap();
    let voice = Espeak::new(80);
    for (language, text) in [
        (SpeechLanguage::Mandarin, "请把身份证放在屏幕下方的读卡器上。"),
        (SpeechLanguage::English, "Place your ID card on the reader below the screen."),
    ] {
        let wav = dir.path().join("prompt.wav");
        let started = Instant::now();
        voice.render_wav(text, language, &wav).unwrap();
        let took = started.elapsed();
        let (rate, channels, samples) = read_wav(&std::fs::read(&wav).unwrap());
        assert!(rate >= 8000 && channels == 1, "{rate} Hz, {channels} channels");
        let seconds = samples.len() as f64 / f64::from(rate);
        let rms = (samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / samples.len() as f64).sqrt();
        // Silence is 0; a whisper of noise a few units. Speech at 80% is in the thousands.
        eprintln!("{language:?}: {seconds:.2} s of speech, RMS {rms:.0}, rendered in {took:?}");
        assert!((0.5..20.0).contains(&seconds), "{language:?}: {seconds} s");
        assert!(rms > 500.0, "{language:?}: RMS {rms} is near silence");
        // and louder for a louder setting: the volume reaches espeak-ng
        let quiet = dir.path().join("quiet.wav");
        Espeak::new(20).render_wav(text, language, &quiet).unwrap();
        let (_, _, soft) = read_wav(&std::fs::read(&quiet).unwrap());
        let soft_rms = (soft.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / soft.len() as f64).sqrt();
        assert!(soft_rms < rms * 0.5, "{language:?}: volume 20 gave RMS {soft_rms}, 80 gave {rms}");
    }
}
