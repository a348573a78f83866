//! The terminal keeps its client certificate current with no technician, against the
//! reference central service issuing two-hour certificates, with the terminal's renewal
//! clock run fast: renewed after two thirds of its life and used at once by every
//! request; a failed renewal keeps the old certificate, backs off and raises one alert
//! at central naming the expiry date, cleared by the renewal; a renewal whose answer was
//! lost (central committed, the terminal never heard) is finished after a restart.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use contract as api;
use kiosk::central_api::{CentralClient, CentralError, DeviceIdentity, PendingRenewal};
use kiosk::outbox::sender::{self, OutboxHandle};
use kiosk::outbox::{Limits, Outbox};
use kiosk::renewal::{self, Clock, RenewalTiming, Renewer, Step};
use simulation::TIMEOUTS;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

const TWO_HOURS: Duration = Duration::from_secs(2 * 3600);
const MINUTE: i64 = 60;

struct Rig {
    work: tempfile::TempDir,
    /// `None` while it is down.
    central: Option<central::RunningServer>,
    url: String,
    data: PathBuf,
    identity: DeviceIdentity,
    client: CentralClient,
    outbox: OutboxHandle,
    /// How far the terminal's renewal clock runs ahead of the real one, in seconds.
    ahead: Arc<AtomicI64>,
}

fn server_config(dir: &std::path::Path, listen: std::net::SocketAddr) -> central::ServerConfig {
    let mut config = central::ServerConfig::new(dir);
    config.listen = listen;
    config.device_certificate_validity = TWO_HOURS;
    config
}

async fn rig() -> Rig {
    let work = tempfile::tempdir().unwrap();
    let central =
        central::start(server_config(&work.path().join("central"), "127.0.0.1:0".parse().unwrap())).await.unwrap();
    let url = format!("https://127.0.0.1:{}", central.local_addr().port());
    let token = central.create_enrollment_token(Duration::from_secs(600)).unwrap();
    let inventory = inventory();
    let identity = CentralClient::enroll(&url, &central.ca_pem(), &token, inventory, TIMEOUTS).await.unwrap();
    let data = work.path().join("kiosk");
    std::fs::create_dir_all(&data).unwrap();
    identity.save(&data).unwrap();
    let client = CentralClient::new(&url, &identity, TIMEOUTS).unwrap();
    let outbox = OutboxHandle::new(Outbox::open(&data.join("outbox"), Limits::default()).unwrap());
    Rig { work, central: Some(central), url, data, identity, client, outbox, ahead: Arc::new(AtomicI64::new(0)) }
}

fn inventory() -> api::HardwareInventory {
    api::HardwareInventory { hostname: "renewal-test".into(), software_version: "test".into(), devices: vec![] }
}

fn now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

impl Rig {
    fn store(&self) -> std::sync::Arc<dyn central::store::Store> {
        self.central.as_ref().expect("central is running").store()
    }

    /// The terminal's renewal task as it runs after a (re)start: the identity on disk,
    /// retries every 100 ms doubling to 1 s instead of a minute to an hour.
    fn renewer(&self) -> Renewer {
        let ahead = self.ahead.clone();
        let clock: Clock = Arc::new(move || now() + ahead.load(Ordering::SeqCst));
        let timing = RenewalTiming {
            check_every: Duration::from_millis(50),
            retry_first: Duration::from_millis(100),
            retry_cap: Duration::from_secs(1),
        };
        let identity = DeviceIdentity::load(&self.data).unwrap().unwrap();
        Renewer::new(self.client.clone(), self.data.clone(), identity, self.outbox.clone(), inventory(), clock, timing)
    }

    fn saved(&self) -> DeviceIdentity {
        DeviceIdentity::load(&self.data).unwrap().unwrap()
    }

    /// The telemetry event kinds waiting in the outbox, with their details.
    fn queued_events(&self) -> Vec<(String, String)> {
        let items = self.outbox.lock().due(i64::MAX / 2, 1000).unwrap();
        items
            .iter()
            .filter_map(|i| serde_json::from_slice::<api::TelemetryBatch>(&i.body).ok())
            .flat_map(|b| b.events)
            .map(|e| (e.kind, e.detail.unwrap_or_default()))
            .collect()
    }

