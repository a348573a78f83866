//! Every flow driven through Slint's testing backend by accessible labels: the test
//! shows a view, taps what a person would tap, and checks the intents that come out
//! and the text on screen. Application progress has its own file, progress.rs; both use
//! the harness in common/.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Kiosk, screen};
use i_slint_backend_testing::{AccessibleRole, ElementRoot};
use ui::gallery::{sample_views, synthetic_frame};
use ui::*;

#[test]
fn chinese_is_the_default_and_the_toggle_asks_for_english() {
    i_slint_backend_testing::init_no_event_loop();
    let (window, intents) = KioskWindow::new(Orientation::Landscape).unwrap();
    let kiosk = Kiosk { window, intents, language: Language::ZhCn };
    assert!(kiosk.shows("参保证明打印"), "home tiles are in Chinese by default");
    assert!(kiosk.shows("欢迎使用，请点击您要办理的业务。"));
    kiosk.tap("English");
    assert_eq!(kiosk.intents(), vec![Intent::ToggleLanguage]);

    kiosk.window.apply(&View { language: Language::En, ..View::default() });
    assert!(kiosk.shows("Social insurance certificate"));
    assert!(!kiosk.shows("参保证明打印"));
    kiosk.tap("中文");
    assert_eq!(kiosk.intents(), vec![Intent::ToggleLanguage]);
}

#[test]
fn home_tiles_choose_a_service_and_say_why_one_is_unavailable() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("home-degraded"));
    assert!(kiosk.shows("09:41"));
    assert!(kiosk.shows("Saturday, 21 November 2026"));
    assert!(kiosk.shows("Have your ID card ready: you will place it on the reader below the screen."));
    let tile = &kiosk.control("Social insurance certificate");
    assert_eq!(tile.accessible_description().unwrap(), "The printer is out of paper");
    // an available tile says what the service does (its hint line)
    assert_eq!(kiosk.control("Application progress").accessible_description().unwrap(), "Track an application");
    assert_eq!(
        kiosk.control("Pension qualification check").accessible_description().unwrap(),
        "The camera is not working"
    );

    kiosk.touch("Application progress");
    // The runtime, not the UI, decides what an unavailable tile leads to.
    kiosk.tap("Social insurance certificate");
    assert_eq!(
        kiosk.intents(),
        vec![Intent::ChooseService(Service::ApplicationProgress), Intent::ChooseService(Service::Certificate)]
    );
}

#[test]
fn every_screen_has_the_language_large_text_and_voice_toggles() {
    let kiosk = Kiosk::english();
    for (name, view) in sample_views(Language::En, TextSize::Normal) {
        kiosk.window.apply(&view);
        kiosk.tap("Large text");
        kiosk.tap("中文");
        kiosk.tap("Voice");
        assert_eq!(
            kiosk.intents(),
            vec![Intent::ToggleLargeText, Intent::ToggleLanguage, Intent::ToggleVoice],
            "on {name}"
        );
    }
    let large = View { text_size: TextSize::Large, language: Language::En, ..View::default() };
    kiosk.window.apply(&large);
    assert_eq!(kiosk.control("Large text").accessible_checked(), Some(true));
    assert_eq!(kiosk.control("Voice").accessible_checked(), Some(false));
    kiosk.window.apply(&View { voice: true, ..large });
    assert_eq!(kiosk.control("Voice").accessible_checked(), Some(true));
    assert_eq!(kiosk.control("Voice").accessible_checkable(), Some(true));
}

#[test]
fn the_voice_toggle_is_named_in_chinese() {
    let kiosk = Kiosk::new(Language::ZhCn, Orientation::Landscape);
    kiosk.window.apply(&View { voice: true, ..View::default() });
    assert_eq!(kiosk.control("语音").accessible_checked(), Some(true));
    kiosk.touch("语音");
    assert_eq!(kiosk.intents(), vec![Intent::ToggleVoice]);
}

#[test]
fn home_with_the_card_already_placed_greets_the_holder_and_offers_to_finish() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("home-card-placed"));
    assert!(kiosk.shows("Hello, 王*明. Touch the service you need."));
    assert!(kiosk.shows("Your ID card is on the reader. Take it with you when you finish."));
    assert!(!kiosk.shows("Have your ID card ready: you will place it on the reader below the screen."));
    assert!(!kiosk.shows("Welcome. Touch the service you need."));
    kiosk.tap("Finish and take your card");
    kiosk.tap("Contribution record");
    assert_eq!(kiosk.intents(), vec![Intent::Cancel, Intent::ChooseService(Service::ContributionRecord)]);

    // without a holder there is nothing to finish
    kiosk.show(screen("home"));
    assert!(kiosk.controls("Finish and take your card").is_empty());
    assert!(!kiosk.shows("王*明"), "the previous holder's name is gone");
}

