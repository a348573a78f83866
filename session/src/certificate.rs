//! Certificate printing: pick the kind, the central service issues and signs it, the
//! runtime checks the signature, the citizen previews it and it is printed.

use super::{
    AuditRecord, CertificateKind, CertificatePeriod, Ctx, Device, EndReason, Event, Failure, Intent, IssuedCertificate,
    Next, PrintJob, Screen, Service, Ticket, Waiting,
};

#[derive(Debug)]
pub(super) enum Step {
    Choosing,
    Issuing(Ticket),
    // Boxed: the certificate is large and the other steps are a ticket at most.
    Preview(Box<IssuedCertificate>),
    Printing(Ticket),
    Printed,
    Failed,
}

impl Step {
    pub(super) fn holds_personal_data(&self) -> bool {
        matches!(self, Self::Preview(_))
    }
    /// Once the job is at the printer the paper comes out whatever happens.
    pub(super) fn committed(&self) -> bool {
        matches!(self, Self::Printing(_) | Self::Printed)
    }
}

/// The periods offered; the central service answers for the months the person has.
const PERIODS: [CertificatePeriod; 4] = [
    CertificatePeriod::LastMonths(6),
    CertificatePeriod::LastMonths(12),
    CertificatePeriod::LastMonths(36),
    CertificatePeriod::FullHistory,
];

pub(super) fn start(ctx: &mut Ctx<'_>) -> Step {
    // Every kind is offered: whether the holder receives a pension (for the pension
    // receipt) is the central service's to say, and its refusal is shown.
    ctx.show(Screen::CertificateChoice { kinds: CertificateKind::ALL.to_vec(), periods: PERIODS.to_vec() });
    Step::Choosing
}

pub(super) fn step(step: Step, ctx: &mut Ctx<'_>, event: &Event) -> Next {
    const SERVICE: Service = Service::Certificate;
    let next = match (step, event) {
        (Step::Choosing, Event::Touch(Intent::ChooseCertificate { kind, period })) => {
            let Some(citizen) = ctx.citizen.cloned() else { return Next::End(EndReason::CardRemoved, None) };
            let ticket = ctx.ticket();
            ctx.emit(super::Effect::IssueCertificate { ticket, citizen, kind: *kind, period: *period });
            ctx.show(Screen::Waiting { service: Service::Certificate, what: Waiting::IssuingCertificate });
            Step::Issuing(ticket)
        }
        (Step::Choosing | Step::Issuing(_) | Step::Preview(_) | Step::Failed, Event::Touch(Intent::Back)) => {
            return Next::Menu(None);
        }
        (Step::Issuing(t), Event::CertificateIssued { ticket, result }) if t == *ticket => match result {
            Ok(certificate) => {
                ctx.show(Screen::CertificatePreview { certificate: certificate.clone() });
                Step::Preview(Box::new(certificate.clone()))
            }
            Err(failure) => {
                if *failure == Failure::BadSignature {
                    ctx.audit(AuditRecord::CertificateRejected {
                        session: ctx.session,
                        reason: "server signature did not verify".into(),
                    });
                }
                super::receipt::failed(ctx, SERVICE, failure.clone());
                Step::Failed
            }
        },
        (Step::Preview(certificate), Event::Touch(Intent::Print)) => match ctx.devices.unusable(Device::Printer) {
            Some(why) => {
                super::receipt::failed(ctx, SERVICE, Failure::DeviceFailed(why));
                Step::Failed
            }
            None => {
                let ticket = ctx.ticket();
                ctx.emit(super::Effect::Print { ticket, job: PrintJob::Certificate(*certificate) });
                ctx.show(Screen::Waiting { service: Service::Certificate, what: Waiting::Printing });
                Step::Printing(ticket)
            }
        },
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
        (Step::Printed | Step::Failed, Event::Touch(Intent::Done)) => return Next::Rate(SERVICE),
        (step, _) => step,
    };
    Next::Stay(super::Flow::Certificate(next))
}
