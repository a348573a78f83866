//! Application progress by tracking number; no card needed.

use super::*;

#[test]
fn progress_flow_table() {
    let found = progress_of("QC-12345678");
    type Reply = Option<Result<Option<ApplicationProgress>, Failure>>;
    type Row = (&'static str, &'static str, Reply, fn(&Screen) -> bool);
    let table: [Row; 4] = [
        ("found", "qc-12345678", Some(Ok(Some(found.clone()))), |s| matches!(s, Screen::Progress(_))),
        ("not found", "QC-00000000", Some(Ok(None)), |s| {
            matches!(s, Screen::TrackingEntry { error: Some(FormError::NotFound), .. })
        }),
        ("central down", "QC-00000001", Some(Err(Failure::CentralUnavailable("refused".into()))), |s| {
            matches!(s, Screen::Failed { .. })
        }),
        ("malformed", "12", None, |s| {
            matches!(s, Screen::TrackingEntry { error: Some(FormError::InvalidTracking), .. })
        }),
    ];
    for (name, typed, reply, expect) in table {
        let mut k = Kiosk::new();
        k.touch(Intent::Choose(Service::ApplicationProgress));
        assert!(k.state.in_session(), "{name}: progress needs no card");
        assert!(!k.state.holds_personal_data());
        k.touch(Intent::SubmitTracking(typed.into()));
        if let Some(result) = reply {
            let Some(Effect::LookUpApplication { tracking, .. }) =
                k.effects.iter().rev().find(|e| matches!(e, Effect::LookUpApplication { .. }))
            else {
                panic!()
            };
            assert_eq!(tracking, &typed.to_ascii_uppercase());
            let ticket = k.ticket();
            k.send(Event::ApplicationFound { ticket, result });
        }
        assert!(expect(k.screen()), "{name}: {:?}", k.screen());
    }
}

#[test]
fn progress_without_card_ends_at_welcome_after_rating() {
    let mut k = Kiosk::new();
    k.touch(Intent::Choose(Service::ApplicationProgress));
    k.touch(Intent::Back);
    assert!(!k.state.in_session(), "back without a card returns to the start screen");
    k.touch(Intent::Choose(Service::ApplicationProgress));
    k.touch(Intent::SubmitTracking("AB123456".into()));
    let ticket = k.ticket();
    k.send(Event::ApplicationFound { ticket, result: Ok(Some(progress_of("AB123456"))) });
    k.touch(Intent::Done);
    k.touch(Intent::Rate { grade: RatingGrade::Neutral, reasons: vec![] });
    assert!(!k.state.in_session());
    assert!(matches!(k.screen(), Screen::Welcome { notice: Some(Notice::ThankYou), .. }));
}

#[test]
fn card_placed_during_progress_starts_the_holders_own_session() {
    let mut k = Kiosk::new();
    k.touch(Intent::Choose(Service::ApplicationProgress));
    k.card();
    assert!(matches!(k.screen(), Screen::Menu { holder: Some(_), .. }));
    assert_eq!(k.count(|e| matches!(e, Effect::Audit(AuditRecord::SessionStarted { .. }))), 2);
}
