//! The technician's side of the terminal. A hidden gesture on the start screen opens a
//! PIN pad; the runtime checks the PIN (`Effect::CheckPin`) against the configured hash;
//! a correct one opens the maintenance screen, where each device can be self-tested.
//! Five wrong PINs lock the pad for a while. A citizen's card on the PIN pad hands the
//! terminal back to them; on the maintenance screen a card is its reader's self-test
//! (only its masked number is kept), and a scan is the scanner's.
//!
//! Everything the guided install did can be done again from here, without a shell: the
//! self-tests, printing the provisioning receipt again, and re-detecting the devices
//! (what is found beside what is configured; the technician applies the changes, which
//! are written to the configuration before the terminal starts over on the new ports).

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
    /// The last reprint of the provisioning receipt from this screen.
    pub reprint: Option<Reprint>,
    /// The last re-detection from this screen.
    pub redetect: Option<Redetect>,
}

/// The provisioning receipt's reprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reprint {
    Printing,
    Printed,
    Failed(ReprintProblem),
}

/// Why the provisioning receipt did not come out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReprintProblem {
    /// This terminal has no finished install record (installed by hand, or the record
    /// was deleted): there is nothing true to print.
    NoInstallRecord,
    /// The record is there but cannot be read (damaged, or not readable by the kiosk).
    RecordUnreadable,
    /// The printer failed (paper out, cover open, ...).
    Printer(Problem),
}

/// The devices re-detection looks for: those `kiosk-provision detect` probes and the
/// configuration names by port.
pub const DETECTED: [Device; 3] = [Device::Reader, Device::Printer, Device::Camera];

/// Where a device is: its device node (or `tcp://` address) and, on a serial line, its speed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub path: String,
    pub baud: Option<u32>,
}

/// What the runtime hands back from detection: the configured ports and every device found,
/// best candidate first for each device (as `detect` suggests them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Detection {
    pub configured: Vec<(Device, String)>,
    pub found: Vec<(Device, Port)>,
}

/// Why detection gave no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DetectError {
    /// No `kiosk-provision` at the configured path: the package is incomplete.
    ToolMissing,
    /// It ran but failed (its exit status and last line of errors).
    ToolFailed(String),
    /// It answered something that is not its JSON report.
    Unreadable(String),
    /// It did not finish in time.
    TimedOut,
    /// It ran and found no device at all: cables or power, not configuration.
    NothingFound,
}

/// One device: re-detection's finding beside the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortCheck {
    Same {
        device: Device,
        path: String,
    },
    Moved {
        device: Device,
        from: String,
        to: Port,
    },
    /// Configured but not found. The configuration keeps it: an unplugged cable is more
    /// likely than a removed device, and the status poll says when it is back.
    Missing {
        device: Device,
        from: String,
    },
    /// Found but not configured.
    New {
        device: Device,
        to: Port,
    },
}

impl PortCheck {
    pub fn device(&self) -> Device {
        match self {
            Self::Same { device, .. }
            | Self::Moved { device, .. }
            | Self::Missing { device, .. }
            | Self::New { device, .. } => *device,
        }
    }

    /// The port to write into the configuration, when it changes.
    pub fn change(&self) -> Option<(Device, Port)> {
        match self {
            Self::Moved { device, to, .. } | Self::New { device, to } => Some((*device, to.clone())),
            Self::Same { .. } | Self::Missing { .. } => None,
        }
    }
}

/// Each detectable device's configured port beside what was found, in [`DETECTED`] order;
/// a device neither configured nor found has no line. A configured port among those found
/// is the same, whatever was found first.
pub fn compare(detection: &Detection) -> Vec<PortCheck> {
    DETECTED
        .iter()
        .filter_map(|&device| {
            let configured = detection.configured.iter().find(|(d, _)| *d == device).map(|(_, p)| p.clone());
            let mut found = detection.found.iter().filter(|(d, _)| *d == device).map(|(_, p)| p);
            match configured {
                Some(path) if found.clone().any(|p| p.path == path) => Some(PortCheck::Same { device, path }),
                Some(from) => Some(match found.next() {
                    Some(to) => PortCheck::Moved { device, from, to: to.clone() },
                    None => PortCheck::Missing { device, from },
                }),
                None => found.next().map(|to| PortCheck::New { device, to: to.clone() }),
            }
        })
        .collect()
}

