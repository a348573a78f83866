//! Receipt printer: ESC/POS encoder, receipt layout, status, links, virtual printer.
//!
//! Start at [`Printer`] (a driver over any [`Link`] of the drivers' shared [`link`] layer)
//! and [`Document`] (what to print); [`virtual_printer::VirtualPrinter`] stands in for
//! the hardware in tests.

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
pub mod tcp;
pub mod usb_lp;
pub mod virtual_printer;

/// The drivers' device-link layer, re-exported so users of this crate need not name it.
pub use device_link as link;
pub use device_link::{Link, LinkError, SerialLink};
pub use document::{Document, DocumentError, Item};
pub use driver::{JobReport, Printer, PrinterError, PrinterOptions};
pub use encode::encode;
pub use estimate::{PrintEstimate, estimate};
pub use profile::{Mode, Profile};
pub use status::{Health, PrinterFlags, StatusReport};
pub use tcp::TcpLink;
pub use usb_lp::UsbLpLink;
