//! Job seeker registration (求职登记) with recommended openings (岗位推荐): the registry
//! says whether the person may register, the citizen gives a short profile (mobile
//! number, the work wanted, the district), sees the openings that match, and registers;
//! the receipt carries the tracking number and the openings with their contact codes.

use super::receipt::{self, Outcome};
use super::{
    Ctx, District, Eligibility, EndReason, Event, FormError, Intent, JobKind, JobOpening, Next, Phone, ReceiptExtras,
    Screen, Service, Submission, Ticket, Waiting,
};

const SERVICE: Service = Service::JobSeekerRegistration;

/// What the citizen told the form.
#[derive(Debug, Clone)]
pub(super) struct Profile {
    phone: Phone,
    kind: JobKind,
    district: District,
}

#[derive(Debug)]
pub(super) enum Step {
    Checking(Ticket),
    Form,
    Searching(Ticket, Profile),
    Openings(Profile, Vec<JobOpening>),
    /// Not eligible, or the check failed: the reason is on screen.
    Refused,
    Outcome(Outcome),
}

impl Step {
    /// The profile holds the typed mobile number; a refusal says something about the person.
    pub(super) fn holds_personal_data(&self) -> bool {
        matches!(self, Self::Searching(..) | Self::Openings(..) | Self::Refused)
    }
    pub(super) fn committed(&self) -> bool {
        matches!(self, Self::Outcome(Outcome::Submitting(..) | Outcome::Receipt { .. }))
    }
}

pub(super) fn start(ctx: &mut Ctx<'_>) -> Step {
    let ticket = ctx.ticket();
    if let Some(citizen) = ctx.citizen.cloned() {
        ctx.emit(super::Effect::CheckEligibility { ticket, citizen, service: SERVICE });
    }
    ctx.show(Screen::Waiting { service: SERVICE, what: Waiting::CheckingEligibility });
    Step::Checking(ticket)
}

fn validate(phone: &str, kind: Option<JobKind>, district: Option<District>) -> Result<Profile, FormError> {
    let phone = Phone::parse(phone.trim()).ok_or(FormError::InvalidPhone)?;
    let kind = kind.ok_or(FormError::MissingJobKind)?;
    let district = district.ok_or(FormError::MissingDistrict)?;
    Ok(Profile { phone, kind, district })
}

pub(super) fn step(step: Step, ctx: &mut Ctx<'_>, event: &Event) -> Next {
    let next = match (step, event) {
        (Step::Checking(t), Event::EligibilityChecked { ticket, result }) if t == *ticket => match result {
            Ok(Eligibility::Eligible(_)) => {
                ctx.show(Screen::JobSeekerForm { phone: String::new(), error: None });
                Step::Form
            }
            Ok(Eligibility::NotEligible(reason)) => {
                ctx.show(Screen::NotEligible { service: SERVICE, reason: *reason });
                Step::Refused
            }
            Err(failure) => {
                receipt::failed(ctx, SERVICE, failure.clone());
                Step::Refused
            }
        },
        (Step::Form, Event::Touch(Intent::SubmitJobSeeker { phone, kind, district })) => {
            match validate(phone, *kind, *district) {
                Err(error) => {
                    ctx.show(Screen::JobSeekerForm { phone: phone.clone(), error: Some(error) });
                    Step::Form
                }
                Ok(profile) => {
                    let ticket = ctx.ticket();
                    ctx.emit(super::Effect::FetchOpenings { ticket, kind: profile.kind, district: profile.district });
                    ctx.show(Screen::Waiting { service: SERVICE, what: Waiting::LookingUpOpenings });
                    Step::Searching(ticket, profile)
                }
            }
        }
        (Step::Searching(t, profile), Event::OpeningsLoaded { ticket, result }) if t == *ticket => {
            // Openings that cannot be looked up now do not stop the registration.
            let (openings, found) = match result {
                Ok(openings) => (openings.clone(), true),
                Err(_) => (Vec::new(), false),
            };
            ctx.show(Screen::Openings {
                kind: profile.kind,
                district: profile.district,
                openings: openings.clone(),
                found,
            });
            Step::Openings(profile, openings)
        }
        (Step::Openings(profile, openings), Event::Touch(Intent::Confirm)) => {
            let Some(citizen) = ctx.citizen.cloned() else { return Next::End(EndReason::CardRemoved, None) };
            let Profile { phone, kind, district } = profile;
            let ticket = ctx.ticket();
            ctx.emit(super::Effect::Submit {
                ticket,
                submission: Submission::JobSeeker { citizen, phone, kind, district },
            });
            let extras = ReceiptExtras { terms: None, openings };
            Step::Outcome(receipt::submitting_with(ctx, SERVICE, ticket, extras))
        }
        (
            Step::Form | Step::Refused | Step::Checking(_) | Step::Openings(..) | Step::Searching(..),
            Event::Touch(Intent::Back),
        ) => {
            return Next::Menu(None);
        }
        (Step::Refused, Event::Touch(Intent::Done)) => return Next::Rate(SERVICE),
        (Step::Checking(_) | Step::Searching(..), _) if ctx.citizen.is_none() => {
            return Next::End(EndReason::CardRemoved, None);
        }
        (Step::Outcome(o), _) => match receipt::step(o, SERVICE, ctx, event) {
            Ok(o) => Step::Outcome(o),
            Err(next) => return next,
        },
        (step, _) => step,
    };
    Next::Stay(super::Flow::JobSeeker(next))
}
