//! Where frames come from: the `FrameSource` trait, still images / a directory, and a
//! scripted synthetic source that can stall or fail (for watchdog and session tests).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::{CaptureError, Frame};

/// Anything that yields frames: a camera, a directory of pictures, a test script.
/// `next_frame` may block (a camera waits for its next frame); the watchdog in
/// [`crate::WatchedCamera`] makes sure a blocked read never blocks the kiosk. Not `Send`:
/// a camera handle stays on the thread that opened it (the watchdog opens it there).
pub trait FrameSource {
    /// The next frame, or why there is none.
    fn next_frame(&mut self) -> Result<Frame, CaptureError>;
    /// A short human description (device path, directory) for logs.
    fn describe(&self) -> String;
}

impl FrameSource for Box<dyn FrameSource> {
    fn next_frame(&mut self) -> Result<Frame, CaptureError> {
        (**self).next_frame()
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// Frames read from image files (PNG/JPEG), in name order; can loop forever.
#[derive(Debug)]
pub struct ImageSource {
    paths: Vec<PathBuf>,
    next: usize,
    looping: bool,
    sequence: u64,
    frame_interval: Duration,
}

impl ImageSource {
    /// One file, or every .png/.jpg/.jpeg in a directory.
    pub fn open(path: &Path) -> Result<Self, CaptureError> {
        let paths = if path.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| CaptureError::Io { path: path.to_path_buf(), source: e })?
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .and_then(|x| x.to_str())
                        .is_some_and(|x| matches!(x.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
                })
                .collect();
            v.sort();
            v
        } else if path.is_file() {
            vec![path.to_path_buf()]
        } else {
            return Err(CaptureError::NoCamera { device: path.display().to_string() });
        };
        if paths.is_empty() {
            return Err(CaptureError::NoCamera { device: format!("{} (no images in it)", path.display()) });
        }
        Ok(Self { paths, next: 0, looping: false, sequence: 0, frame_interval: Duration::from_millis(66) })
    }

    /// Repeat the pictures forever (a still "camera").
    pub fn looping(mut self, yes: bool) -> Self {
        self.looping = yes;
        self
    }
}

impl FrameSource for ImageSource {
    fn next_frame(&mut self) -> Result<Frame, CaptureError> {
        if self.next >= self.paths.len() {
            if !self.looping {
                return Err(CaptureError::EndOfStream);
            }
            self.next = 0;
        }
        let path = &self.paths[self.next];
        self.next += 1;
        let img = image::open(path).map_err(|e| CaptureError::Decode(format!("{}: {e}", path.display())))?;
        let at = self.frame_interval * u32::try_from(self.sequence).unwrap_or(u32::MAX);
        let frame = Frame::new(img.to_rgb8(), self.sequence, at);
        self.sequence += 1;
        Ok(frame)
    }

    fn describe(&self) -> String {
        format!(
            "{} image(s) from {}",
            self.paths.len(),
            self.paths.first().map(|p| p.display().to_string()).unwrap_or_default()
        )
    }
}

/// What a scripted source does at one step.
#[derive(Debug, Clone)]
pub enum SyntheticStep {
    /// Yield this picture.
    Picture(image::RgbImage),
    /// Block for this long before the next step (a hung USB read).
    Stall(Duration),
    /// Fail the read (a device that went away).
    Fail,
}

/// A scripted source for tests: yields pictures, stalls and failures in order, then
/// repeats the last picture or ends.
#[derive(Debug, Clone)]
pub struct SyntheticSource {
    steps: Vec<SyntheticStep>,
    next: usize,
    sequence: u64,
    repeat_last: bool,
    pace: Duration,
}

impl SyntheticSource {
    pub fn new(steps: Vec<SyntheticStep>) -> Self {
        Self { steps, next: 0, sequence: 0, repeat_last: false, pace: Duration::ZERO }
    }

    /// The same picture forever.
    pub fn still(picture: image::RgbImage) -> Self {
        Self::new(vec![SyntheticStep::Picture(picture)]).repeating(true)
    }

    /// After the script, keep yielding the last picture.
    pub fn repeating(mut self, yes: bool) -> Self {
        self.repeat_last = yes;
        self
    }

    /// Sleep this long before each picture (a camera's frame interval).
    pub fn paced(mut self, interval: Duration) -> Self {
        self.pace = interval;
        self
    }
}

/// A person doing the head-turn challenge, faked from one flat portrait: looking at the
/// camera, turning their head left, then right, then looking back (ten pictures). The
/// middle of the face (nose, eyes) around `nose` slides sideways by up to 70 px while
/// the outline stays, as when a head rotates. Used by the simulated camera and tests.
pub fn head_turn(portrait: &image::RgbImage, nose: (f32, f32)) -> Vec<SyntheticStep> {
    [0.0, 0.0, 0.0, -70.0, -70.0, -70.0, 70.0, 70.0, 70.0, 0.0]
        .into_iter()
        .map(|shift| SyntheticStep::Picture(turned(portrait, nose, shift)))
        .collect()
}

fn turned(src: &image::RgbImage, (cx, cy): (f32, f32), shift: f32) -> image::RgbImage {
    let sigma = 40.0f32;
    let (w, h) = src.dimensions();
    image::RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let d = shift * (-(dx * dx + dy * dy) / (2.0 * sigma * sigma)).exp();
        let sx = (x as f32 - d).round().clamp(0.0, (w - 1) as f32) as u32;
        *src.get_pixel(sx, y)
    })
}