#[test]
fn home_notice_says_in_one_line_how_the_last_session_ended_in_both_languages() {
    let cases = [
        (
            "home-timed-out",
            "The last session ended after no activity; its information was cleared.",
            "上一位用户长时间未操作，办理已结束，信息已清除。",
        ),
        (
            "home-card-removed",
            "The ID card was taken away, so the session ended; its information was cleared.",
            "身份证已取走，本次办理已结束，信息已清除。",
        ),
        ("home-thank-you", "Thank you. Your service is finished.", "感谢使用，本次业务已办结。"),
        (
            "home-service-became-unavailable",
            "That service has just become unavailable. Please choose another.",
            "该业务刚刚暂停办理，请选择其他业务。",
        ),
    ];
    let kiosk = Kiosk::english();
    for (name, en, zh) in cases {
        kiosk.show(screen(name));
        assert!(kiosk.shows(en), "{name}");
        kiosk.window.apply(&View { screen: screen(name), language: Language::ZhCn, ..View::default() });
        assert!(kiosk.shows(zh), "{name}");
    }
    kiosk.show(screen("home"));
    for (_, en, _) in cases {
        assert!(!kiosk.shows(en), "no notice on a plain home screen");
    }
}

#[test]
fn waiting_offers_back_and_exit_except_while_submitting() {
    let kiosk = Kiosk::english();
    for (name, sentence) in [
        ("waiting-issuing", "Preparing your certificate. Please wait."),
        ("waiting-loading-record", "Loading your contribution record. Please wait."),
        ("waiting-looking-up", "Looking up your application. Please wait."),
    ] {
        kiosk.show(screen(name));
        assert!(kiosk.shows(sentence), "{name}");
        assert!(kiosk.shows("Please wait"), "{name}: the spinner is announced");
        kiosk.tap("Back");
        kiosk.tap("Exit");
        assert_eq!(kiosk.intents(), vec![Intent::Back, Intent::Cancel], "{name}");
    }
    kiosk.show(screen("waiting-submitting"));
    assert!(kiosk.shows("Submitting your application. Please wait and stay here."));
    assert!(kiosk.controls("Exit").is_empty(), "a submission cannot be abandoned half way");
    assert!(kiosk.controls("Back").is_empty(), "a submission cannot be abandoned half way");
}

#[test]
fn result_says_take_the_receipt_or_write_the_number_down_when_it_was_not_printed() {
    const TAKE: &str = "Please take your receipt from the slot below.";
    const PRINTING: &str = "Printing your receipt. Please wait.";
    const NOT_PRINTED: &str = "The receipt could not be printed: please write down your tracking number.";
    let kiosk = Kiosk::english();
    kiosk.show(screen("result-submitted"));
    assert!(kiosk.shows(TAKE));
    assert!(!kiosk.shows(NOT_PRINTED));
    kiosk.show(screen("result-pending-review"));
    assert!(kiosk.shows(PRINTING));
    kiosk.show(screen("result-queued"));
    assert!(kiosk.shows(NOT_PRINTED));
    assert!(kiosk.shows("The printer is out of paper"));
    assert!(kiosk.shows("2026 1121 0043 05"));
    assert!(!kiosk.shows(TAKE));
    kiosk.show(screen("result-no-receipt"));
    assert!(kiosk.shows("2026 1121 0045 28"));
    for line in [TAKE, PRINTING, NOT_PRINTED] {
        assert!(!kiosk.shows(line), "no receipt line without a receipt: {line:?}");
    }
    kiosk.window.apply(&View { screen: screen("result-queued"), language: Language::ZhCn, ..View::default() });
    assert!(kiosk.shows("凭条无法打印，请记下您的受理号。"));
    assert!(kiosk.shows("打印机缺纸"));
}

#[test]
fn card_reading_errors_say_what_to_do_and_offer_a_retry() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("card-waiting"));
    assert!(kiosk.shows("Place your ID card on the reader below the screen."));
    assert!(kiosk.controls("Try again").is_empty(), "no retry before an error");
    kiosk.show(screen("card-reading"));
    assert!(kiosk.shows("Reading your card. Keep it still."));
    for (name, sentence) in [
        ("card-unreadable", "The card could not be read. Take it off and place it again."),
        ("card-expired", "This ID card has expired. Please use a valid ID card."),
        ("card-wrong-type", "This is not a resident ID card. Please use your ID card."),
        ("card-invalid", "This card could not be verified. Please ask staff for help."),
    ] {
        kiosk.show(screen(name));
        assert!(kiosk.shows(sentence), "{name}");
        kiosk.tap("Try again");
        kiosk.tap("Exit");
        assert_eq!(kiosk.intents(), vec![Intent::Retry, Intent::Cancel]);
    }
}

