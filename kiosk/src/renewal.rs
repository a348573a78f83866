//! Keeps the terminal's client certificate current with no technician: after two thirds
//! of its life the terminal makes a new key, asks central for a certificate with the
//! current one (`POST /v1/enroll` without a token), and switches every request to it.
//!
//! A failed renewal keeps the old certificate, tries again with backoff and tells
//! operations once (`certificate.renewal_failed`, naming the expiry date); success
//! says so (`certificate.renewed`), which clears that alert. The request, with its new
//! key, is saved before it is sent (`renewal.json`) and sent again byte for byte until
//! answered: once central has committed a renewal the old certificate is refused, so a
//! lost answer can only be recovered by asking again exactly as before.
//!
//! The schedule is pure ([`renew_at`], [`retry_delay`]); the clock is passed in, so
//! tests run a two-hour certificate on a fast clock.

use crate::central_api::{CentralClient, CentralError, DeviceIdentity, PendingRenewal};
use crate::outbox::sender::OutboxHandle;
use contract as api;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Unix seconds now; the system clock in production.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| time::OffsetDateTime::now_utc().unix_timestamp())
}

/// How often to look and how to back off.
#[derive(Clone, Copy, Debug)]
pub struct RenewalTiming {
    /// The longest sleep between two looks at the certificate: a clock step (NTP after
    /// a power cut) is noticed within this.
    pub check_every: Duration,
    /// The wait after the first failed attempt; it doubles with each failure...
    pub retry_first: Duration,
    /// ...up to this.
    pub retry_cap: Duration,
}

impl Default for RenewalTiming {
    fn default() -> Self {
        Self {
            check_every: Duration::from_secs(600),
            retry_first: Duration::from_secs(60),
            retry_cap: Duration::from_secs(3600),
        }
    }
}

/// When a certificate valid from `not_before` to `not_after` (unix seconds) is renewed:
/// after two thirds of its life. A year's certificate is renewed four months before it
/// expires, leaving months of retries for a terminal that is offline or switched off.
pub fn renew_at(not_before: i64, not_after: i64) -> i64 {
    not_before + (not_after - not_before).max(0) / 3 * 2
}

/// The wait after `failures` failed attempts in a row (at least 1).
pub fn retry_delay(failures: u32, timing: &RenewalTiming) -> Duration {
    let doubled = timing.retry_first.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    doubled.min(timing.retry_cap)
}

#[derive(Debug, thiserror::Error)]
pub enum RenewalError {
    #[error("the device certificate cannot be read: {0}")]
    Certificate(String),
    #[error(transparent)]
    Central(#[from] CentralError),
    #[error("renewal state in the data directory: {0}")]
    Storage(#[from] std::io::Error),
}

/// `(not_before, not_after)` of the first certificate in `pem`, in unix seconds.
pub fn validity(pem: &str) -> Result<(i64, i64), RenewalError> {
    let bad = |e: &dyn std::fmt::Display| RenewalError::Certificate(e.to_string());
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).map_err(|e| bad(&e))?;
    let cert = block.parse_x509().map_err(|e| bad(&e))?;
    let v = cert.validity();
    Ok((v.not_before.timestamp(), v.not_after.timestamp()))
}

/// `2027-03-01 08:00 UTC`: how expiry dates appear in logs and alerts.
pub fn date(unix: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute())
}

/// What one look at the certificate did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Not due yet.
    NotDue,
    /// A new certificate is in use, valid until the given unix time.
    Renewed { not_after: i64 },
    /// The attempt failed; the old certificate stays.
    Failed { reason: String },
}

/// The renewal task's state: the identity in use and the failures in a row.
pub struct Renewer {
    central: CentralClient,
    data_dir: PathBuf,
    identity: DeviceIdentity,
    outbox: OutboxHandle,
    inventory: api::HardwareInventory,
    clock: Clock,
    timing: RenewalTiming,
    failures: u32,
}

impl std::fmt::Debug for Renewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renewer").field("device", &self.identity.device_id).field("failures", &self.failures).finish()
    }
}

impl Renewer {
    pub fn new(
        central: CentralClient,
        data_dir: PathBuf,
        identity: DeviceIdentity,
        outbox: OutboxHandle,
        inventory: api::HardwareInventory,
        clock: Clock,
        timing: RenewalTiming,
    ) -> Self {
        Self { central, data_dir, identity, outbox, inventory, clock, timing, failures: 0 }
    }

    /// The identity in use (the renewed one after a renewal).
    pub fn identity(&self) -> &DeviceIdentity {
        &self.identity
    }

    /// Looks at the certificate and renews it if due (or if a renewal is pending from
    /// before a restart). Returns what it did and how long to wait before the next look.
    pub async fn step(&mut self) -> (Step, Duration) {
        match self.try_step().await {
            Ok(Some(not_after)) => {
                self.failures = 0;
                (Step::Renewed { not_after }, self.timing.check_every)
            }
            Ok(None) => (Step::NotDue, self.until_due()),
            Err(e) => {
                self.failures = self.failures.saturating_add(1);
                let reason = e.to_string();
                let expires = validity(&self.identity.certificate_pem).map(|(_, na)| date(na)).unwrap_or_default();
                tracing::warn!(
                    error = %reason,
                    failures = self.failures,
                    expires,
                    "client certificate renewal failed; the current certificate stays in use"
                );
                if self.failures == 1 {
                    self.tell(
                        "certificate.renewal_failed",
                        api::Severity::Warning,
                        // The date first: central keeps 200 characters of a detail.
                        format!("certificate expires {expires}; renewal failed: {reason}"),
                    );
                }
                (Step::Failed { reason }, retry_delay(self.failures, &self.timing))
            }
        }
    }

