//! Pension payment record: shown, printed on request, refused with the reason.

use super::*;

fn record() -> PaymentRecord {
    let payments = (1..=12)
        .map(|m| PensionPayment {
            month: YearMonth::new(2026, m).unwrap(),
            amount_fen: 312_000,
            paid_on: time::Date::from_calendar_date(2026, time::Month::try_from(m).unwrap(), 1).unwrap(),
        })
        .collect();
    PaymentRecord { payments }
}

fn loaded(k: &mut Kiosk, result: Result<PaymentRecord, Failure>) {
    let ticket = k.ticket();
    k.send(Event::PensionPaymentsLoaded { ticket, result });
}

#[test]
fn a_pensioner_sees_the_record_prints_it_and_rates() {
    let mut k = Kiosk::start(Service::PensionPayments);
    assert_eq!(k.screen(), &Screen::Waiting { service: Service::PensionPayments, what: Waiting::LoadingPayments });
    assert!(
        k.effects
            .iter()
            .any(|e| matches!(e, Effect::FetchPensionPayments { citizen, .. } if citizen.id_number.expose() == ID))
    );
    loaded(&mut k, Ok(record()));
    let Screen::PensionPayments { record: shown, masked_id, can_print: None, .. } = k.screen() else {
        panic!("{:?}", k.screen())
    };
    assert_eq!(shown.payments.len(), 12);
    assert_eq!(masked_id, &mask_id(ID));
    assert!(k.state.holds_personal_data());
    k.touch(Intent::Print);
    let Some(Effect::Print { job: PrintJob::PensionPayments { record: printed, .. }, .. }) =
        k.effects.iter().rev().find(|e| matches!(e, Effect::Print { .. }))
    else {
        panic!("the record goes to the printer")
    };
    assert_eq!(printed, &record());
    k.answer_print(Ok(()));
    assert_eq!(k.screen(), &Screen::Printed { service: Service::PensionPayments, result: Ok(()) });
    k.touch(Intent::Done);
    assert_eq!(k.screen(), &Screen::Rating { service: Service::PensionPayments });
}

#[test]
fn a_person_without_a_pension_is_told_why_and_nothing_is_printed() {
    let mut k = Kiosk::start(Service::PensionPayments);
    loaded(&mut k, Err(Failure::NotEligible(IneligibleReason::NotAPensioner)));
    assert_eq!(
        k.screen(),
        &Screen::NotEligible { service: Service::PensionPayments, reason: IneligibleReason::NotAPensioner }
    );
    k.touch(Intent::Print);
    assert_eq!(k.count(|e| matches!(e, Effect::Print { .. })), 0);
    k.touch(Intent::Done);
    assert_eq!(k.screen(), &Screen::Rating { service: Service::PensionPayments });
}

#[test]
fn without_paper_the_record_is_shown_and_the_print_button_says_why() {
    let mut k = Kiosk::new();
    k.device(Device::Printer, Some(Problem::PaperOut));
    k.card();
    k.choose(Service::PensionPayments);
    loaded(&mut k, Ok(record()));
    let Screen::PensionPayments { can_print: Some(u), .. } = k.screen() else { panic!("{:?}", k.screen()) };
    assert_eq!(u.problem, Problem::PaperOut);
    k.touch(Intent::Print);
    assert_eq!(k.count(|e| matches!(e, Effect::Print { .. })), 0);
}

#[test]
fn taking_the_card_while_the_record_is_on_screen_ends_the_session_and_forgets_it() {
    let mut k = Kiosk::start(Service::PensionPayments);
    loaded(&mut k, Ok(record()));
    k.send(Event::CardRemoved(IdentityDocument::IdCard));
    assert!(k.ended_with(EndReason::CardRemoved));
    assert!(!k.state.holds_personal_data());
    assert!(matches!(k.screen(), Screen::Welcome { .. }));
}

#[test]
fn a_late_answer_for_an_ended_session_never_reaches_the_next_person() {
    let mut k = Kiosk::start(Service::PensionPayments);
    let stale = k.ticket();
    k.touch(Intent::Back);
    k.choose(Service::PensionPayments);
    k.send(Event::PensionPaymentsLoaded { ticket: stale, result: Ok(record()) });
    assert!(matches!(k.screen(), Screen::Waiting { .. }), "{:?}", k.screen());
}
