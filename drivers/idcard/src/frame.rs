//! Sans-IO frame codec for the GA/T 467 SAM serial protocol: command encoding, an
//! incremental resynchronising decoder, reply parsing and the SW3 status table.

use std::fmt;

/// Every frame starts with these five bytes.
pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];
/// Largest frame the decoder accepts (a `30 10` reply with 1024 fingerprint bytes).
pub const MAX_FRAME_LEN: usize = 2321;
/// Smallest LEN: two body bytes (CMD PARA) plus the checksum.
const MIN_LEN_FIELD: usize = 3;
/// Bytes before the body: preamble plus the two LEN bytes.
const HEADER_LEN: usize = PREAMBLE.len() + 2;

/// XOR of the LEN bytes and the body: the frame checksum.
pub fn checksum(len_and_body: &[u8]) -> u8 {
    len_and_body.iter().fold(0, |acc, b| acc ^ b)
}

/// Wraps a body (`CMD PARA [DATA]` or `SW1 SW2 SW3 [DATA]`) into a complete frame.
/// Bodies too long for one frame are rejected rather than silently cut.
pub fn encode_frame(body: &[u8]) -> Result<Vec<u8>, FrameError> {
    let len = body.len() + 1;
    if HEADER_LEN + len > MAX_FRAME_LEN || len < MIN_LEN_FIELD {
        return Err(FrameError::BadLength { declared: len });
    }
    let mut out = Vec::with_capacity(HEADER_LEN + len);
    out.extend_from_slice(&PREAMBLE);
    // Cannot truncate: len <= MAX_FRAME_LEN checked above.
    out.extend_from_slice(&(len as u16).to_be_bytes());
    out.extend_from_slice(body);
    let chk = checksum(&out[PREAMBLE.len()..]);
    out.push(chk);
    Ok(out)
}

/// Baud rates selectable with `60 0n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaudRate {
    B115200,
    B57600,
    B38400,
    B19200,
    B9600,
}

impl BaudRate {
    /// The `n` in `60 0n`.
    pub fn code(self) -> u8 {
        match self {
            BaudRate::B115200 => 0,
            BaudRate::B57600 => 1,
            BaudRate::B38400 => 2,
            BaudRate::B19200 => 3,
            BaudRate::B9600 => 4,
        }
    }
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => BaudRate::B115200,
            1 => BaudRate::B57600,
            2 => BaudRate::B38400,
            3 => BaudRate::B19200,
            4 => BaudRate::B9600,
            _ => return None,
        })
    }
    pub fn bits_per_second(self) -> u32 {
        match self {
            BaudRate::B115200 => 115_200,
            BaudRate::B57600 => 57_600,
            BaudRate::B38400 => 38_400,
            BaudRate::B19200 => 19_200,
            BaudRate::B9600 => 9_600,
        }
    }
}

/// A host-to-reader command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// `10 FF`: reset the SAM.
    ResetSam,
    /// `11 FF`: SAM status.
    SamStatus,
    /// `12 FF`: read the 16-byte SAM id.
    SamId,
    /// `20 01`: find a card in the field.
    FindCard,
    /// `20 02`: select the card found.
    SelectCard,
    /// `30 01`: read text and photo.
    ReadText,
    /// `30 10`: read text, photo and fingerprint.
    ReadTextAndFingerprint,
    /// `30 03`: read the newest address.
    ReadNewestAddress,
    /// `60 0n`: switch the link to another baud rate.
    SetBaud(BaudRate),
    /// `61 FF xx`: maximum bytes per RF frame.
    MaxRfFrameBytes(u8),
}

impl Command {
    /// The CMD and PARA bytes.
    pub fn code(self) -> (u8, u8) {
        match self {
            Command::ResetSam => (0x10, 0xFF),
            Command::SamStatus => (0x11, 0xFF),
            Command::SamId => (0x12, 0xFF),
            Command::FindCard => (0x20, 0x01),
            Command::SelectCard => (0x20, 0x02),
            Command::ReadText => (0x30, 0x01),
            Command::ReadTextAndFingerprint => (0x30, 0x10),
            Command::ReadNewestAddress => (0x30, 0x03),
            Command::SetBaud(b) => (0x60, b.code()),
            Command::MaxRfFrameBytes(_) => (0x61, 0xFF),
        }
    }

    /// The complete request frame, ready for the wire.
    pub fn encode(self) -> Vec<u8> {
        let (cmd, para) = self.code();
        let mut body = vec![cmd, para];
        if let Command::MaxRfFrameBytes(n) = self {
            body.push(n);
        }
        // Bodies are 2 or 3 bytes: always within limits.
        encode_frame(&body).unwrap_or_default()
    }

