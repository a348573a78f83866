//! Copies a `View` into the Slint globals (`Vm`, `Theme`): enum mapping and the few
//! language-dependent formats (dates, money) that are presentation, not business.

use slint::{ComponentHandle, Image, ModelRc, Rgb8Pixel, SharedPixelBuffer, SharedString, VecModel};

use crate::model::*;
use crate::slint_ui as g;

thread_local! {
    static SELECTED: std::cell::Cell<Option<Language>> = const { std::cell::Cell::new(None) };
}

/// Applies `view` to the window. Must run on the Slint event-loop thread.
pub(crate) fn apply(ui: &g::KioskWindow, view: &View) {
    ui.global::<g::Theme>().set_large(view.text_size == TextSize::Large);
    // The bundled translation is global to the UI thread: select it only on a change.
    if SELECTED.get() != Some(view.language) {
        match slint::select_bundled_translation(view.language.locale()) {
            Ok(()) => SELECTED.set(Some(view.language)),
            Err(e) => tracing::warn!(language = view.language.locale(), error = %e, "cannot select translation"),
        }
    }
    ui.set_english(view.language == Language::En);
    ui.global::<g::Vm>().set_social_security_card(view.social_security_card);
    ui.global::<g::Vm>().set_voice(view.voice);

    let vm = ui.global::<g::Vm>();
    vm.set_idle_visible(view.idle.is_some());
    vm.set_idle_seconds(view.idle.map_or(0, |i| i32::from(i.seconds_left)));
    let lang = view.language;

    match &view.screen {
        Screen::Home { now, tiles, holder, notice } => {
            vm.set_screen(g::ScreenId::Home);
            vm.set_has_holder(holder.is_some());
            set_identity(&vm, holder.as_ref().unwrap_or(&MaskedIdentity::default()));
            vm.set_notice(notice.map_or(g::NoticeId::None, home_notice));
            vm.set_time_text(format!("{:02}:{:02}", now.hour, now.minute).into());
            vm.set_date_text(long_date(lang, now).into());
            vm.set_tiles(model(tiles.iter().map(|t| g::Tile {
                service: service(t.service),
                available: t.availability == Availability::Available,
                reason: match t.availability {
                    Availability::Available => g::ReasonId::None,
                    Availability::Unavailable(r) => reason(r),
                },
            })));
        }
        Screen::CardReading { service: s, state } => {
            vm.set_screen(g::ScreenId::CardReading);
            vm.set_service(service(*s));
            vm.set_card_state(match state {
                CardReadState::WaitingForCard => g::CardState::Waiting,
                CardReadState::Reading => g::CardState::Reading,
                CardReadState::Failed(CardError::Unreadable) => g::CardState::Unreadable,
                CardReadState::Failed(CardError::Expired) => g::CardState::Expired,
                CardReadState::Failed(CardError::WrongCardType) => g::CardState::WrongCardType,
                CardReadState::Failed(CardError::Invalid) => g::CardState::Invalid,
                CardReadState::Failed(CardError::Blocked) => g::CardState::Blocked,
                CardReadState::Failed(CardError::Unsupported) => g::CardState::Unsupported,
            });
        }
        Screen::IdentityConfirm { service: s, identity } => {
            vm.set_screen(g::ScreenId::IdentityConfirm);
            vm.set_service(service(*s));
            set_identity(&vm, identity);
        }
        Screen::CertificateChoice { kinds, selected_kind, periods, selected_period, can_continue } => {
            vm.set_screen(g::ScreenId::CertificateChoice);
            vm.set_service(g::ServiceId::Certificate);
            vm.set_kinds(model(
                kinds.iter().map(|&k| g::KindChoice { kind: cert_kind(k), selected: Some(k) == *selected_kind }),
            ));
            vm.set_periods(model(
                periods
                    .iter()
                    .map(|&p| g::PeriodChoice { months: period_months(p), selected: Some(p) == *selected_period }),
            ));
            vm.set_can_continue(*can_continue);
        }
        Screen::CertificatePreview { kind, period, rows } => {
            vm.set_screen(g::ScreenId::CertificatePreview);
            vm.set_service(g::ServiceId::Certificate);
            vm.set_preview_kind(cert_kind(*kind));
            vm.set_preview_months(period_months(*period));
            vm.set_preview_rows(model(
                rows.iter().map(|r| g::PreviewLine { field: preview_field(r.field), value: r.value.as_str().into() }),
            ));
        }
        Screen::Waiting { service: s, activity: a } => {
            vm.set_screen(g::ScreenId::Waiting);
            vm.set_service(service(*s));
            vm.set_activity(activity(*a));
            vm.set_can_leave(a.can_leave());
        }
        Screen::Printing { printout: p, percent } => {
            vm.set_screen(g::ScreenId::Printing);
            vm.set_service(printout_service(*p, vm.get_service()));
            vm.set_printout(printout(*p));
            vm.set_percent(i32::from((*percent).min(100)));
        }
        Screen::TakeReceipt { printout: p } => {
            vm.set_screen(g::ScreenId::TakeReceipt);
            vm.set_service(printout_service(*p, vm.get_service()));
            vm.set_printout(printout(*p));
        }
        Screen::FaceCapture { service: s, hint: h, countdown, liveness: l, frame } => {
            // A new guidance line must not blank the live preview: without a frame in the
            // view, the one `show_frame` last drew stays, unless the capture just began.
            let continuing = vm.get_screen() == g::ScreenId::FaceCapture;
            vm.set_screen(g::ScreenId::FaceCapture);
            vm.set_service(service(*s));
            vm.set_hint(hint(*h));
            vm.set_countdown(countdown.map_or(-1, i32::from));
            vm.set_liveness(l.map_or(g::LivenessId::None, liveness));
            match frame {
                Some(f) => set_frame(&vm, f),
                None if continuing => {}
                None => vm.set_has_frame(false),
            }
        }
        Screen::ContributionRecord { identity, years, total_months, can_print } => {
            vm.set_screen(g::ScreenId::ContributionRecord);
            vm.set_service(g::ServiceId::ContributionRecord);
            set_identity(&vm, identity);
            let max = years.iter().map(|y| y.personal_fen).max().unwrap_or(0).max(1);
            vm.set_years(model(years.iter().map(|y| g::YearRow {
                year: i32::from(y.year),
                months: i32::from(y.months_paid),
                base: yuan(y.base_fen),
                personal: yuan(y.personal_fen),
                bar: (y.personal_fen as f64 / max as f64) as f32,
            })));
            vm.set_total_months(i32::try_from(*total_months).unwrap_or(i32::MAX));
            vm.set_can_print(*can_print);
        }
        Screen::PensionPayments { identity, payments, total_fen, can_print } => {
            vm.set_screen(g::ScreenId::PensionPayments);
            vm.set_service(g::ServiceId::PensionPayments);
            set_identity(&vm, identity);
            vm.set_payments(model(payments.iter().map(|p| g::PaymentRow {
                month: month_text(lang, p.month).into(),
                amount: yuan(p.amount_fen),
                paid_on: short_date(lang, &p.paid_on).into(),
            })));
            vm.set_payments_total(yuan(*total_fen));
            vm.set_can_print(*can_print);
        }
        Screen::FlexibleOffer { bands, selected, first_payment_due, missing_band } => {
            vm.set_screen(g::ScreenId::FlexibleOffer);
            vm.set_service(g::ServiceId::FlexibleEmploymentRegistration);
            vm.set_bands(model(bands.iter().map(|b| g::BandChoice {
                percent: i32::from(b.percent),
                base: yuan(b.base_fen),
                monthly: yuan(b.monthly_fen),
                selected: Some(b.percent) == *selected,
            })));
            vm.set_first_payment_due(first_payment_due.map(|d| short_date(lang, &d)).unwrap_or_default().into());
            vm.set_missing_band(*missing_band);
        }
        Screen::SubsidyOffer { monthly_fen, months } => {
            vm.set_screen(g::ScreenId::SubsidyOffer);
            vm.set_service(g::ServiceId::EmploymentSubsidy);
            vm.set_subsidy_monthly(yuan(*monthly_fen));
            vm.set_subsidy_months(i32::try_from(*months).unwrap_or(i32::MAX));
        }
        Screen::JobSeekerForm { phone, kinds, selected_kind, districts, selected_district, can_submit } => {
            vm.set_screen(g::ScreenId::JobSeekerForm);
            vm.set_service(g::ServiceId::JobSeekerRegistration);
            set_keypad(&vm, phone);
            vm.set_job_kinds(model(
                kinds.iter().map(|&k| g::JobChip { kind: job_kind(k), selected: Some(k) == *selected_kind }),
            ));
            vm.set_districts(model(
                districts
                    .iter()
                    .map(|&d| g::DistrictChip { district: district(d), selected: Some(d) == *selected_district }),
            ));
            vm.set_can_submit(*can_submit);
        }
        Screen::Openings { kind, district: d, openings, found } => {
            vm.set_screen(g::ScreenId::Openings);
            vm.set_service(g::ServiceId::JobSeekerRegistration);
            vm.set_openings_kind(job_kind(*kind));
            vm.set_openings_district(district(*d));
            vm.set_openings_found(*found);
            vm.set_openings(model(openings.iter().map(|o| g::OpeningRow {
                code: o.contact_code.as_str().into(),
                title: o.title.as_str().into(),
                employer: o.employer.as_str().into(),
                wage: format!("{}–{}", whole_yuan(o.wage_min_fen), whole_yuan(o.wage_max_fen)).into(),
            })));
        }
        Screen::RegistrationForm { phone, reasons, selected_reason, can_submit } => {
            vm.set_screen(g::ScreenId::RegistrationForm);
            vm.set_service(g::ServiceId::UnemploymentRegistration);
            set_keypad(&vm, phone);
            vm.set_reasons(model(
                reasons.iter().map(|&r| g::ReasonChip { reason: ureason(r), selected: Some(r) == *selected_reason }),
            ));
            vm.set_can_submit(*can_submit);
        }
        Screen::ProgressLookup { tracking, can_submit } => {
            vm.set_screen(g::ScreenId::ProgressLookup);
            vm.set_service(g::ServiceId::ApplicationProgress);
            set_keypad(&vm, tracking);
            vm.set_can_submit(*can_submit);
        }
        Screen::ProgressStatus { tracking_number, service: s, status: st, submitted_on, deadline } => {
            vm.set_screen(g::ScreenId::ProgressStatus);
            vm.set_service(service(*s));
            vm.set_tracking_number(tracking_number.as_str().into());
            vm.set_status(status(*st));
            vm.set_submitted_on(short_date(lang, submitted_on).into());
            vm.set_deadline(deadline.as_ref().map(|d| short_date(lang, d)).unwrap_or_default().into());
        }
        Screen::Result { service: s, kind, tracking_number, receipt, terms } => {
            vm.set_screen(g::ScreenId::Result);
            vm.set_service(service(*s));
            vm.set_result(result(*kind));
            if let ResultKind::Failed(FailureReason::NotEligible(why)) = kind {
                vm.set_ineligible(ineligible(*why));
            }
            vm.set_terms_monthly(terms.map(|t| yuan(t.monthly_fen)).unwrap_or_default());
            vm.set_terms_due(
                terms.and_then(|t| t.first_payment_due).map(|d| short_date(lang, &d)).unwrap_or_default().into(),
            );
            let (r, why) = match receipt {
                ReceiptNote::None => (g::ReceiptId::None, g::ReasonId::None),
                ReceiptNote::Printing => (g::ReceiptId::Printing, g::ReasonId::None),
                ReceiptNote::Printed => (g::ReceiptId::Printed, g::ReasonId::None),
                ReceiptNote::NotPrinted(why) => (g::ReceiptId::NotPrinted, reason(*why)),
            };
            vm.set_receipt(r);
            vm.set_receipt_reason(why);
            vm.set_tracking_number(tracking_number.as_deref().unwrap_or_default().into());
        }
        Screen::Rating { service: s, selected, reasons, selected_reasons } => {
            vm.set_screen(g::ScreenId::Rating);
            vm.set_service(service(*s));
            vm.set_has_grade(selected.is_some());
            vm.set_grades(model(
                RatingGrade::ALL.iter().map(|&gr| g::GradeChoice { grade: grade(gr), selected: Some(gr) == *selected }),
            ));
            vm.set_rating_reasons(model(
                reasons.iter().map(|&r| g::RatingChip { reason: rreason(r), selected: selected_reasons.contains(&r) }),
            ));
        }
        Screen::Unavailable { service: s, reason: r } => {
            vm.set_screen(g::ScreenId::Unavailable);
            vm.set_unavailable_has_service(s.is_some());
            if let Some(s) = s {
                vm.set_service(service(*s));
            }
            vm.set_unavailable_reason(reason(*r));
        }
        Screen::MaintenancePin { entered, length, error } => {
            vm.set_screen(g::ScreenId::MaintenancePin);
            vm.set_pin_entered(i32::from(*entered));
            vm.set_pin_length(i32::from(*length));
            let (e, left) = match error {
                None => (g::PinErr::None, 0),
                Some(PinError::WrongPin { attempts_left }) => (g::PinErr::Wrong, i32::from(*attempts_left)),
                Some(PinError::LockedOut) => (g::PinErr::LockedOut, 0),
            };
            vm.set_pin_error(e);
            vm.set_pin_attempts_left(left);
        }
        Screen::Maintenance { terminal_id, software_version, devices, tools } => {
            vm.set_screen(g::ScreenId::Maintenance);
            vm.set_terminal_id(terminal_id.as_str().into());
            vm.set_software_version(software_version.as_str().into());
            vm.set_devices(model(devices.iter().map(device_row)));
            maintenance_tools(&vm, tools);
        }
    }
}

