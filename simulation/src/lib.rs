//! A whole terminal with nothing real but its drivers: the reference central service
//! in this process, each device's simulator behind the same driver production uses,
//! and the steps that join them. This is the one place that starts central, enrolls a
//! terminal, builds the simulated devices and starts the terminal; the demo
//! (`kiosk-simulate`), the end-to-end and fault tests (`hardware-tests`) and the
//! benchmarks all go through it. The production `kiosk` binary links none of it.
//!
//! Start reading at [`ReferenceCentral`] and [`SimulatedTerminal`].

pub mod console;

/// The simulated camera's USB cable ([`DeviceSettings::camera_plug`]).
pub use camera::CameraPlug;
use central::{RunningServer, ServerConfig};
use idcard::ReaderConfig;
use idcard::sim::{CardFileError, SimConfig, SimControl, Simulator};
use kiosk::central_api::{CentralClient, DeviceIdentity, Timeouts};
use kiosk::outbox::backoff::Backoff;
use kiosk::runtime::camera::{DriverCamera, SourceOpener, capture_config};
use kiosk::runtime::devices::{self, DeviceTasks, Reopening, Supervision};
use kiosk::runtime::escpos_printer::DriverPrinter;
use kiosk::runtime::reader::ReaderOpener;
use kiosk::runtime::{FaceCamera, ReceiptPrinter, ScreenSink};
use kiosk::terminal::{self, Terminal, TerminalOptions};
use printer::virtual_printer::{PrinterControl, VirtualLink, VirtualPrinter};
use printer::{Printer, Profile};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The synthetic cards of the simulated reader: the central service's synthetic people
/// (as its registry has them) plus cards the terminal must refuse.
pub const CARDS: &str = include_str!("../testdata/cards.toml");

/// Labels of [`CARDS`], to place them with `SimControl::place`.
pub mod cards {
    /// 11010519491231002X, approved pensioner.
    pub const APPROVED_PENSIONER: &str = "approved-pensioner";
    /// 440524188001010014, pending review.
    pub const REVIEW_PENSIONER: &str = "review-pensioner";
    /// 450103199001010032, a worker.
    pub const WORKER: &str = "worker";
    /// 450102198403150029 黄丽: may register as a flexible worker.
    pub const FLEXIBLE_WORKER: &str = "flexible-worker";
    /// 450105197805200046 陈秀兰, 48: the "4050" subsidy once registered unemployed.
    pub const SUBSIDY_CANDIDATE: &str = "subsidy-candidate";
    pub const EXPIRED: &str = "expired";
    /// A foreign permanent resident's card: not a resident ID card.
    pub const FOREIGNER: &str = "foreigner";
    /// A resident card whose ID number fails its check digit.
    pub const BAD_CHECK_DIGIT: &str = "bad-check-digit";
}

/// The synthetic social security cards (the central service's fixed people first, then
/// cards to refuse), from the social security card driver's test data.
pub const SOCIAL_SECURITY_CARDS: &str = include_str!("../../drivers/sscard/testdata/cards.toml");

/// Labels of [`SOCIAL_SECURITY_CARDS`].
pub mod social_security_cards {
    /// 11010519491231002X 张秀英, approved pensioner.
    pub const APPROVED_PENSIONER: &str = "zhang-xiuying";
    /// 450103199001010032 王伟, a worker.
    pub const WORKER: &str = "wang-wei";
    pub const EXPIRED: &str = "expired";
    /// Reported lost: `62 83`.
    pub const BLOCKED: &str = "blocked";
    /// Its holder file wants a security module: `69 82`.
    pub const PROTECTED: &str = "protected";
}

/// The portrait the simulated camera "sees" (`testdata/faces`, public domain), built
/// into the program so the demo runs from anywhere, and where its nose is.
const PORTRAIT: &[u8] = include_bytes!("../../testdata/faces/grace_hopper_512x512.jpg");
const PORTRAIT_NOSE: (f32, f32) = (273.0, 206.0);

/// Enrollment and requests give up after these (loopback: generous but bounded).
pub const TIMEOUTS: Timeouts = Timeouts { connect: Duration::from_secs(2), request: Duration::from_secs(5) };

/// The reference central service, running in this process.
pub struct ReferenceCentral {
    pub server: RunningServer,
}

impl std::fmt::Debug for ReferenceCentral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReferenceCentral({})", self.url())
    }
}

