//! Keeps `central/openapi.yaml` (the published contract) and this crate's types in
//! step: every path constant is a documented path, every enum's wire names are exactly
//! the schema's, and a value of each message type with every optional field set
//! serialises to exactly the properties its schema lists (and passes its enums).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use contract::*;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../central/openapi.yaml")).unwrap();
    serde_norway::from_str(&text).unwrap()
}

fn schema<'a>(spec: &'a Value, name: &str) -> &'a Value {
    spec.pointer(&format!("/components/schemas/{name}")).unwrap_or_else(|| panic!("no schema {name}"))
}

fn resolve<'a>(spec: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(spec, spec.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("bad $ref {r}"))),
        None => s,
    }
}

/// Checks `value` against schema `s`, naming the first difference by its JSON path.
fn conforms(spec: &Value, s: &Value, value: &Value, at: &str) {
    let s = resolve(spec, s);
    if let Some(allowed) = s.get("enum").and_then(Value::as_array) {
        assert!(allowed.contains(value), "{at}: {value} is not one of {allowed:?}");
    }
    match value {
        Value::Object(map) => {
            let props = s.get("properties").and_then(Value::as_object).unwrap_or_else(|| panic!("{at}: not an object"));
            let documented: BTreeSet<&str> = props.keys().map(String::as_str).collect();
            let sent: BTreeSet<&str> = map.keys().map(String::as_str).collect();
            assert_eq!(sent, documented, "{at}: the type's fields and the schema's properties differ");
            for required in s.get("required").and_then(Value::as_array).into_iter().flatten() {
                assert!(map.contains_key(required.as_str().unwrap()), "{at}: required {required} missing");
            }
            for (k, v) in map {
                conforms(spec, &props[k], v, &format!("{at}.{k}"));
            }
        }
        Value::Array(items) => {
            let item_schema = s.get("items").unwrap_or_else(|| panic!("{at}: not an array"));
            for (i, v) in items.iter().enumerate() {
                conforms(spec, item_schema, v, &format!("{at}[{i}]"));
            }
        }
        _ => {}
    }
}

fn check<T: Serialize>(spec: &Value, name: &str, value: &T) {
    conforms(spec, schema(spec, name), &serde_json::to_value(value).unwrap(), name);
}

