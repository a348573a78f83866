//! Slint screens for every service and the typed view-model seam to the runtime.
//!
//! The runtime builds a [`View`] (see [`model`]) and hands it to a [`KioskHandle`]
//! from any thread; what the person does comes back as [`Intent`]s on a channel.
//! No business rules live here: the UI shows what it is given.

mod bind;
pub mod gallery;
#[cfg(feature = "kms")]
pub mod kms;
pub mod model;
pub mod render;
pub mod rotation;
mod speech;
mod window;

/// The code generated from `ui/kiosk.slint` (component, globals, enums), for tests and
/// tools that need the Slint side directly.
pub mod slint_ui {
    #![allow(clippy::all, clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
    slint::include_modules!();
}

pub use model::*;
pub use rotation::Rotation;
pub use speech::SpokenPrompt;
pub use window::{KioskHandle, KioskWindow, UiError};
