//! Per-key rate limits (GCRA, the `governor` crate) for what a client can make the
//! service do at its own cost: logins, registry lookups, anonymous enrollments.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::Rate;

/// One rate per key: `check` says whether a call may go ahead now, or how long to wait.
pub struct Throttle<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
}

impl<K: Hash + Eq + Clone> std::fmt::Debug for Throttle<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").field("keys", &self.limiter.len()).finish()
    }
}

impl<K: Hash + Eq + Clone> Throttle<K> {
    /// A throttle allowing `rate.burst` calls at once per key, refilled at `rate.per_minute`.
    pub fn new(rate: Rate) -> Self {
        let one = NonZeroU32::MIN;
        let quota = Quota::per_minute(NonZeroU32::new(rate.per_minute).unwrap_or(one))
            .allow_burst(NonZeroU32::new(rate.burst).unwrap_or(one));
        Self { limiter: DefaultKeyedRateLimiter::keyed(quota), clock: DefaultClock::default() }
    }

    /// `Ok` when `key` may make a call now (counting it), else how long until it may.
    pub fn check(&self, key: &K) -> Result<(), Duration> {
        self.limiter.check_key(key).map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Forgets keys whose allowance has filled up again, so a flood of distinct keys
    /// (made-up user names) does not keep memory forever.
    pub fn forget_rested(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The key a client address is throttled under: an IPv4 address, or the /64 network of
/// an IPv6 address (one subscriber is usually given a whole /64).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Whole seconds to put in `Retry-After` (at least 1: 0 would invite an immediate retry).
pub fn retry_after_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_the_key_waits_and_other_keys_do_not() {
        let t = Throttle::new(Rate { per_minute: 6, burst: 3 });
        for _ in 0..3 {
            assert_eq!(t.check(&"a"), Ok(()));
        }
        let wait = t.check(&"a").unwrap_err();
        assert!(wait > Duration::from_secs(8) && wait <= Duration::from_secs(10), "{wait:?}");
        assert_eq!(t.check(&"b"), Ok(()));
    }

    #[test]
    fn ipv6_clients_are_throttled_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(retry_after_seconds(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
    }
}
