//! Pension payment record (待遇发放记录): the last 12 months paid, on screen, optionally
//! printed. For pensioners; anybody else is told why not.

use super::{
    AuditRecord, Ctx, Device, EndReason, Event, Failure, Intent, Next, PaymentRecord, PrintJob, Screen, Service,
    Ticket, Waiting,
};

const SERVICE: Service = Service::PensionPayments;

#[derive(Debug)]
pub(super) enum Step {
    Loading(Ticket),
    Viewing(PaymentRecord),
    Printing(Ticket),
    Printed,
    /// Not a pensioner, or the lookup failed: the reason is on screen.
    Failed,
}

impl Step {
    pub(super) fn holds_personal_data(&self) -> bool {
        matches!(self, Self::Viewing(_))
    }
    pub(super) fn committed(&self) -> bool {
        matches!(self, Self::Printing(_) | Self::Printed)
    }
}

pub(super) fn start(ctx: &mut Ctx<'_>) -> Step {
    let ticket = ctx.ticket();
    if let Some(citizen) = ctx.citizen.cloned() {
        ctx.emit(super::Effect::FetchPensionPayments { ticket, citizen });
    }
    ctx.show(Screen::Waiting { service: SERVICE, what: Waiting::LoadingPayments });
    Step::Loading(ticket)
}

/// The record on screen, for the card holder (whose card is still on the reader).
fn show_record(ctx: &mut Ctx<'_>, record: &PaymentRecord) {
    let Some(citizen) = ctx.citizen else { return };
    let can_print = ctx.devices.unusable(Device::Printer);
    ctx.show(Screen::PensionPayments {
        holder: citizen.name.clone(),
        masked_id: citizen.id_number.masked(),
        record: record.clone(),
        can_print,
    });
}

pub(super) fn step(step: Step, ctx: &mut Ctx<'_>, event: &Event) -> Next {
    let next = match (step, event) {
        (Step::Loading(t), Event::PensionPaymentsLoaded { ticket, result }) if t == *ticket => match result {
            Ok(record) => {
                show_record(ctx, record);
                Step::Viewing(record.clone())
            }
            Err(Failure::NotEligible(reason)) => {
                ctx.show(Screen::NotEligible { service: SERVICE, reason: *reason });
                Step::Failed
            }
            Err(failure) => {
                super::receipt::failed(ctx, SERVICE, failure.clone());
                Step::Failed
            }
        },
        (Step::Viewing(record), Event::Touch(Intent::Print)) => {
            let (Some(citizen), None) = (ctx.citizen, ctx.devices.unusable(Device::Printer)) else {
                // The print button is disabled with the reason; a stale touch re-shows it.
                show_record(ctx, &record);
                return Next::Stay(super::Flow::Payments(Step::Viewing(record)));
            };
            let job = PrintJob::PensionPayments {
                holder: citizen.name.clone(),
                masked_id: citizen.id_number.masked(),
                record,
            };
            let ticket = ctx.ticket();
            ctx.emit(super::Effect::Print { ticket, job });
            ctx.show(Screen::Waiting { service: SERVICE, what: Waiting::Printing });
            Step::Printing(ticket)
        }
        (Step::Viewing(_) | Step::Printed | Step::Failed, Event::Touch(Intent::Done)) => return Next::Rate(SERVICE),
        (Step::Viewing(_) | Step::Failed | Step::Loading(_), Event::Touch(Intent::Back)) => return Next::Menu(None),
        (Step::Printing(t), Event::Printed { ticket, result }) if t == *ticket => {
            ctx.audit(AuditRecord::PrintResult {
                session: ctx.session,
                service: SERVICE,
                ok: result.is_ok(),
                problem: result.clone().err(),
            });
            ctx.show(Screen::Printed { service: SERVICE, result: result.clone() });
            Step::Printed
        }
        (Step::Loading(_), _) if ctx.citizen.is_none() => return Next::End(EndReason::CardRemoved, None),
        (step, _) => step,
    };
    Next::Stay(super::Flow::Payments(next))
}
