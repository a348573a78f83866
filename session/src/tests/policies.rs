//! Idle timeout, card removal per flow, another card, device faults.

use super::*;

#[test]
fn idle_countdown_then_wipe() {
    let mut k = Kiosk::new();
    k.card();
    assert!(k.advance(59_000).is_empty());
    assert_eq!(k.advance(1_000), vec![Effect::Countdown(Some(15))]);
    assert!(k.advance(400).is_empty(), "same second left: nothing new");
    assert_eq!(k.advance(600), vec![Effect::Countdown(Some(14))]);
    k.advance(13_999);
    assert!(k.state.in_session());
    k.advance(1);
    assert!(!k.state.in_session());
    assert!(k.ended_with(EndReason::IdleTimeout));
    assert!(matches!(k.screen(), Screen::Welcome { notice: Some(Notice::TimedOut), .. }));
    assert!(!k.state.holds_personal_data());
}

#[test]
fn a_touch_during_the_countdown_keeps_the_session() {
    let mut k = Kiosk::new();
    k.card();
    k.advance(70_000);
    assert_eq!(k.touch(Intent::StillHere), vec![Effect::Countdown(None)]);
    k.advance(70_000);
    assert!(k.state.in_session());
    k.advance(5_000);
    assert!(!k.state.in_session());
}

#[test]
fn idle_terminal_without_session_never_counts_down() {
    let mut k = Kiosk::new();
    for _ in 0..10 {
        assert!(k.advance(100_000).is_empty());
    }
}

/// (flow set-up, whether the session survives card removal)
#[test]
fn card_removal_policy_per_flow() {
    type Setup = fn(&mut Kiosk);
    let table: Vec<(&str, Setup, bool)> = vec![
        ("menu", |_| {}, false),
        (
            "certificate choosing",
            |k| {
                k.choose(Service::Certificate);
            },
            false,
        ),
        (
            "certificate issuing",
            |k| {
                k.choose(Service::Certificate);
                k.touch(Intent::ChooseCertificate {
                    kind: CertificateKind::AllInsurances,
                    period: CertificatePeriod::LastMonths(12),
                });
            },
            false,
        ),
        (
            "certificate printing",
            |k| {
                k.choose(Service::Certificate);
                k.touch(Intent::ChooseCertificate {
                    kind: CertificateKind::AllInsurances,
                    period: CertificatePeriod::LastMonths(12),
                });
                let ticket = k.ticket();
                k.send(Event::CertificateIssued { ticket, result: Ok(certificate::sample()) });
                k.touch(Intent::Print);
            },
            true,
        ),
        (
            "qualification capturing",
            |k| {
                k.choose(Service::QualificationCheck);
            },
            false,
        ),
        (
            "qualification submitting",
            |k| {
                k.choose(Service::QualificationCheck);
                k.capture_face();
            },
            true,
        ),
        (
            "contributions viewing",
            |k| {
                k.choose(Service::ContributionRecord);
                let ticket = k.ticket();
                k.send(Event::ContributionsLoaded { ticket, result: Ok(contributions::sample()) });
            },
            false,
        ),
        (
            "unemployment form",
            |k| {
                k.choose(Service::UnemploymentRegistration);
            },
            false,
        ),
        (
            "unemployment receipt",
            |k| {
                k.choose(Service::UnemploymentRegistration);
                k.touch(Intent::SubmitRegistration {
                    phone: "13812345678".into(),
                    reason: Some(UnemploymentReason::Resigned),
                });
                k.answer_submission(Ok(Delivery::Queued { reference: "Q-1".into() }));
            },
            true,
        ),
        (
            "progress",
            |k| {
                k.choose(Service::ApplicationProgress);
            },
            true,
        ),
        (
            "rating",
            |k| {
                k.choose(Service::ApplicationProgress);
                k.touch(Intent::SubmitTracking("AB123456".into()));
                let ticket = k.ticket();
                k.send(Event::ApplicationFound { ticket, result: Err(Failure::CentralUnavailable("down".into())) });
                k.touch(Intent::Done);
            },
            true,
        ),
    ];
    for (name, setup, survives) in table {
        let mut k = Kiosk::new();
        k.card();
        setup(&mut k);
        let capturing = k.state.session.as_ref().is_some_and(|s| s.flow.capturing());
        let out = k.send(Event::CardRemoved(IdentityDocument::IdCard));
        assert_eq!(k.state.in_session(), survives, "{name}");
        if survives {
            let s = k.state.session.as_ref().unwrap();
            assert!(s.citizen.is_none(), "{name}: the card holder's identity is dropped at once");
        } else {
            assert!(k.ended_with(EndReason::CardRemoved), "{name}");
            assert!(matches!(k.screen(), Screen::Welcome { notice: Some(Notice::CardRemoved), .. }), "{name}");
            assert!(!k.state.holds_personal_data(), "{name}");
        }
        assert_eq!(capturing, out.contains(&Effect::StopCapture), "{name}: camera stopped iff it ran");
    }
}

