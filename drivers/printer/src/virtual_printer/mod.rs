//! A virtual ESC/POS printer: parses any stream, prints it onto paper at true dot
//! resolution (one picture per cut), answers status and injects faults. Usable in-process
//! as a [`Link`], or served on a pseudo-terminal or TCP port.

pub mod engine;
pub mod parser;
mod serve;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use image::GrayImage;

/// The pseudo-terminal server [`VirtualPrinter::serve_pty`] returns (the drivers' shared one).
pub use device_link::PtyServer;
pub use engine::{Engine, Faults, Timeline};
pub use serve::TcpServer;

use crate::profile::Profile;
use crate::status::PrinterFlags;
use device_link::{Link, LinkError};

#[derive(Debug)]
struct Shared {
    engine: Mutex<Engine>,
    replies_ready: Condvar,
    /// Whether the printer is plugged in, and which plugged-in period it is in.
    plug: Plug,
}

/// The printer's USB cable: an in-memory link lives only within the plugged-in period it
/// was made in (as a file descriptor on `/dev/usb/lp0` dies with the device).
#[derive(Debug, Default)]
struct Plug {
    /// Odd while unplugged; bumped on every unplug and every plug-in.
    period: AtomicU64,
    /// Opens refused while unplugged ([`PrinterControl::connect`]).
    refused: AtomicU64,
}

