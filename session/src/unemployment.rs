//! Unemployment registration (a short keypad form) and the monthly check-in (by face).

use super::capture::{self, Capture, CaptureStep};
use super::receipt::{self, Outcome};
use super::{Ctx, EndReason, Event, FormError, Intent, Next, Phone, Screen, Service, Submission, UnemploymentReason};

#[derive(Debug)]
pub(super) enum Step {
    Form,
    CheckIn(Capture),
    Outcome(Service, Outcome),
}

impl Step {
    /// The typed phone number lives only in the submission effect and the screen.
    pub(super) fn holds_personal_data(&self) -> bool {
        false
    }
    pub(super) fn committed(&self) -> bool {
        matches!(self, Self::Outcome(_, Outcome::Submitting(..) | Outcome::Receipt { .. }))
    }
    pub(super) fn capturing(&self) -> bool {
        matches!(self, Self::CheckIn(Capture::Running(_)))
    }
    pub(super) fn service(&self) -> Service {
        match self {
            Self::Form => Service::UnemploymentRegistration,
            Self::CheckIn(_) => Service::UnemploymentCheckIn,
            Self::Outcome(service, _) => *service,
        }
    }
}

pub(super) fn start_registration(ctx: &mut Ctx<'_>) -> Step {
    ctx.show(Screen::RegistrationForm { phone: String::new(), error: None });
    Step::Form
}

pub(super) fn start_check_in(ctx: &mut Ctx<'_>) -> Step {
    Step::CheckIn(capture::start(ctx, Service::UnemploymentCheckIn))
}

fn validate(phone: &str, reason: Option<UnemploymentReason>) -> Result<(Phone, UnemploymentReason), FormError> {
    let phone = Phone::parse(phone.trim()).ok_or(FormError::InvalidPhone)?;
    let reason = reason.ok_or(FormError::MissingReason)?;
    Ok((phone, reason))
}

pub(super) fn step(step: Step, ctx: &mut Ctx<'_>, event: &Event) -> Next {
    let submit = |ctx: &mut Ctx<'_>, service: Service, submission: Submission| {
        let ticket = ctx.ticket();
        ctx.emit(super::Effect::Submit { ticket, submission });
        Step::Outcome(service, receipt::submitting(ctx, service, ticket))
    };
    let next = match (step, event) {
        (Step::Form, Event::Touch(Intent::Back)) => return Next::Menu(None),
        (Step::Form, Event::Touch(Intent::SubmitRegistration { phone, reason })) => match validate(phone, *reason) {
            Err(error) => {
                ctx.show(Screen::RegistrationForm { phone: phone.clone(), error: Some(error) });
                Step::Form
            }
            Ok((phone, reason)) => {
                let Some(citizen) = ctx.citizen.cloned() else { return Next::End(EndReason::CardRemoved, None) };
                submit(ctx, Service::UnemploymentRegistration, Submission::Registration { citizen, phone, reason })
            }
        },
        (Step::CheckIn(c), _) => match capture::step(c, Service::UnemploymentCheckIn, ctx, event) {
            CaptureStep::Stay(c) => Step::CheckIn(c),
            CaptureStep::Back => return Next::Menu(None),
            CaptureStep::Captured(face) => {
                let Some(citizen) = ctx.citizen.cloned() else { return Next::End(EndReason::CardRemoved, None) };
                submit(ctx, Service::UnemploymentCheckIn, Submission::CheckIn { citizen, face })
            }
        },
        (Step::Outcome(service, o), _) => match receipt::step(o, service, ctx, event) {
            Ok(o) => Step::Outcome(service, o),
            Err(next) => return next,
        },
        (step, _) => step,
    };
    Next::Stay(super::Flow::Unemployment(next))
}
