//! The real receipt printer behind the runtime's `ReceiptPrinter` seam, and the one
//! place print jobs are laid out: [`document`] turns the core's `PrintJob` into a typed
//! `printer::Document` (every word on it Chinese), which is estimated and printed as
//! built, on the ESC/POS driver in a blocking thread.

use super::{BoxFuture, ReceiptPrinter};
use contract::china_time::{date_time_zh, date_zh};
use printer::{Document, Item, Link, Printer, PrinterError, Profile};
use session::{Decision, Delivery, IssuedCertificate, PrintJob, Problem, Receipt, Service, yuan};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

/// What a driver error means to the session core.
pub fn problem(e: &PrinterError) -> Problem {
    match e {
        PrinterError::PaperEnd | PrinterError::PaperOutMidJob { .. } => Problem::PaperOut,
        PrinterError::CoverOpen | PrinterError::CoverOpenMidJob { .. } => Problem::CoverOpen,
        PrinterError::CutterJam | PrinterError::CutterJamMidJob { .. } => Problem::CutterError,
        PrinterError::NoAnswer | PrinterError::Link(_) => Problem::Missing,
        other => Problem::Error(other.to_string()),
    }
}

/// The heading of a service's receipt or record.
fn receipt_title(s: Service) -> &'static str {
    match s {
        Service::Certificate => "社会保险参保证明",
        Service::QualificationCheck => "养老待遇资格认证回执",
        Service::ContributionRecord => "个人权益记录",
        Service::UnemploymentRegistration => "失业登记回执",
        Service::UnemploymentCheckIn => "失业签到回执",
        Service::ApplicationProgress => "办理进度",
        Service::PensionPayments => "养老金待遇发放记录",
        Service::FlexibleEmploymentRegistration => "灵活就业人员参保登记回执",
        Service::EmploymentSubsidy => "灵活就业社会保险补贴申领回执",
        Service::JobSeekerRegistration => "求职登记回执",
    }
}

/// Monthly rows are printed one by one up to this many; longer histories by year.
const MONTHLY_ROWS_MAX: usize = 12;

/// What the printer adds to every printout: when and where it was printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrintStamp {
    pub printed_at: OffsetDateTime,
    /// The terminal's device id from enrollment, if known.
    pub terminal_id: Option<String>,
}

impl PrintStamp {
    /// Now, on this terminal.
    pub fn now(terminal_id: Option<String>) -> Self {
        Self { printed_at: OffsetDateTime::now_utc(), terminal_id }
    }
}

/// The monthly detail of a certificate, or one line per year (and payer) when long.
fn certificate_detail(c: &IssuedCertificate, items: &mut Vec<Item>) {
    let pension = c.kind.is_pension_receipt();
    items.push(Item::bold(if pension { "发放明细" } else { "缴费明细" }));
    if c.rows.is_empty() {
        items.push(Item::text(if pension { "本期间无发放记录" } else { "本期间无缴费记录" }));
        return;
    }
    // (payer, when, amount) lines; the payer is printed above the first line it paid.
    let lines: Vec<(String, String, String)> = if c.rows.len() <= MONTHLY_ROWS_MAX {
        c.rows.iter().map(|r| (r.payer.clone(), r.month.zh(), yuan(r.amount_fen))).collect()
    } else {
        c.by_year()
            .into_iter()
            .map(|y| {
                let when = if y.from == y.to {
                    y.from.zh()
                } else {
                    format!("{:04}年{:02}-{:02}月", y.year, y.from.month, y.to.month)
                };
                (y.payer, when, format!("{} 个月  {}", y.months, yuan(y.amount_fen)))
            })
            .collect()
    };
    let mut payer: Option<&str> = None;
    for (who, when, amount) in &lines {
        if payer != Some(who.as_str()) {
            items.push(Item::text(who.as_str()));
            payer = Some(who);
        }
        items.push(Item::row(when.as_str(), amount.as_str()));
    }
    items.push(Item::row("合计", yuan(c.total_fen)));
}

