//! The printing bar: while a printout runs, the time elapsed over the time its paper takes
//! at the printer's speed, held below 100 % until the printer confirms the printout.

use super::{ReceiptPrinter, ScreenSink};
use session::{PrintJob, Problem};
use std::future::Future;
use std::time::Duration;

/// The bar waits here for the printer's confirmation: the estimate can be short (a slow
/// link, a cold head), and only the confirmation says the paper is out.
pub const UNCONFIRMED_MAX: u8 = 95;
/// How often the bar moves: ten steps a second look smooth on a ~1 s printout.
pub const STEP: Duration = Duration::from_millis(100);

/// The estimated percent after `elapsed` of a printout expected to take `expected`.
pub fn percent(elapsed: Duration, expected: Duration) -> u8 {
    if expected.is_zero() {
        return UNCONFIRMED_MAX;
    }
    let share = elapsed.as_secs_f64() / expected.as_secs_f64() * 100.0;
    // Truncation is intended: the bar never claims more than has elapsed.
    share.clamp(0.0, f64::from(UNCONFIRMED_MAX)) as u8
}

/// Runs `job`, reporting the estimated percent every `step` while it grows, then 100
/// once the job succeeded. A failed job reports nothing more: the core shows the failure.
pub async fn track(
    job: impl Future<Output = Result<(), Problem>>,
    expected: Duration,
    step: Duration,
    mut report: impl FnMut(u8),
) -> Result<(), Problem> {
    let started = tokio::time::Instant::now();
    let mut ticks = tokio::time::interval(step);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(job);
    let mut shown = 0;
    loop {
        tokio::select! {
            result = &mut job => {
                if result.is_ok() {
                    report(100);
                }
                return result;
            }
            _ = ticks.tick() => {
                let now = percent(started.elapsed(), expected);
                if now > shown {
                    shown = now;
                    report(now);
                }
            }
        }
    }
}

/// Prints `job`, moving the printing bar on `screen` for the printouts that show it
/// (certificates, contribution records) when the printer can tell how long it takes.
pub async fn print(printer: &dyn ReceiptPrinter, screen: &dyn ScreenSink, job: PrintJob) -> Result<(), Problem> {
    let shows_bar = matches!(job, PrintJob::Certificate(_) | PrintJob::Contributions { .. });
    let doc = printer.layout(&job);
    drop(job);
    let expected = if shows_bar { printer.expected_duration(&doc) } else { None };
    let printing = printer.print(doc);
    match expected {
        Some(expected) => track(printing, expected, STEP, |p| screen.printing(p)).await,
        None => printing.await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::sync::watch;

    /// Every percent the bar was told, in order.
    type Seen = Arc<Mutex<Vec<u8>>>;

    /// A bar that records what it was told and publishes the last value.
    fn recorder() -> (Seen, watch::Receiver<u8>, impl FnMut(u8)) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = watch::channel(0);
        let log = seen.clone();
        (seen, rx, move |p| {
            log.lock().unwrap().push(p);
            tx.send_replace(p);
        })
    }

    /// A job that ends (with `result`) once the bar has shown a value `until` accepts.
    async fn job_until(
        mut bar: watch::Receiver<u8>,
        until: impl Fn(u8) -> bool,
        result: Result<(), Problem>,
    ) -> Result<(), Problem> {
        let waited = tokio::time::timeout(Duration::from_secs(60), bar.wait_for(|p| until(*p))).await;
        assert!(matches!(waited, Ok(Ok(_))), "the bar never got there");
        result
    }

    fn non_decreasing(values: &[u8]) -> bool {
        values.windows(2).all(|w| w[0] <= w[1])
    }

    #[test]
    fn the_estimate_is_elapsed_over_expected_and_waits_at_95_for_the_printer() {
        let s = Duration::from_secs;
        assert_eq!(percent(Duration::ZERO, s(2)), 0);
        assert_eq!(percent(Duration::from_millis(500), s(2)), 25);
        assert_eq!(percent(Duration::from_millis(1_999), s(2)), UNCONFIRMED_MAX);
        assert_eq!(percent(s(10), s(2)), UNCONFIRMED_MAX, "a slow printout does not claim to be done");
        assert_eq!(percent(s(1), Duration::ZERO), UNCONFIRMED_MAX);
    }

    #[tokio::test]
    async fn a_confirmed_printout_moves_the_bar_then_ends_at_100() {
        let (seen, bar, report) = recorder();
        let job = job_until(bar, |p| p > 0, Ok(()));
        let result = track(job, Duration::from_millis(200), Duration::from_millis(5), report).await;
        assert_eq!(result, Ok(()));
        let seen = seen.lock().unwrap().clone();
        assert!(non_decreasing(&seen), "{seen:?}");
        assert_eq!(seen.last(), Some(&100), "{seen:?}");
        assert!(seen.iter().any(|p| (1..100).contains(p)), "the bar moved before the end: {seen:?}");
    }

    #[tokio::test]
    async fn a_printout_slower_than_expected_waits_at_95_until_confirmed() {
        let (seen, bar, report) = recorder();
        let job = job_until(bar, |p| p == UNCONFIRMED_MAX, Ok(()));
        track(job, Duration::from_millis(20), Duration::from_millis(2), report).await.unwrap();
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen[seen.len() - 2..], [UNCONFIRMED_MAX, 100], "{seen:?}");
        assert!(!seen[..seen.len() - 1].iter().any(|p| *p > UNCONFIRMED_MAX), "{seen:?}");
    }

    #[tokio::test]
    async fn a_failed_printout_stops_the_bar_short_of_100() {
        let (seen, bar, report) = recorder();
        let job = job_until(bar, |p| p > 0, Err(Problem::PaperOut));
        let result = track(job, Duration::from_millis(200), Duration::from_millis(5), report).await;
        assert_eq!(result, Err(Problem::PaperOut));
        let seen = seen.lock().unwrap().clone();
        assert!(!seen.is_empty() && !seen.contains(&100), "{seen:?}");
    }
}
