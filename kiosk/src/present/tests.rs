//! The presenter driven together with the real session core: window intents in, core
//! effects applied, the resulting view checked.

mod maintenance;

use super::*;
use session::{Citizen, Effect, IdentityDocument, SessionTiming, State, handle};
use ui::model::{CardError, CardReadState, HomeNotice, InputError, Service};

const ID: &str = "11010519491231002X";
const NAME: &str = "张三丰";

struct Rig {
    state: State,
    presenter: Presenter,
    effects: Vec<Effect>,
    now: u64,
}

impl Rig {
    fn new() -> Self {
        let state = State::new(SessionTiming { idle_after: 60_000, countdown: 15_000, ..SessionTiming::default() });
        let start = state.start();
        let mut rig = Self { state, presenter: Presenter::new(), effects: Vec::new(), now: 0 };
        rig.apply(start);
        rig
    }
    fn apply(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match &e {
                Effect::Show(s) => self.presenter.show(s.clone()),
                Effect::Countdown(c) => self.presenter.countdown(*c),
                _ => {}
            }
            self.effects.push(e);
        }
    }
    fn event(&mut self, e: Event) {
        let out = handle(&mut self.state, e);
        self.apply(out);
    }
    fn tap(&mut self, i: Intent) {
        for e in self.presenter.intent(i) {
            self.event(e);
        }
    }
    fn card(&mut self) {
        self.event(Event::CardPlaced(Citizen::new(ID, NAME)));
    }
    fn wait(&mut self, ms: u64) {
        self.now += ms;
        self.event(Event::Tick(self.now));
    }
    fn screen(&self) -> Screen {
        self.presenter.view(LocalTime::default()).screen
    }
    fn digits(&mut self, digits: &str) {
        for d in digits.bytes() {
            self.tap(Intent::KeypadDigit(d - b'0'));
        }
    }
}

#[test]
fn service_first_asks_for_the_card_then_confirms_the_masked_identity() {
    let mut k = Rig::new();
    assert!(matches!(k.screen(), Screen::Home { holder: None, .. }));
    k.tap(Intent::ChooseService(Service::Certificate));
    assert_eq!(k.screen(), Screen::CardReading { service: Service::Certificate, state: CardReadState::WaitingForCard });
    k.card();
    let Screen::IdentityConfirm { service, identity } = k.screen() else { panic!("{:?}", k.screen()) };
    assert_eq!(service, Service::Certificate);
    assert_eq!(identity.id_number, "1101**********002X");
    assert!(!identity.name.contains("三丰"), "name is masked: {}", identity.name);
    k.tap(Intent::Confirm);
    assert!(matches!(k.screen(), Screen::CertificateChoice { can_continue: false, .. }));
}

#[test]
fn card_first_greets_the_holder_on_home_and_cancel_ends_the_session() {
    let mut k = Rig::new();
    k.card();
    let Screen::Home { holder: Some(holder), .. } = k.screen() else { panic!("{:?}", k.screen()) };
    assert_eq!(holder.id_number, "1101**********002X");
    k.tap(Intent::ChooseService(Service::ContributionRecord));
    assert!(matches!(k.screen(), Screen::IdentityConfirm { service: Service::ContributionRecord, .. }));
    k.tap(Intent::Back);
    assert!(matches!(k.screen(), Screen::Home { holder: Some(_), .. }));
    k.tap(Intent::Cancel);
    assert!(matches!(k.screen(), Screen::Home { holder: None, notice: Some(HomeNotice::ThankYou), .. }));
    assert!(!k.state.in_session());
}

