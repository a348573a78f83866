//! A test rig for end-to-end tests: the reference central service over TLS, an
//! enrolled terminal whose reader, printer and camera are the real drivers on their
//! simulators (under supervision, started by the `simulation` crate as the demo starts
//! them), a screen recorder, and a TCP proxy between terminal and central that can cut
//! the network.

use idcard::sim::{SimCard, SimControl};
use kiosk::runtime::{BoxFuture, ReceiptPrinter, ScreenSink};
use kiosk::terminal::Terminal;
use printer::virtual_printer::PrinterControl;
use session::{Event, Intent, PrintJob, Problem, Screen};
use simulation::{DeviceSettings, ReferenceCentral, SimulatedTerminal, TerminalSetup};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

pub mod child;
mod network;
pub use network::{Injected, MidRequestCut, NetworkLink};

/// Records every screen the terminal shows.
#[derive(Default)]
pub struct ScreenRecorder {
    screens: Mutex<Vec<Screen>>,
    /// Screens forgotten from the front ([`ScreenRecorder::forget_before`]): indices
    /// stay absolute.
    forgotten: std::sync::atomic::AtomicUsize,
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
            let found = {
                let screens = self.screens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let skip = skip.saturating_sub(self.forgotten.load(std::sync::atomic::Ordering::SeqCst));
                screens.iter().skip(skip).find(|s| pred(s)).cloned()
            };
            if let Some(s) = found {
                return s;
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
    /// Every screen shown so far (since the last [`ScreenRecorder::forget_before`]), in order.
    pub fn all(&self) -> Vec<Screen> {
        self.screens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
    pub fn count(&self) -> usize {
        let screens = self.screens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        screens.len() + self.forgotten.load(std::sync::atomic::Ordering::SeqCst)
    }
    /// Forgets the screens before `mark` (a [`ScreenRecorder::count`]), so that a soak
    /// of thousands of sessions does not measure the recorder's memory.
    pub fn forget_before(&self, mark: usize) {
        let mut screens = self.screens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let forgotten = self.forgotten.load(std::sync::atomic::Ordering::SeqCst);
        let n = mark.saturating_sub(forgotten).min(screens.len());
        screens.drain(..n);
        self.forgotten.store(forgotten + n, std::sync::atomic::Ordering::SeqCst);
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
    /// Places the card of the person with this ID number: the simulator's synthetic card
    /// (`simulation/testdata/cards.toml`) when there is one, else a resident card made
    /// for them (birth date and gender taken from the number).
    pub async fn place(&self, id_number: &str, name: &str) {
        let cards = idcard::sim::load_cards(simulation::CARDS).unwrap_or_default();
        let card = match cards.into_iter().find(|c| c.id_number == id_number && c.name == name) {
            Some(card) => Ok(card),
            None => resident_card(id_number, name),
        };
        assert!(card.is_ok(), "no card could be made for {name}: {card:?}", card = card.as_ref().err());
        if let Ok(card) = card {
            self.control.place_card(card);
        }
    }

    /// Places a card of `simulation/testdata/cards.toml` by label (`simulation::cards`).
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

/// Keeps an account of every job the printer took (what the paper says), then passes
/// it on.
struct PaperTrail {
    inner: Arc<dyn ReceiptPrinter>,
    printed: Printed,
}

/// What came out of the printer, as text.
#[derive(Clone, Default)]
pub struct Printed(Arc<Mutex<Vec<String>>>);

impl Printed {
    /// The printouts that came out so far, each as the lines it prints (the strings of
    /// its document, joined by newlines); failed jobs are not listed.
    pub fn printed(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl ReceiptPrinter for PaperTrail {
    fn layout(&self, job: &PrintJob) -> printer::Document {
        self.inner.layout(job)
    }
    fn print(&self, doc: printer::Document) -> BoxFuture<Result<(), Problem>> {
        let (inner, printed) = (self.inner.clone(), self.printed.clone());
        Box::pin(async move {
            let text = doc.strings().join("\n");
            let result = inner.print(doc).await;
            if result.is_ok() {
                printed.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(text);
            }
            result
        })
    }
    fn expected_duration(&self, doc: &printer::Document) -> Option<Duration> {
        self.inner.expected_duration(doc)
    }
}

/// A qualification check of the approved pensioner with a real portrait (the Grace
/// Hopper photo of `testdata/faces`, public domain), as the terminal's outbox sends it:
/// about 117 KiB once in base64, large enough to be cut mid-upload.
pub fn qualification_check_body() -> Vec<u8> {
    use base64::Engine as _;
    const FACE: &[u8] = include_bytes!("../../testdata/faces/grace_hopper_512x512.jpg");
    let body = serde_json::json!({
        "id_number": central::registry::APPROVED_PENSIONER_ID,
        "name": central::registry::APPROVED_PENSIONER_NAME,
        "face_jpeg": base64::engine::general_purpose::STANDARD.encode(FACE),
        "liveness": { "method": "head_turn", "score": 1.0, "passed": true, "frames": 24 },
        "captured_at": "2026-03-01T09:30:00+08:00",
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The technician PIN of every rig's terminal.
pub const RIG_PIN: &str = "246810";

pub struct Rig {
    pub central: central::RunningServer,
    pub terminal: Terminal,
    pub screens: Arc<ScreenRecorder>,
    /// What was printed, as text (the paper itself: `paper`).
    pub printer: Printed,
    /// The virtual printer behind the ESC/POS driver: run out of paper, open the cover,
    /// read the receipts as pictures. (Unused when `start_with` was given a printer.)
    pub paper: PrinterControl,
    pub reader: CardSlot,
    /// The social security card simulator (on a virtual PC/SC reader), where started
    /// with one ([`Rig::start_with_devices`]).
    pub social_security: Option<sscard::sim::SimControl>,
    /// The receipt scanner simulator, where started with one.
    pub scanner: Option<scanner::sim::ScannerControl>,
    pub link: NetworkLink,
    pub device_id: String,
    /// The terminal's data directory (identity, outbox, the update spool).
    pub kiosk_dir: std::path::PathBuf,
    /// Central's address as the terminal reaches it (through `link`).
    pub url: String,
    /// Central's data directory (its published packages under `releases/`).
    pub central_dir: std::path::PathBuf,
    /// The terminal's enrolled identity (the rig keeps it in memory, not in `kiosk_dir`).
    pub identity: kiosk::central_api::DeviceIdentity,
    _simulated: SimulatedDevicesGuard,
    _dir: tempfile::TempDir,
}

/// Keeps the simulated devices and their tasks alive for the rig's life.
struct SimulatedDevicesGuard(
    #[allow(dead_code)] simulation::SimulatedDevices,
    #[allow(dead_code)] kiosk::runtime::devices::DeviceTasks,
);

impl Rig {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(None).await
    }

    /// With `printer`, jobs go to that printer instead of the rig's own ESC/POS driver
    /// on a virtual printer (whose status is still polled).
    pub async fn start_with(printer: Option<Arc<dyn ReceiptPrinter>>) -> anyhow::Result<Self> {
        Self::build(printer, DeviceSettings::default()).await
    }

    /// With these simulated devices (the social security card reader, the scanner).
    pub async fn start_with_devices(devices: DeviceSettings) -> anyhow::Result<Self> {
        Self::build(None, devices).await
    }

    /// With the terminal's data (outbox, audit trail, keys) in `kiosk_dir`, e.g. a
    /// small tmpfs the test fills up.
    pub async fn start_on(kiosk_dir: &std::path::Path) -> anyhow::Result<Self> {
        Self::build_in(None, DeviceSettings::default(), Some(kiosk_dir), false).await
    }

    /// For a soak: the central service lets this terminal look up the registry as
    /// fast as the test drives it (its limit is set for a queue of people).
    pub async fn start_for_soak() -> anyhow::Result<Self> {
        Self::build_in(None, DeviceSettings::default(), None, true).await
    }

    async fn build(printer: Option<Arc<dyn ReceiptPrinter>>, settings: DeviceSettings) -> anyhow::Result<Self> {
        Self::build_in(printer, settings, None, false).await
    }

    async fn build_in(
        printer: Option<Arc<dyn ReceiptPrinter>>,
        mut settings: DeviceSettings,
        kiosk_dir: Option<&std::path::Path>,
        unthrottled: bool,
    ) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let kiosk_dir = kiosk_dir.map_or_else(|| dir.path().join("kiosk"), std::path::Path::to_owned);
        let central_dir = dir.path().join("central");
        let central = ReferenceCentral::start_configured(&central_dir, 20, |config| {
            if unthrottled {
                config.lookups_per_terminal.per_minute = 1_000_000;
                config.lookups_per_terminal.burst = 1_000_000;
            }
        })
        .await?;
        let link = NetworkLink::start(central.server.local_addr()).await?;
        let url = format!("https://127.0.0.1:{}", link.addr.port());
        let identity = central.enroll(&url, "e2e").await?;
        settings.verify_base_url = Some(identity.verify_base_url.clone());
        let device_id = identity.device_id.clone();
        let screens = Arc::new(ScreenRecorder::default());
        let options = simulation::test_options(&kiosk_dir, url.clone(), identity.clone(), screens.clone(), RIG_PIN)?;
        // The jobs pass through the paper trail on their way to the printer.
        let printed = Printed::default();
        let trail = printed.clone();
        let wrap = move |simulated: Arc<dyn ReceiptPrinter>| -> Arc<dyn ReceiptPrinter> {
            Arc::new(PaperTrail { inner: printer.unwrap_or(simulated), printed: trail })
        };
        let sim = SimulatedTerminal::start(TerminalSetup {
            options,
            devices: settings,
            supervision: simulation::quick_supervision(),
            wrap_printer: Some(Box::new(wrap)),
        })
        .await?;
        let SimulatedTerminal { terminal, devices, tasks } = sim;
        let reader = CardSlot { control: devices.reader.control() };
        let social_security = devices.social_security.as_ref().map(|s| s.control.clone());
        let scanner = devices.scanner.clone();
        Ok(Self {
            central: central.server,
            terminal,
            screens,
            printer: printed,
            paper: devices.paper.clone(),
            reader,
            social_security,
            scanner,
            link,
            device_id,
            kiosk_dir,
            url,
            central_dir,
            identity,
            _simulated: SimulatedDevicesGuard(devices, tasks),
            _dir: dir,
        })
    }

    pub async fn touch(&self, intent: Intent) {
        let _ = self.terminal.events.send(Event::Touch(intent)).await;
    }

    /// The person's card on the reader, `service` chosen and their identity confirmed;
    /// returns the count of screens shown before, to wait for what comes next.
    pub async fn begin(&self, id: &str, name: &str, service: session::Service) -> usize {
        let mark = self.screens.count();
        self.reader.place(id, name).await;
        self.screens.wait_for(mark, |s| matches!(s, Screen::Menu { .. })).await;
        self.touch(Intent::Choose(service)).await;
        self.screens.wait_for(mark, |s| matches!(s, Screen::Identity { .. })).await;
        self.touch(Intent::Confirm).await;
        mark
    }
}
