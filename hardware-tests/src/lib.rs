//! A test rig for end-to-end tests: the reference central service over TLS, an
//! enrolled terminal whose reader, printer and camera are the real drivers on their
//! simulators (under supervision, as in `kiosk --simulate`), a screen recorder, and a
//! TCP proxy between terminal and central that can cut the network.

use idcard::ReaderConfig;
use idcard::sim::{SimCard, SimConfig, SimControl};
use kiosk::central_api::{CentralClient, Timeouts};
use kiosk::runtime::devices::{DeviceTasks, SimulatedDevices, Supervision};
use kiosk::runtime::{BoxFuture, ReceiptPrinter, ScreenSink};
use kiosk::session::{Event, Intent, PrintJob, Problem, Screen, SessionTiming};
use kiosk::terminal::{self, Terminal, TerminalOptions};
use printer::virtual_printer::PrinterControl;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

mod network;
pub use network::{MidRequestCut, NetworkLink};

/// Records every screen the terminal shows.
#[derive(Default)]
pub struct ScreenRecorder {
    screens: Mutex<Vec<Screen>>,
    /// Every percent the printing bar was given, in order.
    printing: Mutex<Vec<u8>>,
    changed: Notify,
}

impl ScreenSink for ScreenRecorder {
    fn show(&self, screen: &Screen) {
        self.screens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(screen.clone());
        self.changed.notify_waiters();
    }
    fn countdown(&self, _: Option<u32>) {}
    fn printing(&self, percent: u8) {
        self.printing.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(percent);
    }
}

