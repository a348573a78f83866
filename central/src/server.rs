//! Starting the service in-process: opens the data directory (creating CA, keys,
//! database and registry on first start), then serves HTTPS with optional client
//! certificates until `shutdown`, each connection held to the deadlines and cap of
//! `connections`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt as _;

use crate::config::{ConfigError, ServerConfig};
use crate::connections::{ConnectionSlot, Connections, DeadlineBody, Deadlines};
use crate::pki::{FleetCa, PeerIdentity, PkiError};
use crate::state::{AppState, Counters, Throttles, face_cipher, load_or_create_key};
use crate::store::{PgStore, SqliteStore, Store, StoreError};

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
    #[error(
        "invalid setting `face_key`: {configured} does not exist but {legacy} does; move that key there \
         (a new key could not decrypt the stored face images)"
    )]
    FaceKeyMoved { configured: String, legacy: String },
    #[error("invalid setting `face_key`: cannot use {path}: {source}")]
    FaceKey { path: String, source: std::io::Error },
    /// The database belongs to a fleet whose CA is not in `data_dir`: this instance would
    /// make (or has) another CA, whose certificates the other instances refuse.
    #[error(
        "invalid setting `data_dir`: {data_dir} {found}, but the database is bound to the fleet CA with \
         SHA-256 {bound}; copy the data directory of an instance already serving this database \
         (ca.pem, ca.key.pem, server.pem, server.key.pem, certificate-signing.key, metrics.token) \
         before starting this one"
    )]
    OtherFleetCa { data_dir: String, found: String, bound: String },
}

/// The client's address on the other end of the connection (for per-address throttles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// Opens the store in `data_dir` (creating the directory and database).
pub fn open_store(data_dir: &std::path::Path) -> Result<SqliteStore, StartError> {
    std::fs::create_dir_all(data_dir)
        .map_err(|source| StartError::DataDir { path: data_dir.display().to_string(), source })?;
    Ok(SqliteStore::open(&data_dir.join("central.db"))?)
}

