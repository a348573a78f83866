//! A citizen on the real Slint window (Slint's testing backend): touches found by
//! accessible label become intents, the presenter turns them into core events, the real
//! session core answers, and the next view is applied to the same window. This is the
//! whole seam between `ui` and `kiosk`, short of the tokio runtime and the devices.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use i_slint_backend_testing::{AccessibleRole, ElementHandle};
use kiosk::present::Presenter;
use session::{self, Citizen, Delivery, Effect, Event, SessionTiming, State};
use std::sync::mpsc::Receiver;
use ui::{Intent, KioskWindow, Language, LocalTime, Orientation};

struct Terminal {
    window: KioskWindow,
    intents: Receiver<Intent>,
    presenter: Presenter,
    core: State,
    effects: Vec<Effect>,
}

impl Terminal {
    fn new() -> Self {
        i_slint_backend_testing::init_no_event_loop();
        let (window, intents) = KioskWindow::new(Orientation::Landscape).unwrap();
        let core = State::new(SessionTiming::default());
        let start = core.start();
        let mut t = Self { window, intents, presenter: Presenter::with_language(Language::En), core, effects: vec![] };
        t.apply(start);
        t
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match &e {
                Effect::Show(s) => self.presenter.show(s.clone()),
                Effect::Countdown(c) => self.presenter.countdown(*c),
                _ => {}
            }
            self.effects.push(e);
        }
        self.redraw();
    }

    fn redraw(&self) {
        self.window.apply(&self.presenter.view(LocalTime::default()));
    }

    fn event(&mut self, event: Event) {
        let out = session::handle(&mut self.core, event);
        self.apply(out);
    }

    /// Taps the control labelled `label`, then feeds every intent it produced through.
    fn tap(&mut self, label: &str) {
        let actionable = [AccessibleRole::Button, AccessibleRole::Checkbox];
        let control = ElementHandle::find_by_accessible_label(self.window.component(), label)
            .find(|e| e.accessible_role().is_some_and(|r| actionable.contains(&r)))
            .unwrap_or_else(|| panic!("no control labelled {label:?} on screen"));
        control.invoke_accessible_default_action();
        let intents: Vec<Intent> = self.intents.try_iter().collect();
        assert!(!intents.is_empty(), "tapping {label:?} did nothing");
        for intent in intents {
            for event in self.presenter.intent(intent) {
                self.event(event);
            }
            self.redraw();
        }
    }

    fn shows(&self, text: &str) -> bool {
        ElementHandle::find_by_accessible_label(self.window.component(), text)
            .any(|e| e.is_valid() && e.computed_opacity() > 0.0)
    }
}

#[test]
fn a_citizen_registers_as_unemployed_by_touch_and_rates_the_service() {
    let mut t = Terminal::new();
    assert!(t.shows("Unemployment registration"));
    t.tap("Unemployment registration");
    assert!(t.shows("Place your ID card on the reader below the screen."));
    t.event(Event::CardPlaced(Citizen::new("450103199001010032", "李四")));
    assert!(t.shows("4501**********0032"), "the masked number is shown for confirmation");
    t.tap("Continue");
    for digit in "13800138000".chars() {
        t.tap(&digit.to_string());
    }
    t.tap("Contract ended");
    t.tap("Submit");
    let submitted = t.effects.iter().find_map(|e| match e {
        Effect::Submit { ticket, submission: session::Submission::Registration { phone, .. } } => {
            Some((*ticket, phone.expose().to_owned()))
        }
        _ => None,
    });
    let (ticket, phone) = submitted.expect("the registration was submitted");
    assert_eq!(phone, "13800138000");
    // The 16-digit reference a queued receipt carries (`contract::client_reference`).
    t.event(Event::Submitted { ticket, result: Ok(Delivery::Queued { reference: "1400782942772406".into() }) });
    assert!(t.shows("1400782942772406"), "the queued reference is on screen");
    t.tap("Continue");
    t.tap("Very satisfied");
    t.tap("Submit");
    assert!(
        t.effects
            .iter()
            .any(|e| matches!(e, Effect::SubmitRating(r) if r.grade == Some(session::RatingGrade::VerySatisfied)))
    );
    t.tap("Finish and take your card");
    assert!(!t.core.in_session());
    assert!(!t.shows("4501**********0032"), "nothing of the citizen is left on screen");
}
