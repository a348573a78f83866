//! The ops login under a flood: throttled per address and per user name, Argon2 on its
//! own bounded pool (terminals keep their latency), the same work for unknown user
//! names as for real ones, and no typed user name in the log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use central::api::*;
use central::{Rate, ServerConfig};
use common::*;

/// A browser on its own loopback address (Linux routes all of 127.0.0.0/8 to lo).
fn browser(rig: &Rig, from: IpAddr) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls::pki_types::pem::PemObject::from_pem_slice(rig.server.ca_pem().as_bytes()).unwrap()).unwrap();
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .local_address(from)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// One login attempt: status, `Retry-After`, and how long it took.
async fn log_in(client: &reqwest::Client, rig: &Rig, user: &str, password: &str) -> (u16, Option<String>, Duration) {
    let start = Instant::now();
    let r =
        client.post(rig.url("/ops/login")).form(&[("username", user), ("password", password)]).send().await.unwrap();
    let retry = r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    let status = r.status().as_u16();
    let _ = r.bytes().await;
    (status, retry, start.elapsed())
}

fn median(v: Vec<Duration>) -> Duration {
    percentile(v, 50)
}

fn percentile(mut v: Vec<Duration>, p: usize) -> Duration {
    v.sort();
    v[(v.len() - 1) * p / 100]
}