/// Opens the store `database` names (a `postgres://` URL), or the SQLite file in
/// `data_dir` when it names none; logs which, with any password masked.
pub fn open_database(data_dir: &std::path::Path, database: Option<&str>) -> Result<Arc<dyn Store>, StartError> {
    match database {
        None => {
            let store = open_store(data_dir)?;
            tracing::info!(path = %data_dir.join("central.db").display(), "storage: SQLite");
            Ok(Arc::new(store))
        }
        Some(url) => {
            crate::config::check_database_url(url).map_err(|problem| ConfigError { setting: "database", problem })?;
            let store = PgStore::open(url)?;
            // The operator sees at start whether the records cross the network encrypted.
            let tls = store.connection_tls().ok().flatten().unwrap_or_else(|| "none".to_owned());
            tracing::info!(
                database = store.target(),
                schema_version = ?store.schema_version().ok(),
                tls,
                "storage: PostgreSQL"
            );
            Ok(Arc::new(store))
        }
    }
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
    /// Rotates the server certificate if two thirds of its life have passed at `now`
    /// (the periodic check calls this with the real time). Returns the new expiry.
    pub fn rotate_server_certificate_if_due(&self, now: time::OffsetDateTime) -> Result<Option<i64>, PkiError> {
        self.state.ca.rotate_server_certificate_if_due(now)
    }

    /// (not_before, not_after) of the server certificate served now, unix seconds.
    pub fn server_certificate_validity(&self) -> (i64, i64) {
        self.state.ca.server_certificate().validity()
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
    /// The bearer token `GET /metrics` needs (`Authorization: Bearer <token>`).
    pub fn metrics_token(&self) -> String {
        crate::telemetry::metrics_token(&self.state.config.data_dir).unwrap_or_default()
    }
    /// This instance's name (`ServerConfig::instance_name` or `<hostname>:<port>`).
    pub fn instance_name(&self) -> &str {
        &self.state.instance
    }
    /// Connections open now, and the cap they are held to.
    pub fn connections(&self) -> (usize, usize) {
        (self.state.connections.open_count(), self.state.connections.cap())
    }
    /// Runs the retention sweep as if it were `now` (Unix seconds).
    pub fn enforce_retention_at(&self, now: i64) -> Result<crate::store::RetentionReport, StoreError> {
        crate::retention::sweep(&self.state, now)
    }
    /// Revokes a device: its certificate is refused from now on.
    pub fn revoke_device(&self, device_id: &str) -> Result<bool, StoreError> {
        self.state.store.revoke_device(device_id, time::OffsetDateTime::now_utc().unix_timestamp())
    }
    /// Adds an ops dashboard user with a role (`operations` or `reviewer`).
    pub fn add_user_with_role(&self, username: &str, password: &str, role: &str) -> anyhow::Result<()> {
        crate::ops::add_user_with_role(self.state.store.as_ref(), username, password, role)
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

/// Starts the server on the current tokio runtime; the back office's decisions are
/// logged ([`crate::notify::LogNotifier`]).
pub async fn start(config: ServerConfig) -> Result<RunningServer, StartError> {
    start_with_notifier(config, Arc::new(crate::notify::LogNotifier)).await
}

/// [`start`] with the gateway that tells citizens the back office's decisions.
pub async fn start_with_notifier(
    config: ServerConfig,
    notifier: Arc<dyn crate::notify::Notifier>,
) -> Result<RunningServer, StartError> {
    config.validate()?;
    let store = open_database(&config.data_dir, config.database.as_deref())?;
    let data_dir = config.data_dir.clone();
    let key_err = |source| StartError::DataDir { path: data_dir.display().to_string(), source };
    let signing = load_or_create_key(&data_dir.join("certificate-signing.key")).map_err(key_err)?;
    let face_key = load_face_key(&config)?;
    let metrics_token = load_or_create_key(&data_dir.join(crate::telemetry::METRICS_TOKEN_FILE)).map_err(key_err)?;
    // Checked before a CA is made: an instance started on a shared database with an empty
    // data directory must not create a second CA (and leave it behind to be copied).
    let bound = store.fleet_ca()?;
    if let (Some(bound), false) = (&bound, crate::pki::has_fleet_ca(&data_dir)) {
        return Err(StartError::OtherFleetCa {
            data_dir: data_dir.display().to_string(),
            found: "has no fleet CA".into(),
            bound: bound.clone(),
        });
    }
    let ca = FleetCa::load_or_create_with(&data_dir, &config.server_names, config.server_certificate_validity)?;
    let ours = ca.ca_sha256()?;
    let bound = store.bind_fleet_ca(&ours, time::OffsetDateTime::now_utc().unix_timestamp())?;
    if bound != ours {
        return Err(StartError::OtherFleetCa {
            data_dir: data_dir.display().to_string(),
            found: format!("holds the fleet CA with SHA-256 {ours}"),
            bound,
        });
    }
    // A server that was down through its rotation date rotates before it listens.
    ca.rotate_server_certificate_if_due(time::OffsetDateTime::now_utc())?;
    if store.registry_is_empty()? {
        let people = crate::registry::generate(config.registry_size);
        store.insert_registry(&people)?;
        tracing::info!(people = people.len(), "synthetic registry created");
    }
    let tls = Arc::new(ca.tls_server_config()?);
    let listener =
        TcpListener::bind(config.listen).await.map_err(|source| StartError::Listen { addr: config.listen, source })?;
    let local_addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.listen, source })?;
    // Listening, so this is the one server on this data (SQLite: one process): any
    // reservation still in flight belonged to a predecessor that died mid-request.
    // (PostgreSQL, shared by several processes: only those of processes that are gone.)
    let abandoned = store.idempotency_abandon_all_in_flight()?;
    if abandoned > 0 {
        tracing::warn!(
            abandoned,
            "dropped requests left in flight by a server that stopped mid-request; their retries go through at once"
        );
    }
    let cap = config.max_connections.unwrap_or_else(crate::connections::cap_for_open_file_limit);
    let deadlines = Deadlines { header: config.header_timeout, idle: config.idle_timeout, body: config.body_timeout };
    let connections = Arc::new(Connections::new(cap, deadlines));
    let state = Arc::new(AppState {
        verify_base_url: config.verify_base_url(local_addr),
        instance: config.instance_name_for(local_addr),
        throttles: Throttles::new(&config),
        passwords: crate::password::PasswordChecker::start(config.login.workers, config.login.queue),
        config,
        store,
        ca,
        signing_key: ed25519_dalek::SigningKey::from_bytes(&signing),
        face_cipher: face_cipher(&face_key),
        counters: Counters::default(),
        connections: connections.clone(),
        metrics_token_hash: crate::telemetry::token_hash(&hex::encode(metrics_token)),
        metrics: crate::telemetry::MetricsCache::default(),
        notifier,
    });
    let (stop, stopped) = watch::channel(false);
    let router = crate::http::router(state.clone());
    let accept =
        tokio::spawn(accept_loop(listener, tokio_rustls::TlsAcceptor::from(tls), router, connections, stopped.clone()));
    let sweeper = tokio::spawn(sweep_loop(state.clone(), stopped));
    tracing::info!(%local_addr, max_connections = cap, instance = %state.instance, "central listening");
    Ok(RunningServer { local_addr, state, stop, tasks: vec![accept, sweeper] })
}

/// Reads (or creates, mode 0600) the face image key at `path`.
pub fn load_face_key_file(path: &std::path::Path) -> Result<[u8; 32], StartError> {
    load_or_create_key(path).map_err(|source| StartError::FaceKey { path: path.display().to_string(), source })
}

/// The face image key: from `face_key` when set (refusing to make a new one while the
/// old key still lies in the data directory), else beside the database, with a warning.
fn load_face_key(config: &ServerConfig) -> Result<[u8; 32], StartError> {
    let legacy = config.data_dir.join("face-images.key");
    let Some(path) = &config.face_key else {
        tracing::warn!(
            path = %legacy.display(),
            "the face image key is stored beside the database, so a copy of the data directory decrypts \
             every stored face; set --face-key to a path outside it (see deploy/README.md)"
        );
        return load_or_create_key(&legacy)
            .map_err(|source| StartError::DataDir { path: legacy.display().to_string(), source });
    };
    if !path.exists() && legacy.exists() {
        return Err(StartError::FaceKeyMoved {
            configured: path.display().to_string(),
            legacy: legacy.display().to_string(),
        });
    }
    load_face_key_file(path)
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    router: axum::Router,
    connections: Arc<Connections>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = connections.wait_for_room() => {}
        }
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
        let slot = connections.admit();
        tokio::spawn(serve_connection(
            tcp,
            peer_addr,
            acceptor.clone(),
            router.clone(),
            slot,
            connections.deadlines(),
            stopped.clone(),
        ));
    }
}

