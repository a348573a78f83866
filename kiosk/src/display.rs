//! Which screen the terminal draws on, and how it is turned, decided before the window
//! opens. A field terminal has no X server: `SLINT_BACKEND=linuxkms-software` (the
//! kiosk unit) selects Slint's console display (DRM/KMS or `/dev/fb0`, libinput touch).
//! Development and the demo keep the X11 window (`DISPLAY`).
//!
//! `[display] rotation` turns both the picture and the touch: Slint reads the picture's
//! rotation from `SLINT_KMS_ROTATION`, which [`set_rotation_before_threads`] sets from
//! the configuration while `main` is still alone; the touch is turned by the libinput
//! calibration `ui::kms::select` sets from the same value. Slint 1.18 does not turn the
//! touch itself (see `ui::rotation`), so nothing is turned twice.

use crate::config::Config;

/// The environment variable Slint's LinuxKMS backend reads the picture's rotation from.
pub const ROTATION_VAR: &str = "SLINT_KMS_ROTATION";

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DisplayError {
    /// Someone set the rotation in the environment too (e.g. in the unit): the picture
    /// would follow it while the touch follows the configuration.
    #[error(
        "{ROTATION_VAR}={found} in the environment disagrees with `display.rotation = {configured}` in the \
         configuration: remove {ROTATION_VAR} from the environment (the configuration turns both the screen and \
         the touch)"
    )]
    Conflict { found: String, configured: u16 },
    #[error("cannot set {ROTATION_VAR}: {threads} threads are already running (it is set before any starts)")]
    Threads { threads: usize },
}

/// Where the screens go, from the environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisplayKind {
    /// Slint's LinuxKMS backend on the console: no X server needed.
    Console,
    /// An X11 or Wayland session (development, the demo).
    Desktop,
    /// No display: screens go to the log.
    None,
}

/// `SLINT_BACKEND` decides first (Slint follows it whatever else is set); otherwise a
/// desktop session if `DISPLAY` or `WAYLAND_DISPLAY` is set.
pub fn display_kind(slint_backend: Option<&str>, display: bool, wayland_display: bool) -> DisplayKind {
    let console = slint_backend.is_some_and(|b| {
        let b = b.trim().to_ascii_lowercase();
        b == "linuxkms" || b.starts_with("linuxkms-")
    });
    if console {
        DisplayKind::Console
    } else if display || wayland_display {
        DisplayKind::Desktop
    } else {
        DisplayKind::None
    }
}

/// The display this process was started for.
pub fn from_environment() -> DisplayKind {
    let backend = std::env::var("SLINT_BACKEND").ok();
    display_kind(
        backend.as_deref(),
        std::env::var_os("DISPLAY").is_some(),
        std::env::var_os("WAYLAND_DISPLAY").is_some(),
    )
}

/// What `SLINT_KMS_ROTATION` must become for `configured` degrees, given what the
/// environment already holds: `Some(value)` to set, `None` to leave as it is (already
/// right, or unset for no rotation, Slint's default).
pub fn rotation_env(configured: u16, found: Option<&str>) -> Result<Option<String>, DisplayError> {
    match found {
        Some(value) if value.trim().parse::<u16>().ok() == Some(configured) => Ok(None),
        Some(value) => Err(DisplayError::Conflict { found: value.to_owned(), configured }),
        None if configured == 0 => Ok(None),
        None => Ok(Some(configured.to_string())),
    }
}

/// Sets `SLINT_KMS_ROTATION` from `display.rotation`. Call in `main` before any thread
/// starts (the tokio runtime, the window): changing the environment while another
/// thread may read it is undefined behaviour in glibc.
pub fn set_rotation_before_threads(config: &Config) -> Result<(), DisplayError> {
    let found = std::env::var(ROTATION_VAR).ok();
    let Some(value) = rotation_env(config.display.rotation, found.as_deref())? else {
        return Ok(());
    };
    // Checked, not assumed: a thread started earlier by a library would make the write
    // unsound. (Where /proc cannot be read, `main`'s order is all there is.)
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        let threads = tasks.count();
        if threads > 1 {
            return Err(DisplayError::Threads { threads });
        }
    }
    // SAFETY: this process has one thread (checked above; `main` calls this before it
    // starts any), so nothing can read the environment while it changes.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var(ROTATION_VAR, &value)
    };
    tracing::info!(degrees = config.display.rotation, "the console display is turned (screen and touch)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slint_backend_decides_before_the_desktop_variables() {
        use DisplayKind::*;
        let table = [
            (Some("linuxkms-software"), false, false, Console),
            (Some("linuxkms-software"), true, false, Console),
            (Some("LinuxKMS"), false, true, Console),
            (Some(" linuxkms "), false, false, Console),
            (Some("winit"), true, false, Desktop),
            (Some("winit-software"), false, false, None),
            (Some("linuxkmsx"), false, false, None),
            (Some(""), false, true, Desktop),
            (Option::None, true, false, Desktop),
            (Option::None, false, true, Desktop),
            (Option::None, false, false, None),
        ];
        for (backend, display, wayland, expected) in table {
            assert_eq!(display_kind(backend, display, wayland), expected, "{backend:?} {display} {wayland}");
        }
    }

    #[test]
    fn the_rotation_goes_to_the_environment_once_and_a_different_one_there_is_refused() {
        assert_eq!(rotation_env(0, None), Ok(None));
        for degrees in [90, 180, 270] {
            assert_eq!(rotation_env(degrees, None), Ok(Some(degrees.to_string())));
            assert_eq!(rotation_env(degrees, Some(&degrees.to_string())), Ok(None));
        }
        assert_eq!(rotation_env(0, Some("0")), Ok(None));
        // The trap: the unit turns the picture, the configuration (and so the touch) does not.
        let err = rotation_env(0, Some("90")).unwrap_err();
        assert_eq!(err, DisplayError::Conflict { found: "90".into(), configured: 0 });
        let message = err.to_string();
        assert!(message.contains("SLINT_KMS_ROTATION=90") && message.contains("display.rotation = 0"), "{message}");
        assert!(rotation_env(90, Some("270")).is_err());
        assert!(rotation_env(90, Some("ninety")).is_err());
    }
}
