//! The console display: Slint's LinuxKMS backend (DRM/KMS dumb buffers, or `/dev/fb0`
//! where there is no DRM driver, drawn by the software renderer; touch through libinput;
//! no seat daemon, the `kiosk` user reaches the devices through its groups). Chosen at
//! run time with `SLINT_BACKEND=linuxkms-software` (the kiosk unit sets it); without
//! it, the X11 window as before (development, the demo).

use crate::rotation::{IDENTITY, Rotation, compose};

/// Selects the LinuxKMS backend (renderer from `SLINT_BACKEND`) with every touch device
/// calibrated for `rotation` as libinput adds it, before any of its touches arrive. The
/// picture itself is turned by Slint from `SLINT_KMS_ROTATION`, which the caller sets
/// from the same value before any thread starts (see `kiosk::display`). Call before the
/// first window is made.
pub fn select(rotation: Rotation) -> Result<(), slint::PlatformError> {
    slint::BackendSelector::new()
        .backend_name("linuxkms".into())
        .with_libinput_event_hook(move |event| {
            if let input::Event::Device(input::event::DeviceEvent::Added(added)) = event {
                use input::event::EventTrait as _;
                calibrate(&mut added.device(), rotation);
            }
            // Never swallow the event: Slint still needs to see it.
            false
        })
        .select()
}

/// Turns one touch device's coordinates with the picture. A calibration the panel
/// already has (udev's `LIBINPUT_CALIBRATION_MATRIX`, e.g. for a panel mounted
/// mirrored) is kept and applied first.
fn calibrate(device: &mut input::Device, rotation: Rotation) {
    if rotation == Rotation::Deg0 || !device.config_calibration_has_matrix() {
        return;
    }
    let panel = device.config_calibration_default_matrix().unwrap_or(IDENTITY);
    let matrix = compose(rotation.touch_calibration(), panel);
    match device.config_calibration_set_matrix(matrix) {
        Ok(()) => tracing::info!(
            device = %device.name(),
            degrees = rotation.degrees(),
            ?matrix,
            "touch turned with the screen"
        ),
        Err(e) => tracing::error!(
            device = %device.name(),
            degrees = rotation.degrees(),
            error = ?e,
            "cannot turn this touch device with the screen: its touches will land in the wrong place"
        ),
    }
}
