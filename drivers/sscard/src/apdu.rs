//! The sans-IO APDU layer: command builders, the response parser, status words with a
//! plain-language meaning, and the T=0 rules (`61 xx` GET RESPONSE, `6C xx` resend) over
//! any [`Exchange`]. Knows nothing of PC/SC: bytes in, bytes out.

use std::fmt;

/// The social security application's name: `sx1.sh.` and 社会保障 in GBK.
pub const APPLICATION_NAME: [u8; 15] = *b"sx1.sh.\xC9\xE7\xBB\xE1\xB1\xA3\xD5\xCF";

/// GET RESPONSE rounds allowed for one command: a card that keeps saying `61 xx` beyond
/// this (8 KiB at 256 bytes a round) is broken, and the loop must end.
pub const MAX_GET_RESPONSE_ROUNDS: usize = 32;

/// One command APDU (short form: Lc and Le of one byte each; Le 0 means 256).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Vec<u8>,
    pub le: Option<u8>,
}

pub const INS_SELECT: u8 = 0xA4;
pub const INS_READ_RECORD: u8 = 0xB2;
pub const INS_GET_RESPONSE: u8 = 0xC0;
pub const INS_EXTERNAL_AUTHENTICATE: u8 = 0x82;
pub const INS_GET_CHALLENGE: u8 = 0x84;

impl Command {
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8, data: Vec<u8>, le: Option<u8>) -> Command {
        Command { cla, ins, p1, p2, data, le }
    }

    /// SELECT the social security application by name (`00 A4 04 00 0F …`).
    pub fn select_application() -> Command {
        Command::new(0x00, INS_SELECT, 0x04, 0x00, APPLICATION_NAME.to_vec(), None)
    }

    /// SELECT an elementary file by its identifier (`00 A4 02 00 02 EF 05`).
    pub fn select_file(fid: [u8; 2]) -> Command {
        Command::new(0x00, INS_SELECT, 0x02, 0x00, fid.to_vec(), None)
    }

    /// READ RECORD `record` of the current (selected) file: P2 = `04`.
    pub fn read_record(record: u8, le: u8) -> Command {
        Command::new(0x00, INS_READ_RECORD, record, 0x04, Vec::new(), Some(le))
    }

    /// READ RECORD `record` of the file with short identifier `sfi`, without selecting
    /// it: P2 = SFI << 3 | 4 (`2C` for EF05, `34` for EF06).
    pub fn read_record_by_sfi(sfi: u8, record: u8, le: u8) -> Command {
        Command::new(0x00, INS_READ_RECORD, record, (sfi << 3) | 0x04, Vec::new(), Some(le))
    }

    /// GET RESPONSE for the `le` bytes a `61 xx` announced (`00 C0 00 00 xx`).
    pub fn get_response(le: u8) -> Command {
        Command::new(0x00, INS_GET_RESPONSE, 0x00, 0x00, Vec::new(), Some(le))
    }

    /// The same command asking for `le` bytes: the resend a `6C xx` calls for.
    pub fn with_le(&self, le: u8) -> Command {
        Command { le: Some(le), ..self.clone() }
    }

    /// The bytes on the wire. Data longer than 255 bytes cannot be a short APDU and is
    /// cut (no command this driver builds comes near it).
    pub fn encode(&self) -> Vec<u8> {
        let data = &self.data[..self.data.len().min(255)];
        let mut out = vec![self.cla, self.ins, self.p1, self.p2];
        if !data.is_empty() {
            out.push(data.len() as u8);
            out.extend_from_slice(data);
        }
        if let Some(le) = self.le {
            out.push(le);
        }
        out
    }

    /// Reads a short command APDU (cases 1 to 4), as the card side sees it.
    pub fn parse(bytes: &[u8]) -> Option<Command> {
        let (&[cla, ins, p1, p2], rest) = bytes.split_first_chunk::<4>()?;
        let (data, le) = match rest {
            [] => (Vec::new(), None),
            [le] => (Vec::new(), Some(*le)),
            [lc, body @ ..] if *lc != 0 && body.len() == usize::from(*lc) => (body.to_vec(), None),
            [lc, body @ ..] if *lc != 0 && body.len() == usize::from(*lc) + 1 => {
                (body[..body.len() - 1].to_vec(), body.last().copied())
            }
            _ => return None,
        };
        Some(Command { cla, ins, p1, p2, data, le })
    }
}

