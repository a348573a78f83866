//! Reference business logic on the synthetic registry: certificates, qualification
//! checks, contributions, registrations, application progress and ratings.
//!
//! Qualification outcome, in order (deterministic, so tests can pick a case):
//! unknown ID -> rejected `person_unknown`; name differs -> rejected `name_mismatch`;
//! not receiving a pension -> rejected `not_a_pensioner`; liveness not passed or
//! score < 0.5 -> pending review `liveness_not_passed`; aged 100 or more -> pending
//! review `age_review`; otherwise approved.

use base64::Engine as _;
use chacha20poly1305::aead::{Aead as _, Payload};
use ed25519_dalek::Signer as _;
use rand::Rng as _;
use time::{Date, Duration, OffsetDateTime};

use crate::api::*;
use crate::calendar::{china_date, china_month, next_month, ymd};
use crate::state::{AppState, Tally};
use crate::store::{ApplicationRecord, NewRecord, Person, RegistryAccess, StoreError};

/// A failed call: either a problem the client caused or a server fault.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{kind:?}: {detail}")]
    Problem { kind: ProblemType, detail: String, field: Option<String> },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn problem(kind: ProblemType, detail: impl Into<String>) -> Self {
        Self::Problem { kind, detail: detail.into(), field: None }
    }
    pub fn field(field: &str, detail: impl Into<String>) -> Self {
        Self::Problem { kind: ProblemType::ValidationFailed, detail: detail.into(), field: Some(field.to_owned()) }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::Problem { kind: ProblemType::ValidationFailed, detail: e.message, field: Some(e.field) }
    }
}

/// What a state-changing call produced. Its records are written, and its tally counted,
/// only when they commit together with the call's idempotency outcome.
#[derive(Debug)]
pub struct Submitted<T> {
    pub response: T,
    pub records: Vec<NewRecord>,
    pub tally: Tally,
}

/// Who sent a state-changing call: the enrolled device and the call's `Idempotency-Key`.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub device_id: &'a str,
    pub idempotency_key: &'a str,
}

const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// Random code from an alphabet without look-alike characters.
pub fn random_code(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len).map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char).collect()
}

fn now_seconds() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// The next tracking number of the China day of `at` (see [`crate::tracking`]): unique
/// because the day's sequence is shared by every kind.
fn tracking_number(state: &AppState, prefix: &str, at: OffsetDateTime) -> Result<String, ApiError> {
    let day = ymd(china_date(at)).replace('-', "");
    let sequence = state.store.next_tracking_sequence(&day)?;
    crate::tracking::tracking_number(prefix, &day, sequence).ok_or_else(|| {
        ApiError::Internal(format!(
            "tracking numbers of {day} are used up ({} a day); widen the sequence",
            crate::tracking::SEQUENCE_MAX
        ))
    })
}

/// The date `days` after the China date of `at`, as `YYYY-MM-DD`.
fn deadline(at: OffsetDateTime, days: i64) -> String {
    ymd(china_date(at) + Duration::days(days))
}

/// Pension payments within `period` from the first pension month up to the current
/// month in China at `now` (a payment month is paid once it has begun there).
fn pension_rows(person: &Person, since: &str, period: &Period, now: OffsetDateTime) -> Vec<CertificateRow> {
    let last = china_month(now);
    let mut month = since.max(period.from.as_str()).to_owned();
    let mut rows = Vec::new();
    while month <= period.to && month <= last {
        rows.push(CertificateRow {
            month: month.clone(),
            payer: "南宁市社会保险事业管理局".to_owned(),
            base_fen: person.pension_fen,
            amount_fen: person.pension_fen,
        });
        match next_month(&month) {
            Some(next) => month = next,
            None => break,
        }
    }
    rows
}

fn find_person(state: &AppState, id_number: &str, name: &str) -> Result<Person, ApiError> {
    let person = state.store.person(id_number)?.ok_or_else(|| {
        ApiError::problem(ProblemType::PersonUnknown, "no person with this ID number in the registry")
    })?;
    if person.name != name {
        return Err(ApiError::field("name", "does not match the registry for this ID number"));
    }
    Ok(person)
}

