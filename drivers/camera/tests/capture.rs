//! Frame sources, decoders and the watchdog: stalls, failures, unplug and reopen.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers may fail loudly

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use camera::{
    CameraEvent, CameraRequest, CaptureError, FrameSource, ImageSource, SyntheticSource, SyntheticStep, WatchdogConfig,
    WatchedCamera, decode_mjpeg, decode_yuyv,
};
use image::{Rgb, RgbImage};

fn picture() -> RgbImage {
    RgbImage::from_pixel(32, 24, Rgb([10, 200, 30]))
}

fn wait_for(cam: &WatchedCamera, want: fn(&CameraEvent) -> bool, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(ev) = cam.next_event(Duration::from_millis(100)) {
            if want(&ev) {
                return Some(start.elapsed());
            }
        }
    }
    None
}

#[test]
fn yuyv_decodes_grey_white_and_black() {
    // Two pixels per 4 bytes: Y0 U Y1 V. U=V=128 is colourless.
    let data = [16, 128, 235, 128, 126, 128, 126, 128];
    let img = decode_yuyv(2, 2, &data).unwrap();
    assert_eq!(img.get_pixel(0, 0).0, [0, 0, 0]);
    assert_eq!(img.get_pixel(1, 0).0, [255, 255, 255]);
    let g = img.get_pixel(0, 1).0;
    assert!(g[0] == g[1] && g[1] == g[2] && (125..=130).contains(&g[0]), "{g:?}");
}

#[test]
fn yuyv_with_a_short_or_odd_buffer_is_a_typed_error() {
    assert!(matches!(decode_yuyv(2, 2, &[0; 7]), Err(CaptureError::BadFrame { .. })));
    assert!(matches!(decode_yuyv(3, 2, &[0; 12]), Err(CaptureError::BadFrame { .. })));
    assert!(matches!(decode_yuyv(0, 2, &[]), Err(CaptureError::BadFrame { .. })));
}

