//! Drains the outbox: sends due items oldest first, records the server's answer,
//! and backs off (full jitter, `Retry-After` honoured) while the network is down.

use super::backoff::{Backoff, MAX_DELAY};
use super::{KEEP_FINISHED_MS, KEEP_QUARANTINED_MS, Outbox, OutboxError, OutboxItem, SetAside};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, broadcast};

/// What became of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// 2xx: stored by the server (or already stored under this key).
    Accepted { status: u16, body: Vec<u8> },
    /// Network error, timeout, 408/409/429/5xx, or a 4xx that says nothing about the
    /// content (404 on an unknown path, 405, ...): try again later.
    Retry { after: Option<Duration>, reason: String },
    /// 401/403: the central service does not accept this terminal (its certificate
    /// was revoked or expired). Nothing is wrong with the item: it is kept, sealed,
    /// and sent again after the terminal is enrolled again.
    Unauthorized { status: u16 },
    /// 403 `device-decommissioned`: operations retired this terminal. Nothing will
    /// ever be accepted from it again; what it still holds is wiped (see
    /// [`Outbox::retire`]) and counted, and the terminal goes out of service.
    Decommissioned,
    /// 400/404/410/413/415/422: the central service says the content itself is
    /// wrong (or the person unknown); sending it again cannot help.
    Rejected { status: u16, body: Vec<u8> },
}

impl Attempt {
    /// Classifies an HTTP answer the way the idempotency contract requires. Only an
    /// answer about the content is final: a citizen's submission is never deleted
    /// because of who the terminal is or how the path is spelled.
    pub fn from_status(status: u16, retry_after: Option<Duration>, body: Vec<u8>) -> Self {
        match status {
            200..=299 => Self::Accepted { status, body },
            403 if is_decommissioned(&body) => Self::Decommissioned,
            401 | 403 => Self::Unauthorized { status },
            400 | 404 | 410 | 413 | 415 | 422 => Self::Rejected { status, body },
            _ => Self::Retry { after: retry_after, reason: format!("HTTP {status}") },
        }
    }
}

/// Whether a refusal's problem document says the terminal was decommissioned.
fn is_decommissioned(body: &[u8]) -> bool {
    serde_json::from_slice::<contract::Problem>(body)
        .is_ok_and(|p| p.kind() == Some(contract::ProblemType::DeviceDecommissioned))
}

