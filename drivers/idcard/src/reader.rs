//! The blocking card reader: sends commands over a [`Link`], waits for replies
//! with per-command timeouts, and turns the find -> select -> read exchange into a [`Card`].

use std::fmt;
use std::time::{Duration, Instant};

use crate::card::{Card, CardParseError, NEWEST_ADDRESS_LEN};
use crate::frame::{CardBlocks, Command, Decoder, FrameError, LayoutError, Reply, Status};
use crate::{Link, LinkError};

/// How long to wait for each kind of reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// Status, SAM id, find, select, newest address.
    pub short: Duration,
    /// Text + photo (+ fingerprint) reads: the card's radio and the SAM take time.
    pub read: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts { short: Duration::from_millis(500), read: Duration::from_secs(3) }
    }
}

/// What to read besides text and photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadOptions {
    /// Use `30 10` (adds fingerprint bytes, up to 1024 more bytes on the wire).
    pub fingerprint: bool,
    /// Follow up with `30 03` for an address newer than the printed one.
    pub newest_address: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { fingerprint: false, newest_address: true }
    }
}

/// The SAM's 16-byte id, for telemetry.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SamId(pub [u8; 16]);

impl fmt::Display for SamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

impl fmt::Debug for SamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SamId({self})")
    }
}

/// Why a reader operation failed, phrased for the technician at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    #[error("the reader link is gone ({0}): check the USB cable; the driver reconnects by itself")]
    LinkLost(#[source] LinkError),
    #[error("no reply to {command:?} within {timeout:?}: check the cable, the reader's power and the baud rate")]
    NoReply { command: Command, timeout: Duration },
    #[error("garbled reply to {command:?}: {error}")]
    Garbled { command: Command, error: FrameError },
    #[error("reader answered {command:?} with {status}")]
    Status { command: Command, status: Status },
    #[error("no card on the reader")]
    NoCard,
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error(transparent)]
    Card(#[from] CardParseError),
}

impl ReaderError {
    /// The SAM itself is failing (reset it after a few of these).
    pub fn is_sam_fault(&self) -> bool {
        matches!(self, ReaderError::Status { status, .. } if status.is_sam_fault())
    }
    /// Worth retrying the same command (noise or a slow reply).
    fn is_transient(&self) -> bool {
        matches!(self, ReaderError::NoReply { .. } | ReaderError::Garbled { .. })
    }
}

/// A reader on a link. Blocking; one command at a time.
pub struct CardReader<T: Link> {
    link: T,
    decoder: Decoder,
    timeouts: Timeouts,
    options: ReadOptions,
    buf: Vec<u8>,
    /// Input may be waiting that belongs to no request of ours: the link is new, or the
    /// last exchange timed out, was garbled or cut short, or had bytes after its reply.
    unsettled: bool,
}

impl<T: Link> fmt::Debug for CardReader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardReader").field("timeouts", &self.timeouts).field("options", &self.options).finish()
    }
}

