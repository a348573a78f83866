//! The technician's side of the terminal. A hidden gesture on the start screen opens a
//! PIN pad; the runtime checks the PIN (`Effect::CheckPin`) against the configured hash;
//! a correct one opens the maintenance screen, where each device can be self-tested.
//! Five wrong PINs lock the pad for a while. A citizen's card on the PIN pad hands the
//! terminal back to them; on the maintenance screen a card is the reader's self-test,
//! and only its masked number is kept.

use super::{
    AuditRecord, CardProblem, Citizen, Device, Devices, Effect, Event, Intent, Millis, Problem, Screen, State, Ticket,
};
use serde::Serialize;

/// Wrong PINs in a row before the pad locks.
pub const PIN_ATTEMPTS: u8 = 5;

/// A technician PIN as typed. Never printed: `Debug` shows only its length.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Pin(String);

impl Pin {
    pub fn new(digits: impl Into<String>) -> Self {
        Self(digits.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn push(&mut self, digit: char) {
        self.0.push(digit);
    }
    pub fn pop(&mut self) {
        self.0.pop();
    }
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pin({} digits)", self.0.len())
    }
}

/// What a technician can self-test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestSubject {
    Reader,
    Printer,
    Camera,
    /// The network path to the central service (mutual TLS included).
    Central,
}

impl TestSubject {
    pub const ALL: [TestSubject; 4] = [Self::Reader, Self::Printer, Self::Camera, Self::Central];

    fn index(self) -> usize {
        match self {
            Self::Reader => 0,
            Self::Printer => 1,
            Self::Camera => 2,
            Self::Central => 3,
        }
    }
}

/// A self-test's progress, then what it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    Running,
    /// The reader is ready: waiting for a card.
    PlaceCard,
    CardRead {
        masked_id: String,
    },
    CardRefused(CardProblem),
    TestPagePrinted,
    CameraWorks,
    CentralAnswered {
        millis: u32,
    },
    DeviceFailed(Problem),
    CentralUnreachable,
}

impl Finding {
    /// `None` while the test is still going on.
    fn passed(&self) -> Option<bool> {
        match self {
            Self::Running | Self::PlaceCard => None,
            Self::CardRead { .. } | Self::TestPagePrinted | Self::CameraWorks | Self::CentralAnswered { .. } => {
                Some(true)
            }
            // The reader read the card's chip; the card itself is the problem.
            Self::CardRefused(p) => Some(*p != CardProblem::Unreadable),
            Self::DeviceFailed(_) | Self::CentralUnreachable => Some(false),
        }
    }
}

/// Why the PIN pad did not open the maintenance screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinRefusal {
    Wrong { attempts_left: u8 },
    LockedOut,
}

/// One line of the maintenance screen per test subject, in [`TestSubject::ALL`] order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelfTests {
    pub devices: Devices,
    /// The central service's answer to the last check; `None` before the first.
    pub findings: Vec<(TestSubject, Option<Finding>)>,
}

/// How the technician's visit ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftBy {
    Technician,
    IdleTimeout,
    /// A citizen placed a card on the PIN pad.
    Citizen,
}

#[derive(Debug)]
pub(super) struct Maintenance {
    stage: Stage,
    last_input: Millis,
}

#[derive(Debug)]
enum Stage {
    Pin { checking: Option<Ticket>, error: Option<PinRefusal> },
    Open { tests: [Option<(Finding, Option<Ticket>)>; 4] },
}

/// Wrong PINs survive closing the pad, so reopening it does not reset the count.
#[derive(Debug, Default)]
pub(super) struct PinGuard {
    failures: u8,
    locked_until: Option<Millis>,
}

impl PinGuard {
    fn locked(&self, now: Millis) -> bool {
        self.locked_until.is_some_and(|until| now < until)
    }
}

/// The hidden gesture, on the start screen with nobody in session.
pub(super) fn open(state: &mut State, out: &mut Vec<Effect>) {
    if !state.maintenance_allowed || state.session.is_some() || state.maintenance.is_some() {
        return;
    }
    let error = state.pin_guard.locked(state.now).then_some(PinRefusal::LockedOut);
    state.maintenance = Some(Maintenance { stage: Stage::Pin { checking: None, error }, last_input: state.now });
    out.push(Effect::Show(Screen::MaintenancePin { error }));
}

