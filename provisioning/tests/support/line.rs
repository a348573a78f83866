//! Real devices (the idcard simulator, the virtual printer) on real pseudo-terminals that
//! behave like a serial line at a fixed speed: bytes sent at another speed are lost to
//! framing errors on both sides, as on a real UART.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use serialport::SerialPort as _;
use serialport::TTYPort;

/// The SAM id the simulated readers report (hex, as `detect` prints it).
pub const SAM_HEX: &str = "05012026112153494D2D53414D2D3031";

/// The device end of a line.
pub trait Device: Send + 'static {
    fn take_in(&mut self, bytes: &[u8]);
    fn give_out(&mut self) -> Vec<u8>;
}

/// The idcard simulator, through the in-memory link its device loop serves.
pub struct SimReader {
    link: idcard::PipeEnd,
    _sim: idcard::sim::Simulator,
}

impl SimReader {
    /// A reader whose SAM module runs at `baud` (the simulator paces its replies to it).
    pub fn new(baud: u32) -> SimReader {
        let config = idcard::sim::SimConfig { baud, ..Default::default() };
        let sim = idcard::sim::Simulator::new(Vec::new(), config);
        let link = sim.control().connect().unwrap();
        SimReader { link, _sim: sim }
    }
}

impl Device for SimReader {
    fn take_in(&mut self, bytes: &[u8]) {
        use idcard::Transport as _;
        let _ = self.link.send(bytes);
    }
    fn give_out(&mut self) -> Vec<u8> {
        use idcard::Transport as _;
        let mut buf = [0u8; 512];
        let n = self.link.recv(&mut buf, Duration::ZERO).unwrap_or(0);
        buf[..n].to_vec()
    }
}

/// The printer crate's virtual printer, through its in-memory link.
pub struct VirtualPrinterDevice {
    link: printer::virtual_printer::VirtualLink,
}

impl VirtualPrinterDevice {
    /// An 80 mm kiosk printer and the handle to change its paper state.
    pub fn new() -> (VirtualPrinterDevice, printer::virtual_printer::PrinterControl) {
        let vp = printer::virtual_printer::VirtualPrinter::new(printer::Profile::KIOSK_80);
        (VirtualPrinterDevice { link: vp.link() }, vp.control())
    }
}

impl Device for VirtualPrinterDevice {
    fn take_in(&mut self, bytes: &[u8]) {
        use printer::Transport as _;
        let _ = self.link.write_all(bytes);
    }
    fn give_out(&mut self) -> Vec<u8> {
        use printer::Transport as _;
        let mut buf = [0u8; 512];
        let n = self.link.read(&mut buf, Duration::ZERO).unwrap_or(0);
        buf[..n].to_vec()
    }
}

/// Something that never answers (a device that is off, or an empty port).
pub struct Silent;

impl Device for Silent {
    fn take_in(&mut self, _: &[u8]) {}
    fn give_out(&mut self) -> Vec<u8> {
        Vec::new()
    }
}

/// A line that sends back whatever it receives (a modem with echo on, a loopback plug).
#[derive(Default)]
pub struct Echo(Vec<u8>);

impl Device for Echo {
    fn take_in(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }
    fn give_out(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

/// A device on a pseudo-terminal whose far end runs at `baud`. Stops when dropped.
pub struct Line {
    path: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Line {
    pub fn serve(mut device: impl Device, baud: u32) -> Line {
        let (mut master, slave) = TTYPort::pair().unwrap();
        let path = slave.name().unwrap();
        master.set_timeout(Duration::from_millis(5)).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            // The slave stays open here so its settings (the host's speed) can be read.
            let slave = slave;
            let mut buf = [0u8; 1024];
            while !stop2.load(Ordering::SeqCst) {
                let n = match master.read(&mut buf) {
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => 0,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        0
                    }
                };
                // Termios is per terminal, so any fd on the slave sees what the host set.
                let in_step = slave.baud_rate().is_ok_and(|b| b == baud);
                if n > 0 && in_step {
                    device.take_in(&buf[..n]);
                }
                let out = device.give_out();
                if !out.is_empty() && slave.baud_rate().is_ok_and(|b| b == baud) {
                    let _ = master.write_all(&out);
                }
            }
        });
        Line { path, stop, thread: Some(thread) }
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
