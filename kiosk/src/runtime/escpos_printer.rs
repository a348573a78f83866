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
            items.push(json!({"separator": {}}));
            items.extend(c.rows.iter().map(|r| json!({"text": r})));
            items.push(json!({"separator": {}}));
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
                    items.push(json!({"barcode": tracking, "hri": true}));
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