impl FrameSource for SyntheticSource {
    fn next_frame(&mut self) -> Result<Frame, CaptureError> {
        loop {
            let step = match self.steps.get(self.next) {
                Some(s) => s.clone(),
                None if self.repeat_last => {
                    match self.steps.iter().rev().find(|s| matches!(s, SyntheticStep::Picture(_))) {
                        Some(s) => s.clone(),
                        None => return Err(CaptureError::EndOfStream),
                    }
                }
                None => return Err(CaptureError::EndOfStream),
            };
            if self.next < self.steps.len() {
                self.next += 1;
            }
            match step {
                SyntheticStep::Picture(p) => {
                    if !self.pace.is_zero() {
                        std::thread::sleep(self.pace);
                    }
                    let at = self.pace * u32::try_from(self.sequence).unwrap_or(u32::MAX);
                    let f = Frame::new(p, self.sequence, at);
                    self.sequence += 1;
                    return Ok(f);
                }
                SyntheticStep::Stall(d) => std::thread::sleep(d),
                SyntheticStep::Fail => {
                    return Err(CaptureError::Disconnected { device: "synthetic".into() });
                }
            }
        }
    }

    fn describe(&self) -> String {
        format!("synthetic source ({} steps)", self.steps.len())
    }
}

/// The USB cable of a simulated camera: sources opened through it ([`CameraPlug::open`])
/// fail their next read ([`CaptureError::Disconnected`]) once it is pulled
/// ([`CameraPlug::vanish`]), and opens fail ([`CaptureError::NoCamera`]) until it is put
/// back, as with a V4L2 camera whose `/dev/video*` node goes away. Cloneable; every
/// clone is the same cable. A new one is plugged in.
#[derive(Clone, Debug, Default)]
pub struct CameraPlug {
    shared: Arc<PlugState>,
}

#[derive(Debug, Default)]
struct PlugState {
    /// Odd while unplugged; bumped on every unplug and every plug-in.
    period: AtomicU64,
    /// Opens refused while unplugged.
    refused: AtomicU64,
}

impl CameraPlug {
    /// The camera disappears (USB unplugged): open sources fail, new opens fail.
    pub fn vanish(&self) {
        let _ = self.shared.period.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| (p % 2 == 0).then_some(p + 1));
    }

    /// The camera comes back: opens work again (sources opened before stay dead).
    pub fn reappear(&self) {
        let _ = self.shared.period.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| (p % 2 == 1).then_some(p + 1));
    }

    pub fn is_vanished(&self) -> bool {
        self.shared.period.load(Ordering::SeqCst) % 2 == 1
    }

    /// Opens `source` through the cable: refused while unplugged; the source lives until
    /// the cable is next pulled.
    pub fn open<S: FrameSource + 'static>(&self, source: S) -> Result<Box<dyn FrameSource>, CaptureError> {
        let period = self.shared.period.load(Ordering::SeqCst);
        if period % 2 == 1 {
            self.shared.refused.fetch_add(1, Ordering::SeqCst);
            return Err(CaptureError::NoCamera { device: "the simulated camera (unplugged)".into() });
        }
        Ok(Box::new(Plugged { source, plug: self.clone(), period }))
    }

    /// How many opens were refused because the camera was unplugged.
    pub fn refused_opens(&self) -> u64 {
        self.shared.refused.load(Ordering::SeqCst)
    }
}

/// A source opened through a [`CameraPlug`].
struct Plugged<S> {
    source: S,
    plug: CameraPlug,
    period: u64,
}

impl<S: FrameSource> FrameSource for Plugged<S> {
    fn next_frame(&mut self) -> Result<Frame, CaptureError> {
        let gone = || CaptureError::Disconnected { device: "the simulated camera".into() };
        if self.plug.shared.period.load(Ordering::SeqCst) != self.period {
            return Err(gone());
        }
        let frame = self.source.next_frame()?;
        // Pulled while the frame was being taken (a paced source sleeps first).
        if self.plug.shared.period.load(Ordering::SeqCst) != self.period {
            return Err(gone());
        }
        Ok(frame)
    }

    fn describe(&self) -> String {
        format!("{} on a simulated USB cable", self.source.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use device_link::DeviceError;

    fn picture() -> image::RgbImage {
        image::RgbImage::from_pixel(8, 8, image::Rgb([128, 128, 128]))
    }

    #[test]
    fn an_unplugged_camera_fails_its_open_source_and_new_opens_until_it_is_back() {
        let plug = CameraPlug::default();
        assert!(!plug.is_vanished(), "a new cable is plugged in");
        let mut source = plug.open(SyntheticSource::still(picture())).unwrap();
        assert_eq!(source.next_frame().unwrap().sequence, 0);
        let clone = plug.clone();
        clone.vanish();
        clone.vanish();
        assert!(plug.is_vanished(), "every clone is the same cable");
        let lost = source.next_frame().unwrap_err();
        assert!(matches!(lost, CaptureError::Disconnected { .. }) && lost.is_gone(), "{lost:?}");
        let refused = plug.open(SyntheticSource::still(picture())).err().unwrap();
        assert!(matches!(refused, CaptureError::NoCamera { .. }) && refused.is_gone(), "{refused:?}");
        assert_eq!(plug.refused_opens(), 1);
        plug.reappear();
        assert!(!plug.is_vanished());
        assert!(source.next_frame().is_err(), "a source opened before the unplug stays dead");
        let mut again = plug.open(SyntheticSource::still(picture())).unwrap();
        assert!(again.next_frame().is_ok(), "plugged back in");
        assert!(again.describe().contains("simulated USB cable"));
    }

    #[test]
    fn a_frame_taken_while_the_cable_is_pulled_is_lost() {
        let plug = CameraPlug::default();
        let mut source = plug.open(SyntheticSource::still(picture()).paced(Duration::from_millis(200))).unwrap();
        let puller = plug.clone();
        let pull = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            puller.vanish();
        });
        assert!(matches!(source.next_frame(), Err(CaptureError::Disconnected { .. })));
        pull.join().unwrap();
    }
}
