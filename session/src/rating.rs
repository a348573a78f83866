//! The rating (好差评) after every service: five grades and optional reason chips.

use super::{AuditRecord, Ctx, Effect, Event, Intent, Next, Notice, RatingRecord, Service};

#[derive(Debug)]
pub(super) struct Step {
    service: Service,
}

pub(super) fn start(service: Service) -> Step {
    Step { service }
}

pub(super) fn step(step: Step, ctx: &mut Ctx<'_>, event: &Event) -> Next {
    let (grade, reasons) = match event {
        Event::Touch(Intent::Rate { grade, reasons }) => (Some(*grade), reasons.clone()),
        Event::Touch(Intent::SkipRating | Intent::Back | Intent::Exit) => (None, Vec::new()),
        _ => return Next::Stay(super::Flow::Rating(step)),
    };
    let service = step.service;
    ctx.audit(AuditRecord::Rated { session: ctx.session, service, grade });
    ctx.emit(Effect::SubmitRating(RatingRecord { session: ctx.session, service, grade, reasons }));
    if matches!(event, Event::Touch(Intent::Exit)) {
        return Next::End(super::EndReason::Finished, Some(Notice::ThankYou));
    }
    Next::Menu(Some(Notice::ThankYou))
}