#[test]
fn certificate_kind_and_period_picked_then_confirmed_reach_the_core() {
    let mut k = Rig::new();
    k.card();
    k.tap(Intent::ChooseService(Service::Certificate));
    k.tap(Intent::Confirm);
    k.tap(Intent::Confirm); // nothing picked yet: ignored
    assert!(!k.effects.iter().any(|e| matches!(e, Effect::IssueCertificate { .. })));
    k.tap(Intent::PickCertificateKind(CertificateKind::PensionInsurance));
    k.tap(Intent::PickCertificatePeriod(CertificatePeriod::LastMonths(12)));
    let Screen::CertificateChoice { selected_kind, selected_period, can_continue, .. } = k.screen() else {
        panic!("{:?}", k.screen())
    };
    assert_eq!(
        (selected_kind, selected_period, can_continue),
        (Some(CertificateKind::PensionInsurance), Some(CertificatePeriod::LastMonths(12)), true)
    );
    k.tap(Intent::Confirm);
    let issued = k.effects.iter().find_map(|e| match e {
        Effect::IssueCertificate { kind, period, .. } => Some((*kind, *period)),
        _ => None,
    });
    // The kind picked on screen is the kind asked for (it used to become another one).
    assert_eq!(issued, Some((session::CertificateKind::PensionInsurance, CertificatePeriod::LastMonths(12))));
    assert!(matches!(k.screen(), Screen::Waiting { activity: ui::model::Activity::IssuingCertificate, .. }));
}

#[test]
fn registration_phone_is_typed_on_the_keypad_and_forgotten_with_the_session() {
    let mut k = Rig::new();
    k.card();
    k.tap(Intent::ChooseService(Service::UnemploymentRegistration));
    k.tap(Intent::Confirm);
    k.digits("1380013800099"); // two digits too many: the field stops at 11
    k.tap(Intent::KeypadBackspace);
    k.tap(Intent::PickUnemploymentReason(UnemploymentReason::ContractEnded));
    let Screen::RegistrationForm { phone, can_submit, .. } = k.screen() else { panic!("{:?}", k.screen()) };
    assert_eq!(phone.value, "1380013800");
    assert!(!can_submit, "ten digits are not a phone number");
    k.digits("1");
    k.tap(Intent::Confirm);
    let submitted = k.effects.iter().any(|e| {
        matches!(e, Effect::Submit { submission: session::Submission::Registration { phone, .. }, .. }
            if phone.expose() == "13800138001")
    });
    assert!(submitted, "the typed number was submitted");
    // Walk away: the countdown, then the session and the draft are gone.
    k.wait(61_000);
    assert!(k.presenter.view(LocalTime::default()).idle.is_some());
    k.wait(15_000);
    assert!(!k.state.in_session());
    assert!(!k.presenter.holds_drafts());
    assert!(matches!(k.screen(), Screen::Home { notice: Some(HomeNotice::SessionTimedOut), .. }));
}

#[test]
fn an_invalid_phone_keeps_the_digits_and_shows_the_error() {
    let mut k = Rig::new();
    k.card();
    k.tap(Intent::ChooseService(Service::UnemploymentRegistration));
    k.tap(Intent::Confirm);
    k.digits("00000000000");
    k.tap(Intent::PickUnemploymentReason(UnemploymentReason::Other));
    k.tap(Intent::Confirm);
    let Screen::RegistrationForm { phone, .. } = k.screen() else { panic!("{:?}", k.screen()) };
    assert_eq!(phone.error, Some(InputError::InvalidPhone));
    assert_eq!(phone.value, "00000000000", "kept for correction");
    k.tap(Intent::KeypadClear);
    let Screen::RegistrationForm { phone, .. } = k.screen() else { panic!() };
    assert_eq!(phone.value, "");
}

#[test]
fn tracking_number_typed_without_a_card_is_looked_up() {
    let mut k = Rig::new();
    k.tap(Intent::ChooseService(Service::ApplicationProgress));
    assert!(matches!(k.screen(), Screen::ProgressLookup { can_submit: false, .. }));
    k.digits("202611210004837");
    k.tap(Intent::Confirm);
    let looked_up = k.effects.iter().find_map(|e| match e {
        Effect::LookUpApplication { tracking, .. } => Some(tracking.clone()),
        _ => None,
    });
    assert_eq!(looked_up.as_deref(), Some("202611210004837"));
}

