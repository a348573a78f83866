//! The handle shows views sent from another thread through the event loop. One test per
//! file: the event-loop testing backend can be initialised once per process.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use i_slint_backend_testing::ElementHandle;
use ui::*;

#[test]
fn a_view_sent_from_another_thread_is_shown_and_intents_flow_back() {
    i_slint_backend_testing::init_integration_test_with_mock_time();
    let (window, intents) = KioskWindow::new(Orientation::Portrait).unwrap();
    let handle = window.handle();
    let runtime = std::thread::spawn(move || {
        let view = View {
            screen: Screen::Unavailable { service: None, reason: UnavailableReason::CardReaderFault },
            language: Language::En,
            ..View::default()
        };
        handle.show(view).unwrap();
        handle.show_frame(ui::gallery::synthetic_frame(1)).unwrap();
        handle.quit().unwrap();
    });
    slint::run_event_loop_until_quit().unwrap();
    runtime.join().unwrap();
    let shown: Vec<_> =
        ElementHandle::find_by_accessible_label(window.component(), "The ID card reader is not working").collect();
    assert_eq!(shown.len(), 1);
    ElementHandle::find_by_accessible_label(window.component(), "中文")
        .next()
        .unwrap()
        .invoke_accessible_default_action();
    assert_eq!(intents.try_recv().unwrap(), Intent::ToggleLanguage);
}