#[test]
fn certificate_flow_confirms_identity_picks_kind_and_period_previews_and_prints() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("identity-confirm"));
    assert!(kiosk.shows("王*明"));
    assert!(kiosk.shows("1101**********002X"));
    kiosk.tap("Continue");
    assert_eq!(kiosk.intents(), vec![Intent::Confirm]);

    let Screen::CertificateChoice { kinds, periods, .. } = screen("certificate-choice") else { unreachable!() };
    kiosk.show(Screen::CertificateChoice {
        kinds,
        selected_kind: Some(CertificateKind::PensionInsurance),
        periods,
        selected_period: None,
        can_continue: false,
    });
    assert_eq!(kiosk.control("Pension insurance").accessible_checked(), Some(true));
    assert_eq!(kiosk.control("Medical insurance").accessible_checked(), Some(false));
    kiosk.tap("Medical insurance");
    kiosk.tap("Last 36 months");
    kiosk.tap("Full history");
    kiosk.tap("Preview"); // disabled: the runtime said it cannot continue yet
    assert_eq!(kiosk.control("Preview").accessible_enabled(), Some(false));
    assert_eq!(
        kiosk.intents(),
        vec![
            Intent::PickCertificateKind(CertificateKind::MedicalInsurance),
            Intent::PickCertificatePeriod(CertificatePeriod::LastMonths(36)),
            Intent::PickCertificatePeriod(CertificatePeriod::FullHistory),
        ]
    );

    kiosk.show(screen("certificate-preview"));
    assert!(kiosk.shows("Pension insurance certificate (Last 12 months)"));
    assert!(kiosk.shows("7K3Q-9XW2-M4PD"));
    kiosk.tap("Print");
    kiosk.tap("Back");
    assert_eq!(kiosk.intents(), vec![Intent::Confirm, Intent::Back]);

    kiosk.show(screen("printing"));
    assert!(kiosk.shows("Printing your certificate. Please wait."));
    assert_eq!(kiosk.value_of("Printing progress"), "60");
    assert!(kiosk.controls("Exit").is_empty(), "printing cannot be abandoned half way");

    kiosk.show(screen("take-receipt"));
    assert!(kiosk.shows("Please take your certificate from the slot below."));
    kiosk.tap("Done");
    assert_eq!(kiosk.intents(), vec![Intent::Confirm]);
}

#[test]
fn face_capture_shows_preview_guidance_countdown_and_liveness_prompt() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("face-capture"));
    assert!(kiosk.shows("Camera preview"));
    assert!(kiosk.shows("Good, keep still"));
    assert!(kiosk.shows("Please blink your eyes"));
    assert_eq!(kiosk.value_of("Countdown"), "3");

    kiosk.show(screen("face-guidance"));
    assert!(kiosk.shows("Please move closer"));
    assert!(kiosk.find("Countdown").is_empty());
    assert!(kiosk.find("Please blink your eyes").is_empty());

    // A broken frame (wrong byte count) is dropped, not shown half-drawn.
    kiosk.window.show_frame(&Frame { width: 10, height: 10, rgb: vec![0; 5] });
    assert!(kiosk.find("Camera preview").is_empty());
    kiosk.window.show_frame(&synthetic_frame(3));
    assert!(kiosk.shows("Camera preview"));
    kiosk.tap("Exit");
    assert_eq!(kiosk.intents(), vec![Intent::Cancel]);
}

#[test]
fn new_guidance_keeps_the_live_preview_and_a_new_capture_starts_blank() {
    let kiosk = Kiosk::english();
    // What the runtime sends: guidance only, the frames come through show_frame.
    let mut guidance = screen("face-guidance");
    if let Screen::FaceCapture { frame, .. } = &mut guidance {
        *frame = None;
    }
    kiosk.show(guidance.clone());
    assert!(kiosk.find("Camera preview").is_empty(), "no frame yet");
    kiosk.window.show_frame(&synthetic_frame(1));
    assert!(kiosk.shows("Camera preview"));
    kiosk.show(guidance.clone());
    assert!(kiosk.shows("Camera preview"), "a guidance update blanked the preview");
    kiosk.show(screen("home"));
    kiosk.show(guidance);
    assert!(kiosk.find("Camera preview").is_empty(), "the next capture starts without the last face");
}

#[test]
fn a_blurry_frame_gets_its_own_guidance_in_both_languages() {
    let blurry = Screen::FaceCapture {
        service: Service::QualificationCheck,
        hint: FaceHint::Blurry,
        countdown: None,
        liveness: None,
        frame: Some(synthetic_frame(0)),
    };
    let kiosk = Kiosk::english();
    kiosk.show(blurry.clone());
    assert!(kiosk.shows("Picture not sharp: please hold still and face the camera"));
    assert!(kiosk.find("Hold still").is_empty());

    kiosk.window.apply(&View { screen: blurry, language: Language::ZhCn, ..View::default() });
    assert!(kiosk.shows("画面不清晰：请保持不动并面向摄像头"));
}

