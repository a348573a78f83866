//! The ID card reader, the receipt printer and the camera, each unplugged and plugged
//! back 100 times in a row on one running terminal (one `Rig`, one runtime, never
//! restarted): every time the terminal notices, disables the services that need the
//! device, and is back in service (the start screen offers every service again) within
//! 2 s of the device's return, without leaking file descriptors or threads.
//!
//! Unplugging is what the field does to the device's connection: the reader's port and
//! the printer's link drop and cannot be opened until they are back (idcard's simulator
//! `vanish`, the virtual printer's `vanish`); the camera's open source stops delivering
//! and opens fail (`CameraPlug::vanish`). The terminal learns of a lost camera only when
//! it uses it, so each camera cycle has a citizen start the qualification check: half the
//! time with the camera already gone, half the time pulling it mid-capture.
//!
//! Descriptors and threads are counted from `/proc/self` (the process is this test's
//! own under nextest; the tests of this file take turns under `cargo test`), before the
//! loop, after a warm-up, and at the end, each time the fewest seen in a second of quiet
//! (so a short-lived worker is not counted as a leak, while one lost a cycle would be).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use central::registry::{APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, WORKER_ID, WORKER_NAME};
use hardware_tests::Rig;
use session::{
    CertificateKind, CertificatePeriod, Decision, Delivery, Device, Health, Intent, Notice, ReceiptState, Screen,
    Service, ServiceTile,
};
use simulation::{CameraPlug, DeviceSettings};
use std::time::{Duration, Instant};

const CYCLES: usize = 100;
/// Cycles before the descriptors and threads are counted as the baseline.
const WARM_UP: usize = 5;
/// The promise: back in service this soon after the device is.
const BACK_WITHIN: Duration = Duration::from_secs(2);
/// What the descriptor and thread counts may grow by over the cycles after the warm-up.
const SLACK: usize = 4;
/// Past this, a step is not slow but stuck.
const STUCK: Duration = Duration::from_secs(30);

/// The tests of this file take turns when they share a process (`cargo test`), so that
/// one's threads are not counted as another's leak.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[derive(Clone, Copy, Debug)]
struct Counts {
    fds: usize,
    threads: usize,
}

fn entries(dir: &str) -> usize {
    std::fs::read_dir(dir).unwrap().count()
}

/// The fewest descriptors and threads seen over about a second.
async fn settled_counts() -> Counts {
    let mut least = Counts { fds: usize::MAX, threads: usize::MAX };
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        least.fds = least.fds.min(entries("/proc/self/fd"));
        least.threads = least.threads.min(entries("/proc/self/task"));
    }
    least
}

fn down(tiles: &[ServiceTile]) -> Vec<Service> {
    tiles.iter().filter(|t| t.unavailable.is_some()).map(|t| t.service).collect()
}

/// The services `device` is needed for (what its loss disables).
fn needing(device: Device) -> Vec<Service> {
    Service::ALL.into_iter().filter(|s| session::devices_needed(*s).contains(&device)).collect()
}

fn health(rig: &Rig, device: Device) -> Option<Health> {
    rig.terminal.metrics.devices().health(device).cloned()
}

/// Waits for a screen matching `pred` shown after `mark`, failing the test if it takes
/// longer than [`STUCK`].
async fn screen(rig: &Rig, mark: usize, what: &str, pred: impl Fn(&Screen) -> bool) -> Screen {
    match tokio::time::timeout(STUCK, rig.screens.wait_for(mark, pred)).await {
        Ok(screen) => screen,
        Err(_) => panic!("{what}: not shown within {STUCK:?}; last: {:?}", rig.screens.all().last()),
    }
}

/// Waits until the start screen shows exactly the services that need `device` out of
/// service (shown after `mark`).
async fn out_of_service(rig: &Rig, mark: usize, device: Device, cycle: usize) {
    let lost = needing(device);
    let what = format!("cycle {cycle}: the start screen without {device:?}");
    screen(rig, mark, &what, |s| matches!(s, Screen::Welcome { tiles, .. } if down(tiles) == lost)).await;
    assert_ne!(health(rig, device), Some(Health::Ok), "cycle {cycle}: {device:?} reported fine while unplugged");
}