impl ReferenceCentral {
    /// Starts it on a free loopback port with its data in `dir` and a synthetic registry
    /// of `registry_size` people (the fixed ones first).
    pub async fn start(dir: &Path, registry_size: u32) -> anyhow::Result<Self> {
        Self::start_on(dir, registry_size, "127.0.0.1:0".parse()?).await
    }

    /// Starts it on a free loopback port, with `configure` applied to its settings
    /// (e.g. a soak raising the per-terminal lookup rate meant for people).
    pub async fn start_configured(
        dir: &Path,
        registry_size: u32,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> anyhow::Result<Self> {
        let mut config = ServerConfig::new(dir);
        config.listen = "127.0.0.1:0".parse()?;
        config.registry_size = registry_size;
        configure(&mut config);
        Ok(Self { server: central::start(config).await? })
    }

    /// Starts it listening on `listen` (port 0: a free port) with its data in `dir`.
    /// A specific address is also named in the server certificate (made on the first
    /// start in `dir`, kept after), so terminals can dial that IP; a later start on the
    /// same `dir` and port serves the same CA, keys and address, as after a restart.
    pub async fn start_on(dir: &Path, registry_size: u32, listen: std::net::SocketAddr) -> anyhow::Result<Self> {
        let mut config = ServerConfig::new(dir);
        config.listen = listen;
        config.registry_size = registry_size;
        if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
            config.server_names.push(listen.ip().to_string());
        }
        Ok(Self { server: central::start(config).await? })
    }

    /// Its own address (terminals may also reach it through a proxy: see `enroll`):
    /// loopback when it listens on every address.
    pub fn url(&self) -> String {
        let addr = self.server.local_addr();
        if addr.ip().is_unspecified() {
            format!("https://127.0.0.1:{}", addr.port())
        } else {
            format!("https://{addr}")
        }
    }

    /// Enrolls a terminal as a technician would, with a fresh one-time token, against
    /// `url` (this service's, or a proxy's in front of it).
    pub async fn enroll(&self, url: &str, hostname: &str) -> anyhow::Result<DeviceIdentity> {
        let token = self.server.create_enrollment_token(Duration::from_secs(600))?;
        let inventory = contract::HardwareInventory {
            hostname: hostname.into(),
            software_version: "simulated".into(),
            devices: vec![],
        };
        Ok(CentralClient::enroll(url, &self.server.ca_pem(), &token, inventory, TIMEOUTS).await?)
    }

    /// The identity saved in `data_dir` if it was enrolled with this service's CA (a
    /// previous demo run against the same data), else a new enrollment, saved there.
    pub async fn enrolled(&self, data_dir: &Path) -> anyhow::Result<DeviceIdentity> {
        if let Some(identity) = DeviceIdentity::load(data_dir)?
            && identity.ca_pem == self.server.ca_pem()
        {
            return Ok(identity);
        }
        let identity = self.enroll(&self.url(), "simulated").await?;
        std::fs::create_dir_all(data_dir)?;
        identity.save(data_dir)?;
        tracing::info!(device = %identity.device_id, "enrolled with the in-process central service");
        Ok(identity)
    }

    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

/// The ID card reader: idcard's byte-exact simulator on an in-memory line paced at the
/// configured baud rate. Dropping it unplugs the reader.
#[derive(Debug)]
pub struct SimulatedReader {
    simulator: Simulator,
}

impl SimulatedReader {
    /// Loaded with [`CARDS`].
    pub fn new(config: SimConfig) -> Result<Self, CardFileError> {
        Ok(Self { simulator: Simulator::new(idcard::sim::load_cards(CARDS)?, config) })
    }

    /// Places and removes cards, injects faults, unplugs the reader.
    pub fn control(&self) -> SimControl {
        self.simulator.control()
    }

