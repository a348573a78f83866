//! Flexible employment registration and the "4050" employment subsidy: the registry's
//! answer first, then the terms, then the submission and its receipt.

use super::*;

fn band(percent: u16) -> ContributionBand {
    let base_fen = 700_000 * i64::from(percent) / 100;
    ContributionBand { percent, base_fen, monthly_fen: base_fen * 29 / 100 }
}

fn due() -> time::Date {
    time::macros::date!(2027 - 01 - 25)
}

fn flexible_offer() -> Offer {
    Offer { bands: [60, 100, 300].map(band).to_vec(), first_payment_due: Some(due()), subsidy: None }
}

fn checked(k: &mut Kiosk, result: Result<Eligibility, Failure>) {
    let ticket = k.ticket();
    k.send(Event::EligibilityChecked { ticket, result });
}

#[test]
fn flexible_registration_shows_the_bands_needs_one_and_prints_the_terms() {
    let mut k = Kiosk::start(Service::FlexibleEmploymentRegistration);
    assert!(
        k.effects
            .iter()
            .any(|e| matches!(e, Effect::CheckEligibility { service: Service::FlexibleEmploymentRegistration, .. }))
    );
    checked(&mut k, Ok(Eligibility::Eligible(flexible_offer())));
    let Screen::FlexibleOffer { bands, first_payment_due, error: None } = k.screen() else {
        panic!("{:?}", k.screen())
    };
    assert_eq!((bands.len(), *first_payment_due), (3, Some(due())));
    // No band, or one the offer does not have: the form says so, nothing is sent.
    for percent in [None, Some(80)] {
        k.touch(Intent::SubmitFlexibleRegistration { percent });
        assert!(matches!(k.screen(), Screen::FlexibleOffer { error: Some(FormError::MissingBand), .. }));
    }
    assert_eq!(k.count(|e| matches!(e, Effect::Submit { .. })), 0);
    k.touch(Intent::SubmitFlexibleRegistration { percent: Some(100) });
    let Some(Effect::Submit { submission: Submission::FlexibleEmployment { band: sent, .. }, .. }) =
        k.effects.iter().rev().find(|e| matches!(e, Effect::Submit { .. }))
    else {
        panic!("submitted")
    };
    assert_eq!(*sent, band(100));
    k.answer_submission(Ok(submitted("FE-20261205-0000017", Decision::Recorded)));
    let terms = Some(Terms { monthly_fen: band(100).monthly_fen, first_payment_due: Some(due()) });
    let Some(Effect::Print { job: PrintJob::Receipt(receipt), .. }) =
        k.effects.iter().rev().find(|e| matches!(e, Effect::Print { .. }))
    else {
        panic!("a receipt is printed")
    };
    assert_eq!(receipt.terms, terms);
    assert_eq!(receipt.masked_id.as_deref(), Some(mask_id(ID).as_str()));
    k.answer_print(Ok(()));
    assert!(matches!(k.screen(), Screen::Receipt { receipt: ReceiptState::Printed, terms: t, .. } if *t == terms));
    k.touch(Intent::Done);
    assert_eq!(k.screen(), &Screen::Rating { service: Service::FlexibleEmploymentRegistration });
}

#[test]
fn every_refusal_is_shown_with_its_reason_and_nothing_is_submitted() {
    for service in [Service::FlexibleEmploymentRegistration, Service::EmploymentSubsidy] {
        for reason in IneligibleReason::ALL {
            let mut k = Kiosk::start(service);
            checked(&mut k, Ok(Eligibility::NotEligible(reason)));
            assert_eq!(k.screen(), &Screen::NotEligible { service, reason });
            k.touch(Intent::Confirm);
            k.touch(Intent::SubmitFlexibleRegistration { percent: Some(60) });
            assert_eq!(k.count(|e| matches!(e, Effect::Submit { .. })), 0);
            k.touch(Intent::Done);
            assert_eq!(k.screen(), &Screen::Rating { service });
        }
    }
}