#[test]
fn committed_flow_finishes_after_card_removal_then_session_ends_at_rating() {
    let mut k = Kiosk::start(Service::QualificationCheck);
    k.capture_face();
    k.send(Event::CardRemoved(IdentityDocument::IdCard));
    k.answer_submission(Ok(submitted("T-42", Decision::PendingReview)));
    let Effect::Print { job: PrintJob::Receipt(receipt), .. } =
        k.effects.iter().rev().find(|e| matches!(e, Effect::Print { .. })).unwrap()
    else {
        panic!()
    };
    assert_eq!(receipt.masked_id.as_deref(), Some("1101**********002X"), "receipt keeps only a masked id");
    k.answer_print(Ok(()));
    k.touch(Intent::Done);
    k.touch(Intent::Rate { grade: RatingGrade::Satisfied, reasons: vec![] });
    assert!(!k.state.in_session(), "no card holder: the rating ends the session");
    assert!(!k.state.holds_personal_data());
}

#[test]
fn another_card_ends_the_previous_holders_session() {
    let mut k = Kiosk::start(Service::ContributionRecord);
    let ticket = k.ticket();
    k.send(Event::CardPlaced(Citizen::new("440524188001010014", "李四")));
    assert!(k.ended_with(EndReason::OtherCard));
    k.send(Event::ContributionsLoaded { ticket, result: Ok(contributions::sample()) });
    assert!(matches!(k.screen(), Screen::Menu { .. }), "the old holder's record never reaches the new one");
    assert!(!format!("{:?}", k.effects.last()).contains("Contributions {"));
}

/// (device, problem, services that must be unavailable)
#[test]
fn device_faults_disable_exactly_the_services_that_need_them() {
    use Service::*;
    let table = [
        (Device::Printer, Problem::PaperOut, vec![Certificate]),
        (Device::Printer, Problem::CoverOpen, vec![Certificate]),
        (Device::Printer, Problem::PaperNearEnd, vec![]),
        (Device::Camera, Problem::Missing, vec![QualificationCheck, UnemploymentCheckIn]),
        (
            Device::Reader,
            Problem::Error("SAM timeout".into()),
            vec![
                Certificate,
                QualificationCheck,
                ContributionRecord,
                PensionPayments,
                UnemploymentRegistration,
                UnemploymentCheckIn,
                FlexibleEmploymentRegistration,
                EmploymentSubsidy,
                JobSeekerRegistration,
            ],
        ),
        // A full disk: nothing may be submitted or go unaudited, so everything stops.
        (Device::Storage, Problem::Error("disk full".into()), Service::ALL.to_vec()),
        // Retired by operations (decommissioned): the terminal is out of service.
        (Device::Enrollment, Problem::Missing, Service::ALL.to_vec()),
    ];
    for (device, problem, down) in table {
        let mut k = Kiosk::new();
        k.device(device, Some(problem.clone()));
        let Screen::Welcome { tiles, .. } = k.screen() else { panic!() };
        for tile in tiles {
            let expect_down = down.contains(&tile.service);
            assert_eq!(tile.unavailable.is_some(), expect_down, "{device:?} {problem:?} {:?}", tile.service);
            if let Some(u) = &tile.unavailable {
                assert_eq!((u.device, &u.problem), (device, &problem), "the reason is shown");
            }
        }
        assert!(k.audits().contains(&&AuditRecord::DeviceFault { device, problem: Some(problem.clone()) }));
        k.device(device, None);
        let Screen::Welcome { tiles, .. } = k.screen() else { panic!() };
        assert!(tiles.iter().all(|t| t.unavailable.is_none()), "recovery re-enables");
    }
}