fn certificate(c: &IssuedCertificate, items: &mut Vec<Item>) {
    let pension = c.kind.is_pension_receipt();
    items.push(Item::row("证明编号", c.number.as_str()));
    items.push(Item::row("姓名", c.holder.expose()));
    items.push(Item::row("身份证号", c.holder_id.masked()));
    items.push(Item::row("证明期间", c.period.zh()));
    items.push(Item::row(if pension { "领取月数" } else { "缴费月数" }, format!("共 {} 个月", c.months_covered)));
    items.push(Item::row(if pension { "领取状态" } else { "参保状态" }, c.status.zh()));
    if let Some(payer) = &c.current_payer {
        items.push(Item::row(if pension { "发放机构" } else { "参保单位" }, payer.as_str()));
    }
    items.push(Item::separator('-'));
    certificate_detail(c, items);
    items.push(Item::separator('-'));
    items.push(Item::row("出具日期", date_zh(c.issued_on)));
    items.push(Item::row("验证码", c.verification_code.as_str()));
    items.push(Item::qr(c.verify_url.as_str()));
    items.push(Item::centered("扫码或在核验网址输入验证码，核验真伪"));
    items.push(Item::centered(c.verify_url.as_str()));
}

fn receipt(r: &Receipt, items: &mut Vec<Item>) {
    if let Some(id) = &r.masked_id {
        items.push(Item::row("身份证号", id.as_str()));
    }
    match &r.delivery {
        Delivery::Submitted { tracking, decision } => {
            let outcome = match (decision, r.service) {
                (Decision::Approved, _) => "已通过",
                (Decision::Rejected, _) => "未通过",
                (Decision::PendingReview, _) => "待人工审核",
                (Decision::Recorded, Service::UnemploymentCheckIn) => "已签到",
                (Decision::Recorded, _) => "已登记",
            };
            items.push(Item::row("办理状态", "已提交"));
            items.push(Item::row("办理结果", outcome));
            items.push(Item::row("受理编号", tracking.as_str()));
            items.push(Item::barcode(tracking.as_str()));
            items.push(Item::centered(tracking.as_str()));
            items.push(Item::centered("凭受理编号可在任一自助终端查询办理进度"));
        }
        Delivery::Queued { reference } => {
            items.push(Item::row("办理状态", "已保存，网络恢复后自动提交"));
            items.push(Item::row("本机参考号", reference.as_str()));
            items.push(Item::barcode(reference.as_str()));
            items.push(Item::centered(reference.as_str()));
            items.push(Item::centered("无需重复办理。可凭参考号在本机查询，提交后在任一终端均可查询"));
        }
    }
    if let Some(terms) = &r.terms {
        items.push(Item::separator('-'));
        items.push(Item::row("每月缴费", yuan(terms.monthly_fen)));
        if let Some(due) = terms.first_payment_due {
            items.push(Item::row("首次缴费截止", date_zh(due)));
        }
        items.push(Item::centered("可在银行柜台或社保手机应用缴费"));
    }
    if !r.openings.is_empty() {
        items.push(Item::separator('-'));
        items.push(Item::bold("推荐岗位"));
        for o in &r.openings {
            items.push(Item::row(o.title.as_str(), o.contact_code.as_str()));
            items.push(Item::row(
                o.employer.as_str(),
                format!("{}-{} 元/月", o.wage_min_fen.max(0) / 100, o.wage_max_fen.max(0) / 100),
            ));
        }
        items.push(Item::centered("拨打12333并报岗位联系编号，即可联系用人单位"));
    }
}