#[test]
fn mjpeg_frame_decodes_and_garbage_is_an_error() {
    let img = RgbImage::from_pixel(64, 48, Rgb([200, 40, 40]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90).encode_image(&img).unwrap();
    let back = decode_mjpeg(&jpeg).unwrap();
    assert_eq!(back.dimensions(), (64, 48));
    let p = back.get_pixel(10, 10).0;
    assert!(p[0] > 180 && p[1] < 70, "{p:?}");
    assert!(matches!(decode_mjpeg(&jpeg[..20]), Err(CaptureError::Decode(_))));
    assert!(matches!(decode_mjpeg(b"not a jpeg"), Err(CaptureError::Decode(_))));
}

#[test]
fn missing_camera_gives_a_clear_error() {
    let req = CameraRequest { device: "/dev/video97".into(), ..CameraRequest::default() };
    let err = camera::open_camera(&req).err().expect("no camera here");
    assert!(matches!(err, CaptureError::NoCamera { .. } | CaptureError::Unsupported), "{err:?}");
    assert!(err.to_string().contains("no camera") || err.to_string().contains("not built"), "{err}");
    let err = ImageSource::open(std::path::Path::new("/nonexistent/faces")).unwrap_err();
    assert!(err.to_string().contains("no camera at /nonexistent/faces"), "{err}");
}

#[test]
fn image_directory_yields_each_portrait_then_ends() {
    let mut src = ImageSource::open(std::path::Path::new(&common::faces_dir())).unwrap();
    let a = src.next_frame().unwrap();
    let b = src.next_frame().unwrap();
    assert_eq!((a.width(), b.width()), (512, 512));
    assert_eq!((a.sequence, b.sequence), (0, 1));
    assert!(matches!(src.next_frame(), Err(CaptureError::EndOfStream)));
    let mut looping = ImageSource::open(std::path::Path::new(&common::faces_dir())).unwrap().looping(true);
    for _ in 0..5 {
        looping.next_frame().unwrap();
    }
}

#[test]
fn frame_debug_output_shows_no_pixels() {
    let f = camera::Frame::from_rgb(2, 1, vec![1, 2, 3, 4, 5, 6]).unwrap();
    let s = format!("{f:?}");
    assert!(s.contains("width: 2") && !s.contains("[1, 2, 3"), "{s}");
    assert!(camera::Frame::from_rgb(2, 2, vec![0; 3]).is_err());
}

#[test]
fn stalled_camera_is_reported_offline_and_comes_back_when_reopened() {
    let opens = Arc::new(AtomicU32::new(0));
    let opens2 = Arc::clone(&opens);
    // First open: two frames, then the read hangs (a camera pulled mid-stream).
    // Second open: frames again (plugged back in).
    let cam = WatchedCamera::start(
        "stall-test",
        Box::new(move || {
            let n = opens2.fetch_add(1, Ordering::SeqCst);
            let src = if n == 0 {
                SyntheticSource::new(vec![
                    SyntheticStep::Picture(picture()),
                    SyntheticStep::Picture(picture()),
                    SyntheticStep::Stall(Duration::from_secs(30)),
                ])
            } else {
                SyntheticSource::still(picture()).paced(Duration::from_millis(20))
            };
            Ok(Box::new(src) as Box<dyn FrameSource>)
        }),
        WatchdogConfig { stall_timeout: Duration::from_millis(400), reopen_interval: Duration::from_millis(100) },
    );
    assert!(wait_for(&cam, |e| matches!(e, CameraEvent::Online), Duration::from_secs(20)).is_some());
    // Generous bound: the watchdog's own limit is 400 ms; 20 s only guards against a hang.
    assert!(wait_for(&cam, |e| matches!(e, CameraEvent::Offline { .. }), Duration::from_secs(20)).is_some());
    assert!(wait_for(&cam, |e| matches!(e, CameraEvent::Online), Duration::from_secs(20)).is_some());
    assert!(wait_for(&cam, |e| matches!(e, CameraEvent::Frame(_)), Duration::from_secs(20)).is_some());
    assert!(opens.load(Ordering::SeqCst) >= 2);
}

#[test]
fn failing_reads_and_failing_opens_are_retried_until_the_camera_returns() {
    let opens = Arc::new(AtomicU32::new(0));
    let opens2 = Arc::clone(&opens);
    let cam = WatchedCamera::start(
        "unplug-test",
        Box::new(move || match opens2.fetch_add(1, Ordering::SeqCst) {
            0 => Ok(Box::new(SyntheticSource::new(vec![SyntheticStep::Picture(picture()), SyntheticStep::Fail]))
                as Box<dyn FrameSource>),
            1 | 2 => Err(CaptureError::NoCamera { device: "/dev/video0".into() }),
            _ => {
                Ok(Box::new(SyntheticSource::still(picture()).paced(Duration::from_millis(20))) as Box<dyn FrameSource>)
            }
        }),
        WatchdogConfig { stall_timeout: Duration::from_millis(500), reopen_interval: Duration::from_millis(50) },
    );
    let mut seen = Vec::new();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) && seen.iter().filter(|s| **s == "online").count() < 2 {
        match cam.next_event(Duration::from_millis(100)) {
            Some(CameraEvent::Online) => seen.push("online"),
            Some(CameraEvent::Offline { .. }) => seen.push("offline"),
            _ => {}
        }
    }
    // Offline is said once, not once per failed reopen.
    assert_eq!(seen, vec!["online", "offline", "online"]);
    assert!(opens.load(Ordering::SeqCst) >= 4);
}

#[test]
fn watched_camera_read_never_blocks_on_a_hung_source() {
    let mut cam = WatchedCamera::start(
        "hung",
        Box::new(|| {
            Ok(Box::new(SyntheticSource::new(vec![SyntheticStep::Stall(Duration::from_secs(60))]))
                as Box<dyn FrameSource>)
        }),
        WatchdogConfig { stall_timeout: Duration::from_millis(300), reopen_interval: Duration::from_millis(100) },
    );
    let start = Instant::now();
    let r = cam.next_frame();
    assert!(matches!(r, Err(CaptureError::Stalled { .. } | CaptureError::Disconnected { .. })), "{r:?}");
    // Far below the 60 s the source would hang for.
    assert!(start.elapsed() < Duration::from_secs(20));
    let start = Instant::now();
    drop(cam);
    assert!(start.elapsed() < Duration::from_secs(20), "dropping must not wait for the hung read");
}