fn maintenance_tools(vm: &g::Vm<'_>, tools: &MaintenanceTools) {
    let (reprint, why) = match tools.reprint {
        None => (g::ReprintId::None, None),
        Some(ReceiptReprint::Printing) => (g::ReprintId::Printing, None),
        Some(ReceiptReprint::Printed) => (g::ReprintId::Printed, None),
        Some(ReceiptReprint::NoInstallRecord) => (g::ReprintId::NoInstallRecord, None),
        Some(ReceiptReprint::RecordUnreadable) => (g::ReprintId::RecordUnreadable, None),
        Some(ReceiptReprint::PrinterFailed(r)) => (g::ReprintId::PrinterFailed, Some(r)),
    };
    vm.set_reprint(reprint);
    vm.set_reprint_reason(why.map_or(g::ReasonId::None, reason));
    let none: &[PortLine] = &[];
    let (state, ports, can_apply, error, detail) = match &tools.redetect {
        None => (g::RedetectId::None, none, false, DetectFailure::NothingFound, ""),
        Some(Redetection::Running) => (g::RedetectId::Running, none, false, DetectFailure::NothingFound, ""),
        Some(Redetection::Found { ports, can_apply }) => {
            (g::RedetectId::Found, ports.as_slice(), *can_apply, DetectFailure::NothingFound, "")
        }
        Some(Redetection::Failed { why, detail }) => (g::RedetectId::Failed, none, false, *why, detail.as_str()),
        Some(Redetection::Applying { ports }) => {
            (g::RedetectId::Applying, ports.as_slice(), false, DetectFailure::NothingFound, "")
        }
        Some(Redetection::Applied) => (g::RedetectId::Applied, none, false, DetectFailure::NothingFound, ""),
        Some(Redetection::ApplyFailed { detail }) => {
            (g::RedetectId::ApplyFailed, none, false, DetectFailure::NothingFound, detail.as_str())
        }
    };
    vm.set_redetect(state);
    vm.set_ports(model(ports.iter().map(|p| g::PortRow {
        device: device(p.device),
        change: port_change(p.change),
        configured: p.configured.as_str().into(),
        found: p.found.as_str().into(),
    })));
    vm.set_can_apply(can_apply);
    vm.set_detect_error(detect_failure(error));
    vm.set_detect_detail(detail.into());
}

