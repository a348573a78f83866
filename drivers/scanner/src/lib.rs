//! Receipt barcode scanner: scanning the CODE128 or QR on a receipt opens that
//! application's status. Sans-IO at the core, tested and fuzzed without a device.
//!
//! Layers, bottom up: [`line`] (bytes -> lines), [`keys`] (keyboard-wedge key events ->
//! bytes), [`classify()`] (line -> [`Scan`]), [`source`] (serial and evdev transports),
//! [`watch()`] (the task with events), [`sim`] (a serial scanner on a pty).

pub mod classify;
pub mod keys;
pub mod line;
pub mod sim;
pub mod source;
pub mod watch;

pub use classify::{Classifier, Rejection, Scan, classify};
pub use keys::KeyDecoder;
pub use line::{Assembled, Garbage, LineAssembler, MAX_SCAN_LEN};
pub use source::{EvdevScanner, ScanSource, SerialScanner, SourceError};
pub use watch::{ScannerConfig, ScannerEvent, ScannerHandle, watch};