/// `POST /v1/certificates`
pub fn issue_certificate(
    state: &AppState,
    caller: &Caller<'_>,
    req: &CertificateRequest,
) -> Result<Submitted<Certificate>, ApiError> {
    req.validate()?;
    let device_id = caller.device_id;
    let person = find_person(state, &req.id_number, &req.name)?;
    let rows = match req.kind {
        CertificateKind::PensionReceipt => {
            let Some(since) = person.pension_since.clone().filter(|_| person.pension_status == "receiving") else {
                return Err(ApiError::field("kind", "the card holder does not receive a pension"));
            };
            pension_rows(&person, &since, &req.period, OffsetDateTime::now_utc())
        }
        participation => state
            .store
            .contributions(&person.id_number)?
            .into_iter()
            .filter(|c| c.month >= req.period.from && c.month <= req.period.to)
            .filter_map(|c| {
                let amount_fen = match participation.insurance() {
                    None => c.personal_fen + c.employer_fen,
                    Some(insurance) => crate::registry::contribution_to(insurance, &c)?,
                };
                Some(CertificateRow { month: c.month, payer: c.employer, base_fen: c.base_fen, amount_fen })
            })
            .collect(),
    };
    let issued_at = now_seconds();
    let code = random_code(12);
    let body = CertificateBody {
        number: format!("SI{}{}", ymd(china_date(issued_at)).replace('-', ""), random_code(8)),
        kind: req.kind,
        holder: Holder { name: person.name.clone(), id_number_masked: mask_id_number(&person.id_number) },
        period: req.period.clone(),
        rows,
        issued_at,
        verification_code: code.clone(),
        verify_url: format!("{}{code}", state.verify_base_url),
    };
    let signature = state.signing_key.sign(&canonical_certificate_body(&body));
    let certificate = Certificate {
        body,
        signature: CertificateSignature {
            algorithm: "Ed25519".to_owned(),
            key_id: signing_key_id(&state.signing_key.verifying_key()),
            value: base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()),
        },
    };
    let json = serde_json::to_string(&certificate).map_err(|e| ApiError::Internal(e.to_string()))?;
    let records = vec![
        NewRecord::Certificate {
            number: certificate.body.number.clone(),
            code,
            device_id: device_id.to_owned(),
            json,
            issued_at: issued_at.unix_timestamp(),
        },
        NewRecord::RegistryAccess(RegistryAccess {
            at: issued_at.unix_timestamp(),
            device_id: device_id.to_owned(),
            subject_masked: certificate.body.holder.id_number_masked.clone(),
            purpose: "certificate".into(),
            outcome: "shown".into(),
        }),
    ];
    tracing::info!(device_id, number = %certificate.body.number, holder = %certificate.body.holder.id_number_masked, "certificate issued");
    Ok(Submitted { response: certificate, records, tally: Tally::Certificates })
}

/// Looks a certificate up by its verification code and re-checks its signature.
pub fn certificate_for_code(state: &AppState, code: &str) -> Result<Option<(Certificate, bool)>, ApiError> {
    if code.is_empty() || code.len() > 64 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Ok(None);
    }
    let Some(json) = state.store.certificate_by_code(code)? else { return Ok(None) };
    let cert: Certificate = serde_json::from_str(&json).map_err(|e| ApiError::Internal(e.to_string()))?;
    let valid = verify_certificate_signature(&cert, &state.signing_key.verifying_key()).is_ok();
    Ok(Some((cert, valid)))
}

pub(crate) fn age_on(birth_date: &str, on: Date) -> Option<i32> {
    let y: i32 = birth_date.get(..4)?.parse().ok()?;
    let md: (u8, u8) = (birth_date.get(5..7)?.parse().ok()?, birth_date.get(8..10)?.parse().ok()?);
    let had_birthday = (u8::from(on.month()), on.day()) >= md;
    Some(on.year() - y - i32::from(!had_birthday))
}

