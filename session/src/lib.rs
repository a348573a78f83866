//! The session core: a pure state machine that turns card, camera, printer, touch and
//! time events into effects (screens, requests, print jobs, audit records). No I/O and
//! no clock reads inside: time arrives as [`Event::Tick`], replies come back as events.
//!
//! The crate depends on no runtime, UI, database, network or driver crate (only on
//! `contract` for the vocabulary it shares with the central service), so the compiler
//! keeps it pure. Start reading at [`handle`]; each service flow is a module.
//!
//! # Card removed mid-flow
//! Each flow is either *drafting* (nothing has left the terminal yet) or *committed*
//! (a submission is in the outbox or a print job has started):
//!
//! | flow | drafting: card removed | committed: card removed |
//! |---|---|---|
//! | menu | session ends | — |
//! | certificate | choosing/issuing/preview: session ends | printing: the paper comes out, then rating |
//! | qualification | capturing: camera stopped, session ends | submitting/receipt: finishes, then rating |
//! | contributions | loading/viewing: session ends (the record leaves the screen) | printing: finishes |
//! | unemployment | choice/form/capture: draft discarded, session ends | submitting/receipt: finishes |
//! | pension payments | loading/viewing: session ends | printing: finishes |
//! | flexible employment, subsidy | checking/offer/refusal: session ends | submitting/receipt: finishes |
//! | job seeker | checking/form/openings: session ends | submitting/receipt: finishes |
//! | progress, rating | needs no card: unaffected | — |
//!
//! In a committed flow the card holder's identity is dropped at once; only what the
//! receipt still needs (a masked id) stays until the flow ends. "Exit" follows the same
//! line: it ends a drafting flow at once, and is not offered while something is in flight.
//!
//! # Entry
//! A service may be chosen before the card (the screen then asks for it) or after it;
//! either way "is this you?" (masked name and number) comes before the flow starts.

mod capture;
mod certificate;
mod contributions;
mod job_seeker;
pub mod maintenance;
mod payments;
mod personal;
mod progress;
mod qualification;
mod rating;
mod receipt;
mod screen;
mod self_insured;
mod types;
mod unemployment;

#[cfg(test)]
mod tests;

pub use personal::{
    CertificateMonth, CertificateStatus, Citizen, ContributionRecord, ContributionYear, FaceCapture, IdNumber,
    IssuedCertificate, MonthRange, PaymentRecord, PensionPayment, PersonName, Phone, YearMonth, YearSummary, mask_id,
    yuan,
};
pub use screen::{
    ApplicationProgress, ApplicationStatus, CaptureHint, Decision, Delivery, FaceHint, Failure, FormError,
    LivenessPrompt, Notice, ReceiptState, Screen, ServiceTile, Unavailable, Waiting,
};

pub use types::*;

/// The whole state of the terminal's conversation with the citizen.
#[derive(Debug)]
pub struct State {
    timing: SessionTiming,
    now: Millis,
    devices: Devices,
    next_ticket: u64,
    sessions_started: u64,
    session: Option<Session>,
    /// Whether a technician PIN is configured; without one the gesture does nothing.
    maintenance_allowed: bool,
    maintenance: Option<maintenance::Maintenance>,
    pin_guard: maintenance::PinGuard,
}

#[derive(Debug)]
struct Session {
    serial: u64,
    citizen: Option<Citizen>,
    /// Kept for receipts after the card holder's identity is dropped.
    masked_id: Option<String>,
    flow: Flow,
    last_input: Millis,
    countdown_shown: Option<u32>,
}

#[derive(Debug)]
enum Flow {
    Menu,
    /// A service was chosen on the start screen; waiting for the card.
    AwaitingCard(Service),
    /// "Is this you?" before `Service` starts.
    ConfirmIdentity(Service),
    Certificate(certificate::Step),
    Qualification(qualification::Step),
    Contributions(contributions::Step),
    Unemployment(unemployment::Step),
    Payments(payments::Step),
    /// Flexible employment registration or the employment subsidy.
    SelfInsured(Service, self_insured::Step),
    JobSeeker(job_seeker::Step),
    Progress(progress::Step),
    Rating(rating::Step),
}

