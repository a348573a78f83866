//! Contribution record: view, optional print.

use super::*;

pub fn sample() -> ContributionRecord {
    ContributionRecord {
        years: (2019..=2025)
            .map(|year| ContributionYear {
                year,
                months_paid: 12,
                base_fen: 650_000,
                personal_fen: 624_000,
                employer: "某某科技有限公司".into(),
            })
            .collect(),
    }
}

#[test]
fn contributions_flow_table() {
    // (name, printer problem before viewing, print?, print result, final screen is Printed)
    let table = [
        ("view only", None, false, None),
        ("view and print", None, true, Some(Ok(()))),
        ("print fails", None, true, Some(Err(Problem::PaperOut))),
        ("printer down: print disabled", Some(Problem::PaperOut), true, None),
    ];
    for (name, printer, print, result) in table {
        let mut k = Kiosk::new();
        k.device(Device::Printer, printer.clone());
        k.card();
        k.choose(Service::ContributionRecord);
        assert_eq!(
            k.screen(),
            &Screen::Waiting { service: Service::ContributionRecord, what: Waiting::LoadingContributions }
        );
        let ticket = k.ticket();
        k.send(Event::ContributionsLoaded { ticket, result: Ok(sample()) });
        let Screen::Contributions { record, can_print, .. } = k.screen().clone() else { panic!("{name}") };
        assert_eq!(record.years.len(), 7);
        assert_eq!(can_print.is_some(), printer.is_some(), "{name}");
        if print {
            k.touch(Intent::Print);
        }
        match result {
            Some(r) => {
                let Some(Effect::Print { job: PrintJob::Contributions { masked_id, .. }, .. }) =
                    k.effects.iter().rev().find(|e| matches!(e, Effect::Print { .. }))
                else {
                    panic!("{name}")
                };
                assert_eq!(masked_id, "1101**********002X");
                k.answer_print(r.clone());
                assert_eq!(k.screen(), &Screen::Printed { service: Service::ContributionRecord, result: r }, "{name}");
            }
            None => {
                assert_eq!(k.count(|e| matches!(e, Effect::Print { .. })), 0, "{name}");
                assert!(matches!(k.screen(), Screen::Contributions { .. }), "{name}");
            }
        }
        k.touch(Intent::Done);
        assert_eq!(k.screen(), &Screen::Rating { service: Service::ContributionRecord }, "{name}");
    }
}

#[test]
fn central_failure_while_loading_is_shown() {
    let mut k = Kiosk::start(Service::ContributionRecord);
    let ticket = k.ticket();
    k.send(Event::ContributionsLoaded { ticket, result: Err(Failure::CentralUnavailable("503".into())) });
    assert!(matches!(k.screen(), Screen::Failed { service: Service::ContributionRecord, .. }));
    k.touch(Intent::Back);
    assert!(matches!(k.screen(), Screen::Menu { .. }));
}
