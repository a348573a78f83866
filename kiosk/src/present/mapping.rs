//! One function per direction between the session core's vocabulary and the `ui`
//! crate's: services, kinds, reasons, and every core screen to a view-model screen.

use super::{Drafts, PHONE_LEN, TRACKING_MAX};
use crate::session::{
    self as core, CardProblem, CertificateStatus, Decision, Delivery, Device, Failure, FormError, IssuedCertificate,
    Notice, Problem, ReceiptState, Screen as CoreScreen, Unavailable, Waiting,
};
use ui::model::*;

pub(super) fn ui_service(s: core::Service) -> Service {
    match s {
        core::Service::Certificate => Service::Certificate,
        core::Service::Qualification => Service::QualificationCheck,
        core::Service::Contributions => Service::ContributionRecord,
        core::Service::Registration => Service::UnemploymentRegistration,
        core::Service::CheckIn => Service::UnemploymentCheckIn,
        core::Service::Progress => Service::ApplicationProgress,
    }
}

pub(super) fn core_service(s: Service) -> core::Service {
    match s {
        Service::Certificate => core::Service::Certificate,
        Service::QualificationCheck => core::Service::Qualification,
        Service::ContributionRecord => core::Service::Contributions,
        Service::UnemploymentRegistration => core::Service::Registration,
        Service::UnemploymentCheckIn => core::Service::CheckIn,
        Service::ApplicationProgress => core::Service::Progress,
    }
}

/// The two certificates the central service issues, shown as the ui's kinds.
fn ui_certificate_kind(k: core::CertificateKind) -> CertificateKind {
    match k {
        core::CertificateKind::Participation => CertificateKind::AllInsurances,
        core::CertificateKind::PensionReceipt => CertificateKind::Pension,
    }
}

pub(super) fn core_certificate_kind(k: CertificateKind) -> core::CertificateKind {
    match k {
        CertificateKind::Pension => core::CertificateKind::PensionReceipt,
        // Only the kinds the core offered can be picked; the others are one certificate.
        CertificateKind::AllInsurances
        | CertificateKind::Medical
        | CertificateKind::Unemployment
        | CertificateKind::WorkInjury => core::CertificateKind::Participation,
    }
}

pub(super) fn core_registration_reason(r: UnemploymentReason) -> core::RegistrationReason {
    match r {
        UnemploymentReason::ContractEnded => core::RegistrationReason::ContractEnded,
        UnemploymentReason::Dismissed | UnemploymentReason::EmployerClosed => core::RegistrationReason::Dismissed,
        UnemploymentReason::Resigned => core::RegistrationReason::Resigned,
        UnemploymentReason::Other => core::RegistrationReason::Other,
    }
}

pub(super) fn core_grade(g: RatingGrade) -> core::Grade {
    match g {
        RatingGrade::VerySatisfied => core::Grade::VerySatisfied,
        RatingGrade::Satisfied => core::Grade::Satisfied,
        RatingGrade::Neutral => core::Grade::Neutral,
        RatingGrade::Dissatisfied => core::Grade::Dissatisfied,
        RatingGrade::VeryDissatisfied => core::Grade::VeryDissatisfied,
    }
}

pub(super) fn core_rating_reason(r: RatingReason) -> core::RatingReason {
    match r {
        RatingReason::Fast => core::RatingReason::Fast,
        RatingReason::EasyToUse => core::RatingReason::EasyToUse,
        RatingReason::ClearInstructions => core::RatingReason::ClearInstructions,
        RatingReason::TooSlow => core::RatingReason::TooSlow,
        RatingReason::HardToUse => core::RatingReason::HardToUse,
        RatingReason::DeviceProblem => core::RatingReason::DeviceProblem,
        RatingReason::UnclearInstructions => core::RatingReason::UnclearInstructions,
    }
}

/// Praise chips for the good grades, complaint chips for the others.
pub(super) fn rating_reasons(grade: RatingGrade) -> Vec<RatingReason> {
    use RatingReason as R;
    match grade {
        RatingGrade::VerySatisfied | RatingGrade::Satisfied => vec![R::Fast, R::EasyToUse, R::ClearInstructions],
        RatingGrade::Neutral | RatingGrade::Dissatisfied | RatingGrade::VeryDissatisfied => {
            vec![R::TooSlow, R::HardToUse, R::UnclearInstructions, R::DeviceProblem]
        }
    }
}