#[test]
fn contribution_record_lists_years_and_prints_on_request() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("contribution-record"));
    assert!(kiosk.shows("Contributions of 王*明 (1101**********002X)"));
    assert!(kiosk.shows("2020"));
    assert!(kiosk.shows("4,200.00"), "base in yuan with thousands separators");
    assert!(kiosk.shows("Total: 140 months"));
    kiosk.tap("Print");
    kiosk.tap("Done");
    assert_eq!(kiosk.intents(), vec![Intent::Print, Intent::Confirm]);

    let Screen::ContributionRecord { identity, years, total_months, .. } = screen("contribution-record") else {
        unreachable!()
    };
    kiosk.show(Screen::ContributionRecord { identity, years, total_months, can_print: false });
    assert!(kiosk.controls("Print").is_empty(), "no print button when printing is unavailable");
}

#[test]
fn registration_form_takes_digits_from_the_keypad_and_a_reason() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("registration-form"));
    assert_eq!(kiosk.value_of("Mobile number"), "1381234");
    assert!(kiosk.shows("That is not a valid mobile number"));
    for d in ["1", "3", "0", "9"] {
        kiosk.tap(d);
    }
    kiosk.tap("Delete");
    kiosk.tap("Clear");
    kiosk.tap("Resigned");
    kiosk.tap("Submit"); // disabled
    assert_eq!(
        kiosk.intents(),
        vec![
            Intent::KeypadDigit(1),
            Intent::KeypadDigit(3),
            Intent::KeypadDigit(0),
            Intent::KeypadDigit(9),
            Intent::KeypadBackspace,
            Intent::KeypadClear,
            Intent::PickUnemploymentReason(UnemploymentReason::Resigned),
        ]
    );
    assert_eq!(kiosk.control("Contract ended").accessible_checked(), Some(true));
}

#[test]
fn results_tell_submitted_from_queued_and_show_the_tracking_number() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("result-submitted"));
    assert!(kiosk.shows("Submitted. Your application has reached the service centre."));
    assert!(kiosk.shows("2026 1121 0042 17"));
    kiosk.show(screen("result-queued"));
    assert!(kiosk.shows("Saved. It will be sent automatically when the network is back; nothing is lost."));
    assert!(kiosk.shows("2026 1121 0043 05"));
    kiosk.show(screen("result-pending-review"));
    assert!(kiosk.shows("Accepted. A member of staff will review it."));
    kiosk.tap("Continue");
    assert_eq!(kiosk.intents(), vec![Intent::Confirm]);
    kiosk.show(screen("result-failed"));
    assert!(kiosk.shows("Your face did not match your ID card photo."));
    assert!(kiosk.find("Tracking number").is_empty());
    kiosk.tap("Try again");
    assert_eq!(kiosk.intents(), vec![Intent::Retry]);
}

#[test]
fn rating_offers_five_grades_and_optional_reasons() {
    let kiosk = Kiosk::english();
    kiosk.show(Screen::Rating {
        service: Service::Certificate,
        selected: None,
        reasons: vec![],
        selected_reasons: vec![],
    });
    for grade in ["Very satisfied", "Satisfied", "Basically satisfied", "Dissatisfied", "Very dissatisfied"] {
        assert!(kiosk.shows(grade), "{grade}");
    }
    assert_eq!(kiosk.control("Submit").accessible_enabled(), Some(false));
    kiosk.tap("Very dissatisfied");
    assert_eq!(kiosk.intents(), vec![Intent::Rate(RatingGrade::VeryDissatisfied)]);

    kiosk.show(screen("rating"));
    assert_eq!(kiosk.control("Too slow").accessible_checked(), Some(true));
    kiosk.tap("Device problem");
    kiosk.tap("Submit");
    kiosk.tap("Skip");
    assert_eq!(
        kiosk.intents(),
        vec![Intent::ToggleRatingReason(RatingReason::DeviceProblem), Intent::Confirm, Intent::SkipRating]
    );
}

#[test]
fn idle_countdown_overlay_keeps_the_session_on_touch() {
    let kiosk = Kiosk::english();
    let view = View { idle: Some(IdleCountdown { seconds_left: 9 }), language: Language::En, ..View::default() };
    kiosk.window.apply(&view);
    assert!(kiosk.shows("To protect your information, this screen returns to the start in 9 seconds."));
    kiosk.tap("I am still here");
    assert_eq!(kiosk.intents(), vec![Intent::StillHere]);
    kiosk.window.apply(&View { language: Language::En, ..View::default() });
    assert!(kiosk.controls("I am still here").is_empty());
}

#[test]
fn unavailable_screens_name_the_reason() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("unavailable-service"));
    assert!(kiosk.shows("This service is unavailable right now. Other services still work."));
    assert!(kiosk.shows("The printer is out of paper"));
    kiosk.tap("Back to start");
    assert_eq!(kiosk.intents(), vec![Intent::Cancel]);
    kiosk.show(screen("unavailable-terminal"));
    assert!(kiosk.shows("This terminal is temporarily out of service. Please use another terminal or ask staff."));
    assert!(kiosk.shows("The ID card reader is not working"));
}