    /// Recognises a decoded request frame (the simulator's side of the link).
    pub fn from_frame(frame: &Frame) -> Option<Command> {
        let body = frame.body();
        let (&cmd, &para) = (body.first()?, body.get(1)?);
        let extra = &body[2..];
        let command = match (cmd, para, extra.len()) {
            (0x10, 0xFF, 0) => Command::ResetSam,
            (0x11, 0xFF, 0) => Command::SamStatus,
            (0x12, 0xFF, 0) => Command::SamId,
            (0x20, 0x01, 0) => Command::FindCard,
            (0x20, 0x02, 0) => Command::SelectCard,
            (0x30, 0x01, 0) => Command::ReadText,
            (0x30, 0x10, 0) => Command::ReadTextAndFingerprint,
            (0x30, 0x03, 0) => Command::ReadNewestAddress,
            (0x60, n, 0) => Command::SetBaud(BaudRate::from_code(n)?),
            (0x61, 0xFF, 1) => Command::MaxRfFrameBytes(extra[0]),
            _ => return None,
        };
        Some(command)
    }
}

/// One frame whose length and checksum verified: the bytes between LEN and CHK.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame {
    body: Vec<u8>,
}

impl Frame {
    pub fn body(&self) -> &[u8] {
        &self.body
    }
    /// Size of the frame on the wire.
    pub fn wire_len(&self) -> usize {
        HEADER_LEN + self.body.len() + 1
    }
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }
}

impl fmt::Debug for Frame {
    // Bodies carry personal data: show only the shape.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head: Vec<String> = self.body.iter().take(3).map(|b| format!("{b:02X}")).collect();
        write!(f, "Frame({} bytes: {} ...)", self.body.len(), head.join(" "))
    }
}

/// Why bytes were thrown away. The decoder keeps going after each of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error(
        "frame checksum mismatch (computed {computed:02X}, frame says {received:02X}): line noise or a loose cable"
    )]
    BadChecksum { computed: u8, received: u8 },
    #[error("frame declares {declared} bytes after the length field, outside 3..=2314: not a reader frame")]
    BadLength { declared: usize },
    #[error("frame cut short: {received} of {expected} bytes arrived")]
    Truncated { expected: usize, received: usize },
}

/// Incremental decoder: push bytes in any chunking, then drain events with
/// [`Decoder::next_event`] until it returns `None`. Drained, it holds fewer than
/// [`MAX_FRAME_LEN`] bytes, whatever arrived.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    skipped: u64,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes. Drain with `next_event` after each push to keep memory bounded.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes waiting for the rest of their frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes discarded so far while hunting for a preamble (noise counter).
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped
    }

    /// Forgets everything buffered (before sending a new command).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// The next complete frame or resync error, or `None` if more bytes are needed.
    pub fn next_event(&mut self) -> Option<Result<Frame, FrameError>> {
        self.skip_to_preamble();
        if self.buf.len() < HEADER_LEN {
            return None;
        }
        let declared = usize::from(u16::from_be_bytes([self.buf[5], self.buf[6]]));
        if declared < MIN_LEN_FIELD || HEADER_LEN + declared > MAX_FRAME_LEN {
            self.drop_front(1);
            return Some(Err(FrameError::BadLength { declared }));
        }
        let total = HEADER_LEN + declared;
        if self.buf.len() < total {
            return None;
        }
        let computed = checksum(&self.buf[PREAMBLE.len()..total - 1]);
        let received = self.buf[total - 1];
        if computed != received {
            // Resync from the byte after this preamble: a truncated frame may have
            // swallowed the start of the next good one.
            self.drop_front(1);
            return Some(Err(FrameError::BadChecksum { computed, received }));
        }
        let body = self.buf[HEADER_LEN..total - 1].to_vec();
        self.drop_front(total);
        Some(Ok(Frame { body }))
    }

    /// Called when the line went quiet with a partial frame buffered: reports it as
    /// truncated and resynchronises after its preamble, so frames inside it can surface.
    pub fn abandon_partial(&mut self) -> Option<FrameError> {
        self.skip_to_preamble();
        if self.buf.len() < PREAMBLE.len() {
            return None;
        }
        let expected = if self.buf.len() >= HEADER_LEN {
            HEADER_LEN + usize::from(u16::from_be_bytes([self.buf[5], self.buf[6]]))
        } else {
            HEADER_LEN
        };
        let received = self.buf.len();
        self.drop_front(1);
        Some(FrameError::Truncated { expected, received })
    }

    /// Drops bytes before the first preamble, keeping a tail that may be its beginning.
    fn skip_to_preamble(&mut self) {
        if let Some(pos) = find_preamble(&self.buf) {
            self.drop_front(pos);
            self.skipped += pos as u64;
            return;
        }
        let keep = (1..PREAMBLE.len())
            .rev()
            .find(|&k| k <= self.buf.len() && self.buf[self.buf.len() - k..] == PREAMBLE[..k])
            .unwrap_or(0);
        let drop = self.buf.len() - keep;
        self.drop_front(drop);
        self.skipped += drop as u64;
    }

    fn drop_front(&mut self, n: usize) {
        self.buf.drain(..n.min(self.buf.len()));
    }
}