/// The printed layout of a job. Every word on it is Chinese; only codes, numbers and the
/// verify URL are ASCII. A certificate's title is its kind's, as signed by the server.
pub fn document(job: &PrintJob, stamp: &PrintStamp) -> Document {
    let mut items = Vec::new();
    match job {
        PrintJob::Certificate(c) => {
            items.push(Item::title(c.kind.title_zh()));
            certificate(c, &mut items);
        }
        PrintJob::Contributions { holder, masked_id, record } => {
            items.push(Item::title(receipt_title(Service::ContributionRecord)));
            items.push(Item::row("姓名", holder.expose()));
            items.push(Item::row("身份证号", masked_id.as_str()));
            items.push(Item::separator('-'));
            for y in &record.years {
                items.push(Item::row(format!("{}年", y.year), format!("缴费 {} 个月", y.months_paid)));
            }
            let total: u32 = record.years.iter().map(|y| u32::from(y.months_paid)).sum();
            items.push(Item::row("累计缴费", format!("{total} 个月")));
        }
        PrintJob::PensionPayments { holder, masked_id, record } => {
            items.push(Item::title(receipt_title(Service::PensionPayments)));
            items.push(Item::row("姓名", holder.expose()));
            items.push(Item::row("身份证号", masked_id.as_str()));
            items.push(Item::separator('-'));
            for p in &record.payments {
                let amount = i64::try_from(p.amount_fen).unwrap_or(i64::MAX);
                items.push(Item::row(p.month.zh(), yuan(amount)));
            }
            let total: u64 = record.payments.iter().map(|p| p.amount_fen).sum();
            items.push(Item::row(
                format!("{} 个月合计", record.payments.len()),
                yuan(i64::try_from(total).unwrap_or(i64::MAX)),
            ));
        }
        PrintJob::Receipt(r) => {
            items.push(Item::title(receipt_title(r.service)));
            receipt(r, &mut items);
        }
        PrintJob::TestPage => {
            items.push(Item::title("打印机自检"));
            items.push(Item::centered("本页由维护人员在维护界面打印，用于检查打印、切纸与条码。"));
            items.push(Item::barcode("0123456789"));
            items.push(Item::qr("https://example.invalid/self-test"));
        }
    }
    items.push(Item::separator('-'));
    items.push(Item::row("打印时间", date_time_zh(stamp.printed_at)));
    if let Some(id) = &stamp.terminal_id {
        items.push(Item::row("终端编号", id.as_str()));
    }
    items.push(Item::cut());
    Document::new(items)
}

/// An ESC/POS printer on any link.
pub struct DriverPrinter<T: Link> {
    printer: Arc<Mutex<Printer<T>>>,
    /// The model, kept outside the lock so estimates never wait for a status poll.
    profile: Profile,
    terminal_id: Option<String>,
}

impl<T: Link> DriverPrinter<T> {
    pub fn new(printer: Printer<T>) -> Self {
        let profile = printer.profile().clone();
        Self { printer: Arc::new(Mutex::new(printer)), profile, terminal_id: None }
    }
    /// Prints the terminal's device id on every printout.
    #[must_use]
    pub fn with_terminal_id(mut self, id: impl Into<String>) -> Self {
        self.terminal_id = Some(id.into());
        self
    }
    /// The driver, shared with the status poll (`runtime::printer_health`).
    pub fn driver(&self) -> Arc<Mutex<Printer<T>>> {
        self.printer.clone()
    }
}

