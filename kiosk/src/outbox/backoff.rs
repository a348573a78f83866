//! When to try an undelivered item again: exponential backoff with full jitter,
//! never sooner than the server's `Retry-After`, never later than [`MAX_DELAY`].

use std::time::Duration;

/// The longest pause ever scheduled, whatever the configuration or a server's
/// `Retry-After` says: a hostile or broken `Retry-After: 99999999` cannot park the
/// queue for years.
pub const MAX_DELAY: Duration = Duration::from_secs(10 * 60);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { base: Duration::from_millis(500), cap: Duration::from_secs(300) }
    }
}

impl Backoff {
    /// The ceiling for attempt `n` (0-based): `min(cap, base * 2^n)`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// Full jitter: uniform in `0..=ceiling`, then raised to `retry_after` if the
    /// server asked for a longer pause, and capped at [`MAX_DELAY`]. `unit` is a
    /// uniform sample in `[0, 1)`.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, unit: f64) -> Duration {
        let jittered = self.ceiling(attempt).mul_f64(unit.clamp(0.0, 1.0));
        let wanted = match retry_after {
            Some(after) => jittered.max(after),
            None => jittered,
        };
        wanted.min(MAX_DELAY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(60) };
        let got: Vec<u64> = (0..8).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(b.ceiling(1000), Duration::from_secs(60));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let b = Backoff::default();
        assert_eq!(b.delay(0, Some(Duration::from_secs(30)), 0.5), Duration::from_secs(30));
        assert_eq!(b.delay(0, None, 0.0), Duration::ZERO);
    }

    #[test]
    fn no_pause_is_longer_than_the_cap() {
        let b = Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(86_400) };
        assert_eq!(b.delay(0, Some(Duration::from_secs(99_999_999)), 0.5), MAX_DELAY, "hostile Retry-After");
        assert_eq!(b.delay(40, None, 0.999), MAX_DELAY, "a configured cap above the ceiling");
    }

    proptest! {
        #[test]
        fn delay_stays_within_jitter_bounds(attempt in 0u32..100, unit in 0.0f64..1.0, after in prop::option::of(0u64..1000)) {
            let b = Backoff::default();
            let after = after.map(Duration::from_secs);
            let d = b.delay(attempt, after, unit);
            prop_assert!(d <= b.ceiling(attempt).max(after.unwrap_or_default()).min(MAX_DELAY));
            prop_assert!(d >= after.unwrap_or_default().min(MAX_DELAY));
        }
    }
}
