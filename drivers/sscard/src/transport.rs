//! The transport over the `pcsc` crate and the real pcsc-lite daemon: the reader list,
//! the choice of reader, connecting to a card, and [`Exchange`] over `SCardTransmit`.
//! PC/SC errors become the driver's own [`TransportError`] / [`ServiceError`] here and
//! nowhere else.

use std::ffi::CString;
use std::time::Duration;

use crate::apdu::{Exchange, TransportError};
use crate::card::SsCard;
use crate::read::{ReadError, SecurityModule, Step, read_card};

pub use pcsc::{Context, Scope};

/// The PC/SC service or reader list is not usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error(
        "the PC/SC service is not running: start it (systemctl start pcscd.socket, or `pcscd -f` as root) \
         and check that the Debian package pcscd is installed"
    )]
    NotRunning,
    #[error(
        "no card reader is connected: check the reader's USB cable (lsusb) and that its driver (libccid) is installed"
    )]
    NoReaders,
    #[error("there is no reader named {name:?}; the readers present are: {}", list(present))]
    UnknownReader { name: String, present: Vec<String> },
    #[error("the PC/SC service failed: {0}")]
    Other(String),
}

fn list(names: &[String]) -> String {
    if names.is_empty() { "none".into() } else { names.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ") }
}

/// The context answers with these once pcscd has stopped or restarted: the context is
/// dead and must be established again (it never recovers by itself).
pub fn is_service_gone(e: pcsc::Error) -> bool {
    matches!(e, pcsc::Error::NoService | pcsc::Error::ServiceStopped | pcsc::Error::InvalidHandle)
}

/// A PC/SC error while talking to a card, in the driver's words.
pub fn transport_error(e: pcsc::Error, reader: &str) -> TransportError {
    use pcsc::Error as E;
    match e {
        E::NoSmartcard | E::RemovedCard => TransportError::CardRemoved,
        E::ResetCard => TransportError::CardReset,
        E::UnresponsiveCard | E::UnpoweredCard | E::UnsupportedCard | E::InvalidAtr | E::ProtoMismatch => {
            TransportError::CardMute
        }
        E::UnknownReader | E::ReaderUnavailable => TransportError::ReaderGone { reader: reader.to_owned() },
        e if is_service_gone(e) => TransportError::ServiceGone,
        E::SharingViolation => {
            TransportError::Failed { detail: "another program holds the card exclusively (sharing violation)".into() }
        }
        other => TransportError::Failed { detail: format!("{other} ({:#010X})", other as u32) },
    }
}

/// Connects to PC/SC.
pub fn establish() -> Result<Context, ServiceError> {
    Context::establish(Scope::User).map_err(service_error)
}

fn service_error(e: pcsc::Error) -> ServiceError {
    if is_service_gone(e) { ServiceError::NotRunning } else { ServiceError::Other(e.to_string()) }
}

/// One reader and what is in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderInfo {
    pub name: String,
    pub card_present: bool,
    /// A card is there but did not answer reset (inserted the wrong way, or broken).
    pub mute: bool,
    pub atr: Vec<u8>,
}

/// The readers PC/SC knows, with their current state (an empty list when none).
pub fn readers(ctx: &Context) -> Result<Vec<ReaderInfo>, ServiceError> {
    let names = reader_names(ctx)?;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut states: Vec<pcsc::ReaderState> =
        names.iter().map(|n| pcsc::ReaderState::new(n.clone(), pcsc::State::UNAWARE)).collect();
    match ctx.get_status_change(Duration::ZERO, &mut states) {
        Ok(()) | Err(pcsc::Error::Timeout) => {}
        Err(e) => return Err(service_error(e)),
    }
    Ok(states.iter().map(reader_info).collect())
}

pub(crate) fn reader_info(state: &pcsc::ReaderState) -> ReaderInfo {
    let event = state.event_state();
    ReaderInfo {
        name: state.name().to_string_lossy().into_owned(),
        card_present: event.contains(pcsc::State::PRESENT),
        mute: event.contains(pcsc::State::MUTE),
        atr: state.atr().to_vec(),
    }
}

