//! The social security card reader under supervision: `sscard::watch` follows the PC/SC
//! reader states on its own thread (card in and out from state changes, no polling) and
//! its events become session events here, where blocked, expired and inconsistent cards
//! are refused with the reason.

use super::supervise::{forward, supervise};
use crate::outbox::backoff::Backoff;
use session::{CardProblem, Citizen, Device, Event, Health, IdentityDocument, Problem};
use sscard::{ReadError, SsCard, WatchConfig, WatchEvent};
use tokio::sync::mpsc;

const DOCUMENT: IdentityDocument = IdentityDocument::SocialSecurityCard;

/// Why a card that was read cannot start a session, if it cannot. A blocked card is
/// refused first (it may be a stolen one), then an expired one; a number that fails its
/// check or disagrees with the card's own records is refused as invalid; a card whose
/// number or name could not be read at all is unreadable.
pub fn refusal(card: &SsCard) -> Option<CardProblem> {
    use sscard::CardProblem as P;
    let has = |pred: fn(&P) -> bool| card.problems.iter().any(pred);
    if has(|p| matches!(p, P::Blocked)) {
        return Some(CardProblem::Blocked);
    }
    if has(|p| matches!(p, P::Expired { .. })) {
        return Some(CardProblem::Expired);
    }
    if has(|p| matches!(p, P::SocialSecurityNumber(_))) {
        return Some(CardProblem::Invalid);
    }
    if card.social_security_number.is_empty() || card.name.is_empty() {
        return Some(CardProblem::Unreadable);
    }
    None
}

/// What a failed read means to the citizen: a card that wants a security module this
/// terminal does not have cannot be used here; another kind of card is the wrong card;
/// anything else (pulled out, a bad contact) is "place it again".
fn read_failure(error: &ReadError) -> CardProblem {
    match error {
        ReadError::Refused { .. } => CardProblem::Unsupported,
        ReadError::NotSocialSecurityCard { .. } => CardProblem::WrongType,
        ReadError::Card { .. } | ReadError::Malformed { .. } | ReadError::Transport { .. } => CardProblem::Unreadable,
    }
}

/// What a watch event means to the session core (`None`: nothing it needs to know).
pub fn session_event(event: WatchEvent) -> Option<Event> {
    let health = |health| Event::DeviceHealth { device: Device::SocialSecurityReader, health };
    Some(match event {
        WatchEvent::Ready { .. } | WatchEvent::ReaderRecovered { .. } => health(Health::Ok),
        WatchEvent::CardInserted { card, .. } => match refusal(&card) {
            Some(problem) => {
                tracing::info!(?card, ?problem, "social security card refused");
                Event::CardRefused { document: DOCUMENT, problem }
            }
            None => {
                tracing::info!(?card, "social security card read");
                let citizen = Citizen::new(&card.social_security_number, &card.name).with_document(DOCUMENT);
                Event::CardPlaced(citizen)
            }
        },
        WatchEvent::CardRemoved { .. } => Event::CardRemoved(DOCUMENT),
        WatchEvent::CardReadFailed { error, .. } => {
            // The error names the item and the status word: what a technician needs.
            tracing::info!(%error, "social security card could not be read");
            Event::CardRefused { document: DOCUMENT, problem: read_failure(&error) }
        }
        WatchEvent::ReaderFault { fault, detail } => {
            let check = match fault {
                sscard::FaultKind::ServiceUnavailable => {
                    "the PC/SC service (pcscd) is not running or restarted: `systemctl status pcscd`"
                }
                sscard::FaultKind::NoReader => {
                    "no social security card reader is connected, or `devices.social_security_reader` names another one (`sscard readers` lists them)"
                }
            };
            tracing::warn!(?fault, %detail, check, "social security card reader fault");
            health(Health::Problem(Problem::Missing))
        }
    })
}

/// The reader task under `supervise`: restarted with backoff if it ever dies. `reader`
/// names the PC/SC reader to use (`None`: whichever holds a card).
pub fn spawn(reader: Option<String>, events: mpsc::Sender<Event>, backoff: Backoff) -> tokio::task::JoinHandle<()> {
    let sink = events.clone();
    tokio::spawn(supervise(Device::SocialSecurityReader, events, backoff, move || {
        let (sink, reader) = (sink.clone(), reader.clone());
        async move {
            let (handle, rx) = sscard::watch(WatchConfig { reader, ..WatchConfig::default() });
            forward(handle, rx, &sink, session_event, "social security card reader").await
        }
    }))
}
