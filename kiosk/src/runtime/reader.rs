//! The ID card reader under supervision: `idcard::watch` polls the SAM on its own thread
//! and its events become session events here, where cards are checked for expiry and type.

use super::supervise::supervise;
use crate::outbox::backoff::Backoff;
use device_link::{Link, LinkError};
use idcard::watch::FaultKind;
use idcard::{Card, CardDate, CardType, ReaderConfig, ReaderEvent};
use session::{CardProblem, Citizen, Device, Event, Health, IdentityDocument, Problem};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Opens (and after an unplug, reopens) the link to the reader.
pub type ReaderOpener = Arc<dyn Fn() -> Result<Box<dyn Link>, LinkError> + Send + Sync>;

/// Today's date where the terminal stands (China time), as the card's dates count.
pub fn today() -> CardDate {
    let now = contract::china_time::china_date(time::OffsetDateTime::now_utc());
    CardDate::new(now.year().clamp(1800, 9999) as u16, now.month() as u8, now.day()).unwrap_or(CardDate {
        year: 2000,
        month: 1,
        day: 1,
    })
}

/// Why a card that was read cannot start a session, if it cannot.
pub fn refusal(card: &Card, today: CardDate) -> Option<CardProblem> {
    if card.card_type != CardType::Resident || !card.id_number_valid() {
        return Some(CardProblem::WrongType);
    }
    match card.valid_until {
        Some(expiry) if expiry.is_expired_on(today) => Some(CardProblem::Expired),
        Some(_) => None,
        // The expiry date did not parse: the card cannot be checked, so it is not used.
        None => Some(CardProblem::Unreadable),
    }
}

/// What a reader event means to the session core (`None`: nothing it needs to know).
pub fn session_event(event: ReaderEvent, today: CardDate) -> Option<Event> {
    Some(match event {
        ReaderEvent::Connected { .. } | ReaderEvent::ReaderRecovered { .. } => {
            Event::DeviceHealth { device: Device::Reader, health: Health::Ok }
        }
        ReaderEvent::CardPresented(card) => match refusal(&card, today) {
            Some(problem) => {
                tracing::info!(?card, ?problem, "card refused");
                Event::CardRefused { document: IdentityDocument::IdCard, problem }
            }
            None => {
                tracing::info!(?card, "card read");
                Event::CardPlaced(Citizen::new(&card.id_number, &card.name))
            }
        },
        ReaderEvent::CardRemoved => Event::CardRemoved(IdentityDocument::IdCard),
        ReaderEvent::CardReadFailed { error } => {
            tracing::info!(%error, "card could not be read");
            Event::CardRefused { document: IdentityDocument::IdCard, problem: CardProblem::Unreadable }
        }
        ReaderEvent::ReaderFault { fault, detail } => {
            // Said so that the technician at the terminal knows what to check first.
            let check = match fault {
                FaultKind::LinkLost => {
                    "the reader's port cannot be opened: is it plugged in, and is `devices.reader_port` its device (see deploy/99-kiosk-devices.rules)?"
                }
                FaultKind::NoReply => {
                    "something is on `devices.reader_port` but no ID card reader answers: another device on that port, or `devices.reader_baud` not the SAM's speed (usually 115200)"
                }
                FaultKind::Sam => {
                    "the reader answers but its SAM module keeps failing: power-cycle the reader; if it persists, replace the SAM"
                }
            };
            tracing::warn!(?fault, %detail, check, "card reader fault");
            let problem = match fault {
                FaultKind::LinkLost | FaultKind::NoReply => Problem::Missing,
                FaultKind::Sam => Problem::Error(format!("SAM: {detail}")),
            };
            Event::DeviceHealth { device: Device::Reader, health: Health::Problem(problem) }
        }
    })
}

/// Runs the polling task and forwards its events until the runtime goes away (`Ok`) or
/// the polling thread dies (`Err`, so that the supervisor restarts it).
pub async fn run(opener: ReaderOpener, config: ReaderConfig, events: mpsc::Sender<Event>) -> Result<(), String> {
    let (handle, rx) = idcard::watch(move || opener(), config);
    super::supervise::forward(handle, rx, &events, |e| session_event(e, today()), "card reader polling").await
}

/// The reader task under `supervise`: restarted with backoff if it ever dies.
pub fn spawn(
    opener: ReaderOpener,
    config: ReaderConfig,
    events: mpsc::Sender<Event>,
    backoff: Backoff,
) -> tokio::task::JoinHandle<()> {
    let sink = events.clone();
    tokio::spawn(supervise(Device::Reader, events, backoff, move || run(opener.clone(), config.clone(), sink.clone())))
}