/// What a flow step decides.
enum Next {
    Stay(Flow),
    /// The service is finished: on to its rating.
    Rate(Service),
    /// Back to the menu (or the start screen when no card holder is known).
    Menu(Option<Notice>),
    End(EndReason, Option<Notice>),
}

/// What a flow step can see and do.
struct Ctx<'a> {
    session: u64,
    devices: &'a Devices,
    citizen: Option<&'a Citizen>,
    masked_id: Option<&'a str>,
    next_ticket: &'a mut u64,
    out: &'a mut Vec<Effect>,
}

impl Ctx<'_> {
    fn ticket(&mut self) -> Ticket {
        *self.next_ticket += 1;
        Ticket(*self.next_ticket)
    }
    fn show(&mut self, screen: Screen) {
        self.out.push(Effect::Show(screen));
    }
    fn emit(&mut self, effect: Effect) {
        self.out.push(effect);
    }
    fn audit(&mut self, record: AuditRecord) {
        self.out.push(Effect::Audit(record));
    }
    /// Prints a receipt when the printer works, else says the screen is the receipt.
    fn receipt(&mut self, service: Service, delivery: Delivery, extras: &ReceiptExtras) -> Option<Ticket> {
        let terms = extras.terms;
        let reference = match &delivery {
            Delivery::Submitted { tracking, .. } => tracking.clone(),
            Delivery::Queued { reference } => reference.clone(),
        };
        let delivered = matches!(delivery, Delivery::Submitted { .. });
        self.audit(AuditRecord::Submitted { session: self.session, service, delivered, reference });
        let receipt = Receipt {
            service,
            masked_id: self.masked_id.map(str::to_owned),
            delivery: delivery.clone(),
            terms,
            openings: extras.openings.clone(),
        };
        match self.devices.unusable(Device::Printer) {
            Some(u) => {
                self.show(Screen::Receipt {
                    service,
                    delivery,
                    receipt: ReceiptState::ScreenOnly(Some(u.problem)),
                    terms,
                });
                None
            }
            None => {
                let ticket = self.ticket();
                self.emit(Effect::Print { ticket, job: PrintJob::Receipt(receipt) });
                self.show(Screen::Receipt { service, delivery, receipt: ReceiptState::Printing, terms });
                Some(ticket)
            }
        }
    }
}

impl State {
    pub fn new(timing: SessionTiming) -> Self {
        Self {
            timing,
            now: 0,
            devices: Devices::default(),
            next_ticket: 0,
            sessions_started: 0,
            session: None,
            maintenance_allowed: false,
            maintenance: None,
            pin_guard: maintenance::PinGuard::default(),
        }
    }

    /// Lets the hidden gesture open the technician PIN pad (a PIN is configured).
    #[must_use]
    pub fn with_maintenance(mut self) -> Self {
        self.maintenance_allowed = true;
        self
    }

    /// Restores the PIN pad's guard as it was before a restart (see
    /// [`Effect::RememberPinGuard`]): a power cycle neither forgets wrong PINs nor
    /// lifts a lockout. `locked_for` is capped at the configured lockout.
    #[must_use]
    pub fn with_pin_guard(mut self, guard: PinGuardState) -> Self {
        self.pin_guard = maintenance::PinGuard::restored(guard, self.now, self.timing.pin_lockout);
        self
    }

    /// True while the PIN pad or the maintenance screen is up.
    pub fn in_maintenance(&self) -> bool {
        self.maintenance.is_some()
    }

    /// The effects that put the terminal on its start screen.
    pub fn start(&self) -> Vec<Effect> {
        vec![Effect::Show(Screen::Welcome { tiles: self.devices.tiles(), notice: None })]
    }

    pub fn devices(&self) -> &Devices {
        &self.devices
    }