    /// Connects the driver to the simulator (fails while it is "unplugged").
    pub fn opener(&self) -> ReaderOpener {
        let control = self.simulator.control();
        Arc::new(move || control.connect().map(|end| Box::new(end) as Box<dyn device_link::Link>))
    }
}

/// The camera: a capture session on a synthetic head turn of the built-in portrait,
/// one picture every `pace`, repeating.
pub fn simulated_camera(pace: Duration) -> anyhow::Result<DriverCamera> {
    simulated_camera_on(pace, &CameraPlug::default())
}

/// [`simulated_camera`] on a USB cable that can be pulled: while `plug` is out the
/// camera cannot be opened and an open one stops delivering.
pub fn simulated_camera_on(pace: Duration, plug: &CameraPlug) -> anyhow::Result<DriverCamera> {
    let face = image::load_from_memory(PORTRAIT)?.to_rgb8();
    let script = camera::head_turn(&face, PORTRAIT_NOSE);
    let plug = plug.clone();
    let open: SourceOpener =
        Arc::new(move || plug.open(camera::SyntheticSource::new(script.clone()).repeating(true).paced(pace)));
    Ok(DriverCamera::new(open, capture_config()))
}

/// How the simulated devices behave.
#[derive(Clone, Debug)]
pub struct DeviceSettings {
    /// The reader's baud rate and SAM delay.
    pub reader: SimConfig,
    /// The camera's frame interval.
    pub camera_pace: Duration,
    /// Printed on every printout.
    pub terminal_id: Option<String>,
    /// A social security card reader: a card simulator on one of vpcd's virtual readers,
    /// through the real pcscd (started if none runs; needs the Debian packages pcscd and
    /// vsmartcard-vpcd).
    pub social_security_card: Want,
    /// A serial receipt scanner: a scanner simulator on a pseudo-terminal.
    pub scanner: bool,
    /// The enrollment's verify base URL, so that the scanner knows certificates' codes.
    pub verify_base_url: Option<String>,
    /// The camera's USB cable (plugged in): keep a clone to unplug the camera.
    pub camera_plug: CameraPlug,
}

impl Default for DeviceSettings {
    /// The reader at full wire speed with an instant SAM; the camera as fast as the face
    /// analysis goes: for tests and benchmarks.
    fn default() -> Self {
        Self {
            reader: SimConfig::default(),
            camera_pace: Duration::ZERO,
            terminal_id: None,
            social_security_card: Want::No,
            scanner: false,
            verify_base_url: None,
            camera_plug: CameraPlug::default(),
        }
    }
}

impl DeviceSettings {
    /// As a person at the demo sees it: a SAM that takes as long as a real one, a
    /// camera at 10 frames a second, both card readers and the scanner.
    pub fn lifelike(terminal_id: &str, verify_base_url: &str) -> Self {
        Self {
            reader: SimConfig { sam_delay: Duration::from_millis(400), ..SimConfig::default() },
            camera_pace: Duration::from_millis(100),
            terminal_id: Some(terminal_id.into()),
            social_security_card: Want::IfAvailable,
            scanner: true,
            verify_base_url: Some(verify_base_url.into()),
            camera_plug: CameraPlug::default(),
        }
    }
}

/// A social security card simulator on a leased vpcd reader of the real pcscd.
pub struct SimulatedSocialSecurityReader {
    /// Inserts and removes the synthetic cards.
    pub control: sscard::sim::SimControl,
    /// The PC/SC reader's name ("Virtual PCD 00 0N").
    pub reader: String,
    _simulator: sscard::sim::Simulator,
    _lease: sscard::harness::ReaderLease,
    _pcscd: sscard::harness::Pcscd,
}

impl std::fmt::Debug for SimulatedSocialSecurityReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SimulatedSocialSecurityReader({})", self.reader)
    }
}

impl SimulatedSocialSecurityReader {
    /// Joins (or starts) pcscd and leases a virtual reader for this terminal alone.
    pub fn start() -> anyhow::Result<Self> {
        let pcscd = sscard::harness::pcscd()?;
        let lease = pcscd.lease_reader()?;
        let cards = sscard::sim::load_cards(SOCIAL_SECURITY_CARDS)?;
        let simulator = sscard::sim::Simulator::start(cards, lease.port);
        Ok(Self {
            control: simulator.control(),
            reader: lease.name.clone(),
            _simulator: simulator,
            _lease: lease,
            _pcscd: pcscd,
        })
    }
}

/// Whether a simulated device is wanted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    No,
    /// If it can be had (the demo): without it the terminal runs as one that lacks it.
    IfAvailable,
    /// Or fail (tests).
    Yes,
}