/// The two status bytes that end every response.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u8, pub u8);

impl StatusWord {
    pub const OK: StatusWord = StatusWord(0x90, 0x00);
    pub const INVALIDATED: StatusWord = StatusWord(0x62, 0x83);
    pub const SECURITY_NOT_SATISFIED: StatusWord = StatusWord(0x69, 0x82);
    pub const AUTHENTICATION_BLOCKED: StatusWord = StatusWord(0x69, 0x83);
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A, 0x82);
    pub const RECORD_NOT_FOUND: StatusWord = StatusWord(0x6A, 0x83);
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D, 0x00);
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E, 0x00);

    pub fn kind(self) -> StatusKind {
        match (self.0, self.1) {
            (0x90, 0x00) => StatusKind::Ok,
            (0x61, n) => StatusKind::MoreData(n),
            (0x6C, n) => StatusKind::WrongLe(n),
            (0x62, 0x83) => StatusKind::Invalidated,
            (0x62 | 0x63, _) => StatusKind::Warning,
            (0x69, 0x82) => StatusKind::SecurityNotSatisfied,
            (0x69, 0x83) => StatusKind::AuthenticationBlocked,
            (0x6A, 0x82) => StatusKind::FileNotFound,
            (0x6A, 0x83) => StatusKind::RecordNotFound,
            (0x6D, 0x00) => StatusKind::InsNotSupported,
            (0x6E, 0x00) => StatusKind::ClaNotSupported,
            _ => StatusKind::Error,
        }
    }

    /// True for `90 00` and the `62 83` warning (the file answers, but is invalidated).
    pub fn is_success(self) -> bool {
        matches!(self.kind(), StatusKind::Ok | StatusKind::Invalidated)
    }

    /// What the card said, in words a technician can act on.
    pub fn meaning(self) -> &'static str {
        match self.kind() {
            StatusKind::Ok => "success",
            StatusKind::MoreData(_) => "more response bytes are waiting (GET RESPONSE)",
            StatusKind::WrongLe(_) => "wrong expected length (the card says how many bytes to ask for)",
            StatusKind::Invalidated => "file invalidated: the card is blocked (for example reported lost)",
            StatusKind::Warning => "warning from the card",
            StatusKind::SecurityNotSatisfied => {
                "security status not satisfied: the card wants terminal authentication (security module)"
            }
            StatusKind::AuthenticationBlocked => "authentication blocked: too many failed authentications",
            StatusKind::FileNotFound => "file or application not found",
            StatusKind::RecordNotFound => "record not found",
            StatusKind::InsNotSupported => "instruction not supported by the card",
            StatusKind::ClaNotSupported => "class not supported by the card",
            StatusKind::Error => match (self.0, self.1) {
                (0x67, 0x00) => "wrong length",
                (0x69, 0x85) => "conditions of use not satisfied",
                (0x69, 0x86) => "command not allowed (no current file)",
                (0x6A, 0x86) | (0x6B, 0x00) => "wrong parameters P1 P2",
                (0x6F, _) => "the card reports an internal error",
                _ => "error status from the card",
            },
        }
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} {:02X} ({})", self.0, self.1, self.meaning())
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusWord({:02X} {:02X})", self.0, self.1)
    }
}

/// Status words grouped by what the reading code does with them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusKind {
    Ok,
    /// `61 xx`: xx bytes wait for GET RESPONSE (00 means 256).
    MoreData(u8),
    /// `6C xx`: send the same command again with Le = xx.
    WrongLe(u8),
    /// `62 83`: selected file invalidated (card blocked); data may still follow.
    Invalidated,
    Warning,
    SecurityNotSatisfied,
    AuthenticationBlocked,
    FileNotFound,
    RecordNotFound,
    InsNotSupported,
    ClaNotSupported,
    Error,
}

/// One response APDU: data and the status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub status: StatusWord,
}