    pub fn in_session(&self) -> bool {
        self.session.is_some()
    }

    /// True while anything about a person is held: a card holder, a face, a record, a draft.
    pub fn holds_personal_data(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| s.citizen.is_some() || s.masked_id.is_some() || s.flow.holds_personal_data())
    }
}

impl Flow {
    fn holds_personal_data(&self) -> bool {
        match self {
            Self::Menu | Self::AwaitingCard(_) | Self::ConfirmIdentity(_) | Self::Rating(_) | Self::Progress(_) => {
                false
            }
            Self::Certificate(s) => s.holds_personal_data(),
            Self::Qualification(s) => s.holds_personal_data(),
            Self::Contributions(s) => s.holds_personal_data(),
            Self::Unemployment(s) => s.holds_personal_data(),
            Self::Payments(s) => s.holds_personal_data(),
            Self::SelfInsured(_, s) => s.holds_personal_data(),
            Self::JobSeeker(s) => s.holds_personal_data(),
        }
    }

    /// Committed flows finish when the card is removed; drafting ones end the session.
    fn survives_card_removal(&self) -> bool {
        match self {
            Self::Menu | Self::AwaitingCard(_) | Self::ConfirmIdentity(_) => false,
            Self::Certificate(s) => s.committed(),
            Self::Qualification(s) => s.committed(),
            Self::Contributions(s) => s.committed(),
            Self::Unemployment(s) => s.committed(),
            Self::Payments(s) => s.committed(),
            Self::SelfInsured(_, s) => s.committed(),
            Self::JobSeeker(s) => s.committed(),
            Self::Progress(_) | Self::Rating(_) => true,
        }
    }

    /// Whether "exit" may end the session here: nothing has left the terminal yet, so
    /// nothing is abandoned half way (a committed flow finishes, then offers the rating).
    fn may_leave(&self) -> bool {
        match self {
            Self::Certificate(s) => !s.committed(),
            Self::Qualification(s) => !s.committed(),
            Self::Contributions(s) => !s.committed(),
            Self::Unemployment(s) => !s.committed(),
            Self::Payments(s) => !s.committed(),
            Self::SelfInsured(_, s) => !s.committed(),
            Self::JobSeeker(s) => !s.committed(),
            Self::Progress(_) => true,
            Self::Menu | Self::AwaitingCard(_) | Self::ConfirmIdentity(_) | Self::Rating(_) => false,
        }
    }

    fn service(&self) -> Option<Service> {
        match self {
            Self::Menu | Self::Rating(_) => None,
            Self::AwaitingCard(s) | Self::ConfirmIdentity(s) => Some(*s),
            Self::Certificate(_) => Some(Service::Certificate),
            Self::Qualification(_) => Some(Service::QualificationCheck),
            Self::Contributions(_) => Some(Service::ContributionRecord),
            Self::Unemployment(s) => Some(s.service()),
            Self::Payments(_) => Some(Service::PensionPayments),
            Self::SelfInsured(service, _) => Some(*service),
            Self::JobSeeker(_) => Some(Service::JobSeekerRegistration),
            Self::Progress(_) => Some(Service::ApplicationProgress),
        }
    }

    fn capturing(&self) -> bool {
        match self {
            Self::Qualification(s) => s.capturing(),
            Self::Unemployment(s) => s.capturing(),
            _ => false,
        }
    }
}

/// Feeds one event to the core and returns what the runtime must do.
pub fn handle(state: &mut State, event: Event) -> Vec<Effect> {
    let mut out = Vec::new();
    if state.maintenance.is_some() {
        maintenance::handle(state, event, &mut out);
        return out;
    }
    match event {
        Event::Touch(Intent::Maintenance) => maintenance::open(state, &mut out),
        Event::Tick(now) => on_tick(state, now, &mut out),
        Event::DeviceHealth { device, health } => on_device(state, device, health, &mut out),
        Event::CardPlaced(citizen) => on_card(state, citizen, &mut out),
        Event::CardRemoved(document) => on_card_removed(state, document, &mut out),
        Event::CardRefused { document, problem } => on_card_refused(state, document, problem, &mut out),
        Event::Scanned(code) => on_scan(state, code, &mut out),
        Event::Touch(intent) => on_touch(state, intent, &mut out),
        other => step_flow(state, &other, &mut out),
    }
    out
}