pub(super) fn unavailable_reason(u: &Unavailable) -> UnavailableReason {
    match (u.device, &u.problem) {
        (Device::Printer, Problem::PaperOut) => UnavailableReason::PrinterOutOfPaper,
        (Device::Printer, _) => UnavailableReason::PrinterFault,
        (Device::Camera, _) => UnavailableReason::CameraUnavailable,
        (Device::Reader, _) => UnavailableReason::CardReaderFault,
    }
}

fn printer_reason(p: &Problem) -> UnavailableReason {
    unavailable_reason(&Unavailable { device: Device::Printer, problem: p.clone() })
}

fn tiles(tiles: &[core::ServiceTile]) -> Vec<ServiceTile> {
    tiles
        .iter()
        .map(|t| ServiceTile {
            service: ui_service(t.service),
            availability: match &t.unavailable {
                None => Availability::Available,
                Some(u) => Availability::Unavailable(unavailable_reason(u)),
            },
        })
        .collect()
}

fn home_notice(n: Option<Notice>) -> Option<HomeNotice> {
    match n? {
        Notice::CardRemoved => Some(HomeNotice::CardRemoved),
        Notice::TimedOut => Some(HomeNotice::SessionTimedOut),
        Notice::ThankYou => Some(HomeNotice::ThankYou),
        Notice::ServiceBecameUnavailable => Some(HomeNotice::ServiceBecameUnavailable),
        Notice::Card(problem) => Some(HomeNotice::CardRefused(card_error(problem))),
    }
}

pub(super) fn card_error(p: CardProblem) -> CardError {
    match p {
        CardProblem::Unreadable => CardError::Unreadable,
        CardProblem::Expired => CardError::Expired,
        CardProblem::WrongType => CardError::WrongCardType,
    }
}

/// The preview lines of a certificate, in the screen's language.
fn preview_rows(c: &IssuedCertificate, lang: Language) -> Vec<PreviewRow> {
    let zh = lang == Language::ZhCn;
    let row = |field, value: String| PreviewRow { field, value };
    let kind = match (c.kind, zh) {
        (core::CertificateKind::Participation, true) => "社会保险参保证明",
        (core::CertificateKind::Participation, false) => "Social insurance participation",
        (core::CertificateKind::PensionReceipt, true) => "养老金领取证明",
        (core::CertificateKind::PensionReceipt, false) => "Pension receipt",
    };
    let mut rows = vec![
        row(PreviewField::Name, c.holder.masked()),
        row(PreviewField::IdNumber, c.holder_id.masked()),
        row(PreviewField::Insurance, kind.into()),
        row(PreviewField::Period, format!("{} – {}", c.period.from, c.period.to)),
        row(PreviewField::MonthsPaid, c.months_covered.to_string()),
        row(PreviewField::Status, if zh { c.status.zh() } else { status_en(c.status) }),
    ];
    if let Some(payer) = &c.current_payer {
        rows.insert(4, row(PreviewField::Employer, payer.clone()));
    }
    rows.push(row(PreviewField::VerificationCode, c.verification_code.clone()));
    rows
}

/// The period the certificate really covers, in the words of the choice screen: a
/// retired person's participation certificate covers their paying years, not the last
/// months they chose, and the title must not say otherwise.
fn covered_period(c: &IssuedCertificate, now: LocalTime) -> CertificatePeriod {
    let ends_now = c.period.to.year == now.date.year && c.period.to.month == now.date.month;
    match u8::try_from(c.period.len()) {
        Ok(months) if ends_now => CertificatePeriod::LastMonths(months),
        _ => CertificatePeriod::FullHistory,
    }
}

fn status_en(s: CertificateStatus) -> String {
    match s {
        CertificateStatus::Contributing => "Contributing".into(),
        CertificateStatus::Stopped { last } => format!("Stopped (last paid {last})"),
        CertificateStatus::Retired { last: Some(last) } => format!("Retired (paid until {last})"),
        CertificateStatus::Retired { last: None } => "Retired".into(),
        CertificateStatus::NoContributions => "No contributions on record".into(),
        CertificateStatus::ReceivingPension => "Receiving a pension".into(),
    }
}