    /// Every `step` until `stop` is notified.
    pub async fn run(mut self, stop: Arc<Notify>) {
        loop {
            let (_, wait) = self.step().await;
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stop.notified() => return,
            }
        }
    }

    /// The wait until the renewal is due, at most `check_every`.
    fn until_due(&self) -> Duration {
        let Ok((not_before, not_after)) = validity(&self.identity.certificate_pem) else {
            return self.timing.check_every;
        };
        let left = renew_at(not_before, not_after).saturating_sub((self.clock)());
        // Zero when due: the next step renews.
        Duration::from_secs(u64::try_from(left).unwrap_or(0)).min(self.timing.check_every)
    }

    /// `Ok(None)`: not due. `Ok(Some(not_after))`: renewed.
    async fn try_step(&mut self) -> Result<Option<i64>, RenewalError> {
        let pending = PendingRenewal::load(&self.data_dir)?;
        if pending.is_none() {
            let (not_before, not_after) = validity(&self.identity.certificate_pem)?;
            if (self.clock)() < renew_at(not_before, not_after) {
                return Ok(None);
            }
        }
        let pending = match pending {
            Some(p) => p,
            None => {
                // Saved before it is sent: see the module comment.
                let p = PendingRenewal::new(self.inventory.clone())?;
                p.save(&self.data_dir)?;
                p
            }
        };
        let answer = match self.central.renew(&pending).await {
            Ok(a) => a,
            Err(e) => {
                if refused_for_good(&e) {
                    // This exact request can never succeed (its CSR was refused, or its
                    // key reused with another body): the next attempt makes a new one.
                    PendingRenewal::remove(&self.data_dir)?;
                }
                return Err(e.into());
            }
        };
        let renewed = self.identity.renewed(&pending.key_pem, &answer);
        let (_, not_after) = validity(&renewed.certificate_pem)?;
        // In use first (this also checks that the certificate and key make a TLS
        // identity), then on disk; if saving fails, the pending request is still there
        // and the next start gets the same certificate again.
        self.central.use_identity(&renewed)?;
        renewed.save(&self.data_dir)?;
        PendingRenewal::remove(&self.data_dir)?;
        tracing::info!(device = %renewed.device_id, valid_until = date(not_after), "client certificate renewed");
        self.identity = renewed;
        self.tell(
            "certificate.renewed",
            api::Severity::Info,
            format!("new certificate valid until {}", date(not_after)),
        );
        Ok(Some(not_after))
    }

    /// Queues an event for operations (sent with the terminal's other telemetry).
    fn tell(&self, kind: &str, severity: api::Severity, detail: String) {
        // Stamped with the system clock like every other outbox row (its retry schedule
        // runs on it); `clock` is only this task's view of certificate time.
        match self.outbox.lock().enqueue_event(kind, severity, Some(detail), crate::outbox::sender::now_ms()) {
            Ok(_) => self.outbox.wake.notify_one(),
            Err(e) => tracing::warn!(error = %e, kind, "certificate event not stored"),
        }
    }
}

/// Answers that no repetition of the same request will change: a refused CSR or a key
/// clash. Unreachable, 5xx, 401/403 (the device itself refused, which operations must
/// resolve) and 429 are tried again.
fn refused_for_good(e: &CentralError) -> bool {
    matches!(e, CentralError::Problem { status, .. } if (400..500).contains(status) && ![401, 403, 408, 429].contains(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_is_renewed_after_two_thirds_of_its_life() {
        let hour = 3600;
        assert_eq!(renew_at(0, 2 * hour), 4800, "a two-hour certificate at 80 minutes");
        let year = 365 * 24 * hour;
        let at = renew_at(1_000_000, 1_000_000 + year);
        assert_eq!(1_000_000 + year - at, year - year / 3 * 2, "about four months before expiry");
        assert_eq!(renew_at(50, 10), 50, "a certificate that ends before it starts is due at once");
    }

    #[test]
    fn retries_double_from_a_minute_up_to_an_hour() {
        let t = RenewalTiming::default();
        let waits: Vec<u64> = (1..=9).map(|n| retry_delay(n, &t).as_secs()).collect();
        assert_eq!(waits, [60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(retry_delay(u32::MAX, &t), t.retry_cap, "no overflow after years of failures");
    }

    #[test]
    fn only_answers_about_the_request_itself_discard_it() {
        let problem = |status| CentralError::Problem { status, title: String::new(), kind: None, detail: None };
        assert!(refused_for_good(&problem(400)));
        assert!(refused_for_good(&problem(422)));
        for status in [401, 403, 408, 429, 500, 503] {
            assert!(!refused_for_good(&problem(status)), "{status} is tried again with the same request");
        }
        assert!(!refused_for_good(&CentralError::Unreachable("connection refused".into())));
    }

    #[test]
    fn dates_are_read_from_the_certificate_and_garbage_is_an_error() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["t".into()]).unwrap();
        params.not_before = time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        params.not_after = time::OffsetDateTime::from_unix_timestamp(1_800_007_200).unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        assert_eq!(validity(&pem).unwrap(), (1_800_000_000, 1_800_007_200));
        assert_eq!(date(1_800_007_200), "2027-01-15 10:00 UTC");
        assert!(matches!(
            validity("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Err(RenewalError::Certificate(_))
        ));
        assert!(matches!(validity("not a certificate"), Err(RenewalError::Certificate(_))));
    }
}