#[test]
fn rating_reasons_follow_the_grade_and_are_sent_with_it() {
    let mut k = Rig::new();
    k.card();
    k.tap(Intent::ChooseService(Service::ContributionRecord));
    k.tap(Intent::Confirm);
    let ticket = k
        .effects
        .iter()
        .rev()
        .find_map(|e| if let Effect::FetchContributions { ticket, .. } = e { Some(*ticket) } else { None })
        .unwrap();
    k.event(Event::ContributionsLoaded { ticket, result: Ok(Default::default()) });
    assert!(matches!(k.screen(), Screen::ContributionRecord { .. }), "{:?}", k.screen());
    k.tap(Intent::Confirm);
    assert!(matches!(k.screen(), Screen::Rating { selected: None, .. }), "{:?}", k.screen());
    k.tap(Intent::Rate(RatingGrade::Satisfied));
    k.tap(Intent::ToggleRatingReason(RatingReason::Fast));
    k.tap(Intent::Rate(RatingGrade::Dissatisfied));
    let Screen::Rating { selected_reasons, reasons, .. } = k.screen() else { panic!() };
    assert!(selected_reasons.is_empty(), "praise dropped when the grade turned to a complaint");
    assert!(reasons.contains(&RatingReason::TooSlow));
    k.tap(Intent::ToggleRatingReason(RatingReason::TooSlow));
    k.tap(Intent::Confirm);
    let rated = k.effects.iter().find_map(|e| match e {
        Effect::SubmitRating(r) => Some((r.grade, r.reasons.clone())),
        _ => None,
    });
    assert_eq!(rated, Some((Some(session::RatingGrade::Dissatisfied), vec![session::RatingReason::TooSlow])));
}

#[test]
fn a_refused_card_shows_why_and_retry_returns_to_the_prompt() {
    let mut k = Rig::new();
    k.tap(Intent::ChooseService(Service::QualificationCheck));
    k.event(Event::CardRefused { document: IdentityDocument::IdCard, problem: session::CardProblem::Expired });
    assert_eq!(
        k.screen(),
        Screen::CardReading { service: Service::QualificationCheck, state: CardReadState::Failed(CardError::Expired) }
    );
    k.tap(Intent::Retry);
    assert!(matches!(k.screen(), Screen::CardReading { state: CardReadState::WaitingForCard, .. }));
    k.tap(Intent::Cancel);
    assert!(!k.state.in_session());
}

#[test]
fn a_refused_card_on_the_start_screen_is_a_notice_until_it_is_taken_away() {
    let mut k = Rig::new();
    k.event(Event::CardRefused { document: IdentityDocument::IdCard, problem: session::CardProblem::WrongType });
    let Screen::Home { notice, holder: None, .. } = k.screen() else { panic!("{:?}", k.screen()) };
    assert_eq!(notice, Some(HomeNotice::CardRefused(CardError::WrongCardType)));
    k.event(Event::CardRemoved(IdentityDocument::IdCard));
    assert!(matches!(k.screen(), Screen::Home { notice: None, .. }));
}

#[test]
fn language_and_text_size_reset_for_the_next_citizen() {
    let mut k = Rig::new();
    k.tap(Intent::ToggleLanguage);
    k.tap(Intent::ToggleLargeText);
    let view = k.presenter.view(LocalTime::default());
    assert_eq!((view.language, view.text_size), (Language::En, TextSize::Large));
    k.card();
    assert_eq!(k.presenter.view(LocalTime::default()).language, Language::En, "kept within the session");
    k.event(Event::CardRemoved(IdentityDocument::IdCard));
    let view = k.presenter.view(LocalTime::default());
    assert_eq!((view.language, view.text_size), (Language::ZhCn, TextSize::Normal));
}