/// Every device simulated, each behind its real driver: idcard's simulator on a paced
/// in-memory line, the ESC/POS driver on the virtual printer (its link reopened after an
/// unplug, as the production printer's is), a capture session on a synthetic head turn;
/// where asked for, a social security card on a virtual PC/SC reader and a serial
/// receipt scanner on a pseudo-terminal.
pub struct SimulatedDevices {
    pub reader: SimulatedReader,
    pub printer: Arc<DriverPrinter<Reopening<VirtualLink>>>,
    /// The virtual printer's paper: receipts as pictures, paper out, cover open, the
    /// USB cable pulled (`vanish`).
    pub paper: PrinterControl,
    pub camera: DriverCamera,
    pub social_security: Option<SimulatedSocialSecurityReader>,
    /// Scans codes as a serial scanner would.
    pub scanner: Option<scanner::sim::ScannerControl>,
    /// How the terminal reaches the optional devices.
    pub optional: kiosk::runtime::devices::OptionalDevices,
    _scanner: Option<scanner::sim::ScannerSim>,
    _scanner_dir: Option<tempfile::TempDir>,
    _virtual_printer: VirtualPrinter,
}

impl std::fmt::Debug for SimulatedDevices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedDevices").field("reader", &self.reader).finish_non_exhaustive()
    }
}

impl SimulatedDevices {
    pub fn new(settings: &DeviceSettings) -> anyhow::Result<Self> {
        let vp = VirtualPrinter::new(Profile::KIOSK_80);
        let plug = vp.control();
        let link = Reopening::new(move || plug.connect());
        let mut driver = DriverPrinter::new(Printer::new(link, Profile::KIOSK_80));
        if let Some(id) = &settings.terminal_id {
            driver = driver.with_terminal_id(id);
        }
        let social_security = match settings.social_security_card {
            Want::No => None,
            Want::Yes => Some(SimulatedSocialSecurityReader::start()?),
            Want::IfAvailable => match SimulatedSocialSecurityReader::start() {
                Ok(reader) => Some(reader),
                Err(e) => {
                    tracing::warn!(error = %e, "no simulated social security card reader: the terminal takes ID cards only");
                    None
                }
            },
        };
        let (scanner_sim, scanner_dir) = match settings.scanner {
            true => {
                let dir = tempfile::tempdir()?;
                let sim = scanner::sim::ScannerSim::start(&dir.path().join("scanner"))?;
                (Some(sim), Some(dir))
            }
            false => (None, None),
        };
        let optional = kiosk::runtime::devices::OptionalDevices {
            social_security_reader: social_security
                .as_ref()
                .map(|s| kiosk::runtime::devices::ReaderChoice::Named(s.reader.clone())),
            scanner: scanner_sim.as_ref().map(|sim| kiosk::runtime::scanner::ScannerPort::Serial {
                path: sim.path().display().to_string(),
                baud: 9600,
            }),
            verify_base_url: settings.verify_base_url.clone(),
        };
        Ok(Self {
            reader: SimulatedReader::new(settings.reader.clone())?,
            printer: Arc::new(driver),
            paper: vp.control(),
            camera: simulated_camera_on(settings.camera_pace, &settings.camera_plug)?,
            social_security,
            scanner: scanner_sim.as_ref().map(scanner::sim::ScannerSim::control),
            optional,
            _scanner: scanner_sim,
            _scanner_dir: scanner_dir,
            _virtual_printer: vp,
        })
    }

    /// The simulator console's handles on these devices.
    pub fn controls(&self) -> console::Controls {
        console::Controls {
            reader: self.reader.control(),
            paper: self.paper.clone(),
            social_security: self.social_security.as_ref().map(|s| s.control.clone()),
            scanner: self.scanner.clone(),
        }
    }
}

/// Supervision that notices and recovers in tens of milliseconds (tests).
pub fn quick_supervision() -> Supervision {
    Supervision {
        backoff: Backoff { base: Duration::from_millis(50), cap: Duration::from_millis(500) },
        reader: ReaderConfig { poll_interval: Duration::from_millis(50), ..ReaderConfig::default() },
        printer_poll: Duration::from_millis(100),
        camera_probe: Duration::from_millis(500),
    }
}

/// Makes a terminal's options once its printer and camera exist (see `kiosk::app::options`).
pub type MakeOptions = Box<dyn FnOnce(Arc<dyn ReceiptPrinter>, Arc<dyn FaceCamera>) -> TerminalOptions + Send>;

/// Puts something in front of a printer: print jobs go to what it returns.
pub type WrapPrinter = Box<dyn FnOnce(Arc<dyn ReceiptPrinter>) -> Arc<dyn ReceiptPrinter> + Send>;