#[test]
fn a_full_disk_mid_registration_sends_the_citizen_back_before_anything_is_submitted() {
    let mut k = Kiosk::start(Service::UnemploymentRegistration);
    assert!(matches!(k.screen(), Screen::RegistrationForm { .. }));
    k.device(Device::Storage, Some(Problem::Error("disk full".into())));
    assert!(matches!(k.screen(), Screen::Menu { notice: Some(Notice::ServiceBecameUnavailable), .. }));
    k.touch(Intent::Choose(Service::UnemploymentRegistration));
    assert!(matches!(k.screen(), Screen::Menu { .. }), "cannot start again while the disk is full");
    assert_eq!(k.count(|e| matches!(e, Effect::Submit { .. })), 0);
}

#[test]
fn camera_lost_during_capture_stops_it_and_returns_to_the_menu() {
    let mut k = Kiosk::start(Service::QualificationCheck);
    let out = k.device(Device::Camera, Some(Problem::Missing));
    assert!(out.contains(&Effect::StopCapture));
    assert!(matches!(k.screen(), Screen::Menu { notice: Some(Notice::ServiceBecameUnavailable), .. }));
    k.touch(Intent::Choose(Service::QualificationCheck));
    assert!(matches!(k.screen(), Screen::Menu { .. }), "an unavailable service cannot be started");
    assert_eq!(k.count(|e| matches!(e, Effect::StartCapture { .. })), 1);
}

#[test]
fn debug_of_the_state_never_shows_personal_data() {
    let mut k = Kiosk::start(Service::ContributionRecord);
    let ticket = k.ticket();
    k.send(Event::ContributionsLoaded { ticket, result: Ok(contributions::sample()) });
    let shown = format!("{:?} {:?}", k.state, k.effects);
    assert!(!shown.contains(ID) && !shown.contains(NAME) && !shown.contains("某某科技"), "{shown}");
}

#[test]
fn service_chosen_before_the_card_asks_for_it_then_confirms_identity() {
    let mut k = Kiosk::new();
    k.touch(Intent::Choose(Service::ContributionRecord));
    assert_eq!(k.screen(), &Screen::PlaceCard { service: Service::ContributionRecord, problem: None });
    assert!(!k.state.holds_personal_data());
    k.send(Event::CardRefused { document: IdentityDocument::IdCard, problem: CardProblem::Expired });
    assert_eq!(
        k.screen(),
        &Screen::PlaceCard { service: Service::ContributionRecord, problem: Some(CardProblem::Expired) }
    );
    k.card();
    let Screen::Identity { service, masked_id, .. } = k.screen() else { panic!("{:?}", k.screen()) };
    assert_eq!((*service, masked_id.as_str()), (Service::ContributionRecord, "1101**********002X"));
    assert_eq!(k.count(|e| matches!(e, Effect::FetchContributions { .. })), 0, "nothing before confirmation");
    k.touch(Intent::Confirm);
    assert_eq!(k.count(|e| matches!(e, Effect::FetchContributions { .. })), 1);
    assert_eq!(
        k.audits().iter().filter(|a| matches!(a, AuditRecord::SessionStarted { .. })).count(),
        1,
        "choosing then placing the card is one session"
    );
}

#[test]
fn waiting_for_a_card_times_out_and_back_leaves() {
    let mut k = Kiosk::new();
    k.touch(Intent::Choose(Service::Certificate));
    k.advance(75_000);
    assert!(k.ended_with(EndReason::IdleTimeout));
    assert!(matches!(k.screen(), Screen::Welcome { notice: Some(Notice::TimedOut), .. }));
    k.touch(Intent::Choose(Service::Certificate));
    k.touch(Intent::Back);
    assert!(!k.state.in_session());
}

