//! The technician PIN pad's guard (wrong PINs so far, the lockout) on disk, so that
//! pulling the plug is not a way to get five more guesses. The lockout is kept as a
//! wall-clock deadline; on loading, the core caps what is left at the configured
//! lockout, so a clock stepped back cannot lock the pad for longer.

use session::PinGuardState;
use std::path::Path;

#[derive(serde::Serialize, serde::Deserialize)]
struct Saved {
    failures: u8,
    /// Unix milliseconds; absent when the pad is not locked.
    locked_until_ms: Option<i64>,
}

/// The guard saved at `path`, if any. A missing or unreadable file is no guard (and a
/// log line), never a refusal to start.
pub fn load(path: &Path) -> Option<PinGuardState> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "PIN guard unreadable; starting without it");
            return None;
        }
    };
    let saved: Saved = match serde_json::from_slice(&bytes) {
        Ok(saved) => saved,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "PIN guard malformed; starting without it");
            return None;
        }
    };
    let now = crate::outbox::sender::now_ms();
    let locked_for = saved.locked_until_ms.filter(|until| *until > now).map(|until| (until - now) as u64);
    Some(PinGuardState { failures: saved.failures, locked_for })
}

/// Saves `guard` at `path` (written beside it, then renamed: a crash leaves the old
/// file or the new one).
pub fn save(path: &Path, guard: PinGuardState) {
    let now = crate::outbox::sender::now_ms();
    let saved = Saved {
        failures: guard.failures,
        locked_until_ms: guard.locked_for.map(|left| now.saturating_add(i64::try_from(left).unwrap_or(i64::MAX))),
    };
    let tmp = path.with_extension("tmp");
    let written = serde_json::to_vec(&saved)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&tmp, bytes))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        tracing::error!(path = %path.display(), error = %e, "PIN guard not saved; a restart would forget it");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lockout_is_kept_across_a_restart_and_runs_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pin-guard.json");
        assert_eq!(load(&path), None);
        save(&path, PinGuardState { failures: 3, locked_for: None });
        assert_eq!(load(&path), Some(PinGuardState { failures: 3, locked_for: None }));
        save(&path, PinGuardState { failures: 0, locked_for: Some(60_000) });
        let left = load(&path).unwrap().locked_for.unwrap();
        assert!((59_000..=60_000).contains(&left), "{left}");
        save(&path, PinGuardState { failures: 0, locked_for: Some(0) });
        assert_eq!(load(&path).unwrap().locked_for, None, "a lockout that ran out");
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(load(&path), None, "garbage is no guard, not a crash");
    }
}
