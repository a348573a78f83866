//! Slow and idle clients cannot hold the service's connections: a half-sent request, a
//! connection that sends nothing, an idle kept-alive connection and a body that trickles
//! in are all closed on time, and with 1,200 idle connections held open a new request is
//! still answered at once (the longest-idle connections make room at the cap).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

type Tls = tokio_rustls::client::TlsStream<TcpStream>;

fn connector(ca_pem: &str) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn tls(connector: &tokio_rustls::TlsConnector, addr: std::net::SocketAddr) -> Tls {
    let tcp = TcpStream::connect(addr).await.unwrap();
    connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.unwrap()
}

/// Reads until the server closes the connection; how long that took and what was read,
/// or `None` if it was still open after `give_up`.
async fn until_closed(conn: &mut Tls, give_up: Duration) -> Option<(Duration, String)> {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(give_up.saturating_sub(start.elapsed()), conn.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some((start.elapsed(), String::from_utf8_lossy(&got).into_owned())),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_sent_request_is_closed_within_the_header_timeout() {
    let rig = start_with(|c| c.header_timeout = Duration::from_secs(1)).await;
    let mut conn = tls(&connector(&rig.server.ca_pem()), rig.server.local_addr()).await;
    // Served one request first, so the connection is past its first-request deadline.
    conn.write_all(b"GET /ops/login HTTP/1.1\r\nhost: localhost\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 8192];
    let n = conn.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    conn.write_all(b"GET /ops/login HTTP/1.1\r\nhost: local").await.unwrap();
    let (after, _) = until_closed(&mut conn, Duration::from_secs(15))
        .await
        .expect("a request whose headers never finish must be closed, not held forever");
    eprintln!("half-sent request closed after {after:?} (header timeout 1 s)");
    assert!(after >= Duration::from_millis(700) && after < Duration::from_secs(5), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_sends_nothing_after_tls_is_closed_within_the_header_timeout() {
    let rig = start_with(|c| c.header_timeout = Duration::from_secs(1)).await;
    let start = Instant::now();
    let mut conn = tls(&connector(&rig.server.ca_pem()), rig.server.local_addr()).await;
    until_closed(&mut conn, Duration::from_secs(15)).await.expect("an idle new connection must be closed");
    let after = start.elapsed();
    eprintln!("silent connection closed after {after:?} (header timeout 1 s)");
    assert!(after < Duration::from_secs(5), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_is_closed_after_the_idle_timeout() {
    let rig = start_with(|c| {
        c.header_timeout = Duration::from_secs(5);
        c.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let mut conn = tls(&connector(&rig.server.ca_pem()), rig.server.local_addr()).await;
    conn.write_all(b"GET /ops/login HTTP/1.1\r\nhost: localhost\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 8192];
    let n = conn.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let (after, _) = until_closed(&mut conn, Duration::from_secs(15)).await.expect("an idle connection must be closed");
    eprintln!("idle kept-alive connection closed after {after:?} (idle timeout 1 s)");
    assert!(after >= Duration::from_millis(700) && after < Duration::from_secs(4), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_trickles_in_gets_408_within_the_body_timeout() {
    let rig = start_with(|c| c.body_timeout = Duration::from_secs(1)).await;
    let mut conn = tls(&connector(&rig.server.ca_pem()), rig.server.local_addr()).await;
    // Anonymous is enough: the enrollment call reads its body before anything else.
    conn.write_all(
        b"POST /v1/enroll HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
          idempotency-key: slow\r\ncontent-length: 1000\r\n\r\n{\"token\":",
    )
    .await
    .unwrap();
    let start = Instant::now();
    let drip = async {
        // One byte every 300 ms: never idle long, never done.
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if conn.write_all(b" ").await.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drip).await;
    let (_, answer) = until_closed(&mut conn, Duration::from_secs(15)).await.expect("a trickling body must be cut off");
    let after = start.elapsed();
    eprintln!("trickling body answered after {after:?}: {}", answer.lines().next().unwrap_or(""));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request-timeout"), "{answer}");
    assert!(after < Duration::from_secs(6), "{after:?}");
}

/// Raises this process's open-file limit to `wanted`, or says why it cannot.
fn raise_open_files(wanted: u64) -> Result<(), String> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| e.to_string())?;
    if soft >= wanted {
        return Ok(());
    }
    if hard >= wanted {
        return setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).map_err(|e| e.to_string());
    }
    // Only root may raise the hard limit.
    setrlimit(Resource::RLIMIT_NOFILE, wanted, wanted)
        .map_err(|e| format!("hard limit {hard} < {wanted} and it cannot be raised: {e}"))
}

/// How long a fresh connection takes to be answered `GET /ops/login`, TLS included.
async fn fresh_request(connector: &tokio_rustls::TlsConnector, addr: std::net::SocketAddr) -> Result<Duration, String> {
    let start = Instant::now();
    let attempt = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let mut conn =
            connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.map_err(|e| e.to_string())?;
        conn.write_all(b"GET /ops/login HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer).into_owned();
        if answer.starts_with("HTTP/1.1 200") { Ok(()) } else { Err(format!("answered {answer:.40}")) }
    };
    match tokio::time::timeout(Duration::from_secs(10), attempt).await {
        Ok(Ok(())) => Ok(start.elapsed()),
        Ok(Err(e)) => Err(e),
        Err(_) => Err("no answer within 10 s".into()),
    }
}

/// The `central` binary in a child process with 1,024 open files, as a service started
/// with a distribution's default limit would have.
struct Child {
    process: std::process::Child,
    addr: std::net::SocketAddr,
    ca_pem: String,
    _dir: tempfile::TempDir,
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

async fn central_with_1024_open_files() -> Child {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let process = std::process::Command::new("bash")
        .arg("-c")
        .arg(r#"ulimit -n 1024 || exit 97; exec "$@""#)
        .arg("central-1024")
        .arg(env!("CARGO_BIN_EXE_central"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        // Long deadlines: what makes room here must be the cap, not a timeout.
        .args(["--header-timeout", "120s", "--idle-timeout", "120s"])
        .env("RUST_LOG", "warn")
        .spawn()
        .unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let ca = dir.path().join("ca.pem");
    for _ in 0..300 {
        if ca.exists() && TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ca_pem = std::fs::read_to_string(ca).unwrap();
    Child { process, addr, ca_pem, _dir: dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_request_is_answered_at_once_while_1200_idle_connections_are_held() {
    const IDLE: usize = 1200;
    // Our ends of the idle connections, the fresh ones and some slack.
    if let Err(why) = raise_open_files(IDLE as u64 + 512) {
        eprintln!("SKIPPED: this test holds {IDLE} connections and cannot raise the open-file limit: {why}");
        return;
    }
    let central = central_with_1024_open_files().await;
    let connector = connector(&central.ca_pem);
    let mut before = Vec::new();
    for _ in 0..5 {
        before.push(fresh_request(&connector, central.addr).await.unwrap());
    }
    before.sort();
    let before = before[before.len() / 2];

    // Connections that finish TLS and then send nothing, 32 at a time.
    let mut idle = Vec::with_capacity(IDLE);
    let mut refused = 0;
    for batch in (0..IDLE).collect::<Vec<_>>().chunks(32) {
        let opened = futures_join(batch.iter().map(|_| {
            let connector = connector.clone();
            let addr = central.addr;
            async move {
                let open = async {
                    let tcp = TcpStream::connect(addr).await.ok()?;
                    connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.ok()
                };
                // A server out of files leaves new connections unanswered in its backlog.
                tokio::time::timeout(Duration::from_secs(3), open).await.ok()?
            }
        }))
        .await;
        for c in opened {
            match c {
                Some(c) => idle.push(c),
                None => refused += 1,
            }
        }
    }
    eprintln!("{} idle connections opened ({refused} not served)", idle.len());

    let during = fresh_request(&connector, central.addr).await;
    eprintln!("fresh request before: {before:?}; with {IDLE} idle connections held: {during:?}");
    let during = during
        .unwrap_or_else(|e| panic!("with {IDLE} idle connections a fresh request must still be answered, but: {e}"));
    assert!(
        during < Duration::from_secs(1).max(before * 4),
        "a fresh request took {during:?} with {IDLE} idle connections (before: {before:?})"
    );
    drop(idle);
}

/// Runs the futures concurrently and collects their outputs in order.
async fn futures_join<F: std::future::Future + Send + 'static>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}