fn find_preamble(buf: &[u8]) -> Option<usize> {
    buf.windows(PREAMBLE.len()).position(|w| w == PREAMBLE)
}

/// Decodes every frame in a captured byte string (leading garbage allowed).
pub fn decode_all(bytes: &[u8]) -> Vec<Result<Frame, FrameError>> {
    let mut decoder = Decoder::new();
    decoder.push(bytes);
    let mut out = Vec::new();
    while let Some(event) = decoder.next_event() {
        out.push(event);
    }
    if let Some(err) = decoder.abandon_partial() {
        out.push(Err(err));
        while let Some(event) = decoder.next_event() {
            out.push(event);
        }
    }
    out
}

/// SW3, the reader's status byte, with a message a technician can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    NoSuchItem,
    CardFound,
    HostChecksumError,
    HostLengthError,
    BadCommand,
    NotPermitted,
    UnknownError,
    CardRejectedSam,
    SamRejectedCard,
    VerificationFailed,
    FingerprintVerificationFailed,
    InfoLengthError,
    UnknownCardType,
    ReadFailed,
    GetRandomFailed,
    SamSelfTestFailed,
    SamNotAuthorised,
    FindFailed,
    SelectFailed,
    /// A code the protocol document does not list.
    Other(u8),
}

impl Status {
    pub fn from_byte(b: u8) -> Status {
        match b {
            0x90 => Status::Ok,
            0x91 => Status::NoSuchItem,
            0x9F => Status::CardFound,
            0x10 => Status::HostChecksumError,
            0x11 => Status::HostLengthError,
            0x21 => Status::BadCommand,
            0x23 => Status::NotPermitted,
            0x24 => Status::UnknownError,
            0x31 => Status::CardRejectedSam,
            0x32 => Status::SamRejectedCard,
            0x33 => Status::VerificationFailed,
            0x37 => Status::FingerprintVerificationFailed,
            0x3F => Status::InfoLengthError,
            0x40 => Status::UnknownCardType,
            0x41 => Status::ReadFailed,
            0x47 => Status::GetRandomFailed,
            0x60 => Status::SamSelfTestFailed,
            0x66 => Status::SamNotAuthorised,
            0x80 => Status::FindFailed,
            0x81 => Status::SelectFailed,
            other => Status::Other(other),
        }
    }

    pub fn byte(self) -> u8 {
        match self {
            Status::Ok => 0x90,
            Status::NoSuchItem => 0x91,
            Status::CardFound => 0x9F,
            Status::HostChecksumError => 0x10,
            Status::HostLengthError => 0x11,
            Status::BadCommand => 0x21,
            Status::NotPermitted => 0x23,
            Status::UnknownError => 0x24,
            Status::CardRejectedSam => 0x31,
            Status::SamRejectedCard => 0x32,
            Status::VerificationFailed => 0x33,
            Status::FingerprintVerificationFailed => 0x37,
            Status::InfoLengthError => 0x3F,
            Status::UnknownCardType => 0x40,
            Status::ReadFailed => 0x41,
            Status::GetRandomFailed => 0x47,
            Status::SamSelfTestFailed => 0x60,
            Status::SamNotAuthorised => 0x66,
            Status::FindFailed => 0x80,
            Status::SelectFailed => 0x81,
            Status::Other(b) => b,
        }
    }

