//! Between the session core and the contract's wire messages: the one place requests
//! are built from the core's effects and answers become the core's events. The words
//! (service, certificate kind, reason, grade) are the same types on both sides; what is
//! converted here is structure (months, rows, dates, the liveness evidence as sent).

use contract as api;
use contract::china_time::{china_date, in_china, parse_ymd};
use session::{
    ApplicationProgress, ApplicationStatus, CertificateKind, CertificateMonth, CertificatePeriod, CertificateStatus,
    Citizen, ContributionRecord, ContributionYear, Decision, Delivery, Eligibility, IdNumber, IssuedCertificate,
    MonthRange, Offer, PaymentRecord, PensionPayment, PersonName, Service, Submission, YearMonth,
};
use time::OffsetDateTime;

/// The earliest month the API accepts (`YYYY-MM` with a year from 1900).
const API_FIRST_MONTH: YearMonth = YearMonth { year: 1900, month: 1 };

/// People may work, and so contribute, from their 16th birthday.
const WORKING_AGE: u16 = 16;

/// The calendar month `at` falls in, China time.
pub fn month_of(at: OffsetDateTime) -> YearMonth {
    let local = in_china(at);
    YearMonth { year: u16::try_from(local.year()).unwrap_or(0), month: u8::from(local.month()) }
}

/// The months a certificate over `period` covers: `LastMonths(n)` is the n months ending
/// with the current month; `FullHistory` starts with the month the holder turned 16
/// (birth date from the ID number), the earliest month anyone could have contributed.
pub fn certificate_period(id_number: &IdNumber, period: CertificatePeriod, today: OffsetDateTime) -> MonthRange {
    let to = month_of(today);
    let from = match period {
        CertificatePeriod::LastMonths(n) => to.plus(1 - i64::from(n.max(1))),
        CertificatePeriod::FullHistory => match birth_month(id_number.expose()) {
            Some(born) => born.plus(i64::from(WORKING_AGE) * 12),
            None => {
                tracing::warn!(id = %id_number.masked(), "no birth date in the ID number; full history from 1900");
                API_FIRST_MONTH
            }
        },
    };
    MonthRange { from: from.clamp(API_FIRST_MONTH, to), to }
}

/// Year and month of birth from an 18-character resident ID number (digits 7..12).
fn birth_month(id_number: &str) -> Option<YearMonth> {
    let year = id_number.get(6..10)?.parse().ok()?;
    let month = id_number.get(10..12)?.parse().ok()?;
    YearMonth::new(year, month)
}

/// The certificate request for the card holder over the chosen period.
pub fn certificate_request(
    citizen: &Citizen,
    kind: CertificateKind,
    period: CertificatePeriod,
    today: OffsetDateTime,
) -> api::CertificateRequest {
    certificate_request_for(citizen, kind, certificate_period(&citizen.id_number, period, today))
}

/// The certificate request for the card holder over `months`.
pub fn certificate_request_for(
    citizen: &Citizen,
    kind: CertificateKind,
    months: MonthRange,
) -> api::CertificateRequest {
    api::CertificateRequest {
        kind,
        id_number: citizen.id_number.expose().to_owned(),
        name: citizen.name.expose().to_owned(),
        period: api::Period { from: months.from.to_string(), to: months.to.to_string() },
    }
}

/// The months with a contribution, first to last, from the holder's history.
pub fn contribution_span(history: &api::ContributionHistory) -> Option<MonthRange> {
    let months = history.months.iter().filter_map(|m| YearMonth::parse(&m.month));
    let (from, to) = months.fold(None, |span: Option<(YearMonth, YearMonth)>, m| match span {
        None => Some((m, m)),
        Some((a, b)) => Some((a.min(m), b.max(m))),
    })?;
    Some(MonthRange { from, to })
}

