//! Keeps slow and idle clients from holding the service's connections. A new connection
//! must finish its TLS handshake and first request headers within the header timeout; a
//! kept-alive connection may idle for the idle timeout between requests and must then send
//! a request's headers within the header timeout; a request body must arrive within the
//! body timeout. At the connection cap the longest-waiting connection without a request in
//! flight is closed to admit the new one, so a few hundred sockets opened and left idle
//! cannot lock terminals out.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Bytes, Frame, Incoming, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;

/// The deadlines every connection is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub header: Duration,
    pub idle: Duration,
    pub body: Duration,
}

/// File descriptors kept back from connections for the database, the listener and logs.
pub const RESERVED_FILES: u64 = 128;
/// The cap when none is configured and the open-file limit allows more: each open TLS
/// connection holds tens of kilobytes of buffers.
pub const DEFAULT_CAP_MAX: usize = 16_384;

/// The connection cap that fits the process's open-file limit.
pub fn cap_for_open_file_limit() -> usize {
    let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map(|(soft, _)| soft)
        .unwrap_or(1024);
    usize::try_from(soft.saturating_sub(RESERVED_FILES)).unwrap_or(DEFAULT_CAP_MAX).clamp(8, DEFAULT_CAP_MAX)
}

/// What one connection is doing, as its watchdog and the accept loop see it. Times are
/// milliseconds since the registry's epoch (0 = none).
#[derive(Debug)]
pub struct Activity {
    /// Requests whose headers were read and whose response is not finished.
    in_flight: AtomicU32,
    /// Since when no request has been in flight (the connection's start at first).
    waiting_since_ms: AtomicU64,
    /// When the first byte of the next request arrived while waiting.
    head_started_ms: AtomicU64,
    /// Whether a request has been read: until then the header timeout runs from the start.
    served: AtomicBool,
    evicted: AtomicBool,
    changed: Notify,
}