/// How long the queue pauses after the central service refused the terminal itself:
/// re-enrollment takes a technician, hammering the server meanwhile helps nobody.
const UNAUTHORIZED_PAUSE: Duration = MAX_DELAY;
/// The outbox could not record a result (disk full, I/O error): pauses start here and
/// double up to [`MAX_DELAY`], so a full disk does not turn into a loop re-sending
/// megabytes of faces.
const STORAGE_PAUSE: Duration = Duration::from_secs(1);
/// How often finished rows are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

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
    /// Set once operations retired the terminal (or it starts retired): nothing is
    /// sent any more and the runtime takes the terminal out of service.
    pub retired: Arc<std::sync::atomic::AtomicBool>,
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
        let retired = Arc::new(std::sync::atomic::AtomicBool::new(outbox.is_retired()));
        Self {
            outbox: Arc::new(Mutex::new(outbox)),
            wake: Arc::new(Notify::new()),
            settled: broadcast::channel(256).0,
            retired,
        }
    }

    /// Whether operations retired this terminal.
    pub fn is_retired(&self) -> bool {
        self.retired.load(std::sync::atomic::Ordering::Relaxed)
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
/// All waiting is on the monotonic clock; the wall clock only stamps rows.
pub async fn run<D: Deliver>(handle: OutboxHandle, deliver: D, backoff: Backoff, stop: Arc<Notify>) {
    let mut storage_failures = 0u32;
    let mut unauthorized = false;
    let mut last_prune: Option<Instant> = None;
    loop {
        if handle.is_retired() {
            // Nothing will ever be accepted again: stay idle until the process stops
            // (a technician re-enrolls the terminal and restarts it).
            return stop.notified().await;
        }
        if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
            last_prune = Some(Instant::now());
            prune(&handle);
        }
        let due = handle.lock().due(now_ms(), 16);
        raise_set_aside(&handle);
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
                    Attempt::Unauthorized { status } => {
                        if !unauthorized {
                            tracing::error!(
                                status,
                                "the central service refuses this terminal (certificate revoked or expired?); \
                                 every item is kept and sent after re-enrollment"
                            );
                            let detail = format!("HTTP {status}: deliveries paused, items kept until re-enrollment");
                            let raised = outbox.enqueue_event(
                                "outbox.unauthorized",
                                contract::Severity::Error,
                                Some(detail),
                                now_ms(),
                            );
                            if let Err(e) = raised {
                                tracing::warn!(error = %e, "alert not stored");
                            }
                        }
                        unauthorized = true;
                        let delay = backoff.delay(item.attempts, Some(UNAUTHORIZED_PAUSE), rand::random::<f64>());
                        pause = Some(delay);
                        outbox.retry_later(item.id, now_ms() + delay.as_millis() as i64, &format!("HTTP {status}"))
                    }
                    Attempt::Decommissioned => {
                        retire(&mut outbox, &handle);
                        Ok(())
                    }
                    Attempt::Retry { after, reason } => {
                        let delay = backoff.delay(item.attempts, *after, rand::random::<f64>());
                        tracing::info!(item = ?item, ?delay, reason, "delivery failed; will retry");
                        pause = Some(delay);
                        outbox.retry_later(item.id, now_ms() + delay.as_millis() as i64, reason)
                    }
                }
            };
            if !matches!(attempt, Attempt::Unauthorized { .. } | Attempt::Retry { .. }) {
                unauthorized = false;
            }
            if let Err(e) = recorded {
                storage_failures += 1;
                let delay = STORAGE_PAUSE.saturating_mul(1 << storage_failures.min(10)).min(MAX_DELAY);
                tracing::error!(
                    error = %e,
                    ?delay,
                    "could not record a delivery result (disk full?); pausing the queue instead of re-sending"
                );
                pause = Some(delay);
            } else {
                storage_failures = 0;
            }
            let _ = handle.settled.send(Settled { key: item.key.clone(), attempt });
            if handle.is_retired() {
                break;
            }
            if let Some(pause) = pause {
                // The network, the server or the disk is unwell: pause the whole queue.
                tokio::select! { _ = tokio::time::sleep(pause) => {}, _ = stop.notified() => return }
                break;
            }
        }
    }
}

/// Operations retired the terminal: wipes what it holds, says what was lost (central
/// lists the same backlog as lost from the last heartbeat it had) and stops the queue.
fn retire(outbox: &mut Outbox, handle: &OutboxHandle) {
    match outbox.retire(now_ms()) {
        Ok(lost) => tracing::error!(
            submissions = lost.submissions,
            ratings = lost.ratings,
            audit_batches = lost.audit,
            telemetry = lost.telemetry,
            "operations decommissioned this terminal: it is out of service, and what it still held undelivered \
             is wiped (nothing personal stays); enroll it again with a new one-time token to bring it back"
        ),
        // The marker is what keeps the terminal out of service across restarts; the
        // screen goes out of service now either way.
        Err(e) => tracing::error!(
            error = %e,
            "operations decommissioned this terminal, but wiping its outbox failed: remove the data directory \
             by hand before it is re-enrolled"
        ),
    }
    handle.retired.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Raises one alert per row `due` set aside.
fn raise_set_aside(handle: &OutboxHandle) {
    let mut outbox = handle.lock();
    for aside in outbox.take_set_aside() {
        let (kind, detail) = match aside {
            SetAside::Quarantined { id, kind } => {
                ("outbox.quarantined", format!("outbox row {id} ({kind:?}) cannot be opened; kept for a technician"))
            }
            SetAside::Held { id, kind } => (
                "outbox.expired",
                format!("outbox row {id} ({kind:?}) undelivered past the idempotency window; held for a technician"),
            ),
        };
        if let Err(e) = outbox.enqueue_event(kind, contract::Severity::Error, Some(detail), now_ms()) {
            tracing::warn!(error = %e, "alert not stored");
        }
    }
}

/// Keeps finished rows within the disk budget.
fn prune(handle: &OutboxHandle) {
    let now = now_ms();
    match handle.lock().prune(now - KEEP_FINISHED_MS, now - KEEP_QUARANTINED_MS) {
        Ok(0) => {}
        Ok(n) => tracing::info!(rows = n, "outbox: forgot finished rows"),
        Err(e) => tracing::warn!(error = %e, "outbox prune failed; will try again"),
    }
}