#[test]
fn large_text_turns_the_voice_on_unless_the_citizen_turned_it_off() {
    let voice = |k: &Rig| k.presenter.view(LocalTime::default()).voice;
    let mut k = Rig::new();
    assert!(!voice(&k), "off by default");
    k.tap(Intent::ToggleLargeText);
    assert!(voice(&k), "large text brings the voice");
    k.tap(Intent::ToggleLargeText);
    assert!(!voice(&k), "and takes it back when it brought it");
    k.tap(Intent::ToggleVoice);
    assert!(voice(&k));
    k.tap(Intent::ToggleVoice);
    k.tap(Intent::ToggleLargeText);
    assert!(!voice(&k), "turned off by the citizen: large text leaves it off");
    // The toggles only reach the core as touches (the idle clock sees them).
    assert_eq!(k.presenter.intent(Intent::ToggleVoice), vec![Event::Touch(CoreIntent::StillHere)]);
    k.card();
    assert!(voice(&k), "kept within the session");
    k.event(Event::CardRemoved(IdentityDocument::IdCard));
    let view = k.presenter.view(LocalTime::default());
    assert_eq!((view.voice, view.text_size), (false, TextSize::Normal), "the next citizen starts afresh");
    k.tap(Intent::ToggleLargeText);
    assert!(voice(&k), "and large text brings the voice again");
}

#[test]
fn a_terminal_can_start_every_citizen_with_the_voice_on() {
    let mut k = Rig::new();
    k.presenter.set_voice_default(true);
    assert!(k.presenter.view(LocalTime::default()).voice);
    k.tap(Intent::ToggleVoice);
    k.card();
    assert!(!k.presenter.view(LocalTime::default()).voice);
    k.event(Event::CardRemoved(IdentityDocument::IdCard));
    assert!(k.presenter.view(LocalTime::default()).voice, "the next citizen starts from the terminal's default");
}

#[test]
fn a_device_fault_shows_the_reason_on_the_tile() {
    let mut k = Rig::new();
    k.event(Event::DeviceHealth {
        device: session::Device::Printer,
        health: session::Health::Problem(session::Problem::PaperOut),
    });
    let Screen::Home { tiles, .. } = k.screen() else { panic!() };
    let certificate = tiles.iter().find(|t| t.service == Service::Certificate).unwrap();
    assert_eq!(
        certificate.availability,
        ui::model::Availability::Unavailable(ui::model::UnavailableReason::PrinterOutOfPaper)
    );
    let progress = tiles.iter().find(|t| t.service == Service::ApplicationProgress).unwrap();
    assert_eq!(progress.availability, ui::model::Availability::Available);
}

#[test]
fn china_time_is_utc_plus_eight() {
    let t = time::macros::datetime!(2026-11-21 23:30 UTC);
    let local = local_time(t);
    assert_eq!((local.date.day(), local.hour, local.minute, local.date.weekday()), (22, 7, 30, time::Weekday::Sunday));
}

#[test]
fn a_refusal_sends_the_citizen_to_a_counter_and_an_outage_says_the_service_is_down() {
    use session::{Failure, Screen as Core, Service as S};
    let table = [
        (Failure::Refused("no pension".into()), "refused"),
        (Failure::BadSignature, "refused"),
        (Failure::CentralUnavailable("timeout".into()), "offline"),
        (Failure::NotStored("disk full".into()), "maintenance"),
    ];
    for (reason, expected) in table {
        let mut p = Presenter::new();
        p.show(Core::Failed { service: S::Certificate, reason: reason.clone() });
        let shown = match p.view(LocalTime::default()).screen {
            Screen::Result { kind: ui::model::ResultKind::Failed(ui::model::FailureReason::Refused), .. } => "refused",
            Screen::Unavailable { reason: ui::model::UnavailableReason::CentralOffline, .. } => "offline",
            Screen::Unavailable { reason: ui::model::UnavailableReason::Maintenance, .. } => "maintenance",
            other => panic!("{reason:?}: {other:?}"),
        };
        assert_eq!(shown, expected, "{reason:?}");
    }
}