/// The production reader: a serial port.
pub fn serial_opener(path: String, baud: u32) -> ReaderOpener {
    Arc::new(move || idcard::SerialLink::open(&path, baud).map(|link| Box::new(link) as Box<dyn Link>))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The simulator's synthetic cards (the central service's people and cards to refuse).
    const CARDS: &str = include_str!("../../../simulation/testdata/cards.toml");
    const WORKER_ID: &str = "450103199001010032";
    const PENSIONER_ID: &str = "11010519491231002X";

    fn card(label: &str) -> Card {
        let cards = idcard::sim::load_cards(CARDS).unwrap();
        let sim = cards.into_iter().find(|c| c.label == label).unwrap();
        Card::parse(&sim.text_block(), sim.photo(), None).unwrap()
    }

    const TODAY: CardDate = CardDate { year: 2026, month: 11, day: 21 };

    #[test]
    fn the_central_services_people_are_usable_cards() {
        for label in ["approved-pensioner", "review-pensioner", "worker"] {
            assert_eq!(refusal(&card(label), TODAY), None, "{label} is usable");
        }
    }

    #[test]
    fn expired_foreign_and_bad_check_digit_cards_are_refused_with_the_reason() {
        assert_eq!(refusal(&card("expired"), TODAY), Some(CardProblem::Expired));
        assert_eq!(refusal(&card("foreigner"), TODAY), Some(CardProblem::WrongType));
        assert_eq!(refusal(&card("bad-check-digit"), TODAY), Some(CardProblem::WrongType));
        let expired = card("expired");
        let day_before = CardDate { year: 2020, month: 1, day: 1 };
        assert_eq!(refusal(&expired, day_before), None, "valid until its expiry date");
    }

    #[test]
    fn reader_events_become_session_events() {
        let placed = session_event(ReaderEvent::CardPresented(Box::new(card("worker"))), TODAY);
        assert_eq!(placed, Some(Event::CardPlaced(Citizen::new(WORKER_ID, "王伟"))));
        let refused = session_event(ReaderEvent::CardPresented(Box::new(card("expired"))), TODAY);
        assert_eq!(
            refused,
            Some(Event::CardRefused { document: IdentityDocument::IdCard, problem: CardProblem::Expired })
        );
        let failed = session_event(ReaderEvent::CardReadFailed { error: "41".into() }, TODAY);
        assert_eq!(
            failed,
            Some(Event::CardRefused { document: IdentityDocument::IdCard, problem: CardProblem::Unreadable })
        );
        assert_eq!(session_event(ReaderEvent::CardRemoved, TODAY), Some(Event::CardRemoved(IdentityDocument::IdCard)));
        let fault = ReaderEvent::ReaderFault { fault: FaultKind::LinkLost, detail: "gone".into() };
        assert_eq!(
            session_event(fault, TODAY),
            Some(Event::DeviceHealth { device: Device::Reader, health: Health::Problem(Problem::Missing) })
        );
        assert_eq!(
            session_event(ReaderEvent::ReaderRecovered { sam_id: None }, TODAY),
            Some(Event::DeviceHealth { device: Device::Reader, health: Health::Ok })
        );
    }

    /// The next event that is not the reader saying it is fine.
    async fn next(rx: &mut mpsc::Receiver<Event>) -> Event {
        loop {
            let e = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await.unwrap().unwrap();
            if !matches!(e, Event::DeviceHealth { health: Health::Ok, .. }) {
                return e;
            }
        }
    }

    /// The real polling task against the simulator: place, refuse, remove, unplug, return.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn watch_task_reports_cards_and_an_unplugged_reader() {
        let simulator = idcard::sim::Simulator::new(idcard::sim::load_cards(CARDS).unwrap(), Default::default());
        let control = simulator.control();
        let connect = simulator.control();
        let opener: ReaderOpener = Arc::new(move || connect.connect().map(|end| Box::new(end) as Box<dyn Link>));
        let (tx, mut rx) = mpsc::channel(64);
        let config = ReaderConfig {
            poll_interval: Duration::from_millis(20),
            reconnect_interval: Duration::from_millis(50),
            ..ReaderConfig::default()
        };
        let backoff = Backoff { base: Duration::from_millis(10), cap: Duration::from_millis(50) };
        let task = spawn(opener, config, tx, backoff);
        control.place("approved-pensioner");
        assert_eq!(next(&mut rx).await, Event::CardPlaced(Citizen::new(PENSIONER_ID, "张秀英")));
        control.remove();
        assert_eq!(next(&mut rx).await, Event::CardRemoved(IdentityDocument::IdCard));
        control.place("foreigner");
        assert_eq!(
            next(&mut rx).await,
            Event::CardRefused { document: IdentityDocument::IdCard, problem: CardProblem::WrongType }
        );
        control.vanish();
        assert!(matches!(
            next(&mut rx).await,
            Event::CardRemoved(IdentityDocument::IdCard)
                | Event::DeviceHealth { device: Device::Reader, health: Health::Problem(_) }
        ));
        task.abort();
    }
}
