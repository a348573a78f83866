//! Load generator on loopback: N simulated terminals, each with its own fleet
//! certificate and keep-alive TLS connection, send a heartbeat every interval (start
//! times spread evenly) to a `central serve` child process, and every
//! `--submit-every`th interval a submission instead (a rating: a state-changing call
//! through the idempotency reservation and commit, like every submission). Reports
//! throughput, latency percentiles and the server process's CPU use (from
//! /proc/<pid>/stat). `--database postgres://…` runs the server on PostgreSQL.
//!
//! `cargo run --release --example loadgen -- --central target/release/central 1000 10000`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use central::api::*;
use central::store::DeviceRecord;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, pem::PemObject};

struct Args {
    central: String,
    interval: Duration,
    measure: Duration,
    fleets: Vec<usize>,
    /// PostgreSQL URL; `None`: the SQLite file in the data directory.
    database: Option<String>,
    /// A terminal sends a submission instead of every this many heartbeats (0: never).
    submit_every: u64,
}

fn parse_args() -> Args {
    let mut a = Args {
        central: "target/release/central".into(),
        interval: Duration::from_secs(30),
        measure: Duration::from_secs(60),
        fleets: vec![],
        database: None,
        submit_every: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--central" => a.central = it.next().expect("--central PATH"),
            "--interval" => {
                a.interval = Duration::from_secs(it.next().and_then(|s| s.parse().ok()).expect("--interval SECONDS"))
            }
            "--measure" => {
                a.measure = Duration::from_secs(it.next().and_then(|s| s.parse().ok()).expect("--measure SECONDS"))
            }
            "--database" => a.database = Some(it.next().expect("--database URL")),
            "--submit-every" => a.submit_every = it.next().and_then(|s| s.parse().ok()).expect("--submit-every N"),
            n => a.fleets.push(n.parse().expect("terminal count")),
        }
    }
    if a.fleets.is_empty() {
        a.fleets = vec![1000, 10_000];
    }
    a
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the ")".
    let ticks: f64 = f.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// CPU seconds of every PostgreSQL server process on the machine (the bench's cluster is
/// the only one running while it measures).
fn database_cpu_seconds() -> f64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0.0 };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .map(cpu_seconds)
        .sum()
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// Posts `body` as JSON with a fresh idempotency key; whether the answer had status
/// `expect`, and how long it took in milliseconds.
async fn post<T: serde::Serialize>(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: &str,
    path: &str,
    body: &T,
    expect: u16,
) -> (bool, f64) {
    let req = hyper::Request::post(path)
        .header("host", host)
        .header("content-type", "application/json")
        .header(IDEMPOTENCY_KEY_HEADER, uuid::Uuid::new_v4().to_string())
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap())))
        .unwrap();
    let t0 = Instant::now();
    let ok = match sender.send_request(req).await {
        Ok(resp) => {
            let status = resp.status();
            let _ = resp.into_body().collect().await;
            status == expect
        }
        Err(_) => false,
    };
    (ok, t0.elapsed().as_secs_f64() * 1000.0)
}

struct Row {
    terminals: usize,
    requests: usize,
    submissions: usize,
    submission_p99: f64,
    errors: usize,
    rate: f64,
    p50: f64,
    p99: f64,
    max: f64,
    cpu_core: f64,
    /// PostgreSQL's processes, when the store is PostgreSQL (SQLite runs inside central).
    db_cpu_core: Option<f64>,
    rss: f64,
}

