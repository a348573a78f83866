//! The harness the flow tests share: a kiosk window on Slint's testing backend, driven
//! and read by accessible labels, with the intents it sent.

// Each test binary uses a different part of the harness.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::mpsc::Receiver;

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use slint::platform::PointerEventButton;
use ui::gallery::sample_screens;
use ui::*;

pub struct Kiosk {
    pub window: KioskWindow,
    pub intents: Receiver<Intent>,
    pub language: Language,
}

impl Kiosk {
    pub fn new(language: Language, orientation: Orientation) -> Self {
        i_slint_backend_testing::init_no_event_loop();
        let (window, intents) = KioskWindow::new(orientation).unwrap();
        Self { window, intents, language }
    }

    pub fn english() -> Self {
        Self::new(Language::En, Orientation::Landscape)
    }

    pub fn show(&self, screen: Screen) {
        self.window.apply(&View { screen, language: self.language, ..View::default() });
    }

    pub fn find(&self, label: &str) -> Vec<ElementHandle> {
        ElementHandle::find_by_accessible_label(self.window.component(), label).collect()
    }

    pub fn shows(&self, label: &str) -> bool {
        self.find(label).iter().any(|e| e.is_valid() && e.computed_opacity() > 0.0)
    }

    /// The buttons and checkable chips carrying `label`.
    pub fn controls(&self, label: &str) -> Vec<ElementHandle> {
        let actionable = [AccessibleRole::Button, AccessibleRole::Checkbox];
        self.find(label).into_iter().filter(|e| e.accessible_role().is_some_and(|r| actionable.contains(&r))).collect()
    }

    pub fn control(&self, label: &str) -> ElementHandle {
        let found = self.controls(label);
        assert!(!found.is_empty(), "no control labelled {label:?} on screen");
        found[0].clone()
    }

    /// The value announced by the element labelled `label` (keypad fields, progress).
    pub fn value_of(&self, label: &str) -> String {
        let found = self.find(label).into_iter().find_map(|e| e.accessible_value());
        found.unwrap_or_else(|| panic!("nothing labelled {label:?} with a value")).to_string()
    }

    /// Activates the control the way a screen reader does.
    pub fn tap(&self, label: &str) {
        self.control(label).invoke_accessible_default_action();
    }

    /// A real pointer press + release at the control's centre.
    pub fn touch(&self, label: &str) {
        self.control(label).mock_single_click(PointerEventButton::Left);
    }

    pub fn intents(&self) -> Vec<Intent> {
        self.intents.try_iter().collect()
    }
}

pub fn screen(name: &str) -> Screen {
    sample_screens().into_iter().find(|(n, _)| *n == name).map(|(_, s)| s).unwrap()
}
