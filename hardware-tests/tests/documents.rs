//! The second document and the receipt scanner, end to end: a social security card in a
//! virtual PC/SC reader (the real pcscd and vsmartcard-vpcd, the card simulated on vpcd's
//! socket) and a serial scanner on a pseudo-terminal, against the real central service.
// Test helpers: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::panic)]

use central::registry::{APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, WORKER_NAME};
use hardware_tests::Rig;
use session::{
    CardProblem, CertificateKind, CertificatePeriod, Delivery, Intent, Notice, ReceiptState, Screen, Service,
};
use simulation::{DeviceSettings, Want, social_security_cards};

async fn rig(social_security_card: bool, scanner: bool) -> Rig {
    let want = if social_security_card { Want::Yes } else { Want::No };
    Rig::start_with_devices(DeviceSettings { social_security_card: want, scanner, ..DeviceSettings::default() })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_social_security_card_prints_a_certificate_with_the_holders_name() {
    let rig = rig(true, false).await;
    let card = rig.social_security.clone().unwrap();
    let mark = rig.screens.count();
    assert!(card.insert(social_security_cards::WORKER));
    let menu = rig.screens.wait_for(mark, |s| matches!(s, Screen::Menu { .. })).await;
    assert!(matches!(menu, Screen::Menu { masked_id: Some(ref id), .. } if id == "4501**********0032"), "{menu:?}");
    rig.touch(Intent::Choose(Service::Certificate)).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Identity { .. })).await;
    rig.touch(Intent::Confirm).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::CertificateChoice { .. })).await;
    rig.touch(Intent::ChooseCertificate {
        kind: CertificateKind::AllInsurances,
        period: CertificatePeriod::LastMonths(12),
    })
    .await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::CertificatePreview { .. })).await;
    rig.touch(Intent::Print).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Printed { result: Ok(()), .. })).await;
    let printed = rig.printer.printed().join("\n");
    assert!(printed.contains(WORKER_NAME) && printed.contains("4501**********0032"), "{printed}");
    // The audit trail says which document was used, masked.
    let audit = rig.terminal.audit.lock().unwrap().unshipped(1000).unwrap();
    assert!(
        audit.iter().any(|r| r.action == "card.read.social_security_card"
            && r.subject_masked.as_deref() == Some("4501**********0032")),
        "{audit:?}"
    );
    // Taken out after printing (a committed flow), the card's holder is forgotten and the
    // session ends after the rating, as with an ID card.
    card.remove();
    let mark = rig.screens.count();
    rig.touch(Intent::Done).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Rating { .. })).await;
    rig.touch(Intent::SkipRating).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Welcome { .. })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocked_expired_and_protected_social_security_cards_are_refused_with_the_reason() {
    let rig = rig(true, false).await;
    let card = rig.social_security.clone().unwrap();
    for (label, problem) in [
        (social_security_cards::BLOCKED, CardProblem::Blocked),
        (social_security_cards::EXPIRED, CardProblem::Expired),
        (social_security_cards::PROTECTED, CardProblem::Unsupported),
    ] {
        let mark = rig.screens.count();
        assert!(card.insert(label), "{label}");
        let shown =
            rig.screens.wait_for(mark, |s| matches!(s, Screen::Welcome { notice: Some(Notice::Card(_)), .. })).await;
        assert_eq!(
            shown,
            Screen::Welcome { tiles: shown_tiles(&shown), notice: Some(Notice::Card(problem)) },
            "{label}"
        );
        card.remove();
        rig.screens.wait_for(mark, |s| matches!(s, Screen::Welcome { notice: None, .. })).await;
    }
    let audit = rig.terminal.audit.lock().unwrap().unshipped(1000).unwrap();
    assert!(audit.iter().any(|r| r.action == "card.read.social_security_card" && r.outcome == "refused.blocked"));
}

fn shown_tiles(screen: &Screen) -> Vec<session::ServiceTile> {
    match screen {
        Screen::Welcome { tiles, .. } => tiles.clone(),
        _ => vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scanning_a_receipts_code_on_the_start_screen_shows_its_status() {
    let rig = rig(false, true).await;
    // A receipt from an earlier visit: the pensioner's qualification check.
    let mark = rig.begin(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, Service::QualificationCheck).await;
    let Screen::Receipt { delivery: Delivery::Submitted { tracking, .. }, .. } =
        rig.screens.wait_for(mark, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. })).await
    else {
        panic!("no receipt")
    };
    rig.touch(Intent::Done).await;
    rig.touch(Intent::SkipRating).await;
    rig.touch(Intent::Exit).await;
    rig.reader.remove().await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Welcome { .. })).await;

    // Someone scans that receipt's barcode at the start screen: its status, at once. What
    // the scanner reads is the CODE128 decoded from the picture of the printed paper.
    let receipt = rig.paper.receipts().pop().expect("a receipt on the virtual printer's paper");
    let (w, h) = receipt.dimensions();
    let code = rxing::helpers::detect_in_luma(receipt.into_raw(), w, h, Some(rxing::BarcodeFormat::CODE_128))
        .unwrap_or_else(|e| panic!("no CODE128 on the receipt: {e}"))
        .getText()
        .to_owned();
    assert_eq!(code, tracking);
    let scanner = rig.scanner.clone().unwrap();
    let mark = rig.screens.count();
    scanner.scan(&code);
    let Screen::Progress(progress) = rig.screens.wait_for(mark, |s| matches!(s, Screen::Progress(_))).await else {
        unreachable!()
    };
    assert_eq!((progress.tracking.as_str(), progress.service), (tracking.as_str(), Service::QualificationCheck));

    // Its digits alone (as typed on the keypad) work too, and anything that is not
    // this service's is ignored, never typed into a form.
    let mark = rig.screens.count();
    scanner.scan("https://example.com/not-ours");
    scanner.scan("hello");
    let digits: String = tracking.chars().filter(char::is_ascii_digit).collect();
    scanner.scan(&digits);
    let Screen::Progress(again) = rig.screens.wait_for(mark, |s| matches!(s, Screen::Progress(_))).await else {
        unreachable!()
    };
    assert_eq!(again.tracking, tracking);
    assert!(
        !rig.screens.all().iter().skip(mark).any(|s| matches!(s, Screen::TrackingEntry { error: Some(_), .. })),
        "a foreign code reached the core"
    );
}
