//! Staged software updates with automatic rollback, the terminal's half: the pure
//! decisions ([`plan`]), the files shared with the root-side installer ([`spool`]),
//! and the task that fetches, verifies and requests an update ([`agent`]). The
//! installer itself is `kiosk-provision update` (the `provisioning` crate), because
//! installing a package needs root and the kiosk runs as user `kiosk`.

pub mod agent;
pub mod plan;
pub mod spool;

/// Where the package records the Debian version it installed (`scripts/package`).
pub const VERSION_FILE: &str = "/usr/share/kiosk/version";

/// The version this terminal runs, as the fleet sees it: the installed package's Debian
/// version when there is one (test builds of one binary get several), else the crate's.
pub fn running_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        std::fs::read_to_string(VERSION_FILE)
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
            .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned())
    })
}

/// The Debian architecture of this build.
pub fn architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "arm" => "armhf",
        other => other,
    }
}