    /// Plain-language meaning, with what to do where there is something to do.
    pub fn message(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NoSuchItem => "the card holds no such item (e.g. no newer address)",
            Status::CardFound => "card found",
            Status::HostChecksumError => "the reader got a frame with a bad checksum: check the cable",
            Status::HostLengthError => "the reader got a frame with a bad length: check the cable and baud rate",
            Status::BadCommand => "the reader does not know this command: check the reader model",
            Status::NotPermitted => "the reader refused the command (not permitted)",
            Status::UnknownError => "the reader reported an unknown error: retry, then power-cycle the reader",
            Status::CardRejectedSam => "the card did not authenticate the SAM: try the card again, or another card",
            Status::SamRejectedCard => "the SAM did not authenticate the card: the card may be damaged or forged",
            Status::VerificationFailed => "information verification failed: place the card again",
            Status::FingerprintVerificationFailed => "fingerprint verification failed",
            Status::InfoLengthError => "information length error: place the card again",
            Status::UnknownCardType => "unknown card type: this is not a second-generation ID card",
            Status::ReadFailed => "reading the card failed: hold the card flat and still on the reader",
            Status::GetRandomFailed => "the card did not return a random number: place the card again",
            Status::SamSelfTestFailed => "the SAM failed its self-test: reset or replace the reader",
            Status::SamNotAuthorised => "the SAM is not authorised: the reader needs service (SAM licence)",
            Status::FindFailed => "no card in the field",
            Status::SelectFailed => "selecting the card failed: place the card again",
            Status::Other(_) => "status code not in the protocol document",
        }
    }

    /// Statuses that point at the SAM (the reader's security module), not the card.
    pub fn is_sam_fault(self) -> bool {
        matches!(self, Status::SamNotAuthorised | Status::SamSelfTestFailed | Status::UnknownError)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}: {}", self.byte(), self.message())
    }
}

/// A reader reply: `SW1 SW2 SW3 [DATA]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Reply {
    pub sw1: u8,
    pub sw2: u8,
    pub status: Status,
    pub data: Vec<u8>,
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reply({}, {} data bytes)", self.status, self.data.len())
    }
}

impl Reply {
    pub fn new(status: Status, data: Vec<u8>) -> Self {
        Reply { sw1: 0, sw2: 0, status, data }
    }

    /// Interprets a decoded frame as a reply; `None` if it is too short to be one.
    pub fn from_frame(frame: Frame) -> Option<Reply> {
        let mut body = frame.into_body();
        if body.len() < 3 {
            return None;
        }
        let (sw1, sw2, sw3) = (body[0], body[1], body[2]);
        body.drain(..3);
        Some(Reply { sw1, sw2, status: Status::from_byte(sw3), data: body })
    }

    /// The complete reply frame.
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        let mut body = Vec::with_capacity(3 + self.data.len());
        body.extend_from_slice(&[self.sw1, self.sw2, self.status.byte()]);
        body.extend_from_slice(&self.data);
        encode_frame(&body)
    }
}

/// The blocks of a `30 01` / `30 10` reply, still raw.
#[derive(Clone, PartialEq, Eq)]
pub struct CardBlocks {
    pub text: Vec<u8>,
    pub photo: Vec<u8>,
    /// `Some` only for `30 10` replies (possibly empty).
    pub fingerprint: Option<Vec<u8>>,
}

impl fmt::Debug for CardBlocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CardBlocks(text {} B, photo {} B, fingerprint {:?} B)",
            self.text.len(),
            self.photo.len(),
            self.fingerprint.as_ref().map(Vec::len)
        )
    }
}

/// The length words in a card reply disagree with the bytes present.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("card reply layout invalid: {what} (reply has {data_len} data bytes)")]
pub struct LayoutError {
    pub what: &'static str,
    pub data_len: usize,
}

impl CardBlocks {
    /// Splits reply data: `text_len photo_len [fp_len] text photo [fp]`.
    pub fn parse(data: &[u8], with_fingerprint: bool) -> Result<CardBlocks, LayoutError> {
        let words = if with_fingerprint { 3 } else { 2 };
        let err = |what| LayoutError { what, data_len: data.len() };
        if data.len() < words * 2 {
            return Err(err("too short for the length words"));
        }
        let word = |i: usize| usize::from(u16::from_be_bytes([data[2 * i], data[2 * i + 1]]));
        let (text_len, photo_len) = (word(0), word(1));
        let fp_len = if with_fingerprint { word(2) } else { 0 };
        let start = words * 2;
        if start + text_len + photo_len + fp_len != data.len() {
            return Err(err("length words do not add up to the data"));
        }
        let text = data[start..start + text_len].to_vec();
        let photo = data[start + text_len..start + text_len + photo_len].to_vec();
        let fingerprint = with_fingerprint.then(|| data[start + text_len + photo_len..].to_vec());
        Ok(CardBlocks { text, photo, fingerprint })
    }

    /// The reply data for these blocks (the inverse of `parse`).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let len16 = |n: usize| u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes();
        out.extend_from_slice(&len16(self.text.len()));
        out.extend_from_slice(&len16(self.photo.len()));
        if let Some(fp) = &self.fingerprint {
            out.extend_from_slice(&len16(fp.len()));
        }
        out.extend_from_slice(&self.text);
        out.extend_from_slice(&self.photo);
        if let Some(fp) = &self.fingerprint {
            out.extend_from_slice(fp);
        }
        out
    }
}