fn delivery(service: Service, delivery: &Delivery, receipt: &ReceiptState) -> Screen {
    let (kind, tracking) = match delivery {
        Delivery::Queued { reference } => (ResultKind::Queued, reference.clone()),
        Delivery::Submitted { tracking, decision } => (
            match decision {
                Decision::Approved | Decision::Recorded => ResultKind::Submitted,
                Decision::PendingReview => ResultKind::PendingReview,
                Decision::Rejected => ResultKind::Failed(FailureReason::Refused),
            },
            tracking.clone(),
        ),
    };
    let receipt = match receipt {
        ReceiptState::Printing => ReceiptNote::Printing,
        ReceiptState::Printed => ReceiptNote::Printed,
        ReceiptState::ScreenOnly(problem) => {
            ReceiptNote::NotPrinted(problem.as_ref().map_or(UnavailableReason::PrinterFault, printer_reason))
        }
    };
    Screen::Result { service, kind, tracking_number: Some(tracking), receipt }
}

fn failure(service: Service, reason: &Failure) -> Screen {
    let unavailable = |reason| Screen::Unavailable { service: Some(service), reason };
    let failed = |why| Screen::Result {
        service,
        kind: ResultKind::Failed(why),
        tracking_number: None,
        receipt: ReceiptNote::None,
    };
    match reason {
        Failure::CentralUnavailable(_) => unavailable(UnavailableReason::CentralOffline),
        Failure::DeviceFailed(u) => unavailable(unavailable_reason(u)),
        // Nothing could be stored (disk full): a technician has to come.
        Failure::NotStored(_) => unavailable(UnavailableReason::Maintenance),
        Failure::BadSignature | Failure::Refused(_) => failed(FailureReason::Refused),
        Failure::CaptureFailed(why) if why.contains("liveness") => failed(FailureReason::LivenessFailed),
        Failure::CaptureFailed(_) => failed(FailureReason::FaceNotMatched),
    }
}

/// What comes out of the printer for `service`.
fn printout(service: Service) -> Printout {
    match service {
        Service::Certificate => Printout::Certificate,
        Service::ContributionRecord => Printout::ContributionRecord,
        _ => Printout::Receipt,
    }
}

fn keypad(value: &str, max_len: u8, error: Option<InputError>) -> KeypadField {
    KeypadField { value: value.to_owned(), max_len, error }
}