/// The certificate as the kiosk shows and prints it, of the kind the server signed. The
/// status comes from the rows alone; [`participation_status`] refines it with the
/// holder's pension status.
pub fn issued(certificate: &api::Certificate, citizen: &Citizen) -> IssuedCertificate {
    let b = &certificate.body;
    let period = match (YearMonth::parse(&b.period.from), YearMonth::parse(&b.period.to)) {
        (Some(from), Some(to)) => MonthRange { from, to },
        _ => {
            // The server validates periods; this only guards against a broken peer.
            tracing::warn!(number = %b.number, "certificate period is not YYYY-MM");
            let m = month_of(b.issued_at);
            MonthRange { from: m, to: m }
        }
    };
    let mut rows: Vec<CertificateMonth> = b
        .rows
        .iter()
        .filter_map(|r| {
            let month = YearMonth::parse(&r.month)?;
            Some(CertificateMonth { month, payer: r.payer.clone(), base_fen: r.base_fen, amount_fen: r.amount_fen })
        })
        .collect();
    rows.sort_by_key(|r| r.month);
    let status = match b.kind {
        CertificateKind::PensionReceipt => CertificateStatus::ReceivingPension,
        _ => participation_status(&rows, period, None),
    };
    IssuedCertificate {
        number: b.number.clone(),
        kind: b.kind,
        holder: PersonName::new(b.holder.name.clone()),
        holder_id: IdNumber::new(citizen.id_number.expose()),
        period,
        months_covered: u32::try_from(rows.len()).unwrap_or(u32::MAX),
        current_payer: rows.last().map(|r| r.payer.clone()),
        status,
        total_fen: rows.iter().map(|r| r.amount_fen).sum(),
        rows,
        issued_on: china_date(b.issued_at),
        verification_code: b.verification_code.clone(),
        verify_url: b.verify_url.clone(),
    }
}

/// Participation status: retired people are "retired" (not "stopped"); otherwise
/// contributing if the last paid month is the period's last or the one before (this
/// month's contribution is usually posted next month).
pub fn participation_status(
    rows: &[CertificateMonth],
    period: MonthRange,
    history: Option<&api::ContributionHistory>,
) -> CertificateStatus {
    participation_status_with(rows, period, history, true)
}

/// As [`participation_status`]; with `history_counts` false the history's months do not
/// stand in for missing rows (a certificate of one insurance: months in the history may
/// have paid other insurances only).
pub fn participation_status_with(
    rows: &[CertificateMonth],
    period: MonthRange,
    history: Option<&api::ContributionHistory>,
    history_counts: bool,
) -> CertificateStatus {
    let last_ever = history.filter(|_| history_counts).and_then(contribution_span).map(|s| s.to);
    let last = rows.last().map(|r| r.month).or(last_ever);
    match history.map(|h| h.pension_status) {
        Some(api::PensionStatus::Receiving | api::PensionStatus::Suspended) => {
            CertificateStatus::Retired { last: last_ever.or(last) }
        }
        _ => match last {
            None => CertificateStatus::NoContributions,
            Some(last) if last >= period.to.plus(-1) => CertificateStatus::Contributing,
            Some(last) => CertificateStatus::Stopped { last },
        },
    }
}

pub fn contributions(history: &api::ContributionHistory) -> ContributionRecord {
    let mut years: Vec<ContributionYear> = Vec::new();
    for m in &history.months {
        let year: u16 = m.month.get(..4).and_then(|y| y.parse().ok()).unwrap_or_default();
        match years.last_mut() {
            Some(y) if y.year == year => {
                y.months_paid = y.months_paid.saturating_add(1);
                y.personal_fen += m.personal_fen.max(0) as u64;
                y.base_fen = m.base_fen.max(0) as u64;
                y.employer = m.employer.clone();
            }
            _ => years.push(ContributionYear {
                year,
                months_paid: 1,
                base_fen: m.base_fen.max(0) as u64,
                personal_fen: m.personal_fen.max(0) as u64,
                employer: m.employer.clone(),
            }),
        }
    }
    ContributionRecord { years }
}

/// The payment record as the core holds it; a month or day the terminal cannot read is
/// left out (and logged) rather than shown wrong.
pub fn pension_payments(record: &api::PensionPayments) -> PaymentRecord {
    let payments = record
        .payments
        .iter()
        .filter_map(|p| {
            let read = || {
                Some(PensionPayment {
                    month: YearMonth::parse(&p.month)?,
                    amount_fen: u64::try_from(p.amount_fen).ok()?,
                    paid_on: parse_ymd(&p.paid_on)?,
                })
            };
            let payment = read();
            if payment.is_none() {
                tracing::warn!(month = p.month, "unreadable pension payment left out");
            }
            payment
        })
        .collect();
    PaymentRecord { payments }
}