#[test]
fn five_taps_on_the_emblem_open_maintenance_then_pin_and_self_tests() {
    let kiosk = Kiosk::english();
    for _ in 0..4 {
        kiosk.tap("maintenance-corner");
    }
    assert_eq!(kiosk.intents(), vec![], "four taps are not the gesture");
    kiosk.tap("maintenance-corner");
    assert_eq!(kiosk.intents(), vec![Intent::MaintenanceGesture]);

    kiosk.show(screen("maintenance-pin"));
    assert!(kiosk.shows("Wrong PIN. 2 attempts left."));
    assert_eq!(kiosk.value_of("PIN"), "3");
    let pin = kiosk.find("PIN").into_iter().find_map(|e| e.accessible_description().filter(|d| !d.is_empty())).unwrap();
    assert_eq!(pin, "3 of 8 digits");
    kiosk.tap("5");
    kiosk.tap("Enter");
    assert_eq!(kiosk.intents(), vec![Intent::KeypadDigit(5), Intent::Confirm]);

    kiosk.show(screen("maintenance"));
    assert!(kiosk.shows("Terminal KSK-0042 · version 0.1.0"));
    for finding in [
        "Card read: 1101**********002X",
        "Test failed: The printer is out of paper",
        "Camera works",
        "Central service answered in 42 ms",
    ] {
        assert!(kiosk.shows(finding), "self-test line {finding:?}");
    }
    kiosk.tap("Test Receipt printer");
    kiosk.tap("Exit maintenance");
    assert_eq!(kiosk.intents(), vec![Intent::SelfTest(TestSubject::Printer), Intent::ExitMaintenance]);
}

fn maintenance(devices: Vec<(TestSubject, Option<SelfTest>)>) -> Screen {
    Screen::Maintenance {
        terminal_id: "KSK-0042".into(),
        software_version: "0.1.0".into(),
        devices: devices.into_iter().map(|(device, test)| DeviceHealth { device, problem: None, test }).collect(),
        tools: MaintenanceTools::default(),
    }
}

#[test]
fn a_running_self_test_is_announced_and_its_button_waits_until_it_reports() {
    let kiosk = Kiosk::english();
    let before = vec![(TestSubject::Reader, None), (TestSubject::Printer, None)];
    kiosk.show(maintenance(before));
    assert!(!kiosk.shows("Testing…"), "no test line before the first test");
    kiosk.tap("Test ID card reader");
    assert_eq!(kiosk.intents(), vec![Intent::SelfTest(TestSubject::Reader)]);

    kiosk.show(maintenance(vec![(TestSubject::Reader, Some(SelfTest::Running)), (TestSubject::Printer, None)]));
    assert!(kiosk.shows("Testing…"));
    assert_eq!(kiosk.control("Test ID card reader").accessible_enabled(), Some(false));
    assert_eq!(kiosk.control("Test Receipt printer").accessible_enabled(), Some(true));
    kiosk.tap("Test ID card reader");
    kiosk.touch("Test ID card reader");
    assert_eq!(kiosk.intents(), vec![], "a running test is not started again");
    kiosk.tap("Test Receipt printer");
    assert_eq!(kiosk.intents(), vec![Intent::SelfTest(TestSubject::Printer)], "other devices can be tested meanwhile");

    kiosk.show(maintenance(vec![
        (TestSubject::Reader, Some(SelfTest::PlaceCard)),
        (TestSubject::Printer, Some(SelfTest::TestPagePrinted)),
    ]));
    assert!(kiosk.shows("Place an ID card on the reader"));
    assert!(kiosk.shows("Test page printed"));
    assert!(!kiosk.shows("Testing…"));
    assert_eq!(kiosk.control("Test ID card reader").accessible_enabled(), Some(true));
    kiosk.show(maintenance(vec![(TestSubject::Reader, Some(SelfTest::CardRefused(CardError::Expired)))]));
    assert!(kiosk.shows("Card not usable: the ID card has expired"));
}

#[test]
fn self_test_lines_are_in_chinese_by_default() {
    let kiosk = Kiosk::new(Language::ZhCn, Orientation::Portrait);
    kiosk.show(screen("maintenance"));
    for finding in ["读卡成功：1101**********002X", "检测未通过：打印机缺纸", "摄像头工作正常", "中心服务应答 42 毫秒"]
    {
        assert!(kiosk.shows(finding), "self-test line {finding:?}");
    }
    kiosk.show(screen("maintenance-testing"));
    assert!(kiosk.shows("正在检测…"));
    assert!(kiosk.shows("卡无法使用：校验未通过"));
    assert_eq!(kiosk.control("测试凭条打印机").accessible_enabled(), Some(false));
}