fn device_row(d: &DeviceHealth) -> g::DeviceRow {
    let mut row = g::DeviceRow {
        device: device(d.device),
        ok: d.problem.is_none(),
        problem: d.problem.map_or(g::ReasonId::None, reason),
        test: g::TestId::None,
        test_reason: g::ReasonId::None,
        card_error: g::CardErrorId::Unreadable,
        masked_id: SharedString::new(),
        code: SharedString::new(),
        millis: 0,
    };
    let Some(test) = &d.test else { return row };
    row.test = match test {
        SelfTest::Running => g::TestId::Running,
        SelfTest::PlaceCard => g::TestId::PlaceCard,
        SelfTest::CardRead { masked_id } => {
            row.masked_id = masked_for_display(masked_id).into();
            g::TestId::CardRead
        }
        SelfTest::CardRefused(e) => {
            row.card_error = card_error(*e);
            g::TestId::CardRefused
        }
        SelfTest::TestPagePrinted => g::TestId::TestPagePrinted,
        SelfTest::CameraWorks => g::TestId::CameraWorks,
        SelfTest::CentralAnswered { millis } => {
            row.millis = i32::try_from(*millis).unwrap_or(i32::MAX);
            g::TestId::CentralAnswered
        }
        SelfTest::ScanCode => g::TestId::ScanCode,
        SelfTest::Scanned { code } => {
            row.code = code.as_str().into();
            g::TestId::Scanned
        }
        SelfTest::Failed(r) => {
            row.test_reason = reason(*r);
            g::TestId::Failed
        }
    };
    row
}

