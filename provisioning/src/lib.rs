//! `kiosk-provision`: finds which kiosk device (ID card reader, receipt printer, camera) is
//! on which port at which speed, and checks a kiosk's `[devices]` configuration against it.
//!
//! Layers: [`classify`] (sans-IO: probe frames and reply classification), [`probe`] (one
//! port, through the drivers' links), [`discover`] (candidate ports), [`detect`]
//! and [`check`] (the two commands), [`install`] (the guided install).

pub mod check;
pub mod classify;
pub mod detect;
pub mod discover;
// The guided install uses the kiosk crate's code (its configuration, drivers and install
// record), so it comes with the command line, not with the bare library the fuzz target uses.
#[cfg(feature = "cli")]
pub mod install;
pub mod probe;
/// The root-side installer of software updates (`kiosk-provision update`).
#[cfg(feature = "cli")]
pub mod update;

pub use classify::{Answer, Paper, ReaderAnswer, classify_printer_reply, classify_reader_reply};
pub use probe::{Finding, Timings};