/// `POST /v1/qualification-checks`
pub fn qualification_check(
    state: &AppState,
    caller: &Caller<'_>,
    req: &QualificationCheckRequest,
) -> Result<Submitted<QualificationCheckResponse>, ApiError> {
    req.validate()?;
    let device_id = caller.device_id;
    let jpeg = base64::engine::general_purpose::STANDARD
        .decode(req.face_jpeg.as_bytes())
        .map_err(|_| ApiError::field("face_jpeg", "is not standard base64"))?;
    if jpeg.len() > FACE_JPEG_MAX_BYTES {
        return Err(ApiError::field("face_jpeg", "is larger than 2 MiB"));
    }
    if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF])
        || image::load_from_memory_with_format(&jpeg, image::ImageFormat::Jpeg).is_err()
    {
        return Err(ApiError::problem(ProblemType::InvalidJpeg, "face_jpeg does not decode as a JPEG image"));
    }
    let now = now_seconds();
    let (outcome, reason) = match state.store.person(&req.id_number)? {
        None => (QualificationOutcome::Rejected, "person_unknown"),
        Some(p) if p.name != req.name => (QualificationOutcome::Rejected, "name_mismatch"),
        Some(p) if p.pension_status != "receiving" => (QualificationOutcome::Rejected, "not_a_pensioner"),
        Some(_) if !req.liveness.passed || req.liveness.score < 0.5 => {
            (QualificationOutcome::PendingReview, "liveness_not_passed")
        }
        Some(p) if age_on(&p.birth_date, china_date(now)).is_some_and(|a| a >= 100) => {
            (QualificationOutcome::PendingReview, "age_review")
        }
        Some(_) => (QualificationOutcome::Approved, ""),
    };
    let tracking = tracking_number(state, "QC", now)?;
    // The face is kept only encrypted; the tracking number is bound as associated data.
    let nonce: [u8; 12] = rand::random();
    let ciphertext = state
        .face_cipher
        .encrypt((&nonce).into(), Payload { msg: &jpeg, aad: tracking.as_bytes() })
        .map_err(|_| ApiError::Internal("face encryption failed".into()))?;
    let (status, tally) = match outcome {
        QualificationOutcome::Approved => ("approved", Tally::QualificationApproved),
        QualificationOutcome::Rejected => ("rejected", Tally::QualificationRejected),
        QualificationOutcome::PendingReview => ("under_review", Tally::QualificationPending),
    };
    let records = vec![
        NewRecord::FaceImage { tracking_number: tracking.clone(), nonce: nonce.to_vec(), ciphertext },
        NewRecord::Application(ApplicationRecord {
            tracking_number: tracking.clone(),
            kind: "qualification_check".into(),
            status: status.into(),
            id_number: req.id_number.clone(),
            device_id: device_id.to_owned(),
            submitted_at: now.unix_timestamp(),
            deadline: deadline(now, 20),
            client_reference: Some(client_reference(caller.idempotency_key)),
            reason: None,
        }),
    ];
    let mut records = records;
    if outcome == QualificationOutcome::PendingReview {
        // What the reviewer sees beside the face: why it was left for a person, and the
        // camera's liveness evidence (a qualification check asks for no phone).
        records.push(NewRecord::ReviewMaterial(crate::store::ReviewMaterial {
            tracking_number: tracking.clone(),
            pending_reason: Some(reason.to_owned()),
            liveness_json: serde_json::to_string(&req.liveness).ok(),
            phone: None,
        }));
    }
    tracing::info!(device_id, tracking, holder = %mask_id_number(&req.id_number), ?outcome, reason, "qualification check");
    let today = china_date(now);
    let valid_until = (outcome == QualificationOutcome::Approved)
        .then(|| format!("{:04}-{:02}", today.year() + 1, u8::from(today.month())));
    let response = QualificationCheckResponse {
        tracking_number: tracking,
        outcome,
        reason: (!reason.is_empty()).then(|| reason.to_owned()),
        valid_until,
    };
    Ok(Submitted { response, records, tally })
}

/// Decrypts a stored face image (for reviewers and tests).
pub fn stored_face(state: &AppState, tracking: &str) -> Result<Option<Vec<u8>>, ApiError> {
    let Some((nonce, ciphertext)) = state.store.face_image(tracking)? else { return Ok(None) };
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| ApiError::Internal("stored nonce length".into()))?;
    let plain = state
        .face_cipher
        .decrypt((&nonce).into(), Payload { msg: &ciphertext, aad: tracking.as_bytes() })
        .map_err(|_| ApiError::Internal("stored face image fails authentication".into()))?;
    Ok(Some(plain))
}

/// The person named by the card holder headers: a valid ID number and the name the
/// registry has for it (the name shows the card is there).
fn card_holder(state: &AppState, id_number: &str, name: &str) -> Result<Person, ApiError> {
    if !id_number_is_valid(id_number) {
        return Err(ApiError::field(CARD_HOLDER_HEADER, "must be an ID number with a valid check digit"));
    }
    check_card_holder_name(name)?;
    let person = state.store.person(id_number)?.ok_or_else(|| {
        ApiError::problem(ProblemType::PersonUnknown, "no person with this ID number in the registry")
    })?;
    if person.name != name {
        return Err(ApiError::field(CARD_HOLDER_NAME_HEADER, "does not match the registry for this ID number"));
    }
    Ok(person)
}