/// The registry's answer as the core holds it.
pub fn eligibility(e: &api::Eligibility) -> Eligibility {
    match e {
        api::Eligibility::NotEligible { reason } => Eligibility::NotEligible(*reason),
        api::Eligibility::Eligible(offer) => Eligibility::Eligible(Offer {
            bands: offer.bands.clone(),
            first_payment_due: offer.first_payment_due.as_deref().and_then(parse_ymd),
            subsidy: offer.subsidy_monthly_fen.zip(offer.subsidy_months),
        }),
    }
}

/// The reason of a `not-eligible` problem (its `detail` is the reason's wire name).
pub fn ineligible(detail: &str) -> Option<api::IneligibleReason> {
    api::IneligibleReason::ALL.into_iter().find(|r| r.code() == detail)
}

/// What the citizen is told when the central service refused a submission's content:
/// the registry's reason when it gave one, else a plain refusal.
pub fn refusal(status: u16, body: &[u8]) -> session::Failure {
    let problem = serde_json::from_slice::<api::Problem>(body).ok();
    match problem.filter(|p| p.kind() == Some(api::ProblemType::NotEligible)).and_then(|p| p.detail) {
        Some(detail) => ineligible(&detail).map_or(session::Failure::Refused(detail), session::Failure::NotEligible),
        None => session::Failure::Refused(format!("HTTP {status}")),
    }
}

/// The registration a service's eligibility check is for.
pub fn registration_kind(service: Service) -> Option<api::RegistrationKind> {
    match service {
        Service::FlexibleEmploymentRegistration => Some(api::RegistrationKind::FlexibleEmployment),
        Service::EmploymentSubsidy => Some(api::RegistrationKind::EmploymentSubsidy),
        Service::JobSeekerRegistration => Some(api::RegistrationKind::JobSeeker),
        _ => None,
    }
}

pub fn progress(p: &api::ApplicationProgress) -> ApplicationProgress {
    ApplicationProgress {
        tracking: p.tracking_number.clone(),
        service: p.kind.service(),
        status: match p.status {
            api::ApplicationStatus::Received => ApplicationStatus::Received,
            api::ApplicationStatus::UnderReview => ApplicationStatus::UnderReview,
            api::ApplicationStatus::Approved => ApplicationStatus::Approved,
            api::ApplicationStatus::Rejected => ApplicationStatus::Rejected,
            api::ApplicationStatus::Completed => ApplicationStatus::Completed,
        },
        // The date the citizen saw on the receipt: China's, not UTC's.
        submitted_on: china_date(p.submitted_at),
        deadline: parse_ymd(&p.deadline),
    }
}

/// The progress of a submission this terminal still holds (its receipt said "queued"):
/// not sent yet, or refused by the central service when it was sent.
pub fn held_progress(reference: &str, held: &crate::outbox::HeldSubmission) -> ApplicationProgress {
    let saved = china_date(
        OffsetDateTime::from_unix_timestamp(held.created_ms.div_euclid(1000)).unwrap_or(OffsetDateTime::UNIX_EPOCH),
    );
    let service = if held.path == api::paths::QUALIFICATION_CHECKS {
        Service::QualificationCheck
    } else {
        // Registration and check-in share a path; the body says which (and only that
        // field is read from it).
        let kind = serde_json::from_slice::<serde_json::Value>(&held.body)
            .ok()
            .and_then(|v| serde_json::from_value::<api::RegistrationKind>(v.get("kind")?.clone()).ok());
        kind.map_or(Service::UnemploymentRegistration, api::RegistrationKind::service)
    };
    ApplicationProgress {
        tracking: reference.to_owned(),
        service,
        status: if held.refused { ApplicationStatus::Rejected } else { ApplicationStatus::Queued },
        submitted_on: saved,
        deadline: None,
    }
}

/// A registration of `kind` for the card holder, with none of the kind-specific fields.
fn registration(kind: api::RegistrationKind, citizen: &Citizen) -> api::RegistrationRequest {
    api::RegistrationRequest {
        kind,
        id_number: citizen.id_number.expose().to_owned(),
        name: citizen.name.expose().to_owned(),
        phone: None,
        reason: None,
        contribution_percent: None,
        job_kind: None,
        district: None,
    }
}