/// Reader names, in PC/SC's order; an empty list when no reader is connected.
pub fn reader_names(ctx: &Context) -> Result<Vec<CString>, ServiceError> {
    match ctx.list_readers_owned() {
        Ok(names) => Ok(names),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(service_error(e)),
    }
}

/// The reader to use: the configured one, else the first that holds a card, else the
/// first.
pub fn choose_reader<'a>(readers: &'a [ReaderInfo], configured: Option<&str>) -> Result<&'a ReaderInfo, ServiceError> {
    match configured {
        Some(name) => readers.iter().find(|r| r.name == name).ok_or_else(|| ServiceError::UnknownReader {
            name: name.to_owned(),
            present: readers.iter().map(|r| r.name.clone()).collect(),
        }),
        None => readers.iter().find(|r| r.card_present).or(readers.first()).ok_or(ServiceError::NoReaders),
    }
}

/// A connected card: [`Exchange`] over `SCardTransmit`.
pub struct PcscCard<'a> {
    card: &'a pcsc::Card,
    reader: &'a str,
}

impl std::fmt::Debug for PcscCard<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PcscCard({:?})", self.reader)
    }
}

impl Exchange for PcscCard<'_> {
    fn exchange(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE];
        let answer = self.card.transmit(apdu, &mut buf).map_err(|e| transport_error(e, self.reader))?;
        tracing::trace!(command = %crate::apdu::hex_spaced(apdu), answer_len = answer.len(), "apdu");
        if answer.is_empty() {
            // vpcd (and some readers) report a card lost mid-command as an empty answer.
            return Err(TransportError::Failed { detail: "the reader returned an empty answer".into() });
        }
        Ok(answer.to_vec())
    }
}

/// Connects to the card in `reader`, reads it inside a PC/SC transaction (no other program
/// can interleave commands), and leaves the card powered for the next read.
pub fn read_from_reader(
    ctx: &Context,
    reader: &str,
    today: time::Date,
    security: Option<&mut dyn SecurityModule>,
) -> Result<SsCard, ReadError> {
    let step = Step::SelectApplication;
    let name = CString::new(reader)
        .map_err(|_| ReadError::Transport { step, error: TransportError::ReaderGone { reader: reader.to_owned() } })?;
    let fail = |e: pcsc::Error| ReadError::Transport { step, error: transport_error(e, reader) };
    let mut card = ctx.connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY).map_err(fail)?;
    let result = {
        let transaction = card.transaction().map_err(fail)?;
        let result = read_card(&mut PcscCard { card: &transaction, reader }, today, security);
        let _ = transaction.end(pcsc::Disposition::LeaveCard);
        result
    };
    if let Err((_, e)) = card.disconnect(pcsc::Disposition::LeaveCard) {
        tracing::debug!(error = %e, "disconnect after the read failed");
    }
    match result {
        // Readers report a card pulled mid-command in many ways (communication error, empty
        // answer, mute card); if the card is gone shortly after, that is what happened.
        Err(ReadError::Transport { step, error: TransportError::Failed { .. } | TransportError::CardMute })
            if card_left(ctx, &name, CARD_LEFT_WITHIN) =>
        {
            Err(ReadError::Transport { step, error: TransportError::CardRemoved })
        }
        other => other,
    }
}

/// How long a failed read waits to see whether the card left (pcscd checks a reader's
/// card every 400 ms).
const CARD_LEFT_WITHIN: Duration = Duration::from_millis(1500);

/// Waits up to `within` for the reader to report no card.
fn card_left(ctx: &Context, reader: &CString, within: Duration) -> bool {
    let mut states = [pcsc::ReaderState::new(reader.clone(), pcsc::State::PRESENT)];
    let deadline = std::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match ctx.get_status_change(left, &mut states) {
            Ok(()) => {}
            Err(_) => return false,
        }
        if states[0].event_state().contains(pcsc::State::EMPTY) {
            return true;
        }
        states[0].sync_current_state();
        if left.is_zero() {
            return false;
        }
    }
}
