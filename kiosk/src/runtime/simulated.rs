//! In-process stand-ins for the devices, used by `kiosk --simulate` and the end-to-end
//! tests until each driver crate's simulator is wired in: a card reader you place
//! cards on, a printer you can run out of paper, a camera that "sees" a test face.

use super::{BoxFuture, FaceCamera, ReceiptPrinter};
use crate::session::{
    CaptureHint, Citizen, Device, Event, FaceCapture, Health, LivenessChallenge, PrintJob, Problem, Ticket,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// A reader you place cards on and take them off.
#[derive(Clone, Debug)]
pub struct SimReader {
    events: mpsc::Sender<Event>,
}

impl SimReader {
    pub fn new(events: mpsc::Sender<Event>) -> Self {
        Self { events }
    }
    pub async fn place(&self, id_number: &str, name: &str) {
        let _ = self.events.send(Event::CardPlaced(Citizen::new(id_number, name))).await;
    }
    pub async fn remove(&self) {
        let _ = self.events.send(Event::CardRemoved).await;
    }
}

/// A printer that keeps what it printed and can be given a fault.
#[derive(Clone, Debug, Default)]
pub struct SimPrinter {
    inner: Arc<Mutex<PrinterState>>,
}

#[derive(Debug, Default)]
struct PrinterState {
    fault: Option<Problem>,
    printed: Vec<String>,
}

impl SimPrinter {
    /// Sets (or clears) a fault and reports the new health to the runtime.
    pub async fn set_fault(&self, fault: Option<Problem>, events: &mpsc::Sender<Event>) {
        self.lock().fault = fault.clone();
        let health = fault.map_or(Health::Ok, Health::Problem);
        let _ = events.send(Event::DeviceHealth { device: Device::Printer, health }).await;
    }
    /// Texts of the receipts printed so far.
    pub fn printed(&self) -> Vec<String> {
        self.lock().printed.clone()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, PrinterState> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The text of a print job as the simulated printer "prints" it.
pub fn render(job: &PrintJob) -> String {
    match job {
        PrintJob::Certificate(c) => format!(
            "CERTIFICATE {}\nholder: {}\n{}\nverify: {} ({})",
            c.number,
            c.holder.expose(),
            c.rows.join("\n"),
            c.verify_url,
            c.verification_code
        ),
        PrintJob::Contributions { holder, masked_id, record } => {
            let years: Vec<String> =
                record.years.iter().map(|y| format!("{} {} months", y.year, y.months_paid)).collect();
            format!("CONTRIBUTIONS {} {}\n{}", holder.expose(), masked_id, years.join("\n"))
        }
        PrintJob::Receipt(r) => {
            let what = match &r.delivery {
                crate::session::Delivery::Submitted { tracking, decision } => {
                    format!("SUBMITTED tracking {tracking} ({decision:?})")
                }
                crate::session::Delivery::Queued { reference } => {
                    format!("QUEUED reference {reference}: will be sent when the network returns")
                }
            };
            format!("RECEIPT {:?} {}\n{what}", r.service, r.masked_id.as_deref().unwrap_or(""))
        }
    }
}

impl ReceiptPrinter for SimPrinter {
    fn print(&self, job: PrintJob) -> BoxFuture<Result<(), Problem>> {
        let this = self.clone();
        Box::pin(async move {
            let mut s = this.lock();
            if let Some(fault) = &s.fault {
                return Err(fault.clone());
            }
            s.printed.push(render(&job));
            Ok(())
        })
    }
}

/// A camera that guides, runs a blink challenge and captures the test face.
#[derive(Clone, Debug)]
pub struct SimCamera {
    pub jpeg: Arc<Vec<u8>>,
    pub liveness_passed: bool,
    pub step: Duration,
}

impl SimCamera {
    /// The synthetic test portrait from `shared/testdata/faces`.
    pub fn with_test_face() -> std::io::Result<Self> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/testdata/faces/grace_hopper_512x512.jpg");
        Ok(Self { jpeg: Arc::new(std::fs::read(path)?), liveness_passed: true, step: Duration::from_millis(300) })
    }
}

impl FaceCamera for SimCamera {
    fn capture(&self, ticket: Ticket, events: mpsc::Sender<Event>) -> BoxFuture<()> {
        let this = self.clone();
        Box::pin(async move {
            for hint in
                [CaptureHint::CenterFace, CaptureHint::HoldStill, CaptureHint::Challenge(LivenessChallenge::Blink)]
            {
                let _ = events.send(Event::CaptureHint { ticket, hint }).await;
                tokio::time::sleep(this.step).await;
            }
            let liveness = serde_json::json!({
                "method": "blink", "score": if this.liveness_passed { 0.93 } else { 0.2 },
                "passed": this.liveness_passed, "frames": 42,
            });
            let face = FaceCapture { jpeg: this.jpeg.to_vec(), liveness };
            let _ = events.send(Event::Captured { ticket, result: Ok(face) }).await;
        })
    }
}
