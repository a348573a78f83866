//! The card side, sans-IO: command APDU in, response APDU out, as a social security card
//! answers (SELECT by name and file id, READ RECORD by current file or SFI, GET RESPONSE,
//! EXTERNAL AUTHENTICATE), with the misbehaviour its [`SimCard`] describes. It is also an
//! [`Exchange`], so the read procedure runs against it in-process.

use std::collections::BTreeMap;

use crate::apdu::{
    APPLICATION_NAME, Command, Exchange, INS_EXTERNAL_AUTHENTICATE, INS_GET_RESPONSE, INS_READ_RECORD, INS_SELECT,
    StatusWord, TransportError,
};
use crate::items::{File, Item};
use crate::sim::cards::SimCard;

const SW_WRONG_LENGTH: StatusWord = StatusWord(0x67, 0x00);
const SW_NO_CURRENT_EF: StatusWord = StatusWord(0x69, 0x86);
const SW_CONDITIONS: StatusWord = StatusWord(0x69, 0x85);
const SW_WRONG_P1P2: StatusWord = StatusWord(0x6A, 0x86);
const SW_AUTH_FAILED: StatusWord = StatusWord(0x63, 0x00);

/// One card's state between power-ups.
#[derive(Debug)]
pub struct CardEngine {
    records: BTreeMap<(File, u8), Vec<u8>>,
    protected: Vec<Item>,
    unlock_key: Option<Vec<u8>>,
    blocked: bool,
    get_response: bool,
    strict_le: bool,
    app_selected: bool,
    current: Option<File>,
    /// Data announced with `61 xx`, waiting for GET RESPONSE, and the status to end it with.
    pending: Option<(Vec<u8>, StatusWord)>,
    unlocked: bool,
    /// Command APDUs answered since the engine was made.
    pub commands: u64,
}

impl CardEngine {
    /// An engine for `card`; a card whose records cannot be written serves none.
    pub fn new(card: &SimCard) -> CardEngine {
        CardEngine {
            records: card.records().unwrap_or_default(),
            protected: card.protected_items().unwrap_or_default(),
            unlock_key: card.unlock_key_bytes().ok().flatten(),
            blocked: card.blocked,
            get_response: card.get_response,
            strict_le: card.strict_le,
            app_selected: false,
            current: None,
            pending: None,
            unlocked: false,
            commands: 0,
        }
    }

    /// Power-up or reset: nothing selected, authentication forgotten.
    pub fn reset(&mut self) {
        self.app_selected = false;
        self.current = None;
        self.pending = None;
        self.unlocked = false;
    }

    /// Answers one command APDU.
    pub fn respond(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.commands += 1;
        let Some(command) = Command::parse(apdu) else { return status(SW_WRONG_LENGTH) };
        if command.cla != 0x00 {
            return status(StatusWord::CLA_NOT_SUPPORTED);
        }
        if command.ins != INS_GET_RESPONSE {
            self.pending = None;
        }
        match command.ins {
            INS_SELECT => self.select(&command),
            INS_READ_RECORD => self.read_record(&command),
            INS_GET_RESPONSE => self.get_response(&command),
            INS_EXTERNAL_AUTHENTICATE => {
                if self.unlock_key.as_deref().is_some_and(|k| k == command.data.as_slice()) {
                    self.unlocked = true;
                    status(StatusWord::OK)
                } else {
                    status(SW_AUTH_FAILED)
                }
            }
            _ => status(StatusWord::INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, command: &Command) -> Vec<u8> {
        match command.p1 {
            0x04 if command.data == APPLICATION_NAME => {
                self.app_selected = true;
                self.current = None;
                status(if self.blocked { StatusWord::INVALIDATED } else { StatusWord::OK })
            }
            0x04 => status(StatusWord::FILE_NOT_FOUND),
            0x00 | 0x02 => {
                let file = File::ALL.into_iter().find(|f| f.fid().as_slice() == command.data.as_slice());
                match file {
                    Some(file) if self.app_selected => {
                        self.current = Some(file);
                        status(StatusWord::OK)
                    }
                    _ => status(StatusWord::FILE_NOT_FOUND),
                }
            }
            _ => status(SW_WRONG_P1P2),
        }
    }

    fn read_record(&mut self, command: &Command) -> Vec<u8> {
        if command.p2 & 0x07 != 0x04 {
            return status(SW_WRONG_P1P2);
        }
        let file = match command.p2 >> 3 {
            0 => match self.current {
                Some(f) => f,
                None => return status(SW_NO_CURRENT_EF),
            },
            sfi => match File::ALL.into_iter().find(|f| f.sfi() == sfi) {
                Some(f) if self.app_selected => f,
                _ => return status(StatusWord::FILE_NOT_FOUND),
            },
        };
        let Some(record) = self.records.get(&(file, command.p1)).cloned() else {
            return status(StatusWord::RECORD_NOT_FOUND);
        };
        let item = Item::at(file, command.p1);
        if item.is_some_and(|i| self.protected.contains(&i)) && !self.unlocked {
            return status(StatusWord::SECURITY_NOT_SATISFIED);
        }
        let le = command.le.map_or(256, |l| if l == 0 { 256 } else { usize::from(l) });
        if self.strict_le && le != record.len() {
            return status(StatusWord(0x6C, record.len() as u8));
        }
        let data = record[..le.min(record.len())].to_vec();
        self.answer(data, StatusWord::OK)
    }

    fn get_response(&mut self, command: &Command) -> Vec<u8> {
        let Some((mut data, end)) = self.pending.take() else { return status(SW_CONDITIONS) };
        let le = command.le.map_or(256, |l| if l == 0 { 256 } else { usize::from(l) });
        if le > data.len() {
            let sw = StatusWord(0x6C, data.len() as u8);
            self.pending = Some((data, end));
            return status(sw);
        }
        let rest = data.split_off(le);
        let sw = if rest.is_empty() { end } else { StatusWord(0x61, rest.len().min(256) as u8) };
        if !rest.is_empty() {
            self.pending = Some((rest, end));
        }
        data.extend_from_slice(&[sw.0, sw.1]);
        data
    }

    /// Data with a status, or (T=0 style) `61 xx` and the data kept for GET RESPONSE.
    fn answer(&mut self, mut data: Vec<u8>, sw: StatusWord) -> Vec<u8> {
        if self.get_response && !data.is_empty() {
            let announced = StatusWord(0x61, data.len().min(256) as u8);
            self.pending = Some((data, sw));
            return status(announced);
        }
        data.extend_from_slice(&[sw.0, sw.1]);
        data
    }
}

fn status(sw: StatusWord) -> Vec<u8> {
    vec![sw.0, sw.1]
}

/// The engine is a card in-process: the read procedure and its tests run against it
/// without a reader.
impl Exchange for CardEngine {
    fn exchange(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        Ok(self.respond(apdu))
    }
}
