//! The terminal's devices as one set: the real drivers on their simulators (`--simulate`,
//! end-to-end tests) or on the configured hardware, each watched under supervision.

use super::camera::DriverCamera;
use super::escpos_printer::DriverPrinter;
use super::reader::{ReaderOpener, SimulatedReader};
use super::supervise::supervise;
use super::{printer_health, reader};
use crate::outbox::backoff::Backoff;
use crate::session::{Device, Event};
use idcard::ReaderConfig;
use idcard::sim::SimConfig;
use printer::virtual_printer::{PrinterControl, VirtualLink, VirtualPrinter};
use printer::{Printer, Profile, Transport, TransportError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How the device tasks poll and restart.
#[derive(Clone, Debug)]
pub struct Supervision {
    /// Restart delay of a failed driver task.
    pub backoff: Backoff,
    pub reader: ReaderConfig,
    /// Printer status poll interval.
    pub printer_poll: Duration,
    /// How often a missing camera is looked for again.
    pub camera_probe: Duration,
}

impl Default for Supervision {
    fn default() -> Self {
        Self {
            backoff: Backoff { base: Duration::from_millis(500), cap: Duration::from_secs(30) },
            reader: ReaderConfig::default(),
            printer_poll: Duration::from_secs(2),
            camera_probe: Duration::from_secs(10),
        }
    }
}

/// The supervised device tasks; dropping this stops them (and their drivers).
#[derive(Debug)]
pub struct DeviceTasks(Vec<JoinHandle<()>>);

impl Drop for DeviceTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Starts the card reader task and the printer and camera health watches, each under
/// `supervise`, all reporting to the runtime's `events`.
pub fn start<T: Transport + Send + 'static>(
    events: &mpsc::Sender<Event>,
    reader_opener: ReaderOpener,
    printer: &DriverPrinter<T>,
    camera: &DriverCamera,
    s: &Supervision,
) -> DeviceTasks {
    let mut tasks = vec![reader::spawn(reader_opener, s.reader.clone(), events.clone(), s.backoff)];
    let (driver, poll, tx) = (printer.driver(), s.printer_poll, events.clone());
    tasks.push(tokio::spawn(supervise(Device::Printer, events.clone(), s.backoff, move || {
        printer_health::watch(driver.clone(), poll, tx.clone())
    })));
    let (cam, probe, tx) = (camera.clone(), s.camera_probe, events.clone());
    tasks.push(tokio::spawn(supervise(Device::Camera, events.clone(), s.backoff, move || {
        cam.clone().watch_health(probe, tx.clone())
    })));
    DeviceTasks(tasks)
}

/// Every device simulated, each behind its real driver: idcard's simulator on a paced
/// in-memory line, the ESC/POS driver on the virtual printer, a capture session on a
/// synthetic head turn of the test portrait.
pub struct SimulatedDevices {
    pub reader: SimulatedReader,
    pub printer: Arc<DriverPrinter<VirtualLink>>,
    /// The virtual printer's paper: receipts as pictures, paper out, cover open.
    pub paper: PrinterControl,
    pub camera: DriverCamera,
    _virtual_printer: VirtualPrinter,
}

impl std::fmt::Debug for SimulatedDevices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedDevices").field("reader", &self.reader).finish_non_exhaustive()
    }
}

impl SimulatedDevices {
    /// `sam` sets the simulated reader's baud rate and SAM delay; the camera yields a
    /// picture every `camera_pace`.
    pub fn new(sam: SimConfig, camera_pace: Duration) -> anyhow::Result<Self> {
        Self::build(sam, camera_pace, None)
    }

    /// As [`SimulatedDevices::new`], with `terminal_id` printed on every printout.
    pub fn for_terminal(sam: SimConfig, camera_pace: Duration, terminal_id: &str) -> anyhow::Result<Self> {
        Self::build(sam, camera_pace, Some(terminal_id))
    }

    fn build(sam: SimConfig, camera_pace: Duration, terminal_id: Option<&str>) -> anyhow::Result<Self> {
        let reader = SimulatedReader::with_kiosk_cards(sam)?;
        let vp = VirtualPrinter::new(Profile::KIOSK_80);
        let mut driver = DriverPrinter::new(Printer::new(vp.link(), Profile::KIOSK_80));
        if let Some(id) = terminal_id {
            driver = driver.with_terminal_id(id);
        }
        let printer = Arc::new(driver);
        Ok(Self {
            reader,
            printer,
            paper: vp.control(),
            camera: DriverCamera::simulated(camera_pace)?,
            _virtual_printer: vp,
        })
    }