fn on_tick(state: &mut State, now: Millis, out: &mut Vec<Effect>) {
    state.now = state.now.max(now);
    let Some(session) = state.session.as_mut() else { return };
    let quiet = state.now.saturating_sub(session.last_input);
    let limit = state.timing.idle_after + state.timing.countdown;
    if quiet >= limit {
        end_session(state, EndReason::IdleTimeout, Some(Notice::TimedOut), out);
    } else if quiet >= state.timing.idle_after {
        let left = u32::try_from((limit - quiet).div_ceil(1000)).unwrap_or(u32::MAX);
        if session.countdown_shown != Some(left) {
            session.countdown_shown = Some(left);
            out.push(Effect::Countdown(Some(left)));
        }
    }
}

/// A touch or a card: the citizen is here, so the idle clock restarts.
fn note_input(state: &mut State, out: &mut Vec<Effect>) {
    if let Some(session) = state.session.as_mut() {
        session.last_input = state.now;
        if session.countdown_shown.take().is_some() {
            out.push(Effect::Countdown(None));
        }
    }
}

/// Records a device's new health (and audits the change); false when nothing changed.
fn record_health(state: &mut State, device: Device, health: Health, out: &mut Vec<Effect>) -> bool {
    if state.devices.health(device) == Some(&health) {
        return false;
    }
    // The first report on an optional device installs it (a change even when it is fine).
    state.devices.set(device, health.clone());
    let problem = match health {
        Health::Ok => None,
        Health::Problem(p) => Some(p),
    };
    out.push(Effect::Audit(AuditRecord::DeviceFault { device, problem }));
    true
}

fn on_device(state: &mut State, device: Device, health: Health, out: &mut Vec<Effect>) {
    if !record_health(state, device, health, out) {
        return;
    }
    let Some(session) = state.session.as_mut() else {
        out.push(Effect::Show(Screen::Welcome { tiles: state.devices.tiles(), notice: None }));
        return;
    };
    let flow = &session.flow;
    if matches!(flow, Flow::Menu) {
        return go_menu(state, None, out);
    }
    // A drafting flow whose service just lost a device goes back to the menu with
    // the reason; committed flows learn of failures from their own replies.
    let lost = flow.service().and_then(|s| state.devices.unavailable(s)).is_some();
    let lost_camera = flow.capturing() && state.devices.unusable(Device::Camera).is_some();
    if (lost && !flow.survives_card_removal()) || lost_camera {
        if flow.capturing() {
            out.push(Effect::StopCapture);
        }
        session.flow = Flow::Menu;
        go_menu(state, Some(Notice::ServiceBecameUnavailable), out);
    }
}

