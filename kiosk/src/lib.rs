//! The terminal runtime: session core, service flows, outbox, audit trail, telemetry, device supervision.

pub mod audit;
pub mod central_api;
pub mod config;
pub mod outbox;
pub mod present;
pub mod runtime;
pub mod session;
pub mod terminal;
pub mod window;