#[test]
fn a_card_number_that_arrives_unmasked_is_masked_on_screen() {
    let kiosk = Kiosk::english();
    let read = SelfTest::CardRead { masked_id: "11010519491231002X".into() };
    kiosk.show(maintenance(vec![(TestSubject::Reader, Some(read))]));
    assert!(kiosk.shows("Card read: 1101**********002X"));
    assert!(!kiosk.shows("Card read: 11010519491231002X"));
}

/// 15 mm on the largest panel we target (21.5", 1920x1080: about 4.03 px/mm).
const MIN_TOUCH_PX: f32 = 61.0;

fn check_actionable_elements(orientation: Orientation, text_size: TextSize) {
    let kiosk = Kiosk::new(Language::En, orientation);
    let actionable = [AccessibleRole::Button, AccessibleRole::Checkbox];
    for (name, view) in sample_views(Language::En, text_size) {
        kiosk.window.apply(&view);
        let elements = kiosk
            .window
            .component()
            .root_element()
            .query_descendants()
            .match_predicate(move |e| e.accessible_role().is_some_and(|r| actionable.contains(&r)))
            .find_all();
        assert!(elements.len() >= 3, "{name}: at least the two toggles and one action");
        for e in elements {
            let label = e.accessible_label().unwrap_or_default();
            assert!(!label.is_empty(), "{name}: an actionable element without accessible-label");
            let size = e.size();
            assert!(
                size.width >= MIN_TOUCH_PX && size.height >= MIN_TOUCH_PX,
                "{name}: {label:?} is {}x{} px, below 15 mm",
                size.width,
                size.height
            );
            let (w, h) = orientation.size();
            let pos = e.absolute_position();
            assert!(
                pos.x >= 0.0
                    && pos.y >= 0.0
                    && pos.x + size.width <= w as f32 + 0.5
                    && pos.y + size.height <= h as f32 + 0.5,
                "{name}: {label:?} at {pos:?} size {size:?} is off screen"
            );
        }
    }
}

#[test]
fn every_actionable_element_is_labelled_on_screen_and_at_least_15mm_landscape() {
    check_actionable_elements(Orientation::Landscape, TextSize::Normal);
}

#[test]
fn every_actionable_element_is_labelled_on_screen_and_at_least_15mm_portrait_large() {
    check_actionable_elements(Orientation::Portrait, TextSize::Large);
}

#[test]
fn a_contribution_band_is_picked_by_touch_and_says_what_it_costs() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("flexible-offer"));
    assert!(kiosk.shows("Choose your contribution base, then touch Register. You pay the monthly amount yourself."));
    assert!(
        kiosk.shows(
            "The first payment is due by 2026-12-25. Pay it at a bank, or by phone with the social insurance app."
        )
    );
    let band = kiosk.control("60% of the average wage: 1,218.00 yuan a month");
    assert_eq!(band.accessible_description().unwrap(), "Contribution base 4,200.00 yuan");
    assert_eq!(band.accessible_checked(), Some(false));
    assert_eq!(kiosk.control("100% of the average wage: 2,030.00 yuan a month").accessible_checked(), Some(true));
    kiosk.tap("60% of the average wage: 1,218.00 yuan a month");
    kiosk.tap("Register");
    assert_eq!(kiosk.intents(), vec![Intent::PickBand(60), Intent::Confirm]);
    let Screen::FlexibleOffer { bands, first_payment_due, .. } = screen("flexible-offer") else { panic!() };
    kiosk.show(Screen::FlexibleOffer { bands, selected: None, first_payment_due, missing_band: true });
    assert!(kiosk.shows("Please choose a contribution base first."));
}

#[test]
fn the_payment_record_and_the_subsidy_offer_show_their_amounts() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("pension-payments"));
    assert!(kiosk.shows("Pension paid to 王*明 (1101**********002X)"));
    assert!(kiosk.shows("Total for these 12 months: 45,918.00 yuan"));
    assert!(kiosk.shows("2026-01 3,826.50"), "a row reads as its month and amount");
    kiosk.tap("Print");
    kiosk.tap("Done");
    assert_eq!(kiosk.intents(), vec![Intent::Print, Intent::Confirm]);

    kiosk.show(screen("subsidy-offer"));
    assert!(kiosk.shows("812.00 yuan"));
    assert!(kiosk.shows("For up to 36 months, paid back after you pay your own contributions."));
    kiosk.tap("Apply");
    assert_eq!(kiosk.intents(), vec![Intent::Confirm]);
}

