//! Registrations the registry must allow first, on terms it sets: flexible employment
//! (灵活就业人员参保登记: choose a contribution band, see the monthly amount, confirm) and
//! the "4050" employment subsidy (see the subsidy, confirm). Both ask central first;
//! a person who may not is told the reason, and nothing is submitted.

use super::receipt::{self, Outcome};
use super::{
    Ctx, Eligibility, EndReason, Event, Failure, FormError, Intent, Next, Offer, ReceiptExtras, Screen, Service,
    Submission, Terms, Ticket, Waiting,
};

#[derive(Debug)]
pub(super) enum Step {
    Checking(Ticket),
    Offered(Offer),
    /// Not eligible, or the check failed: the reason is on screen.
    Refused,
    Outcome(Outcome),
}

impl Step {
    /// Whether someone may register is about them (registered unemployed, insured how).
    pub(super) fn holds_personal_data(&self) -> bool {
        matches!(self, Self::Offered(_) | Self::Refused)
    }
    pub(super) fn committed(&self) -> bool {
        matches!(self, Self::Outcome(Outcome::Submitting(..) | Outcome::Receipt { .. }))
    }
}

pub(super) fn start(ctx: &mut Ctx<'_>, service: Service) -> Step {
    let ticket = ctx.ticket();
    if let Some(citizen) = ctx.citizen.cloned() {
        ctx.emit(super::Effect::CheckEligibility { ticket, citizen, service });
    }
    ctx.show(Screen::Waiting { service, what: Waiting::CheckingEligibility });
    Step::Checking(ticket)
}

fn show_offer(ctx: &mut Ctx<'_>, service: Service, offer: &Offer, error: Option<FormError>) {
    match (service, offer.subsidy) {
        (Service::EmploymentSubsidy, Some((monthly_fen, months))) => {
            ctx.show(Screen::SubsidyOffer { monthly_fen, months })
        }
        _ => ctx.show(Screen::FlexibleOffer {
            bands: offer.bands.clone(),
            first_payment_due: offer.first_payment_due,
            error,
        }),
    }
}

pub(super) fn step(step: Step, service: Service, ctx: &mut Ctx<'_>, event: &Event) -> Next {
    let flow = |step| Next::Stay(super::Flow::SelfInsured(service, step));
    let submit = |ctx: &mut Ctx<'_>, submission: Submission, terms: Option<Terms>| {
        let ticket = ctx.ticket();
        ctx.emit(super::Effect::Submit { ticket, submission });
        let extras = ReceiptExtras { terms, openings: Vec::new() };
        Step::Outcome(receipt::submitting_with(ctx, service, ticket, extras))
    };
    let next = match (step, event) {
        (Step::Checking(t), Event::EligibilityChecked { ticket, result }) if t == *ticket => match result {
            // An offer the flow cannot use (no band to choose, no subsidy stated) is a
            // central fault, not the citizen's: shown as such.
            Ok(Eligibility::Eligible(offer))
                if (service == Service::FlexibleEmploymentRegistration && offer.bands.is_empty())
                    || (service == Service::EmploymentSubsidy && offer.subsidy.is_none()) =>
            {
                receipt::failed(ctx, service, Failure::CentralUnavailable("offer without terms".into()));
                Step::Refused
            }
            Ok(Eligibility::Eligible(offer)) => {
                show_offer(ctx, service, offer, None);
                Step::Offered(offer.clone())
            }
            Ok(Eligibility::NotEligible(reason)) => {
                ctx.show(Screen::NotEligible { service, reason: *reason });
                Step::Refused
            }
            Err(failure) => {
                receipt::failed(ctx, service, failure.clone());
                Step::Refused
            }
        },
        (Step::Offered(offer), Event::Touch(Intent::SubmitFlexibleRegistration { percent }))
            if service == Service::FlexibleEmploymentRegistration =>
        {
            let band = offer.bands.iter().find(|b| Some(b.percent) == *percent).copied();
            match (band, ctx.citizen.cloned()) {
                (None, _) => {
                    show_offer(ctx, service, &offer, Some(FormError::MissingBand));
                    Step::Offered(offer)
                }
                (Some(_), None) => return Next::End(EndReason::CardRemoved, None),
                (Some(band), Some(citizen)) => {
                    let terms = Terms { monthly_fen: band.monthly_fen, first_payment_due: offer.first_payment_due };
                    submit(ctx, Submission::FlexibleEmployment { citizen, band }, Some(terms))
                }
            }
        }
        (Step::Offered(_), Event::Touch(Intent::Confirm)) if service == Service::EmploymentSubsidy => {
            let Some(citizen) = ctx.citizen.cloned() else { return Next::End(EndReason::CardRemoved, None) };
            submit(ctx, Submission::EmploymentSubsidy { citizen }, None)
        }
        (Step::Offered(_) | Step::Refused | Step::Checking(_), Event::Touch(Intent::Back)) => return Next::Menu(None),
        (Step::Refused, Event::Touch(Intent::Done)) => return Next::Rate(service),
        (Step::Checking(_), _) if ctx.citizen.is_none() => return Next::End(EndReason::CardRemoved, None),
        (Step::Outcome(o), _) => match receipt::step(o, service, ctx, event) {
            Ok(o) => Step::Outcome(o),
            Err(next) => return next,
        },
        (step, _) => step,
    };
    flow(next)
}