fn on_card(state: &mut State, citizen: Citizen, out: &mut Vec<Effect>) {
    // The card a citizen was asked for after choosing a service: confirm who they are.
    if let Some(session) = state.session.as_mut()
        && session.citizen.is_none()
        && let Flow::AwaitingCard(service) = session.flow
    {
        let masked_id = citizen.id_number.masked();
        out.push(Effect::Audit(AuditRecord::CardRead {
            session: session.serial,
            masked_id: masked_id.clone(),
            document: citizen.document,
        }));
        session.flow = Flow::ConfirmIdentity(service);
        out.push(Effect::Show(Screen::Identity {
            service,
            holder: citizen.name.clone(),
            masked_id: masked_id.clone(),
        }));
        session.citizen = Some(citizen);
        session.masked_id = Some(masked_id);
        note_input(state, out);
        return;
    }
    if let Some(session) = state.session.as_mut() {
        match &session.citizen {
            Some(current) if current.same_person(&citizen) => {
                note_input(state, out);
                return;
            }
            Some(_) => end_session(state, EndReason::OtherCard, None, out),
            None => {
                // A session without a card holder (progress lookup, or a committed flow
                // whose card was removed): the new holder starts their own session.
                end_session(state, EndReason::OtherCard, None, out);
            }
        }
    }
    state.sessions_started += 1;
    let serial = state.sessions_started;
    let masked_id = citizen.id_number.masked();
    out.push(Effect::Audit(AuditRecord::SessionStarted { session: serial }));
    out.push(Effect::Audit(AuditRecord::CardRead {
        session: serial,
        masked_id: masked_id.clone(),
        document: citizen.document,
    }));
    out.push(Effect::Show(Screen::Menu {
        holder: Some(citizen.name.clone()),
        masked_id: Some(masked_id.clone()),
        tiles: state.devices.tiles(),
        notice: None,
    }));
    state.session = Some(Session {
        serial,
        citizen: Some(citizen),
        masked_id: Some(masked_id),
        flow: Flow::Menu,
        last_input: state.now,
        countdown_shown: None,
    });
}

fn on_card_refused(state: &mut State, document: IdentityDocument, problem: CardProblem, out: &mut Vec<Effect>) {
    out.push(Effect::Audit(AuditRecord::CardRefused { document, problem }));
    match state.session.as_ref().map(|s| &s.flow) {
        None => out
            .push(Effect::Show(Screen::Welcome { tiles: state.devices.tiles(), notice: Some(Notice::Card(problem)) })),
        Some(Flow::AwaitingCard(service)) => {
            out.push(Effect::Show(Screen::PlaceCard { service: *service, problem: Some(problem) }));
            note_input(state, out);
        }
        // Someone else's unusable card during a session changes nothing.
        Some(_) => {}
    }
}

fn on_card_removed(state: &mut State, document: IdentityDocument, out: &mut Vec<Effect>) {
    let Some(session) = state.session.as_mut() else {
        // A refused card taken away (or one left after a session): clear the notice.
        out.push(Effect::Show(Screen::Welcome { tiles: state.devices.tiles(), notice: None }));
        return;
    };
    // Only the holder's own card ends their session: a card left in the other reader
    // and taken away now is not theirs.
    if session.citizen.as_ref().is_none_or(|c| c.document != document) {
        return;
    }
    if session.flow.survives_card_removal() {
        session.citizen = None;
        note_input(state, out);
    } else {
        if session.flow.capturing() {
            out.push(Effect::StopCapture);
        }
        end_session(state, EndReason::CardRemoved, Some(Notice::CardRemoved), out);
    }
}

fn on_touch(state: &mut State, intent: Intent, out: &mut Vec<Effect>) {
    if state.session.is_none() {
        // A service chosen on the start screen opens a session without a card holder:
        // progress lookup needs none, the others ask for the card next.
        let Intent::Choose(service) = intent else { return };
        if state.devices.unavailable(service).is_some() {
            out.push(Effect::Show(Screen::Welcome {
                tiles: state.devices.tiles(),
                notice: Some(Notice::ServiceBecameUnavailable),
            }));
            return;
        }
        let flow = if needs_card(service) { Flow::AwaitingCard(service) } else { Flow::Menu };
        open_session_without_holder(state, flow, out);
        if needs_card(service) {
            out.push(Effect::Show(Screen::PlaceCard { service, problem: None }));
            return;
        }
    }
    note_input(state, out);
    if intent == Intent::StillHere {
        return;
    }
    let Some(session) = state.session.as_ref() else { return };
    match session.flow {
        Flow::Menu => on_menu(state, intent, out),
        Flow::AwaitingCard(_) => {
            if matches!(intent, Intent::Back | Intent::Exit) {
                end_session(state, EndReason::Finished, None, out);
            }
        }
        Flow::ConfirmIdentity(service) => match intent {
            Intent::Confirm => start_service(state, service, out),
            Intent::Back => go_menu(state, None, out),
            Intent::Exit => end_session(state, EndReason::Finished, Some(Notice::ThankYou), out),
            _ => {}
        },
        // "Exit" on a flow that has sent nothing yet: the citizen leaves, nothing is kept.
        ref flow if intent == Intent::Exit && flow.may_leave() => {
            end_session(state, EndReason::Finished, Some(Notice::ThankYou), out)
        }
        _ => step_flow(state, &Event::Touch(intent), out),
    }
}

