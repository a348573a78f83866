//! Job seeker registration: eligibility, the profile form, the openings, the receipt.

use super::*;

fn opening(code: &str) -> JobOpening {
    JobOpening {
        contact_code: code.into(),
        title: "超市理货员".into(),
        employer: "南宁市某超市".into(),
        kind: JobKind::Retail,
        district: District::Qingxiu,
        wage_min_fen: 300_000,
        wage_max_fen: 420_000,
    }
}

fn eligible(k: &mut Kiosk) {
    let ticket = k.ticket();
    k.send(Event::EligibilityChecked { ticket, result: Ok(Eligibility::Eligible(Offer::default())) });
}

fn profile(phone: &str, kind: Option<JobKind>, district: Option<District>) -> Intent {
    Intent::SubmitJobSeeker { phone: phone.into(), kind, district }
}

#[test]
fn the_profile_form_names_what_is_missing_and_sends_nothing_until_it_is_complete() {
    let table = [
        ("1381234", Some(JobKind::Retail), Some(District::Qingxiu), FormError::InvalidPhone),
        ("13812345678", None, Some(District::Qingxiu), FormError::MissingJobKind),
        ("13812345678", Some(JobKind::Retail), None, FormError::MissingDistrict),
    ];
    for (phone, kind, district, error) in table {
        let mut k = Kiosk::start(Service::JobSeekerRegistration);
        eligible(&mut k);
        assert_eq!(k.screen(), &Screen::JobSeekerForm { phone: String::new(), error: None });
        k.touch(profile(phone, kind, district));
        assert_eq!(k.screen(), &Screen::JobSeekerForm { phone: phone.into(), error: Some(error) });
        assert_eq!(k.count(|e| matches!(e, Effect::FetchOpenings { .. } | Effect::Submit { .. })), 0);
    }
}

#[test]
fn the_openings_are_shown_then_the_registration_prints_them_with_the_tracking_number() {
    let mut k = Kiosk::start(Service::JobSeekerRegistration);
    assert!(
        k.effects.iter().any(|e| matches!(e, Effect::CheckEligibility { service: Service::JobSeekerRegistration, .. }))
    );
    eligible(&mut k);
    k.touch(profile(" 13812345678 ", Some(JobKind::Retail), Some(District::Qingxiu)));
    assert!(
        k.effects
            .iter()
            .any(|e| matches!(e, Effect::FetchOpenings { kind: JobKind::Retail, district: District::Qingxiu, .. }))
    );
    assert_eq!(
        k.screen(),
        &Screen::Waiting { service: Service::JobSeekerRegistration, what: Waiting::LookingUpOpenings }
    );
    let found = vec![opening("JO-100001"), opening("JO-100002")];
    let ticket = k.ticket();
    k.send(Event::OpeningsLoaded { ticket, result: Ok(found.clone()) });
    assert_eq!(
        k.screen(),
        &Screen::Openings { kind: JobKind::Retail, district: District::Qingxiu, openings: found.clone(), found: true }
    );
    assert!(k.state.holds_personal_data(), "the profile holds the mobile number");
    k.touch(Intent::Confirm);
    let Some(Effect::Submit { submission: Submission::JobSeeker { phone, kind, district, .. }, .. }) =
        k.effects.iter().rev().find(|e| matches!(e, Effect::Submit { .. }))
    else {
        panic!("registered")
    };
    assert_eq!((phone.expose(), *kind, *district), ("13812345678", JobKind::Retail, District::Qingxiu));
    k.answer_submission(Ok(submitted("JS-20261205-0000031", Decision::Recorded)));
    let Some(Effect::Print { job: PrintJob::Receipt(receipt), .. }) =
        k.effects.iter().rev().find(|e| matches!(e, Effect::Print { .. }))
    else {
        panic!("a receipt is printed")
    };
    assert_eq!(receipt.openings, found);
    k.answer_print(Ok(()));
    k.touch(Intent::Done);
    assert_eq!(k.screen(), &Screen::Rating { service: Service::JobSeekerRegistration });
}

#[test]
fn openings_that_cannot_be_looked_up_do_not_stop_the_registration() {
    let mut k = Kiosk::start(Service::JobSeekerRegistration);
    eligible(&mut k);
    k.touch(profile("13812345678", Some(JobKind::Delivery), Some(District::Wuming)));
    let ticket = k.ticket();
    k.send(Event::OpeningsLoaded { ticket, result: Err(Failure::CentralUnavailable("timeout".into())) });
    let Screen::Openings { found: false, openings, .. } = k.screen() else { panic!("{:?}", k.screen()) };
    assert!(openings.is_empty());
    k.touch(Intent::Confirm);
    k.answer_submission(Ok(Delivery::Queued { reference: "4821093317462250".into() }));
    assert!(matches!(k.screen(), Screen::Receipt { delivery: Delivery::Queued { .. }, .. }));
}

#[test]
fn a_pensioner_is_told_why_and_a_second_registration_is_refused_at_central() {
    let mut k = Kiosk::start(Service::JobSeekerRegistration);
    let ticket = k.ticket();
    let reason = IneligibleReason::ReceivingPension;
    k.send(Event::EligibilityChecked { ticket, result: Ok(Eligibility::NotEligible(reason)) });
    assert_eq!(k.screen(), &Screen::NotEligible { service: Service::JobSeekerRegistration, reason });
    k.touch(profile("13812345678", Some(JobKind::Retail), Some(District::Qingxiu)));
    assert_eq!(k.count(|e| matches!(e, Effect::FetchOpenings { .. })), 0);

    let mut k = Kiosk::start(Service::JobSeekerRegistration);
    eligible(&mut k);
    k.touch(profile("13812345678", Some(JobKind::Retail), Some(District::Qingxiu)));
    let ticket = k.ticket();
    k.send(Event::OpeningsLoaded { ticket, result: Ok(Vec::new()) });
    k.touch(Intent::Confirm);
    let failure = Failure::NotEligible(IneligibleReason::AlreadySeekingWork);
    k.answer_submission(Err(failure.clone()));
    assert_eq!(k.screen(), &Screen::Failed { service: Service::JobSeekerRegistration, reason: failure });
}

#[test]
fn taking_the_card_before_registering_forgets_the_profile() {
    let mut k = Kiosk::start(Service::JobSeekerRegistration);
    eligible(&mut k);
    k.touch(profile("13812345678", Some(JobKind::Retail), Some(District::Qingxiu)));
    let ticket = k.ticket();
    k.send(Event::OpeningsLoaded { ticket, result: Ok(vec![opening("JO-1")]) });
    k.send(Event::CardRemoved(IdentityDocument::IdCard));
    assert!(k.ended_with(EndReason::CardRemoved));
    assert!(!k.state.holds_personal_data());
    assert_eq!(k.count(|e| matches!(e, Effect::Submit { .. })), 0);
}
