//! The tail every submitting flow shares: waiting for the outbox's answer, then the
//! receipt (printed, or on screen when the printer is down), then the rating.

use super::{
    AuditRecord, Ctx, Delivery, Event, Failure, Intent, Next, ReceiptExtras, ReceiptState, Screen, Service, Ticket,
};

#[derive(Debug)]
pub(super) enum Outcome {
    /// Waiting for the outbox; the extras go on the receipt.
    Submitting(Ticket, ReceiptExtras),
    Receipt {
        delivery: Delivery,
        print: Option<Ticket>,
        extras: ReceiptExtras,
    },
    Failed,
}

/// Emits the submission effect's waiting screen; the caller has emitted `Effect::Submit`.
pub(super) fn submitting(ctx: &mut Ctx<'_>, service: Service, ticket: Ticket) -> Outcome {
    submitting_with(ctx, service, ticket, ReceiptExtras::default())
}

/// As [`submitting`], for a receipt that states `extras` as well.
pub(super) fn submitting_with(ctx: &mut Ctx<'_>, service: Service, ticket: Ticket, extras: ReceiptExtras) -> Outcome {
    ctx.show(Screen::Waiting { service, what: super::Waiting::Submitting });
    Outcome::Submitting(ticket, extras)
}

/// `Ok` keeps the flow in its outcome part, `Err` leaves the flow.
// `Next` is large, but this runs once per event; boxing would only add noise.
#[allow(clippy::result_large_err)]
pub(super) fn step(outcome: Outcome, service: Service, ctx: &mut Ctx<'_>, event: &Event) -> Result<Outcome, Next> {
    match (outcome, event) {
        (Outcome::Submitting(t, extras), Event::Submitted { ticket, result }) if t == *ticket => match result {
            Ok(delivery) => {
                let print = ctx.receipt(service, delivery.clone(), &extras);
                Ok(Outcome::Receipt { delivery: delivery.clone(), print, extras })
            }
            Err(failure) => {
                ctx.audit(AuditRecord::SubmissionFailed {
                    session: ctx.session,
                    service,
                    reason: format!("{failure:?}"),
                });
                ctx.show(Screen::Failed { service, reason: failure.clone() });
                Ok(Outcome::Failed)
            }
        },
        (Outcome::Receipt { delivery, print: Some(t), extras }, Event::Printed { ticket, result }) if t == *ticket => {
            ctx.audit(AuditRecord::PrintResult {
                session: ctx.session,
                service,
                ok: result.is_ok(),
                problem: result.clone().err(),
            });
            let receipt = match result {
                Ok(()) => ReceiptState::Printed,
                Err(p) => ReceiptState::ScreenOnly(Some(p.clone())),
            };
            ctx.show(Screen::Receipt { service, delivery: delivery.clone(), receipt, terms: extras.terms });
            Ok(Outcome::Receipt { delivery, print: None, extras })
        }
        // The receipt is on screen (printing or not): "done" moves on to the rating.
        (Outcome::Receipt { .. } | Outcome::Failed, Event::Touch(Intent::Done)) => Err(Next::Rate(service)),
        (Outcome::Failed, Event::Touch(Intent::Back)) => Err(Next::Menu(None)),
        (outcome, _) => Ok(outcome),
    }
}

/// Shown when a flow cannot go on because a reply failed.
pub(super) fn failed(ctx: &mut Ctx<'_>, service: Service, reason: Failure) {
    ctx.show(Screen::Failed { service, reason });
}
