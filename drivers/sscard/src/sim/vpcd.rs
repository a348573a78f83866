//! vpcd's socket protocol, sans-IO: every message is a 2-byte big-endian length and a
//! payload; a 1-byte payload is a control (0 power off, 1 power on, 2 reset, 4 send the
//! ATR), anything longer is a command APDU, answered with a response APDU.

/// The TCP port of vpcd's reader `n` ("Virtual PCD 00 0n"): 35963 + n on 127.0.0.1.
pub const FIRST_PORT: u16 = 35963;

/// The PC/SC name of vpcd's reader `n`.
pub fn reader_name(n: u16) -> String {
    format!("Virtual PCD 00 {n:02}")
}

/// One message from the reader (vpcd) to the card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    PowerOff,
    PowerOn,
    Reset,
    /// Send the ATR (vpcd also asks this to check that the card is still there).
    Atr,
    /// A control byte vpcd does not define.
    UnknownControl(u8),
    Apdu(Vec<u8>),
}

impl Message {
    pub fn from_payload(payload: &[u8]) -> Message {
        match payload {
            [0] => Message::PowerOff,
            [1] => Message::PowerOn,
            [2] => Message::Reset,
            [4] => Message::Atr,
            [c] => Message::UnknownControl(*c),
            apdu => Message::Apdu(apdu.to_vec()),
        }
    }
}

/// Frames one payload (payloads longer than 65535 bytes cannot be framed and are cut).
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let payload = &payload[..payload.len().min(usize::from(u16::MAX))];
    let mut out = (payload.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// Reassembles payloads from a byte stream in any chunking.
#[derive(Debug, Default)]
pub struct FrameDecoder {
    buf: Vec<u8>,
}

impl FrameDecoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete payload; empty payloads (which vpcd never sends) are skipped.
    pub fn next_payload(&mut self) -> Option<Vec<u8>> {
        loop {
            let (&[hi, lo], rest) = self.buf.split_first_chunk::<2>()?;
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if rest.len() < len {
                return None;
            }
            let payload = rest[..len].to_vec();
            self.buf.drain(..2 + len);
            if !payload.is_empty() {
                return Some(payload);
            }
        }
    }

    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}
