//! Device supervision: each driver runs in its own task; when it fails or panics, its
//! health goes to the session core (which disables the services that need it) and
//! telemetry, and it is restarted with backoff.

use crate::outbox::backoff::Backoff;
use session::{Device, Event, Health, Problem};
use std::future::Future;
use tokio::sync::mpsc;

/// Aborts the running driver when the supervisor itself is dropped or aborted, so a
/// driver never outlives the terminal that started it.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A driver that ran this long before failing was healthy: its next restart starts the
/// backoff again, instead of waiting the cap because of failures weeks ago.
const HEALTHY_RUN: std::time::Duration = std::time::Duration::from_secs(60);

/// The failure count the next restart's backoff uses, after a run of `ran_for`.
fn failures_after(failures: u32, ran_for: std::time::Duration) -> u32 {
    if ran_for >= HEALTHY_RUN { 0 } else { failures }
}

/// Runs `driver` until it ends cleanly, restarting it after every failure. A driver
/// reports `Health::Ok` itself once its device answers.
pub async fn supervise<F, Fut>(device: Device, events: mpsc::Sender<Event>, backoff: Backoff, mut driver: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let mut failures = 0u32;
    loop {
        let started = tokio::time::Instant::now();
        let task = tokio::spawn(driver());
        let _abort = AbortOnDrop(task.abort_handle());
        let result = task.await;
        failures = failures_after(failures, started.elapsed());
        let reason = match result {
            Ok(Ok(())) => return,
            Ok(Err(reason)) => reason,
            Err(join) if join.is_panic() => "driver panicked".to_owned(),
            Err(_) => return, // cancelled: the runtime is shutting down
        };
        tracing::warn!(?device, %reason, failures, "device driver failed; restarting");
        let health = Health::Problem(Problem::Error(reason));
        if events.send(Event::DeviceHealth { device, health }).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff.delay(failures, None, rand::random::<f64>())).await;
        failures = failures.saturating_add(1);
    }
}

/// Stops a driver thread off the async workers when dropped (stopping waits for the
/// thread's current command). Every driver handle stops its thread on drop.
struct StopOnDrop<H: Send + 'static>(Option<H>);

impl<H: Send + 'static> Drop for StopOnDrop<H> {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => drop(rt.spawn_blocking(move || drop(handle))),
                Err(_) => drop(handle),
            }
        }
    }
}

/// Forwards a driver thread's events to the session core (through `meaning`, which
/// drops what the core need not know) until the runtime goes away (`Ok`) or the thread
/// ends (`Err`, so that the supervisor restarts it). `handle` stops the thread when this
/// returns or is cancelled.
pub async fn forward<H, E>(
    handle: H,
    mut driver_events: mpsc::Receiver<E>,
    events: &mpsc::Sender<Event>,
    mut meaning: impl FnMut(E) -> Option<Event>,
    thread: &str,
) -> Result<(), String>
where
    H: Send + 'static,
{
    let _stop = StopOnDrop(Some(handle));
    loop {
        tokio::select! {
            event = driver_events.recv() => {
                let Some(event) = event else { return Err(format!("the {thread} thread ended")) };
                if let Some(event) = meaning(event)
                    && events.send(event).await.is_err()
                {
                    return Ok(());
                }
            }
            () = events.closed() => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn failing_and_panicking_drivers_are_restarted_and_reported() {
        let (tx, mut rx) = mpsc::channel(16);
        let starts = Arc::new(AtomicU32::new(0));
        let counter = starts.clone();
        let backoff = Backoff { base: Duration::from_millis(1), cap: Duration::from_millis(5) };
        supervise(Device::Reader, tx, backoff, move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                match n {
                    0 => Err("serial port vanished".to_owned()),
                    1 => panic!("driver bug"),
                    _ => Ok(()),
                }
            }
        })
        .await;
        assert_eq!(starts.load(Ordering::SeqCst), 3, "restarted until it ran cleanly");
        let mut reasons = Vec::new();
        while let Ok(Event::DeviceHealth { device: Device::Reader, health: Health::Problem(Problem::Error(r)) }) =
            rx.try_recv()
        {
            reasons.push(r);
        }
        assert_eq!(reasons, ["serial port vanished", "driver panicked"]);
    }

    #[test]
    fn a_driver_that_ran_well_for_a_while_restarts_without_the_old_backoff() {
        assert_eq!(failures_after(7, Duration::from_secs(1)), 7, "failing again at once: keep backing off");
        assert_eq!(failures_after(7, HEALTHY_RUN), 0, "healthy for a minute: start over");
        assert_eq!(failures_after(0, Duration::ZERO), 0);
    }

    #[tokio::test]
    async fn a_stopped_supervisor_takes_its_running_driver_with_it() {
        let (tx, _rx) = mpsc::channel(1);
        let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
        let backoff = Backoff { base: Duration::from_millis(1), cap: Duration::from_millis(5) };
        let supervisor = tokio::spawn(supervise(Device::Camera, tx, backoff, move || {
            let alive = alive_tx.clone();
            async move {
                let _ = alive.send(()).await;
                std::future::pending::<()>().await;
                Ok(())
            }
        }));
        assert_eq!(alive_rx.recv().await, Some(()), "the driver runs");
        supervisor.abort();
        let ended = tokio::time::timeout(Duration::from_secs(30), alive_rx.recv()).await;
        assert_eq!(ended, Ok(None), "every copy of the driver's sender is gone: the driver stopped");
    }
}