impl ScreenRecorder {
    /// Waits (generously) for a screen matching `pred` shown after the first `skip`.
    pub async fn wait_for(&self, skip: usize, pred: impl Fn(&Screen) -> bool) -> Screen {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let notified = self.changed.notified();
            if let Some(s) = self
                .screens
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .skip(skip)
                .find(|s| pred(s))
            {
                return s.clone();
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            assert!(
                !left.is_zero(),
                "screen never shown; last: {:?}",
                self.screens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).last()
            );
            let _ = tokio::time::timeout(left, notified).await;
        }
    }
    pub fn count(&self) -> usize {
        self.screens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }
    /// The percents the printing bar showed so far, in order.
    pub fn printing_percents(&self) -> Vec<u8> {
        self.printing.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// The card reader's slot: places synthetic cards on idcard's simulator, which the
/// real driver then reads over the (paced, in-memory) serial line.
#[derive(Clone, Debug)]
pub struct CardSlot {
    pub control: SimControl,
}

impl CardSlot {
    /// Places the card of the person with this ID number: the kiosk's synthetic card
    /// (`kiosk/testdata/cards.toml`) when there is one, else a resident card made for
    /// them (birth date and gender taken from the number).
    pub async fn place(&self, id_number: &str, name: &str) {
        let cards = idcard::sim::load_cards(kiosk::runtime::reader::KIOSK_CARDS).unwrap_or_default();
        let card = match cards.into_iter().find(|c| c.id_number == id_number && c.name == name) {
            Some(card) => Ok(card),
            None => resident_card(id_number, name),
        };
        assert!(card.is_ok(), "no card could be made for {name}: {card:?}", card = card.as_ref().err());
        if let Ok(card) = card {
            self.control.place_card(card);
        }
    }

    /// Places a card of `kiosk/testdata/cards.toml` by label (`kiosk::runtime::reader::cards`).
    pub fn place_label(&self, label: &str) {
        assert!(self.control.place(label), "no card labelled {label:?}");
    }

    pub async fn remove(&self) {
        self.control.remove();
    }
}

/// A resident card for anyone: birth date and gender as the ID number says, no expiry.
fn resident_card(id_number: &str, name: &str) -> Result<SimCard, idcard::sim::CardFileError> {
    let birth = id_number.get(6..14).unwrap_or("19900101");
    let odd = id_number.chars().nth(16).and_then(|c| c.to_digit(10)).is_some_and(|d| d % 2 == 1);
    let gender = if odd { "male" } else { "female" };
    let text = format!(
        "[[card]]\nlabel = \"made\"\nname = \"{name}\"\nid_number = \"{id_number}\"\nbirth_date = \"{birth}\"\n\
         gender = \"{gender}\"\naddress = \"北京市东城区示例路9号\"\nissuer = \"北京市公安局东城分局\"\n\
         valid_from = \"20200101\"\nvalid_until = \"长期\"\n"
    );
    let mut cards = idcard::sim::load_cards(&text)?;
    Ok(cards.remove(0))
}

/// Keeps a text account of every job the printer took, then passes it on.
#[derive(Clone)]
pub struct PaperTrail {
    inner: Arc<dyn ReceiptPrinter>,
    printed: Arc<Mutex<Vec<String>>>,
}

impl PaperTrail {
    /// Texts of the jobs printed so far (failed jobs are not listed).
    pub fn printed(&self) -> Vec<String> {
        self.printed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl ReceiptPrinter for PaperTrail {
    fn print(&self, job: PrintJob) -> BoxFuture<Result<(), Problem>> {
        let (inner, printed) = (self.inner.clone(), self.printed.clone());
        Box::pin(async move {
            let text = render(&job);
            let result = inner.print(job).await;
            if result.is_ok() {
                printed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(text);
            }
            result
        })
    }
    fn expected_duration(&self, job: &PrintJob) -> Option<Duration> {
        self.inner.expected_duration(job)
    }
}

/// A print job as plain text, for assertions.
pub fn render(job: &PrintJob) -> String {
    match job {
        PrintJob::Certificate(c) => format!(
            "CERTIFICATE {}\nholder: {}\n{} .. {}: {} months\nverify: {} ({})",
            c.number,
            c.holder.expose(),
            c.period.from,
            c.period.to,
            c.months_covered,
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
                kiosk::session::Delivery::Submitted { tracking, decision } => {
                    format!("SUBMITTED tracking {tracking} ({decision:?})")
                }
                kiosk::session::Delivery::Queued { reference } => {
                    format!("QUEUED reference {reference}: will be sent when the network returns")
                }
            };
            format!("RECEIPT {:?} {}\n{what}", r.service, r.masked_id.as_deref().unwrap_or(""))
        }
        PrintJob::TestPage => "TEST PAGE".into(),
    }
}

/// The technician PIN of every rig's terminal.
pub const RIG_PIN: &str = "246810";

pub struct Rig {
    pub central: central::RunningServer,
    pub terminal: Terminal,
    pub screens: Arc<ScreenRecorder>,
    /// What was printed, as text (the paper itself: `paper`).
    pub printer: PaperTrail,
    /// The virtual printer behind the ESC/POS driver: run out of paper, open the cover,
    /// read the receipts as pictures. (Unused when `start_with` was given a printer.)
    pub paper: PrinterControl,
    pub reader: CardSlot,
    pub link: NetworkLink,
    pub device_id: String,
    _devices: DeviceTasks,
    _simulators: SimulatedDevices,
    _dir: tempfile::TempDir,
}

impl Rig {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(None).await
    }

    /// With `printer`, jobs go to that printer instead of the rig's own ESC/POS driver
    /// on a virtual printer (whose status is still polled).
    pub async fn start_with(printer: Option<Arc<dyn ReceiptPrinter>>) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let mut config = central::ServerConfig::new(dir.path().join("central"));
        config.listen = "127.0.0.1:0".parse()?;
        config.registry_size = 20;
        let central = central::start(config).await?;
        let link = NetworkLink::start(central.local_addr()).await?;
        let url = format!("https://127.0.0.1:{}", link.addr.port());
        let timeouts = Timeouts { connect: Duration::from_secs(2), request: Duration::from_secs(5) };
        let token = central.create_enrollment_token(Duration::from_secs(600))?;
        let inventory = central::api::HardwareInventory {
            hostname: "e2e".into(),
            software_version: "test".into(),
            devices: vec![],
        };
        let identity = CentralClient::enroll(&url, &central.ca_pem(), &token, inventory, timeouts).await?;
        let device_id = identity.device_id.clone();
        let screens = Arc::new(ScreenRecorder::default());
        // The reader at full wire speed with an instant SAM; the camera as fast as the
        // face analysis goes.
        let sim = SimulatedDevices::new(SimConfig::default(), Duration::ZERO)?;
        let jobs: Arc<dyn ReceiptPrinter> = printer.unwrap_or_else(|| sim.printer.clone());
        let trail = PaperTrail { inner: jobs, printed: Arc::default() };
        let terminal = terminal::start(TerminalOptions {
            data_dir: dir.path().join("kiosk"),
            central_url: url,
            identity,
            timeouts,
            timing: SessionTiming::default(),
            submit_wait: Duration::from_secs(3),
            heartbeat: Duration::from_secs(2),
            backoff: kiosk::outbox::backoff::Backoff {
                base: Duration::from_millis(50),
                cap: Duration::from_millis(500),
            },
            limits: kiosk::outbox::Limits::default(),
            metrics_listen: None,
            screen: screens.clone(),
            printer: Arc::new(trail.clone()),
            camera: Arc::new(sim.camera.clone()),
            maintenance_pin: Some(kiosk::config::hash_pin(RIG_PIN)?),
        })
        .await?;
        let supervision = Supervision {
            backoff: kiosk::outbox::backoff::Backoff {
                base: Duration::from_millis(50),
                cap: Duration::from_millis(500),
            },
            reader: ReaderConfig { poll_interval: Duration::from_millis(50), ..ReaderConfig::default() },
            printer_poll: Duration::from_millis(100),
            camera_probe: Duration::from_millis(500),
        };
        let devices = sim.start(&terminal.events, &supervision);
        let reader = CardSlot { control: sim.reader.control() };
        Ok(Self {
            central,
            terminal,
            screens,
            printer: trail,
            paper: sim.paper.clone(),
            reader,
            link,
            device_id,
            _devices: devices,
            _simulators: sim,
            _dir: dir,
        })
    }

    pub async fn touch(&self, intent: Intent) {
        let _ = self.terminal.events.send(Event::Touch(intent)).await;
    }
}
