//! One sample `View` of every screen and state, with synthetic data: what the gallery,
//! the screenshot tests and the benchmarks render.

use crate::model::*;

/// A 640x480 synthetic camera frame: a lit background and a face-like ellipse whose
/// position moves with `t` (so consecutive frames differ, like a live preview).
pub fn synthetic_frame(t: u32) -> Frame {
    let (w, h) = (640u32, 480u32);
    let cx = 320.0 + 40.0 * ((t as f32) / 15.0).sin();
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let dx = (x as f32 - cx) / 120.0;
            let dy = (y as f32 - 230.0) / 160.0;
            if dx * dx + dy * dy < 1.0 {
                rgb.extend_from_slice(&[224, 178, 150]);
            } else {
                let shade = (90 + y / 8) as u8;
                rgb.extend_from_slice(&[shade / 2, shade / 2 + 10, shade]);
            }
        }
    }
    Frame { width: w, height: h, rgb }
}

fn now() -> LocalTime {
    LocalTime { date: time::macros::date!(2026 - 11 - 21), hour: 9, minute: 41 }
}

fn identity() -> MaskedIdentity {
    MaskedIdentity { name: "王*明".into(), id_number: "1101**********002X".into() }
}

/// Every screen in a representative state, named for file names.
pub fn sample_screens() -> Vec<(&'static str, Screen)> {
    use Screen as S;
    let tiles: Vec<ServiceTile> = Service::ALL.iter().map(|&s| ServiceTile::available(s)).collect();
    let degraded: Vec<ServiceTile> = Service::ALL
        .iter()
        .map(|&s| ServiceTile {
            service: s,
            availability: match s {
                Service::Certificate | Service::ContributionRecord => {
                    Availability::Unavailable(UnavailableReason::PrinterOutOfPaper)
                }
                Service::QualificationCheck | Service::UnemploymentCheckIn => {
                    Availability::Unavailable(UnavailableReason::CameraUnavailable)
                }
                _ => Availability::Available,
            },
        })
        .collect();
    let card = |state| S::CardReading { service: Service::Certificate, state };
    let months_paid = |y: u16| match y {
        2020 => 9,
        2026 => 11,
        _ => 12,
    };
    let years: Vec<ContributionYear> = (2015..=2026)
        .map(|y| ContributionYear {
            year: y,
            months_paid: months_paid(y),
            base_fen: 420_000 + u64::from(y - 2015) * 28_000,
            personal_fen: (420_000 + u64::from(y - 2015) * 28_000) * 8 / 100 * u64::from(months_paid(y)),
            employer: "北京某某科技有限公司".into(),
        })
        .collect();
    let home = |tiles: &Vec<ServiceTile>, holder: Option<MaskedIdentity>, notice| S::Home {
        now: now(),
        tiles: tiles.clone(),
        holder,
        notice,
    };
    let waiting = |service, activity| S::Waiting { service, activity };
    vec![
        ("home", home(&tiles, None, None)),
        ("home-degraded", home(&degraded, None, None)),
        ("home-card-placed", home(&tiles, Some(identity()), None)),
        (
            "home-service-became-unavailable",
            home(&degraded, Some(identity()), Some(HomeNotice::ServiceBecameUnavailable)),
        ),
        ("home-timed-out", home(&tiles, None, Some(HomeNotice::SessionTimedOut))),
        ("home-card-removed", home(&tiles, None, Some(HomeNotice::CardRemoved))),
        ("home-thank-you", home(&tiles, None, Some(HomeNotice::ThankYou))),
        ("home-card-expired", home(&tiles, None, Some(HomeNotice::CardRefused(CardError::Expired)))),
        ("card-waiting", card(CardReadState::WaitingForCard)),
        ("card-reading", card(CardReadState::Reading)),
        ("card-unreadable", card(CardReadState::Failed(CardError::Unreadable))),
        ("card-expired", card(CardReadState::Failed(CardError::Expired))),
        ("card-wrong-type", card(CardReadState::Failed(CardError::WrongCardType))),
        ("card-invalid", card(CardReadState::Failed(CardError::Invalid))),
        ("card-blocked", card(CardReadState::Failed(CardError::Blocked))),
        ("card-unsupported", card(CardReadState::Failed(CardError::Unsupported))),
        ("identity-confirm", S::IdentityConfirm { service: Service::Certificate, identity: identity() }),
        (
            "certificate-choice",
            S::CertificateChoice {
                kinds: CertificateKind::ALL.to_vec(),
                selected_kind: Some(CertificateKind::PensionInsurance),
                periods: vec![
                    CertificatePeriod::LastMonths(6),
                    CertificatePeriod::LastMonths(12),
                    CertificatePeriod::LastMonths(36),
                    CertificatePeriod::FullHistory,
                ],
                selected_period: Some(CertificatePeriod::LastMonths(12)),
                can_continue: true,
            },
        ),
        (
            "certificate-preview",
            S::CertificatePreview {
                kind: CertificateKind::PensionInsurance,
                period: CertificatePeriod::LastMonths(12),
                rows: vec![
                    PreviewRow { field: PreviewField::Name, value: "王*明".into() },
                    PreviewRow { field: PreviewField::IdNumber, value: "1101**********002X".into() },
                    PreviewRow { field: PreviewField::Insurance, value: "城镇职工基本养老保险".into() },
                    PreviewRow { field: PreviewField::Period, value: "2025-12 — 2026-11".into() },
                    PreviewRow { field: PreviewField::Employer, value: "北京某某科技有限公司".into() },
                    PreviewRow { field: PreviewField::Status, value: "正常参保".into() },
                    PreviewRow { field: PreviewField::MonthsPaid, value: "12".into() },
                    PreviewRow { field: PreviewField::VerificationCode, value: "7K3Q-9XW2-M4PD".into() },
                ],
            },
        ),
        ("waiting-issuing", waiting(Service::Certificate, Activity::IssuingCertificate)),
        ("waiting-submitting", waiting(Service::UnemploymentRegistration, Activity::Submitting)),
        ("waiting-loading-record", waiting(Service::ContributionRecord, Activity::LoadingRecord)),
        ("waiting-looking-up", waiting(Service::ApplicationProgress, Activity::LookingUpApplication)),
        ("waiting-checking-eligibility", waiting(Service::EmploymentSubsidy, Activity::CheckingEligibility)),
        ("printing", S::Printing { printout: Printout::Certificate, percent: 60 }),
        ("take-receipt", S::TakeReceipt { printout: Printout::Certificate }),
        (
            "face-capture",
            S::FaceCapture {
                service: Service::QualificationCheck,
                hint: FaceHint::Good,
                countdown: Some(3),
                liveness: Some(LivenessPrompt::Blink),
                frame: Some(synthetic_frame(0)),
            },
        ),
        (
            "face-guidance",
            S::FaceCapture {
                service: Service::QualificationCheck,
                hint: FaceHint::MoveCloser,
                countdown: None,
                liveness: None,
                frame: Some(synthetic_frame(20)),
            },
        ),
        (
            "contribution-record",
            S::ContributionRecord { identity: identity(), years, total_months: 140, can_print: true },
        ),
        (
            "pension-payments",
            S::PensionPayments {
                identity: identity(),
                payments: (1..=12)
                    .map(|m| {
                        let month =
                            YearMonth { year: if m < 2 { 2025 } else { 2026 }, month: if m < 2 { 12 } else { m - 1 } };
                        PaymentLine {
                            month,
                            amount_fen: 382_650,
                            paid_on: time::Date::from_calendar_date(
                                i32::from(month.year),
                                time::Month::try_from(month.month).unwrap_or(time::Month::January),
                                1,
                            )
                            .unwrap_or(time::macros::date!(2026 - 01 - 01)),
                        }
                    })
                    .collect(),
                total_fen: 12 * 382_650,
                can_print: true,
            },
        ),
        (
            "flexible-offer",
            S::FlexibleOffer {
                bands: [60u16, 80, 100, 150, 200, 300]
                    .iter()
                    .map(|&percent| {
                        let base_fen = 7_000 * u64::from(percent);
                        BandChoice { percent, base_fen, monthly_fen: base_fen * 29 / 100 }
                    })
                    .collect(),
                selected: Some(100),
                first_payment_due: Some(time::macros::date!(2026 - 12 - 25)),
                missing_band: false,
            },
        ),
        ("subsidy-offer", S::SubsidyOffer { monthly_fen: 81_200, months: 36 }),
        (
            "job-seeker-form",
            S::JobSeekerForm {
                phone: KeypadField { value: "13812345678".into(), max_len: 11, error: None },
                kinds: JobKind::ALL.to_vec(),
                selected_kind: Some(JobKind::Retail),
                districts: District::ALL.to_vec(),
                selected_district: Some(District::Qingxiu),
                can_submit: true,
            },
        ),
        (
            "openings",
            S::Openings {
                kind: JobKind::Retail,
                district: District::Qingxiu,
                openings: [
                    ("JO-100417", "超市理货员", "南宁市某超市", 380_000, 520_000),
                    ("JO-100503", "收银员", "南宁市某超市", 300_000, 420_000),
                    ("JO-100611", "门店导购", "广西某餐饮管理有限公司", 280_000, 400_000),
                ]
                .iter()
                .map(|&(code, title, employer, min, max)| OpeningLine {
                    contact_code: code.into(),
                    title: title.into(),
                    employer: employer.into(),
                    wage_min_fen: min,
                    wage_max_fen: max,
                })
                .collect(),
                found: true,
            },
        ),
        (
            "registration-form",
            S::RegistrationForm {
                phone: KeypadField { value: "1381234".into(), max_len: 11, error: Some(InputError::InvalidPhone) },
                reasons: vec![
                    UnemploymentReason::ContractEnded,
                    UnemploymentReason::Dismissed,
                    UnemploymentReason::Resigned,
                    UnemploymentReason::EmployerClosed,
                    UnemploymentReason::Other,
                ],
                selected_reason: Some(UnemploymentReason::ContractEnded),
                can_submit: false,
            },
        ),
        (
            "progress-lookup",
            S::ProgressLookup {
                tracking: KeypadField { value: "2026112100".into(), max_len: 16, error: None },
                can_submit: true,
            },
        ),
        (
            "progress-lookup-certificate-scanned",
            S::ProgressLookup {
                tracking: KeypadField { value: String::new(), max_len: 16, error: Some(InputError::NotAnApplication) },
                can_submit: false,
            },
        ),
        (
            "progress-status",
            S::ProgressStatus {
                tracking_number: "2026 1121 0042 17".into(),
                service: Service::UnemploymentRegistration,
                status: ApplicationStatus::UnderReview,
                submitted_on: time::macros::date!(2026 - 11 - 18),
                deadline: Some(time::macros::date!(2026 - 11 - 28)),
            },
        ),
        // Saved while the network was down; looked up on the same terminal before it was
        // sent. Sixteen digits without spaces: the local reference on a "queued" receipt.
        (
            "progress-status-queued",
            S::ProgressStatus {
                tracking_number: "3908215578120466".into(),
                service: Service::UnemploymentRegistration,
                status: ApplicationStatus::Queued,
                submitted_on: time::macros::date!(2026 - 11 - 21),
                deadline: None,
            },
        ),
        (
            "result-submitted",
            S::Result {
                service: Service::UnemploymentRegistration,
                kind: ResultKind::Submitted,
                tracking_number: Some("2026 1121 0042 17".into()),
                receipt: ReceiptNote::Printed,
                terms: None,
            },
        ),
        (
            "result-queued",
            S::Result {
                service: Service::QualificationCheck,
                kind: ResultKind::Queued,
                tracking_number: Some("2026 1121 0043 05".into()),
                receipt: ReceiptNote::NotPrinted(UnavailableReason::PrinterOutOfPaper),
                terms: None,
            },
        ),
        (
            "result-pending-review",
            S::Result {
                service: Service::QualificationCheck,
                kind: ResultKind::PendingReview,
                tracking_number: Some("2026 1121 0044 93".into()),
                receipt: ReceiptNote::Printing,
                terms: None,
            },
        ),
        (
            "result-no-receipt",
            S::Result {
                service: Service::UnemploymentCheckIn,
                kind: ResultKind::Done,
                tracking_number: Some("2026 1121 0045 28".into()),
                receipt: ReceiptNote::None,
                terms: None,
            },
        ),
        (
            "result-failed",
            S::Result {
                service: Service::QualificationCheck,
                kind: ResultKind::Failed(FailureReason::FaceNotMatched),
                tracking_number: None,
                receipt: ReceiptNote::None,
                terms: None,
            },
        ),
        (
            "result-flexible-registered",
            S::Result {
                service: Service::FlexibleEmploymentRegistration,
                kind: ResultKind::Submitted,
                tracking_number: Some("FE-20261121-0000417".into()),
                receipt: ReceiptNote::Printed,
                terms: Some(PaymentTerms {
                    monthly_fen: 203_000,
                    first_payment_due: Some(time::macros::date!(2026 - 12 - 25)),
                }),
            },
        ),
        (
            "result-not-eligible",
            S::Result {
                service: Service::EmploymentSubsidy,
                kind: ResultKind::Failed(FailureReason::NotEligible(IneligibleReason::NotInsuredAsFlexibleWorker)),
                tracking_number: None,
                receipt: ReceiptNote::None,
                terms: None,
            },
        ),
        (
            "rating",
            S::Rating {
                service: Service::Certificate,
                selected: Some(RatingGrade::Dissatisfied),
                reasons: vec![
                    RatingReason::TooSlow,
                    RatingReason::HardToUse,
                    RatingReason::DeviceProblem,
                    RatingReason::UnclearInstructions,
                ],
                selected_reasons: vec![RatingReason::TooSlow],
            },
        ),
        (
            "unavailable-service",
            S::Unavailable { service: Some(Service::Certificate), reason: UnavailableReason::PrinterOutOfPaper },
        ),
        ("unavailable-terminal", S::Unavailable { service: None, reason: UnavailableReason::CardReaderFault }),
        // eight digits, the longest PIN the dots are laid out for
        (
            "maintenance-pin",
            S::MaintenancePin { entered: 3, length: 8, error: Some(PinError::WrongPin { attempts_left: 2 }) },
        ),
        (
            "maintenance",
            maintenance(vec![
                (TestSubject::Reader, None, SelfTest::CardRead { masked_id: identity().id_number }),
                (
                    TestSubject::Printer,
                    Some(UnavailableReason::PrinterOutOfPaper),
                    SelfTest::Failed(UnavailableReason::PrinterOutOfPaper),
                ),
                (TestSubject::Camera, None, SelfTest::CameraWorks),
                (TestSubject::Central, None, SelfTest::CentralAnswered { millis: 42 }),
            ]),
        ),
        (
            "maintenance-every-device",
            maintenance(vec![
                (TestSubject::Reader, None, SelfTest::CardRead { masked_id: identity().id_number }),
                (TestSubject::Printer, None, SelfTest::TestPagePrinted),
                (TestSubject::Camera, None, SelfTest::CameraWorks),
                (TestSubject::Central, None, SelfTest::CentralAnswered { millis: 42 }),
                (TestSubject::SocialSecurityReader, None, SelfTest::CardRefused(CardError::Blocked)),
                (TestSubject::Scanner, None, SelfTest::Scanned { code: "QC-20261121-0004837".into() }),
            ]),
        ),
        // the receipt reprint hit an empty roll while re-detection runs
        (
            "maintenance-receipt-paper-out",
            maintenance_tools(MaintenanceTools {
                reprint: Some(ReceiptReprint::PrinterFailed(UnavailableReason::PrinterOutOfPaper)),
                redetect: Some(Redetection::Running),
            }),
        ),
        // a terminal installed by hand, whose devices are all unplugged
        (
            "maintenance-nothing-found",
            maintenance_tools(MaintenanceTools {
                reprint: Some(ReceiptReprint::NoInstallRecord),
                redetect: Some(Redetection::Failed { why: DetectFailure::NothingFound, detail: String::new() }),
            }),
        ),
        // the reader moved to another port, the camera is gone, the printer is where it was
        (
            "maintenance-redetected",
            maintenance_tools(MaintenanceTools {
                reprint: Some(ReceiptReprint::Printed),
                redetect: Some(Redetection::Found {
                    ports: vec![
                        PortLine {
                            device: TestSubject::Reader,
                            change: PortChange::Moved,
                            configured: "/dev/ttyUSB0".into(),
                            found: "/dev/ttyUSB1".into(),
                        },
                        PortLine {
                            device: TestSubject::Printer,
                            change: PortChange::Same,
                            configured: "/dev/usb/lp0".into(),
                            found: "/dev/usb/lp0".into(),
                        },
                        PortLine {
                            device: TestSubject::Camera,
                            change: PortChange::Missing,
                            configured: "/dev/video0".into(),
                            found: String::new(),
                        },
                    ],
                    can_apply: true,
                }),
            }),
        ),
        (
            "maintenance-testing",
            maintenance(vec![
                (TestSubject::Reader, None, SelfTest::CardRefused(CardError::Invalid)),
                (TestSubject::Printer, None, SelfTest::Running),
                (
                    TestSubject::Camera,
                    Some(UnavailableReason::CameraUnavailable),
                    SelfTest::Failed(UnavailableReason::CameraUnavailable),
                ),
                (
                    TestSubject::Central,
                    Some(UnavailableReason::CentralOffline),
                    SelfTest::Failed(UnavailableReason::CentralOffline),
                ),
            ]),
        ),
    ]
}