#[test]
fn identity_check_back_returns_to_the_menu_and_card_removal_ends_it() {
    let mut k = Kiosk::new();
    k.card();
    k.touch(Intent::Choose(Service::UnemploymentRegistration));
    assert!(matches!(k.screen(), Screen::Identity { service: Service::UnemploymentRegistration, .. }));
    k.touch(Intent::Back);
    assert!(matches!(k.screen(), Screen::Menu { holder: Some(_), .. }));
    k.touch(Intent::Choose(Service::UnemploymentRegistration));
    k.send(Event::CardRemoved(IdentityDocument::IdCard));
    assert!(k.ended_with(EndReason::CardRemoved));
    assert!(!k.state.holds_personal_data());
}

#[test]
fn an_unavailable_service_cannot_be_chosen_from_the_start_screen() {
    let mut k = Kiosk::new();
    k.device(Device::Camera, Some(Problem::Missing));
    k.touch(Intent::Choose(Service::UnemploymentCheckIn));
    assert!(matches!(k.screen(), Screen::Welcome { notice: Some(Notice::ServiceBecameUnavailable), .. }));
    assert!(!k.state.in_session());
}

#[test]
fn a_refused_card_on_the_start_screen_says_why_without_a_session() {
    let mut k = Kiosk::new();
    k.send(Event::CardRefused { document: IdentityDocument::IdCard, problem: CardProblem::WrongType });
    assert!(matches!(k.screen(), Screen::Welcome { notice: Some(Notice::Card(CardProblem::WrongType)), .. }));
    assert!(!k.state.in_session());
    assert!(
        k.audits().contains(&&AuditRecord::CardRefused {
            document: IdentityDocument::IdCard,
            problem: CardProblem::WrongType
        })
    );
}

#[test]
fn exit_leaves_a_drafting_flow_but_never_abandons_a_committed_one() {
    type Setup = fn(&mut Kiosk);
    let table: Vec<(&str, Setup, bool)> = vec![
        ("certificate choice", |k| k.choose(Service::Certificate), true),
        (
            "certificate being issued",
            |k| {
                k.choose(Service::Certificate);
                k.touch(Intent::ChooseCertificate {
                    kind: CertificateKind::AllInsurances,
                    period: CertificatePeriod::LastMonths(12),
                });
            },
            true,
        ),
        ("face capture", |k| k.choose(Service::QualificationCheck), true),
        ("registration form", |k| k.choose(Service::UnemploymentRegistration), true),
        (
            "submission in flight",
            |k| {
                k.choose(Service::QualificationCheck);
                k.capture_face();
            },
            false,
        ),
    ];
    for (name, setup, leaves) in table {
        let mut k = Kiosk::new();
        k.card();
        setup(&mut k);
        let capturing = k.state.session.as_ref().is_some_and(|s| s.flow.capturing());
        let out = k.touch(Intent::Exit);
        assert_eq!(!k.state.in_session(), leaves, "{name}");
        if leaves {
            assert!(k.ended_with(EndReason::Finished), "{name}");
            assert!(!k.state.holds_personal_data(), "{name}");
            assert_eq!(out.contains(&Effect::StopCapture), capturing, "{name}: the camera stops with the session");
        }
    }
}

#[test]
fn back_while_waiting_for_an_answer_returns_and_the_late_answer_is_ignored() {
    let mut k = Kiosk::start(Service::Certificate);
    k.touch(Intent::ChooseCertificate {
        kind: CertificateKind::AllInsurances,
        period: CertificatePeriod::LastMonths(6),
    });
    let ticket = k.ticket();
    k.touch(Intent::Back);
    assert!(matches!(k.screen(), Screen::Menu { .. }));
    k.send(Event::CertificateIssued { ticket, result: Ok(certificate::sample()) });
    assert!(matches!(k.screen(), Screen::Menu { .. }), "the late certificate is not shown");
}