/// The API path and JSON body of a submission.
pub fn submission(s: &Submission, now: OffsetDateTime) -> (&'static str, Vec<u8>) {
    use base64::Engine as _;
    let body = match s {
        Submission::Qualification { citizen, face } => {
            let request = api::QualificationCheckRequest {
                id_number: citizen.id_number.expose().to_owned(),
                name: citizen.name.expose().to_owned(),
                face_jpeg: base64::engine::general_purpose::STANDARD.encode(&face.jpeg),
                liveness: face.liveness.clone(),
                captured_at: now.replace_nanosecond(0).unwrap_or(now),
            };
            return (api::paths::QUALIFICATION_CHECKS, serde_json::to_vec(&request).unwrap_or_default());
        }
        Submission::Registration { citizen, phone, reason } => api::RegistrationRequest {
            phone: Some(phone.expose().to_owned()),
            reason: Some(*reason),
            ..registration(api::RegistrationKind::Unemployment, citizen)
        },
        // The check-in's face proved presence with the liveness challenge; the v1
        // API does not take the image, so it is dropped here.
        Submission::CheckIn { citizen, .. } => registration(api::RegistrationKind::MonthlyCheckIn, citizen),
        Submission::FlexibleEmployment { citizen, band } => api::RegistrationRequest {
            contribution_percent: Some(band.percent),
            ..registration(api::RegistrationKind::FlexibleEmployment, citizen)
        },
        Submission::JobSeeker { citizen, phone, kind, district } => api::RegistrationRequest {
            phone: Some(phone.expose().to_owned()),
            job_kind: Some(*kind),
            district: Some(*district),
            ..registration(api::RegistrationKind::JobSeeker, citizen)
        },
        Submission::EmploymentSubsidy { citizen } => registration(api::RegistrationKind::EmploymentSubsidy, citizen),
    };
    (api::paths::REGISTRATIONS, serde_json::to_vec(&body).unwrap_or_default())
}

/// Reads the server's answer to an accepted submission.
pub fn delivered(path: &str, body: &[u8]) -> Option<Delivery> {
    if path == api::paths::QUALIFICATION_CHECKS {
        let r: api::QualificationCheckResponse = serde_json::from_slice(body).ok()?;
        let decision = match r.outcome {
            api::QualificationOutcome::Approved => Decision::Approved,
            api::QualificationOutcome::Rejected => Decision::Rejected,
            api::QualificationOutcome::PendingReview => Decision::PendingReview,
        };
        Some(Delivery::Submitted { tracking: r.tracking_number, decision })
    } else {
        let r: api::RegistrationReceipt = serde_json::from_slice(body).ok()?;
        // A subsidy is decided by staff; registrations and check-ins are only recorded.
        let decision = match r.kind {
            api::RegistrationKind::EmploymentSubsidy => Decision::PendingReview,
            _ => Decision::Recorded,
        };
        Some(Delivery::Submitted { tracking: r.tracking_number, decision })
    }
}

/// The reference printed on a "queued" receipt: `api::client_reference` of the outbox
/// item's idempotency key (16 digits). Central stores the same value when the outbox
/// delivers the item, so typing it into "application progress" finds the application.
pub fn queued_reference(key: &str) -> String {
    api::client_reference(key)
}