/// What a simulated terminal is started with, beyond its devices.
pub struct TerminalSetup {
    /// Everything but the devices.
    pub options: MakeOptions,
    pub devices: DeviceSettings,
    pub supervision: Supervision,
    /// Puts something in front of the simulated printer (a recorder, in tests; or
    /// another printer altogether): print jobs go to what it returns. The simulated
    /// printer's status is watched either way.
    pub wrap_printer: Option<WrapPrinter>,
}

/// An enrolled terminal running on simulated devices.
pub struct SimulatedTerminal {
    pub terminal: Terminal,
    pub devices: SimulatedDevices,
    /// The supervised device tasks; dropping them stops the devices.
    pub tasks: DeviceTasks,
}

impl std::fmt::Debug for SimulatedTerminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedTerminal").field("devices", &self.devices).finish_non_exhaustive()
    }
}

impl SimulatedTerminal {
    /// Builds the simulated devices, starts the terminal on them and the supervised
    /// device tasks that report to it.
    pub async fn start(setup: TerminalSetup) -> anyhow::Result<Self> {
        let devices = SimulatedDevices::new(&setup.devices)?;
        let simulated: Arc<dyn ReceiptPrinter> = devices.printer.clone();
        let printer = match setup.wrap_printer {
            Some(wrap) => wrap(simulated),
            None => simulated,
        };
        let camera: Arc<dyn FaceCamera> = Arc::new(devices.camera.clone());
        let terminal = terminal::start((setup.options)(printer, camera)).await?;
        let tasks = devices::start(
            &terminal.events,
            devices.reader.opener(),
            &devices.printer,
            &devices.camera,
            &devices.optional,
            &setup.supervision,
        );
        Ok(Self { terminal, devices, tasks })
    }

    /// Stops the device tasks, then the terminal.
    pub async fn shutdown(self) {
        drop(self.tasks);
        self.terminal.shutdown().await;
    }
}

/// Options for a test terminal talking to `central_url` as `identity`: data in
/// `data_dir`, quick retries, screens to `screen`, the technician PIN `pin`.
pub fn test_options(
    data_dir: &Path,
    central_url: String,
    identity: DeviceIdentity,
    screen: Arc<dyn ScreenSink>,
    pin: &str,
) -> anyhow::Result<MakeOptions> {
    let data_dir = data_dir.to_owned();
    let pin_hash = kiosk::config::hash_pin(pin)?;
    Ok(Box::new(move |printer, camera| TerminalOptions {
        data_dir,
        central_url,
        identity,
        timeouts: TIMEOUTS,
        timing: session::SessionTiming::default(),
        submit_wait: Duration::from_secs(3),
        heartbeat: Duration::from_secs(2),
        backoff: Backoff { base: Duration::from_millis(50), cap: Duration::from_millis(500) },
        limits: kiosk::outbox::Limits::default(),
        metrics_listen: None,
        screen,
        printer,
        camera,
        maintenance_pin: Some(pin_hash),
        maintenance_tools: None,
        updates: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The simulated reader's people are the central service's, card for card.
    #[test]
    fn the_cards_carry_the_central_services_people_with_valid_numbers() {
        let cards = idcard::sim::load_cards(CARDS).unwrap();
        for (label, id, name) in [
            (
                cards::APPROVED_PENSIONER,
                central::registry::APPROVED_PENSIONER_ID,
                central::registry::APPROVED_PENSIONER_NAME,
            ),
            (cards::REVIEW_PENSIONER, central::registry::REVIEW_PENSIONER_ID, central::registry::REVIEW_PENSIONER_NAME),
            (cards::WORKER, central::registry::WORKER_ID, central::registry::WORKER_NAME),
        ] {
            let card = cards.iter().find(|c| c.label == label).unwrap();
            assert_eq!((card.id_number.as_str(), card.name.as_str()), (id, name), "{label}");
            assert!(contract::idnumber::is_valid(id), "{label}");
        }
        for label in [cards::EXPIRED, cards::FOREIGNER, cards::BAD_CHECK_DIGIT] {
            assert!(cards.iter().any(|c| c.label == label), "{label}");
        }
    }

    #[test]
    fn the_built_in_portrait_turns_its_head() {
        let camera = simulated_camera(Duration::ZERO);
        assert!(camera.is_ok(), "{:?}", camera.err());
        let face = image::load_from_memory(PORTRAIT).unwrap().to_rgb8();
        assert_eq!(face.dimensions(), (512, 512));
        assert_eq!(camera::head_turn(&face, PORTRAIT_NOSE).len(), 10);
    }
}
