//! Real devices (the idcard simulator, the virtual printer) on real pseudo-terminals (the
//! drivers' shared pty server) that behave like a serial line at a fixed speed: bytes
//! sent at another speed are lost to framing errors on both sides, as on a real UART.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use device_link::{Link as _, PtyServer};

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

    /// A reader at `baud` loaded with the simulation's synthetic cards, `label` already
    /// on it (the install's self-test reads it).
    pub fn with_card(baud: u32, label: &str) -> SimReader {
        let cards = idcard::sim::load_cards(include_str!("../../../simulation/testdata/cards.toml")).unwrap();
        let config = idcard::sim::SimConfig { baud, ..Default::default() };
        let sim = idcard::sim::Simulator::new(cards, config);
        assert!(sim.control().place(label), "no card {label}");
        let link = sim.control().connect().unwrap();
        SimReader { link, _sim: sim }
    }
}

impl Device for SimReader {
    fn take_in(&mut self, bytes: &[u8]) {
        let _ = self.link.send(bytes);
    }
    fn give_out(&mut self) -> Vec<u8> {
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
        let _ = self.link.send(bytes);
    }
    fn give_out(&mut self) -> Vec<u8> {
        let mut buf = [0u8; 512];
        let n = self.link.recv(&mut buf, Duration::ZERO).unwrap_or(0);
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
    _server: PtyServer,
}

impl Line {
    pub fn serve(mut device: impl Device, baud: u32) -> Line {
        let server = PtyServer::start("line", move |pty| {
            let mut buf = [0u8; 1024];
            // Ends when the server stops (the line is dropped).
            while let Ok(n) = pty.recv(&mut buf, Duration::from_millis(5)) {
                // The device end sees the speed the host set on its end of the terminal.
                if n > 0 && pty.host_baud() == Some(baud) {
                    device.take_in(&buf[..n]);
                }
                let out = device.give_out();
                if !out.is_empty() && pty.host_baud() == Some(baud) {
                    let _ = pty.send(&out);
                }
            }
        })
        .unwrap();
        let path = server.path().to_str().unwrap().to_owned();
        Line { path, _server: server }
    }

    pub fn path(&self) -> &str {
        &self.path
    }
}