impl<T: Link> CardReader<T> {
    pub fn new(link: T) -> Self {
        CardReader {
            link,
            decoder: Decoder::new(),
            timeouts: Timeouts::default(),
            options: ReadOptions::default(),
            buf: vec![0; 4096],
            unsettled: true,
        }
    }
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }
    pub fn with_options(mut self, options: ReadOptions) -> Self {
        self.options = options;
        self
    }
    pub fn into_link(self) -> T {
        self.link
    }

    /// Sends one command and waits for its reply frame.
    ///
    /// Stale input (a late reply to a request that timed out) is discarded first, but
    /// only when the previous exchange did not end cleanly: after a whole reply and
    /// nothing behind it, nothing is in flight, and a serial port's discard waits for a
    /// quiet line ([`device_link::QUIET_LINE`], 10 ms) that would add to every poll and
    /// to every step of a card read.
    pub fn transact(&mut self, command: Command, timeout: Duration) -> Result<Reply, ReaderError> {
        self.decoder.clear();
        if self.unsettled {
            self.link.discard_input().map_err(ReaderError::LinkLost)?;
        }
        // Settled again only by a whole reply with nothing after it.
        self.unsettled = true;
        self.link.send(&command.encode()).map_err(ReaderError::LinkLost)?;
        let deadline = Instant::now() + timeout;
        loop {
            while let Some(event) = self.decoder.next_event() {
                match event {
                    Ok(frame) => {
                        if let Some(reply) = Reply::from_frame(frame) {
                            self.unsettled = self.decoder.buffered() > 0;
                            return Ok(reply);
                        }
                    }
                    Err(error @ FrameError::BadChecksum { .. }) => {
                        tracing::warn!(?command, %error, "garbled reply");
                        return Err(ReaderError::Garbled { command, error });
                    }
                    // A bad length is usually noise that happened to contain a preamble;
                    // the real reply may still follow.
                    Err(error) => tracing::debug!(?command, %error, "skipped noise"),
                }
            }
            let now = Instant::now();
            if now >= deadline {
                if let Some(error) = self.decoder.abandon_partial() {
                    tracing::warn!(?command, %error, "reply cut short");
                    return Err(ReaderError::Garbled { command, error });
                }
                return Err(ReaderError::NoReply { command, timeout });
            }
            let n = self.link.recv(&mut self.buf, deadline - now).map_err(ReaderError::LinkLost)?;
            self.decoder.push(&self.buf[..n]);
        }
    }

    fn expect(&mut self, command: Command, timeout: Duration, ok: Status) -> Result<Reply, ReaderError> {
        let reply = self.transact(command, timeout)?;
        if reply.status == ok { Ok(reply) } else { Err(ReaderError::Status { command, status: reply.status }) }
    }

    /// `11 FF`: is the SAM working?
    pub fn sam_status(&mut self) -> Result<(), ReaderError> {
        self.expect(Command::SamStatus, self.timeouts.short, Status::Ok).map(drop)
    }

    /// `12 FF`: the SAM id, for telemetry.
    pub fn sam_id(&mut self) -> Result<SamId, ReaderError> {
        let reply = self.expect(Command::SamId, self.timeouts.short, Status::Ok)?;
        let mut id = [0u8; 16];
        let n = reply.data.len().min(16);
        id[..n].copy_from_slice(&reply.data[..n]);
        Ok(SamId(id))
    }

    /// `10 FF`: reset the SAM (after repeated SAM failures).
    pub fn reset_sam(&mut self) -> Result<(), ReaderError> {
        self.expect(Command::ResetSam, self.timeouts.read, Status::Ok).map(drop)
    }

    /// `20 01`: `true` if a card (not yet read) is in the field.
    pub fn find_card(&mut self) -> Result<bool, ReaderError> {
        let reply = self.transact(Command::FindCard, self.timeouts.short)?;
        match reply.status {
            Status::CardFound | Status::Ok => Ok(true),
            Status::FindFailed => Ok(false),
            status => Err(ReaderError::Status { command: Command::FindCard, status }),
        }
    }

    /// `20 02`: selects the card; returns its serial. `Ok(None)` means no card in the field.
    pub fn select_card(&mut self) -> Result<Option<Vec<u8>>, ReaderError> {
        let reply = self.transact(Command::SelectCard, self.timeouts.short)?;
        match reply.status {
            Status::Ok => Ok(Some(reply.data)),
            Status::SelectFailed => Ok(None),
            status => Err(ReaderError::Status { command: Command::SelectCard, status }),
        }
    }

    /// Find, select and read one card.
    pub fn read_card(&mut self) -> Result<Card, ReaderError> {
        if !self.find_card()? {
            return Err(ReaderError::NoCard);
        }
        if self.select_card()?.is_none() {
            return Err(ReaderError::NoCard);
        }
        self.read_selected()
    }

    /// Reads the card already found and selected (text, photo, options). A garbled or
    /// missing reply is retried once: the card stays selected, so the read can repeat.
    pub fn read_selected(&mut self) -> Result<Card, ReaderError> {
        let command = if self.options.fingerprint { Command::ReadTextAndFingerprint } else { Command::ReadText };
        let reply = match self.expect(command, self.timeouts.read, Status::Ok) {
            Err(e) if e.is_transient() => {
                tracing::info!(error = %e, "retrying card read");
                self.expect(command, self.timeouts.read, Status::Ok)?
            }
            other => other?,
        };
        let blocks = CardBlocks::parse(&reply.data, self.options.fingerprint)?;
        let mut card = Card::parse(&blocks.text, blocks.photo, blocks.fingerprint)?;
        if self.options.newest_address {
            card.newest_address = self.read_newest_address()?;
        }
        Ok(card)
    }

    /// `30 03`: the newest address, `None` if the card has none.
    pub fn read_newest_address(&mut self) -> Result<Option<String>, ReaderError> {
        let reply = self.transact(Command::ReadNewestAddress, self.timeouts.short)?;
        match reply.status {
            Status::Ok => {
                let n = reply.data.len().min(NEWEST_ADDRESS_LEN);
                Ok(Some(Card::parse_newest_address(&reply.data[..n])).filter(|a| !a.is_empty()))
            }
            Status::NoSuchItem => Ok(None),
            status => Err(ReaderError::Status { command: Command::ReadNewestAddress, status }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{PipeEnd, pipe};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;

    /// The host end of a pipe that counts how often stale input was discarded.
    struct Counting {
        link: PipeEnd,
        discards: Arc<AtomicUsize>,
    }

    impl Link for Counting {
        fn send(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
            self.link.send(bytes)
        }
        fn recv(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, LinkError> {
            self.link.recv(buf, timeout)
        }
        fn discard_input(&mut self) -> Result<(), LinkError> {
            self.discards.fetch_add(1, Ordering::SeqCst);
            self.link.discard_input()
        }
    }

    fn reply(status: Status) -> Vec<u8> {
        Reply::new(status, vec![]).encode().unwrap()
    }

    /// A device that leaves its first find unanswered until told, then answers it late;
    /// status requests get `90`, later finds `80` (no card).
    fn late_device(mut device: PipeEnd, got_find: mpsc::Sender<()>, answer_late: mpsc::Receiver<()>) {
        let mut decoder = Decoder::new();
        let mut buf = [0u8; 64];
        let mut first_find = true;
        while let Ok(n) = device.recv(&mut buf, Duration::from_secs(30)) {
            if n == 0 {
                return;
            }
            decoder.push(&buf[..n]);
            while let Some(Ok(frame)) = decoder.next_event() {
                let bytes = match Command::from_frame(&frame) {
                    Some(Command::FindCard) if first_find => {
                        first_find = false;
                        got_find.send(()).unwrap();
                        answer_late.recv().unwrap();
                        Reply::new(Status::CardFound, vec![0; 4]).encode().unwrap()
                    }
                    Some(Command::FindCard) => reply(Status::FindFailed),
                    _ => reply(Status::Ok),
                };
                if device.send(&bytes).is_err() {
                    return;
                }
                if bytes.len() == 15 {
                    got_find.send(()).unwrap();
                }
            }
        }
    }

    #[test]
    fn stale_input_is_discarded_after_a_timeout_and_not_after_a_clean_reply() {
        let (host, device) = pipe();
        let discards = Arc::new(AtomicUsize::new(0));
        let (got_find, find_seen) = mpsc::channel();
        let (answer, answer_late) = mpsc::channel();
        let device = std::thread::spawn(move || late_device(device, got_find, answer_late));
        let short = Duration::from_millis(100);
        let link = Counting { link: host, discards: discards.clone() };
        let mut reader = CardReader::new(link).with_timeouts(Timeouts { short, read: short });

        reader.sam_status().unwrap();
        assert_eq!(discards.load(Ordering::SeqCst), 1, "a new link is cleared before its first command");
        let err = reader.find_card().unwrap_err();
        assert!(matches!(err, ReaderError::NoReply { command: Command::FindCard, .. }), "{err}");
        find_seen.recv().unwrap();
        answer.send(()).unwrap();
        find_seen.recv().unwrap(); // the late reply (card found) is on its way
        // Without the discard the status request would read that late `9F`.
        reader.sam_status().unwrap();
        assert_eq!(discards.load(Ordering::SeqCst), 2, "input discarded after the timeout");

        for _ in 0..5 {
            assert!(!reader.find_card().unwrap());
        }
        assert_eq!(discards.load(Ordering::SeqCst), 2, "nothing to discard after whole replies");
        drop(reader);
        device.join().unwrap();
    }
}