/// The wire names of an enum's values, and those its schema lists, are the same set.
fn same_enum<T: Serialize>(spec: &Value, s: &Value, all: &[T], name: &str) {
    let ours: BTreeSet<String> =
        all.iter().map(|v| serde_json::to_value(v).unwrap().as_str().unwrap().to_owned()).collect();
    let documented: BTreeSet<String> = resolve(spec, s)["enum"]
        .as_array()
        .unwrap_or_else(|| panic!("{name}: no enum"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ours, documented, "{name}: wire names differ from the schema");
}

#[test]
fn every_path_constant_is_a_documented_path() {
    let spec = spec();
    let documented: Vec<&String> = spec["paths"].as_object().unwrap().keys().collect();
    for path in [
        paths::ENROLL,
        paths::CERTIFICATES,
        paths::QUALIFICATION_CHECKS,
        paths::CONTRIBUTIONS,
        paths::PENSION_PAYMENTS,
        paths::ELIGIBILITY,
        paths::JOB_OPENINGS,
        paths::REGISTRATIONS,
        paths::APPLICATIONS,
        paths::RATINGS,
        paths::TELEMETRY,
        paths::UPDATE_OFFER,
        paths::UPDATE_PACKAGES,
        paths::VERIFY,
        paths::METRICS,
        paths::OPS,
    ] {
        assert!(
            documented.iter().any(|d| *d == path || d.starts_with(&format!("{path}/"))),
            "{path} is not in openapi.yaml"
        );
    }
}

#[test]
fn every_enum_has_exactly_the_documented_wire_names() {
    let spec = spec();
    let prop = |schema_name: &str, p: &str| {
        spec.pointer(&format!("/components/schemas/{schema_name}/properties/{p}")).unwrap().clone()
    };
    same_enum(&spec, schema(&spec, "Service"), &Service::ALL, "Service");
    same_enum(&spec, schema(&spec, "CertificateKind"), &CertificateKind::ALL, "CertificateKind");
    same_enum(&spec, schema(&spec, "UnemploymentReason"), &UnemploymentReason::ALL, "UnemploymentReason");
    same_enum(&spec, schema(&spec, "RatingReason"), &RatingReason::ALL, "RatingReason");
    same_enum(
        &spec,
        &prop("RegistrationRequest", "kind"),
        &[
            RegistrationKind::Unemployment,
            RegistrationKind::MonthlyCheckIn,
            RegistrationKind::FlexibleEmployment,
            RegistrationKind::EmploymentSubsidy,
            RegistrationKind::JobSeeker,
        ],
        "RegistrationKind",
    );
    same_enum(&spec, schema(&spec, "JobKind"), &JobKind::ALL, "JobKind");
    same_enum(&spec, schema(&spec, "District"), &District::ALL, "District");
    same_enum(&spec, schema(&spec, "IneligibleReason"), &IneligibleReason::ALL, "IneligibleReason");
    same_enum(
        &spec,
        &prop("ApplicationProgress", "kind"),
        &[
            ApplicationKind::QualificationCheck,
            ApplicationKind::UnemploymentRegistration,
            ApplicationKind::MonthlyCheckIn,
            ApplicationKind::FlexibleEmploymentRegistration,
            ApplicationKind::EmploymentSubsidy,
            ApplicationKind::JobSeekerRegistration,
        ],
        "ApplicationKind",
    );
    same_enum(
        &spec,
        &prop("ApplicationProgress", "status"),
        &[
            ApplicationStatus::Received,
            ApplicationStatus::UnderReview,
            ApplicationStatus::Approved,
            ApplicationStatus::Rejected,
            ApplicationStatus::Completed,
        ],
        "ApplicationStatus",
    );
    same_enum(
        &spec,
        &prop("QualificationCheckResponse", "outcome"),
        &[QualificationOutcome::Approved, QualificationOutcome::Rejected, QualificationOutcome::PendingReview],
        "QualificationOutcome",
    );
    same_enum(
        &spec,
        &prop("ContributionHistory", "pension_status"),
        &[PensionStatus::Contributing, PensionStatus::Receiving, PensionStatus::Suspended],
        "PensionStatus",
    );
    let devices = spec.pointer("/components/schemas/Heartbeat/properties/devices/properties").unwrap().clone();
    same_enum(&spec, &devices["reader"], &[ReaderHealth::Ok, ReaderHealth::Error], "ReaderHealth");
    same_enum(
        &spec,
        &devices["printer"],
        &[
            PrinterHealth::Ok,
            PrinterHealth::NearEnd,
            PrinterHealth::PaperOut,
            PrinterHealth::CoverOpen,
            PrinterHealth::CutterError,
        ],
        "PrinterHealth",
    );
    same_enum(&spec, &devices["camera"], &[CameraHealth::Ok, CameraHealth::Missing], "CameraHealth");
    same_enum(
        &spec,
        &prop("TelemetryEvent", "severity"),
        &[Severity::Info, Severity::Warning, Severity::Error],
        "Severity",
    );
}

fn at() -> time::OffsetDateTime {
    time::macros::datetime!(2026-11-21 05:00 UTC)
}

#[test]
fn every_message_has_exactly_the_documented_fields() {
    let spec = spec();
    let inventory = HardwareInventory {
        hostname: "kiosk-01".into(),
        software_version: "0.1.0".into(),
        devices: vec![InventoryDevice { kind: DeviceKind::Camera, model: "uvc".into(), serial: Some("1".into()) }],
    };
    check(&spec, "EnrollRequest", &EnrollRequest { token: Some("t".into()), csr_pem: "pem".into(), inventory });
    let config = TerminalConfig {
        heartbeat_interval_s: 30,
        certificate_signing_key: "k".into(),
        verify_base_url: "https://c/verify/".into(),
    };
    check(
        &spec,
        "EnrollResponse",
        &EnrollResponse { device_id: "KT-1".into(), certificate_pem: "c".into(), ca_pem: "ca".into(), config },
    );
    let period = Period { from: "2024-01".into(), to: "2024-06".into() };
    for kind in CertificateKind::ALL {
        check(
            &spec,
            "CertificateRequest",
            &CertificateRequest {
                kind,
                id_number: "11010519491231002X".into(),
                name: "张秀英".into(),
                period: period.clone(),
            },
        );
    }
    let body = CertificateBody {
        number: "SI1".into(),
        kind: CertificateKind::MedicalInsurance,
        holder: Holder { name: "张秀英".into(), id_number_masked: "1101**********002X".into() },
        period,
        rows: vec![CertificateRow { month: "2024-01".into(), payer: "p".into(), base_fen: 1, amount_fen: 1 }],
        issued_at: at(),
        verification_code: "ABC".into(),
        verify_url: "https://c/verify/ABC".into(),
    };
    let signature = CertificateSignature { algorithm: "Ed25519".into(), key_id: "k".into(), value: "v".into() };
    check(&spec, "Certificate", &Certificate { body, signature });
    let manifest = ReleaseManifest {
        package: "kiosk".into(),
        version: "0.2.0".into(),
        architecture: "arm64".into(),
        sha256: "ab".repeat(32),
        size: 1,
    };
    let release = sign_release(manifest, &ed25519_dalek::SigningKey::from_bytes(&[1; 32]));
    check(
        &spec,
        "UpdateOffer",
        &UpdateOffer {
            rollout_id: 1,
            release,
            download_path: format!("{}/{}", paths::UPDATE_PACKAGES, "ab".repeat(32)),
        },
    );
    let liveness = LivenessEvidence {
        method: "head_turn".into(),
        score: 1.0,
        passed: true,
        frames: 40,
        max_left_yaw_deg: Some(-20.0),
        max_right_yaw_deg: Some(21.0),
        steps: vec![LivenessStep { step: "turn_left".into(), at_ms: 900 }],
        continuity_breaks: 0,
        summary: "turned left then right".into(),
        portrait_score: Some(0.8),
    };
    check(
        &spec,
        "QualificationCheckRequest",
        &QualificationCheckRequest {
            id_number: "11010519491231002X".into(),
            name: "张秀英".into(),
            face_jpeg: "AA==".into(),
            liveness,
            captured_at: at(),
        },
    );
    check(
        &spec,
        "QualificationCheckResponse",
        &QualificationCheckResponse {
            tracking_number: "QC-20261121-000001".into(),
            outcome: QualificationOutcome::Approved,
            reason: Some("age_review".into()),
            valid_until: Some("2027-11".into()),
        },
    );
    check(
        &spec,
        "ContributionHistory",
        &ContributionHistory {
            holder: Holder { name: "王伟".into(), id_number_masked: "4501**********0032".into() },
            pension_status: PensionStatus::Contributing,
            total_months: 1,
            months: vec![ContributionMonth {
                month: "2024-01".into(),
                employer: "e".into(),
                base_fen: 1,
                personal_fen: 1,
                employer_fen: 1,
            }],
        },
    );
    for reason in UnemploymentReason::ALL {
        check(
            &spec,
            "RegistrationRequest",
            &RegistrationRequest {
                kind: RegistrationKind::Unemployment,
                id_number: "450103199001010032".into(),
                name: "王伟".into(),
                phone: Some("13800138000".into()),
                reason: Some(reason),
                contribution_percent: Some(60),
                job_kind: Some(JobKind::Retail),
                district: Some(District::Qingxiu),
            },
        );
    }
    check(
        &spec,
        "RegistrationReceipt",
        &RegistrationReceipt {
            tracking_number: "UR-1".into(),
            kind: RegistrationKind::Unemployment,
            next_check_in_due: Some("2026-12-21".into()),
            first_payment_due: Some("2026-12-31".into()),
            monthly_fen: Some(1),
        },
    );
    check(
        &spec,
        "RegistrationRequest",
        &RegistrationRequest {
            kind: RegistrationKind::FlexibleEmployment,
            id_number: "450103199001010032".into(),
            name: "王伟".into(),
            phone: Some("13800138000".into()),
            reason: Some(UnemploymentReason::Other),
            contribution_percent: Some(60),
            job_kind: Some(JobKind::Retail),
            district: Some(District::Qingxiu),
        },
    );
    check(
        &spec,
        "PensionPayments",
        &PensionPayments {
            holder: Holder { name: "张秀英".into(), id_number_masked: "1101**********002X".into() },
            payments: vec![PensionPayment { month: "2026-10".into(), amount_fen: 1, paid_on: "2026-10-15".into() }],
        },
    );
    check(
        &spec,
        "JobOpenings",
        &JobOpenings {
            openings: vec![JobOpening {
                contact_code: "JO-000001".into(),
                title: "保洁员".into(),
                employer: "e".into(),
                kind: JobKind::Cleaning,
                district: District::Qingxiu,
                wage_min_fen: 1,
                wage_max_fen: 2,
            }],
        },
    );
    let band = ContributionBand { percent: 60, base_fen: 1, monthly_fen: 1 };
    check(
        &spec,
        "Eligible",
        &Eligibility::Eligible(Offer {
            bands: vec![band],
            first_payment_due: Some("2026-12-31".into()),
            subsidy_monthly_fen: Some(1),
            subsidy_months: Some(36),
        }),
    );
    for reason in IneligibleReason::ALL {
        check(&spec, "NotEligible", &Eligibility::NotEligible { reason });
    }
    check(
        &spec,
        "ApplicationProgress",
        &ApplicationProgress {
            tracking_number: "UR-1".into(),
            kind: ApplicationKind::UnemploymentRegistration,
            status: ApplicationStatus::Received,
            submitted_at: at(),
            deadline: "2026-12-06".into(),
            overdue: false,
        },
    );
    for service in Service::ALL {
        check(
            &spec,
            "RatingRequest",
            &RatingRequest {
                session_id: "s-1".into(),
                service,
                grade: RatingGrade::Satisfied.score(),
                reasons: RatingReason::ALL.to_vec(),
            },
        );
    }
    check(&spec, "RatingReceipt", &RatingReceipt { rating_id: "r".into() });
    let heartbeat = Heartbeat {
        sent_at: at(),
        software_version: "0.1.0".into(),
        uptime_s: 1,
        devices: DeviceHealth { reader: ReaderHealth::Ok, printer: PrinterHealth::NearEnd, camera: CameraHealth::Ok },
        outbox: OutboxState { depth: 0, oldest_age_s: 0 },
        sessions: 0,
        failures: 0,
        disk_free_bytes: 1,
        clock_offset_ms: 0,
        config_hash: Some("a".repeat(64)),
    };
    let event = TelemetryEvent {
        id: "e".into(),
        at: at(),
        kind: "printer.paper_out".into(),
        severity: Severity::Warning,
        detail: Some("d".into()),
    };
    let audit = AuditRecord {
        seq: 1,
        at: at(),
        action: "session.started".into(),
        subject_masked: Some("4501**********0032".into()),
        outcome: "ok".into(),
        prev_hash: "0".repeat(64),
        hash: "1".repeat(64),
    };
    check(
        &spec,
        "TelemetryBatch",
        &TelemetryBatch { heartbeat: Some(heartbeat), events: vec![event], audit: vec![audit] },
    );
    check(
        &spec,
        "TelemetryAck",
        &TelemetryAck { accepted_events: 1, accepted_audit: 1, heartbeat_interval_s: 30, server_time: at() },
    );
    check(
        &spec,
        "Problem",
        &Problem {
            type_uri: ProblemType::ValidationFailed.uri(),
            title: "t".into(),
            status: 422,
            detail: Some("d".into()),
            field: Some("f".into()),
        },
    );
}

#[test]
fn both_card_holder_headers_are_required_parameters_of_contributions() {
    let spec = spec();
    let params = spec.pointer("/paths/~1v1~1contributions/get/parameters").unwrap().as_array().unwrap();
    for header in [CARD_HOLDER_HEADER, CARD_HOLDER_NAME_HEADER] {
        let p = params
            .iter()
            .map(|p| resolve(&spec, p))
            .find(|p| p["name"] == header)
            .unwrap_or_else(|| panic!("{header} is not a parameter of GET /v1/contributions"));
        assert_eq!((p["in"].as_str(), p["required"].as_bool()), (Some("header"), Some(true)), "{header}");
    }
    // The documented example is what the encoder writes for the documented person.
    let name = params.iter().find(|p| p["name"] == CARD_HOLDER_NAME_HEADER).unwrap();
    assert_eq!(name["example"].as_str(), Some(encode_header_text("张秀英").as_str()));
}

#[test]
fn the_answers_of_the_limits_are_documented() {
    let spec = spec();
    let responses = |path: &str, method: &str| {
        spec.pointer(&format!("/paths/{}/{method}/responses", path.replace('/', "~1"))).unwrap().clone()
    };
    for (path, method, kind) in [
        (paths::CONTRIBUTIONS, "get", ProblemType::TooManyRequests),
        ("/v1/applications/{tracking_number}", "get", ProblemType::TooManyRequests),
        (paths::ENROLL, "post", ProblemType::TooManyRequests),
        (paths::ENROLL, "post", ProblemType::RequestTimeout),
        (paths::CERTIFICATES, "post", ProblemType::RequestTimeout),
        (paths::METRICS, "get", ProblemType::BearerTokenRequired),
    ] {
        let status = kind.status().to_string();
        assert!(
            responses(path, method).get(&status).is_some(),
            "{method} {path} does not document {status} ({kind:?})"
        );
    }
    let too_many = spec.pointer("/components/responses/TooManyRequests/headers/Retry-After").unwrap();
    assert_eq!(too_many["schema"]["type"], "integer");
}
