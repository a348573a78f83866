//! The one reconnect mechanism: a device handle that is opened on first use, dropped
//! when the device turns out to be gone, and opened again on the next use. Used for
//! the card reader's port, the printer's link and the camera's frame source.

use std::time::{Duration, Instant};

use crate::{Link, LinkError};

/// An error that can tell whether the device behind it is gone (and must be reopened)
/// or is still there (a timeout, a bad frame).
pub trait DeviceError {
    fn is_gone(&self) -> bool;
}

impl DeviceError for LinkError {
    fn is_gone(&self) -> bool {
        LinkError::is_gone(self)
    }
}

type Opener<T, E> = Box<dyn FnMut() -> Result<T, E> + Send>;

/// A device handle `T` (a link, a frame source) that opens itself on first use and
/// again after the device was lost. [`Reopening::with`] runs an operation on the open
/// handle and drops the handle when the operation says the device is gone; the next use
/// opens it again, at the earliest `reopen_delay` after the loss or the failed open.
///
/// `Reopening<L>` over a [`Link`] is itself a link, so a driver never notices that its
/// printer was unplugged and plugged back, except for the failed operations between.
pub struct Reopening<T, E = LinkError> {
    open: Opener<T, E>,
    current: Option<T>,
    reopen_delay: Duration,
    /// Earliest time of the next open attempt, after a loss or a failed open.
    next_open: Option<Instant>,
}

impl<T, E> std::fmt::Debug for Reopening<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reopening")
            .field("open", &self.current.is_some())
            .field("reopen_delay", &self.reopen_delay)
            .finish_non_exhaustive()
    }
}

impl<T, E> Reopening<T, E> {
    /// Nothing is opened until the first use.
    pub fn new(open: impl FnMut() -> Result<T, E> + Send + 'static) -> Self {
        Self { open: Box::new(open), current: None, reopen_delay: Duration::ZERO, next_open: None }
    }

    /// After a loss or a failed open, wait at least `delay` before opening again (so a
    /// missing device is not hammered with open calls).
    pub fn with_reopen_delay(mut self, delay: Duration) -> Self {
        self.reopen_delay = delay;
        self
    }

    pub fn is_open(&self) -> bool {
        self.current.is_some()
    }

    /// The open handle, without opening one.
    pub fn current(&mut self) -> Option<&mut T> {
        self.current.as_mut()
    }

    /// How long until the next open attempt is due (zero when open or due now). A
    /// caller that must stay responsive (to a stop request) waits this out itself before
    /// [`Reopening::get`], which would otherwise sleep it.
    pub fn until_next_open(&self) -> Duration {
        match (&self.current, self.next_open) {
            (None, Some(at)) => at.saturating_duration_since(Instant::now()),
            _ => Duration::ZERO,
        }
    }

    /// The open handle, opening it first if needed (after sleeping out what is left of
    /// the reopen delay). A failed open is returned and tried again on the next call.
    pub fn get(&mut self) -> Result<&mut T, E> {
        let handle = match self.current.take() {
            Some(handle) => handle,
            None => {
                let wait = self.until_next_open();
                if !wait.is_zero() {
                    std::thread::sleep(wait);
                }
                match (self.open)() {
                    Ok(handle) => {
                        self.next_open = None;
                        handle
                    }
                    Err(e) => {
                        self.next_open = Some(Instant::now() + self.reopen_delay);
                        return Err(e);
                    }
                }
            }
        };
        Ok(self.current.insert(handle))
    }

    /// Drops the handle: the caller found the device unusable (it stopped answering).
    /// The next use reopens it, after the reopen delay.
    pub fn close(&mut self) {
        if self.current.take().is_some() {
            self.next_open = Some(Instant::now() + self.reopen_delay);
        }
    }
}

impl<T, E: DeviceError> Reopening<T, E> {
    /// Runs `op` on the open handle (opening it first); drops the handle when `op`
    /// fails because the device is gone, so that the next use reopens it.
    pub fn with<R>(&mut self, op: impl FnOnce(&mut T) -> Result<R, E>) -> Result<R, E> {
        let result = op(self.get()?);
        if let Err(e) = &result
            && e.is_gone()
        {
            tracing::debug!("device gone: dropping its handle, reopening on next use");
            self.close();
        }
        result
    }
}

