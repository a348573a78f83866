//! Application progress: type (or scan) the tracking number from an earlier receipt.

use super::{Ctx, Event, FormError, Intent, Next, ScannedCode, Screen, Service, Ticket, Waiting};

#[derive(Debug)]
pub(super) enum Step {
    Entry,
    LookingUp(Ticket),
    Shown,
    Failed,
}

const SERVICE: Service = Service::ApplicationProgress;

pub(super) fn start(ctx: &mut Ctx<'_>) -> Step {
    ctx.show(Screen::TrackingEntry { typed: String::new(), error: None });
    Step::Entry
}

impl Step {
    /// Whether a scanned receipt may replace what this step shows (not while a lookup
    /// is on its way: its answer would land on the new one's screen).
    pub(super) fn takes_a_scan(&self) -> bool {
        !matches!(self, Self::LookingUp(_))
    }
}

/// A receipt's code from the scanner: looked up at once, as if typed; a certificate's
/// code is not an application, and the entry screen says so.
pub(super) fn scanned(ctx: &mut Ctx<'_>, code: ScannedCode) -> Step {
    match code {
        ScannedCode::Application(tracking) if valid_tracking(&tracking) => look_up(ctx, tracking),
        ScannedCode::Application(typed) => {
            ctx.show(Screen::TrackingEntry { typed, error: Some(FormError::InvalidTracking) });
            Step::Entry
        }
        ScannedCode::Certificate { .. } => {
            ctx.show(Screen::TrackingEntry { typed: String::new(), error: Some(FormError::NotAnApplication) });
            Step::Entry
        }
    }
}

fn look_up(ctx: &mut Ctx<'_>, tracking: String) -> Step {
    let ticket = ctx.ticket();
    ctx.emit(super::Effect::LookUpApplication { ticket, tracking });
    ctx.show(Screen::Waiting { service: SERVICE, what: Waiting::LookingUpApplication });
    Step::LookingUp(ticket)
}

/// Tracking numbers are 6 to 40 letters, digits or dashes (server and local forms).
pub(super) fn valid_tracking(raw: &str) -> bool {
    (6..=40).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

pub(super) fn step(step: Step, ctx: &mut Ctx<'_>, event: &Event) -> Next {
    let next = match (step, event) {
        (Step::Entry, Event::Touch(Intent::SubmitTracking(raw))) => {
            let tracking = raw.trim().to_ascii_uppercase();
            if valid_tracking(&tracking) {
                look_up(ctx, tracking)
            } else {
                ctx.show(Screen::TrackingEntry { typed: raw.clone(), error: Some(FormError::InvalidTracking) });
                Step::Entry
            }
        }
        (Step::LookingUp(t), Event::ApplicationFound { ticket, result }) if t == *ticket => match result {
            Ok(Some(progress)) => {
                ctx.show(Screen::Progress(progress.clone()));
                Step::Shown
            }
            Ok(None) => {
                ctx.show(Screen::TrackingEntry { typed: String::new(), error: Some(FormError::NotFound) });
                Step::Entry
            }
            Err(failure) => {
                super::receipt::failed(ctx, SERVICE, failure.clone());
                Step::Failed
            }
        },
        (Step::Shown | Step::Failed, Event::Touch(Intent::Done)) => return Next::Rate(SERVICE),
        // Leaving while the answer is on its way: the late reply's ticket matches nothing.
        (Step::Entry | Step::Failed | Step::LookingUp(_), Event::Touch(Intent::Back)) => return Next::Menu(None),
        (step, _) => step,
    };
    Next::Stay(super::Flow::Progress(next))
}