/// `GET /v1/pension-payments`: the last 12 months paid, up to the current month in
/// China (a month is paid on its first day, as the pension receipt counts it).
pub fn pension_payments(state: &AppState, id_number: &str, name: &str) -> Result<PensionPayments, ApiError> {
    let person = card_holder(state, id_number, name)?;
    let since = match (&person.pension_since, person.pension_status.as_str()) {
        (Some(since), "receiving") => since.clone(),
        _ => return Err(not_eligible(IneligibleReason::NotAPensioner)),
    };
    let now = OffsetDateTime::now_utc();
    let last = china_month(now);
    let mut months = vec![last];
    while months.len() < 12 {
        match months.last().and_then(|m| previous_month(m)) {
            Some(m) if m >= since => months.push(m),
            _ => break,
        }
    }
    months.reverse();
    let payments = months
        .into_iter()
        .map(|month| PensionPayment { paid_on: format!("{month}-01"), month, amount_fen: person.pension_fen })
        .collect();
    Ok(PensionPayments { holder: Holder { name: person.name, id_number_masked: mask_id_number(id_number) }, payments })
}

fn previous_month(ym: &str) -> Option<String> {
    let y: i32 = ym.get(..4)?.parse().ok()?;
    let m: u32 = ym.get(5..)?.parse().ok()?;
    Some(if m == 1 { format!("{:04}-12", y - 1) } else { format!("{y:04}-{:02}", m - 1) })
}

fn not_eligible(reason: IneligibleReason) -> ApiError {
    ApiError::problem(ProblemType::NotEligible, reason.code())
}

/// The city's average monthly wage the contribution bands are shares of (synthetic).
pub const AVERAGE_WAGE_FEN: i64 = 700_000;
/// The bases a flexible worker may choose, in percent of [`AVERAGE_WAGE_FEN`].
pub const BAND_PERCENTS: [u16; 6] = [60, 80, 100, 150, 200, 300];
/// A flexible worker pays pension (20 %) and medical (9 %) insurance alone: see
/// `registry::contribution_to`.
const FLEXIBLE_RATE_PER_MILLE: i64 = 290;
/// The "4050" subsidy pays back two thirds of the lowest band's contribution ...
const SUBSIDY_SHARE: (i64, i64) = (2, 3);
/// ... for at most three years.
const SUBSIDY_MONTHS: u32 = 36;

fn band(percent: u16) -> ContributionBand {
    let base_fen = AVERAGE_WAGE_FEN * i64::from(percent) / 100;
    ContributionBand { percent, base_fen, monthly_fen: base_fen * FLEXIBLE_RATE_PER_MILLE / 1000 }
}

/// GB 11643: the 17th digit is odd for men.
fn is_man(id_number: &str) -> bool {
    id_number.as_bytes().get(16).is_some_and(|d| d.is_ascii_digit() && (d - b'0') % 2 == 1)
}

