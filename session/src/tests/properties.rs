//! Random event sequences: the core never panics, always returns to the start screen
//! after the idle timeout, and never holds personal data once a session has ended.
//! The technician's gesture, PINs and self-tests, both card readers and the receipt
//! scanner are in the mix.

use super::*;
use crate::maintenance::{Pin, TestSubject};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Action {
    Card(bool),
    /// The first person's social security card.
    SocialSecurityCard,
    CardRemoved(IdentityDocument),
    CardUnreadable,
    Scan(ScannedCode),
    Touch(Intent),
    Device(Device, Option<Problem>),
    Wait(Millis),
    /// Answer the most recent request; the u8 picks success or one of the failures.
    Answer(u8),
}

fn intent() -> impl Strategy<Value = Intent> {
    let service = prop::sample::select(Service::ALL.to_vec());
    let grade =
        prop::sample::select(vec![RatingGrade::VerySatisfied, RatingGrade::Neutral, RatingGrade::VeryDissatisfied]);
    prop_oneof![
        service.prop_map(Intent::Choose),
        Just(Intent::Back),
        Just(Intent::Exit),
        Just(Intent::StillHere),
        Just(Intent::ChooseCertificate {
            kind: CertificateKind::AllInsurances,
            period: CertificatePeriod::LastMonths(12)
        }),
        Just(Intent::Print),
        Just(Intent::Done),
        Just(Intent::RetryCapture),
        Just(Intent::Confirm),
        prop::sample::select(vec!["13812345678", "123", ""])
            .prop_map(|p| Intent::SubmitRegistration { phone: p.into(), reason: Some(UnemploymentReason::Dismissed) }),
        "[A-Z0-9-]{0,12}".prop_map(Intent::SubmitTracking),
        prop::option::of(prop::sample::select(vec![60u16, 80, 100]))
            .prop_map(|percent| Intent::SubmitFlexibleRegistration { percent }),
        grade.prop_map(|grade| Intent::Rate { grade, reasons: vec![RatingReason::Other] }),
        Just(Intent::SkipRating),
        Just(Intent::Maintenance),
        Just(Intent::SubmitPin(Pin::new("246810"))),
        prop::sample::select(TestSubject::ALL.to_vec()).prop_map(Intent::SelfTest),
        Just(Intent::ExitMaintenance),
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let device = prop::sample::select(vec![
        Device::Reader,
        Device::Camera,
        Device::Printer,
        Device::SocialSecurityReader,
        Device::Scanner,
    ]);
    let scan = prop_oneof![
        "[A-Z0-9-]{0,20}".prop_map(ScannedCode::Application),
        Just(ScannedCode::Certificate { verification_code: "K7Q29XPA4M3B".into() }),
    ];
    let problem =
        prop::option::of(prop::sample::select(vec![Problem::PaperOut, Problem::PaperNearEnd, Problem::Missing]));
    prop_oneof![
        2 => any::<bool>().prop_map(Action::Card),
        1 => Just(Action::SocialSecurityCard),
        1 => scan.prop_map(Action::Scan),
        1 => prop::sample::select(vec![IdentityDocument::IdCard, IdentityDocument::SocialSecurityCard])
            .prop_map(Action::CardRemoved),
        1 => Just(Action::CardUnreadable),
        6 => intent().prop_map(Action::Touch),
        1 => (device, problem).prop_map(|(d, p)| Action::Device(d, p)),
        2 => (0u64..40_000).prop_map(Action::Wait),
        4 => any::<u8>().prop_map(Action::Answer),
    ]
}

/// The reply event for the most recent request effect, if any.
fn answer(k: &Kiosk, pick: u8) -> Option<Event> {
    let fail = pick % 4 == 0;
    let failure = Failure::CentralUnavailable("cut".into());
    k.effects.iter().rev().find_map(|e| {
        Some(match e {
            Effect::IssueCertificate { ticket, .. } => Event::CertificateIssued {
                ticket: *ticket,
                result: if fail { Err(Failure::BadSignature) } else { Ok(certificate::sample()) },
            },
            Effect::FetchContributions { ticket, .. } => Event::ContributionsLoaded {
                ticket: *ticket,
                result: if fail { Err(failure.clone()) } else { Ok(contributions::sample()) },
            },
            Effect::FetchPensionPayments { ticket, .. } => Event::PensionPaymentsLoaded {
                ticket: *ticket,
                result: match pick % 3 {
                    0 => Err(failure.clone()),
                    1 => Err(Failure::NotEligible(crate::IneligibleReason::NotAPensioner)),
                    _ => Ok(crate::PaymentRecord::default()),
                },
            },
            Effect::FetchOpenings { ticket, .. } => Event::OpeningsLoaded {
                ticket: *ticket,
                result: if fail { Err(failure.clone()) } else { Ok(Vec::new()) },
            },
            Effect::CheckEligibility { ticket, .. } => Event::EligibilityChecked {
                ticket: *ticket,
                result: match pick % 3 {
                    0 => Err(failure.clone()),
                    1 => Ok(crate::Eligibility::NotEligible(crate::IneligibleReason::BelowSubsidyAge)),
                    _ => Ok(crate::Eligibility::Eligible(crate::Offer {
                        bands: vec![crate::ContributionBand { percent: 60, base_fen: 420_000, monthly_fen: 121_800 }],
                        first_payment_due: None,
                        subsidy: Some((81_200, 36)),
                    })),
                },
            },
            Effect::LookUpApplication { ticket, .. } => {
                Event::ApplicationFound { ticket: *ticket, result: if fail { Err(failure.clone()) } else { Ok(None) } }
            }
            Effect::StartCapture { ticket, .. } if pick % 3 == 0 => Event::CaptureHint {
                ticket: *ticket,
                hint: CaptureHint { guide: crate::FaceHint::HoldStill, countdown: None, liveness: None },
            },
            Effect::StartCapture { ticket, .. } => Event::Captured {
                ticket: *ticket,
                result: if fail {
                    Err("no face".into())
                } else {
                    Ok(FaceCapture { jpeg: vec![0xFF, 0xD8], liveness: Default::default() })
                },
            },
            Effect::Submit { ticket, .. } => Event::Submitted {
                ticket: *ticket,
                result: match pick % 3 {
                    0 => Err(Failure::NotStored("full".into())),
                    1 => Ok(Delivery::Queued { reference: "L-1".into() }),
                    _ => Ok(submitted("T-1", Decision::PendingReview)),
                },
            },
            Effect::Print { ticket, .. } => {
                Event::Printed { ticket: *ticket, result: if fail { Err(Problem::PaperOut) } else { Ok(()) } }
            }
            Effect::CheckPin { ticket, .. } => Event::PinChecked { ticket: *ticket, accepted: pick % 2 == 0 },
            Effect::TestCamera { ticket } => {
                Event::CameraTested { ticket: *ticket, result: if fail { Err(Problem::Missing) } else { Ok(()) } }
            }
            Effect::CheckCentral { ticket } => {
                Event::CentralChecked { ticket: *ticket, result: if fail { Err("cut".into()) } else { Ok(12) } }
            }
            _ => return None,
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn random_sessions_end_clean(actions in prop::collection::vec(action(), 0..80)) {
        let mut k = Kiosk::new();
        k.state = State::new(SessionTiming::default()).with_maintenance();
        for action in actions {
            let event = match action {
                Action::Card(first) => Event::CardPlaced(if first {
                    Citizen::new(ID, NAME)
                } else {
                    Citizen::new("440524188001010014", "李四")
                }),
                Action::SocialSecurityCard => Event::CardPlaced(
                    Citizen::new(ID, NAME).with_document(IdentityDocument::SocialSecurityCard),
                ),
                Action::Scan(code) => Event::Scanned(code),
                Action::CardRemoved(document) => Event::CardRemoved(document),
                Action::CardUnreadable => Event::CardRefused { document: IdentityDocument::IdCard, problem: CardProblem::Unreadable },
                Action::Touch(intent) => Event::Touch(intent),
                Action::Device(device, problem) => Event::DeviceHealth { device, health: problem.map_or(Health::Ok, Health::Problem) },
                Action::Wait(ms) => { k.now += ms; Event::Tick(k.now) }
                Action::Answer(pick) => match answer(&k, pick) { Some(e) => e, None => continue },
            };
            let out = k.send(event);
            if !k.state.in_session() {
                prop_assert!(!k.state.holds_personal_data());
            }
            let ended = out.iter().any(|e| matches!(e, Effect::Audit(AuditRecord::SessionEnded { .. })));
            let started = out.iter().any(|e| matches!(e, Effect::Audit(AuditRecord::SessionStarted { .. })));
            if ended && !started {
                prop_assert!(!k.state.holds_personal_data(), "personal data survived the end of a session");
            }
            let shown = format!("{:?}", k.state);
            prop_assert!(!shown.contains(ID) && !shown.contains(NAME) && !shown.contains("李四"));
        }
        // Nobody touches anything for the whole idle period plus the countdown (or the
        // technician screens' longer idle limit).
        k.advance(120_000);
        prop_assert!(!k.state.in_session(), "still in a session after the idle timeout");
        prop_assert!(!k.state.in_maintenance(), "still on a technician screen after its idle timeout");
        prop_assert!(!k.state.holds_personal_data());
        prop_assert!(matches!(k.screen(), Screen::Welcome { .. }), "not on the start screen");
    }
}