/// Every event while the PIN pad or the maintenance screen is up.
pub(super) fn handle(state: &mut State, event: Event, out: &mut Vec<Effect>) {
    let Some(m) = state.maintenance.as_mut() else { return };
    match event {
        Event::Tick(now) => {
            state.now = state.now.max(now);
            if state.now.saturating_sub(m.last_input) >= state.timing.maintenance_idle {
                leave(state, LeftBy::IdleTimeout, out);
            }
        }
        Event::DeviceHealth { device, health } => {
            // Health changed: redraw the maintenance screen, not the start screen.
            let changed = super::record_health(state, device, health, out);
            if changed {
                show(state, out);
            }
        }
        Event::CardPlaced(citizen) => match m.stage {
            Stage::Pin { .. } => {
                // A citizen wants the terminal: the pad closes, their session starts.
                leave(state, LeftBy::Citizen, out);
                out.extend(super::handle(state, Event::CardPlaced(citizen)));
            }
            Stage::Open { .. } => card_test(state, Ok(citizen), out),
        },
        Event::CardRefused(problem) => match m.stage {
            Stage::Pin { .. } => {
                leave(state, LeftBy::Citizen, out);
                out.extend(super::handle(state, Event::CardRefused(problem)));
            }
            Stage::Open { .. } => card_test(state, Err(problem), out),
        },
        Event::Touch(intent) => {
            m.last_input = state.now;
            touch(state, intent, out);
        }
        Event::PinChecked { ticket, accepted } => pin_checked(state, ticket, accepted, out),
        Event::Printed { ticket, result } => {
            let finding = match result {
                Ok(()) => Finding::TestPagePrinted,
                Err(p) => Finding::DeviceFailed(p),
            };
            finish(state, TestSubject::Printer, ticket, finding, out);
        }
        Event::CameraTested { ticket, result } => {
            let finding = match result {
                Ok(()) => Finding::CameraWorks,
                Err(p) => Finding::DeviceFailed(p),
            };
            finish(state, TestSubject::Camera, ticket, finding, out);
        }
        Event::CentralChecked { ticket, result } => {
            let finding = match result {
                Ok(millis) => Finding::CentralAnswered { millis },
                Err(_) => Finding::CentralUnreachable,
            };
            finish(state, TestSubject::Central, ticket, finding, out);
        }
        // Card removal, late replies for an ended session: nothing to do here.
        _ => {}
    }
}

fn touch(state: &mut State, intent: Intent, out: &mut Vec<Effect>) {
    let Some(m) = state.maintenance.as_mut() else { return };
    match (&mut m.stage, intent) {
        (_, Intent::ExitMaintenance | Intent::Exit | Intent::Back) => leave(state, LeftBy::Technician, out),
        (Stage::Pin { checking, error }, Intent::SubmitPin(pin)) => {
            if state.pin_guard.locked(state.now) {
                *error = Some(PinRefusal::LockedOut);
                out.push(Effect::Show(Screen::MaintenancePin { error: *error }));
            } else if checking.is_none() {
                state.next_ticket += 1;
                let ticket = Ticket(state.next_ticket);
                *checking = Some(ticket);
                out.push(Effect::CheckPin { ticket, pin });
            }
        }
        (Stage::Open { .. }, Intent::SelfTest(subject)) => start_test(state, subject, out),
        _ => {}
    }
}

fn pin_checked(state: &mut State, ticket: Ticket, accepted: bool, out: &mut Vec<Effect>) {
    let Some(m) = state.maintenance.as_mut() else { return };
    let Stage::Pin { checking, error } = &mut m.stage else { return };
    if *checking != Some(ticket) {
        return;
    }
    *checking = None;
    let guard = &mut state.pin_guard;
    if accepted {
        *guard = PinGuard::default();
        m.stage = Stage::Open { tests: Default::default() };
        out.push(Effect::Audit(AuditRecord::MaintenanceEntered));
        // The network is the one thing no status poll shows: check it at once.
        start_test(state, TestSubject::Central, out);
        return;
    }
    guard.failures += 1;
    let refusal = if guard.failures >= PIN_ATTEMPTS {
        guard.failures = 0;
        guard.locked_until = Some(state.now + state.timing.pin_lockout);
        PinRefusal::LockedOut
    } else {
        PinRefusal::Wrong { attempts_left: PIN_ATTEMPTS - guard.failures }
    };
    *error = Some(refusal);
    out.push(Effect::Audit(AuditRecord::MaintenancePinRefused { locked_out: refusal == PinRefusal::LockedOut }));
    out.push(Effect::Show(Screen::MaintenancePin { error: Some(refusal) }));
}