/// Waits until `count` goes past `before`: an open of the device was refused while it
/// was unplugged.
async fn refused_open(count: impl Fn() -> u64, before: u64, device: Device, cycle: usize) {
    let deadline = Instant::now() + STUCK;
    while count() <= before {
        assert!(Instant::now() < deadline, "cycle {cycle}: the terminal never tried to open {device:?} again");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Plugs the device back in and waits until the start screen offers every service again
/// and the terminal reports `device` fine: how long that took.
async fn back_in_service(rig: &Rig, device: Device, cycle: usize, plug_in: impl FnOnce()) -> Duration {
    let mark = rig.screens.count();
    let plugged = Instant::now();
    plug_in();
    let what = format!("cycle {cycle}: every service back after {device:?} came back");
    screen(rig, mark, &what, |s| matches!(s, Screen::Welcome { tiles, .. } if down(tiles).is_empty())).await;
    let took = plugged.elapsed();
    assert_eq!(health(rig, device), Some(Health::Ok), "cycle {cycle}");
    took
}

/// One device's cycles: recovery times and the descriptor and thread counts.
struct Soak {
    device: Device,
    started: Instant,
    recoveries: Vec<Duration>,
    start: Counts,
    warm: Option<Counts>,
}

impl Soak {
    /// Counts before the first cycle, once the terminal runs with every device fine.
    async fn begin(rig: &Rig, device: Device) -> Self {
        for d in [Device::Reader, Device::Printer, Device::Camera] {
            assert_eq!(health(rig, d), Some(Health::Ok), "{d:?} before the first unplug");
        }
        let start = settled_counts().await;
        Self { device, started: Instant::now(), recoveries: Vec::new(), start, warm: None }
    }

    async fn cycle_done(&mut self, recovery: Duration) {
        self.recoveries.push(recovery);
        if self.recoveries.len() == WARM_UP {
            self.warm = Some(settled_counts().await);
        }
    }

    /// Prints the figures, then holds them to the promises.
    async fn finish(self) {
        let end = settled_counts().await;
        let warm = self.warm.unwrap();
        let mut sorted = self.recoveries.clone();
        sorted.sort();
        let (median, worst) = (sorted[sorted.len() / 2], sorted[sorted.len() - 1]);
        println!(
            "{:?}: {} cycles in {:.1} s; back in service: median {} ms, worst {} ms; \
             fds {} / {} after {WARM_UP} / {} at the end; threads {} / {} / {}",
            self.device,
            self.recoveries.len(),
            self.started.elapsed().as_secs_f64(),
            median.as_millis(),
            worst.as_millis(),
            self.start.fds,
            warm.fds,
            end.fds,
            self.start.threads,
            warm.threads,
            end.threads,
        );
        assert_eq!(self.recoveries.len(), CYCLES);
        let late: Vec<(usize, u128)> = self
            .recoveries
            .iter()
            .enumerate()
            .filter(|(_, took)| **took > BACK_WITHIN)
            .map(|(cycle, took)| (cycle, took.as_millis()))
            .collect();
        assert!(late.is_empty(), "{:?} back later than {BACK_WITHIN:?} (cycle, ms): {late:?}", self.device);
        assert!(end.fds <= warm.fds + SLACK, "{:?}: file descriptors leak: {warm:?} -> {end:?}", self.device);
        assert!(end.threads <= warm.threads + SLACK, "{:?}: threads leak: {warm:?} -> {end:?}", self.device);
    }
}

/// The reader's USB-serial adapter pulled: its port drops and cannot be opened. It comes
/// back as soon as the terminal noticed, except every twentieth cycle, when it stays out
/// until the terminal's reopen was refused. The reader task reopens the port
/// `reconnect_interval` (1 s, as in production) after losing it, so each cycle takes
/// about a second and the test about two minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_card_reader_unplugged_100_times_is_back_in_service_within_2_s_each_time() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let rig = Rig::start().await.unwrap();
    let reader = rig.reader.control.clone();
    let mut soak = Soak::begin(&rig, Device::Reader).await;
    for cycle in 0..CYCLES {
        let (mark, refused) = (rig.screens.count(), reader.refused_connects());
        reader.vanish();
        out_of_service(&rig, mark, Device::Reader, cycle).await;
        if cycle % 20 == 19 {
            refused_open(|| reader.refused_connects(), refused, Device::Reader, cycle).await;
        }
        let took = back_in_service(&rig, Device::Reader, cycle, || reader.reappear()).await;
        soak.cycle_done(took).await;
    }
    soak.finish().await;
    // It reads cards as before.
    rig.begin(WORKER_ID, WORKER_NAME, Service::ContributionRecord).await;
    rig.screens.wait_for(0, |s| matches!(s, Screen::Contributions { .. })).await;
}

/// The printer's USB cable pulled: the driver's link fails and cannot be reopened; each
/// cycle it stays out until the status poll's reopen was refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printer_unplugged_100_times_is_back_in_service_within_2_s_each_time() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let rig = Rig::start().await.unwrap();
    let printer = rig.paper.clone();
    let mut soak = Soak::begin(&rig, Device::Printer).await;
    for cycle in 0..CYCLES {
        let (mark, refused) = (rig.screens.count(), printer.refused_connects());
        printer.vanish();
        out_of_service(&rig, mark, Device::Printer, cycle).await;
        refused_open(|| printer.refused_connects(), refused, Device::Printer, cycle).await;
        let took = back_in_service(&rig, Device::Printer, cycle, || printer.reappear()).await;
        soak.cycle_done(took).await;
    }
    soak.finish().await;
    // It prints as before.
    let mark = rig.begin(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, Service::Certificate).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::CertificateChoice { .. })).await;
    let period = CertificatePeriod::LastMonths(12);
    rig.touch(Intent::ChooseCertificate { kind: CertificateKind::AllInsurances, period }).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::CertificatePreview { .. })).await;
    rig.touch(Intent::Print).await;
    rig.screens.wait_for(mark, |s| matches!(s, Screen::Printed { result: Ok(()), .. })).await;
    assert_eq!(rig.paper.receipts().len(), 1, "the certificate came out of the virtual printer");
}

