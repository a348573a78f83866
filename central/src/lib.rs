//! Reference central service: the v1 API a kiosk terminal talks to (enrollment PKI,
//! idempotent submissions, reference business logic on a synthetic registry), fleet
//! telemetry with alerts and Prometheus metrics, and the operations dashboard.
//!
//! The wire types are the `contract` crate's (here also as [`api`]); terminals depend on
//! that crate, not on this one. Tests and small deployments start the server
//! in-process with [`start`]; the `central` binary wraps the same.

pub use contract as api;
pub mod audit;
pub mod calendar;
pub mod check;
pub mod config;
pub mod connections;
pub mod enroll;
mod http;
pub mod notify;
pub mod ops;
pub mod password;
pub mod pki;
pub mod registry;
pub mod release;
pub mod retention;
pub mod review;
pub mod server;
pub mod service;
mod state;
pub mod store;
pub mod telemetry;
pub mod throttle;
pub mod tracking;

pub use config::{ConfigError, LoginLimits, Rate, Retention, ServerConfig};
pub use server::{RunningServer, StartError, start, start_with_notifier};

/// Hash that binds an `Idempotency-Key` to one exact request (method, path, body);
/// exposed so tests can hold a key "in flight" through the store.
pub fn idempotency_request_hash(method: &str, path: &str, body: &[u8]) -> String {
    let method = axum::http::Method::from_bytes(method.as_bytes()).unwrap_or(axum::http::Method::POST);
    http::request_hash(&method, path, body)
}