/// Re-detection's progress on the maintenance screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redetect {
    Running,
    Found(Vec<PortCheck>),
    Failed(DetectError),
    /// Writing the changes of these findings into the configuration.
    Applying(Vec<PortCheck>),
    /// Written; the terminal starts over on the new ports.
    Applied,
    /// The configuration could not be written (and was left as it was); why.
    ApplyFailed(String),
}

impl Redetect {
    /// The findings the technician may apply: found, with at least one change.
    pub fn changes(&self) -> Vec<(Device, Port)> {
        match self {
            Self::Found(checks) => checks.iter().filter_map(PortCheck::change).collect(),
            _ => Vec::new(),
        }
    }
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
        tools: Tools,
    },
}

/// The reprint and re-detection, each with the ticket of its request still running.
#[derive(Debug, Default)]
struct Tools {
    reprint: Option<(Reprint, Option<Ticket>)>,
    redetect: Option<(Redetect, Option<Ticket>)>,
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
        Event::ProvisioningReceiptPrinted { ticket, result } => reprinted(state, ticket, result, out),
        Event::DevicesDetected { ticket, result } => detected(state, ticket, result, out),
        Event::DevicePortsApplied { ticket, result } => applied(state, ticket, result, out),
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
        (Stage::Open { tools, .. }, Intent::ReprintProvisioningReceipt) => {
            if matches!(tools.reprint, Some((_, Some(_)))) {
                return;
            }
            state.next_ticket += 1;
            let ticket = Ticket(state.next_ticket);
            tools.reprint = Some((Reprint::Printing, Some(ticket)));
            out.push(Effect::PrintProvisioningReceipt { ticket });
            show(state, out);
        }
        (Stage::Open { tools, .. }, Intent::RedetectDevices) => {
            if matches!(tools.redetect, Some((_, Some(_)))) {
                return;
            }
            state.next_ticket += 1;
            let ticket = Ticket(state.next_ticket);
            tools.redetect = Some((Redetect::Running, Some(ticket)));
            // Devices that answer now are where the configuration says: nothing to find.
            let working = DETECTED
                .into_iter()
                .filter(|d| {
                    matches!(
                        state.devices.health(*d),
                        Some(super::Health::Ok | super::Health::Problem(Problem::PaperNearEnd))
                    )
                })
                .collect();
            out.push(Effect::DetectDevices { ticket, working });
            show(state, out);
        }
        (Stage::Open { tools, .. }, Intent::ApplyDetectedPorts) => {
            let Some((found, None)) = &tools.redetect else { return };
            let ports = found.changes();
            let Redetect::Found(checks) = found else { return };
            if ports.is_empty() {
                return;
            }
            state.next_ticket += 1;
            let ticket = Ticket(state.next_ticket);
            tools.redetect = Some((Redetect::Applying(checks.clone()), Some(ticket)));
            out.push(Effect::ApplyDevicePorts { ticket, ports });
            show(state, out);
        }
        (Stage::Open { tools, .. }, Intent::CloseDetection) => {
            // Not while a configuration is being written: its outcome must be seen.
            if matches!(tools.redetect, Some((Redetect::Applying(_), Some(_)))) {
                return;
            }
            tools.redetect = None;
            show(state, out);
        }
        _ => {}
    }
}

/// The running request's slot of a tool, when `ticket` is its ticket (a late answer to an
/// earlier visit's request is dropped).
fn tool<T>(slot: &mut Option<(T, Option<Ticket>)>, ticket: Ticket) -> Option<&mut Option<(T, Option<Ticket>)>> {
    matches!(slot, Some((_, Some(t))) if *t == ticket).then_some(slot)
}

fn tools(state: &mut State) -> Option<&mut Tools> {
    match state.maintenance.as_mut() {
        Some(Maintenance { stage: Stage::Open { tools, .. }, .. }) => Some(tools),
        _ => None,
    }
}