/// Response data may hold personal data: only its length is shown.
impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response({} bytes, {:?})", self.data.len(), self.status)
    }
}

/// Bytes that cannot be a response APDU.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResponseError {
    #[error("the card answered {0} byte(s): a response needs at least the two status bytes")]
    TooShort(usize),
}

impl Response {
    pub fn new(data: Vec<u8>, status: StatusWord) -> Response {
        Response { data, status }
    }

    /// Splits the last two bytes off as the status word.
    pub fn parse(bytes: &[u8]) -> Result<Response, ResponseError> {
        match bytes.split_last_chunk::<2>() {
            Some((data, &[sw1, sw2])) => Ok(Response { data: data.to_vec(), status: StatusWord(sw1, sw2) }),
            None => Err(ResponseError::TooShort(bytes.len())),
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        out.extend_from_slice(&[self.status.0, self.status.1]);
        out
    }
}

/// Why bytes could not be exchanged with the card: what the transport (PC/SC) reports,
/// in the driver's own words, so the APDU layer never names PC/SC.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    #[error("the card was taken out of the reader")]
    CardRemoved,
    #[error("the card was reset by another program using the reader")]
    CardReset,
    #[error("the card does not answer (mute): it may be inserted the wrong way round, dirty or broken")]
    CardMute,
    #[error("the reader {reader:?} is gone (unplugged or switched off)")]
    ReaderGone { reader: String },
    #[error("the PC/SC service (pcscd) is not running or was restarted")]
    ServiceGone,
    #[error("the reader could not exchange data with the card: {detail}")]
    Failed { detail: String },
}

/// Sends one command APDU and returns the card's raw response bytes. The PC/SC transport
/// implements it over `SCardTransmit`; tests and the fuzzer implement it with scripts.
pub trait Exchange {
    fn exchange(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError>;
}

impl<E: Exchange + ?Sized> Exchange for &mut E {
    fn exchange(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).exchange(apdu)
    }
}

impl<E: Exchange + ?Sized> Exchange for Box<E> {
    fn exchange(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).exchange(apdu)
    }
}

/// Why one command could not get a usable response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApduError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    #[error(transparent)]
    Malformed(#[from] ResponseError),
    #[error("the card kept announcing more data after {0} GET RESPONSE rounds")]
    EndlessResponse(usize),
}

/// Sends `command` and applies the T=0 rules to every answer: `6C xx` resends the same
/// command with Le = xx (once: a second `6C` is returned as it is), `61 xx` fetches xx
/// bytes with GET RESPONSE until the card stops announcing more (bounded by
/// [`MAX_GET_RESPONSE_ROUNDS`]). The data of every round is joined; the status word is the
/// last one. PC/SC does not always do this itself, so it is done for every command.
pub fn transmit<E: Exchange + ?Sized>(exchange: &mut E, command: &Command) -> Result<Response, ApduError> {
    let mut response = exchange_once(exchange, command)?;
    if let StatusKind::WrongLe(le) = response.status.kind() {
        response = exchange_once(exchange, &command.with_le(le))?;
    }
    let mut data = std::mem::take(&mut response.data);
    let mut status = response.status;
    let mut rounds = 0;
    while let StatusKind::MoreData(available) = status.kind() {
        rounds += 1;
        if rounds > MAX_GET_RESPONSE_ROUNDS {
            return Err(ApduError::EndlessResponse(MAX_GET_RESPONSE_ROUNDS));
        }
        let mut next = exchange_once(exchange, &Command::get_response(available))?;
        if let StatusKind::WrongLe(le) = next.status.kind() {
            next = exchange_once(exchange, &Command::get_response(le))?;
        }
        data.extend_from_slice(&next.data);
        status = next.status;
    }
    Ok(Response { data, status })
}

fn exchange_once<E: Exchange + ?Sized>(exchange: &mut E, command: &Command) -> Result<Response, ApduError> {
    let bytes = exchange.exchange(&command.encode())?;
    Ok(Response::parse(&bytes)?)
}

/// Upper-case hex with spaces, for logs of commands (never of responses: they hold
/// personal data).
pub fn hex_spaced(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}
