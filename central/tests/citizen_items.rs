//! The items beyond the first six, over HTTPS against the synthetic registry: pension
//! payment records, flexible-employment registration and the "4050" employment
//! subsidy, each for an eligible person and for every reason the registry says no.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use central::api::*;
use central::registry::*;
use common::*;

fn registration(kind: RegistrationKind, id: &str, name: &str) -> RegistrationRequest {
    RegistrationRequest {
        kind,
        id_number: id.into(),
        name: name.into(),
        phone: None,
        reason: None,
        contribution_percent: None,
        job_kind: None,
        district: None,
    }
}

async fn eligibility(rig: &Rig, t: &Terminal, kind: &str, id: &str, name: &str) -> Eligibility {
    let resp = t.holder_get(rig, &format!("{}/{kind}", paths::ELIGIBILITY), id, name).await;
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

fn refused(reason: IneligibleReason) -> Eligibility {
    Eligibility::NotEligible { reason }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pensioner_sees_twelve_months_paid_and_a_worker_is_told_why_not() {
    let rig = start().await;
    let t = rig.enroll().await;
    let resp = t.holder_get(&rig, paths::PENSION_PAYMENTS, APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await;
    assert_eq!(resp.status(), 200);
    let record: PensionPayments = resp.json().await.unwrap();
    assert_eq!(record.holder.id_number_masked, mask_id_number(APPROVED_PENSIONER_ID));
    assert_eq!(record.payments.len(), 12);
    let months: Vec<&str> = record.payments.iter().map(|p| p.month.as_str()).collect();
    let mut sorted = months.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(months, sorted, "oldest first, no month twice");
    let this_month = contract::china_time::china_date(time::OffsetDateTime::now_utc());
    assert_eq!(*months.last().unwrap(), &format!("{:04}-{:02}", this_month.year(), u8::from(this_month.month())));
    assert!(record.payments.iter().all(|p| p.amount_fen > 0 && p.paid_on.starts_with(&p.month)));

    let (status, p) = problem(t.holder_get(&rig, paths::PENSION_PAYMENTS, WORKER_ID, WORKER_NAME).await).await;
    assert_eq!((status, p.kind(), p.detail.as_deref()), (422, Some(ProblemType::NotEligible), Some("not_a_pensioner")));
    // The name read from the card must be the registry's, as for contributions.
    let (status, p) = problem(t.holder_get(&rig, paths::PENSION_PAYMENTS, APPROVED_PENSIONER_ID, "王伟").await).await;
    assert_eq!((status, p.field.as_deref()), (422, Some(CARD_HOLDER_NAME_HEADER)));
    // Every lookup is in the access log, masked.
    let log = rig.server.store().recent_registry_access(10).unwrap();
    assert!(log.iter().any(|a| a.purpose == "pension_payments" && a.outcome == "shown"));
    assert!(log.iter().all(|a| !a.subject_masked.contains(&APPROVED_PENSIONER_ID[6..14])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flexible_employment_shows_the_bands_registers_once_and_refuses_with_reasons() {
    let rig = start().await;
    let t = rig.enroll().await;
    let kind = "flexible_employment";
    let Eligibility::Eligible(offer) =
        eligibility(&rig, &t, kind, FLEXIBLE_CANDIDATE_ID, FLEXIBLE_CANDIDATE_NAME).await
    else {
        panic!("the flexible candidate must be eligible")
    };
    assert_eq!(offer.bands.iter().map(|b| b.percent).collect::<Vec<_>>(), [60, 80, 100, 150, 200, 300]);
    assert!(offer.bands.windows(2).all(|w| w[0].monthly_fen < w[1].monthly_fen));
    // 29 % of the base: pension 20 % and medical 9 %, as the registry counts them.
    assert!(offer.bands.iter().all(|b| b.monthly_fen == b.base_fen * 290 / 1000));
    let due = offer.first_payment_due.clone().unwrap();
    assert!(due.ends_with("-25"), "{due}");

    // Pensioners and people insured by an employer are told why not.
    assert_eq!(
        eligibility(&rig, &t, kind, APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await,
        refused(IneligibleReason::ReceivingPension)
    );
    assert_eq!(
        eligibility(&rig, &t, kind, SUBSIDY_CANDIDATE_ID, SUBSIDY_CANDIDATE_NAME).await,
        refused(IneligibleReason::AlreadyRegistered)
    );

    let mut req = registration(RegistrationKind::FlexibleEmployment, FLEXIBLE_CANDIDATE_ID, FLEXIBLE_CANDIDATE_NAME);
    let (status, p) = problem(t.post(&rig, paths::REGISTRATIONS, "f0", &req).await).await;
    assert_eq!((status, p.field.as_deref()), (422, Some("contribution_percent")));
    req.contribution_percent = Some(70);
    let (status, p) = problem(t.post(&rig, paths::REGISTRATIONS, "f1", &req).await).await;
    assert_eq!((status, p.field.as_deref()), (422, Some("contribution_percent")), "70 % is not a band");
    req.contribution_percent = Some(100);
    let resp = t.post(&rig, paths::REGISTRATIONS, "f2", &req).await;
    assert_eq!(resp.status(), 201);
    let receipt: RegistrationReceipt = resp.json().await.unwrap();
    assert!(receipt.tracking_number.starts_with("FE-"), "{}", receipt.tracking_number);
    assert_eq!(receipt.monthly_fen, Some(offer.bands[2].monthly_fen));
    assert_eq!(receipt.first_payment_due.as_deref(), Some(due.as_str()));
    assert_eq!(receipt.next_check_in_due, None);
    let stored = rig.server.store().application(&receipt.tracking_number).unwrap().unwrap();
    assert_eq!((stored.kind.as_str(), stored.reason.as_deref()), ("flexible_employment_registration", Some("100")));
    let progress: ApplicationProgress = t
        .http
        .get(rig.url(&format!("{}/{}", paths::APPLICATIONS, receipt.tracking_number)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(progress.kind, ApplicationKind::FlexibleEmploymentRegistration);

    // Registered now: asking again, or registering again, is refused with the reason.
    assert_eq!(
        eligibility(&rig, &t, kind, FLEXIBLE_CANDIDATE_ID, FLEXIBLE_CANDIDATE_NAME).await,
        refused(IneligibleReason::AlreadyRegistered)
    );
    let (status, p) = problem(t.post(&rig, paths::REGISTRATIONS, "f3", &req).await).await;
    assert_eq!(
        (status, p.kind(), p.detail.as_deref()),
        (422, Some(ProblemType::NotEligible), Some("already_registered"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_4050_subsidy_needs_age_unemployment_registration_and_flexible_insurance() {
    let rig = start().await;
    let t = rig.enroll().await;
    let kind = "employment_subsidy";
    // A man of 36: below the age.
    assert_eq!(eligibility(&rig, &t, kind, WORKER_ID, WORKER_NAME).await, refused(IneligibleReason::BelowSubsidyAge));
    assert_eq!(
        eligibility(&rig, &t, kind, APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await,
        refused(IneligibleReason::ReceivingPension)
    );
    // A woman of 42 not registered unemployed, then registered but not insured flexibly.
    assert_eq!(
        eligibility(&rig, &t, kind, FLEXIBLE_CANDIDATE_ID, FLEXIBLE_CANDIDATE_NAME).await,
        refused(IneligibleReason::NotRegisteredUnemployed)
    );
    let mut unemployed = registration(RegistrationKind::Unemployment, FLEXIBLE_CANDIDATE_ID, FLEXIBLE_CANDIDATE_NAME);
    unemployed.phone = Some("13800138000".into());
    unemployed.reason = Some(UnemploymentReason::ContractEnded);
    assert_eq!(t.post(&rig, paths::REGISTRATIONS, "u1", &unemployed).await.status(), 201);
    assert_eq!(
        eligibility(&rig, &t, kind, FLEXIBLE_CANDIDATE_ID, FLEXIBLE_CANDIDATE_NAME).await,
        refused(IneligibleReason::NotInsuredAsFlexibleWorker)
    );
    // The subsidy candidate, once registered unemployed, is offered the subsidy.
    assert_eq!(
        eligibility(&rig, &t, kind, SUBSIDY_CANDIDATE_ID, SUBSIDY_CANDIDATE_NAME).await,
        refused(IneligibleReason::NotRegisteredUnemployed)
    );
    let req = registration(RegistrationKind::EmploymentSubsidy, SUBSIDY_CANDIDATE_ID, SUBSIDY_CANDIDATE_NAME);
    let (status, p) = problem(t.post(&rig, paths::REGISTRATIONS, "s0", &req).await).await;
    assert_eq!(
        (status, p.kind(), p.detail.as_deref()),
        (422, Some(ProblemType::NotEligible), Some("not_registered_unemployed"))
    );
    let mut unemployed = registration(RegistrationKind::Unemployment, SUBSIDY_CANDIDATE_ID, SUBSIDY_CANDIDATE_NAME);
    unemployed.phone = Some("13900139000".into());
    unemployed.reason = Some(UnemploymentReason::Dismissed);
    assert_eq!(t.post(&rig, paths::REGISTRATIONS, "u2", &unemployed).await.status(), 201);
    let Eligibility::Eligible(offer) = eligibility(&rig, &t, kind, SUBSIDY_CANDIDATE_ID, SUBSIDY_CANDIDATE_NAME).await
    else {
        panic!("the subsidy candidate must now be eligible")
    };
    assert_eq!(offer.subsidy_months, Some(36));
    assert!(offer.subsidy_monthly_fen.is_some_and(|f| f > 0));
    assert!(offer.bands.is_empty());
    let resp = t.post(&rig, paths::REGISTRATIONS, "s1", &req).await;
    assert_eq!(resp.status(), 201);
    let receipt: RegistrationReceipt = resp.json().await.unwrap();
    assert!(receipt.tracking_number.starts_with("ES-"), "{}", receipt.tracking_number);
    let stored = rig.server.store().application(&receipt.tracking_number).unwrap().unwrap();
    assert_eq!((stored.kind.as_str(), stored.status.as_str()), ("employment_subsidy", "received"));
    assert_eq!(
        eligibility(&rig, &t, kind, SUBSIDY_CANDIDATE_ID, SUBSIDY_CANDIDATE_NAME).await,
        refused(IneligibleReason::AlreadyApplied)
    );
    // A replay of the same submission gets the same receipt, not a second application.
    let again: RegistrationReceipt = t.post(&rig, paths::REGISTRATIONS, "s1", &req).await.json().await.unwrap();
    assert_eq!(again.tracking_number, receipt.tracking_number);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_eligibility_kind_is_not_found() {
    let rig = start().await;
    let t = rig.enroll().await;
    for kind in ["unemployment", "monthly_check_in", "x", "%2e%2e", "JOB_SEEKER"] {
        let (status, p) =
            problem(t.holder_get(&rig, &format!("{}/{kind}", paths::ELIGIBILITY), WORKER_ID, WORKER_NAME).await).await;
        assert_eq!((status, p.kind()), (404, Some(ProblemType::NotFound)), "{kind}");
    }
    // Without the holder headers: a problem, never a lookup.
    let resp = t.http.get(rig.url(&format!("{}/flexible_employment", paths::ELIGIBILITY))).send().await.unwrap();
    assert_eq!(resp.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_seeker_registers_once_and_finds_the_openings_that_match() {
    let rig = start().await;
    let t = rig.enroll().await;
    let url = format!("{}?kind=retail&district=qingxiu", paths::JOB_OPENINGS);
    let resp = t.http.get(rig.url(&url)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let found: JobOpenings = resp.json().await.unwrap();
    assert!(!found.openings.is_empty() && found.openings.len() <= JOB_OPENINGS_MAX);
    assert!(found.openings.iter().all(|o| o.kind == JobKind::Retail && o.district == District::Qingxiu));
    assert!(found.openings.windows(2).all(|w| w[0].wage_max_fen >= w[1].wage_max_fen), "best paid first");
    assert!(found.openings.iter().all(|o| o.contact_code.starts_with("JO-")));
    // A kind or district that does not exist is a malformed request, not an empty list.
    for bad in ["?kind=astronaut&district=qingxiu", "?kind=retail", "?district=qingxiu&kind=retail%00"] {
        let (status, p) =
            problem(t.http.get(rig.url(&format!("{}{bad}", paths::JOB_OPENINGS))).send().await.unwrap()).await;
        assert_eq!((status, p.kind()), (400, Some(ProblemType::MalformedRequest)), "{bad}");
    }
    // Only enrolled terminals ask.
    assert_eq!(rig.anonymous().get(rig.url(&url)).send().await.unwrap().status(), 401);

    assert_eq!(
        eligibility(&rig, &t, "job_seeker", WORKER_ID, WORKER_NAME).await,
        Eligibility::Eligible(Offer::default())
    );
    assert_eq!(
        eligibility(&rig, &t, "job_seeker", APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME).await,
        refused(IneligibleReason::ReceivingPension)
    );
    let mut req = registration(RegistrationKind::JobSeeker, WORKER_ID, WORKER_NAME);
    let (status, p) = problem(t.post(&rig, paths::REGISTRATIONS, "j0", &req).await).await;
    assert_eq!((status, p.field.as_deref()), (422, Some("job_kind")));
    req.job_kind = Some(JobKind::Retail);
    req.district = Some(District::Qingxiu);
    req.phone = Some("13700137000".into());
    let resp = t.post(&rig, paths::REGISTRATIONS, "j1", &req).await;
    assert_eq!(resp.status(), 201);
    let receipt: RegistrationReceipt = resp.json().await.unwrap();
    assert!(receipt.tracking_number.starts_with("JS-"), "{}", receipt.tracking_number);
    let stored = rig.server.store().application(&receipt.tracking_number).unwrap().unwrap();
    assert_eq!((stored.kind.as_str(), stored.reason.as_deref()), ("job_seeker_registration", Some("retail@qingxiu")));
    assert_eq!(
        eligibility(&rig, &t, "job_seeker", WORKER_ID, WORKER_NAME).await,
        refused(IneligibleReason::AlreadySeekingWork)
    );
    let (status, p) = problem(t.post(&rig, paths::REGISTRATIONS, "j2", &req).await).await;
    assert_eq!((status, p.detail.as_deref()), (422, Some("already_seeking_work")));
}