    async fn heartbeat_with(&self, client: &CentralClient) -> Result<(), CentralError> {
        client.send_telemetry(&api::TelemetryBatch { heartbeat: None, events: vec![], audit: vec![] }).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_hour_certificate_is_renewed_after_two_thirds_of_its_life_and_used_at_once() {
    let rig = rig().await;
    let old = rig.identity.clone();
    let (not_before, not_after) = renewal::validity(&old.certificate_pem).unwrap();
    let mut renewer = rig.renewer();

    // Central back-dates a certificate by 5 minutes (clock skew), so its two thirds fall
    // 78 minutes after it was issued.
    let due = renewal::renew_at(not_before, not_after) - now();
    for ahead in [0, due / 2, due - MINUTE] {
        rig.ahead.store(ahead, Ordering::SeqCst);
        let (step, wait) = renewer.step().await;
        assert_eq!(step, Step::NotDue, "{} min before it is due", (due - ahead) / MINUTE);
        assert!(wait <= Duration::from_millis(50), "looks again within check_every");
    }
    assert!(PendingRenewal::load(&rig.data).unwrap().is_none(), "nothing asked for before it is due");

    rig.ahead.store(due + 1, Ordering::SeqCst);
    let started = Instant::now();
    let (step, _) = renewer.step().await;
    let took = started.elapsed();
    let Step::Renewed { not_after: new_not_after } = step else { panic!("not renewed when due: {step:?}") };
    eprintln!(
        "renewed {} min after issue, {} min before expiry (life {} min), in {took:?}",
        (now() + due - not_before) / MINUTE,
        (not_after - now() - due) / MINUTE,
        (not_after - not_before) / MINUTE,
    );
    assert!((new_not_after - (now() + 2 * 3600)).abs() < 5 * MINUTE, "a fresh two-hour certificate");

    let saved = rig.saved();
    assert_eq!(saved.device_id, old.device_id, "the same terminal");
    assert_ne!(saved.certificate_pem, old.certificate_pem);
    assert_ne!(saved.key_pem, old.key_pem, "a new key, made on the terminal");
    assert_eq!(saved.certificate_pem, renewer.identity().certificate_pem);
    assert!(PendingRenewal::load(&rig.data).unwrap().is_none(), "the finished request is forgotten");
    let device = rig.store().device(&old.device_id).unwrap().unwrap();
    assert_eq!(device.cert_not_after, new_not_after, "central records the new certificate");

    rig.heartbeat_with(&rig.client).await.expect("the running client uses the new certificate");
    let stale = CentralClient::new(&rig.url, &old, TIMEOUTS).unwrap();
    match rig.heartbeat_with(&stale).await {
        Err(CentralError::Problem { status: 403, .. }) => {}
        other => panic!("the replaced certificate is still accepted: {other:?}"),
    }
    let events = rig.queued_events();
    assert!(
        events.iter().any(|(k, d)| k == "certificate.renewed" && d.contains(&renewal::date(new_not_after))),
        "{events:?}"
    );
    assert!(!events.iter().any(|(k, _)| k == "certificate.renewal_failed"));

    // Not due again until two thirds of the new certificate's life (issued on central's
    // clock, which the terminal's fast one has left behind: back to real time).
    rig.ahead.store(0, Ordering::SeqCst);
    let (step, _) = renewer.step().await;
    assert_eq!(step, Step::NotDue);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_renewal_keeps_the_old_certificate_backs_off_and_raises_one_alert_until_renewed() {
    let mut rig = rig().await;
    let old = rig.identity.clone();
    let (_, not_after) = renewal::validity(&old.certificate_pem).unwrap();
    let central_dir = rig.work.path().join("central");
    let running = rig.central.take().unwrap();
    let addr = running.local_addr();
    running.shutdown().await;
    let stop = Arc::new(tokio::sync::Notify::new());
    let backoff = kiosk::outbox::backoff::Backoff { base: Duration::from_millis(50), cap: Duration::from_millis(300) };
    let delivering = tokio::spawn(sender::run(rig.outbox.clone(), rig.client.clone(), backoff, stop.clone()));

    rig.ahead.store(81 * MINUTE, Ordering::SeqCst);
    let mut renewer = rig.renewer();
    let mut waits = Vec::new();
    for _ in 0..3 {
        let (step, wait) = renewer.step().await;
        assert!(matches!(step, Step::Failed { ref reason } if reason.contains("unreachable")), "{step:?}");
        waits.push(wait.as_millis());
    }
    assert_eq!(waits, [100, 200, 400], "backs off");
    assert_eq!(rig.saved().certificate_pem, old.certificate_pem, "the old certificate stays");
    let pending = PendingRenewal::load(&rig.data).unwrap().expect("the request is kept to be sent again");
    let failed: Vec<_> = rig.queued_events().into_iter().filter(|(k, _)| k == "certificate.renewal_failed").collect();
    assert_eq!(failed.len(), 1, "one alert for a run of failures: {failed:?}");
    assert!(failed[0].1.contains(&format!("expires {}", renewal::date(not_after))), "{failed:?}");

    // Central is back (same data, CA and port): the same request goes through, and the
    // queued alert and the renewal reach operations in that order.
    rig.central = Some(central::start(server_config(&central_dir, addr)).await.unwrap());
    let (step, _) = renewer.step().await;
    assert!(matches!(step, Step::Renewed { .. }), "{step:?}");
    assert_ne!(rig.saved().certificate_pem, old.certificate_pem);
    assert!(PendingRenewal::load(&rig.data).unwrap().is_none());
    let device = rig.store().device(&old.device_id).unwrap().unwrap();
    assert_eq!(
        renewal::validity(&rig.saved().certificate_pem).unwrap().1,
        device.cert_not_after,
        "the kept request ({}) was the one answered",
        pending.idempotency_key
    );

    let deadline = Instant::now() + Duration::from_secs(20);
    let device = old.device_id.clone();
    let alert = loop {
        let alerts = rig.store().alerts(100).unwrap();
        if let Some(a) = alerts
            .into_iter()
            .find(|a| a.device_id == device && a.kind == "certificate_renewal_failed" && a.cleared_at.is_some())
        {
            break a;
        }
        assert!(
            Instant::now() < deadline,
            "the alert was not raised and cleared at central: alerts {:?}, outbox {:?}",
            rig.store().alerts(100).unwrap(),
            rig.outbox.lock().stats()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(alert.detail.contains(&renewal::date(not_after)), "names the expiry date: {}", alert.detail);
    // A delivery that met the switch of certificates was sent again, not taken as the
    // terminal being refused.
    let refused: Vec<_> =
        rig.store().alerts(100).unwrap().into_iter().filter(|a| a.kind == "outbox_unauthorized").collect();
    assert!(refused.is_empty(), "{refused:?}");
    let stats = rig.outbox.lock().stats().unwrap();
    assert_eq!(stats.depth, 0, "everything queued was delivered: {stats:?}");
    stop.notify_waiters();
    delivering.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewal_whose_answer_was_lost_is_finished_after_a_restart() {
    let rig = rig().await;
    let old = rig.identity.clone();
    rig.ahead.store(81 * MINUTE, Ordering::SeqCst);
    // The terminal saved its request and sent it; central committed; the answer was lost
    // (power cut). The old certificate is now refused.
    let pending = PendingRenewal::new(inventory()).unwrap();
    pending.save(&rig.data).unwrap();
    let lost = rig.client.renew(&pending).await.unwrap();
    assert!(matches!(rig.heartbeat_with(&rig.client).await, Err(CentralError::Problem { status: 403, .. })));

    // After the restart: the same request again gets the same certificate.
    let mut renewer = rig.renewer();
    let (step, _) = renewer.step().await;
    assert!(matches!(step, Step::Renewed { .. }), "{step:?}");
    let saved = rig.saved();
    assert_eq!(saved.certificate_pem, lost.certificate_pem, "the stored answer, not a second certificate");
    assert_eq!(saved.key_pem, pending.key_pem);
    assert_ne!(saved.certificate_pem, old.certificate_pem);
    rig.heartbeat_with(&rig.client).await.expect("back in service with the renewed certificate");
}
