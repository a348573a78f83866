//! The session core: a pure state machine that turns card, camera, printer, touch and
//! time events into effects (screens, requests, print jobs, audit records). No I/O and
//! no clock reads inside: time arrives as [`Event::Tick`], replies come back as events.
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
//! | progress, rating | needs no card: unaffected | — |
//!
//! In a committed flow the card holder's identity is dropped at once; only what the
//! receipt still needs (a masked id) stays until the flow ends.

mod capture;
mod certificate;
mod contributions;
mod personal;
mod progress;
mod qualification;
mod rating;
mod receipt;
mod screen;
mod types;
mod unemployment;

#[cfg(test)]
mod tests;

pub use personal::{
    Citizen, ContributionRecord, ContributionYear, FaceCapture, IdNumber, IssuedCertificate, PersonName, Phone, mask_id,
};
pub use screen::{
    ApplicationProgress, CaptureHint, Decision, Delivery, Failure, FormError, LivenessChallenge, Notice, ReceiptState,
    Screen, ServiceTile, Unavailable, Waiting,
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
    Certificate(certificate::Step),
    Qualification(qualification::Step),
    Contributions(contributions::Step),
    Unemployment(unemployment::Step),
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
    fn receipt(&mut self, service: Service, delivery: Delivery) -> Option<Ticket> {
        let reference = match &delivery {
            Delivery::Submitted { tracking, .. } => tracking.clone(),
            Delivery::Queued { reference } => reference.clone(),
        };
        let delivered = matches!(delivery, Delivery::Submitted { .. });
        self.audit(AuditRecord::Submitted { session: self.session, service, delivered, reference });
        let receipt = Receipt { service, masked_id: self.masked_id.map(str::to_owned), delivery: delivery.clone() };
        match self.devices.unusable(Device::Printer) {
            Some(u) => {
                self.show(Screen::Receipt { service, delivery, receipt: ReceiptState::ScreenOnly(Some(u.problem)) });
                None
            }
            None => {
                let ticket = self.ticket();
                self.emit(Effect::Print { ticket, job: PrintJob::Receipt(receipt) });
                self.show(Screen::Receipt { service, delivery, receipt: ReceiptState::Printing });
                Some(ticket)
            }
        }
    }
}

impl State {
    pub fn new(timing: SessionTiming) -> Self {
        Self { timing, now: 0, devices: Devices::default(), next_ticket: 0, sessions_started: 0, session: None }
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
            Self::Menu | Self::Rating(_) | Self::Progress(_) => false,
            Self::Certificate(s) => s.holds_personal_data(),
            Self::Qualification(s) => s.holds_personal_data(),
            Self::Contributions(s) => s.holds_personal_data(),
            Self::Unemployment(s) => s.holds_personal_data(),
        }
    }

    /// Committed flows finish when the card is removed; drafting ones end the session.
    fn survives_card_removal(&self) -> bool {
        match self {
            Self::Menu => false,
            Self::Certificate(s) => s.committed(),
            Self::Qualification(s) => s.committed(),
            Self::Contributions(s) => s.committed(),
            Self::Unemployment(s) => s.committed(),
            Self::Progress(_) | Self::Rating(_) => true,
        }
    }

    fn service(&self) -> Option<Service> {
        match self {
            Self::Menu | Self::Rating(_) => None,
            Self::Certificate(_) => Some(Service::Certificate),
            Self::Qualification(_) => Some(Service::Qualification),
            Self::Contributions(_) => Some(Service::Contributions),
            Self::Unemployment(_) => Some(Service::Unemployment),
            Self::Progress(_) => Some(Service::Progress),
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
    match event {
        Event::Tick(now) => on_tick(state, now, &mut out),
        Event::DeviceHealth { device, health } => on_device(state, device, health, &mut out),
        Event::CardPlaced(citizen) => on_card(state, citizen, &mut out),
        Event::CardRemoved => on_card_removed(state, &mut out),
        Event::CardUnreadable(reason) => {
            out.push(Effect::Audit(AuditRecord::CardUnreadable { reason }));
            if state.session.is_none() {
                out.push(Effect::Show(Screen::Welcome {
                    tiles: state.devices.tiles(),
                    notice: Some(Notice::CardUnreadable),
                }));
            }
        }
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

fn on_device(state: &mut State, device: Device, health: Health, out: &mut Vec<Effect>) {
    let slot = state.devices.slot(device);
    if *slot == health {
        return;
    }
    *slot = health.clone();
    let problem = match health {
        Health::Ok => None,
        Health::Problem(p) => Some(p),
    };
    out.push(Effect::Audit(AuditRecord::DeviceFault { device, problem }));
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
    if let Some(session) = state.session.as_mut() {
        match &session.citizen {
            Some(current) if *current == citizen => {
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
    out.push(Effect::Audit(AuditRecord::CardRead { session: serial, masked_id: masked_id.clone() }));
    out.push(Effect::Show(Screen::Menu {
        holder: Some(citizen.name.clone()),
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

fn on_card_removed(state: &mut State, out: &mut Vec<Effect>) {
    let Some(session) = state.session.as_mut() else { return };
    if session.citizen.is_none() {
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
        match intent {
            // Progress lookup needs no card: a session without a holder.
            Intent::Choose(Service::Progress) => {
                state.sessions_started += 1;
                let serial = state.sessions_started;
                out.push(Effect::Audit(AuditRecord::SessionStarted { session: serial }));
                state.session = Some(Session {
                    serial,
                    citizen: None,
                    masked_id: None,
                    flow: Flow::Menu,
                    last_input: state.now,
                    countdown_shown: None,
                });
            }
            _ => return,
        }
    }
    note_input(state, out);
    if intent == Intent::StillHere {
        return;
    }
    let in_menu = state.session.as_ref().is_some_and(|s| matches!(s.flow, Flow::Menu));
    if in_menu {
        on_menu(state, intent, out);
    } else {
        step_flow(state, &Event::Touch(intent), out);
    }
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
    if service != Service::Progress && session.citizen.is_none() {
        return;
    }
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
        Service::Qualification => Flow::Qualification(qualification::start(&mut ctx)),
        Service::Contributions => Flow::Contributions(contributions::start(&mut ctx)),
        Service::Unemployment => Flow::Unemployment(unemployment::start(&mut ctx)),
        Service::Progress => Flow::Progress(progress::start(&mut ctx)),
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
        Flow::Menu => Next::Stay(Flow::Menu),
        Flow::Certificate(s) => certificate::step(s, &mut ctx, event),
        Flow::Qualification(s) => qualification::step(s, &mut ctx, event),
        Flow::Contributions(s) => contributions::step(s, &mut ctx, event),
        Flow::Unemployment(s) => unemployment::step(s, &mut ctx, event),
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