/// Whether `person` may register for `kind` now, and on what terms. The reference rules:
/// - flexible employment: not a pensioner, not insured by an employer this month, not
///   already insured (or registering) as a flexible worker;
/// - employment subsidy: not a pensioner, a woman from 40 or a man from 50, registered
///   unemployed, insured as a flexible worker, no open application.
pub fn assess(
    state: &AppState,
    kind: RegistrationKind,
    person: &Person,
    now: OffsetDateTime,
) -> Result<Result<Offer, IneligibleReason>, ApiError> {
    use IneligibleReason as R;
    if person.pension_status != "contributing" {
        return Ok(Err(R::ReceivingPension));
    }
    let latest = state.store.contributions(&person.id_number)?.pop();
    let insured_now = latest.as_ref().filter(|m| m.month.as_str() >= crate::registry::CURRENT_MONTH);
    let insured_flexibly = insured_now.is_some_and(|m| m.employer == crate::registry::FLEXIBLE_WORKER)
        || state.store.open_application(&person.id_number, "flexible_employment_registration")?.is_some();
    let today = china_date(now);
    match kind {
        RegistrationKind::FlexibleEmployment => {
            if insured_flexibly {
                return Ok(Err(R::AlreadyRegistered));
            }
            if insured_now.is_some() {
                return Ok(Err(R::InsuredByEmployer));
            }
            let due = first_payment_due(today);
            Ok(Ok(Offer {
                bands: BAND_PERCENTS.iter().map(|&p| band(p)).collect(),
                first_payment_due: Some(ymd(due)),
                ..Offer::default()
            }))
        }
        RegistrationKind::EmploymentSubsidy => {
            let from_age = if is_man(&person.id_number) { 50 } else { 40 };
            if age_on(&person.birth_date, today).is_none_or(|age| age < from_age) {
                return Ok(Err(R::BelowSubsidyAge));
            }
            if state.store.open_application(&person.id_number, "unemployment_registration")?.is_none() {
                return Ok(Err(R::NotRegisteredUnemployed));
            }
            if !insured_flexibly {
                return Ok(Err(R::NotInsuredAsFlexibleWorker));
            }
            if state.store.open_application(&person.id_number, "employment_subsidy")?.is_some() {
                return Ok(Err(R::AlreadyApplied));
            }
            let lowest = band(BAND_PERCENTS[0]);
            Ok(Ok(Offer {
                subsidy_monthly_fen: Some(lowest.monthly_fen * SUBSIDY_SHARE.0 / SUBSIDY_SHARE.1),
                subsidy_months: Some(SUBSIDY_MONTHS),
                ..Offer::default()
            }))
        }
        // Anyone of working age not drawing a pension may look for work, once at a time.
        RegistrationKind::JobSeeker => {
            if state.store.open_application(&person.id_number, "job_seeker_registration")?.is_some() {
                return Ok(Err(R::AlreadySeekingWork));
            }
            Ok(Ok(Offer::default()))
        }
        RegistrationKind::Unemployment | RegistrationKind::MonthlyCheckIn => {
            Err(ApiError::problem(ProblemType::NotFound, "no eligibility check for this kind of registration"))
        }
    }
}

/// `GET /v1/job-openings?kind=…&district=…`: the registry's openings of that kind in
/// that district, best paid first, at most [`JOB_OPENINGS_MAX`].
pub fn job_openings(kind: JobKind, district: District) -> JobOpenings {
    let mut openings: Vec<JobOpening> =
        crate::registry::job_openings().into_iter().filter(|o| o.kind == kind && o.district == district).collect();
    openings.sort_by(|a, b| b.wage_max_fen.cmp(&a.wage_max_fen).then_with(|| a.contact_code.cmp(&b.contact_code)));
    openings.truncate(JOB_OPENINGS_MAX);
    JobOpenings { openings }
}

/// A new flexible worker's first month is due by the 25th of the next month.
fn first_payment_due(today: Date) -> Date {
    let (y, m) = match today.month() {
        time::Month::December => (today.year() + 1, time::Month::January),
        m => (today.year(), m.next()),
    };
    Date::from_calendar_date(y, m, 25).unwrap_or(today)
}

/// `GET /v1/eligibility/{kind}`
pub fn eligibility(state: &AppState, kind: &str, id_number: &str, name: &str) -> Result<Eligibility, ApiError> {
    let kind = match kind {
        "flexible_employment" => RegistrationKind::FlexibleEmployment,
        "employment_subsidy" => RegistrationKind::EmploymentSubsidy,
        "job_seeker" => RegistrationKind::JobSeeker,
        _ => return Err(ApiError::problem(ProblemType::NotFound, "no eligibility check for this kind")),
    };
    let person = card_holder(state, id_number, name)?;
    Ok(match assess(state, kind, &person, OffsetDateTime::now_utc())? {
        Ok(offer) => Eligibility::Eligible(offer),
        Err(reason) => Eligibility::NotEligible { reason },
    })
}

/// What became of a registry lookup, as the access log keeps it.
pub fn lookup_outcome<T>(result: &Result<T, ApiError>) -> &'static str {
    match result {
        Ok(_) => "shown",
        Err(ApiError::Problem { kind: ProblemType::PersonUnknown, .. }) => "unknown_person",
        Err(ApiError::Problem { field: Some(field), .. }) if field == CARD_HOLDER_NAME_HEADER => "name_mismatch",
        Err(ApiError::Problem { .. }) => "refused",
        Err(_) => "failed",
    }
}