impl Activity {
    fn new(now_ms: u64) -> Self {
        Self {
            in_flight: AtomicU32::new(0),
            waiting_since_ms: AtomicU64::new(now_ms),
            head_started_ms: AtomicU64::new(0),
            served: AtomicBool::new(false),
            evicted: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    /// When the connection must be closed unless something happens first, and why.
    fn deadline(&self, deadlines: &Deadlines) -> Option<(u64, &'static str)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        if !self.served.load(Ordering::Acquire) {
            let since = self.waiting_since_ms.load(Ordering::Acquire);
            return Some((since.saturating_add(ms(deadlines.header)), "no request within the header timeout"));
        }
        match self.head_started_ms.load(Ordering::Acquire) {
            0 => Some((
                self.waiting_since_ms.load(Ordering::Acquire).saturating_add(ms(deadlines.idle)),
                "idle longer than the idle timeout",
            )),
            started => Some((started.saturating_add(ms(deadlines.header)), "request headers not complete in time")),
        }
    }
}

/// Every open connection, the cap, and the clock their times are read on.
#[derive(Debug)]
pub struct Connections {
    epoch: Instant,
    cap: usize,
    deadlines: Deadlines,
    open: Mutex<HashMap<u64, Arc<Activity>>>,
    next_id: AtomicU64,
    /// A connection closed: the accept loop may go on when it was waiting for room.
    freed: Notify,
    evicted_total: AtomicU64,
    /// Evictions since the last log line, and when that was.
    cap_log: Mutex<(u64, Option<Instant>)>,
}

/// How often, at most, the cap is reported in the log while it is being hit.
const CAP_LOG_EVERY: Duration = Duration::from_secs(60);

impl Connections {
    pub fn new(cap: usize, deadlines: Deadlines) -> Self {
        Self {
            epoch: Instant::now(),
            cap,
            deadlines,
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            freed: Notify::new(),
            evicted_total: AtomicU64::new(0),
            cap_log: Mutex::new((0, None)),
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    pub fn deadlines(&self) -> Deadlines {
        self.deadlines
    }

    /// Connections open now (handshaking, idle or serving).
    pub fn open_count(&self) -> usize {
        self.open.lock().map_or(0, |open| open.len())
    }

    /// Connections closed to make room at the cap since start.
    pub fn evicted_total(&self) -> u64 {
        self.evicted_total.load(Ordering::Relaxed)
    }

    fn now_ms(&self) -> u64 {
        // Never 0, which means "none" in `Activity`.
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX).max(1)
    }

    /// Waits until a new connection can be admitted: below the cap, or some connection
    /// has no request in flight and can be closed. Meanwhile new clients wait in the
    /// kernel's listen backlog rather than being accepted and dropped.
    pub async fn wait_for_room(&self) {
        loop {
            let full_and_busy = self.open.lock().is_ok_and(|open| {
                open.len() >= self.cap && open.values().all(|a| a.in_flight.load(Ordering::Acquire) > 0)
            });
            if !full_and_busy {
                return;
            }
            self.log_cap(false);
            tokio::select! {
                _ = self.freed.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        }
    }

    /// Registers a new connection; at the cap, first closes the connection that has waited
    /// longest without a request in flight.
    pub fn admit(self: &Arc<Self>) -> ConnectionSlot {
        let now = self.now_ms();
        let activity = Arc::new(Activity::new(now));
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut evicted = false;
        if let Ok(mut open) = self.open.lock() {
            if open.len() >= self.cap {
                let oldest = open
                    .iter()
                    .filter(|(_, a)| a.in_flight.load(Ordering::Acquire) == 0)
                    .min_by_key(|(_, a)| a.waiting_since_ms.load(Ordering::Acquire))
                    .map(|(id, _)| *id);
                if let Some(victim) = oldest.and_then(|id| open.remove(&id)) {
                    victim.evicted.store(true, Ordering::Release);
                    victim.changed.notify_one();
                    evicted = true;
                }
            }
            open.insert(id, activity.clone());
        }
        if evicted {
            self.evicted_total.fetch_add(1, Ordering::Relaxed);
            self.log_cap(true);
        }
        ConnectionSlot { id, activity, connections: self.clone() }
    }

    /// One warning a minute at most while the cap is being hit, saying what to do.
    fn log_cap(&self, evicted: bool) {
        let Ok(mut log) = self.cap_log.lock() else { return };
        log.0 += u64::from(evicted);
        if log.1.is_some_and(|at| at.elapsed() < CAP_LOG_EVERY) {
            return;
        }
        let (evictions, open) = (log.0, self.open_count());
        *log = (0, Some(Instant::now()));
        drop(log);
        if evicted {
            tracing::warn!(
                open,
                cap = self.cap,
                evictions,
                "connection cap reached: closed the longest-idle connections to admit new ones; \
                 if terminals cannot connect, raise LimitNOFILE in central.service or --max-connections"
            );
        } else {
            tracing::warn!(
                open,
                cap = self.cap,
                "connection cap reached with every connection serving a request: new connections wait in the \
                 listen backlog; raise LimitNOFILE in central.service or --max-connections if this persists"
            );
        }
    }
}

/// A registered connection; dropping it unregisters the connection.
#[derive(Debug)]
pub struct ConnectionSlot {
    id: u64,
    activity: Arc<Activity>,
    connections: Arc<Connections>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.connections.open.lock() {
            open.remove(&self.id);
        }
        self.connections.freed.notify_one();
    }
}

/// Why a connection's watchdog closed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Its deadline passed (the reason says which).
    Deadline(&'static str),
    /// It was closed to make room at the connection cap.
    Evicted,
}

impl ConnectionSlot {
    /// Resolves when the connection must be closed: a deadline passed or it was evicted.
    /// Never resolves while a request is in flight (its body has its own deadline).
    pub async fn closed(&self) -> Closed {
        let connections = &self.connections;
        loop {
            if self.activity.evicted.load(Ordering::Acquire) {
                return Closed::Evicted;
            }
            let changed = self.activity.changed.notified();
            match self.activity.deadline(&connections.deadlines) {
                None => changed.await,
                Some((due_ms, reason)) => {
                    let now = connections.now_ms();
                    if now >= due_ms {
                        return Closed::Deadline(reason);
                    }
                    tokio::select! {
                        _ = changed => {}
                        _ = tokio::time::sleep(Duration::from_millis(due_ms - now)) => {}
                    }
                }
            }
        }
    }

    /// The connection's transport, with reads noted as the start of a request.
    pub fn track<T>(&self, io: T) -> TrackedIo<T> {
        TrackedIo { inner: io, activity: self.activity.clone(), connections: self.connections.clone() }
    }