/// The camera's USB cable pulled, found by the next capture: on even cycles while the
/// terminal is idle (the capture cannot open it), on odd ones mid-capture (it stops
/// delivering). Each cycle it stays out until the health probe's open was refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_camera_unplugged_100_times_is_back_in_service_within_2_s_each_time() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let camera = CameraPlug::default();
    // At a real camera's 10 frames a second: a capture is still running when its first
    // guidance shows (unpaced, it would finish on the frames already taken).
    let settings =
        DeviceSettings { camera_plug: camera.clone(), camera_pace: Duration::from_millis(100), ..Default::default() };
    let rig = Rig::start_with_devices(settings).await.unwrap();
    let mut soak = Soak::begin(&rig, Device::Camera).await;
    for cycle in 0..CYCLES {
        let refused = camera.refused_opens();
        let mid_capture = cycle % 2 == 1;
        if !mid_capture {
            camera.vanish();
        }
        let mark = rig.begin(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, Service::QualificationCheck).await;
        if mid_capture {
            let what = format!("cycle {cycle}: the capture's guidance");
            screen(&rig, mark, &what, |s| matches!(s, Screen::Capture { hint: Some(_), .. })).await;
            camera.vanish();
        }
        let what = format!("cycle {cycle}: back to the menu without the camera");
        let lost = needing(Device::Camera);
        screen(&rig, mark, &what, |s| {
            matches!(s, Screen::Menu { notice: Some(Notice::ServiceBecameUnavailable), tiles, .. } if down(tiles) == lost)
        })
        .await;
        let mark = rig.screens.count();
        rig.reader.remove().await;
        out_of_service(&rig, mark, Device::Camera, cycle).await;
        refused_open(|| camera.refused_opens(), refused, Device::Camera, cycle).await;
        let took = back_in_service(&rig, Device::Camera, cycle, || camera.reappear()).await;
        soak.cycle_done(took).await;
    }
    soak.finish().await;
    // It captures as before: a pensioner passes the check, face and head turn.
    let mark = rig.begin(APPROVED_PENSIONER_ID, APPROVED_PENSIONER_NAME, Service::QualificationCheck).await;
    let receipt = rig.screens.wait_for(mark, |s| matches!(s, Screen::Receipt { receipt: ReceiptState::Printed, .. }));
    let Screen::Receipt { delivery, .. } = receipt.await else { unreachable!() };
    assert!(matches!(delivery, Delivery::Submitted { decision: Decision::Approved, .. }), "{delivery:?}");
}