#[test]
fn finite_source_ends_the_watched_stream() {
    let mut cam = WatchedCamera::start(
        "finite",
        Box::new(
            || Ok(Box::new(SyntheticSource::new(vec![SyntheticStep::Picture(picture())])) as Box<dyn FrameSource>),
        ),
        WatchdogConfig::default(),
    );
    assert!(cam.next_frame().is_ok());
    assert!(matches!(cam.next_frame(), Err(CaptureError::EndOfStream)));
}

#[test]
fn a_slow_consumer_gets_every_frame_in_order() {
    let pictures: Vec<SyntheticStep> = (0..8).map(|_| SyntheticStep::Picture(picture())).collect();
    let mut cam = WatchedCamera::start(
        "slow-consumer",
        Box::new(move || Ok(Box::new(SyntheticSource::new(pictures.clone())) as Box<dyn FrameSource>)),
        WatchdogConfig { stall_timeout: Duration::from_millis(300), reopen_interval: Duration::from_millis(100) },
    );
    let mut sequences = Vec::new();
    loop {
        match cam.next_frame() {
            Ok(frame) => sequences.push(frame.sequence),
            Err(CaptureError::EndOfStream) => break,
            Err(e) => panic!("{e}"),
        }
        // Slower than the stall timeout: waiting for the consumer is not a stall.
        std::thread::sleep(Duration::from_millis(if sequences.len() == 2 { 500 } else { 20 }));
    }
    assert_eq!(sequences, (0..8).collect::<Vec<u64>>());
}

/// Yields a picture, a corrupt frame, then pictures: a camera with a USB hiccup.
struct Hiccup(u64);

impl FrameSource for Hiccup {
    fn next_frame(&mut self) -> Result<camera::Frame, CaptureError> {
        self.0 += 1;
        std::thread::sleep(Duration::from_millis(10));
        match self.0 {
            2 => Err(CaptureError::Decode("corrupt MJPEG frame".into())),
            n => Ok(camera::Frame::new(picture(), n, Duration::ZERO)),
        }
    }
    fn describe(&self) -> String {
        "hiccup".into()
    }
}

#[test]
fn a_bad_frame_is_skipped_without_reopening_the_camera() {
    let opens = Arc::new(AtomicU32::new(0));
    let opens2 = Arc::clone(&opens);
    let cam = WatchedCamera::start(
        "hiccup",
        Box::new(move || {
            opens2.fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(Hiccup(0)) as Box<dyn FrameSource>)
        }),
        WatchdogConfig { stall_timeout: Duration::from_millis(500), reopen_interval: Duration::from_millis(50) },
    );
    let mut frames = Vec::new();
    let start = Instant::now();
    while frames.len() < 3 && start.elapsed() < Duration::from_secs(20) {
        match cam.next_event(Duration::from_millis(100)) {
            Some(CameraEvent::Frame(f)) => frames.push(f.sequence),
            Some(CameraEvent::Offline { reason }) => panic!("went offline: {reason}"),
            _ => {}
        }
    }
    assert_eq!(frames, [1, 3, 4], "the corrupt frame is left out");
    assert_eq!(opens.load(Ordering::SeqCst), 1, "the camera was never reopened");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
    #[test]
    fn decoders_never_panic_on_any_bytes(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048), w in 0u32..64, h in 0u32..64) {
        let _ = decode_yuyv(w, h, &data);
        let _ = decode_mjpeg(&data);
    }

    #[test]
    fn yuyv_output_has_the_requested_size(w in 1u32..32, h in 1u32..32) {
        let w = w * 2;
        let img = decode_yuyv(w, h, &vec![128u8; (w * h * 2) as usize]).unwrap();
        proptest::prop_assert_eq!(img.dimensions(), (w, h));
    }
}
