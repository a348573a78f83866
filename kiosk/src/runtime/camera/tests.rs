//! The camera seam: every camera hint code has its screen wording, and real capture
//! sessions over synthetic sources end in a portrait, a refusal or a camera fault.

use super::*;
use camera::{SyntheticSource, SyntheticStep};
use std::sync::Mutex as StdMutex;

/// The Grace Hopper portrait of `testdata/faces` (public domain) and where its nose is.
const TEST_FACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/faces/grace_hopper_512x512.jpg");
const TEST_NOSE: (f32, f32) = (273.0, 206.0);

/// Every hint the camera crate can give. The match has no wildcard, so a new camera
/// hint fails to compile here until it is listed (and then the table test covers it).
const EVERY_HINT: [Hint; 10] = [
    Hint::NoFace,
    Hint::MultipleFaces,
    Hint::MoveCloser,
    Hint::MoveBack,
    Hint::CenterFace,
    Hint::TurnToCamera,
    Hint::TooDark,
    Hint::TooBright,
    Hint::Blurry,
    Hint::HoldStill,
];

fn position(hint: Hint) -> usize {
    match hint {
        Hint::NoFace => 0,
        Hint::MultipleFaces => 1,
        Hint::MoveCloser => 2,
        Hint::MoveBack => 3,
        Hint::CenterFace => 4,
        Hint::TurnToCamera => 5,
        Hint::TooDark => 6,
        Hint::TooBright => 7,
        Hint::Blurry => 8,
        Hint::HoldStill => 9,
    }
}

fn analysis(face_box: Option<[f32; 4]>) -> FrameAnalysis {
    FrameAnalysis {
        faces: usize::from(face_box.is_some()),
        accepted: false,
        hints: vec![],
        score: 0.0,
        eye_distance_px: None,
        face_box,
        yaw_deg: None,
        brightness: None,
        sharpness: None,
        width: 640,
        height: 480,
        all_faces: vec![],
    }
}

#[test]
fn every_camera_hint_code_has_its_screen_hint() {
    let on_left = analysis(Some([40.0, 100.0, 160.0, 200.0])); // face centre x = 120 of 640
    let on_right = analysis(Some([440.0, 100.0, 160.0, 200.0])); // face centre x = 520
    let table = [
        ("no_face", &on_left, FaceHint::NoFace),
        ("multiple_faces", &on_left, FaceHint::MultipleFaces),
        ("move_closer", &on_left, FaceHint::MoveCloser),
        ("move_back", &on_left, FaceHint::MoveBack),
        // The camera sees the citizen mirrored: a face on the picture's left belongs to
        // someone standing too far to their right.
        ("center_face", &on_left, FaceHint::MoveLeft),
        ("center_face", &on_right, FaceHint::MoveRight),
        ("turn_to_camera", &on_left, FaceHint::LookStraight),
        ("too_dark", &on_left, FaceHint::TooDark),
        ("too_bright", &on_left, FaceHint::TooBright),
        ("blurry", &on_left, FaceHint::Blurry),
        ("hold_still", &on_left, FaceHint::HoldStill),
    ];
    for (i, hint) in EVERY_HINT.iter().enumerate() {
        assert_eq!(position(*hint), i, "EVERY_HINT lists {hint:?} once, in order");
        assert!(
            table.iter().any(|(code, _, _)| *code == hint.code()),
            "camera hint code {} is not in the table",
            hint.code()
        );
    }
    for (code, analysis, expected) in table {
        let hint = EVERY_HINT.iter().find(|h| h.code() == code).unwrap();
        assert_eq!(face_hint(*hint, analysis), expected, "{code}");
    }
}

/// A screen that keeps the preview frames it is sent.
#[derive(Default)]
struct Preview(StdMutex<Vec<camera::Preview>>);

impl ScreenSink for Preview {
    fn show(&self, _: &session::Screen) {}
    fn countdown(&self, _: Option<u32>) {}
    fn frame(&self, frame: camera::Preview) {
        self.0.lock().unwrap().push(frame);
    }
}