impl Plug {
    fn period(&self) -> u64 {
        self.period.load(Ordering::SeqCst)
    }
    fn unplugged(&self) -> bool {
        self.period() % 2 == 1
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Engine> {
        // A panic while printing must not take every later test down with it.
        self.engine.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The virtual printer. Cheap to clone handles from: [`VirtualPrinter::control`] and
/// [`VirtualPrinter::link`] all act on the same printer.
#[derive(Debug, Clone)]
pub struct VirtualPrinter {
    shared: Arc<Shared>,
}

impl VirtualPrinter {
    /// A printer of the given model, with paper, cover closed.
    pub fn new(profile: Profile) -> Self {
        let engine = Mutex::new(Engine::new(profile));
        Self { shared: Arc::new(Shared { engine, replies_ready: Condvar::new(), plug: Plug::default() }) }
    }

    /// The cloneable handle for faults and receipts.
    pub fn control(&self) -> PrinterControl {
        PrinterControl { shared: self.shared.clone() }
    }

    /// An in-memory link to the printer, to hand to [`crate::Printer`]. It fails for good
    /// once the printer is unplugged ([`PrinterControl::vanish`]); [`PrinterControl::connect`]
    /// makes the next one, as reopening the device node does.
    pub fn link(&self) -> VirtualLink {
        VirtualLink { period: self.shared.plug.period(), shared: self.shared.clone() }
    }

    /// Feeds bytes straight in and returns the replies (no link timing; answers still
    /// waiting for the paper are not among them).
    pub fn feed(&self, bytes: &[u8]) -> Vec<u8> {
        let mut e = self.shared.lock();
        e.feed(bytes);
        e.release_due(Instant::now());
        std::mem::take(&mut e.replies)
    }

    /// Serves the printer on a new pseudo-terminal; the path is the slave to open.
    pub fn serve_pty(&self) -> Result<PtyServer, LinkError> {
        serve::serve_pty(self.shared.clone())
    }

    /// Serves the printer on a TCP address such as `127.0.0.1:0`.
    pub fn serve_tcp(&self, addr: &str) -> std::io::Result<TcpServer> {
        serve::serve_tcp(self.shared.clone(), addr)
    }
}

/// Fault injection and receipt collection; clone it freely.
#[derive(Debug, Clone)]
pub struct PrinterControl {
    shared: Arc<Shared>,
}

impl PrinterControl {
    fn with<R>(&self, f: impl FnOnce(&mut Engine) -> R) -> R {
        let mut e = self.shared.lock();
        let r = f(&mut e);
        e.faults_changed();
        let has_replies = !e.replies.is_empty();
        drop(e);
        if has_replies {
            self.shared.replies_ready.notify_all();
        }
        r
    }

    /// Paper near-end sensor on or off.
    pub fn set_near_end(&self, on: bool) {
        self.with(|e| e.faults.near_end = on);
    }

    /// Paper runs out after `mm` more millimetres are fed.
    pub fn paper_out_after_mm(&self, mm: f64) {
        self.with(|e| {
            let dots = (mm.max(0.0) * e.profile.dots_per_mm()).round() as u64;
            e.faults.paper_left_dots = Some(dots);
        });
    }

    /// Paper runs out now.
    pub fn paper_out(&self) {
        self.with(Engine::run_out);
    }

    /// A new roll: clears paper end and near end. Held data waits for `DLE ENQ`.
    pub fn refill_paper(&self) {
        self.with(Engine::refill);
    }

    pub fn set_cover_open(&self, open: bool) {
        self.with(|e| e.faults.cover_open = open);
    }

    /// The cover opens once the printer has received `n` bytes in total.
    pub fn open_cover_at_byte(&self, n: u64) {
        self.with(|e| e.faults.cover_opens_at_byte = Some(n));
    }

    /// The next cut jams the cutter (cleared by `DLE ENQ 1` or `2`).
    pub fn jam_next_cut(&self) {
        self.with(|e| e.faults.jam_next_cut = true);
    }

    /// Makes the link as slow as a serial line at `baud` (None = instant).
    pub fn set_baud(&self, baud: Option<u32>) {
        self.with(|e| e.faults.baud = baud);
    }

    /// Moves the paper at `mm_per_s`, as the model's head does (`Profile::speed_mm_per_s`):
    /// cuts and `GS r` answers wait for the paper before them. None: the paper moves at once.
    pub fn set_print_speed(&self, mm_per_s: Option<u32>) {
        self.with(|e| e.faults.print_speed = mm_per_s);
    }

    /// When the paper moved since the printer was made or [`PrinterControl::clear_timeline`].
    pub fn timeline(&self) -> Timeline {
        self.shared.lock().timeline().clone()
    }

    pub fn clear_timeline(&self) {
        self.shared.lock().clear_timeline();
    }

    /// Clears all faults and loads paper (the line and paper speeds stay).
    pub fn clear_faults(&self) {
        self.with(|e| {
            let (baud, print_speed) = (e.faults.baud, e.faults.print_speed);
            e.faults = Faults { baud, print_speed, ..Faults::default() };
            e.refill();
        });
    }

    /// The printer disappears (USB unplugged): its open in-memory links fail from now on
    /// ([`LinkError::Closed`]) and new ones cannot be made ([`PrinterControl::connect`])
    /// until it [reappears](PrinterControl::reappear). Paper and faults stay as they were.
    /// (The pty and TCP servers are not unplugged.)
    pub fn vanish(&self) {
        let _ =
            self.shared.plug.period.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| (p % 2 == 0).then_some(p + 1));
        // Wakes a link waiting for replies, so that it fails now.
        drop(self.shared.lock());
        self.shared.replies_ready.notify_all();
    }

    /// The printer is plugged back in: links can be made again (older ones stay dead).
    pub fn reappear(&self) {
        let _ =
            self.shared.plug.period.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |p| (p % 2 == 1).then_some(p + 1));
    }

    pub fn is_vanished(&self) -> bool {
        self.shared.plug.unplugged()
    }

    /// Opens an in-memory link to the printer, as the terminal opens its device node
    /// (wrap it in `device_link::Reopening`); fails while the printer is unplugged.
    pub fn connect(&self) -> Result<VirtualLink, LinkError> {
        let plug = &self.shared.plug;
        let period = plug.period();
        if period % 2 == 1 {
            plug.refused.fetch_add(1, Ordering::SeqCst);
            return Err(LinkError::Open { target: "the virtual printer".into(), reason: "it is unplugged".into() });
        }
        Ok(VirtualLink { shared: self.shared.clone(), period })
    }

    /// How many [`PrinterControl::connect`]s failed because the printer was unplugged.
    pub fn refused_connects(&self) -> u64 {
        self.shared.plug.refused.load(Ordering::SeqCst)
    }

    /// What the status bytes currently say.
    pub fn flags(&self) -> PrinterFlags {
        self.shared.lock().flags()
    }

    /// Cut receipts so far, as paper pictures (black 0, white 255).
    pub fn receipts(&self) -> Vec<GrayImage> {
        self.shared.lock().receipts.iter().map(crate::bitmap::Bitmap::to_gray).collect()
    }

    /// Number of cut receipts so far.
    pub fn receipt_count(&self) -> usize {
        self.shared.lock().receipts.len()
    }

    /// Takes the cut receipts out of the printer.
    pub fn take_receipts(&self) -> Vec<GrayImage> {
        std::mem::take(&mut self.shared.lock().receipts).iter().map(crate::bitmap::Bitmap::to_gray).collect()
    }

    /// Paper that never got its cut (stub at paper out, jammed receipt cleared away).
    pub fn torn(&self) -> Vec<GrayImage> {
        self.shared.lock().torn.iter().map(crate::bitmap::Bitmap::to_gray).collect()
    }

    /// Printed but not yet cut.
    pub fn uncut(&self) -> Option<GrayImage> {
        self.shared.lock().uncut().map(|b| b.to_gray())
    }

    /// Ends the stream: uncut paper becomes a last receipt.
    pub fn finish(&self) {
        self.shared.lock().finish();
    }

    /// Total bytes the printer received.
    pub fn bytes_received(&self) -> u64 {
        self.shared.lock().bytes_received
    }

    /// Saves each cut receipt as `receipt-NNN.png`; returns the paths.
    pub fn save_pngs(&self, dir: &Path) -> Result<Vec<PathBuf>, image::ImageError> {
        std::fs::create_dir_all(dir).map_err(image::ImageError::IoError)?;
        let mut paths = Vec::new();
        for (i, img) in self.receipts().iter().enumerate() {
            let path = dir.join(format!("receipt-{:03}.png", i + 1));
            img.save(&path)?;
            paths.push(path);
        }
        Ok(paths)
    }
}

/// In-memory link to a virtual printer: a [`Link`] with optional serial timing. Lives
/// as long as the printer stays plugged in (see [`PrinterControl::vanish`]).
#[derive(Debug, Clone)]
pub struct VirtualLink {
    shared: Arc<Shared>,
    /// The plugged-in period this link was made in.
    period: u64,
}

impl VirtualLink {
    /// `Closed` while the printer is unplugged, and for good once it was unplugged after
    /// this link was made.
    fn check_plugged(&self) -> Result<(), LinkError> {
        match self.period % 2 == 0 && self.shared.plug.period() == self.period {
            true => Ok(()),
            false => Err(LinkError::Closed),
        }
    }
}

impl Link for VirtualLink {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.check_plugged()?;
        let baud = self.shared.lock().faults.baud;
        if let Some(baud) = baud.filter(|&b| b > 0) {
            // 10 bits a byte on the wire; feed in slices so status requests interleave.
            for chunk in bytes.chunks(64) {
                std::thread::sleep(Duration::from_secs_f64(chunk.len() as f64 * 10.0 / f64::from(baud)));
                self.check_plugged()?;
                self.shared.lock().feed(chunk);
                self.shared.replies_ready.notify_all();
            }
            return Ok(());
        }
        self.shared.lock().feed(bytes);
        self.shared.replies_ready.notify_all();
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        let deadline = Instant::now() + timeout;
        let mut e = self.shared.lock();
        loop {
            self.check_plugged()?;
            let next_answer = e.release_due(Instant::now());
            if !e.replies.is_empty() {
                let n = buf.len().min(e.replies.len());
                buf[..n].copy_from_slice(&e.replies[..n]);
                e.replies.drain(..n);
                return Ok(n);
            }
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            if left.is_zero() {
                return Ok(0);
            }
            // An answer waiting for the paper is due before anyone notifies: wake for it.
            let wait = next_answer.map_or(left, |due| left.min(due.saturating_duration_since(now)));
            e = match self.shared.replies_ready.wait_timeout(e, wait) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Health, Printer};
    use device_link::Reopening;