/// One connection: TLS, then HTTP/1.1 requests until the client leaves, a deadline
/// passes, the cap makes room for a newer connection, or the server stops.
async fn serve_connection(
    tcp: tokio::net::TcpStream,
    peer_addr: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    router: axum::Router,
    slot: ConnectionSlot,
    deadlines: Deadlines,
    mut stop: watch::Receiver<bool>,
) {
    let tls = tokio::select! {
        tls = acceptor.accept(tcp) => match tls {
            Ok(tls) => tls,
            Err(e) => {
                tracing::info!(%peer_addr, error = %e, "TLS handshake refused");
                return;
            }
        },
        why = slot.closed() => {
            tracing::debug!(%peer_addr, ?why, "closed during the TLS handshake");
            return;
        }
        _ = stop.changed() => return,
    };
    let peer = PeerIdentity::from_certificates(tls.get_ref().1.peer_certificates());
    let slot = Arc::new(slot);
    let io = TokioIo::new(slot.track(tls));
    let requests = slot.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let in_flight = requests.request_started();
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(peer.clone());
        parts.extensions.insert(ClientAddr(peer_addr));
        let req = hyper::Request::from_parts(parts, axum::body::Body::new(DeadlineBody::new(body, deadlines.body)));
        let reply = router.clone().oneshot(req);
        async move {
            let resp = reply.await?;
            // The guard lives as long as the response body: until hyper has written it.
            Ok::<_, std::convert::Infallible>(resp.map(|body| {
                axum::body::Body::new(http_body_util::BodyExt::map_frame(body, move |frame| {
                    let _ = &in_flight;
                    frame
                }))
            }))
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // A backstop: the connection's watchdog below closes it first.
        .header_read_timeout(deadlines.header + deadlines.idle)
        .keep_alive(true)
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => if let Err(e) = r { tracing::debug!(%peer_addr, error = %e, "connection ended"); },
        why = slot.closed() => tracing::debug!(%peer_addr, ?why, "connection closed by the server"),
        _ = stop.changed() => {}
    }
}

async fn sweep_loop(state: Arc<AppState>, mut stopped: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(state.config.sweep_interval);
    let mut retention = tokio::time::interval(state.config.retention_interval);
    // Often enough to rotate well inside the last third of the certificate's life.
    let check = (state.config.server_certificate_validity / 6).min(std::time::Duration::from_secs(3600));
    let mut server_certificate = tokio::time::interval(check);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tick.tick() => {
                n += 1;
                // Purging old idempotency records is cheap but needs no sub-minute precision.
                let purge = n % 120 == 1;
                let st = state.clone();
                let r = tokio::task::spawn_blocking(move || crate::telemetry::sweep(&st, purge)).await;
                if let Ok(Err(e)) = r {
                    tracing::error!(error = %e, "sweep failed");
                }
                state.throttles.forget_rested();
            }
            _ = server_certificate.tick() => {
                let st = state.clone();
                let now = time::OffsetDateTime::now_utc();
                let r = tokio::task::spawn_blocking(move || st.ca.rotate_server_certificate_if_due(now)).await;
                if let Ok(Err(e)) = r {
                    let (_, not_after) = state.ca.server_certificate().validity();
                    tracing::error!(
                        error = %e,
                        not_after,
                        "server certificate rotation failed; the current certificate stays in use until it expires"
                    );
                }
            }
            _ = retention.tick() => {
                let st = state.clone();
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let r = tokio::task::spawn_blocking(move || crate::retention::sweep(&st, now)).await;
                if let Ok(Err(e)) = r {
                    tracing::error!(error = %e, "retention sweep failed; personal data past its retention is still stored");
                }
            }
        }
    }
}
