//! Certificate printing, one row per way it can go.

use super::*;
use crate::{CertificateStatus, MonthRange, YearMonth};

pub fn sample() -> IssuedCertificate {
    IssuedCertificate {
        number: "SI-2026-000001".into(),
        holder: PersonName::new(NAME),
        holder_id: IdNumber::new(ID),
        kind: CertificateKind::AllInsurances,
        period: MonthRange { from: YearMonth { year: 2019, month: 1 }, to: YearMonth { year: 2026, month: 11 } },
        months_covered: 94,
        current_payer: Some("南宁市公交集团".into()),
        status: CertificateStatus::Contributing,
        rows: Vec::new(),
        total_fen: 0,
        issued_on: time::macros::date!(2026 - 11 - 21),
        verification_code: "7KQ2-9XPA".into(),
        verify_url: "https://central.example/verify/7KQ2-9XPA".into(),
    }
}

enum Then {
    PrintedOk,
    PrintFailed(Problem),
    Refused(Failure),
}

#[test]
fn certificate_flow_table() {
    let table = [
        ("issued, previewed, printed", Ok(sample()), Then::PrintedOk),
        ("paper runs out mid-job", Ok(sample()), Then::PrintFailed(Problem::PaperOut)),
        ("bad server signature is never printed", Err(Failure::BadSignature), Then::Refused(Failure::BadSignature)),
        (
            "central unreachable",
            Err(Failure::CentralUnavailable("timeout".into())),
            Then::Refused(Failure::CentralUnavailable("timeout".into())),
        ),
    ];
    for (name, issued, then) in table {
        let mut k = Kiosk::start(Service::Certificate);
        assert!(matches!(k.screen(), Screen::CertificateChoice { .. }), "{name}");
        k.touch(Intent::ChooseCertificate {
            kind: CertificateKind::AllInsurances,
            period: CertificatePeriod::LastMonths(12),
        });
        let ticket = k.ticket();
        assert!(matches!(
            k.effects.last(),
            Some(Effect::Show(Screen::Waiting { service: Service::Certificate, what: Waiting::IssuingCertificate }))
        ));
        assert!(k.effects.iter().any(|e| matches!(e, Effect::IssueCertificate { citizen, kind: CertificateKind::AllInsurances, .. } if citizen.id_number.expose() == ID)));
        k.send(Event::CertificateIssued { ticket, result: issued });
        match then {
            Then::Refused(failure) => {
                assert_eq!(
                    k.screen(),
                    &Screen::Failed { service: Service::Certificate, reason: failure.clone() },
                    "{name}"
                );
                assert_eq!(k.count(|e| matches!(e, Effect::Print { .. })), 0, "{name}: nothing printed");
                let rejected = k.audits().iter().any(|a| matches!(a, AuditRecord::CertificateRejected { .. }));
                assert_eq!(rejected, failure == Failure::BadSignature, "{name}");
            }
            Then::PrintedOk | Then::PrintFailed(_) => {
                assert!(matches!(k.screen(), Screen::CertificatePreview { .. }), "{name}");
                k.touch(Intent::Print);
                let result = match &then {
                    Then::PrintFailed(p) => Err(p.clone()),
                    _ => Ok(()),
                };
                k.answer_print(result.clone());
                assert_eq!(
                    k.screen(),
                    &Screen::Printed { service: Service::Certificate, result: result.clone() },
                    "{name}"
                );
                assert!(
                    k.audits()
                        .iter()
                        .any(|a| matches!(a, AuditRecord::PrintResult { ok, .. } if *ok == result.is_ok()))
                );
            }
        }
        k.touch(Intent::Done);
        assert_eq!(k.screen(), &Screen::Rating { service: Service::Certificate }, "{name}");
    }
}

#[test]
fn printer_failing_at_preview_disables_printing_with_the_reason() {
    let mut k = Kiosk::start(Service::Certificate);
    k.touch(Intent::ChooseCertificate {
        kind: CertificateKind::PensionReceipt,
        period: CertificatePeriod::LastMonths(12),
    });
    let ticket = k.ticket();
    k.send(Event::CertificateIssued { ticket, result: Ok(sample()) });
    k.device(Device::Printer, Some(Problem::CoverOpen));
    assert!(matches!(k.screen(), Screen::Menu { notice: Some(Notice::ServiceBecameUnavailable), tiles, .. }
        if tiles[0].unavailable == Some(Unavailable { device: Device::Printer, problem: Problem::CoverOpen })));
    assert!(!k.state.session.as_ref().unwrap().flow.holds_personal_data(), "the preview is dropped");
}

#[test]
fn back_from_preview_returns_to_the_menu() {
    let mut k = Kiosk::start(Service::Certificate);
    k.touch(Intent::ChooseCertificate {
        kind: CertificateKind::AllInsurances,
        period: CertificatePeriod::LastMonths(12),
    });
    let ticket = k.ticket();
    k.send(Event::CertificateIssued { ticket, result: Ok(sample()) });
    k.touch(Intent::Back);
    assert!(matches!(k.screen(), Screen::Menu { .. }));
    assert!(matches!(k.state.session.as_ref().unwrap().flow, Flow::Menu));
}

#[test]
fn every_certificate_kind_is_offered_and_asked_for_as_chosen() {
    let k = Kiosk::start(Service::Certificate);
    let Screen::CertificateChoice { kinds, .. } = k.screen() else { panic!("{:?}", k.screen()) };
    assert_eq!(kinds, &CertificateKind::ALL.to_vec());
    for kind in CertificateKind::ALL {
        let mut k = Kiosk::start(Service::Certificate);
        k.touch(Intent::ChooseCertificate { kind, period: CertificatePeriod::FullHistory });
        let asked: Vec<_> = k
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::IssueCertificate { kind, period, .. } => Some((*kind, *period)),
                _ => None,
            })
            .collect();
        assert_eq!(asked, vec![(kind, CertificatePeriod::FullHistory)], "{kind:?}");
    }
}
