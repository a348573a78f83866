//! The real receipt printer behind the runtime's `ReceiptPrinter` seam: print jobs
//! become `printer::Document`s and run on the ESC/POS driver in a blocking thread.

use super::{BoxFuture, ReceiptPrinter};
use crate::session::{Decision, Delivery, PrintJob, Problem, Service};
use printer::{Document, Printer, PrinterError, Transport};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// What a driver error means to the session core.
pub fn problem(e: &PrinterError) -> Problem {
    match e {
        PrinterError::PaperEnd | PrinterError::PaperOutMidJob { .. } => Problem::PaperOut,
        PrinterError::CoverOpen | PrinterError::CoverOpenMidJob { .. } => Problem::CoverOpen,
        PrinterError::CutterJam | PrinterError::CutterJamMidJob { .. } => Problem::CutterError,
        PrinterError::NoAnswer | PrinterError::Transport(_) => Problem::Missing,
        other => Problem::Error(other.to_string()),
    }
}

fn service_title(s: Service) -> &'static str {
    match s {
        Service::Certificate => "社会保险参保证明",
        Service::Qualification => "养老待遇资格认证回执",
        Service::Contributions => "个人权益记录",
        Service::Unemployment => "失业登记/签到回执",
        Service::Progress => "办理进度",
    }
}

/// The printed layout of a job (the printer crate's JSON document model).
pub fn document(job: &PrintJob) -> Value {
    let title = |t: &str| json!({"text": t, "align": "center", "size": [2, 2]});
    let mut items = Vec::new();
    match job {
        PrintJob::Certificate(c) => {
            items.push(title(service_title(Service::Certificate)));
            items.push(json!({"row": ["证明编号", c.number]}));
            items.push(json!({"row": ["姓名", c.holder.expose()]}));
            items.push(json!({"row": ["身份证号", c.holder_id.masked()]}));
            items.push(json!({"separator": "-"}));
            items.extend(c.rows.iter().map(|r| json!({"text": r})));
            items.push(json!({"separator": "-"}));
            items.push(json!({"row": ["验证码", c.verification_code]}));
            items.push(json!({"qr": c.verify_url, "align": "center"}));
        }
        PrintJob::Contributions { holder, masked_id, record } => {
            items.push(title(service_title(Service::Contributions)));
            items.push(json!({"row": ["姓名", holder.expose()]}));
            items.push(json!({"row": ["身份证号", masked_id]}));
            for y in &record.years {
                items.push(json!({"row": [y.year.to_string(), format!("{} 个月", y.months_paid)]}));
            }
        }
        PrintJob::Receipt(r) => {
            items.push(title(service_title(r.service)));
            if let Some(id) = &r.masked_id {
                items.push(json!({"row": ["身份证号", id]}));
            }
            match &r.delivery {
                Delivery::Submitted { tracking, decision } => {
                    let outcome = match decision {
                        Decision::Approved => "认证通过 approved",
                        Decision::Rejected => "未通过 rejected",
                        Decision::PendingReview => "已受理,待审核 pending review",
                        Decision::Recorded => "已受理 recorded",
                    };
                    items.push(json!({"row": ["状态", "已提交 submitted"]}));
                    items.push(json!({"row": ["结果", outcome]}));
                    items.push(json!({"row": ["受理编号", tracking]}));
                    items.push(json!({"barcode": tracking}));
                }
                Delivery::Queued { reference } => {
                    items.push(json!({"row": ["状态", "已排队 queued"]}));
                    items.push(json!({"text": "网络恢复后自动提交 / sent when the network returns"}));
                    items.push(json!({"row": ["参考号", reference]}));
                }
            }
        }
    }
    items.push(json!({"cut": "partial"}));
    json!({ "items": items })
}

/// An ESC/POS printer on any transport.
pub struct DriverPrinter<T: Transport> {
    printer: Arc<Mutex<Printer<T>>>,
}

impl<T: Transport> DriverPrinter<T> {
    pub fn new(printer: Printer<T>) -> Self {
        Self { printer: Arc::new(Mutex::new(printer)) }
    }
}

impl<T: Transport + Send + 'static> ReceiptPrinter for DriverPrinter<T> {
    fn print(&self, job: PrintJob) -> BoxFuture<Result<(), Problem>> {
        let printer = self.printer.clone();
        Box::pin(async move {
            let doc = Document::from_json(&document(&job).to_string()).map_err(|e| Problem::Error(e.to_string()))?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{
        CertificateKind, ContributionRecord, ContributionYear, IdNumber, IssuedCertificate, PersonName, Receipt,
    };

    #[test]
    fn every_print_job_is_a_valid_printer_document() {
        let certificate = IssuedCertificate {
            number: "SI-1".into(),
            holder: PersonName::new("张秀英"),
            holder_id: IdNumber::new("11010519491231002X"),
            kind: CertificateKind::Participation,
            rows: vec!["2024-01 .. 2026-11: 0 months".into()],
            verification_code: "ABC".into(),
            verify_url: "https://c/verify/ABC".into(),
            signed: Value::Null,
        };
        let record = ContributionRecord {
            years: vec![ContributionYear { year: 2024, months_paid: 12, base_fen: 1, employer: "x".into() }],
        };
        let jobs = [
            PrintJob::Certificate(certificate),
            PrintJob::Contributions {
                holder: PersonName::new("王伟"), masked_id: "4501**********0032".into(), record
            },
            PrintJob::Receipt(Receipt {
                service: Service::Qualification,
                masked_id: Some("1101**********002X".into()),
                delivery: Delivery::Submitted {
                    tracking: "QC-20261121-4QGF2Y".into(),
                    decision: Decision::PendingReview,
                },
            }),
            PrintJob::Receipt(Receipt {
                service: Service::Unemployment,
                masked_id: None,
                delivery: Delivery::Queued { reference: "Q-1".into() },
            }),
        ];
        for job in &jobs {
            let json = document(job).to_string();
            let doc = Document::from_json(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
            assert!(!printer::encode(&doc, &printer::Profile::KIOSK_80, None).unwrap().is_empty());
        }
    }

    #[test]
    fn driver_errors_map_to_what_the_screen_says() {
        assert_eq!(problem(&PrinterError::PaperOutMidJob { unfinished_receipt: 0 }), Problem::PaperOut);
        assert_eq!(problem(&PrinterError::CoverOpen), Problem::CoverOpen);
        assert_eq!(problem(&PrinterError::CutterJamMidJob { unfinished_receipt: 1 }), Problem::CutterError);
        assert_eq!(problem(&PrinterError::NoAnswer), Problem::Missing);
    }
}