fn certificate(from: (u16, u8), to: (u16, u8), status: session::CertificateStatus) -> session::IssuedCertificate {
    use session::{IdNumber, MonthRange, PersonName, YearMonth};
    session::IssuedCertificate {
        number: "SI-2026-000001".into(),
        kind: session::CertificateKind::AllInsurances,
        holder: PersonName::new(NAME),
        holder_id: IdNumber::new(ID),
        period: MonthRange {
            from: YearMonth { year: from.0, month: from.1 },
            to: YearMonth { year: to.0, month: to.1 },
        },
        months_covered: 180,
        current_payer: Some("南宁市第一机械厂".into()),
        status,
        rows: Vec::new(),
        total_fen: 0,
        issued_on: time::macros::date!(2026 - 11 - 21),
        verification_code: "SBSTH8WEUKNL".into(),
        verify_url: "https://central.example/verify/SBSTH8WEUKNL".into(),
    }
}

#[test]
fn the_preview_names_the_period_the_certificate_really_covers() {
    use session::{CertificateStatus, Screen as Core, YearMonth};
    let now = LocalTime { date: time::macros::date!(2026 - 11 - 21), ..LocalTime::default() };
    let table = [
        (
            "last twelve months",
            certificate((2025, 12), (2026, 11), CertificateStatus::Contributing),
            CertificatePeriod::LastMonths(12),
        ),
        (
            "a pensioner's paying years, whatever was picked",
            certificate(
                (1995, 1),
                (2009, 12),
                CertificateStatus::Retired { last: Some(YearMonth { year: 2009, month: 12 }) },
            ),
            CertificatePeriod::FullHistory,
        ),
    ];
    for (name, c, expected) in table {
        let mut p = Presenter::with_language(Language::En);
        p.show(Core::CertificatePreview { certificate: c });
        let Screen::CertificatePreview { period, rows, .. } = p.view(now).screen else { panic!("{name}") };
        assert_eq!(period, expected, "{name}");
        let value = |f| rows.iter().find(|r| r.field == f).map(|r| r.value.clone()).unwrap_or_default();
        assert_eq!(value(ui::model::PreviewField::IdNumber), "1101**********002X", "{name}");
        assert!(!value(ui::model::PreviewField::Name).contains("三丰"), "{name}: the name is masked");
        assert!(value(ui::model::PreviewField::Status).is_ascii(), "{name}: English status in English");
    }
}

#[test]
fn the_printing_bar_shows_the_reported_percent_and_starts_over_with_each_screen() {
    use session::{Screen as Core, Service as S, Waiting};
    let printing = || Core::Waiting { service: S::Certificate, what: Waiting::Printing };
    let percent = |p: &Presenter| match p.view(LocalTime::default()).screen {
        Screen::Printing { percent, .. } => percent,
        other => panic!("not the printing screen: {other:?}"),
    };
    let mut p = Presenter::new();
    p.show(printing());
    assert_eq!(percent(&p), 0);
    p.printing(40);
    assert_eq!(percent(&p), 40);
    p.printing(100);
    assert_eq!(percent(&p), 100, "the printer confirmed");
    p.show(Core::Printed { service: S::Certificate, result: Ok(()) });
    p.show(printing());
    assert_eq!(percent(&p), 0, "the next printout starts at 0, not where the last one ended");
}

#[test]
fn a_retired_terminal_shows_one_out_of_service_page_and_a_full_disk_still_shows_the_tiles() {
    use session::{Devices, Health, Problem, Screen as Core};
    let mut devices = Devices::default();
    devices.set(session::Device::Enrollment, Health::Problem(Problem::Missing));
    let mut p = Presenter::new();
    p.show(Core::Welcome { tiles: devices.tiles(), notice: None });
    assert_eq!(
        p.view(LocalTime::default()).screen,
        Screen::Unavailable { service: None, reason: ui::model::UnavailableReason::OutOfService }
    );
    // Another fault that stops everything (a full disk) keeps the home page, each tile saying why.
    let mut devices = Devices::default();
    devices.set(session::Device::Storage, Health::Problem(Problem::Error("disk full".into())));
    p.show(Core::Welcome { tiles: devices.tiles(), notice: None });
    assert!(matches!(p.view(LocalTime::default()).screen, Screen::Home { .. }));
}

fn request_ticket(rig: &Rig, pick: impl Fn(&Effect) -> Option<session::Ticket>) -> session::Ticket {
    rig.effects.iter().rev().find_map(pick).expect("the core asked the runtime")
}