#[test]
fn the_subsidy_is_shown_then_applied_for_and_queued_when_offline() {
    let mut k = Kiosk::start(Service::EmploymentSubsidy);
    let offer = Offer { subsidy: Some((81_200, 36)), ..Offer::default() };
    checked(&mut k, Ok(Eligibility::Eligible(offer)));
    assert_eq!(k.screen(), &Screen::SubsidyOffer { monthly_fen: 81_200, months: 36 });
    // The flexible form's intent does nothing here.
    k.touch(Intent::SubmitFlexibleRegistration { percent: Some(60) });
    assert_eq!(k.count(|e| matches!(e, Effect::Submit { .. })), 0);
    k.touch(Intent::Confirm);
    assert!(
        k.effects.iter().any(|e| matches!(e, Effect::Submit { submission: Submission::EmploymentSubsidy { .. }, .. }))
    );
    k.answer_submission(Ok(Delivery::Queued { reference: "4821093317462250".into() }));
    let Screen::Receipt { delivery: Delivery::Queued { .. }, terms: None, .. } = k.screen() else {
        panic!("{:?}", k.screen())
    };
}

#[test]
fn a_refusal_at_submission_is_shown_with_the_reason() {
    let mut k = Kiosk::start(Service::EmploymentSubsidy);
    checked(&mut k, Ok(Eligibility::Eligible(Offer { subsidy: Some((1, 1)), ..Offer::default() })));
    k.touch(Intent::Confirm);
    let failure = Failure::NotEligible(IneligibleReason::AlreadyApplied);
    k.answer_submission(Err(failure.clone()));
    assert_eq!(k.screen(), &Screen::Failed { service: Service::EmploymentSubsidy, reason: failure });
}

#[test]
fn an_offer_without_terms_or_a_failed_check_is_a_failure_not_a_form() {
    let mut k = Kiosk::start(Service::FlexibleEmploymentRegistration);
    checked(&mut k, Ok(Eligibility::Eligible(Offer::default())));
    assert!(matches!(k.screen(), Screen::Failed { reason: Failure::CentralUnavailable(_), .. }));
    let mut k = Kiosk::start(Service::EmploymentSubsidy);
    checked(&mut k, Err(Failure::CentralUnavailable("timeout".into())));
    assert!(matches!(k.screen(), Screen::Failed { reason: Failure::CentralUnavailable(_), .. }));
    k.touch(Intent::Back);
    assert!(matches!(k.screen(), Screen::Menu { .. }));
}

#[test]
fn walking_away_from_the_offer_forgets_it_and_exit_is_allowed_before_submitting() {
    let mut k = Kiosk::start(Service::FlexibleEmploymentRegistration);
    checked(&mut k, Ok(Eligibility::Eligible(flexible_offer())));
    assert!(k.state.holds_personal_data());
    k.advance(75_000);
    assert!(k.ended_with(EndReason::IdleTimeout));
    assert!(!k.state.holds_personal_data());

    let mut k = Kiosk::start(Service::EmploymentSubsidy);
    checked(&mut k, Ok(Eligibility::Eligible(Offer { subsidy: Some((1, 1)), ..Offer::default() })));
    k.touch(Intent::Exit);
    assert!(k.ended_with(EndReason::Finished));
    assert_eq!(k.count(|e| matches!(e, Effect::Submit { .. })), 0);
}

#[test]
fn a_committed_registration_finishes_when_the_card_is_taken() {
    let mut k = Kiosk::start(Service::FlexibleEmploymentRegistration);
    checked(&mut k, Ok(Eligibility::Eligible(flexible_offer())));
    k.touch(Intent::SubmitFlexibleRegistration { percent: Some(60) });
    k.send(Event::CardRemoved(IdentityDocument::IdCard));
    assert!(!k.ended_with(EndReason::CardRemoved));
    k.answer_submission(Ok(submitted("FE-1", Decision::Recorded)));
    assert!(matches!(k.screen(), Screen::Receipt { .. }));
}