/// A session that starts without a card holder (a service chosen before the card, a
/// receipt scanned on the start screen).
fn open_session_without_holder(state: &mut State, flow: Flow, out: &mut Vec<Effect>) {
    state.sessions_started += 1;
    let serial = state.sessions_started;
    out.push(Effect::Audit(AuditRecord::SessionStarted { session: serial }));
    state.session =
        Some(Session { serial, citizen: None, masked_id: None, flow, last_input: state.now, countdown_shown: None });
}

/// A receipt's code from the scanner opens that application's status, wherever nothing
/// is being done that it would interrupt: the start screen, the menu, waiting for a
/// card, "is this you?", and the progress item itself. Elsewhere it is ignored.
fn on_scan(state: &mut State, code: ScannedCode, out: &mut Vec<Effect>) {
    let welcome = match state.session.as_ref().map(|s| &s.flow) {
        None => true,
        Some(Flow::Menu | Flow::AwaitingCard(_) | Flow::ConfirmIdentity(_)) => false,
        Some(Flow::Progress(step)) if step.takes_a_scan() => false,
        Some(_) => return,
    };
    if state.devices.unavailable(Service::ApplicationProgress).is_some() {
        return;
    }
    if welcome {
        open_session_without_holder(state, Flow::Menu, out);
    }
    note_input(state, out);
    let Some(session) = state.session.as_mut() else { return };
    let mut ctx = Ctx {
        session: session.serial,
        devices: &state.devices,
        citizen: session.citizen.as_ref(),
        masked_id: session.masked_id.as_deref(),
        next_ticket: &mut state.next_ticket,
        out,
    };
    session.flow = Flow::Progress(progress::scanned(&mut ctx, code));
}

fn on_menu(state: &mut State, intent: Intent, out: &mut Vec<Effect>) {
    let service = match intent {
        Intent::Exit | Intent::Back => {
            return end_session(state, EndReason::Finished, Some(Notice::ThankYou), out);
        }
        Intent::Choose(service) => service,
        _ => return,
    };
    if state.devices.unavailable(service).is_some() {
        // The tile shows the reason; a touch that raced the fault just re-shows the menu.
        return go_menu(state, Some(Notice::ServiceBecameUnavailable), out);
    }
    let Some(session) = state.session.as_mut() else { return };
    if !needs_card(service) {
        return start_service(state, service, out);
    }
    let Some(citizen) = &session.citizen else { return };
    out.push(Effect::Show(Screen::Identity {
        service,
        holder: citizen.name.clone(),
        masked_id: citizen.id_number.masked(),
    }));
    session.flow = Flow::ConfirmIdentity(service);
}

