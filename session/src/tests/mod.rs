//! Table-driven tests of every flow and a property test over random event sequences.

mod certificate;
mod contributions;
mod documents;
mod job_seeker;
mod maintenance;
mod maintenance_tools;
mod payments;
mod policies;
mod progress;
mod properties;
mod qualification;
mod self_insured;
mod unemployment;

use super::*;

pub(super) const ID: &str = "11010519491231002X";
pub(super) const NAME: &str = "张三丰";

/// A terminal driven by the tests: keeps the time and every effect it produced.
pub(super) struct Kiosk {
    pub state: State,
    pub now: Millis,
    pub effects: Vec<Effect>,
}

impl Kiosk {
    pub fn new() -> Self {
        let state = State::new(SessionTiming { idle_after: 60_000, countdown: 15_000, ..SessionTiming::default() });
        let effects = state.start();
        Self { state, now: 0, effects }
    }

    pub fn send(&mut self, event: Event) -> Vec<Effect> {
        let out = handle(&mut self.state, event);
        self.effects.extend(out.clone());
        out
    }

    pub fn touch(&mut self, intent: Intent) -> Vec<Effect> {
        self.send(Event::Touch(intent))
    }

    pub fn card(&mut self) -> Vec<Effect> {
        self.send(Event::CardPlaced(Citizen::new(ID, NAME)))
    }

    pub fn advance(&mut self, ms: Millis) -> Vec<Effect> {
        self.now += ms;
        self.send(Event::Tick(self.now))
    }

    pub fn device(&mut self, device: Device, problem: Option<Problem>) -> Vec<Effect> {
        let health = problem.map_or(Health::Ok, Health::Problem);
        self.send(Event::DeviceHealth { device, health })
    }

    /// The screen on display now.
    pub fn screen(&self) -> &Screen {
        self.effects
            .iter()
            .rev()
            .find_map(|e| if let Effect::Show(s) = e { Some(s) } else { None })
            .expect("a screen was shown")
    }

    /// The ticket of the most recent request effect.
    pub fn ticket(&self) -> Ticket {
        self.effects
            .iter()
            .rev()
            .find_map(|e| match e {
                Effect::IssueCertificate { ticket, .. }
                | Effect::FetchContributions { ticket, .. }
                | Effect::FetchPensionPayments { ticket, .. }
                | Effect::CheckEligibility { ticket, .. }
                | Effect::FetchOpenings { ticket, .. }
                | Effect::LookUpApplication { ticket, .. }
                | Effect::StartCapture { ticket, .. }
                | Effect::Submit { ticket, .. }
                | Effect::Print { ticket, .. } => Some(*ticket),
                _ => None,
            })
            .expect("a request was made")
    }

    pub fn audits(&self) -> Vec<&AuditRecord> {
        self.effects.iter().filter_map(|e| if let Effect::Audit(a) = e { Some(a) } else { None }).collect()
    }

    pub fn count(&self, pred: impl Fn(&Effect) -> bool) -> usize {
        self.effects.iter().filter(|e| pred(e)).count()
    }

    /// Card placed, service chosen, identity confirmed.
    pub fn start(service: Service) -> Self {
        let mut k = Self::new();
        k.card();
        k.choose(service);
        k
    }

    /// Chooses `service` from the menu and confirms the identity when it asks.
    pub fn choose(&mut self, service: Service) {
        self.touch(Intent::Choose(service));
        if matches!(self.screen(), Screen::Identity { .. }) {
            self.touch(Intent::Confirm);
        }
    }

    /// Answers the pending capture with a face.
    pub fn capture_face(&mut self) {
        let ticket = self.ticket();
        let turn = CaptureHint { guide: FaceHint::Good, countdown: None, liveness: Some(LivenessPrompt::TurnHeadLeft) };
        self.send(Event::CaptureHint { ticket, hint: turn });
        let face = FaceCapture {
            jpeg: vec![0xFF, 0xD8, 1, 2, 3],
            liveness: contract::LivenessEvidence { passed: true, ..Default::default() },
        };
        self.send(Event::Captured { ticket, result: Ok(face) });
    }

    pub fn answer_submission(&mut self, result: Result<Delivery, Failure>) {
        let ticket = self.ticket();
        self.send(Event::Submitted { ticket, result });
    }

    pub fn answer_print(&mut self, result: Result<(), Problem>) {
        let ticket = self.ticket();
        self.send(Event::Printed { ticket, result });
    }

