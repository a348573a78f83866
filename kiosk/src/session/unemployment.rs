//! Unemployment registration (a short keypad form) and the monthly check-in (by face).

use super::capture::{self, Capture, CaptureStep};
use super::receipt::{self, Outcome};
use super::{
    Ctx, Device, EndReason, Event, FormError, Intent, Next, Phone, RegistrationReason, Screen, Service, Submission,
};

#[derive(Debug)]
pub(super) enum Step {
    Choice,
    Form,
    CheckIn(Capture),
    Outcome(Outcome),
}

impl Step {
    /// The typed phone number lives only in the submission effect and the screen.
    pub(super) fn holds_personal_data(&self) -> bool {
        false
    }
    pub(super) fn committed(&self) -> bool {
        matches!(self, Self::Outcome(Outcome::Submitting(_) | Outcome::Receipt { .. }))
    }
    pub(super) fn capturing(&self) -> bool {
        matches!(self, Self::CheckIn(Capture::Running(_)))
    }
}

const SERVICE: Service = Service::Unemployment;

fn show_choice(ctx: &mut Ctx<'_>) -> Step {
    let check_in = ctx.devices.unusable(Device::Camera);
    ctx.show(Screen::UnemploymentChoice { check_in });
    Step::Choice
}

pub(super) fn start(ctx: &mut Ctx<'_>) -> Step {
    show_choice(ctx)
}

fn validate(phone: &str, reason: Option<RegistrationReason>) -> Result<(Phone, RegistrationReason), FormError> {
    let phone = Phone::parse(phone.trim()).ok_or(FormError::InvalidPhone)?;
    let reason = reason.ok_or(FormError::MissingReason)?;
    Ok((phone, reason))
}

pub(super) fn step(step: Step, ctx: &mut Ctx<'_>, event: &Event) -> Next {
    let submit = |ctx: &mut Ctx<'_>, submission: Submission| {
        let ticket = ctx.ticket();
        ctx.emit(super::Effect::Submit { ticket, submission });
        Step::Outcome(receipt::submitting(ctx, ticket))
    };
    let next = match (step, event) {
        (Step::Choice, Event::Touch(Intent::StartRegistration)) => {
            ctx.show(Screen::RegistrationForm { phone: String::new(), error: None });
            Step::Form
        }
        (Step::Choice, Event::Touch(Intent::StartCheckIn)) => match ctx.devices.unusable(Device::Camera) {
            Some(_) => show_choice(ctx),
            None => Step::CheckIn(capture::start(ctx, SERVICE)),
        },
        (Step::Choice, Event::Touch(Intent::Back)) => return Next::Menu(None),
        (Step::Form, Event::Touch(Intent::Back)) => show_choice(ctx),
        (Step::Form, Event::Touch(Intent::SubmitRegistration { phone, reason })) => match validate(phone, *reason) {
            Err(error) => {
                ctx.show(Screen::RegistrationForm { phone: phone.clone(), error: Some(error) });
                Step::Form
            }
            Ok((phone, reason)) => {
                let Some(citizen) = ctx.citizen.cloned() else { return Next::End(EndReason::CardRemoved, None) };
                submit(ctx, Submission::Registration { citizen, phone, reason })
            }
        },
        (Step::CheckIn(c), _) => match capture::step(c, SERVICE, ctx, event) {
            CaptureStep::Stay(c) => Step::CheckIn(c),
            CaptureStep::Back => show_choice(ctx),
            CaptureStep::Captured(face) => {
                let Some(citizen) = ctx.citizen.cloned() else { return Next::End(EndReason::CardRemoved, None) };
                submit(ctx, Submission::CheckIn { citizen, face })
            }
        },
        (Step::Outcome(o), _) => match receipt::step(o, SERVICE, ctx, event) {
            Ok(o) => Step::Outcome(o),
            Err(next) => return next,
        },
        (step, _) => step,
    };
    Next::Stay(super::Flow::Unemployment(next))
}