async fn capture(camera: &DriverCamera) -> (Vec<Event>, Arc<Preview>) {
    let (tx, mut rx) = mpsc::channel(1024);
    let screen = Arc::new(Preview::default());
    let run = camera.capture(Ticket(7), tx, screen.clone());
    tokio::time::timeout(Duration::from_secs(120), run).await.expect("capture must not hang");
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    (events, screen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_head_turn_gives_a_portrait_with_passed_liveness() {
    let face = image::open(TEST_FACE).unwrap().to_rgb8();
    let script = camera::head_turn(&face, TEST_NOSE);
    let open: SourceOpener =
        Arc::new(move || Ok(Box::new(SyntheticSource::new(script.clone()).repeating(true)) as Box<dyn FrameSource>));
    let camera = DriverCamera::new(open, capture_config());
    let (events, screen) = capture(&camera).await;
    let hints: Vec<CaptureHint> = events
        .iter()
        .filter_map(|e| match e {
            Event::CaptureHint { ticket: Ticket(7), hint } => Some(*hint),
            _ => None,
        })
        .collect();
    assert!(hints.windows(2).all(|w| w[0] != w[1]), "guidance is sent only when it changes: {hints:?}");
    assert!(hints.iter().any(|h| h.liveness == Some(LivenessPrompt::TurnHeadLeft)), "{hints:?}");
    assert!(hints.iter().any(|h| h.liveness == Some(LivenessPrompt::TurnHeadRight)), "{hints:?}");
    let Some(Event::Captured { ticket: Ticket(7), result: Ok(face) }) = events.last() else {
        panic!("no portrait: {:?}", events.last())
    };
    assert_eq!(&face.jpeg[..2], &[0xFF, 0xD8], "a JPEG");
    // The camera's whole account of the challenge travels with the portrait.
    let l = &face.liveness;
    assert_eq!((l.method.as_str(), l.passed, l.score), ("head_turn", true, 1.0), "{l:?}");
    let steps: Vec<&str> = l.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(steps, ["look_at_camera", "turn_left", "turn_right"], "{l:?}");
    assert!(l.frames >= 3 && l.max_left_yaw_deg.is_some() && l.max_right_yaw_deg.is_some(), "{l:?}");
    assert!(!l.summary.is_empty() && l.portrait_score.is_some_and(|s| s > 0.0), "{l:?}");
    let frames = screen.0.lock().unwrap();
    assert!(!frames.is_empty(), "preview frames reach the screen");
    assert!(frames.iter().all(|f| f.width == 160 && f.rgb.len() == (f.width * f.height * 3) as usize));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_held_still_fails_the_turn_challenge() {
    let face = image::open(TEST_FACE).unwrap().to_rgb8();
    let open: SourceOpener =
        Arc::new(move || Ok(Box::new(SyntheticSource::still(face.clone())) as Box<dyn FrameSource>));
    let config = CaptureConfig { duration: Duration::from_secs(2), ..capture_config() };
    let (events, _) = capture(&DriverCamera::new(open, config)).await;
    assert_eq!(
        events.last(),
        Some(&Event::Captured { ticket: Ticket(7), result: Err("liveness check failed".into()) })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_failing_camera_is_a_device_fault_and_a_failed_capture() {
    let missing: SourceOpener = Arc::new(|| Err(CaptureError::NoCamera { device: "/dev/video9".into() }));
    let (events, _) = capture(&DriverCamera::new(missing, capture_config())).await;
    assert_eq!(
        events,
        [
            Event::DeviceHealth { device: Device::Camera, health: Health::Problem(Problem::Missing) },
            Event::Captured { ticket: Ticket(7), result: Err("camera not available".into()) },
        ]
    );
    let face = image::open(TEST_FACE).unwrap().to_rgb8();
    let unplugged: SourceOpener = Arc::new(move || {
        let steps = vec![SyntheticStep::Picture(face.clone()), SyntheticStep::Fail];
        Ok(Box::new(SyntheticSource::new(steps)) as Box<dyn FrameSource>)
    });
    let (events, _) = capture(&DriverCamera::new(unplugged, capture_config())).await;
    let n = events.len();
    assert_eq!(
        events[n - 2..],
        [
            Event::DeviceHealth { device: Device::Camera, health: Health::Problem(Problem::Missing) },
            Event::Captured { ticket: Ticket(7), result: Err("the camera stopped working".into()) },
        ]
    );
}

#[tokio::test]
async fn a_camera_unplugged_while_nobody_uses_it_is_reported_at_once() {
    let plugged = Arc::new(AtomicBool::new(true));
    let present = plugged.clone();
    let opener: SourceOpener = Arc::new(|| Ok(Box::new(SyntheticSource::new(vec![])) as Box<dyn camera::FrameSource>));
    let camera =
        DriverCamera::new(opener, capture_config()).with_presence(Arc::new(move || present.load(Ordering::SeqCst)));
    let (tx, mut rx) = mpsc::channel(8);
    let watch = tokio::spawn(camera.watch_health(Duration::from_millis(20), tx));
    // Healthy (a healthy camera is not reported: it starts so), then unplugged.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(rx.try_recv().is_err(), "nothing to report while it is there");
    plugged.store(false, Ordering::SeqCst);
    let gone = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.expect("the unplug is reported");
    assert_eq!(gone, Some(Event::DeviceHealth { device: Device::Camera, health: Health::Problem(Problem::Missing) }));
    watch.abort();
}

#[test]
fn a_camera_is_found_by_its_device_node() {
    assert_eq!(camera::device_node("0"), Some(std::path::PathBuf::from("/dev/video0")));
    assert_eq!(camera::device_node("/dev/v4l/by-id/usb-cam"), Some(std::path::PathBuf::from("/dev/v4l/by-id/usb-cam")));
    assert_eq!(camera::device_node("front"), None);
}
