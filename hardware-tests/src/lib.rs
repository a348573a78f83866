//! A test rig for end-to-end tests: the reference central service over TLS, an
//! enrolled terminal with simulated reader, printer and camera, a screen recorder,
//! and a TCP proxy between them that can cut the network.

use kiosk::central_api::{CentralClient, Timeouts};
use kiosk::runtime::simulated::{SimCamera, SimPrinter, SimReader};
use kiosk::runtime::{ReceiptPrinter, ScreenSink};
use kiosk::session::{Event, Intent, Screen, SessionTiming};
use kiosk::terminal::{self, Terminal, TerminalOptions};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Records every screen the terminal shows.
#[derive(Default)]
pub struct ScreenRecorder {
    screens: Mutex<Vec<Screen>>,
    changed: Notify,
}

impl ScreenSink for ScreenRecorder {
    fn show(&self, screen: &Screen) {
        self.screens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(screen.clone());
        self.changed.notify_waiters();
    }
    fn countdown(&self, _: Option<u32>) {}
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
}

/// A TCP proxy whose link can be cut (open connections dropped, new ones refused).
pub struct NetworkLink {
    pub addr: std::net::SocketAddr,
    up: watch::Sender<bool>,
}

impl NetworkLink {
    pub async fn start(target: std::net::SocketAddr) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (up, _) = watch::channel(true);
        let link = up.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut state = link.subscribe();
                if !*state.borrow() {
                    continue; // cut: the connection is dropped at once
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = state.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Ok(Self { addr, up })
    }
    pub fn cut(&self) {
        self.up.send_replace(false);
    }
    pub fn restore(&self) {
        self.up.send_replace(true);
    }
}

pub struct Rig {
    pub central: central::RunningServer,
    pub terminal: Terminal,
    pub screens: Arc<ScreenRecorder>,
    pub printer: SimPrinter,
    pub reader: SimReader,
    pub link: NetworkLink,
    pub device_id: String,
    _dir: tempfile::TempDir,
}

impl Rig {
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_with(None).await
    }

    /// With `printer`, jobs go to that printer instead of the text-only `SimPrinter`.
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
        let sim_printer = SimPrinter::default();
        let job_printer: Arc<dyn ReceiptPrinter> = printer.unwrap_or_else(|| Arc::new(sim_printer.clone()));
        let mut camera = SimCamera::with_test_face()?;
        camera.step = Duration::from_millis(20);
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
            printer: job_printer,
            camera: Arc::new(camera),
        })
        .await?;
        let reader = SimReader::new(terminal.events.clone());
        Ok(Self { central, terminal, screens, printer: sim_printer, reader, link, device_id, _dir: dir })
    }

    pub async fn touch(&self, intent: Intent) {
        let _ = self.terminal.events.send(Event::Touch(intent)).await;
    }
}