/// `GET /v1/contributions`: the history of the card holder, shown only to a terminal
/// that read both the ID number and the name from the card.
pub fn contributions(state: &AppState, id_number: &str, name: &str) -> Result<ContributionHistory, ApiError> {
    let person = card_holder(state, id_number, name)?;
    let months: Vec<ContributionMonth> = state
        .store
        .contributions(id_number)?
        .into_iter()
        .map(|c| ContributionMonth {
            month: c.month,
            employer: c.employer,
            base_fen: c.base_fen,
            personal_fen: c.personal_fen,
            employer_fen: c.employer_fen,
        })
        .collect();
    let pension_status = match person.pension_status.as_str() {
        "receiving" => PensionStatus::Receiving,
        "suspended" => PensionStatus::Suspended,
        _ => PensionStatus::Contributing,
    };
    Ok(ContributionHistory {
        holder: Holder { name: person.name, id_number_masked: mask_id_number(id_number) },
        pension_status,
        total_months: u32::try_from(months.len()).unwrap_or(u32::MAX),
        months,
    })
}

/// `POST /v1/registrations`
pub fn register(
    state: &AppState,
    caller: &Caller<'_>,
    req: &RegistrationRequest,
) -> Result<Submitted<RegistrationReceipt>, ApiError> {
    req.validate()?;
    let device_id = caller.device_id;
    let person = find_person(state, &req.id_number, &req.name)?;
    let now = now_seconds();
    let open = state.store.open_application(&person.id_number, "unemployment_registration")?;
    // The terms the receipt states (flexible employment): the band chosen, and when the
    // first month is due.
    let mut terms: Option<(ContributionBand, String)> = None;
    let (prefix, kind, status, deadline_days) = match req.kind {
        RegistrationKind::Unemployment => {
            if person.pension_status != "contributing" {
                return Err(ApiError::field("kind", "pension recipients cannot register as unemployed"));
            }
            if let Some(open) = open {
                return Err(ApiError::field(
                    "kind",
                    format!("an unemployment registration is already open ({})", open.tracking_number),
                ));
            }
            ("UR", "unemployment_registration", "received", 15)
        }
        RegistrationKind::MonthlyCheckIn => {
            if open.is_none() {
                return Err(ApiError::problem(
                    ProblemType::NoOpenRegistration,
                    "a monthly check-in needs an open unemployment registration",
                ));
            }
            ("CI", "monthly_check_in", "completed", 0)
        }
        RegistrationKind::JobSeeker => {
            assess(state, req.kind, &person, now)?.map_err(not_eligible)?;
            ("JS", "job_seeker_registration", "received", 30)
        }
        RegistrationKind::FlexibleEmployment | RegistrationKind::EmploymentSubsidy => {
            // Checked again here: the answer the terminal showed may be out of date.
            let offer = assess(state, req.kind, &person, now)?.map_err(not_eligible)?;
            if req.kind == RegistrationKind::EmploymentSubsidy {
                ("ES", "employment_subsidy", "received", 20)
            } else {
                let chosen =
                    offer.bands.iter().find(|b| Some(b.percent) == req.contribution_percent).ok_or_else(|| {
                        ApiError::field("contribution_percent", format!("must be one of the bands {BAND_PERCENTS:?}"))
                    })?;
                terms = Some((*chosen, offer.first_payment_due.unwrap_or_default()));
                ("FE", "flexible_employment_registration", "received", 15)
            }
        }
    };
    let tracking = tracking_number(state, prefix, now)?;
    let record = NewRecord::Application(ApplicationRecord {
        tracking_number: tracking.clone(),
        kind: kind.into(),
        status: status.into(),
        id_number: person.id_number.clone(),
        device_id: device_id.to_owned(),
        submitted_at: now.unix_timestamp(),
        deadline: deadline(now, deadline_days),
        client_reference: Some(client_reference(caller.idempotency_key)),
        // The form's one choice: why the job ended, or the band.
        reason: match req.kind {
            RegistrationKind::Unemployment => req.reason.map(|r| r.code().to_owned()),
            RegistrationKind::FlexibleEmployment => terms.as_ref().map(|(band, _)| band.percent.to_string()),
            // Both chips, as `kind@district` (`retail@qingxiu`).
            RegistrationKind::JobSeeker => {
                req.job_kind.zip(req.district).map(|(k, d)| format!("{}@{}", k.code(), d.code()))
            }
            _ => None,
        },
    });
    tracing::info!(device_id, tracking, kind, holder = %mask_id_number(&person.id_number), "registration");
    let check_ins = matches!(req.kind, RegistrationKind::Unemployment | RegistrationKind::MonthlyCheckIn);
    let response = RegistrationReceipt {
        tracking_number: tracking,
        kind: req.kind,
        next_check_in_due: check_ins.then(|| deadline(now, 30)),
        monthly_fen: terms.as_ref().map(|(band, _)| band.monthly_fen),
        first_payment_due: terms.map(|(_, due)| due),
    };
    let mut records = vec![record];
    if req.kind == RegistrationKind::EmploymentSubsidy {
        // Decided in the back office, which sends the decision to the phone given.
        records.push(NewRecord::ReviewMaterial(crate::store::ReviewMaterial {
            tracking_number: response.tracking_number.clone(),
            pending_reason: None,
            liveness_json: None,
            phone: req.phone.clone().filter(|p| !p.trim().is_empty()),
        }));
    }
    Ok(Submitted { response, records, tally: Tally::Registrations })
}

