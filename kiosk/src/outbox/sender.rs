//! Drains the outbox: sends due items oldest first, records the server's answer,
//! and backs off (full jitter, `Retry-After` honoured) while the network is down.

use super::backoff::Backoff;
use super::{Outbox, OutboxError, OutboxItem};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, broadcast};

/// What became of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// 2xx: stored by the server (or already stored under this key).
    Accepted { status: u16, body: Vec<u8> },
    /// Network error, timeout, 408/409/429/5xx: try again later.
    Retry { after: Option<Duration>, reason: String },
    /// Any other 4xx: sending it again cannot help.
    Rejected { status: u16, body: Vec<u8> },
}

impl Attempt {
    /// Classifies an HTTP answer the way the idempotency contract requires.
    pub fn from_status(status: u16, retry_after: Option<Duration>, body: Vec<u8>) -> Self {
        match status {
            200..=299 => Self::Accepted { status, body },
            408 | 409 | 425 | 429 | 500..=599 => Self::Retry { after: retry_after, reason: format!("HTTP {status}") },
            _ => Self::Rejected { status, body },
        }
    }
}

/// Sends one item to the central service (the real client, or a test double).
pub trait Deliver: Send + Sync + 'static {
    fn deliver(&self, item: &OutboxItem) -> impl Future<Output = Attempt> + Send;
}

/// Announced to whoever waits for a particular key (the receipt: submitted or queued).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    pub key: String,
    pub attempt: Attempt,
}

/// Handle shared by the runtime: the store, a wake-up bell and the settled feed.
#[derive(Clone)]
pub struct OutboxHandle {
    pub outbox: Arc<Mutex<Outbox>>,
    pub wake: Arc<Notify>,
    pub settled: broadcast::Sender<Settled>,
}

impl std::fmt::Debug for OutboxHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutboxHandle")
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or_default()
}

impl OutboxHandle {
    pub fn new(outbox: Outbox) -> Self {
        Self { outbox: Arc::new(Mutex::new(outbox)), wake: Arc::new(Notify::new()), settled: broadcast::channel(256).0 }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Outbox> {
        // A panic while holding the lock leaves SQLite consistent (transactions), so
        // the poisoned guard is still safe to use.
        self.outbox.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Enqueues and waits up to `wait` for the server's answer: `Ok(Some(attempt))`
    /// when it settled in time, `Ok(None)` when it stays queued.
    pub async fn submit(
        &self,
        kind: super::ItemKind,
        path: &str,
        body: &[u8],
        wait: Duration,
    ) -> Result<(String, Option<Attempt>), OutboxError> {
        let mut feed = self.settled.subscribe();
        let key = self.lock().enqueue(kind, path, body, now_ms())?;
        self.wake.notify_one();
        let waited = tokio::time::timeout(wait, async {
            loop {
                match feed.recv().await {
                    Ok(s) if s.key == key => return Some(s.attempt),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .await;
        Ok((key, waited.ok().flatten()))
    }
}

/// Runs until `stop` is notified. One item at a time, oldest first: when the network
/// is down the first failure pauses the whole queue instead of hammering every item.
pub async fn run<D: Deliver>(handle: OutboxHandle, deliver: D, backoff: Backoff, stop: Arc<Notify>) {
    loop {
        let due = handle.lock().due(now_ms(), 16);
        let items = match due {
            Ok(items) => items,
            Err(e) => {
                tracing::error!(error = %e, "outbox unreadable; retrying in 5 s");
                tokio::select! { _ = tokio::time::sleep(Duration::from_secs(5)) => continue, _ = stop.notified() => return }
            }
        };
        if items.is_empty() {
            let next = handle.lock().next_due_ms().ok().flatten();
            let pause =
                next.map_or(Duration::from_secs(60), |t| Duration::from_millis((t - now_ms()).clamp(1, 60_000) as u64));
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = handle.wake.notified() => {}
                _ = stop.notified() => return,
            }
            continue;
        }
        for item in items {
            let attempt = tokio::select! { a = deliver.deliver(&item) => a, _ = stop.notified() => return };
            let mut pause = None;
            let recorded = {
                let mut outbox = handle.lock();
                match &attempt {
                    Attempt::Accepted { status, body } => outbox.delivered(item.id, *status, body),
                    Attempt::Rejected { status, body } => outbox.rejected(item.id, *status, body),
                    Attempt::Retry { after, reason } => {
                        let delay = backoff.delay(item.attempts, *after, rand::random::<f64>());
                        tracing::info!(item = ?item, ?delay, reason, "delivery failed; will retry");
                        pause = Some(delay);
                        outbox.retry_later(item.id, now_ms() + delay.as_millis() as i64, reason)
                    }
                }
            };
            if let Err(e) = recorded {
                tracing::error!(error = %e, "could not record a delivery result");
            }
            let _ = handle.settled.send(Settled { key: item.key.clone(), attempt });
            if let Some(pause) = pause {
                // The network (or the server) is unwell: pause the whole queue.
                tokio::select! { _ = tokio::time::sleep(pause) => {}, _ = stop.notified() => return }
                break;
            }
        }
    }
}
