//! The terminal runtime: the adapters around the pure session core (the `session`
//! crate). Each is written once, at its edge: device drivers -> core events
//! (`runtime::{reader, camera, printer_health}`), core effects -> the ESC/POS printer
//! (`runtime::escpos_printer`), the central service (`central_api`, `runtime::convert`)
//! and the outbox, core screens -> the Slint window (`present`, `window`). `app` runs it
//! all as a program; `terminal::start` wires one terminal.

pub mod app;
pub mod audit;
pub mod central_api;
pub mod config;
pub mod display;
pub mod durable;
pub mod install_record;
pub mod memory;
pub mod outbox;
#[cfg(feature = "window")]
pub mod present;
pub mod renewal;
pub mod runtime;
pub mod terminal;
pub mod update;
pub mod voice;
#[cfg(feature = "window")]
pub mod window;