/// `GET /v1/applications/{tracking}`: by tracking number, by its digits alone, or by the
/// client reference printed on a "queued" receipt.
pub fn application(state: &AppState, tracking: &str) -> Result<ApplicationProgress, ApiError> {
    let not_found =
        || ApiError::problem(ProblemType::NotFound, "no application with this tracking number or reference");
    if tracking.is_empty() || tracking.len() > 64 {
        return Err(not_found());
    }
    // Typed on a keypad, a tracking number comes without its kind prefix and dashes; a
    // queued receipt's reference is 16 digits, never the 15 (or, issued earlier, 14) of
    // a tracking number.
    let app = match state.store.application(tracking)? {
        Some(app) => app,
        None if is_client_reference(tracking) => {
            state.store.application_by_client_reference(tracking)?.ok_or_else(not_found)?
        }
        None if tracking.len() == crate::tracking::TRACKING_DIGITS_LEN
            && tracking.bytes().all(|b| b.is_ascii_digit())
            && !crate::tracking::check_digit_matches(tracking) =>
        {
            return Err(ApiError::problem(
                ProblemType::NotFound,
                "no application has these digits: the check digit does not match, so a digit was probably mistyped",
            ));
        }
        None if tracking.bytes().all(|b| b.is_ascii_digit()) => {
            let mut found = state.store.applications_by_digits(tracking)?;
            if found.len() > 1 {
                // Only numbers issued before the daily sequence can repeat across kinds.
                return Err(ApiError::problem(
                    ProblemType::NotFound,
                    "more than one application has these digits: give the number with its letters \
                     (e.g. QC-20261121-483920) as printed on the receipt",
                ));
            }
            found.pop().ok_or_else(not_found)?
        }
        None => return Err(not_found()),
    };
    fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, ApiError> {
        serde_json::from_value(serde_json::Value::String(s.to_owned()))
            .map_err(|_| ApiError::Internal(format!("stored application field {s:?}")))
    }
    let kind: ApplicationKind = parse(&app.kind)?;
    let status: ApplicationStatus = parse(&app.status)?;
    let submitted_at = OffsetDateTime::from_unix_timestamp(app.submitted_at)
        .map_err(|_| ApiError::Internal("stored submitted_at".into()))?;
    let open = matches!(status, ApplicationStatus::Received | ApplicationStatus::UnderReview);
    Ok(ApplicationProgress {
        tracking_number: app.tracking_number,
        kind,
        status,
        submitted_at,
        overdue: open && app.deadline < ymd(china_date(OffsetDateTime::now_utc())),
        deadline: app.deadline,
    })
}

