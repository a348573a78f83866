//! Application progress driven by accessible labels: typing a tracking number, and the
//! status page, including a submission still held on this terminal (queued).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Kiosk, screen};
use ui::*;

const QUEUED_EN: &str = "Saved on this terminal, not sent yet";
const QUEUED_WHY_EN: &str = "It will be sent by itself when the network is back. You need not apply again.";
const QUEUED_ZH: &str = "已保存，尚未提交";
const QUEUED_WHY_ZH: &str = "已保存在本终端，网络恢复后将自动提交，无需重复办理。";

#[test]
fn progress_lookup_by_tracking_number_then_status() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("progress-lookup"));
    assert!(kiosk.shows("Type the tracking number printed on your receipt."));
    kiosk.touch("7");
    kiosk.tap("Look up");
    assert_eq!(kiosk.intents(), vec![Intent::KeypadDigit(7), Intent::Confirm]);
    kiosk.show(Screen::ProgressLookup {
        tracking: KeypadField { value: "1".into(), max_len: 16, error: Some(InputError::TrackingNumberNotFound) },
        can_submit: false,
    });
    assert!(kiosk.shows("No application has that tracking number"));

    kiosk.show(screen("progress-status"));
    assert!(kiosk.shows("2026 1121 0042 17"));
    assert!(kiosk.shows("Under review"));
    assert!(kiosk.shows("Submitted on"));
    assert!(kiosk.shows("Tracking number"));
    assert!(kiosk.shows("2026-11-28"));
    // the queued explanation belongs to queued items only
    assert!(!kiosk.shows(QUEUED_WHY_EN));
    assert!(!kiosk.shows("Saved on"));
    kiosk.tap("Done");
    assert_eq!(kiosk.intents(), vec![Intent::Confirm]);
}

#[test]
fn a_queued_application_says_it_is_saved_here_and_sent_by_itself_in_english() {
    let kiosk = Kiosk::english();
    kiosk.show(screen("progress-status-queued"));
    assert!(kiosk.shows("3908215578120466"));
    // named as on the queued receipt: no tracking number exists yet
    assert!(kiosk.shows("Local reference"));
    assert!(!kiosk.shows("Tracking number"));
    assert!(kiosk.shows(QUEUED_EN));
    assert!(kiosk.shows(QUEUED_WHY_EN));
    // not submitted yet: the date is the day it was saved, and there is no deadline
    assert!(kiosk.shows("Saved on"));
    assert!(kiosk.shows("2026-11-21"));
    assert!(!kiosk.shows("Submitted on"));
    assert!(kiosk.find("Expected by").is_empty());
    assert!(!kiosk.shows("No application has that tracking number"));
    kiosk.tap("Done");
    assert_eq!(kiosk.intents(), vec![Intent::Confirm]);
}

#[test]
fn a_queued_application_says_it_is_saved_here_and_sent_by_itself_in_chinese() {
    let kiosk = Kiosk::new(Language::ZhCn, Orientation::Landscape);
    kiosk.show(screen("progress-status-queued"));
    assert!(kiosk.shows("3908215578120466"));
    assert!(kiosk.shows(QUEUED_ZH));
    assert!(kiosk.shows("本机参考号"));
    assert!(kiosk.shows(QUEUED_WHY_ZH));
    assert!(kiosk.shows("保存日期"));
    assert!(kiosk.shows("2026年11月21日"));
    assert!(!kiosk.shows("提交日期"));
    assert!(kiosk.find("预计办结").is_empty());
    assert!(!kiosk.shows(QUEUED_EN));
}

#[test]
fn a_queued_sixteen_digit_reference_stays_on_one_line_in_large_text_portrait() {
    let kiosk = Kiosk::new(Language::En, Orientation::Portrait);
    let view = View {
        screen: screen("progress-status-queued"),
        language: Language::En,
        text_size: TextSize::Large,
        idle: None,
        social_security_card: false,
        voice: true,
    };
    kiosk.window.apply(&view);
    let one = |label: &str| {
        let found = kiosk.find(label);
        assert_eq!(found.len(), 1, "exactly one {label:?} on screen");
        found[0].clone()
    };
    // the reference and the date are set in the same type: one line each, same height
    let number = one("3908215578120466");
    let date = one("2026-11-21");
    assert!(
        (number.size().height - date.size().height).abs() < 1.0,
        "the reference wraps: {:?} against one line {:?}",
        number.size(),
        date.size()
    );
    let (width, height) = Orientation::Portrait.size();
    for label in ["3908215578120466", QUEUED_EN, QUEUED_WHY_EN] {
        let e = one(label);
        let (pos, size) = (e.absolute_position(), e.size());
        assert!(
            pos.x >= 0.0 && pos.x + size.width <= width as f32 && pos.y + size.height <= height as f32,
            "{label:?} at {pos:?} size {size:?} leaves the screen"
        );
    }
    // the explanation sits under the status, not over it
    let (status, why) = (one(QUEUED_EN), one(QUEUED_WHY_EN));
    assert!(status.absolute_position().y + status.size().height <= why.absolute_position().y);
}
