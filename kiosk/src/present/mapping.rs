//! The one place the session core's screens meet the `ui` crate's: every core screen
//! (with the presenter's drafts) becomes a view-model screen. The two screen
//! vocabularies differ on purpose (what happens vs how it is drawn); the words inside
//! them (services, kinds, reasons, grades, hints, statuses) are the same types on both
//! sides, so nothing is translated and nothing can be lost.

use super::{Drafts, PHONE_LEN, TRACKING_MAX};
use session::{
    self as core, CardProblem, CertificateStatus, Decision, Delivery, Device, Failure, FormError, IssuedCertificate,
    Notice, Problem, ReceiptState, Screen as CoreScreen, Unavailable, Waiting,
};
use ui::model::*;

pub(super) fn unavailable_reason(u: &Unavailable) -> UnavailableReason {
    match (u.device, &u.problem) {
        (Device::Printer, Problem::PaperOut) => UnavailableReason::PrinterOutOfPaper,
        (Device::Printer, _) => UnavailableReason::PrinterFault,
        (Device::Camera, _) => UnavailableReason::CameraUnavailable,
        (Device::Reader | Device::SocialSecurityReader | Device::Scanner, _) => UnavailableReason::CardReaderFault,
        // A full disk needs a technician: "out of service, maintenance".
        (Device::Storage, _) => UnavailableReason::Maintenance,
        (Device::Enrollment, _) => UnavailableReason::OutOfService,
    }
}

fn printer_reason(p: &Problem) -> UnavailableReason {
    unavailable_reason(&Unavailable { device: Device::Printer, problem: p.clone() })
}

/// Whether every service is down because operations retired the terminal.
fn retired(tiles: &[core::ServiceTile]) -> bool {
    !tiles.is_empty() && tiles.iter().all(|t| t.unavailable.as_ref().is_some_and(|u| u.device == Device::Enrollment))
}