    /// Marks a request's headers as read; the returned guard marks its response finished
    /// when dropped (hyper drops a response body once it is written or abandoned).
    pub fn request_started(&self) -> InFlight {
        let a = &self.activity;
        a.in_flight.fetch_add(1, Ordering::AcqRel);
        a.served.store(true, Ordering::Release);
        a.head_started_ms.store(0, Ordering::Release);
        a.changed.notify_one();
        InFlight { activity: self.activity.clone(), connections: self.connections.clone() }
    }
}

/// One request in flight on a connection.
#[derive(Debug)]
pub struct InFlight {
    activity: Arc<Activity>,
    connections: Arc<Connections>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.activity;
        a.waiting_since_ms.store(self.connections.now_ms(), Ordering::Release);
        if a.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            a.changed.notify_one();
        }
    }
}

/// A connection's byte stream that notes when the first byte of a request arrives.
#[derive(Debug)]
pub struct TrackedIo<T> {
    inner: T,
    activity: Arc<Activity>,
    connections: Arc<Connections>,
}

impl<T: AsyncRead + Unpin> AsyncRead for TrackedIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(read, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let a = &self.activity;
            if a.in_flight.load(Ordering::Acquire) == 0 && a.head_started_ms.load(Ordering::Acquire) == 0 {
                a.head_started_ms.store(self.connections.now_ms(), Ordering::Release);
                a.changed.notify_one();
            }
        }
        read
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TrackedIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyReadError {
    #[error("reading the request body failed: {0}")]
    Read(#[from] hyper::Error),
    #[error("the request body did not arrive within {0:?}")]
    TooSlow(Duration),
}

impl BodyReadError {
    /// Whether `error`, or any error it was caused by, is a body that came too slowly.
    pub fn is_too_slow(error: &(dyn std::error::Error + 'static)) -> bool {
        let mut next = Some(error);
        while let Some(e) = next {
            if matches!(e.downcast_ref::<BodyReadError>(), Some(BodyReadError::TooSlow(_))) {
                return true;
            }
            next = e.source();
        }
        false
    }
}

/// A request body that fails once its deadline has passed, however slowly it trickles in.
#[derive(Debug)]
pub struct DeadlineBody {
    inner: Incoming,
    limit: Duration,
    deadline: Pin<Box<tokio::time::Sleep>>,
}

impl DeadlineBody {
    pub fn new(inner: Incoming, limit: Duration) -> Self {
        Self { inner, limit, deadline: Box::pin(tokio::time::sleep(limit)) }
    }
}

impl Body for DeadlineBody {
    type Data = Bytes;
    type Error = BodyReadError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyReadError>>> {
        let this = self.get_mut();
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(BodyReadError::Read)));
        }
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(BodyReadError::TooSlow(this.limit))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadlines() -> Deadlines {
        Deadlines { header: Duration::from_secs(10), idle: Duration::from_secs(75), body: Duration::from_secs(60) }
    }

    #[tokio::test]
    async fn at_the_cap_the_longest_idle_connection_makes_room_and_busy_ones_stay() {
        let connections = Arc::new(Connections::new(3, deadlines()));
        let busy = connections.admit();
        let _request = busy.request_started();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let oldest_idle = connections.admit();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let newer_idle = connections.admit();
        assert_eq!(connections.open_count(), 3);
        let newest = connections.admit();
        assert_eq!(connections.open_count(), 3);
        assert_eq!(oldest_idle.closed().await, Closed::Evicted);
        assert!(!newer_idle.activity.evicted.load(Ordering::Acquire));
        assert!(!busy.activity.evicted.load(Ordering::Acquire));
        assert_eq!(connections.evicted_total(), 1);
        drop(newest);
        assert_eq!(connections.open_count(), 2);
    }

    #[test]
    fn the_header_timeout_runs_from_the_start_then_idle_between_requests() {
        let d = deadlines();
        let a = Activity::new(1_000);
        assert_eq!(a.deadline(&d).map(|(t, _)| t), Some(11_000), "TLS and first headers");
        a.in_flight.store(1, Ordering::Release);
        a.served.store(true, Ordering::Release);
        assert_eq!(a.deadline(&d), None, "a request in flight has no connection deadline");
        a.in_flight.store(0, Ordering::Release);
        a.waiting_since_ms.store(20_000, Ordering::Release);
        assert_eq!(a.deadline(&d).map(|(t, _)| t), Some(95_000), "idle between requests");
        a.head_started_ms.store(30_000, Ordering::Release);
        assert_eq!(a.deadline(&d).map(|(t, _)| t), Some(40_000), "headers begun");
    }
}