fn start_test(state: &mut State, subject: TestSubject, out: &mut Vec<Effect>) {
    let Some(Maintenance { stage: Stage::Open { tests }, .. }) = state.maintenance.as_mut() else { return };
    let slot = &mut tests[subject.index()];
    if matches!(slot, Some((Finding::Running, Some(_)))) {
        return;
    }
    state.next_ticket += 1;
    let ticket = Ticket(state.next_ticket);
    *slot = match subject {
        TestSubject::Reader => match state.devices.unusable(Device::Reader) {
            Some(u) => Some((Finding::DeviceFailed(u.problem), None)),
            None => Some((Finding::PlaceCard, None)),
        },
        TestSubject::Printer => {
            out.push(Effect::Print { ticket, job: super::PrintJob::TestPage });
            Some((Finding::Running, Some(ticket)))
        }
        TestSubject::Camera => {
            out.push(Effect::TestCamera { ticket });
            Some((Finding::Running, Some(ticket)))
        }
        TestSubject::Central => {
            out.push(Effect::CheckCentral { ticket });
            Some((Finding::Running, Some(ticket)))
        }
    };
    if let Some((finding, None)) = slot
        && let Some(passed) = finding.passed()
    {
        out.push(Effect::Audit(AuditRecord::SelfTest { subject, passed }));
    }
    show(state, out);
}

/// A card on the reader while the maintenance screen is up is the reader's test.
fn card_test(state: &mut State, card: Result<Citizen, CardProblem>, out: &mut Vec<Effect>) {
    let finding = match card {
        // Only the masked number is kept; the rest of the card is dropped here.
        Ok(citizen) => Finding::CardRead { masked_id: citizen.id_number.masked() },
        Err(problem) => Finding::CardRefused(problem),
    };
    let Some(Maintenance { stage: Stage::Open { tests }, .. }) = state.maintenance.as_mut() else { return };
    let passed = finding.passed().unwrap_or(false);
    tests[TestSubject::Reader.index()] = Some((finding, None));
    out.push(Effect::Audit(AuditRecord::SelfTest { subject: TestSubject::Reader, passed }));
    show(state, out);
}

fn finish(state: &mut State, subject: TestSubject, ticket: Ticket, finding: Finding, out: &mut Vec<Effect>) {
    let Some(Maintenance { stage: Stage::Open { tests }, .. }) = state.maintenance.as_mut() else { return };
    let slot = &mut tests[subject.index()];
    if !matches!(slot, Some((_, Some(t))) if *t == ticket) {
        return;
    }
    let passed = finding.passed().unwrap_or(false);
    *slot = Some((finding, None));
    out.push(Effect::Audit(AuditRecord::SelfTest { subject, passed }));
    show(state, out);
}

fn show(state: &State, out: &mut Vec<Effect>) {
    let Some(m) = &state.maintenance else { return };
    match &m.stage {
        Stage::Pin { error, .. } => out.push(Effect::Show(Screen::MaintenancePin { error: *error })),
        Stage::Open { tests } => out.push(Effect::Show(Screen::Maintenance(SelfTests {
            devices: state.devices.clone(),
            findings: TestSubject::ALL
                .iter()
                .map(|s| (*s, tests[s.index()].as_ref().map(|(f, _)| f.clone())))
                .collect(),
        }))),
    }
}

fn leave(state: &mut State, by: LeftBy, out: &mut Vec<Effect>) {
    let Some(m) = state.maintenance.take() else { return };
    if let Stage::Open { tests } = &m.stage {
        if matches!(tests[TestSubject::Camera.index()], Some((Finding::Running, Some(_)))) {
            out.push(Effect::StopCapture);
        }
        out.push(Effect::Audit(AuditRecord::MaintenanceLeft { by }));
    }
    out.push(Effect::Show(Screen::Welcome { tiles: state.devices.tiles(), notice: None }));
}