fn band(percent: u16) -> session::ContributionBand {
    let base_fen = 7_000 * i64::from(percent);
    session::ContributionBand { percent, base_fen, monthly_fen: base_fen * 29 / 100 }
}

#[test]
fn the_flexible_form_keeps_the_band_picked_and_submits_it() {
    let mut rig = Rig::new();
    rig.card();
    rig.tap(Intent::ChooseService(Service::FlexibleEmploymentRegistration));
    rig.tap(Intent::Confirm);
    let ticket = request_ticket(&rig, |e| match e {
        Effect::CheckEligibility { ticket, .. } => Some(*ticket),
        _ => None,
    });
    let offer = session::Offer {
        bands: vec![band(60), band(100)],
        first_payment_due: Some(time::macros::date!(2026 - 12 - 25)),
        subsidy: None,
    };
    rig.event(Event::EligibilityChecked { ticket, result: Ok(session::Eligibility::Eligible(offer)) });
    // Register without a band: the form says so, nothing leaves the terminal.
    rig.tap(Intent::Confirm);
    assert!(
        matches!(rig.screen(), Screen::FlexibleOffer { missing_band: true, selected: None, .. }),
        "{:?}",
        rig.screen()
    );
    // A band the offer does not have is not picked.
    rig.tap(Intent::PickBand(80));
    rig.tap(Intent::PickBand(100));
    let Screen::FlexibleOffer { selected: Some(100), missing_band: false, bands, first_payment_due, .. } = rig.screen()
    else {
        panic!("{:?}", rig.screen())
    };
    assert_eq!(bands.iter().map(|b| (b.percent, b.monthly_fen)).collect::<Vec<_>>(), [(60, 121_800), (100, 203_000)]);
    assert_eq!(first_payment_due, Some(time::macros::date!(2026 - 12 - 25)));
    rig.tap(Intent::Confirm);
    assert!(rig.effects.iter().any(|e| matches!(
        e,
        Effect::Submit { submission: session::Submission::FlexibleEmployment { band: b, .. }, .. } if b.percent == 100
    )));
    let ticket = request_ticket(&rig, |e| match e {
        Effect::Submit { ticket, .. } => Some(*ticket),
        _ => None,
    });
    let delivery = session::Delivery::Submitted { tracking: "FE-1".into(), decision: session::Decision::Recorded };
    rig.event(Event::Submitted { ticket, result: Ok(delivery) });
    let Screen::Result { terms: Some(terms), tracking_number: Some(tracking), .. } = rig.screen() else {
        panic!("{:?}", rig.screen())
    };
    assert_eq!((tracking.as_str(), terms.monthly_fen), ("FE-1", 203_000));
}

#[test]
fn a_refusal_shows_its_reason_and_done_leads_to_the_rating() {
    let mut rig = Rig::new();
    rig.card();
    rig.tap(Intent::ChooseService(Service::EmploymentSubsidy));
    rig.tap(Intent::Confirm);
    let ticket = request_ticket(&rig, |e| match e {
        Effect::CheckEligibility { ticket, .. } => Some(*ticket),
        _ => None,
    });
    let reason = session::IneligibleReason::BelowSubsidyAge;
    rig.event(Event::EligibilityChecked { ticket, result: Ok(session::Eligibility::NotEligible(reason)) });
    assert_eq!(
        rig.screen(),
        Screen::Result {
            service: Service::EmploymentSubsidy,
            kind: ui::model::ResultKind::Failed(ui::model::FailureReason::NotEligible(reason)),
            tracking_number: None,
            receipt: ui::model::ReceiptNote::None,
            terms: None,
        }
    );
    rig.tap(Intent::Confirm);
    assert!(matches!(rig.screen(), Screen::Rating { service: Service::EmploymentSubsidy, .. }), "{:?}", rig.screen());
}

