//! The technician's side of the terminal. A hidden gesture on the start screen opens a
//! PIN pad; the runtime checks the PIN (`Effect::CheckPin`) against the configured hash;
//! a correct one opens the maintenance screen, where each device can be self-tested.
//! Five wrong PINs lock the pad for a while. A citizen's card on the PIN pad hands the
//! terminal back to them; on the maintenance screen a card is its reader's self-test
//! (only its masked number is kept), and a scan is the scanner's.

use super::{
    AuditRecord, CardProblem, Citizen, Device, Devices, Effect, Event, IdentityDocument, Intent, Millis, PinGuardState,
    Problem, ScannedCode, Screen, State, Ticket,
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
    SocialSecurityReader,
    Scanner,
}

impl TestSubject {
    pub const ALL: [TestSubject; 6] =
        [Self::Reader, Self::Printer, Self::Camera, Self::Central, Self::SocialSecurityReader, Self::Scanner];

    fn index(self) -> usize {
        match self {
            Self::Reader => 0,
            Self::Printer => 1,
            Self::Camera => 2,
            Self::Central => 3,
            Self::SocialSecurityReader => 4,
            Self::Scanner => 5,
        }
    }

    /// The device under test (the network is none).
    pub fn device(self) -> Option<Device> {
        match self {
            Self::Reader => Some(Device::Reader),
            Self::Printer => Some(Device::Printer),
            Self::Camera => Some(Device::Camera),
            Self::Central => None,
            Self::SocialSecurityReader => Some(Device::SocialSecurityReader),
            Self::Scanner => Some(Device::Scanner),
        }
    }

    /// The reader a card of `document` is a test of.
    fn reading(document: IdentityDocument) -> Self {
        match document {
            IdentityDocument::IdCard => Self::Reader,
            IdentityDocument::SocialSecurityCard => Self::SocialSecurityReader,
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
    /// The scanner is ready: waiting for a code.
    ScanCode,
    /// The scanner read a code this service issued (a receipt's number: no personal data).
    Scanned {
        code: String,
    },
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
            Self::Running | Self::PlaceCard | Self::ScanCode => None,
            Self::CardRead { .. }
            | Self::Scanned { .. }
            | Self::TestPagePrinted
            | Self::CameraWorks
            | Self::CentralAnswered { .. } => Some(true),
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
    Pin {
        checking: Option<Ticket>,
        error: Option<PinRefusal>,
    },
    /// One slot per device (boxed: six findings dwarf the PIN pad's state).
    Open {
        tests: Box<[Slot; 6]>,
    },
}

/// A device's last finding, and the ticket of the test still running, if one is.
type Slot = Option<(Finding, Option<Ticket>)>;

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

    pub(super) fn restored(saved: PinGuardState, now: Millis, lockout: Millis) -> Self {
        Self {
            failures: saved.failures.min(PIN_ATTEMPTS - 1),
            locked_until: saved.locked_for.map(|left| now + left.min(lockout)),
        }
    }

    fn saved(&self, now: Millis) -> PinGuardState {
        PinGuardState {
            failures: self.failures,
            locked_for: self.locked_until.filter(|until| now < *until).map(|until| until - now),
        }
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
            Stage::Open { .. } => card_test(state, TestSubject::reading(citizen.document), Ok(citizen), out),
        },
        Event::CardRefused { document, problem } => match m.stage {
            Stage::Pin { .. } => {
                leave(state, LeftBy::Citizen, out);
                out.extend(super::handle(state, Event::CardRefused { document, problem }));
            }
            Stage::Open { .. } => card_test(state, TestSubject::reading(document), Err(problem), out),
        },
        Event::Scanned(code) => {
            if matches!(m.stage, Stage::Open { .. }) {
                scan_test(state, code, out);
            }
        }
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
        out.push(Effect::RememberPinGuard(guard.saved(state.now)));
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
    out.push(Effect::RememberPinGuard(guard.saved(state.now)));
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
        TestSubject::Reader | TestSubject::SocialSecurityReader | TestSubject::Scanner => {
            let device = subject.device().unwrap_or(Device::Reader);
            match state.devices.unusable(device) {
                Some(u) => Some((Finding::DeviceFailed(u.problem), None)),
                None if subject == TestSubject::Scanner => Some((Finding::ScanCode, None)),
                None => Some((Finding::PlaceCard, None)),
            }
        }
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

/// A card on a reader while the maintenance screen is up is that reader's test.
fn card_test(state: &mut State, subject: TestSubject, card: Result<Citizen, CardProblem>, out: &mut Vec<Effect>) {
    let finding = match card {
        // Only the masked number is kept; the rest of the card is dropped here.
        Ok(citizen) => Finding::CardRead { masked_id: citizen.id_number.masked() },
        Err(problem) => Finding::CardRefused(problem),
    };
    record(state, subject, finding, out);
}

/// A scan while the maintenance screen is up is the scanner's test.
fn scan_test(state: &mut State, code: ScannedCode, out: &mut Vec<Effect>) {
    let code = match code {
        ScannedCode::Application(code) => code,
        ScannedCode::Certificate { verification_code } => verification_code,
    };
    record(state, TestSubject::Scanner, Finding::Scanned { code }, out);
}

/// A finished test's finding, audited and shown.
fn record(state: &mut State, subject: TestSubject, finding: Finding, out: &mut Vec<Effect>) {
    let Some(Maintenance { stage: Stage::Open { tests }, .. }) = state.maintenance.as_mut() else { return };
    let passed = finding.passed().unwrap_or(false);
    tests[subject.index()] = Some((finding, None));
    out.push(Effect::Audit(AuditRecord::SelfTest { subject, passed }));
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
            // A line for every device this terminal has, and the network.
            findings: TestSubject::ALL
                .iter()
                .filter(|s| s.device().is_none_or(|d| state.devices.installed(d)))
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