fn reprinted(state: &mut State, ticket: Ticket, result: Result<(), ReprintProblem>, out: &mut Vec<Effect>) {
    let Some(slot) = tools(state).and_then(|t| tool(&mut t.reprint, ticket)) else { return };
    let ok = result.is_ok();
    *slot = Some((result.map_or_else(Reprint::Failed, |()| Reprint::Printed), None));
    out.push(Effect::Audit(AuditRecord::ProvisioningReceiptReprinted { ok }));
    show(state, out);
}

fn detected(state: &mut State, ticket: Ticket, result: Result<Detection, DetectError>, out: &mut Vec<Effect>) {
    let Some(slot) = tools(state).and_then(|t| tool(&mut t.redetect, ticket)) else { return };
    let outcome = match result {
        Ok(d) if d.found.is_empty() => Redetect::Failed(DetectError::NothingFound),
        Ok(d) => Redetect::Found(compare(&d)),
        Err(e) => Redetect::Failed(e),
    };
    *slot = Some((outcome, None));
    show(state, out);
}

fn applied(state: &mut State, ticket: Ticket, result: Result<(), String>, out: &mut Vec<Effect>) {
    let Some(slot) = tools(state).and_then(|t| tool(&mut t.redetect, ticket)) else { return };
    let devices = match &*slot {
        Some((Redetect::Applying(checks), _)) => checks.iter().filter_map(PortCheck::change).map(|(d, _)| d).collect(),
        _ => Vec::new(),
    };
    match result {
        Ok(()) => {
            *slot = Some((Redetect::Applied, None));
            out.push(Effect::Audit(AuditRecord::DevicePortsChanged { devices }));
            // The screen says so until the restart ends the visit: the drivers hold the
            // old ports, and starting over opens the new ones through the same code as a boot.
            show(state, out);
            out.push(Effect::Restart);
        }
        Err(why) => {
            *slot = Some((Redetect::ApplyFailed(why), None));
            show(state, out);
        }
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
        m.stage = Stage::Open { tests: Default::default(), tools: Tools::default() };
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
    let Some(Maintenance { stage: Stage::Open { tests, .. }, .. }) = state.maintenance.as_mut() else { return };
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
    let Some(Maintenance { stage: Stage::Open { tests, .. }, .. }) = state.maintenance.as_mut() else { return };
    let passed = finding.passed().unwrap_or(false);
    tests[subject.index()] = Some((finding, None));
    out.push(Effect::Audit(AuditRecord::SelfTest { subject, passed }));
    show(state, out);
}

fn finish(state: &mut State, subject: TestSubject, ticket: Ticket, finding: Finding, out: &mut Vec<Effect>) {
    let Some(Maintenance { stage: Stage::Open { tests, .. }, .. }) = state.maintenance.as_mut() else { return };
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
        Stage::Open { tests, tools } => out.push(Effect::Show(Screen::Maintenance(SelfTests {
            devices: state.devices.clone(),
            // A line for every device this terminal has, and the network.
            findings: TestSubject::ALL
                .iter()
                .filter(|s| s.device().is_none_or(|d| state.devices.installed(d)))
                .map(|s| (*s, tests[s.index()].as_ref().map(|(f, _)| f.clone())))
                .collect(),
            reprint: tools.reprint.as_ref().map(|(r, _)| r.clone()),
            redetect: tools.redetect.as_ref().map(|(r, _)| r.clone()),
        }))),
    }
}

fn leave(state: &mut State, by: LeftBy, out: &mut Vec<Effect>) {
    let Some(m) = state.maintenance.take() else { return };
    if let Stage::Open { tests, .. } = &m.stage {
        if matches!(tests[TestSubject::Camera.index()], Some((Finding::Running, Some(_)))) {
            out.push(Effect::StopCapture);
        }
        out.push(Effect::Audit(AuditRecord::MaintenanceLeft { by }));
    }
    out.push(Effect::Show(Screen::Welcome { tiles: state.devices.tiles(), notice: None }));
}