/// The card number as the maintenance screen may show it: the first and last four
/// characters, every other one starred. The runtime sends it masked already, which this
/// leaves as it is; anything else (a full ID number by mistake) is masked here, because
/// the screen must never show one. Four characters or fewer are starred entirely.
pub(crate) fn masked_for_display(id: &str) -> String {
    // The one masking rule (the contract's), which leaves a masked number as it is.
    let shown = session::mask_id(id);
    if shown != id {
        // never log the number itself
        tracing::warn!(chars = id.chars().count(), "self-test card number was not masked; masked it for the screen");
    }
    shown
}

/// Replaces only the camera preview image (the 30 fps path).
pub(crate) fn set_frame(vm: &g::Vm<'_>, frame: &Frame) {
    match frame_image(frame) {
        Some(img) => {
            vm.set_frame(img);
            vm.set_has_frame(true);
        }
        None => {
            tracing::warn!(?frame, "camera frame has the wrong number of bytes; not shown");
            vm.set_has_frame(false);
        }
    }
}

fn frame_image(frame: &Frame) -> Option<Image> {
    let expected = (frame.width as usize).checked_mul(frame.height as usize)?.checked_mul(3)?;
    if frame.rgb.len() != expected || expected == 0 {
        return None;
    }
    let buf = SharedPixelBuffer::<Rgb8Pixel>::clone_from_slice(&frame.rgb, frame.width, frame.height);
    Some(Image::from_rgb8(buf))
}