async fn heartbeat_latency(rig: &Rig, t: &Terminal) -> Duration {
    let batch = TelemetryBatch { heartbeat: Some(heartbeat(PrinterHealth::Ok)), events: vec![], audit: vec![] };
    let start = Instant::now();
    let resp = t.post(rig, paths::TELEMETRY, &uuid::Uuid::new_v4().to_string(), &batch).await;
    assert_eq!(resp.status(), 200);
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_is_refused_with_429_while_terminals_keep_their_latency() {
    const FLOOD: usize = 200;
    let rig = start().await;
    rig.server.add_user("ops", "correct horse battery").unwrap();
    let t = rig.enroll().await;
    let mut before = Vec::new();
    for _ in 0..15 {
        before.push(heartbeat_latency(&rig, &t).await);
    }
    let (before_p50, before_p90) = (percentile(before.clone(), 50), percentile(before, 90));

    // 200 wrong logins at once, each from its own address, half for the real user and
    // half for made-up names: no per-address limit helps, only the per-user limit and
    // the bounded Argon2 pool do.
    let clients: Vec<_> =
        (0..FLOOD).map(|i| browser(&rig, IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1 + i as u8)))).collect();
    let rig = Arc::new(rig);
    let flood: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, client)| {
            let rig = rig.clone();
            tokio::spawn(async move {
                let user = if i % 2 == 0 { "ops".to_owned() } else { format!("nobody-{i}") };
                log_in(&client, &rig, &user, "wrong password").await
            })
        })
        .collect();
    let mut during = Vec::new();
    while flood.iter().any(|f| !f.is_finished()) || during.len() < 5 {
        during.push(heartbeat_latency(&rig, &t).await);
    }
    let mut refused = 0;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for f in flood {
        let (status, retry_after, _) = f.await.unwrap();
        *statuses.entry(status).or_default() += 1;
        if status == 429 {
            refused += 1;
            let seconds: u64 = retry_after.expect("429 carries Retry-After").parse().unwrap();
            assert!((1..=120).contains(&seconds), "{seconds}");
        } else {
            assert_eq!(status, 401);
        }
    }
    let (p50, p90, worst) =
        (percentile(during.clone(), 50), percentile(during.clone(), 90), *during.iter().max().unwrap());
    eprintln!(
        "terminal heartbeat latency: before the flood p50 {before_p50:?}, p90 {before_p90:?} (15 heartbeats); \
         during it p50 {p50:?}, p90 {p90:?}, worst {worst:?} ({} heartbeats); flood answers {statuses:?}",
        during.len()
    );
    assert!(refused >= FLOOD * 3 / 4, "only {refused} of {FLOOD} refused with 429: {statuses:?}");
    // Most heartbeats stay as fast as before, and none stalls: Argon2 on the shared
    // blocking pool held some for seconds (the citizen at the kiosk waits that long).
    assert!(
        p90 <= before_p90 * 4 + Duration::from_millis(100),
        "terminals' p90 latency went from {before_p90:?} to {p90:?} during the login flood"
    );
    assert!(worst <= Duration::from_millis(750), "a terminal's heartbeat took {worst:?} during the login flood");
    let metrics = rig.metrics_text().await;
    assert!(metrics.contains(&format!("central_ops_logins_throttled_total {refused}")), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_gets_429_after_its_burst_and_others_are_not_held_back() {
    let rig = start().await;
    rig.server.add_user("ops", "correct horse battery").unwrap();
    let here = browser(&rig, IpAddr::V4(Ipv4Addr::new(127, 0, 2, 1)));
    let burst = ServerConfig::new("/x").login.per_address.burst as usize;
    let mut answers = Vec::new();
    for i in 0..burst + 3 {
        answers.push(log_in(&here, &rig, &format!("guess-{i}"), "wrong").await.0);
    }
    assert_eq!(&answers[..burst], vec![401; burst].as_slice(), "{answers:?}");
    assert_eq!(&answers[burst..], &[429, 429, 429], "{answers:?}");
    let elsewhere = browser(&rig, IpAddr::V4(Ipv4Addr::new(127, 0, 2, 2)));
    assert_eq!(log_in(&elsewhere, &rig, "ops", "correct horse battery").await.0, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_takes_as_long_for_an_unknown_user_as_for_a_real_one() {
    let rig = start_with(|c| {
        c.login.per_address = Rate { per_minute: 10_000, burst: 10_000 };
        c.login.per_user = Rate { per_minute: 10_000, burst: 10_000 };
    })
    .await;
    rig.server.add_user("ops", "correct horse battery").unwrap();
    let b = browser(&rig, IpAddr::V4(Ipv4Addr::new(127, 0, 3, 1)));
    // Warm up: the connection, and the pool's decoy hash.
    for _ in 0..2 {
        log_in(&b, &rig, "ops", "wrong").await;
        log_in(&b, &rig, "nobody", "wrong").await;
    }
    let (mut real, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..15 {
        let (status, _, took) = log_in(&b, &rig, "ops", "wrong password").await;
        assert_eq!(status, 401);
        real.push(took);
        let (status, _, took) = log_in(&b, &rig, &format!("nobody-{i}"), "wrong password").await;
        assert_eq!(status, 401);
        unknown.push(took);
    }
    let (real, unknown) = (median(real), median(unknown));
    let ratio = unknown.as_secs_f64() / real.as_secs_f64();
    eprintln!("wrong login, median of 15: real user {real:?}, unknown user {unknown:?} (ratio {ratio:.2})");
    assert!((0.6..=1.67).contains(&ratio), "an unknown user name answers in {unknown:?}, a real one in {real:?}");
}

/// Everything the service logs in this test process.
fn captured_logs() -> &'static Mutex<Vec<u8>> {
    static LOGS: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    static INSTALLED: OnceLock<()> = OnceLock::new();
    let logs = LOGS.get_or_init(|| Mutex::new(Vec::new()));
    INSTALLED.get_or_init(|| {
        struct Capture;
        impl std::io::Write for Capture {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                captured_logs().lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        tracing_subscriber::fmt().with_writer(|| Capture).with_ansi(false).with_max_level(tracing::Level::DEBUG).init();
    });
    logs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_name_typed_is_never_logged() {
    let logs = captured_logs();
    let rig = start().await;
    rig.server.add_user("ops", "correct horse battery").unwrap();
    let b = browser(&rig, IpAddr::V4(Ipv4Addr::new(127, 0, 4, 1)));
    // People type their password into the user field.
    let typed = "my-secret-password-in-the-wrong-field";
    assert_eq!(log_in(&b, &rig, typed, "x").await.0, 401);
    for _ in 0..12 {
        log_in(&b, &rig, typed, "x").await;
    }
    let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(!text.contains(typed), "the typed user name reached the log:\n{text}");
    assert!(text.contains("ops login failed"), "the failure is logged:\n{text}");
    assert!(text.contains("127.0.4.1"), "with the client's address:\n{text}");
}
