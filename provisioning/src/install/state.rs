//! The install's progress: defined in the kiosk crate, whose maintenance screen reads it
//! to print the provisioning receipt again.

pub use kiosk::install_record::state::*;