#[test]
fn a_refusal_says_why_in_plain_words_and_a_registration_states_its_terms() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("result-not-eligible"));
    assert!(kiosk.shows(
        "The subsidy needs contributions paid as a flexible worker: register for flexible employment insurance first."
    ));
    kiosk.tap("Continue");
    assert_eq!(kiosk.intents(), vec![Intent::Confirm]);
    kiosk.show(screen("result-flexible-registered"));
    assert!(kiosk.shows("You pay 2,030.00 yuan each month; the first payment is due by 2026-12-25."));
    assert!(kiosk.shows("FE-20261121-0000417"));
    // Every reason has its own sentence.
    let sentences = [
        (IneligibleReason::NotAPensioner, "You are not receiving a pension, so there are no payments to show."),
        (IneligibleReason::ReceivingPension, "You receive a pension, so this does not apply to you."),
        (
            IneligibleReason::InsuredByEmployer,
            "Your employer insures you this month, so you need not register yourself.",
        ),
        (IneligibleReason::AlreadyRegistered, "You are already registered as a flexible worker."),
        (IneligibleReason::BelowSubsidyAge, "The subsidy is for women from 40 and men from 50."),
        (
            IneligibleReason::NotRegisteredUnemployed,
            "Register as unemployed first; then you can apply for the subsidy.",
        ),
        (
            IneligibleReason::NotInsuredAsFlexibleWorker,
            "The subsidy needs contributions paid as a flexible worker: register for flexible employment insurance first.",
        ),
        (IneligibleReason::AlreadyApplied, "You have already applied; your application is being handled."),
        (
            IneligibleReason::AlreadySeekingWork,
            "You are already registered as a job seeker; your registration is still open.",
        ),
    ];
    assert_eq!(sentences.len(), IneligibleReason::ALL.len());
    for (reason, sentence) in sentences {
        kiosk.show(Screen::Result {
            service: Service::EmploymentSubsidy,
            kind: ResultKind::Failed(FailureReason::NotEligible(reason)),
            tracking_number: None,
            receipt: ReceiptNote::None,
            terms: None,
        });
        assert!(kiosk.shows(sentence), "{reason:?}");
        for (_, other) in sentences.iter().filter(|(r, _)| *r != reason) {
            assert!(!kiosk.shows(other), "{reason:?} also says {other:?}");
        }
    }
}

#[test]
fn the_job_seeker_picks_work_and_district_and_sees_openings_with_contact_codes() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("job-seeker-form"));
    assert!(kiosk.shows("Type your mobile number, then choose the work and the district."));
    assert_eq!(kiosk.control("Retail").accessible_checked(), Some(true));
    assert_eq!(kiosk.control("Qingxiu").accessible_checked(), Some(true));
    kiosk.tap("Delivery");
    kiosk.tap("Wuming");
    kiosk.tap("Find openings");
    assert_eq!(
        kiosk.intents(),
        vec![Intent::PickJobKind(JobKind::Delivery), Intent::PickDistrict(District::Wuming), Intent::Confirm]
    );
    kiosk.show(screen("openings"));
    assert!(kiosk.shows("3 openings for Retail in Qingxiu. Touch Register to register and print them."));
    let row = kiosk.find("超市理货员 南宁市某超市");
    assert_eq!(row[0].accessible_description().unwrap(), "3,800–5,200 yuan a month, contact code JO-100417");
    kiosk.tap("Register");
    assert_eq!(kiosk.intents(), vec![Intent::Confirm]);
    let Screen::Openings { kind, district, .. } = screen("openings") else { panic!() };
    kiosk.show(Screen::Openings { kind, district, openings: Vec::new(), found: false });
    assert!(kiosk.shows("The openings cannot be shown right now. You can still register; staff will contact you."));
}

/// The descriptions a screen reader gives beyond the labels: what the keypad field
/// holds, the seconds left, the outcome with its number, and what a service does.
#[test]
fn screen_reader_descriptions_say_what_the_labels_do_not() {
    let kiosk = Kiosk::english();
    // keypad: the digits typed so far
    let lookup = |value: &str| Screen::ProgressLookup {
        tracking: KeypadField { value: value.into(), max_len: 20, error: None },
        can_submit: !value.is_empty(),
    };
    kiosk.show(lookup(""));
    let field = |k: &Kiosk| {
        k.find("Tracking number")
            .into_iter()
            .find_map(|e| e.accessible_description().filter(|d| !d.is_empty()))
            .unwrap()
    };
    assert_eq!(field(&kiosk), "Nothing typed yet");
    kiosk.show(lookup("2026112"));
    assert_eq!(field(&kiosk), "Typed so far: 2026112");
    // the PIN stays masked: only how many digits
    kiosk.show(Screen::MaintenancePin { entered: 3, length: 6, error: None });
    let pin = kiosk.find("PIN").into_iter().find_map(|e| e.accessible_description().filter(|d| !d.is_empty())).unwrap();
    assert_eq!(pin, "3 of 6 digits");

    // the idle countdown: the seconds left
    let mut view = View { language: Language::En, idle: Some(IdleCountdown { seconds_left: 12 }), ..View::default() };
    kiosk.window.apply(&view);
    let countdown = |k: &Kiosk| {
        k.find("Are you still there?")
            .into_iter()
            .find_map(|e| e.accessible_description().filter(|d| !d.is_empty()))
            .unwrap()
            .to_string()
    };
    assert_eq!(countdown(&kiosk), "12 seconds left");
    view.idle = Some(IdleCountdown { seconds_left: 11 });
    kiosk.window.apply(&view);
    assert_eq!(countdown(&kiosk), "11 seconds left");

    // the result: the outcome and the tracking number
    let result = |tracking: Option<&str>| Screen::Result {
        service: Service::UnemploymentRegistration,
        kind: ResultKind::Submitted,
        tracking_number: tracking.map(Into::into),
        receipt: ReceiptNote::Printed,
        terms: None,
    };
    kiosk.show(result(Some("20261121-000042")));
    let outcome = |k: &Kiosk| {
        k.find("Result").into_iter().find_map(|e| e.accessible_description().filter(|d| !d.is_empty())).unwrap()
    };
    assert_eq!(
        outcome(&kiosk),
        "Submitted. Your application has reached the service centre. Tracking number: 20261121-000042"
    );
    kiosk.show(result(None));
    assert_eq!(outcome(&kiosk), "Submitted. Your application has reached the service centre.");

    // service tiles: what the service does, or why it cannot be used
    kiosk.show(screen("home-degraded"));
    assert_eq!(kiosk.control("Application progress").accessible_description().unwrap(), "Track an application");
    assert_eq!(
        kiosk.control("Social insurance certificate").accessible_description().unwrap(),
        "The printer is out of paper"
    );
}