impl<T: Link + 'static> ReceiptPrinter for DriverPrinter<T> {
    fn layout(&self, job: &PrintJob) -> Document {
        document(job, &PrintStamp::now(self.terminal_id.clone()))
    }

    fn print(&self, doc: Document) -> BoxFuture<Result<(), Problem>> {
        let printer = self.printer.clone();
        Box::pin(async move {
            let printed = tokio::task::spawn_blocking(move || {
                let mut p = printer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                p.print_job(&[doc]).map(|_| ()).map_err(|e| {
                    tracing::warn!(error = %e, "print job failed");
                    problem(&e)
                })
            })
            .await;
            printed.unwrap_or_else(|e| Err(Problem::Error(e.to_string())))
        })
    }

    /// The printout's paper length at the model's print speed (`printer::estimate`).
    fn expected_duration(&self, doc: &Document) -> Option<Duration> {
        let estimate = printer::estimate(doc, &self.profile);
        estimate.map(|e| e.duration).map_err(|e| tracing::debug!(error = %e, "no print time estimate")).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use session::{
        CertificateKind, CertificateMonth, CertificateStatus, ContributionRecord, ContributionYear, IdNumber,
        MonthRange, PersonName, YearMonth,
    };

    const TRACKING: &str = "QC-20261121-4QGF2Y";
    const QUEUED: &str = "Q-3FA9C07B12";
    const TERMINAL: &str = "T-450103-0007";

    fn ym(s: &str) -> YearMonth {
        YearMonth::parse(s).unwrap()
    }

    /// A certificate of `months` paid months ending 2026-10, as central would issue it.
    fn certificate(kind: CertificateKind, months: i64) -> IssuedCertificate {
        let to = ym("2026-10");
        let rows: Vec<CertificateMonth> = (0..months)
            .map(|i| CertificateMonth {
                month: to.plus(i - months + 1),
                payer: if i < months / 2 { "南宁市第一机械厂" } else { "南宁市公交集团" }.into(),
                base_fen: 500_000,
                amount_fen: 120_000,
            })
            .collect();
        IssuedCertificate {
            number: "SI20261121AB12CD34".into(),
            kind,
            holder: PersonName::new("张秀英"),
            holder_id: IdNumber::new("11010519491231002X"),
            period: MonthRange { from: rows.first().map_or(to, |r| r.month), to: ym("2026-11") },
            months_covered: rows.len() as u32,
            current_payer: rows.last().map(|r| r.payer.clone()),
            status: CertificateStatus::Contributing,
            total_fen: rows.iter().map(|r| r.amount_fen).sum(),
            rows,
            issued_on: time::macros::date!(2026 - 11 - 21),
            verification_code: "K7Q29XPA4M3B".into(),
            verify_url: "https://si.example.gov.cn/verify/K7Q29XPA4M3B".into(),
        }
    }

    fn receipt(service: Service, delivery: Delivery) -> PrintJob {
        PrintJob::Receipt(Receipt {
            service,
            masked_id: Some("1101**********002X".into()),
            delivery,
            terms: None,
            openings: Vec::new(),
        })
    }

    fn flexible_receipt() -> PrintJob {
        PrintJob::Receipt(Receipt {
            service: Service::FlexibleEmploymentRegistration,
            masked_id: Some("1101**********002X".into()),
            delivery: Delivery::Submitted { tracking: TRACKING.into(), decision: Decision::Recorded },
            terms: Some(session::Terms {
                monthly_fen: 203_000,
                first_payment_due: Some(time::macros::date!(2026 - 12 - 25)),
            }),
            openings: Vec::new(),
        })
    }

    fn job_seeker_receipt() -> PrintJob {
        let opening = |code: &str| session::JobOpening {
            contact_code: code.into(),
            title: "超市理货员".into(),
            employer: "南宁市某超市".into(),
            kind: session::JobKind::Retail,
            district: session::District::Qingxiu,
            wage_min_fen: 300_000,
            wage_max_fen: 420_000,
        };
        PrintJob::Receipt(Receipt {
            service: Service::JobSeekerRegistration,
            masked_id: Some("1101**********002X".into()),
            delivery: Delivery::Submitted { tracking: TRACKING.into(), decision: Decision::Recorded },
            terms: None,
            openings: vec![opening("JO-100417"), opening("JO-100503")],
        })
    }

    fn payments() -> PrintJob {
        let payments = (1..=12)
            .map(|m| session::PensionPayment {
                month: session::YearMonth::new(2026, m).unwrap(),
                amount_fen: 312_050,
                paid_on: time::macros::date!(2026 - 01 - 01),
            })
            .collect();
        PrintJob::PensionPayments {
            holder: PersonName::new("张秀英"),
            masked_id: "1101**********002X".into(),
            record: session::PaymentRecord { payments },
        }
    }

    fn every_kind_of_job() -> Vec<PrintJob> {
        let record = ContributionRecord {
            years: vec![ContributionYear {
                year: 2024,
                months_paid: 12,
                base_fen: 1,
                personal_fen: 1,
                employer: "x".into(),
            }],
        };
        let submitted = |decision| Delivery::Submitted { tracking: TRACKING.into(), decision };
        vec![
            PrintJob::Certificate(certificate(CertificateKind::AllInsurances, 5)),
            PrintJob::Certificate(certificate(CertificateKind::AllInsurances, 0)),
            PrintJob::Certificate(certificate(CertificateKind::AllInsurances, 180)),
            PrintJob::Certificate(certificate(CertificateKind::PensionReceipt, 36)),
            PrintJob::Contributions {
                holder: PersonName::new("王伟"), masked_id: "4501**********0032".into(), record
            },
            receipt(Service::QualificationCheck, submitted(Decision::Approved)),
            receipt(Service::QualificationCheck, submitted(Decision::PendingReview)),
            receipt(Service::QualificationCheck, submitted(Decision::Rejected)),
            receipt(Service::UnemploymentRegistration, submitted(Decision::Recorded)),
            receipt(Service::UnemploymentCheckIn, submitted(Decision::Recorded)),
            receipt(Service::UnemploymentRegistration, Delivery::Queued { reference: QUEUED.into() }),
            receipt(Service::EmploymentSubsidy, submitted(Decision::PendingReview)),
            flexible_receipt(),
            job_seeker_receipt(),
            payments(),
        ]
    }

    #[test]
    fn a_job_seekers_receipt_lists_each_opening_with_its_contact_code() {
        let doc = document(&job_seeker_receipt(), &stamp());
        assert!(doc.items.contains(&Item::title("求职登记回执")), "{doc:?}");
        assert!(doc.items.contains(&Item::row("超市理货员", "JO-100417")), "{doc:?}");
        assert!(doc.items.contains(&Item::row("超市理货员", "JO-100503")), "{doc:?}");
        assert!(doc.items.contains(&Item::row("南宁市某超市", "3000-4200 元/月")), "{doc:?}");
        assert_eq!(barcodes(&doc), [TRACKING], "the tracking number is the only barcode");
    }

    #[test]
    fn a_flexible_workers_receipt_states_the_monthly_payment_and_its_first_due_date() {
        let doc = document(&flexible_receipt(), &stamp());
        assert!(doc.items.contains(&Item::title("灵活就业人员参保登记回执")), "{doc:?}");
        assert!(doc.items.contains(&Item::row("每月缴费", "2,030.00 元")), "{doc:?}");
        assert!(doc.items.contains(&Item::row("首次缴费截止", "2026年12月25日")), "{doc:?}");
        assert_eq!(barcodes(&doc), [TRACKING]);
    }

    #[test]
    fn the_payment_record_prints_every_month_and_the_total() {
        let doc = document(&payments(), &stamp());
        assert!(doc.items.contains(&Item::row("2026年01月", "3,120.50 元")), "{doc:?}");
        assert!(doc.items.contains(&Item::row("12 个月合计", "37,446.00 元")), "{doc:?}");
        assert!(doc.items.contains(&Item::row("身份证号", "1101**********002X")));
        assert!(!printed_strings(&doc).iter().any(|s| s.contains("11010519491231002X")));
    }

    fn stamp() -> PrintStamp {
        PrintStamp { printed_at: time::macros::datetime!(2026-11-21 07:04:05 UTC), terminal_id: Some(TERMINAL.into()) }
    }

    fn printed_strings(doc: &Document) -> Vec<String> {
        doc.strings().into_iter().map(str::to_owned).collect()
    }

    fn barcodes(doc: &Document) -> Vec<&str> {
        doc.items
            .iter()
            .filter_map(|i| if let Item::Barcode(b) = i { Some(b.barcode.as_str()) } else { None })
            .collect()
    }

    #[test]
    fn every_print_job_is_a_valid_printer_document() {
        for job in &every_kind_of_job() {
            let doc = document(job, &stamp());
            // The JSON form reads back as the same document: nothing typed is lost in it.
            assert_eq!(Document::from_json(&doc.to_json()).unwrap(), doc);
            assert!(!printer::encode(&doc, &printer::Profile::KIOSK_80, None).unwrap().is_empty());
        }
    }

    #[test]
    fn printouts_have_no_english_words_only_codes_and_the_verify_url() {
        let codes = [
            "https://si.example.gov.cn/verify/",
            "SI20261121AB12CD34",
            "K7Q29XPA4M3B",
            "1101**********002X",
            TRACKING,
            QUEUED,
            TERMINAL,
            // an opening's contact code
            "JO-",
        ];
        for job in &every_kind_of_job() {
            for s in printed_strings(&document(job, &stamp())) {
                let rest = codes.iter().fold(s.clone(), |acc, code| acc.replace(code, ""));
                assert!(!rest.chars().any(|c| c.is_ascii_alphabetic()), "English on paper: {s:?} in {job:?}");
            }
        }
        // The check can fail: the old bilingual wording would be caught.
        let rest = codes.iter().fold("已提交 submitted".to_owned(), |acc, code| acc.replace(code, ""));
        assert!(rest.chars().any(|c| c.is_ascii_alphabetic()));
    }

    #[test]
    fn every_printout_says_when_and_on_which_terminal() {
        for job in &every_kind_of_job() {
            let strings = printed_strings(&document(job, &stamp()));
            assert!(strings.contains(&"2026年11月21日 15:04:05".to_owned()), "China time: {strings:?}");
            assert!(strings.contains(&TERMINAL.to_owned()), "{strings:?}");
        }
        let unknown = PrintStamp { terminal_id: None, ..stamp() };
        let job = receipt(Service::UnemploymentRegistration, Delivery::Queued { reference: QUEUED.into() });
        assert!(!printed_strings(&document(&job, &unknown)).iter().any(|s| s.contains("终端编号")));
    }

    #[test]
    fn submitted_receipts_state_the_decision_and_carry_the_tracking_number_as_barcode_and_text() {
        let table = [
            (Service::QualificationCheck, Decision::Approved, "已通过"),
            (Service::QualificationCheck, Decision::PendingReview, "待人工审核"),
            (Service::QualificationCheck, Decision::Rejected, "未通过"),
            (Service::UnemploymentRegistration, Decision::Recorded, "已登记"),
            (Service::UnemploymentCheckIn, Decision::Recorded, "已签到"),
        ];
        for (service, decision, outcome) in table {
            let doc =
                document(&receipt(service, Delivery::Submitted { tracking: TRACKING.into(), decision }), &stamp());
            let items = &doc.items;
            assert!(items.contains(&Item::row("办理状态", "已提交")), "{doc:?}");
            assert!(items.contains(&Item::row("办理结果", outcome)), "{doc:?}");
            assert!(items.contains(&Item::row("受理编号", TRACKING)), "{doc:?}");
            assert!(items.contains(&Item::row("身份证号", "1101**********002X")), "{doc:?}");
            assert_eq!(barcodes(&doc), [TRACKING]);
        }
    }

    #[test]
    fn queued_receipts_say_so_and_carry_the_local_reference_as_barcode() {
        let doc = document(
            &receipt(Service::UnemploymentRegistration, Delivery::Queued { reference: QUEUED.into() }),
            &stamp(),
        );
        let items = &doc.items;
        assert!(items.contains(&Item::row("办理状态", "已保存，网络恢复后自动提交")), "{doc:?}");
        assert!(items.contains(&Item::row("本机参考号", QUEUED)), "{doc:?}");
        assert!(!printed_strings(&doc).iter().any(|s| s.contains("已提交")), "{doc:?}");
        // This terminal answers for the reference at once (its outbox); others once sent.
        assert!(printed_strings(&doc).iter().any(|s| s.contains("可凭参考号在本机查询")), "{doc:?}");
        assert_eq!(barcodes(&doc), [QUEUED]);
    }

    #[test]
    fn certificate_states_period_count_status_and_payer_in_chinese() {
        let doc = document(&PrintJob::Certificate(certificate(CertificateKind::AllInsurances, 5)), &stamp());
        let items = &doc.items;
        for expected in [
            Item::row("证明期间", "2026年06月 至 2026年11月"),
            Item::row("缴费月数", "共 5 个月"),
            Item::row("参保状态", "正常参保缴费"),
            Item::row("参保单位", "南宁市公交集团"),
            Item::row("2026年10月", "1,200.00 元"),
            Item::row("合计", "6,000.00 元"),
            Item::row("验证码", "K7Q29XPA4M3B"),
            Item::row("出具日期", "2026年11月21日"),
            Item::row("姓名", "张秀英"),
            Item::row("身份证号", "1101**********002X"),
        ] {
            assert!(items.contains(&expected), "missing {expected:?} in {doc:?}");
        }
        let qrs: Vec<_> =
            items.iter().filter_map(|i| if let Item::Qr(q) = i { Some(q.qr.as_str()) } else { None }).collect();
        assert_eq!(qrs, ["https://si.example.gov.cn/verify/K7Q29XPA4M3B"]);
        let pension = document(&PrintJob::Certificate(certificate(CertificateKind::PensionReceipt, 3)), &stamp());
        assert_eq!(pension.items[0], Item::title("养老金领取证明"));
        assert!(pension.items.contains(&Item::row("领取月数", "共 3 个月")));
    }

    #[test]
    fn every_certificate_kind_is_printed_under_its_own_title() {
        for kind in CertificateKind::ALL {
            let doc = document(&PrintJob::Certificate(certificate(kind, 3)), &stamp());
            assert_eq!(doc.items[0], Item::title(kind.title_zh()), "{kind:?}");
        }
    }

    #[test]
    fn long_histories_are_printed_by_year_not_by_month() {
        let long = certificate(CertificateKind::AllInsurances, 180);
        let doc = document(&PrintJob::Certificate(long), &stamp());
        let items = &doc.items;
        let month_rows = items.iter().filter(|i| matches!(i, Item::Row(r) if r.row[1].ends_with(" 元"))).count();
        // 15 calendar years plus one split where the payer changed, and the total.
        assert!(month_rows <= 18, "{month_rows} money rows: {doc:?}");
        assert!(items.contains(&Item::row("2024年01-12月", "12 个月  14,400.00 元")), "{doc:?}");
        assert!(items.contains(&Item::row("缴费月数", "共 180 个月")), "{doc:?}");
        assert!(items.contains(&Item::row("合计", "216,000.00 元")), "{doc:?}");
        let short = document(&PrintJob::Certificate(certificate(CertificateKind::AllInsurances, 12)), &stamp());
        assert!(short.items.contains(&Item::row("2025年11月", "1,200.00 元")));
    }

    #[test]
    fn driver_errors_map_to_what_the_screen_says() {
        assert_eq!(problem(&PrinterError::PaperOutMidJob { unfinished_receipt: 0 }), Problem::PaperOut);
        assert_eq!(problem(&PrinterError::CoverOpen), Problem::CoverOpen);
        assert_eq!(problem(&PrinterError::CutterJamMidJob { unfinished_receipt: 1 }), Problem::CutterError);
        assert_eq!(problem(&PrinterError::NoAnswer), Problem::Missing);
    }

    /// The estimate may be off by this share of the printed time (it mirrors the layout).
    const ESTIMATE_TOLERANCE: f64 = 0.02;

    #[tokio::test]
    async fn the_print_time_estimate_is_the_printed_paper_at_the_models_speed() {
        use printer::virtual_printer::VirtualPrinter;
        for profile in printer::Profile::ALL {
            let vp = VirtualPrinter::new(profile.clone());
            let driver = DriverPrinter::new(Printer::new(vp.link(), profile.clone())).with_terminal_id(TERMINAL);
            for (months, job) in
                [5, 180].map(|m| (m, PrintJob::Certificate(certificate(CertificateKind::AllInsurances, m))))
            {
                let doc = driver.layout(&job);
                let expected = driver.expected_duration(&doc).unwrap();
                driver.print(doc).await.unwrap();
                let dots: u32 = vp.control().take_receipts().iter().map(image::GrayImage::height).sum();
                let mm = f64::from(dots) / profile.dots_per_mm();
                let printed = mm / f64::from(profile.speed_mm_per_s);
                eprintln!(
                    "{} certificate of {months} months: estimate {:.3} s, printed {dots} dots = {mm:.1} mm = {printed:.3} s",
                    profile.name,
                    expected.as_secs_f64()
                );
                let off = (expected.as_secs_f64() - printed).abs() / printed;
                assert!(off <= ESTIMATE_TOLERANCE, "{}: {expected:?} vs {printed} s", profile.name);
            }
        }
    }
}