impl<L: Link> Link for Reopening<L, LinkError> {
    fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.with(|link| link.send(bytes))
    }
    fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
        self.with(|link| link.recv(buf, timeout))
    }
    fn discard_input(&mut self) -> Result<(), LinkError> {
        self.with(|link| link.discard_input())
    }
    /// The open link's port status; asking does not open a link.
    fn port_status(&mut self) -> Option<u8> {
        self.current.as_mut().and_then(|link| link.port_status())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{PipeEnd, pipe};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Mutex};

    /// A device error for a handle that is not a link.
    #[derive(Debug, PartialEq)]
    enum Fake {
        Missing,
        Gone,
        BadFrame,
    }

    impl DeviceError for Fake {
        fn is_gone(&self) -> bool {
            matches!(self, Fake::Missing | Fake::Gone)
        }
    }

    fn counting(fail_first: u32) -> (Reopening<u32, Fake>, Arc<AtomicU32>) {
        let opens = Arc::new(AtomicU32::new(0));
        let counter = opens.clone();
        let device = Reopening::new(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            if n < fail_first { Err(Fake::Missing) } else { Ok(n) }
        });
        (device, opens)
    }

    #[test]
    fn nothing_is_opened_before_the_first_use_and_the_handle_is_kept() {
        let (mut device, opens) = counting(0);
        assert!(!device.is_open());
        assert_eq!(opens.load(Ordering::SeqCst), 0);
        assert_eq!(device.with(|n| Ok::<_, Fake>(*n)).unwrap(), 0);
        assert_eq!(device.with(|n| Ok::<_, Fake>(*n)).unwrap(), 0);
        assert_eq!(opens.load(Ordering::SeqCst), 1, "opened once, used twice");
    }

    #[test]
    fn a_failed_open_is_tried_again_on_the_next_use() {
        let (mut device, opens) = counting(1);
        assert_eq!(device.with(|n| Ok::<_, Fake>(*n)), Err(Fake::Missing));
        assert!(!device.is_open());
        assert_eq!(device.with(|n| Ok::<_, Fake>(*n)), Ok(1));
        assert_eq!(opens.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_gone_device_is_reopened_and_a_bad_frame_is_not() {
        let (mut device, opens) = counting(0);
        assert_eq!(device.with(|_| Err::<(), _>(Fake::BadFrame)), Err(Fake::BadFrame));
        assert!(device.is_open(), "the device is still there");
        assert_eq!(device.with(|_| Err::<(), _>(Fake::Gone)), Err(Fake::Gone));
        assert!(!device.is_open(), "the handle of a gone device is dropped");
        assert_eq!(device.with(|n| Ok::<_, Fake>(*n)), Ok(1), "reopened on the next use");
        assert_eq!(opens.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_reopen_delay_spaces_open_attempts() {
        let (device, _) = counting(1);
        let mut device = device.with_reopen_delay(Duration::from_millis(100));
        assert_eq!(device.until_next_open(), Duration::ZERO, "the first open is due at once");
        assert!(device.get().is_err());
        let wait = device.until_next_open();
        assert!(wait > Duration::from_millis(50) && wait <= Duration::from_millis(100), "{wait:?}");
        let started = Instant::now();
        assert_eq!(*device.get().unwrap(), 1);
        assert!(started.elapsed() >= Duration::from_millis(50), "get waited out the delay");
        assert_eq!(device.until_next_open(), Duration::ZERO, "open: nothing to wait for");
        device.close();
        assert!(device.until_next_open() > Duration::ZERO, "a closed device waits before reopening");
    }

    #[test]
    fn a_reopening_link_survives_an_unplugged_cable() {
        // Each open hands out a fresh pipe and keeps its device end for the test.
        let device_ends: Arc<Mutex<Vec<PipeEnd>>> = Arc::default();
        let ends = device_ends.clone();
        let mut link: Reopening<Box<dyn Link>> = Reopening::new(move || {
            let (host, device) = pipe();
            ends.lock().unwrap().push(device);
            Ok(Box::new(host) as Box<dyn Link>)
        });
        link.send(b"first").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(device_ends.lock().unwrap()[0].recv(&mut buf, Duration::ZERO).unwrap(), 5);
        assert_eq!(link.recv(&mut buf, Duration::ZERO).unwrap(), 0, "quiet: the link stays");
        assert!(link.is_open());
        device_ends.lock().unwrap()[0].close();
        assert!(matches!(link.recv(&mut buf, Duration::ZERO), Err(LinkError::Closed)));
        assert!(!link.is_open(), "a closed link is dropped");
        link.send(b"second").unwrap();
        assert_eq!(device_ends.lock().unwrap()[1].recv(&mut buf, Duration::ZERO).unwrap(), 6, "a new link");
        assert_eq!(link.port_status(), None);
    }

    #[test]
    fn a_write_timeout_keeps_the_link() {
        struct Jammed;
        impl Link for Jammed {
            fn send(&mut self, _: &[u8]) -> Result<(), LinkError> {
                Err(LinkError::WriteTimeout(Duration::from_millis(1)))
            }
            fn recv(&mut self, _: &mut [u8], _: Duration) -> Result<usize, LinkError> {
                Ok(0)
            }
        }
        let opens = Arc::new(AtomicU32::new(0));
        let counter = opens.clone();
        let mut link = Reopening::new(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(Jammed)
        });
        assert!(matches!(link.send(b"x"), Err(LinkError::WriteTimeout(_))));
        assert!(matches!(link.send(b"x"), Err(LinkError::WriteTimeout(_))));
        assert_eq!(opens.load(Ordering::SeqCst), 1, "paper out is not an unplugged printer");
    }
}
