//! Device supervision: each driver runs in its own task; when it fails or panics, its
//! health goes to the session core (which disables the services that need it) and
//! telemetry, and it is restarted with backoff.

use crate::outbox::backoff::Backoff;
use crate::session::{Device, Event, Health, Problem};
use std::future::Future;
use tokio::sync::mpsc;

/// Runs `driver` until it ends cleanly, restarting it after every failure. A driver
/// reports `Health::Ok` itself once its device answers.
pub async fn supervise<F, Fut>(device: Device, events: mpsc::Sender<Event>, backoff: Backoff, mut driver: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let mut failures = 0u32;
    loop {
        let reason = match tokio::spawn(driver()).await {
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
}