    pub fn ended_with(&self, reason: EndReason) -> bool {
        self.audits().iter().any(|a| matches!(a, AuditRecord::SessionEnded { reason: r, .. } if *r == reason))
    }
}

pub(super) fn submitted(tracking: &str, decision: Decision) -> Delivery {
    Delivery::Submitted { tracking: tracking.into(), decision }
}

#[test]
fn start_screen_lists_every_service_available() {
    let k = Kiosk::new();
    let Screen::Welcome { tiles, notice: None } = k.screen() else { panic!("{:?}", k.screen()) };
    assert_eq!(tiles.len(), Service::ALL.len());
    assert_eq!(tiles.len(), 10);
    assert!(tiles.iter().all(|t| t.unavailable.is_none()));
}

#[test]
fn card_read_starts_a_session_with_masked_audit() {
    let mut k = Kiosk::new();
    k.card();
    assert!(matches!(k.screen(), Screen::Menu { holder: Some(_), .. }));
    assert!(k.audits().contains(&&AuditRecord::CardRead {
        session: 1,
        masked_id: "1101**********002X".into(),
        document: IdentityDocument::IdCard
    }));
    assert!(k.state.holds_personal_data());
}

#[test]
fn rating_follows_a_service_and_returns_to_the_menu() {
    let mut k = Kiosk::start(Service::ApplicationProgress);
    k.touch(Intent::SubmitTracking("ab-123456".into()));
    let ticket = k.ticket();
    let progress = progress_of("AB-123456");
    k.send(Event::ApplicationFound { ticket, result: Ok(Some(progress)) });
    k.touch(Intent::Done);
    assert_eq!(k.screen(), &Screen::Rating { service: Service::ApplicationProgress });
    k.touch(Intent::Rate { grade: RatingGrade::VerySatisfied, reasons: vec![RatingReason::Fast] });
    assert!(k.effects.iter().any(|e| matches!(
        e,
        Effect::SubmitRating(RatingRecord {
            service: Service::ApplicationProgress,
            grade: Some(RatingGrade::VerySatisfied),
            ..
        })
    )));
    assert!(matches!(k.screen(), Screen::Menu { notice: Some(Notice::ThankYou), .. }));
}

#[test]
fn skipped_rating_is_recorded_as_skipped() {
    let mut k = Kiosk::start(Service::ApplicationProgress);
    k.touch(Intent::SubmitTracking("AB123456".into()));
    let ticket = k.ticket();
    k.send(Event::ApplicationFound { ticket, result: Err(Failure::CentralUnavailable("down".into())) });
    k.touch(Intent::Done);
    k.touch(Intent::SkipRating);
    assert!(k.effects.iter().any(|e| matches!(e, Effect::SubmitRating(RatingRecord { grade: None, .. }))));
    assert!(k.audits().contains(&&AuditRecord::Rated {
        session: 1,
        service: Service::ApplicationProgress,
        grade: None
    }));
}

#[test]
fn a_reply_without_a_matching_ticket_is_ignored() {
    let mut k = Kiosk::start(Service::ApplicationProgress);
    k.touch(Intent::Back);
    k.touch(Intent::Choose(Service::ApplicationProgress));
    k.touch(Intent::SubmitTracking("nonsense!".into()));
    assert!(matches!(k.screen(), Screen::TrackingEntry { error: Some(FormError::InvalidTracking), .. }));
    let ticket = Ticket(999);
    k.send(Event::ApplicationFound { ticket, result: Ok(None) });
    assert!(matches!(k.screen(), Screen::TrackingEntry { .. }), "a reply nobody asked for is ignored");
}

#[test]
fn exit_from_the_menu_ends_the_session_and_forgets_the_person() {
    let mut k = Kiosk::new();
    k.card();
    k.touch(Intent::Exit);
    assert!(!k.state.in_session());
    assert!(!k.state.holds_personal_data());
    assert!(k.ended_with(EndReason::Finished));
    assert!(matches!(k.screen(), Screen::Welcome { notice: Some(Notice::ThankYou), .. }));
}

/// A progress answer for the tests.
pub(super) fn progress_of(tracking: &str) -> ApplicationProgress {
    let day = |day| time::Date::from_calendar_date(2026, time::Month::November, day).unwrap();
    ApplicationProgress {
        tracking: tracking.into(),
        service: Service::QualificationCheck,
        status: ApplicationStatus::UnderReview,
        submitted_on: day(2),
        deadline: Some(day(30)),
    }
}