fn set_identity(vm: &g::Vm<'_>, identity: &MaskedIdentity) {
    vm.set_identity_name(identity.name.as_str().into());
    vm.set_identity_id(identity.id_number.as_str().into());
}

fn set_keypad(vm: &g::Vm<'_>, field: &KeypadField) {
    vm.set_keypad_value(field.value.as_str().into());
    vm.set_keypad_max(i32::from(field.max_len));
    vm.set_keypad_error(match field.error {
        None => g::InputErrorId::None,
        Some(InputError::InvalidPhone) => g::InputErrorId::InvalidPhone,
        Some(InputError::InvalidTrackingNumber) => g::InputErrorId::InvalidTrackingNumber,
        Some(InputError::TrackingNumberNotFound) => g::InputErrorId::TrackingNumberNotFound,
        Some(InputError::NotAnApplication) => g::InputErrorId::NotAnApplication,
    });
}

fn model<T: Clone + 'static>(items: impl Iterator<Item = T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(items.collect::<Vec<_>>()))
}

/// "2026年11月21日 星期六" / "Saturday, 21 November 2026".
pub(crate) fn long_date(lang: Language, t: &LocalTime) -> String {
    const ZH_DAYS: [&str; 7] = ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"];
    const EN_DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    const EN_MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let d = t.date;
    let wd = usize::from(d.weekday().number_days_from_monday());
    let month = u8::from(d.month());
    match lang {
        Language::ZhCn => format!("{}年{}月{}日 {}", d.year(), month, d.day(), ZH_DAYS[wd]),
        Language::En => format!("{}, {} {} {}", EN_DAYS[wd], d.day(), EN_MONTHS[usize::from(month - 1)], d.year()),
    }
}

/// "2026年11月21日" / "2026-11-21".
pub(crate) fn short_date(lang: Language, d: &time::Date) -> String {
    match lang {
        Language::ZhCn => format!("{}年{}月{}日", d.year(), u8::from(d.month()), d.day()),
        Language::En => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
    }
}

/// "2026年11月" / "2026-11".
pub(crate) fn month_text(lang: Language, m: YearMonth) -> String {
    match lang {
        Language::ZhCn => format!("{}年{}月", m.year, m.month),
        Language::En => format!("{:04}-{:02}", m.year, m.month),
    }
}

