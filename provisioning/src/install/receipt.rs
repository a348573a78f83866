//! The provisioning receipt's layout: defined in the kiosk crate, whose maintenance
//! screen prints it again.

pub use kiosk::install_record::receipt::*;
