//! The terminal's devices as one set, each watched under supervision: the real drivers
//! on the configured hardware, or (from the `simulation` crate) on their simulators.

use super::camera::DriverCamera;
use super::escpos_printer::DriverPrinter;
use super::reader::ReaderOpener;
use super::supervise::supervise;
use super::{printer_health, reader};
use crate::outbox::backoff::Backoff;
use device_link::{Link, LinkError};
use idcard::ReaderConfig;
use session::{Device, Event};
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
    /// How often a missing camera is looked for again (only while it is missing: an
    /// open of an absent device fails at once, so this costs next to nothing).
    pub camera_probe: Duration,
}

impl Default for Supervision {
    fn default() -> Self {
        Self {
            backoff: Backoff { base: Duration::from_millis(500), cap: Duration::from_secs(30) },
            reader: ReaderConfig::default(),
            // A device plugged back is in service within about a second (the
            // unplug suite's goal is 2 s): the reader reconnects every second, the
            // printer's status (DLE EOT, a few bytes) is asked for every second, a
            // missing camera is looked for every second.
            printer_poll: Duration::from_secs(1),
            camera_probe: Duration::from_secs(1),
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

/// Which PC/SC reader is the social security card reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReaderChoice {
    /// Whichever reader a card is put in.
    Any,
    /// The reader of this name (as `sscard readers` lists it).
    Named(String),
}

/// The devices only some terminals have.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OptionalDevices {
    pub social_security_reader: Option<ReaderChoice>,
    pub scanner: Option<super::scanner::ScannerPort>,
    /// The enrollment's verify base URL: lets the scanner recognise this service's
    /// certificates.
    pub verify_base_url: Option<String>,
}

impl OptionalDevices {
    /// From the configuration's `[devices]`.
    pub fn from_config(d: &crate::config::DevicesSection, verify_base_url: Option<String>) -> Self {
        let social_security_reader = d.social_security_reader.as_deref().map(|r| match r {
            "auto" => ReaderChoice::Any,
            name => ReaderChoice::Named(name.to_owned()),
        });
        let scanner = d.scanner.as_ref().map(|path| {
            if path.starts_with("/dev/input") {
                super::scanner::ScannerPort::Evdev(path.clone())
            } else {
                super::scanner::ScannerPort::Serial { path: path.display().to_string(), baud: d.scanner_baud }
            }
        });
        Self { social_security_reader, scanner, verify_base_url }
    }
}

/// Starts the card reader task and the printer and camera health watches, and the
/// optional devices' tasks, each under `supervise`, all reporting to the runtime's
/// `events`.
pub fn start<T: Link + 'static>(
    events: &mpsc::Sender<Event>,
    reader_opener: ReaderOpener,
    printer: &DriverPrinter<T>,
    camera: &DriverCamera,
    optional: &OptionalDevices,
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
    if let Some(choice) = &optional.social_security_reader {
        let name = match choice {
            ReaderChoice::Any => None,
            ReaderChoice::Named(name) => Some(name.clone()),
        };
        tasks.push(super::social_security::spawn(name, events.clone(), s.backoff));
    }
    if let Some(port) = &optional.scanner {
        let verify = optional.verify_base_url.clone();
        tasks.push(super::scanner::spawn(port.clone(), verify, events.clone(), s.backoff));
    }
    DeviceTasks(tasks)
}

/// A printer link that opens on first use and again after it broke, so a printer that
/// is unplugged (or off at boot) is reported missing, then works once it is back:
/// `Reopening::new(move || open_printer(&target, baud))`. The drivers' one reconnect
/// mechanism, as the reader's polling task and the camera's watchdog use it.
pub use device_link::Reopening;

/// Opens the production printer: `tcp://host:port`, a serial port at `baud`, or a USB
/// printer-class node.
pub fn open_printer(target: &str, baud: Option<u32>) -> Result<Box<dyn Link>, LinkError> {
    match (target.strip_prefix("tcp://"), baud) {
        (Some(addr), _) => Ok(Box::new(printer::TcpLink::connect(addr)?)),
        (None, Some(baud)) => Ok(Box::new(printer::SerialLink::open(target, baud)?)),
        (None, None) => Ok(Box::new(printer::UsbLpLink::open(std::path::Path::new(target))?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use printer::virtual_printer::VirtualPrinter;
    use printer::{Printer, Profile};
    use std::sync::Arc;
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
                    return Err(LinkError::Open { target: "/dev/usb/lp0".into(), reason: "unplugged".into() });
                }
                let l = link.lock().unwrap().take().ok_or(LinkError::Closed)?;
                Ok(Box::new(l) as Box<dyn Link>)
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