#[test]
fn the_payment_record_is_shown_with_its_total_and_the_subsidy_is_applied_for_with_confirm() {
    let mut rig = Rig::new();
    rig.card();
    rig.tap(Intent::ChooseService(Service::PensionPayments));
    rig.tap(Intent::Confirm);
    let ticket = request_ticket(&rig, |e| match e {
        Effect::FetchPensionPayments { ticket, .. } => Some(*ticket),
        _ => None,
    });
    let payment = |month| session::PensionPayment {
        month: session::YearMonth::new(2026, month).unwrap(),
        amount_fen: 300_000,
        paid_on: time::macros::date!(2026 - 01 - 01),
    };
    let record = session::PaymentRecord { payments: vec![payment(1), payment(2)] };
    rig.event(Event::PensionPaymentsLoaded { ticket, result: Ok(record) });
    let Screen::PensionPayments { total_fen, payments, can_print: true, identity } = rig.screen() else {
        panic!("{:?}", rig.screen())
    };
    assert_eq!((total_fen, payments.len()), (600_000, 2));
    assert_eq!(identity.id_number, "1101**********002X");
    rig.tap(Intent::Confirm);
    assert!(matches!(rig.screen(), Screen::Rating { service: Service::PensionPayments, .. }));

    let mut rig = Rig::new();
    rig.card();
    rig.tap(Intent::ChooseService(Service::EmploymentSubsidy));
    rig.tap(Intent::Confirm);
    let ticket = request_ticket(&rig, |e| match e {
        Effect::CheckEligibility { ticket, .. } => Some(*ticket),
        _ => None,
    });
    let offer = session::Offer { subsidy: Some((81_200, 36)), ..session::Offer::default() };
    rig.event(Event::EligibilityChecked { ticket, result: Ok(session::Eligibility::Eligible(offer)) });
    assert_eq!(rig.screen(), Screen::SubsidyOffer { monthly_fen: 81_200, months: 36 });
    rig.tap(Intent::Confirm);
    assert!(
        rig.effects
            .iter()
            .any(|e| matches!(e, Effect::Submit { submission: session::Submission::EmploymentSubsidy { .. }, .. }))
    );
}

#[test]
fn the_job_seeker_form_keeps_the_chips_and_digits_and_sends_the_profile() {
    let mut rig = Rig::new();
    rig.card();
    rig.tap(Intent::ChooseService(Service::JobSeekerRegistration));
    rig.tap(Intent::Confirm);
    let ticket = request_ticket(&rig, |e| match e {
        Effect::CheckEligibility { ticket, .. } => Some(*ticket),
        _ => None,
    });
    rig.event(Event::EligibilityChecked {
        ticket,
        result: Ok(session::Eligibility::Eligible(session::Offer::default())),
    });
    rig.digits("13812345678");
    rig.tap(Intent::PickJobKind(ui::model::JobKind::Delivery));
    let Screen::JobSeekerForm { can_submit: false, selected_kind: Some(_), phone, .. } = rig.screen() else {
        panic!("no district yet: {:?}", rig.screen())
    };
    assert_eq!(phone.value, "13812345678");
    rig.tap(Intent::PickDistrict(ui::model::District::Wuming));
    assert!(matches!(rig.screen(), Screen::JobSeekerForm { can_submit: true, .. }));
    rig.tap(Intent::Confirm);
    let Some((kind, district)) = rig.effects.iter().rev().find_map(|e| match e {
        Effect::FetchOpenings { kind, district, .. } => Some((*kind, *district)),
        _ => None,
    }) else {
        panic!("openings asked for")
    };
    assert_eq!((kind, district), (session::JobKind::Delivery, session::District::Wuming));
    let ticket = request_ticket(&rig, |e| match e {
        Effect::FetchOpenings { ticket, .. } => Some(*ticket),
        _ => None,
    });
    rig.event(Event::OpeningsLoaded { ticket, result: Ok(Vec::new()) });
    assert!(matches!(rig.screen(), Screen::Openings { found: true, .. }), "{:?}", rig.screen());
    rig.tap(Intent::Confirm);
    assert!(
        rig.effects
            .iter()
            .any(|e| matches!(e, Effect::Submit { submission: session::Submission::JobSeeker { .. }, .. }))
    );
}