#[test]
fn screen_reader_descriptions_are_translated() {
    let kiosk = Kiosk::new(Language::ZhCn, Orientation::Landscape);
    kiosk.window.apply(&View { idle: Some(IdleCountdown { seconds_left: 5 }), ..View::default() });
    let countdown =
        kiosk.find("您还在吗？").into_iter().find_map(|e| e.accessible_description().filter(|d| !d.is_empty()));
    assert_eq!(countdown.unwrap(), "还剩5秒");
    kiosk.show(Screen::ProgressLookup {
        tracking: KeypadField { value: "12".into(), max_len: 20, error: None },
        can_submit: true,
    });
    let field = kiosk.find("受理号").into_iter().find_map(|e| e.accessible_description().filter(|d| !d.is_empty()));
    assert_eq!(field.unwrap(), "已输入：12");
}

#[test]
fn the_maintenance_tools_reprint_and_redetect_and_say_what_happened() {
    let kiosk = Kiosk::english();
    let devices = vec![(TestSubject::Reader, None), (TestSubject::Printer, None)];
    let with = |tools: MaintenanceTools| {
        let mut screen = maintenance(devices.clone());
        if let Screen::Maintenance { tools: t, .. } = &mut screen {
            *t = tools;
        }
        screen
    };
    kiosk.show(with(MaintenanceTools::default()));
    kiosk.tap("Print the provisioning receipt again");
    kiosk.tap("Detect the devices again");
    assert_eq!(kiosk.intents(), vec![Intent::ReprintProvisioningReceipt, Intent::RedetectDevices]);

    // Paper out during the reprint: the reason and what to do; detection still running.
    kiosk.show(with(MaintenanceTools {
        reprint: Some(ReceiptReprint::PrinterFailed(UnavailableReason::PrinterOutOfPaper)),
        redetect: Some(Redetection::Running),
    }));
    assert!(kiosk.shows("Receipt not printed: The printer is out of paper. Fix the printer, then print again."));
    assert!(kiosk.shows("Detecting devices… (up to 30 seconds)"));

    // Garbage from the tool: the typed reason and its words.
    kiosk.show(with(MaintenanceTools {
        reprint: Some(ReceiptReprint::NoInstallRecord),
        redetect: Some(Redetection::Failed { why: DetectFailure::Unreadable, detail: "expected value".into() }),
    }));
    assert!(kiosk.shows(
        "No install record on this terminal: it was not installed with kiosk-provision install. Nothing to print."
    ));
    assert!(kiosk.shows(
        "The detection tool gave an answer that cannot be read. Check that kiosk and kiosk-provision are the same \
         version. (expected value)"
    ));

    // Findings beside the configuration; apply, or put them away.
    let moved = PortLine {
        device: TestSubject::Reader,
        change: PortChange::Moved,
        configured: "/dev/ttyUSB0".into(),
        found: "/dev/ttyUSB1".into(),
    };
    kiosk.show(with(MaintenanceTools {
        reprint: None,
        redetect: Some(Redetection::Found { ports: vec![moved], can_apply: true }),
    }));
    assert!(kiosk.shows("Moved: /dev/ttyUSB0 → /dev/ttyUSB1"));
    kiosk.tap("Apply changes");
    kiosk.tap("Back to devices");
    assert_eq!(kiosk.intents(), vec![Intent::ApplyDetectedPorts, Intent::CloseDetection]);
}
