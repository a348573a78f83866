//! Pension qualification check: face capture with a liveness challenge, submitted
//! through the outbox; the receipt says approved, rejected, pending review or queued.

use super::capture::{self, Capture, CaptureStep};
use super::receipt::{self, Outcome};
use super::{Ctx, EndReason, Event, Next, Service, Submission};

#[derive(Debug)]
pub(super) enum Step {
    Capturing(Capture),
    Outcome(Outcome),
}

impl Step {
    /// The face goes straight from the camera into the submission effect.
    pub(super) fn holds_personal_data(&self) -> bool {
        false
    }
    pub(super) fn committed(&self) -> bool {
        matches!(self, Self::Outcome(Outcome::Submitting(..) | Outcome::Receipt { .. }))
    }
    pub(super) fn capturing(&self) -> bool {
        matches!(self, Self::Capturing(Capture::Running(_)))
    }
}

const SERVICE: Service = Service::QualificationCheck;

pub(super) fn start(ctx: &mut Ctx<'_>) -> Step {
    Step::Capturing(capture::start(ctx, SERVICE))
}

pub(super) fn step(step: Step, ctx: &mut Ctx<'_>, event: &Event) -> Next {
    let next = match step {
        Step::Capturing(c) => match capture::step(c, SERVICE, ctx, event) {
            CaptureStep::Stay(c) => Step::Capturing(c),
            CaptureStep::Back => return Next::Menu(None),
            CaptureStep::Captured(face) => {
                let Some(citizen) = ctx.citizen.cloned() else { return Next::End(EndReason::CardRemoved, None) };
                let ticket = ctx.ticket();
                ctx.emit(super::Effect::Submit { ticket, submission: Submission::Qualification { citizen, face } });
                Step::Outcome(receipt::submitting(ctx, SERVICE, ticket))
            }
        },
        Step::Outcome(o) => match receipt::step(o, SERVICE, ctx, event) {
            Ok(o) => Step::Outcome(o),
            Err(next) => return next,
        },
    };
    Next::Stay(super::Flow::Qualification(next))
}
