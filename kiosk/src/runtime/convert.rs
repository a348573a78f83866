//! Between the session core's types and the central API's wire types.

use crate::session::{
    ApplicationProgress, CertificateKind, Citizen, ContributionRecord, ContributionYear, Decision, Delivery, IdNumber,
    IssuedCertificate, PersonName, RegistrationReason, Service, Submission,
};
use central::api;
use time::OffsetDateTime;

fn code<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "other".into(),
    }
}

/// The certificate request for the card holder: the last three calendar years up to
/// the current month.
pub fn certificate_request(citizen: &Citizen, kind: CertificateKind, today: OffsetDateTime) -> api::CertificateRequest {
    let to = format!("{:04}-{:02}", today.year(), u8::from(today.month()));
    api::CertificateRequest {
        kind: match kind {
            CertificateKind::Participation => api::CertificateKind::SocialInsuranceParticipation,
            CertificateKind::PensionReceipt => api::CertificateKind::PensionReceipt,
        },
        id_number: citizen.id_number.expose().to_owned(),
        name: citizen.name.expose().to_owned(),
        period: api::Period { from: format!("{:04}-01", today.year() - 2), to },
    }
}

pub fn issued(certificate: &api::Certificate, citizen: &Citizen, kind: CertificateKind) -> IssuedCertificate {
    let b = &certificate.body;
    let months = b.rows.len();
    let mut rows = vec![format!("{} .. {}: {months} months", b.period.from, b.period.to)];
    rows.extend(b.rows.iter().take(36).map(|r| format!("{} {} {:.2}", r.month, r.payer, r.amount_fen as f64 / 100.0)));
    IssuedCertificate {
        number: b.number.clone(),
        holder: PersonName::new(b.holder.name.clone()),
        holder_id: IdNumber::new(citizen.id_number.expose()),
        kind,
        rows,
        verification_code: b.verification_code.clone(),
        verify_url: b.verify_url.clone(),
        signed: serde_json::to_value(certificate).unwrap_or_default(),
    }
}

pub fn contributions(history: &api::ContributionHistory) -> ContributionRecord {
    let mut years: Vec<ContributionYear> = Vec::new();
    for m in &history.months {
        let year: u16 = m.month.get(..4).and_then(|y| y.parse().ok()).unwrap_or_default();
        match years.last_mut() {
            Some(y) if y.year == year => {
                y.months_paid = y.months_paid.saturating_add(1);
                y.base_fen = m.base_fen.max(0) as u64;
                y.employer = m.employer.clone();
            }
            _ => years.push(ContributionYear {
                year,
                months_paid: 1,
                base_fen: m.base_fen.max(0) as u64,
                employer: m.employer.clone(),
            }),
        }
    }
    ContributionRecord { years }
}

pub fn progress(p: &api::ApplicationProgress) -> ApplicationProgress {
    ApplicationProgress {
        tracking: p.tracking_number.clone(),
        status: code(&p.status),
        deadline: Some(p.deadline.clone()),
    }
}

/// The API path and JSON body of a submission.
pub fn submission(s: &Submission, now: OffsetDateTime) -> (&'static str, Vec<u8>) {
    use base64::Engine as _;
    let body = match s {
        Submission::Qualification { citizen, face } => {
            let l = &face.liveness;
            let request = api::QualificationCheckRequest {
                id_number: citizen.id_number.expose().to_owned(),
                name: citizen.name.expose().to_owned(),
                face_jpeg: base64::engine::general_purpose::STANDARD.encode(&face.jpeg),
                liveness: api::LivenessEvidence {
                    method: l.get("method").and_then(|v| v.as_str()).unwrap_or("blink").to_owned(),
                    score: l.get("score").and_then(|v| v.as_f64()).unwrap_or(0.0),
                    passed: l.get("passed").and_then(|v| v.as_bool()).unwrap_or(false),
                    frames: l.get("frames").and_then(|v| v.as_u64()).unwrap_or(0) as u32,
                },
                captured_at: now.replace_nanosecond(0).unwrap_or(now),
            };
            return (api::paths::QUALIFICATION_CHECKS, serde_json::to_vec(&request).unwrap_or_default());
        }
        Submission::Registration { citizen, phone, reason } => api::RegistrationRequest {
            kind: api::RegistrationKind::Unemployment,
            id_number: citizen.id_number.expose().to_owned(),
            name: citizen.name.expose().to_owned(),
            phone: Some(phone.expose().to_owned()),
            reason: Some(code::<RegistrationReason>(reason)),
        },
        // The check-in's face proved presence with the liveness challenge; the v1
        // API does not take the image, so it is dropped here.
        Submission::CheckIn { citizen, .. } => api::RegistrationRequest {
            kind: api::RegistrationKind::MonthlyCheckIn,
            id_number: citizen.id_number.expose().to_owned(),
            name: citizen.name.expose().to_owned(),
            phone: None,
            reason: None,
        },
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
        Some(Delivery::Submitted { tracking: r.tracking_number, decision: Decision::Recorded })
    }
}

/// The local reference printed on a "queued" receipt: from the idempotency key.
pub fn queued_reference(key: &str) -> String {
    let hex: String = key.chars().filter(char::is_ascii_hexdigit).take(10).collect();
    format!("Q-{}", hex.to_ascii_uppercase())
}

pub fn service_kind(s: Service) -> api::ServiceKind {
    match s {
        Service::Certificate => api::ServiceKind::Certificate,
        Service::Qualification => api::ServiceKind::QualificationCheck,
        Service::Contributions => api::ServiceKind::Contributions,
        Service::Unemployment => api::ServiceKind::Registration,
        Service::Progress => api::ServiceKind::ApplicationProgress,
    }
}

pub fn rating(r: &crate::session::RatingRecord, boot_id: &str) -> Option<api::RatingRequest> {
    use crate::session::{Grade, RatingReason as R};
    let grade = match r.grade? {
        Grade::VerySatisfied => 5,
        Grade::Satisfied => 4,
        Grade::Neutral => 3,
        Grade::Dissatisfied => 2,
        Grade::VeryDissatisfied => 1,
    };
    let reasons = r
        .reasons
        .iter()
        .map(|x| match x {
            R::Fast => api::RatingReason::Fast,
            R::EasyToUse => api::RatingReason::EasyToUse,
            R::TooSlow => api::RatingReason::TooSlow,
            R::HardToUse => api::RatingReason::HardToUse,
            R::DeviceProblem => api::RatingReason::DeviceProblem,
            R::Other => api::RatingReason::Other,
        })
        .collect();
    Some(api::RatingRequest {
        session_id: format!("{boot_id}-{}", r.session),
        service: service_kind(r.service),
        grade,
        reasons,
    })
}