/// The maintenance screen of terminal KSK-0042 with one self-test finding per device.
fn maintenance(devices: Vec<(TestSubject, Option<UnavailableReason>, SelfTest)>) -> Screen {
    Screen::Maintenance {
        terminal_id: "KSK-0042".into(),
        software_version: "0.1.0".into(),
        devices: devices
            .into_iter()
            .map(|(device, problem, test)| DeviceHealth { device, problem, test: Some(test) })
            .collect(),
        tools: MaintenanceTools::default(),
    }
}

/// The four-device maintenance screen after using its tools.
fn maintenance_tools(tools: MaintenanceTools) -> Screen {
    let mut screen = maintenance(vec![
        (TestSubject::Reader, None, SelfTest::PlaceCard),
        (TestSubject::Printer, Some(UnavailableReason::PrinterOutOfPaper), SelfTest::TestPagePrinted),
        (TestSubject::Camera, None, SelfTest::CameraWorks),
        (TestSubject::Central, None, SelfTest::CentralAnswered { millis: 42 }),
    ]);
    if let Screen::Maintenance { tools: t, .. } = &mut screen {
        *t = tools;
    }
    screen
}

/// The screens whose prompts change on a terminal that also takes social security
/// cards, under the names their second rendering gets.
const WITH_SOCIAL_SECURITY_CARD: [(&str, &str); 5] = [
    ("home", "home-social-security-card"),
    ("home-card-placed", "home-card-placed-social-security-card"),
    ("home-card-removed", "home-card-removed-social-security-card"),
    ("card-waiting", "card-waiting-social-security-card"),
    ("card-expired", "card-expired-social-security-card"),
];

/// The sample screens plus the idle overlay, as views in `language` and `text_size`; the
/// screens that name the cards again as a terminal with a social security card reader
/// shows them.
pub fn sample_views(language: Language, text_size: TextSize) -> Vec<(&'static str, View)> {
    // Large text brings the voice on (the presenter's rule), so those samples show it checked.
    let voice = text_size == TextSize::Large;
    let view =
        |screen, social_security_card| View { screen, language, text_size, idle: None, social_security_card, voice };
    let screens = sample_screens();
    let mut views: Vec<(&'static str, View)> =
        screens.iter().map(|(name, screen)| (*name, view(screen.clone(), false))).collect();
    for (name, renamed) in WITH_SOCIAL_SECURITY_CARD {
        if let Some((_, screen)) = screens.iter().find(|(n, _)| *n == name) {
            views.push((renamed, view(screen.clone(), true)));
        }
    }
    let under = views.iter().find(|(n, _)| *n == "certificate-choice").map(|(_, v)| v.screen.clone());
    if let Some(screen) = under {
        views.push(("idle-countdown", View { idle: Some(IdleCountdown { seconds_left: 15 }), ..view(screen, false) }));
    }
    views
}