/// The view-model screen for the core's `screen`, completed with the drafts.
pub(super) fn screen(screen: &CoreScreen, d: &Drafts, lang: Language, now: LocalTime, terminal_id: &str) -> Screen {
    match screen {
        CoreScreen::Welcome { tiles: t, notice } => {
            Screen::Home { now, tiles: tiles(t), holder: None, notice: home_notice(*notice) }
        }
        CoreScreen::Menu { holder, masked_id, tiles: t, notice } => Screen::Home {
            now,
            tiles: tiles(t),
            holder: holder
                .as_ref()
                .map(|h| MaskedIdentity { name: h.masked(), id_number: masked_id.clone().unwrap_or_default() }),
            notice: home_notice(*notice),
        },
        CoreScreen::PlaceCard { service, problem } => Screen::CardReading {
            service: ui_service(*service),
            state: match problem {
                Some(p) if !d.card_problem_dismissed => CardReadState::Failed(card_error(*p)),
                _ => CardReadState::WaitingForCard,
            },
        },
        CoreScreen::Identity { service, holder, masked_id } => Screen::IdentityConfirm {
            service: ui_service(*service),
            identity: MaskedIdentity { name: holder.masked(), id_number: masked_id.clone() },
        },
        CoreScreen::Waiting { service, what } => {
            let service = ui_service(*service);
            let activity = match what {
                // The driver reports no progress within a job: the bar starts empty.
                Waiting::Printing => return Screen::Printing { printout: printout(service), percent: 0 },
                Waiting::IssuingCertificate => Activity::IssuingCertificate,
                Waiting::Submitting => Activity::Submitting,
                Waiting::LoadingContributions => Activity::LoadingRecord,
                Waiting::LookingUpApplication => Activity::LookingUpApplication,
            };
            Screen::Waiting { service, activity }
        }
        CoreScreen::CertificateChoice { kinds, periods } => Screen::CertificateChoice {
            kinds: kinds.iter().map(|k| ui_certificate_kind(*k)).collect(),
            selected_kind: d.kind,
            periods: periods.clone(),
            selected_period: d.period,
            can_continue: d.kind.is_some() && d.period.is_some(),
        },
        CoreScreen::CertificatePreview { certificate } => Screen::CertificatePreview {
            kind: ui_certificate_kind(certificate.kind),
            period: covered_period(certificate, now),
            rows: preview_rows(certificate, lang),
        },
        CoreScreen::Capture { service, hint } => Screen::FaceCapture {
            service: ui_service(*service),
            hint: hint.as_ref().map_or(FaceHint::NoFace, |h| h.guide),
            countdown: hint.as_ref().and_then(|h| h.countdown),
            liveness: hint.as_ref().and_then(|h| h.liveness),
            frame: None,
        },
        CoreScreen::Contributions { holder, masked_id, record, can_print } => {
            let years: Vec<ContributionYear> = record
                .years
                .iter()
                .map(|y| ContributionYear {
                    year: y.year,
                    months_paid: y.months_paid,
                    base_fen: y.base_fen,
                    personal_fen: y.personal_fen,
                })
                .collect();
            Screen::ContributionRecord {
                identity: MaskedIdentity { name: holder.masked(), id_number: masked_id.clone() },
                total_months: years.iter().map(|y| u32::from(y.months_paid)).sum(),
                years,
                can_print: can_print.is_none(),
            }
        }
        CoreScreen::RegistrationForm { error, .. } => Screen::RegistrationForm {
            phone: keypad(&d.phone, PHONE_LEN, error.and_then(form_error)),
            reasons: vec![
                UnemploymentReason::ContractEnded,
                UnemploymentReason::Dismissed,
                UnemploymentReason::EmployerClosed,
                UnemploymentReason::Resigned,
                UnemploymentReason::Other,
            ],
            selected_reason: d.reason,
            can_submit: d.phone.len() == usize::from(PHONE_LEN) && d.reason.is_some(),
        },
        CoreScreen::TrackingEntry { error, .. } => Screen::ProgressLookup {
            tracking: keypad(&d.tracking, TRACKING_MAX, error.and_then(form_error)),
            can_submit: d.tracking.len() >= 6,
        },
        CoreScreen::Progress(p) => Screen::ProgressStatus {
            tracking_number: p.tracking.clone(),
            service: ui_service(p.service),
            status: p.status,
            submitted_on: p.submitted_on,
            deadline: p.deadline,
        },
        CoreScreen::Receipt { service, delivery: dl, receipt } => delivery(ui_service(*service), dl, receipt),
        CoreScreen::Printed { service, result } => match result {
            Ok(()) => Screen::TakeReceipt { printout: printout(ui_service(*service)) },
            Err(p) => Screen::Result {
                service: ui_service(*service),
                kind: ResultKind::Failed(FailureReason::PrinterFault),
                tracking_number: None,
                receipt: ReceiptNote::NotPrinted(printer_reason(p)),
            },
        },
        CoreScreen::Failed { service, reason } => failure(ui_service(*service), reason),
        CoreScreen::Rating { service } => Screen::Rating {
            service: ui_service(*service),
            selected: d.grade,
            reasons: d.grade.map(rating_reasons).unwrap_or_default(),
            selected_reasons: d.rating_reasons.clone(),
        },
        CoreScreen::MaintenancePin { error } => super::maintenance::pin_pad(*error, &d.pin),
        CoreScreen::Maintenance(tests) => super::maintenance::overview(tests, terminal_id),
    }
}

fn form_error(e: FormError) -> Option<InputError> {
    match e {
        FormError::InvalidPhone => Some(InputError::InvalidPhone),
        FormError::InvalidTracking => Some(InputError::InvalidTrackingNumber),
        FormError::NotFound => Some(InputError::TrackingNumberNotFound),
        // The submit button stays disabled until a reason is picked.
        FormError::MissingReason => None,
    }
}