/// Fen to whole yuan, grouped: "4,200" (wages are quoted in whole yuan).
pub(crate) fn whole_yuan(fen: u64) -> String {
    let full = yuan(fen / 100 * 100);
    full.trim_end_matches(".00").to_owned()
}

/// Fen to "12,345.67".
pub(crate) fn yuan(fen: u64) -> SharedString {
    let whole = (fen / 100).to_string();
    let mut grouped = String::with_capacity(whole.len() + whole.len() / 3 + 3);
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{grouped}.{:02}", fen % 100).into()
}

fn period_months(p: CertificatePeriod) -> i32 {
    match p {
        CertificatePeriod::LastMonths(m) => i32::from(m.max(1)),
        CertificatePeriod::FullHistory => 0,
    }
}

/// The period a `pick-period(months)` callback stands for (0 = full history).
pub(crate) fn period_from_months(months: i32) -> CertificatePeriod {
    match u8::try_from(months) {
        Ok(0) | Err(_) => CertificatePeriod::FullHistory,
        Ok(m) => CertificatePeriod::LastMonths(m),
    }
}

fn printout_service(p: Printout, current: g::ServiceId) -> g::ServiceId {
    match p {
        Printout::Certificate => g::ServiceId::Certificate,
        Printout::ContributionRecord => g::ServiceId::ContributionRecord,
        Printout::PensionPayments => g::ServiceId::PensionPayments,
        Printout::Receipt => current,
    }
}

/// Maps the enums one to one; `from_g` below is the way back for callbacks.
macro_rules! one_to_one {
    ($to:ident, $from:ident, $m:ty, $g:ty, [$($v:ident),* $(,)?]) => {
        pub(crate) fn $to(x: $m) -> $g { match x { $(<$m>::$v => <$g>::$v),* } }
        #[allow(dead_code)]
        pub(crate) fn $from(x: $g) -> $m { match x { $(<$g>::$v => <$m>::$v),* } }
    };
}

one_to_one!(
    service,
    service_from,
    Service,
    g::ServiceId,
    [
        Certificate,
        QualificationCheck,
        ContributionRecord,
        UnemploymentRegistration,
        UnemploymentCheckIn,
        ApplicationProgress,
        PensionPayments,
        FlexibleEmploymentRegistration,
        EmploymentSubsidy,
        JobSeekerRegistration
    ]
);
one_to_one!(
    job_kind,
    job_kind_from,
    JobKind,
    g::JobKindId,
    [Cleaning, Security, Catering, Retail, Delivery, Manufacturing, Caregiving, Office]
);
one_to_one!(
    district,
    district_from,
    District,
    g::DistrictId,
    [Qingxiu, Xingning, Jiangnan, Xixiangtang, Liangqing, Yongning, Wuming]
);
one_to_one!(
    ineligible,
    ineligible_from,
    IneligibleReason,
    g::Ineligible,
    [
        NotAPensioner,
        ReceivingPension,
        InsuredByEmployer,
        AlreadyRegistered,
        BelowSubsidyAge,
        NotRegisteredUnemployed,
        NotInsuredAsFlexibleWorker,
        AlreadyApplied,
        AlreadySeekingWork
    ]
);
one_to_one!(
    cert_kind,
    cert_kind_from,
    CertificateKind,
    g::CertKind,
    [AllInsurances, PensionInsurance, MedicalInsurance, UnemploymentInsurance, WorkInjuryInsurance, PensionReceipt]
);
one_to_one!(
    preview_field,
    preview_field_from,
    PreviewField,
    g::PreviewFieldId,
    [Name, IdNumber, Insurance, Period, Employer, Status, MonthsPaid, VerificationCode]
);
one_to_one!(
    printout,
    printout_from,
    Printout,
    g::PrintoutId,
    [Certificate, ContributionRecord, PensionPayments, Receipt]
);
one_to_one!(
    hint,
    hint_from,
    FaceHint,
    g::HintId,
    [
        NoFace,
        MultipleFaces,
        MoveCloser,
        MoveBack,
        MoveLeft,
        MoveRight,
        LookStraight,
        TooDark,
        TooBright,
        Blurry,
        HoldStill,
        Good
    ]
);
one_to_one!(
    ureason,
    ureason_from,
    UnemploymentReason,
    g::UReason,
    [ContractEnded, Dismissed, Resigned, EmployerClosed, Other]
);
one_to_one!(
    status,
    status_from,
    ApplicationStatus,
    g::AppStatus,
    [Received, UnderReview, Approved, Rejected, Completed, Queued]
);
one_to_one!(
    grade,
    grade_from,
    RatingGrade,
    g::Grade,
    [VerySatisfied, Satisfied, Neutral, Dissatisfied, VeryDissatisfied]
);
one_to_one!(
    rreason,
    rreason_from,
    RatingReason,
    g::RReason,
    [Fast, EasyToUse, ClearInstructions, TooSlow, HardToUse, DeviceProblem, UnclearInstructions, Other]
);
one_to_one!(
    activity,
    activity_from,
    Activity,
    g::ActivityId,
    [
        IssuingCertificate,
        Submitting,
        LoadingRecord,
        LookingUpApplication,
        LoadingPayments,
        CheckingEligibility,
        LookingUpOpenings
    ]
);
one_to_one!(
    device,
    device_from,
    TestSubject,
    g::DeviceId,
    [Reader, Printer, Camera, Central, SocialSecurityReader, Scanner]
);
one_to_one!(
    card_error,
    card_error_from,
    CardError,
    g::CardErrorId,
    [Unreadable, Expired, WrongCardType, Invalid, Blocked, Unsupported]
);