async fn run_fleet(args: &Args, n: usize) -> Row {
    let dir = tempfile::tempdir().unwrap();
    let store = central::server::open_database(dir.path(), args.database.as_deref()).unwrap();
    let ca = central::pki::FleetCa::load_or_create(dir.path(), &[]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca.ca_pem().as_bytes()).unwrap()).unwrap();
    let roots = Arc::new(roots);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    eprintln!("[{n}] issuing {n} device certificates");
    let mut identities = Vec::with_capacity(n);
    for i in 0..n {
        let key = rcgen::KeyPair::generate().unwrap();
        let csr = rcgen::CertificateParams::new(Vec::<String>::new())
            .unwrap()
            .serialize_request(&key)
            .unwrap()
            .pem()
            .unwrap();
        let id = format!("KT-LOAD{i:06}");
        let (cert, serial) =
            ca.sign_device_csr(&csr, &id, now - time::Duration::hours(1), now + time::Duration::days(2)).unwrap();
        store
            .upsert_device(&DeviceRecord {
                device_id: id.clone(),
                hostname: format!("load-{i}"),
                software_version: "bench".into(),
                inventory_json: "{}".into(),
                enrolled_at: now.unix_timestamp(),
                cert_serial: serial,
                cert_not_after: (now + time::Duration::days(2)).unix_timestamp(),
                revoked_at: None,
            })
            .unwrap();
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots.clone())
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).unwrap()],
                PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap(),
            )
            .unwrap();
        identities.push(Arc::new(config));
    }
    drop(store);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut command = std::process::Command::new(&args.central);
    if let Some(url) = &args.database {
        command.args(["--database", url]);
    }
    let mut child = command
        .args(["--data-dir", &dir.path().display().to_string(), "serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--heartbeat-interval", &format!("{}s", args.interval.as_secs())])
        // Every terminal connects before the first heartbeat is sent, minutes for 10,000:
        // give those connections the time, which the header timeout would not.
        .args(["--header-timeout", "3600s", "--idle-timeout", &format!("{}s", args.interval.as_secs() * 3)])
        .args(["--max-connections", &(n + 64).to_string()])
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("start central (build it with cargo build --release -p central)");
    let pid = child.id();
    let addr = format!("127.0.0.1:{port}");
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(&addr).await.is_ok() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("central exited before it listened ({status}); its error is above");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let submission_latencies = Arc::new(Mutex::new(Vec::<f64>::new()));
    let errors = Arc::new(Mutex::new(0usize));
    let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
    eprintln!("[{n}] connecting {n} terminals");
    // A few dozen handshakes at a time: one after the other, 50,000 terminals took
    // longer to connect than the offline threshold, and the fleet went "offline" before
    // the measurement began.
    let connect_started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(32));
    let mut connecting = Vec::with_capacity(n);
    for config in identities {
        let (gate, addr) = (gate.clone(), addr.clone());
        connecting.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await.unwrap();
            let connector = tokio_rustls::TlsConnector::from(config);
            let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
            tcp.set_nodelay(true).unwrap();
            let tls = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
            let (sender, conn) =
                hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(tls)).await.unwrap();
            tokio::spawn(conn);
            sender
        }));
    }
    let mut senders = Vec::with_capacity(n);
    for c in connecting {
        senders.push(c.await.unwrap());
    }
    eprintln!("[{n}] connected in {:.1} s", connect_started.elapsed().as_secs_f64());
    eprintln!("[{n}] warm-up interval, then measuring {} s", args.measure.as_secs());
    let start = Instant::now();
    let total = args.interval + args.measure;
    let mut tasks = Vec::new();
    for (i, mut sender) in senders.into_iter().enumerate() {
        let (latencies, errors, measuring) = (latencies.clone(), errors.clone(), measuring.clone());
        let submission_latencies = submission_latencies.clone();
        let offset = args.interval.mul_f64(i as f64 / n as f64);
        let interval = args.interval;
        let submit_every = args.submit_every;
        // Terminals take their turn to submit at different ticks.
        let phase = i as u64;
        let host = addr.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            let mut tick = tokio::time::interval(interval);
            let mut ticks = 0u64;
            loop {
                tick.tick().await;
                if start.elapsed() >= total {
                    return;
                }
                ticks += 1;
                if submit_every > 0 && (ticks + phase) % submit_every == 0 {
                    let rating = RatingRequest {
                        session_id: format!("load-{i}-{ticks}"),
                        service: Service::ALL[(ticks as usize + i) % Service::ALL.len()],
                        grade: 5,
                        reasons: vec![RatingReason::Fast],
                    };
                    let (ok, ms) = post(&mut sender, &host, paths::RATINGS, &rating, 201).await;
                    if measuring.load(std::sync::atomic::Ordering::Relaxed) {
                        if ok {
                            latencies.lock().unwrap().push(ms);
                            submission_latencies.lock().unwrap().push(ms);
                        } else {
                            *errors.lock().unwrap() += 1;
                        }
                    }
                    continue;
                }
                let hb = TelemetryBatch {
                    heartbeat: Some(Heartbeat {
                        sent_at: time::OffsetDateTime::now_utc(),
                        software_version: "bench".into(),
                        uptime_s: start.elapsed().as_secs(),
                        devices: DeviceHealth {
                            reader: ReaderHealth::Ok,
                            printer: PrinterHealth::Ok,
                            camera: CameraHealth::Ok,
                        },
                        outbox: OutboxState { depth: (i % 3) as u32, oldest_age_s: 5 },
                        sessions: 1,
                        failures: 0,
                        disk_free_bytes: 10_000_000_000,
                        clock_offset_ms: 3,
                        config_hash: None,
                    }),
                    events: vec![],
                    audit: vec![],
                };
                let (ok, ms) = post(&mut sender, &host, paths::TELEMETRY, &hb, 200).await;
                if measuring.load(std::sync::atomic::Ordering::Relaxed) {
                    if ok {
                        latencies.lock().unwrap().push(ms);
                    } else {
                        *errors.lock().unwrap() += 1;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(args.interval).await;
    measuring.store(true, std::sync::atomic::Ordering::Relaxed);
    let cpu0 = cpu_seconds(pid);
    let db0 = database_cpu_seconds();
    let t0 = Instant::now();
    tokio::time::sleep(args.measure).await;
    let cpu = cpu_seconds(pid) - cpu0;
    let db_cpu = database_cpu_seconds() - db0;
    let wall = t0.elapsed().as_secs_f64();
    measuring.store(false, std::sync::atomic::Ordering::Relaxed);
    let rss = rss_mib(pid);
    for t in tasks {
        let _ = t.await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut l = latencies.lock().unwrap().clone();
    l.sort_by(f64::total_cmp);
    let pct = |p: f64| if l.is_empty() { 0.0 } else { l[((l.len() - 1) as f64 * p) as usize] };
    let mut s = submission_latencies.lock().unwrap().clone();
    s.sort_by(f64::total_cmp);
    let submission_p99 = if s.is_empty() { 0.0 } else { s[((s.len() - 1) as f64 * 0.99) as usize] };
    let errors = *errors.lock().unwrap();
    Row {
        terminals: n,
        requests: l.len(),
        submissions: s.len(),
        submission_p99,
        errors,
        rate: l.len() as f64 / wall,
        p50: pct(0.5),
        p99: pct(0.99),
        max: pct(1.0),
        cpu_core: cpu / wall * 100.0,
        db_cpu_core: args.database.as_ref().map(|_| db_cpu / wall * 100.0),
        rss,
    }
}

fn main() {
    let args = parse_args();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1) as f64;
    let mut rows = Vec::new();
    for &n in &args.fleets {
        rows.push(rt.block_on(run_fleet(&args, n)));
    }
    println!(
        "\n{} on {}, interval {} s, measured {} s after one warm-up interval, {} cores",
        if args.submit_every > 0 {
            format!("heartbeats and a submission every {} intervals", args.submit_every)
        } else {
            "heartbeat ingestion".to_owned()
        },
        if args.database.is_some() { "PostgreSQL" } else { "SQLite" },
        args.interval.as_secs(),
        args.measure.as_secs(),
        cores
    );
    println!(
        "| terminals | requests | errors | req/s | p50 ms | p99 ms | max ms | server CPU (% of 1 core) | server CPU (% of machine) | server RSS MiB | submissions | submission p99 ms | PostgreSQL CPU (% of machine) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} | {:.0} | {} | {:.2} | {} |",
            r.terminals,
            r.requests,
            r.errors,
            r.rate,
            r.p50,
            r.p99,
            r.max,
            r.cpu_core,
            r.cpu_core / cores,
            r.rss,
            r.submissions,
            r.submission_p99,
            r.db_cpu_core.map_or("-".to_owned(), |c| format!("{:.1}", c / cores))
        );
    }
}
