//! Unemployment registration (form) and monthly check-in (face).

use super::*;

#[test]
fn registration_form_validation_table() {
    let table = [
        ("12345", Some(UnemploymentReason::Resigned), Some(FormError::InvalidPhone)),
        ("1381234567a", Some(UnemploymentReason::Resigned), Some(FormError::InvalidPhone)),
        ("13812345678", None, Some(FormError::MissingReason)),
        (" 13812345678 ", Some(UnemploymentReason::ContractEnded), None),
    ];
    for (phone, reason, error) in table {
        let mut k = Kiosk::start(Service::UnemploymentRegistration);
        k.touch(Intent::SubmitRegistration { phone: phone.into(), reason });
        match error {
            Some(e) => {
                assert!(
                    matches!(k.screen(), Screen::RegistrationForm { error: Some(got), .. } if *got == e),
                    "{phone}"
                );
                assert_eq!(k.count(|e| matches!(e, Effect::Submit { .. })), 0);
            }
            None => {
                let Some(Effect::Submit { submission: Submission::Registration { phone, reason, .. }, .. }) =
                    k.effects.iter().rev().find(|e| matches!(e, Effect::Submit { .. }))
                else {
                    panic!()
                };
                assert_eq!(phone.expose(), "13812345678");
                assert_eq!(*reason, UnemploymentReason::ContractEnded);
                k.answer_submission(Ok(submitted("UR-5", Decision::Recorded)));
                k.answer_print(Ok(()));
                assert!(matches!(k.screen(), Screen::Receipt { receipt: ReceiptState::Printed, .. }));
                k.touch(Intent::Done);
                assert_eq!(k.screen(), &Screen::Rating { service: Service::UnemploymentRegistration });
            }
        }
    }
}

#[test]
fn monthly_check_in_by_face_is_queued_when_offline() {
    let mut k = Kiosk::start(Service::UnemploymentCheckIn);
    assert!(matches!(k.screen(), Screen::Capture { service: Service::UnemploymentCheckIn, .. }));
    k.capture_face();
    assert!(k.effects.iter().any(|e| matches!(e, Effect::Submit { submission: Submission::CheckIn { .. }, .. })));
    k.answer_submission(Ok(Delivery::Queued { reference: "L-0001".into() }));
    let Screen::Receipt { delivery, .. } = k.screen() else { panic!() };
    assert_eq!(delivery, &Delivery::Queued { reference: "L-0001".into() });
}

#[test]
fn check_in_needs_the_camera_but_registration_does_not() {
    let mut k = Kiosk::new();
    k.device(Device::Camera, Some(Problem::Missing));
    k.card();
    let Screen::Menu { tiles, .. } = k.screen() else { panic!() };
    let check_in = tiles.iter().find(|t| t.service == Service::UnemploymentCheckIn).unwrap();
    assert_eq!(check_in.unavailable, Some(Unavailable { device: Device::Camera, problem: Problem::Missing }));
    k.touch(Intent::Choose(Service::UnemploymentCheckIn));
    assert_eq!(k.count(|e| matches!(e, Effect::StartCapture { .. })), 0);
    k.choose(Service::UnemploymentRegistration);
    assert!(matches!(k.screen(), Screen::RegistrationForm { .. }));
}