fn reason(r: UnavailableReason) -> g::ReasonId {
    match r {
        UnavailableReason::PrinterOutOfPaper => g::ReasonId::PrinterOutOfPaper,
        UnavailableReason::PrinterFault => g::ReasonId::PrinterFault,
        UnavailableReason::CameraUnavailable => g::ReasonId::CameraUnavailable,
        UnavailableReason::CardReaderFault => g::ReasonId::CardReaderFault,
        UnavailableReason::CentralOffline => g::ReasonId::CentralOffline,
        UnavailableReason::Maintenance => g::ReasonId::Maintenance,
        UnavailableReason::OutOfService => g::ReasonId::OutOfService,
    }
}

fn home_notice(n: HomeNotice) -> g::NoticeId {
    match n {
        HomeNotice::SessionTimedOut => g::NoticeId::SessionTimedOut,
        HomeNotice::CardRemoved => g::NoticeId::CardRemoved,
        HomeNotice::ThankYou => g::NoticeId::ThankYou,
        HomeNotice::ServiceBecameUnavailable => g::NoticeId::ServiceBecameUnavailable,
        HomeNotice::CardRefused(CardError::Unreadable) => g::NoticeId::CardUnreadable,
        HomeNotice::CardRefused(CardError::Expired) => g::NoticeId::CardExpired,
        HomeNotice::CardRefused(CardError::WrongCardType) => g::NoticeId::CardWrongType,
        HomeNotice::CardRefused(CardError::Invalid) => g::NoticeId::CardInvalid,
        HomeNotice::CardRefused(CardError::Blocked) => g::NoticeId::CardBlocked,
        HomeNotice::CardRefused(CardError::Unsupported) => g::NoticeId::CardUnsupported,
    }
}

one_to_one!(port_change, port_change_from, PortChange, g::PortChangeId, [Same, Moved, Missing, New]);
one_to_one!(
    detect_failure,
    detect_failure_from,
    DetectFailure,
    g::DetectErrId,
    [ToolMissing, ToolFailed, Unreadable, TimedOut, NothingFound]
);

fn liveness(l: LivenessPrompt) -> g::LivenessId {
    match l {
        LivenessPrompt::Blink => g::LivenessId::Blink,
        LivenessPrompt::TurnHeadLeft => g::LivenessId::TurnHeadLeft,
        LivenessPrompt::TurnHeadRight => g::LivenessId::TurnHeadRight,
        LivenessPrompt::OpenMouth => g::LivenessId::OpenMouth,
        LivenessPrompt::Nod => g::LivenessId::Nod,
    }
}

