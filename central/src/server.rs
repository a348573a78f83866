//! Starting the service in-process: opens the data directory (creating CA, keys,
//! database and registry on first start), then serves HTTPS with optional client
//! certificates until `shutdown`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt as _;

use crate::config::{ConfigError, ServerConfig};
use crate::pki::{FleetCa, PeerIdentity, PkiError};
use crate::state::{AppState, Counters, face_cipher, load_or_create_key};
use crate::store::{SqliteStore, Store, StoreError};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("invalid setting `data_dir`: cannot use {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("invalid setting `listen`: cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
}

/// Opens the store in `data_dir` (creating the directory and database).
pub fn open_store(data_dir: &std::path::Path) -> Result<SqliteStore, StartError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|source| StartError::DataDir { path: data_dir.display().to_string(), source })?;
    Ok(SqliteStore::open(&data_dir.join("central.db"))?)
}

/// A server running on the current tokio runtime.
pub struct RunningServer {
    local_addr: SocketAddr,
    state: Arc<AppState>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer").field("local_addr", &self.local_addr).finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
    /// Fleet CA certificate (PEM) for the terminal's trust store.
    pub fn ca_pem(&self) -> String {
        self.state.ca.ca_pem().to_owned()
    }
    /// Creates a one-time enrollment token valid for `ttl`.
    pub fn create_enrollment_token(&self, ttl: Duration) -> Result<String, StoreError> {
        crate::enroll::create_token(self.state.store.as_ref(), ttl)
    }
    /// Public key that signs certificates (what the terminal verifies before printing).
    pub fn certificate_signing_key(&self) -> ed25519_dalek::VerifyingKey {
        self.state.signing_key.verifying_key()
    }
    /// Revokes a device: its certificate is refused from now on.
    pub fn revoke_device(&self, device_id: &str) -> Result<bool, StoreError> {
        self.state.store.revoke_device(device_id, time::OffsetDateTime::now_utc().unix_timestamp())
    }
    /// Adds an ops dashboard user.
    pub fn add_user(&self, username: &str, password: &str) -> anyhow::Result<()> {
        crate::ops::add_user(self.state.store.as_ref(), username, password)
    }
    /// The store, for tests that inspect or prepare state directly.
    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }
    /// The fleet CA (tests use it to mint certificates, e.g. expired ones).
    pub fn fleet_ca(&self) -> &FleetCa {
        &self.state.ca
    }
    /// Runs one offline/purge sweep now instead of waiting for the timer.
    pub fn sweep_now(&self) {
        if let Err(e) = crate::telemetry::sweep(&self.state, false) {
            tracing::error!(error = %e, "sweep failed");
        }
    }
    /// Stops accepting connections and background work.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Starts the server on the current tokio runtime.
pub async fn start(config: ServerConfig) -> Result<RunningServer, StartError> {
    config.validate()?;
    let store = open_store(&config.data_dir)?;
    let data_dir = config.data_dir.clone();
    let key_err = |source| StartError::DataDir { path: data_dir.display().to_string(), source };
    let signing = load_or_create_key(&data_dir.join("certificate-signing.key")).map_err(key_err)?;
    let face_key = load_or_create_key(&data_dir.join("face-images.key")).map_err(key_err)?;
    let ca = FleetCa::load_or_create(&data_dir, &config.server_names)?;
    if store.registry_is_empty()? {
        let people = crate::registry::generate(config.registry_size);
        store.insert_registry(&people)?;
        tracing::info!(people = people.len(), "synthetic registry created");
    }
    let tls = Arc::new(ca.tls_server_config()?);
    let listener =
        TcpListener::bind(config.listen).await.map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let local_addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let state = Arc::new(AppState {
        verify_base_url: config.verify_base_url(local_addr),
        config,
        store: Arc::new(store),
        ca,
        signing_key: ed25519_dalek::SigningKey::from_bytes(&signing),
        face_cipher: face_cipher(&face_key),
        counters: Counters::default(),
    });
    let (stop, stopped) = watch::channel(false);
    let router = crate::http::router(state.clone());
    let accept = tokio::spawn(accept_loop(listener, tokio_rustls::TlsAcceptor::from(tls), router, stopped.clone()));
    let sweeper = tokio::spawn(sweep_loop(state.clone(), stopped));
    tracing::info!(%local_addr, "central listening");
    Ok(RunningServer { local_addr, state, stop, tasks: vec![accept, sweeper] })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    router: axum::Router,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let (tcp, peer_addr) = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Usually EMFILE; back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let mut conn_stop = stopped.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::info!(%peer_addr, error = %e, "TLS handshake refused");
                    return;
                }
                Err(_) => {
                    tracing::info!(%peer_addr, "TLS handshake timed out");
                    return;
                }
            };
            let peer = PeerIdentity::from_certificates(tls.get_ref().1.peer_certificates());
            let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(peer.clone());
                router.clone().oneshot(req)
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(tls), service);
            tokio::pin!(conn);
            tokio::select! {
                r = conn.as_mut() => if let Err(e) = r { tracing::debug!(%peer_addr, error = %e, "connection ended"); },
                _ = conn_stop.changed() => {}
            }
        });
    }
}

async fn sweep_loop(state: Arc<AppState>, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(state.config.sweep_interval);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tick.tick() => {}
        }
        n += 1;
        // Purging old idempotency records is cheap but needs no sub-minute precision.
        let purge = n % 120 == 1;
        let st = state.clone();
        let r = tokio::task::spawn_blocking(move || crate::telemetry::sweep(&st, purge)).await;
        if let Ok(Err(e)) = r {
            tracing::error!(error = %e, "sweep failed");
        }
    }
}
