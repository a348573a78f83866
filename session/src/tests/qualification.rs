//! Pension qualification check: every outcome the receipt can state.

use super::*;
use crate::FaceHint;

#[test]
fn qualification_flow_table() {
    let table = [
        ("approved", Ok::<_, Failure>(submitted("QC-1", Decision::Approved)), Some(Ok(())), ReceiptState::Printed),
        ("pending review", Ok(submitted("QC-2", Decision::PendingReview)), Some(Ok(())), ReceiptState::Printed),
        ("rejected", Ok(submitted("QC-3", Decision::Rejected)), Some(Ok(())), ReceiptState::Printed),
        (
            "queued while offline",
            Ok(Delivery::Queued { reference: "L-7F3A".into() }),
            Some(Ok(())),
            ReceiptState::Printed,
        ),
        (
            "receipt printer jams",
            Ok(submitted("QC-4", Decision::Approved)),
            Some(Err(Problem::CutterError)),
            ReceiptState::ScreenOnly(Some(Problem::CutterError)),
        ),
    ];
    for (name, delivery, print, receipt) in table {
        let mut k = Kiosk::start(Service::QualificationCheck);
        assert!(matches!(k.screen(), Screen::Capture { service: Service::QualificationCheck, hint: None }), "{name}");
        k.capture_face();
        let Some(Effect::Submit { submission: Submission::Qualification { citizen, face }, .. }) =
            k.effects.iter().rev().find(|e| matches!(e, Effect::Submit { .. }))
        else {
            panic!("{name}")
        };
        assert_eq!(citizen.id_number.expose(), ID);
        assert_eq!(face.jpeg[..2], [0xFF, 0xD8]);
        assert_eq!(k.screen(), &Screen::Waiting { service: Service::QualificationCheck, what: Waiting::Submitting });
        let delivery = delivery.unwrap();
        k.answer_submission(Ok(delivery.clone()));
        assert!(matches!(k.screen(), Screen::Receipt { receipt: ReceiptState::Printing, .. }), "{name}");
        if let Some(result) = print {
            k.answer_print(result);
        }
        assert_eq!(
            k.screen(),
            &Screen::Receipt { service: Service::QualificationCheck, delivery: delivery.clone(), receipt, terms: None },
            "{name}"
        );
        let delivered = matches!(delivery, Delivery::Submitted { .. });
        assert!(
            k.audits().iter().any(|a| matches!(a, AuditRecord::Submitted { delivered: d, .. } if *d == delivered)),
            "{name}"
        );
        k.touch(Intent::Done);
        assert_eq!(k.screen(), &Screen::Rating { service: Service::QualificationCheck });
    }
}

#[test]
fn capture_guidance_failure_and_retry() {
    let mut k = Kiosk::start(Service::QualificationCheck);
    let first = k.ticket();
    let closer = CaptureHint { guide: FaceHint::MoveCloser, countdown: None, liveness: None };
    k.send(Event::CaptureHint { ticket: first, hint: closer });
    assert_eq!(k.screen(), &Screen::Capture { service: Service::QualificationCheck, hint: Some(closer) });
    k.send(Event::Captured { ticket: first, result: Err("liveness challenge failed".into()) });
    assert!(matches!(k.screen(), Screen::Failed { reason: Failure::CaptureFailed(_), .. }));
    k.touch(Intent::RetryCapture);
    assert_ne!(k.ticket(), first, "a retry is a new capture");
    let dark = CaptureHint { guide: FaceHint::TooDark, countdown: None, liveness: None };
    k.send(Event::CaptureHint { ticket: first, hint: dark });
    assert_eq!(
        k.screen(),
        &Screen::Capture { service: Service::QualificationCheck, hint: None },
        "hints of the old capture are ignored"
    );
    k.capture_face();
    assert_eq!(k.count(|e| matches!(e, Effect::Submit { .. })), 1);
}

#[test]
fn printer_down_means_the_screen_is_the_receipt() {
    let mut k = Kiosk::new();
    k.device(Device::Printer, Some(Problem::PaperOut));
    k.card();
    k.choose(Service::QualificationCheck);
    k.capture_face();
    k.answer_submission(Ok(submitted("QC-9", Decision::Approved)));
    assert!(matches!(k.screen(), Screen::Receipt { receipt: ReceiptState::ScreenOnly(Some(Problem::PaperOut)), .. }));
    assert_eq!(k.count(|e| matches!(e, Effect::Print { .. })), 0);
}

#[test]
fn outbox_refusal_is_shown_and_audited() {
    let mut k = Kiosk::start(Service::QualificationCheck);
    k.capture_face();
    k.answer_submission(Err(Failure::NotStored("disk full".into())));
    assert!(matches!(k.screen(), Screen::Failed { reason: Failure::NotStored(_), .. }));
    assert!(k.audits().iter().any(|a| matches!(a, AuditRecord::SubmissionFailed { .. })));
    k.touch(Intent::Done);
    assert_eq!(k.screen(), &Screen::Rating { service: Service::QualificationCheck });
}
