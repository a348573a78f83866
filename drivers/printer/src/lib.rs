//! Receipt printer: ESC/POS encoder, receipt layout, status, transports, virtual printer.
//!
//! Start at [`Printer`] (a driver over any [`Transport`]) and [`Document`] (what to
//! print); [`virtual_printer::VirtualPrinter`] stands in for the hardware in tests.

pub mod bitmap;
pub mod code128;
pub mod document;
pub mod driver;
pub mod encode;
pub mod escpos;
pub mod estimate;
pub mod paper;
pub mod profile;
pub mod status;
pub mod transport;
pub mod virtual_printer;

pub use document::{Document, DocumentError, Item};
pub use driver::{JobReport, Printer, PrinterError, PrinterOptions};
pub use encode::encode;
pub use estimate::{PrintEstimate, estimate};
pub use profile::{Mode, Profile};
pub use status::{Health, PrinterFlags, StatusReport};
pub use transport::{SerialTransport, TcpTransport, Transport, TransportError, UsbLpTransport};