/// `POST /v1/ratings`
pub fn rate(_: &AppState, caller: &Caller<'_>, req: &RatingRequest) -> Result<Submitted<RatingReceipt>, ApiError> {
    req.validate()?;
    let rating_id = format!("R-{}", uuid::Uuid::new_v4().simple());
    let json = serde_json::to_string(req).map_err(|e| ApiError::Internal(e.to_string()))?;
    let record = NewRecord::Rating {
        rating_id: rating_id.clone(),
        device_id: caller.device_id.to_owned(),
        json,
        at: OffsetDateTime::now_utc().unix_timestamp(),
    };
    Ok(Submitted { response: RatingReceipt { rating_id }, records: vec![record], tally: Tally::Ratings })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_birthdays_not_calendar_years() {
        let on = Date::from_calendar_date(2026, time::Month::March, 1).unwrap();
        assert_eq!(age_on("1949-12-31", on), Some(76));
        assert_eq!(age_on("1880-01-01", on), Some(146));
    }

    fn pensioner(since: &str) -> Person {
        Person {
            id_number: crate::registry::APPROVED_PENSIONER_ID.into(),
            name: crate::registry::APPROVED_PENSIONER_NAME.into(),
            birth_date: "1949-12-31".into(),
            pension_status: "receiving".into(),
            pension_fen: 350_000,
            pension_since: Some(since.into()),
        }
    }

    fn months(rows: &[CertificateRow]) -> Vec<&str> {
        rows.iter().map(|r| r.month.as_str()).collect()
    }

    #[test]
    fn pension_months_run_to_the_china_month_in_the_first_hours_of_its_first_day() {
        let p = pensioner("2009-12");
        let year = Period { from: "2026-01".into(), to: "2026-12".into() };
        // 2026-12-01 01:00 China time, still 30 November in UTC: December is paid.
        let rows = pension_rows(&p, "2009-12", &year, time::macros::datetime!(2026-12-01 01:00 +8));
        assert_eq!(rows.len(), 12, "{:?}", months(&rows));
        assert_eq!(months(&rows).last(), Some(&"2026-12"));
        assert!(rows.iter().all(|r| r.amount_fen == 350_000));
        // One second before China midnight, December has not begun.
        let rows = pension_rows(&p, "2009-12", &year, time::macros::datetime!(2026-11-30 15:59:59 UTC));
        assert_eq!(months(&rows).last(), Some(&"2026-11"));
        assert_eq!(rows.len(), 11);
    }

    #[test]
    fn pension_months_start_at_the_later_of_the_period_and_the_first_pension_month() {
        let p = pensioner("2026-03");
        let period = Period { from: "2026-01".into(), to: "2026-05".into() };
        let rows = pension_rows(&p, "2026-03", &period, time::macros::datetime!(2026-12-01 01:00 +8));
        assert_eq!(months(&rows), ["2026-03", "2026-04", "2026-05"]);
    }

    fn state_with_store(dir: &std::path::Path) -> AppState {
        let config = crate::ServerConfig::new(dir);
        let store = crate::store::SqliteStore::open(&dir.join("c.db")).unwrap();
        let ca = crate::pki::FleetCa::load_or_create(dir, &[]).unwrap();
        AppState {
            verify_base_url: "https://localhost/verify/".into(),
            instance: "test".into(),
            notifier: std::sync::Arc::new(crate::notify::LogNotifier),
            throttles: crate::state::Throttles::new(&config),
            passwords: crate::password::PasswordChecker::start(1, 1),
            connections: std::sync::Arc::new(crate::connections::Connections::new(
                8,
                crate::connections::Deadlines {
                    header: config.header_timeout,
                    idle: config.idle_timeout,
                    body: config.body_timeout,
                },
            )),
            config,
            store: std::sync::Arc::new(store),
            ca,
            signing_key: ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
            face_cipher: crate::state::face_cipher(&[9; 32]),
            counters: Default::default(),
            metrics_token_hash: [0; 32],
            metrics: Default::default(),
        }
    }

    #[test]
    fn tracking_numbers_and_deadlines_carry_the_china_date() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_with_store(dir.path());
        let at = time::macros::datetime!(2026-11-30 17:00 UTC);
        assert!(tracking_number(&state, "QC", at).unwrap().starts_with("QC-20261201-"));
        assert_eq!(deadline(at, 20), "2026-12-21");
    }

    /// Six random digits a day collide within about 1,200 draws (birthday bound); 5,000
    /// applications of one day, of every kind, must still all have different digits.
    #[test]
    fn five_thousand_applications_of_one_day_never_share_their_digits() {
        let dir = tempfile::tempdir().unwrap();
        let state = state_with_store(dir.path());
        let at = time::macros::datetime!(2026-11-21 05:00 UTC);
        let mut digits = std::collections::HashSet::new();
        for i in 0..5_000 {
            let prefix = ["QC", "UR", "CI"][i % 3];
            let number = tracking_number(&state, prefix, at).unwrap();
            let typed: String = number.chars().filter(char::is_ascii_digit).collect();
            assert_eq!(typed.len(), crate::tracking::TRACKING_DIGITS_LEN, "{number}");
            assert!(!is_client_reference(&typed));
            assert!(typed.len() <= 20, "the keypad takes at most 20 digits");
            assert!(digits.insert(typed), "{number} repeats the digits of an earlier number");
        }
        // The next day starts again at 1, still unique because the date is part of it.
        let next = tracking_number(&state, "QC", at + Duration::days(1)).unwrap();
        assert!(next.starts_with("QC-20261122-000001"), "{next}");
    }
}
