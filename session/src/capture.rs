//! Face capture with guidance and a liveness challenge, shared by the qualification
//! check and the unemployment check-in.

use super::{Ctx, Effect, Event, FaceCapture, Failure, Intent, Screen, Service, Ticket};

#[derive(Debug)]
pub(super) enum Capture {
    Running(Ticket),
    /// The capture failed (no face, liveness failed, camera error): retry or leave.
    Failed,
}

pub(super) enum CaptureStep {
    Stay(Capture),
    Captured(FaceCapture),
    Back,
}

pub(super) fn start(ctx: &mut Ctx<'_>, service: Service) -> Capture {
    let ticket = ctx.ticket();
    ctx.emit(Effect::StartCapture { ticket, service });
    ctx.show(Screen::Capture { service, hint: None });
    Capture::Running(ticket)
}

pub(super) fn step(capture: Capture, service: Service, ctx: &mut Ctx<'_>, event: &Event) -> CaptureStep {
    match (capture, event) {
        (Capture::Running(t), Event::CaptureHint { ticket, hint }) if t == *ticket => {
            ctx.show(Screen::Capture { service, hint: Some(*hint) });
            CaptureStep::Stay(Capture::Running(t))
        }
        (Capture::Running(t), Event::Captured { ticket, result }) if t == *ticket => match result {
            Ok(face) => CaptureStep::Captured(face.clone()),
            Err(reason) => {
                ctx.show(Screen::Failed { service, reason: Failure::CaptureFailed(reason.clone()) });
                CaptureStep::Stay(Capture::Failed)
            }
        },
        (Capture::Running(_), Event::Touch(Intent::Back)) => {
            ctx.emit(Effect::StopCapture);
            CaptureStep::Back
        }
        (Capture::Failed, Event::Touch(Intent::RetryCapture)) => CaptureStep::Stay(start(ctx, service)),
        (Capture::Failed, Event::Touch(Intent::Back | Intent::Done)) => CaptureStep::Back,
        (capture, _) => CaptureStep::Stay(capture),
    }
}