fn tiles(tiles: &[core::ServiceTile]) -> Vec<ServiceTile> {
    tiles
        .iter()
        .map(|t| ServiceTile {
            service: t.service,
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
        CardProblem::Blocked => CardError::Blocked,
        CardProblem::Invalid => CardError::Invalid,
        CardProblem::Unsupported => CardError::Unsupported,
    }
}

/// The preview lines of a certificate, in the screen's language.
fn preview_rows(c: &IssuedCertificate, lang: Language) -> Vec<PreviewRow> {
    let zh = lang == Language::ZhCn;
    let row = |field, value: String| PreviewRow { field, value };
    let kind = if zh { c.kind.title_zh() } else { c.kind.title_en() };
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
    let ends_now = i32::from(c.period.to.year) == now.date.year() && c.period.to.month == u8::from(now.date.month());
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

fn delivery(service: Service, delivery: &Delivery, receipt: &ReceiptState, terms: Option<&core::Terms>) -> Screen {
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
    let terms = terms.map(|t| PaymentTerms {
        monthly_fen: u64::try_from(t.monthly_fen).unwrap_or(0),
        first_payment_due: t.first_payment_due,
    });
    Screen::Result { service, kind, tracking_number: Some(tracking), receipt, terms }
}

fn not_eligible(service: Service, reason: core::IneligibleReason) -> Screen {
    Screen::Result {
        service,
        kind: ResultKind::Failed(FailureReason::NotEligible(reason)),
        tracking_number: None,
        receipt: ReceiptNote::None,
        terms: None,
    }
}

fn fen(f: i64) -> u64 {
    u64::try_from(f).unwrap_or(0)
}

fn failure(service: Service, reason: &Failure) -> Screen {
    let unavailable = |reason| Screen::Unavailable { service: Some(service), reason };
    let failed = |why| Screen::Result {
        service,
        kind: ResultKind::Failed(why),
        tracking_number: None,
        receipt: ReceiptNote::None,
        terms: None,
    };
    match reason {
        Failure::CentralUnavailable(_) => unavailable(UnavailableReason::CentralOffline),
        Failure::DeviceFailed(u) => unavailable(unavailable_reason(u)),
        // Nothing could be stored (disk full): a technician has to come.
        Failure::NotStored(_) => unavailable(UnavailableReason::Maintenance),
        Failure::BadSignature | Failure::Refused(_) => failed(FailureReason::Refused),
        Failure::CaptureFailed(why) if why.contains("liveness") => failed(FailureReason::LivenessFailed),
        Failure::CaptureFailed(_) => failed(FailureReason::FaceNotMatched),
        Failure::NotEligible(why) => not_eligible(service, *why),
    }
}

/// What comes out of the printer for `service`.
fn printout(service: Service) -> Printout {
    match service {
        Service::Certificate => Printout::Certificate,
        Service::ContributionRecord => Printout::ContributionRecord,
        Service::PensionPayments => Printout::PensionPayments,
        _ => Printout::Receipt,
    }
}

fn keypad(value: &str, max_len: u8, error: Option<InputError>) -> KeypadField {
    KeypadField { value: value.to_owned(), max_len, error }
}

/// The view-model screen for the core's `screen`, completed with the drafts.
pub(super) fn screen(screen: &CoreScreen, d: &Drafts, lang: Language, now: LocalTime, terminal_id: &str) -> Screen {
    match screen {
        // A retired terminal offers nothing at all: one "out of service" page, not six
        // greyed-out tiles.
        CoreScreen::Welcome { tiles: t, .. } if retired(t) => {
            Screen::Unavailable { service: None, reason: UnavailableReason::OutOfService }
        }
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
            service: *service,
            state: match problem {
                Some(p) if !d.card_problem_dismissed => CardReadState::Failed(card_error(*p)),
                _ => CardReadState::WaitingForCard,
            },
        },
        CoreScreen::Identity { service, holder, masked_id } => Screen::IdentityConfirm {
            service: *service,
            identity: MaskedIdentity { name: holder.masked(), id_number: masked_id.clone() },
        },
        CoreScreen::Waiting { service, what } => {
            let service = *service;
            let activity = match what {
                // The driver reports no progress within a job: the bar starts empty.
                Waiting::Printing => return Screen::Printing { printout: printout(service), percent: 0 },
                Waiting::IssuingCertificate => Activity::IssuingCertificate,
                Waiting::Submitting => Activity::Submitting,
                Waiting::LoadingContributions => Activity::LoadingRecord,
                Waiting::LookingUpApplication => Activity::LookingUpApplication,
                Waiting::LoadingPayments => Activity::LoadingPayments,
                Waiting::CheckingEligibility => Activity::CheckingEligibility,
                Waiting::LookingUpOpenings => Activity::LookingUpOpenings,
            };
            Screen::Waiting { service, activity }
        }
        CoreScreen::CertificateChoice { kinds, periods } => Screen::CertificateChoice {
            kinds: kinds.clone(),
            selected_kind: d.kind,
            periods: periods.clone(),
            selected_period: d.period,
            can_continue: d.kind.is_some() && d.period.is_some(),
        },
        CoreScreen::CertificatePreview { certificate } => Screen::CertificatePreview {
            kind: certificate.kind,
            period: covered_period(certificate, now),
            rows: preview_rows(certificate, lang),
        },
        CoreScreen::Capture { service, hint } => Screen::FaceCapture {
            service: *service,
            hint: hint.as_ref().map_or(FaceHint::NoFace, |h| h.guide),
            countdown: hint.as_ref().and_then(|h| h.countdown),
            liveness: hint.as_ref().and_then(|h| h.liveness),
            frame: None,
        },
        CoreScreen::Contributions { holder, masked_id, record, can_print } => {
            let years = record.years.clone();
            Screen::ContributionRecord {
                identity: MaskedIdentity { name: holder.masked(), id_number: masked_id.clone() },
                total_months: years.iter().map(|y| u32::from(y.months_paid)).sum(),
                years,
                can_print: can_print.is_none(),
            }
        }
        CoreScreen::PensionPayments { holder, masked_id, record, can_print } => Screen::PensionPayments {
            identity: MaskedIdentity { name: holder.masked(), id_number: masked_id.clone() },
            payments: record
                .payments
                .iter()
                .map(|p| PaymentLine { month: p.month, amount_fen: p.amount_fen, paid_on: p.paid_on })
                .collect(),
            total_fen: record.payments.iter().map(|p| p.amount_fen).sum(),
            can_print: can_print.is_none(),
        },
        CoreScreen::FlexibleOffer { bands, first_payment_due, error } => Screen::FlexibleOffer {
            bands: bands
                .iter()
                .map(|b| BandChoice { percent: b.percent, base_fen: fen(b.base_fen), monthly_fen: fen(b.monthly_fen) })
                .collect(),
            selected: d.band,
            first_payment_due: *first_payment_due,
            missing_band: *error == Some(FormError::MissingBand) && d.band.is_none(),
        },
        CoreScreen::SubsidyOffer { monthly_fen, months } => {
            Screen::SubsidyOffer { monthly_fen: fen(*monthly_fen), months: *months }
        }
        CoreScreen::NotEligible { service, reason } => not_eligible(*service, *reason),
        CoreScreen::JobSeekerForm { error, .. } => Screen::JobSeekerForm {
            phone: keypad(&d.phone, PHONE_LEN, error.and_then(form_error)),
            kinds: JobKind::ALL.to_vec(),
            selected_kind: d.job_kind,
            districts: District::ALL.to_vec(),
            selected_district: d.district,
            can_submit: d.phone.len() == usize::from(PHONE_LEN) && d.job_kind.is_some() && d.district.is_some(),
        },
        CoreScreen::Openings { kind, district, openings, found } => Screen::Openings {
            kind: *kind,
            district: *district,
            openings: openings
                .iter()
                .map(|o| OpeningLine {
                    contact_code: o.contact_code.clone(),
                    title: o.title.clone(),
                    employer: o.employer.clone(),
                    wage_min_fen: fen(o.wage_min_fen),
                    wage_max_fen: fen(o.wage_max_fen),
                })
                .collect(),
            found: *found,
        },
        CoreScreen::RegistrationForm { error, .. } => Screen::RegistrationForm {
            phone: keypad(&d.phone, PHONE_LEN, error.and_then(form_error)),
            reasons: UnemploymentReason::ALL.to_vec(),
            selected_reason: d.reason,
            can_submit: d.phone.len() == usize::from(PHONE_LEN) && d.reason.is_some(),
        },
        CoreScreen::TrackingEntry { error, .. } => Screen::ProgressLookup {
            tracking: keypad(&d.tracking, TRACKING_MAX, error.and_then(form_error)),
            can_submit: d.tracking.len() >= 6,
        },
        CoreScreen::Progress(p) => Screen::ProgressStatus {
            tracking_number: p.tracking.clone(),
            service: p.service,
            status: p.status,
            submitted_on: p.submitted_on,
            deadline: p.deadline,
        },
        CoreScreen::Receipt { service, delivery: dl, receipt, terms } => {
            delivery(*service, dl, receipt, terms.as_ref())
        }
        CoreScreen::Printed { service, result } => match result {
            Ok(()) => Screen::TakeReceipt { printout: printout(*service) },
            Err(p) => Screen::Result {
                service: *service,
                kind: ResultKind::Failed(FailureReason::PrinterFault),
                tracking_number: None,
                receipt: ReceiptNote::NotPrinted(printer_reason(p)),
                terms: None,
            },
        },
        CoreScreen::Failed { service, reason } => failure(*service, reason),
        CoreScreen::Rating { service } => Screen::Rating {
            service: *service,
            selected: d.grade,
            reasons: d.grade.map(|g| g.reasons().to_vec()).unwrap_or_default(),
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
        FormError::NotAnApplication => Some(InputError::NotAnApplication),
        // The submit button stays disabled until a reason (or job kind and district) is
        // picked; a missing band is said on the band form itself.
        FormError::MissingReason | FormError::MissingBand | FormError::MissingJobKind | FormError::MissingDistrict => {
            None
        }
    }
}