/// A citizen's rating as sent; `None` for a skipped rating (nothing to send).
pub fn rating(r: &session::RatingRecord, boot_id: &str) -> Option<api::RatingRequest> {
    Some(api::RatingRequest {
        session_id: format!("{boot_id}-{}", r.session),
        service: r.service,
        grade: r.grade?.score(),
        reasons: r.reasons.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const PENSIONER: &str = "11010519491231002X";
    const CENTENARIAN: &str = "440524188001010014";
    const WORKER: &str = "450103199001010032";

    fn ym(s: &str) -> YearMonth {
        YearMonth::parse(s).unwrap()
    }

    #[test]
    fn certificate_period_table() {
        use CertificatePeriod::{FullHistory, LastMonths};
        let table = [
            (
                "6 months ending this month",
                WORKER,
                LastMonths(6),
                datetime!(2026-11-21 10:00 UTC),
                "2026-06",
                "2026-11",
            ),
            ("12 months", WORKER, LastMonths(12), datetime!(2026-11-21 10:00 UTC), "2025-12", "2026-11"),
            ("36 months", WORKER, LastMonths(36), datetime!(2026-11-21 10:00 UTC), "2023-12", "2026-11"),
            (
                "January wraps to the year before",
                WORKER,
                LastMonths(6),
                datetime!(2027-01-05 10:00 UTC),
                "2026-08",
                "2027-01",
            ),
            ("12 months from January", WORKER, LastMonths(12), datetime!(2027-01-05 10:00 UTC), "2026-02", "2027-01"),
            ("one month", WORKER, LastMonths(1), datetime!(2026-03-01 10:00 UTC), "2026-03", "2026-03"),
            (
                "zero months means this month",
                WORKER,
                LastMonths(0),
                datetime!(2026-03-01 10:00 UTC),
                "2026-03",
                "2026-03",
            ),
            // 31 Dec 20:00 UTC is already 1 January in China.
            ("months are China time", WORKER, LastMonths(6), datetime!(2026-12-31 20:00 UTC), "2026-08", "2027-01"),
            (
                "full history from the 16th birthday",
                WORKER,
                FullHistory,
                datetime!(2026-11-21 10:00 UTC),
                "2006-01",
                "2026-11",
            ),
            ("born in December", PENSIONER, FullHistory, datetime!(2026-11-21 10:00 UTC), "1965-12", "2026-11"),
            (
                "never before the API's 1900",
                CENTENARIAN,
                FullHistory,
                datetime!(2026-11-21 10:00 UTC),
                "1900-01",
                "2026-11",
            ),
            ("unreadable birth date", "12345", FullHistory, datetime!(2026-11-21 10:00 UTC), "1900-01", "2026-11"),
        ];
        for (what, id, period, today, from, to) in table {
            let got = certificate_period(&IdNumber::new(id), period, today);
            assert_eq!(got, MonthRange { from: ym(from), to: ym(to) }, "{what}");
            if let LastMonths(n) = period {
                assert_eq!(got.len(), u32::from(n.max(1)), "{what}");
            }
        }
    }

    #[test]
    fn certificate_request_carries_the_chosen_period() {
        let citizen = Citizen::new(WORKER, "王伟");
        let req = certificate_request(
            &citizen,
            CertificateKind::AllInsurances,
            CertificatePeriod::LastMonths(12),
            datetime!(2026-11-21 10:00 UTC),
        );
        assert_eq!(req.period, api::Period { from: "2025-12".into(), to: "2026-11".into() });
        assert_eq!(req.kind, api::CertificateKind::AllInsurances);
    }

    fn api_certificate(from: &str, to: &str, months: &[&str]) -> api::Certificate {
        api::Certificate {
            body: api::CertificateBody {
                number: "SI1".into(),
                kind: api::CertificateKind::AllInsurances,
                holder: api::Holder { name: "王伟".into(), id_number_masked: "4501**********0032".into() },
                period: api::Period { from: from.into(), to: to.into() },
                rows: months
                    .iter()
                    .map(|m| api::CertificateRow {
                        month: (*m).into(),
                        payer: if *m < "2026-01" { "南宁市第一机械厂" } else { "南宁市公交集团" }.into(),
                        base_fen: 500_000,
                        amount_fen: 120_000,
                    })
                    .collect(),
                issued_at: datetime!(2026-11-30 17:00 UTC),
                verification_code: "K7Q2".into(),
                verify_url: "https://c.example/verify/K7Q2".into(),
            },
            signature: api::CertificateSignature { algorithm: "Ed25519".into(), key_id: "k".into(), value: "v".into() },
        }
    }

    #[test]
    fn issued_certificate_counts_months_sums_money_and_names_the_current_payer() {
        let citizen = Citizen::new(WORKER, "王伟");
        let c = api_certificate("2025-09", "2026-11", &["2026-02", "2025-12", "2026-01", "2026-10"]);
        let issued = issued(&c, &citizen);
        assert_eq!(issued.period, MonthRange { from: ym("2025-09"), to: ym("2026-11") });
        assert_eq!(issued.months_covered, 4);
        assert_eq!(issued.total_fen, 480_000);
        assert_eq!(issued.rows.first().map(|r| r.month), Some(ym("2025-12")), "oldest first");
        assert_eq!(issued.current_payer.as_deref(), Some("南宁市公交集团"));
        assert_eq!(issued.status, CertificateStatus::Contributing);
        assert_eq!(issued.issued_on, time::macros::date!(2026 - 12 - 01), "issue date in China time");
        let shown = format!("{issued:?}");
        assert!(!shown.contains("王伟") && !shown.contains(WORKER), "Debug masks the holder: {shown}");
        assert!(!shown.contains("南宁"), "Debug leaves the rows out: {shown}");
    }

    #[test]
    fn participation_status_table() {
        let history = |status, months: &[&str]| api::ContributionHistory {
            holder: api::Holder { name: "x".into(), id_number_masked: "x".into() },
            pension_status: status,
            total_months: months.len() as u32,
            months: months
                .iter()
                .map(|m| api::ContributionMonth {
                    month: (*m).into(),
                    employer: "e".into(),
                    base_fen: 1,
                    personal_fen: 1,
                    employer_fen: 1,
                })
                .collect(),
        };
        let rows = |months: &[&str]| -> Vec<CertificateMonth> {
            months
                .iter()
                .map(|m| CertificateMonth { month: ym(m), payer: "e".into(), base_fen: 1, amount_fen: 1 })
                .collect()
        };
        let period = MonthRange { from: ym("2026-06"), to: ym("2026-11") };
        let retired = history(api::PensionStatus::Receiving, &["1995-01", "2009-12"]);
        let worker = history(api::PensionStatus::Contributing, &["2012-01", "2026-10"]);
        let table = [
            ("paid up to last month", rows(&["2026-09", "2026-10"]), None, CertificateStatus::Contributing),
            ("paid this month", rows(&["2026-11"]), Some(&worker), CertificateStatus::Contributing),
            ("stopped in August", rows(&["2026-08"]), None, CertificateStatus::Stopped { last: ym("2026-08") }),
            ("nothing at all", rows(&[]), None, CertificateStatus::NoContributions),
            ("retired", rows(&[]), Some(&retired), CertificateStatus::Retired { last: Some(ym("2009-12")) }),
            (
                "retired, never paid",
                rows(&[]),
                Some(&history(api::PensionStatus::Receiving, &[])),
                CertificateStatus::Retired { last: None },
            ),
        ];
        for (what, rows, history, expected) in table {
            assert_eq!(participation_status(&rows, period, history), expected, "{what}");
        }
    }

    #[test]
    fn contribution_span_is_first_to_last_paid_month() {
        let h = api::ContributionHistory {
            holder: api::Holder { name: "x".into(), id_number_masked: "x".into() },
            pension_status: api::PensionStatus::Receiving,
            total_months: 2,
            months: ["2009-12", "1995-01", "bad"]
                .iter()
                .map(|m| api::ContributionMonth {
                    month: (*m).into(),
                    employer: "e".into(),
                    base_fen: 1,
                    personal_fen: 1,
                    employer_fen: 1,
                })
                .collect(),
        };
        assert_eq!(contribution_span(&h), Some(MonthRange { from: ym("1995-01"), to: ym("2009-12") }));
    }

    #[test]
    fn a_held_submission_is_shown_as_queued_or_refused_under_its_service_on_its_china_date() {
        use crate::outbox::HeldSubmission;
        use session::ApplicationStatus;
        // 2026-11-20 23:30 UTC is already the 21st in China.
        let created_ms = datetime!(2026-11-20 23:30 UTC).unix_timestamp() * 1000;
        let held = |path: &str, body: &[u8], refused| HeldSubmission {
            path: path.into(),
            created_ms,
            refused,
            body: body.to_vec(),
        };
        let check_in = held(api::paths::REGISTRATIONS, br#"{"kind":"monthly_check_in","id_number":"x"}"#, false);
        let p = held_progress("3908215578120466", &check_in);
        assert_eq!((p.service, p.status), (Service::UnemploymentCheckIn, ApplicationStatus::Queued));
        assert_eq!(p.submitted_on, time::macros::date!(2026 - 11 - 21));
        assert_eq!((p.tracking.as_str(), p.deadline), ("3908215578120466", None));
        let registration = held(api::paths::REGISTRATIONS, br#"{"kind":"unemployment"}"#, false);
        assert_eq!(held_progress("1", &registration).service, Service::UnemploymentRegistration);
        // A refused item's body is gone; it still reads as refused.
        let refused = held(api::paths::QUALIFICATION_CHECKS, b"", true);
        let p = held_progress("1", &refused);
        assert_eq!((p.service, p.status), (Service::QualificationCheck, ApplicationStatus::Rejected));
    }
}