/// Starts `service`'s flow for the session (its identity check, if any, is done).
fn start_service(state: &mut State, service: Service, out: &mut Vec<Effect>) {
    if state.devices.unavailable(service).is_some() {
        return go_menu(state, Some(Notice::ServiceBecameUnavailable), out);
    }
    let Some(session) = state.session.as_mut() else { return };
    out.push(Effect::Audit(AuditRecord::ServiceChosen { session: session.serial, service }));
    let mut ctx = Ctx {
        session: session.serial,
        devices: &state.devices,
        citizen: session.citizen.as_ref(),
        masked_id: session.masked_id.as_deref(),
        next_ticket: &mut state.next_ticket,
        out,
    };
    session.flow = match service {
        Service::Certificate => Flow::Certificate(certificate::start(&mut ctx)),
        Service::QualificationCheck => Flow::Qualification(qualification::start(&mut ctx)),
        Service::ContributionRecord => Flow::Contributions(contributions::start(&mut ctx)),
        Service::UnemploymentRegistration => Flow::Unemployment(unemployment::start_registration(&mut ctx)),
        Service::UnemploymentCheckIn => Flow::Unemployment(unemployment::start_check_in(&mut ctx)),
        Service::ApplicationProgress => Flow::Progress(progress::start(&mut ctx)),
        Service::PensionPayments => Flow::Payments(payments::start(&mut ctx)),
        Service::FlexibleEmploymentRegistration | Service::EmploymentSubsidy => {
            Flow::SelfInsured(service, self_insured::start(&mut ctx, service))
        }
        Service::JobSeekerRegistration => Flow::JobSeeker(job_seeker::start(&mut ctx)),
    };
}

/// Hands an event to the current flow and applies its decision.
fn step_flow(state: &mut State, event: &Event, out: &mut Vec<Effect>) {
    let Some(session) = state.session.as_mut() else { return };
    let flow = std::mem::replace(&mut session.flow, Flow::Menu);
    let mut ctx = Ctx {
        session: session.serial,
        devices: &state.devices,
        citizen: session.citizen.as_ref(),
        masked_id: session.masked_id.as_deref(),
        next_ticket: &mut state.next_ticket,
        out,
    };
    let next = match flow {
        flow @ (Flow::Menu | Flow::AwaitingCard(_) | Flow::ConfirmIdentity(_)) => Next::Stay(flow),
        Flow::Certificate(s) => certificate::step(s, &mut ctx, event),
        Flow::Qualification(s) => qualification::step(s, &mut ctx, event),
        Flow::Contributions(s) => contributions::step(s, &mut ctx, event),
        Flow::Unemployment(s) => unemployment::step(s, &mut ctx, event),
        Flow::Payments(s) => payments::step(s, &mut ctx, event),
        Flow::SelfInsured(service, s) => self_insured::step(s, service, &mut ctx, event),
        Flow::JobSeeker(s) => job_seeker::step(s, &mut ctx, event),
        Flow::Progress(s) => progress::step(s, &mut ctx, event),
        Flow::Rating(s) => rating::step(s, &mut ctx, event),
    };
    match next {
        Next::Stay(flow) => session.flow = flow,
        Next::Rate(service) => {
            session.flow = Flow::Rating(rating::start(service));
            out.push(Effect::Show(Screen::Rating { service }));
        }
        Next::Menu(notice) => go_menu(state, notice, out),
        Next::End(reason, notice) => end_session(state, reason, notice, out),
    }
}

/// The menu for the card holder, or the end of a session that has none.
fn go_menu(state: &mut State, notice: Option<Notice>, out: &mut Vec<Effect>) {
    let Some(session) = state.session.as_mut() else { return };
    match &session.citizen {
        Some(citizen) => {
            session.flow = Flow::Menu;
            // A committed flow may have left only the masked id; the holder is back.
            out.push(Effect::Show(Screen::Menu {
                holder: Some(citizen.name.clone()),
                masked_id: Some(citizen.id_number.masked()),
                tiles: state.devices.tiles(),
                notice,
            }));
        }
        None => end_session(state, EndReason::Finished, notice.or(Some(Notice::ThankYou)), out),
    }
}

/// Drops everything about the person and returns to the start screen.
fn end_session(state: &mut State, reason: EndReason, notice: Option<Notice>, out: &mut Vec<Effect>) {
    let Some(session) = state.session.take() else { return };
    if session.countdown_shown.is_some() {
        out.push(Effect::Countdown(None));
    }
    if session.flow.capturing() {
        out.push(Effect::StopCapture);
    }
    out.push(Effect::Audit(AuditRecord::SessionEnded { session: session.serial, reason }));
    out.push(Effect::Show(Screen::Welcome { tiles: state.devices.tiles(), notice }));
    drop(session);
}