    /// Starts the supervised device tasks against these simulators.
    pub fn start(&self, events: &mpsc::Sender<Event>, s: &Supervision) -> DeviceTasks {
        start(events, self.reader.opener(), &self.printer, &self.camera, s)
    }
}

/// Opens the production printer: `tcp://host:port`, a serial port at `baud`, or a USB
/// printer-class node.
pub fn open_printer(target: &str, baud: Option<u32>) -> Result<Box<dyn Transport>, TransportError> {
    match (target.strip_prefix("tcp://"), baud) {
        (Some(addr), _) => Ok(Box::new(printer::TcpTransport::connect(addr)?)),
        (None, Some(baud)) => Ok(Box::new(printer::SerialTransport::open(target, baud)?)),
        (None, None) => Ok(Box::new(printer::UsbLpTransport::open(std::path::Path::new(target))?)),
    }
}

type LinkOpener = Box<dyn Fn() -> Result<Box<dyn Transport>, TransportError> + Send>;

/// A printer link that opens on first use and again after it broke, so a printer that
/// is unplugged (or off at boot) is reported missing, then works once it is back.
pub struct Reopening {
    open: LinkOpener,
    link: Option<Box<dyn Transport>>,
}

impl Reopening {
    pub fn new(open: impl Fn() -> Result<Box<dyn Transport>, TransportError> + Send + 'static) -> Self {
        Self { open: Box::new(open), link: None }
    }

    fn with<R>(
        &mut self,
        op: impl FnOnce(&mut dyn Transport) -> Result<R, TransportError>,
    ) -> Result<R, TransportError> {
        let link = match &mut self.link {
            Some(link) => link,
            None => self.link.insert((self.open)()?),
        };
        let result = op(link.as_mut());
        if matches!(result, Err(TransportError::Closed | TransportError::Io(_))) {
            self.link = None;
        }
        result
    }
}

impl Transport for Reopening {
    fn write_all(&mut self, bytes: &[u8]) -> Result<(), TransportError> {
        self.with(|l| l.write_all(bytes))
    }
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, TransportError> {
        self.with(|l| l.read(buf, timeout))
    }
    fn port_status(&mut self) -> Option<u8> {
        self.link.as_mut().and_then(|l| l.port_status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn a_printer_link_that_cannot_open_is_tried_again_on_next_use() {
        let attempts = Arc::new(AtomicU32::new(0));
        let counter = attempts.clone();
        let vp = VirtualPrinter::new(Profile::KIOSK_80);
        let link = std::sync::Mutex::new(Some(vp.link()));
        let mut printer = Printer::new(
            Reopening::new(move || {
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    return Err(TransportError::Open { target: "/dev/usb/lp0".into(), reason: "unplugged".into() });
                }
                let l = link.lock().unwrap().take().ok_or(TransportError::Closed)?;
                Ok(Box::new(l) as Box<dyn Transport>)
            }),
            Profile::KIOSK_80,
        );
        assert_eq!(printer.health(), printer::Health::Unknown, "missing at first");
        assert_eq!(printer.health(), printer::Health::Ok, "plugged in: answers");
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_printer_on_a_serial_port_is_opened_at_its_configured_line_speed_and_prints() {
        let vp = VirtualPrinter::new(Profile::KIOSK_80);
        let paper = vp.control();
        let server = vp.serve_pty().unwrap();
        let path = server.path().display().to_string();
        let target = path.clone();
        let mut printer = Printer::new(Reopening::new(move || open_printer(&target, Some(9600))), Profile::KIOSK_80);
        assert_eq!(printer.health(), printer::Health::Ok);
        // The serial driver set a line speed on the port (Linux: termios2, `BOTHER`); a
        // port opened as a plain file keeps the pseudo-terminal's default speed.
        let port = std::fs::File::open(&path).unwrap();
        let flags = nix::sys::termios::tcgetattr(&port).unwrap().control_flags.bits();
        assert_eq!(flags & nix::libc::CBAUD, nix::libc::BOTHER, "line speed not set by the serial driver");
        let doc = printer::Document::from_json(r#"{"items":[{"text":"ok"},{"cut":"partial"}]}"#).unwrap();
        printer.print_job(&[doc]).unwrap();
        assert_eq!(paper.receipts().len(), 1, "the receipt came out");
    }
}