fn result(k: ResultKind) -> g::ResultId {
    match k {
        ResultKind::Done => g::ResultId::Done,
        ResultKind::Submitted => g::ResultId::Submitted,
        ResultKind::Queued => g::ResultId::Queued,
        ResultKind::PendingReview => g::ResultId::PendingReview,
        ResultKind::Failed(FailureReason::FaceNotMatched) => g::ResultId::FailedFaceNotMatched,
        ResultKind::Failed(FailureReason::LivenessFailed) => g::ResultId::FailedLiveness,
        ResultKind::Failed(FailureReason::PrinterFault) => g::ResultId::FailedPrinter,
        ResultKind::Failed(FailureReason::Refused) => g::ResultId::FailedRefused,
        ResultKind::Failed(FailureReason::NotEligible(_)) => g::ResultId::FailedNotEligible,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_groups_thousands_and_keeps_fen() {
        assert_eq!(yuan(0).as_str(), "0.00");
        assert_eq!(yuan(123_456_789).as_str(), "1,234,567.89");
        assert_eq!(yuan(100_000).as_str(), "1,000.00");
    }

    #[test]
    fn wages_are_whole_yuan() {
        assert_eq!(whole_yuan(420_000), "4,200");
        assert_eq!(whole_yuan(420_099), "4,200");
        assert_eq!(whole_yuan(0), "0");
    }

    #[test]
    fn dates_follow_the_language() {
        let t = LocalTime { date: time::macros::date!(2026 - 11 - 21), hour: 9, minute: 5 };
        assert_eq!(long_date(Language::ZhCn, &t), "2026年11月21日 星期六");
        assert_eq!(long_date(Language::En, &t), "Saturday, 21 November 2026");
        // the weekday is the date's own (a Sunday is the last of the week's names)
        let sunday = LocalTime { date: time::macros::date!(2026 - 11 - 22), hour: 0, minute: 0 };
        assert_eq!(long_date(Language::ZhCn, &sunday), "2026年11月22日 星期日");
    }

    #[test]
    fn period_round_trips_through_months() {
        for p in [CertificatePeriod::LastMonths(6), CertificatePeriod::LastMonths(36), CertificatePeriod::FullHistory] {
            assert_eq!(period_from_months(period_months(p)), p);
        }
    }

    #[test]
    fn a_masked_card_number_is_shown_as_given_and_a_full_one_never() {
        assert_eq!(masked_for_display("1101**********002X"), "1101**********002X");
        assert_eq!(masked_for_display("11010519491231002X"), "1101**********002X");
        assert_eq!(masked_for_display("450103900101003"), "4501*******1003");
        assert_eq!(masked_for_display("12345678"), "********");
        assert_eq!(masked_for_display(""), "");
    }

    #[test]
    fn each_self_test_finding_fills_only_its_own_fields() {
        let health = |test| DeviceHealth { device: TestSubject::Reader, problem: None, test };
        let row = device_row(&health(None));
        assert_eq!((row.test, row.ok), (g::TestId::None, true));
        let row = device_row(&health(Some(SelfTest::CardRead { masked_id: "11010519491231002X".into() })));
        assert_eq!((row.test, row.masked_id.as_str()), (g::TestId::CardRead, "1101**********002X"));
        let row = device_row(&health(Some(SelfTest::CardRefused(CardError::Expired))));
        assert_eq!((row.test, row.card_error), (g::TestId::CardRefused, g::CardErrorId::Expired));
        let row = device_row(&health(Some(SelfTest::CentralAnswered { millis: u32::MAX })));
        assert_eq!((row.test, row.millis), (g::TestId::CentralAnswered, i32::MAX));
        let failed = DeviceHealth {
            device: TestSubject::Printer,
            problem: Some(UnavailableReason::PrinterOutOfPaper),
            test: Some(SelfTest::Failed(UnavailableReason::PrinterFault)),
        };
        let row = device_row(&failed);
        assert_eq!(
            (row.ok, row.problem, row.test, row.test_reason),
            (false, g::ReasonId::PrinterOutOfPaper, g::TestId::Failed, g::ReasonId::PrinterFault)
        );
    }

    #[test]
    fn frame_with_wrong_byte_count_is_rejected() {
        assert!(frame_image(&Frame { width: 4, height: 2, rgb: vec![0; 24] }).is_some());
        assert!(frame_image(&Frame { width: 4, height: 2, rgb: vec![0; 23] }).is_none());
        assert!(frame_image(&Frame { width: u32::MAX, height: u32::MAX, rgb: vec![] }).is_none());
    }
}