    #[test]
    fn an_unplugged_printer_drops_its_links_and_refuses_new_ones_until_it_is_back() {
        let vp = VirtualPrinter::new(Profile::KIOSK_80);
        let control = vp.control();
        let (mut old, mut connected) = (vp.link(), control.connect().unwrap());
        assert_eq!(Printer::new(&mut connected, Profile::KIOSK_80).health(), Health::Ok);
        control.vanish();
        control.vanish();
        assert!(control.is_vanished());
        let mut buf = [0u8; 8];
        for link in [&mut old, &mut connected] {
            assert!(matches!(link.send(b"\x10\x04\x01"), Err(LinkError::Closed)));
            assert!(matches!(link.recv(&mut buf, Duration::ZERO), Err(LinkError::Closed)));
        }
        assert!(matches!(control.connect(), Err(LinkError::Open { .. })));
        assert!(matches!(vp.link().send(b"\x10\x04\x01"), Err(LinkError::Closed)), "no link while unplugged");
        assert_eq!(control.refused_connects(), 1);
        control.reappear();
        assert!(!control.is_vanished());
        assert!(matches!(connected.send(b"\x10\x04\x01"), Err(LinkError::Closed)), "an old link stays dead");
        let mut fresh = control.connect().unwrap();
        assert_eq!(Printer::new(&mut fresh, Profile::KIOSK_80).health(), Health::Ok, "plugged back in");

        // A link waiting for a reply when the cable is pulled fails at once.
        let waiting = std::thread::spawn(move || {
            let started = Instant::now();
            (fresh.recv(&mut [0u8; 8], Duration::from_secs(20)), started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(50));
        control.vanish();
        let (result, waited) = waiting.join().unwrap();
        assert!(matches!(result, Err(LinkError::Closed)), "{result:?}");
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        control.reappear();

        // The terminal's way: a reopening link reports the printer missing, then fine.
        let c = control.clone();
        let mut printer = Printer::new(Reopening::new(move || c.connect()), Profile::KIOSK_80);
        assert_eq!(printer.health(), Health::Ok);
        control.vanish();
        assert_eq!(printer.health(), Health::Unknown, "the open link failed");
        assert_eq!(printer.health(), Health::Unknown, "the reopen failed");
        control.reappear();
        assert_eq!(printer.health(), Health::Ok);
        assert_eq!(control.refused_connects(), 2);
        control.set_near_end(true);
        assert_eq!(printer.health(), Health::NearEnd, "the same printer: paper and faults stay");
    }

    /// 203 dots of barcode (25.4 mm: 127 ms at 200 mm/s) and a cut.
    fn inch_of_barcode() -> crate::Document {
        crate::Document::from_json(r#"{"items":[{"barcode":"12345678","height":203,"hri":"none"},{"cut":"partial"}]}"#)
            .unwrap()
    }

    #[test]
    fn at_print_speed_the_cut_and_the_confirmation_wait_for_the_paper() {
        let vp = VirtualPrinter::new(Profile::KIOSK_80);
        let control = vp.control();
        control.set_print_speed(Some(Profile::KIOSK_80.speed_mm_per_s));
        let doc = inch_of_barcode();
        let paper = crate::estimate(&doc, &Profile::KIOSK_80).unwrap().duration;
        assert!(paper > Duration::from_millis(100), "{paper:?}");
        let started = Instant::now();
        Printer::new(vp.link(), Profile::KIOSK_80).print(&doc).unwrap();
        let returned = Instant::now();
        let t = control.timeline();
        let (first, cut) = (t.first_data.unwrap(), t.cuts[0]);
        assert!(first >= started && cut <= returned, "the driver returned once the printer confirmed the cut");
        let moving = cut.duration_since(first);
        // The estimate and the engine count the same dots; the slack is the clock between commands.
        assert!(moving + Duration::from_millis(2) >= paper, "{moving:?} < {paper:?}");
        assert!(moving < paper + Duration::from_millis(100), "{moving:?} vs {paper:?}");

        // Without a print speed the paper moves at once.
        control.set_print_speed(None);
        control.clear_timeline();
        Printer::new(vp.link(), Profile::KIOSK_80).print(&doc).unwrap();
        let t = control.timeline();
        assert!(t.cuts[0].duration_since(t.first_data.unwrap()) < paper / 2, "{t:?}");
        assert_eq!(control.receipt_count(), 2);
    }

    #[test]
    fn a_status_request_is_answered_while_the_paper_moves_and_gs_r_after_it() {
        let vp = VirtualPrinter::new(Profile::KIOSK_80);
        let control = vp.control();
        control.set_print_speed(Some(Profile::KIOSK_80.speed_mm_per_s));
        let mut link = vp.link();
        let bytes = crate::encode(&inch_of_barcode(), &Profile::KIOSK_80, None).unwrap();
        link.send(&bytes).unwrap();
        link.send(&crate::escpos::transmit_paper_status()).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(link.recv(&mut buf, Duration::from_millis(20)).unwrap(), 0, "GS r waits for the paper");
        link.send(&crate::escpos::status_request(1)).unwrap();
        assert_eq!(link.recv(&mut buf, Duration::from_millis(20)).unwrap(), 1, "DLE EOT is real-time");
        assert_eq!(link.recv(&mut buf, Duration::from_secs(2)).unwrap(), 1, "GS r answered once the paper stopped");
        let cut = control.timeline().cuts[0];
        assert!(Instant::now() >= cut, "answered after the cut");
    }
}
