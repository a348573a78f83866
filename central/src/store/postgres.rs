//! The PostgreSQL store (`central serve --database postgres://...`), for fleets whose
//! central service runs as several processes sharing one database. It keeps every
//! guarantee of the SQLite store across those processes: where SQLite relies on being
//! the one writer, this store takes row locks (`SELECT ... FOR UPDATE`), writes with
//! `INSERT ... ON CONFLICT`, and serialises the few whole-table jobs (migrations, the
//! registry's first fill, the retention sweep, one device's audit chain) with
//! transaction-scoped advisory locks.
//!
//! The `Store` trait is synchronous, and its callers run on tokio worker threads (axum
//! handlers) as well as in `spawn_blocking`. The driver is async, and blocking on a
//! future from a runtime's own thread panics, so the store owns a small runtime of its
//! own (two threads named `pg-store`): each call spawns its queries onto that runtime
//! and waits for the answer on a channel, which is safe from any thread.

use std::future::Future;
use std::sync::mpsc;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use self::tls::Tls;

mod audit;
mod idempotency;
mod migrate;
mod releases;
mod retention;
mod review;
mod tls;

pub use migrate::MIGRATIONS;

use super::*;
use crate::api::{AuditRecord, TelemetryEvent};
use crate::audit::ChainHead;

/// Connections per process. Each call holds one for its few statements; two runtime
/// threads keep several calls in flight while others wait on the network or a lock.
const POOL_SIZE: usize = 8;
/// A database that does not answer a connection attempt within this fails the call
/// (500, retried by the terminal) rather than holding the request forever.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The columns of `people` and of `contributions`, an array each, for `unnest`.
type PeopleColumns<'a> = (Vec<&'a str>, Vec<&'a str>, Vec<&'a str>, Vec<&'a str>, Vec<i64>, Vec<Option<&'a str>>);
type MonthColumns<'a> = (Vec<&'a str>, Vec<&'a str>, Vec<&'a str>, Vec<i64>, Vec<i64>, Vec<i64>);

/// People per statement of the registry's first fill (their months go in one more).
const REGISTRY_CHUNK: usize = 2_000;
/// How long a call waits for a free pooled connection.
const POOL_WAIT: Duration = Duration::from_secs(10);
/// Session settings for the store's connections, unless the URL's `options` say
/// otherwise: a row lock held by a stuck transaction (another instance's, perhaps on a
/// dead connection) fails the waiting call after 5 s, as SQLite's busy timeout does,
/// instead of holding a request and its thread for as long as it lasts; no statement
/// of the store's runs anywhere near 30 s.
const SESSION_OPTIONS: &[(&str, &str)] = &[("lock_timeout", "5s"), ("statement_timeout", "30s")];

/// Lifts [`SESSION_OPTIONS`] for the rest of a transaction whose waits and statements
/// may rightly take long: migrations, the registry's first fill, the retention sweep.
pub(super) const NO_TIMEOUTS: &str = "SET LOCAL lock_timeout = 0; SET LOCAL statement_timeout = 0";

/// `config` with [`SESSION_OPTIONS`] added to its `options`, each unless set there.
fn with_session_options(mut config: tokio_postgres::Config) -> tokio_postgres::Config {
    let given = config.get_options().unwrap_or_default().to_owned();
    let mut options = given.clone();
    for (name, value) in SESSION_OPTIONS {
        if !given.contains(name) {
            if !options.is_empty() {
                options.push(' ');
            }
            options.push_str(&format!("-c {name}={value}"));
        }
    }
    config.options(options);
    config
}

/// Advisory lock keys (first of the two-int form); the second key says which one.
pub(super) const LOCK_MIGRATE: i32 = 0x6b10_0001;
const LOCK_REGISTRY: i32 = 0x6b10_0002;
pub(super) const LOCK_RETENTION: i32 = 0x6b10_0003;
/// One device's audit chain: the second key is `hashtext(device_id)`.
pub(super) const LOCK_AUDIT: i32 = 0x6b10_0004;
/// Held (session-level) by every running store on its instance number, which its
/// idempotency reservations carry: see migration 2.
pub(super) const LOCK_OWNER: i32 = 0x6b10_0005;
/// Starting a rollout: the second key is `hashtext(architecture)`.
pub(super) const LOCK_ROLLOUT: i32 = 0x6b10_0006;

/// The store's runtime, shut down without waiting when dropped: waiting for its threads
/// (what dropping a `Runtime` does) panics on a tokio worker, where the server's state
/// is dropped, and where `central::start` runs `PgStore::open`, which may fail midway.
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        // The connections close as their tasks are dropped; PostgreSQL rolls back
        // whatever was still open.
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

pub struct PgStore {
    /// Declared first, so it is shut down before the pool and session are dropped.
    _runtime: OwnRuntime,
    handle: tokio::runtime::Handle,
    pool: Pool,
    /// This instance's number in `idempotency.owner`.
    owner: i32,
    /// The session holding this instance's owner lock; closing it releases the lock.
    _owner_session: tokio_postgres::Client,
    /// The database URL with its password masked, for messages.
    target: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("target", &self.target).field("owner", &self.owner).finish_non_exhaustive()
    }
}

/// `url` with the password (in the user part or a `password=` parameter) replaced by
/// `***`, for logs and error messages.
pub fn mask_database_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest = scheme_end + 3;
        let authority_end = out[rest..].find(['/', '?']).map_or(out.len(), |i| rest + i);
        if let Some(at) = out[rest..authority_end].rfind('@') {
            let userinfo = rest..rest + at;
            if let Some(colon) = out[userinfo.clone()].find(':') {
                out.replace_range(userinfo.start + colon + 1..userinfo.end, "***");
            }
        }
    }
    if let Some(p) = out.find("password=") {
        let value = p + "password=".len();
        let end = out[value..].find(['&', ' ']).map_or(out.len(), |i| value + i);
        out.replace_range(value..end, "***");
    }
    out
}

fn unavailable(detail: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(detail.to_string())
}

fn pool_error(e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => StoreError::Postgres(e),
        other => unavailable(format!("no database connection: {other}")),
    }
}

/// Runs `work` on `handle`'s runtime and waits for its result on this thread.
fn wait_for<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    work: impl Future<Output = StoreResult<T>> + Send + 'static,
) -> StoreResult<T> {
    let (tx, rx) = mpsc::sync_channel(1);
    handle.spawn(async move {
        // The caller waits until this is sent; it cannot have gone away.
        let _ = tx.send(work.await);
    });
    rx.recv().map_err(|_| unavailable("the database task stopped before answering"))?
}

pub(super) async fn client(pool: &Pool) -> StoreResult<deadpool_postgres::Client> {
    pool.get().await.map_err(pool_error)
}

pub(super) async fn query<C: GenericClient>(c: &C, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Vec<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query(&statement, params).await?)
}

pub(super) async fn query_opt<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> StoreResult<Option<Row>> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query_opt(&statement, params).await?)
}

pub(super) async fn query_one<C: GenericClient>(c: &C, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<Row> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.query_one(&statement, params).await?)
}

pub(super) async fn execute<C: GenericClient>(c: &C, sql: &str, params: &[&(dyn ToSql + Sync)]) -> StoreResult<u64> {
    let statement = c.prepare_cached(sql).await?;
    Ok(c.execute(&statement, params).await?)
}

/// Row count as `usize` (always fits on the 64-bit targets central runs on).
pub(super) fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Claims an instance number no running store holds, on a session of its own that
/// keeps the lock until the store is dropped.
async fn claim_owner(config: tokio_postgres::Config, tls: Tls) -> StoreResult<(i32, tokio_postgres::Client)> {
    let (session, connection) = connect(&config, tls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(
                error = %e,
                "the database session naming this instance ended; a central starting now may drop \
                 this instance's in-flight reservations (their requests are answered from a retry)"
            );
        }
    });
    for _ in 0..16 {
        let owner = rand::random_range(1..i32::MAX);
        let row = session.query_one("SELECT pg_try_advisory_lock($1, $2)", &[&LOCK_OWNER, &owner]).await?;
        if row.try_get::<_, bool>(0)? {
            return Ok((owner, session));
        }
    }
    Err(unavailable("no free instance number after 16 tries"))
}

/// A connection future the caller spawns (it drives the session until it ends).
type Connection = std::pin::Pin<Box<dyn Future<Output = Result<(), tokio_postgres::Error>> + Send>>;

/// One session outside the pool, with or without TLS.
async fn connect(config: &tokio_postgres::Config, tls: Tls) -> StoreResult<(tokio_postgres::Client, Connection)> {
    Ok(match tls {
        Tls::Plain => {
            let (client, connection) = config.connect(NoTls).await?;
            (client, Box::pin(connection))
        }
        Tls::Verified(tls) => {
            let (client, connection) = config.connect(tls).await?;
            (client, Box::pin(connection))
        }
    })
}

/// The driver's settings for `url` (TLS included, `tls`), with the connect timeout.
fn connection_settings(url: &str, target: &str) -> StoreResult<(tokio_postgres::Config, Tls)> {
    let (mut config, tls) = tls::settings(url).map_err(|e| unavailable(format!("{target}: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    Ok((config, tls))
}

/// Why `url` is no database the store can use, TLS settings included (a CA file that
/// cannot be read, a mode without one). Never quotes the URL.
pub fn check_connection_settings(url: &str) -> Result<(), String> {
    tls::settings(url).map(|_| ())
}

/// What `central check` reports of a database without changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgInspection {
    /// Migrations applied: 0 for a database never migrated.
    pub schema_version: usize,
    /// The TLS version of the connection (`TLSv1.3`), `None` when it is not encrypted.
    pub tls: Option<String>,
    /// SHA-256 of the fleet CA the database is bound to (the first instance's).
    pub fleet_ca: Option<String>,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host/db`) and applies the
    /// migrations it lacks.
    pub fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(url, MIGRATIONS)
    }

    /// [`PgStore::open`] applying only `migrations` (a prefix of [`MIGRATIONS`]): tests
    /// build a database of an earlier version with it, then open it with all of them.
    #[doc(hidden)]
    pub fn open_with(url: &str, migrations: &'static [&'static str]) -> StoreResult<Self> {
        let target = mask_database_url(url);
        let (config, tls) = connection_settings(url, &target)?;
        if matches!(tls, Tls::Plain) && !tls::local_only(&config) {
            tracing::warn!(
                database = target,
                "the connection to the database is not encrypted and leaves this machine; add \
                 sslmode=verify-full&sslrootcert=PATH to the database URL (see central/README.md)"
            );
        }
        let config = with_session_options(config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pg-store")
            .enable_all()
            .build()
            .map_err(|e| unavailable(format!("cannot start the database threads: {e}")))?;
        let handle = runtime.handle().clone();
        let runtime = OwnRuntime(Some(runtime));
        let manager_config = ManagerConfig { recycling_method: RecyclingMethod::Fast };
        let manager = match &tls {
            Tls::Plain => Manager::from_config(config.clone(), NoTls, manager_config),
            Tls::Verified(connector) => Manager::from_config(config.clone(), connector.clone(), manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| unavailable(format!("cannot set up the connection pool: {e}")))?;
        let (owner, session) = wait_for(&handle, claim_owner(config, tls))?;
        let store = Self { _runtime: runtime, handle, pool, owner, _owner_session: session, target };
        store.run(move |pool| async move { migrate::migrate(&mut client(&pool).await?, migrations).await })?;
        Ok(store)
    }

    /// The schema version of the database at `url`, and whether the connection to it is
    /// encrypted, without changing anything (no migration, no instance number claimed).
    pub fn inspect(url: &str) -> StoreResult<PgInspection> {
        let target = mask_database_url(url);
        let (config, tls) = connection_settings(url, &target)?;
        // One connection, on a runtime of its own for the same reason as the store's.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("pg-check")
            .enable_all()
            .build()
            .map_err(|e| unavailable(format!("cannot start the database threads: {e}")))?;
        let handle = runtime.handle().clone();
        let _runtime = OwnRuntime(Some(runtime));
        wait_for(&handle, async move {
            let (session, connection) = connect(&config, tls).await?;
            let connection = tokio::spawn(connection);
            let exists: bool =
                session.query_one("SELECT to_regclass('schema_version') IS NOT NULL", &[]).await?.try_get(0)?;
            let version: i32 = if exists {
                session.query_one("SELECT coalesce(max(version), 0) FROM schema_version", &[]).await?.try_get(0)?
            } else {
                0
            };
            let tls: Option<String> = session
                .query_opt("SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl", &[])
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
            let bound: bool = session.query_one("SELECT to_regclass('fleet_ca') IS NOT NULL", &[]).await?.try_get(0)?;
            let fleet_ca: Option<String> = if bound {
                session
                    .query_opt("SELECT ca_sha256 FROM fleet_ca WHERE id = 1", &[])
                    .await?
                    .map(|r| r.try_get(0))
                    .transpose()?
            } else {
                None
            };
            drop(session);
            let _ = connection.await;
            Ok(PgInspection { schema_version: usize::try_from(version).unwrap_or(0), tls, fleet_ca })
        })
    }

    /// The TLS version of the pool's connections (`TLSv1.3`), `None` when they are not
    /// encrypted.
    pub fn connection_tls(&self) -> StoreResult<Option<String>> {
        self.run(|pool| async move {
            let c = client(&pool).await?;
            let row =
                query_opt(&c, "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl", &[]).await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    /// Migrations applied (the highest version in `schema_version`).
    pub fn schema_version(&self) -> StoreResult<usize> {
        self.run(|pool| async move { migrate::version(&client(&pool).await?).await })
    }

    /// The database URL with its password masked.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Runs `work` (given the pool) on the store's runtime and waits for its result.
    fn run<T, Fut>(&self, work: impl FnOnce(Pool) -> Fut) -> StoreResult<T>
    where
        T: Send + 'static,
        Fut: Future<Output = StoreResult<T>> + Send + 'static,
    {
        wait_for(&self.handle, work(self.pool.clone()))
    }

    /// The most recent application matching `condition` (one `$1` parameter).
    fn newest_application(&self, condition: &'static str, value: &str) -> StoreResult<Option<ApplicationRecord>> {
        let value = value.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let sql = format!(
                "SELECT {APPLICATION_COLS} FROM applications WHERE {condition} ORDER BY submitted_at DESC LIMIT 1"
            );
            query_opt(&c, &sql, &[&value]).await?.map(|r| application_from_row(&r)).transpose()
        })
    }
}

type RowResult<T> = Result<T, tokio_postgres::Error>;

const DEVICE_COLS: &str = "d.device_id, d.hostname, d.software_version, d.inventory, d.enrolled_at, d.cert_serial, d.cert_not_after, d.revoked_at";

fn device_from_row(r: &Row) -> RowResult<DeviceRecord> {
    Ok(DeviceRecord {
        device_id: r.try_get(0)?,
        hostname: r.try_get(1)?,
        software_version: r.try_get(2)?,
        inventory_json: r.try_get(3)?,
        enrolled_at: r.try_get(4)?,
        cert_serial: r.try_get(5)?,
        cert_not_after: r.try_get(6)?,
        revoked_at: r.try_get(7)?,
    })
}

const TERMINAL_SQL: &str = "SELECT d.device_id, d.hostname, d.software_version, d.inventory, d.enrolled_at, d.cert_serial,
       d.cert_not_after, d.revoked_at, t.last_seen, t.heartbeat, t.sessions_total, t.failures_total,
       t.heartbeats_total, t.events_total, t.mode, t.mode_since, x.at, x.backlog_depth, x.backlog_oldest_age_s, x.last_seen
     FROM devices d LEFT JOIN terminal_state t ON t.device_id = d.device_id
       LEFT JOIN decommissions x ON x.device_id = d.device_id";

fn terminal_from_row(r: &Row) -> RowResult<TerminalRow> {
    Ok(TerminalRow {
        device: device_from_row(r)?,
        last_seen: r.try_get(8)?,
        heartbeat_json: r.try_get(9)?,
        sessions_total: r.try_get::<_, Option<i64>>(10)?.unwrap_or(0),
        failures_total: r.try_get::<_, Option<i64>>(11)?.unwrap_or(0),
        heartbeats_total: r.try_get::<_, Option<i64>>(12)?.unwrap_or(0),
        events_total: r.try_get::<_, Option<i64>>(13)?.unwrap_or(0),
        mode: r.try_get(14)?,
        mode_since: r.try_get(15)?,
        decommissioned: match r.try_get::<_, Option<i64>>(16)? {
            Some(at) => Some(Decommission {
                at,
                backlog_depth: r.try_get(17)?,
                backlog_oldest_age_s: r.try_get(18)?,
                last_seen: r.try_get(19)?,
            }),
            None => None,
        },
    })
}

const PERSON_COLS: &str = "id_number, name, birth_date, pension_status, pension_fen, pension_since";

fn person_from_row(r: &Row) -> RowResult<Person> {
    Ok(Person {
        id_number: r.try_get(0)?,
        name: r.try_get(1)?,
        birth_date: r.try_get(2)?,
        pension_status: r.try_get(3)?,
        pension_fen: r.try_get(4)?,
        pension_since: r.try_get(5)?,
    })
}

/// Columns read by [`application_from_row`], in its order.
const APPLICATION_COLS: &str =
    "tracking_number, kind, status, id_number, device_id, submitted_at, deadline, client_reference, reason";

fn application_from_row(r: &Row) -> StoreResult<ApplicationRecord> {
    Ok(ApplicationRecord {
        tracking_number: r.try_get(0)?,
        kind: r.try_get(1)?,
        status: r.try_get(2)?,
        id_number: r.try_get(3)?,
        device_id: r.try_get(4)?,
        submitted_at: r.try_get(5)?,
        deadline: r.try_get(6)?,
        client_reference: r.try_get(7)?,
        reason: r.try_get(8)?,
    })
}

const ALERT_COLS: &str = "id, device_id, kind, detail, opened_at, cleared_at";

fn alert_from_row(r: &Row) -> RowResult<AlertRow> {
    Ok(AlertRow {
        id: r.try_get(0)?,
        device_id: r.try_get(1)?,
        kind: r.try_get(2)?,
        detail: r.try_get(3)?,
        opened_at: r.try_get(4)?,
        cleared_at: r.try_get(5)?,
    })
}

/// Maps every row, stopping at the first that does not read.
fn rows<T>(rows: Vec<Row>, f: impl Fn(&Row) -> RowResult<T>) -> StoreResult<Vec<T>> {
    Ok(rows.iter().map(f).collect::<Result<_, _>>()?)
}

/// [`Store::open_alert`] on `c`, which may be a transaction. The partial unique index
/// `alerts_one_open` makes a second open alert of a kind a conflict, ignored.
pub(super) async fn open_alert_in<C: GenericClient>(
    c: &C,
    device_id: &str,
    kind: &str,
    detail: &str,
    now: i64,
) -> StoreResult<bool> {
    let n = execute(
        c,
        "INSERT INTO alerts(device_id, kind, detail, opened_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        &[&device_id, &kind, &detail, &now],
    )
    .await?;
    Ok(n == 1)
}

/// Whether a token is known, unexpired and unused at `now`.
pub(super) async fn token_status<C: GenericClient>(c: &C, token_hash: &str, now: i64) -> StoreResult<TokenUse> {
    let row =
        query_opt(c, "SELECT expires_at, used_at FROM enrollment_tokens WHERE token_hash = $1", &[&token_hash]).await?;
    let Some(row) = row else { return Ok(TokenUse::Unknown) };
    let (expires, used): (i64, Option<i64>) = (row.try_get(0)?, row.try_get(1)?);
    Ok(match used {
        Some(_) => TokenUse::AlreadyUsed,
        None if expires <= now => TokenUse::Expired,
        None => TokenUse::Accepted,
    })
}

/// Marks a token used by `device_id`; false when it was used or expired by then. One
/// statement: of two instances spending the same token, the second re-checks the row
/// after the first commits and finds it used.
pub(super) async fn spend_token<C: GenericClient>(
    c: &C,
    token_hash: &str,
    now: i64,
    device_id: &str,
) -> StoreResult<bool> {
    let n = execute(
        c,
        "UPDATE enrollment_tokens SET used_at = $2, device_id = $3
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        &[&token_hash, &now, &device_id],
    )
    .await?;
    Ok(n == 1)
}

/// Records a device enrolled or renewed; a renewal keeps the stored `revoked_at` (see
/// the SQLite store's `enrollment::upsert_device`).
pub(super) async fn upsert_device<C: GenericClient>(c: &C, d: &DeviceRecord) -> StoreResult<()> {
    execute(
        c,
        "INSERT INTO devices(device_id, hostname, software_version, inventory, enrolled_at, cert_serial, cert_not_after, revoked_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT(device_id) DO UPDATE SET hostname = $2, software_version = $3, inventory = $4,
           cert_serial = $6, cert_not_after = $7",
        &[
            &d.device_id,
            &d.hostname,
            &d.software_version,
            &d.inventory_json,
            &d.enrolled_at,
            &d.cert_serial,
            &d.cert_not_after,
            &d.revoked_at,
        ],
    )
    .await?;
    Ok(())
}

pub(super) async fn insert_access<C: GenericClient>(c: &C, a: &RegistryAccess) -> StoreResult<()> {
    execute(
        c,
        "INSERT INTO registry_access(at, device_id, subject_masked, purpose, outcome) VALUES ($1, $2, $3, $4, $5)",
        &[&a.at, &a.device_id, &a.subject_masked, &a.purpose, &a.outcome],
    )
    .await?;
    Ok(())
}

/// `u32` limits as the BIGINT `LIMIT` takes.
fn limit(n: u32) -> i64 {
    i64::from(n)
}

impl Store for PgStore {
    fn insert_token(&self, token_hash: &str, created_at: i64, expires_at: i64) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            execute(
                &c,
                "INSERT INTO enrollment_tokens(token_hash, created_at, expires_at) VALUES ($1, $2, $3)",
                &[&token_hash, &created_at, &expires_at],
            )
            .await?;
            Ok(())
        })
    }

    fn consume_token(&self, token_hash: &str, now: i64, device_id: &str) -> StoreResult<TokenUse> {
        let (token_hash, device_id) = (token_hash.to_owned(), device_id.to_owned());
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            Ok(match token_status(&c, &token_hash, now).await? {
                TokenUse::Accepted if !spend_token(&c, &token_hash, now, &device_id).await? => TokenUse::AlreadyUsed,
                status => status,
            })
        })
    }

    fn token_status(&self, token_hash: &str, now: i64) -> StoreResult<TokenUse> {
        let token_hash = token_hash.to_owned();
        self.run(move |pool| async move { token_status(&client(&pool).await?, &token_hash, now).await })
    }

    fn upsert_device(&self, device: &DeviceRecord) -> StoreResult<()> {
        let device = device.clone();
        self.run(move |pool| async move { upsert_device(&client(&pool).await?, &device).await })
    }

    fn device(&self, device_id: &str) -> StoreResult<Option<DeviceRecord>> {
        let device_id = device_id.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let sql = format!("SELECT {DEVICE_COLS} FROM devices d WHERE d.device_id = $1");
            Ok(query_opt(&c, &sql, &[&device_id]).await?.map(|r| device_from_row(&r)).transpose()?)
        })
    }

    fn revoke_device(&self, device_id: &str, now: i64) -> StoreResult<bool> {
        let device_id = device_id.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let n = execute(
                &c,
                "UPDATE devices SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL",
                &[&device_id, &now],
            )
            .await?;
            Ok(n == 1)
        })
    }

    fn fleet_ca(&self) -> StoreResult<Option<String>> {
        self.run(|pool| async move {
            let c = client(&pool).await?;
            match query_opt(&c, "SELECT ca_sha256 FROM fleet_ca WHERE id = 1", &[]).await? {
                Some(row) => Ok(Some(row.try_get(0)?)),
                None => Ok(None),
            }
        })
    }

    fn bind_fleet_ca(&self, ca_sha256: &str, now: i64) -> StoreResult<String> {
        let ca_sha256 = ca_sha256.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            // One statement: of two instances binding at once, the second's insert waits
            // on the first's row and then does nothing; both read the first's.
            execute(
                &c,
                "INSERT INTO fleet_ca(id, ca_sha256, bound_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
                &[&ca_sha256, &now],
            )
            .await?;
            Ok(query_one(&c, "SELECT ca_sha256 FROM fleet_ca WHERE id = 1", &[]).await?.try_get(0)?)
        })
    }

    fn idempotency_begin(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        now: i64,
        stale_before: i64,
    ) -> StoreResult<IdempotencyBegin> {
        let (scope, key, request_hash) = (scope.to_owned(), key.to_owned(), request_hash.to_owned());
        let owner = self.owner;
        self.run(move |pool| async move {
            let mut c = client(&pool).await?;
            idempotency::begin(&mut c, owner, &scope, &key, &request_hash, now, stale_before).await
        })
    }

    fn idempotency_commit(
        &self,
        scope: &str,
        key: &str,
        records: &[NewRecord],
        response: &StoredResponse,
    ) -> StoreResult<Option<StoredResponse>> {
        let (scope, key, records, response) = (scope.to_owned(), key.to_owned(), records.to_vec(), response.clone());
        self.run(move |pool| async move {
            let mut c = client(&pool).await?;
            idempotency::commit(&mut c, &scope, &key, &records, &response).await
        })
    }

    fn idempotency_abandon(&self, scope: &str, key: &str) -> StoreResult<()> {
        let (scope, key) = (scope.to_owned(), key.to_owned());
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            execute(
                &c,
                "DELETE FROM idempotency WHERE scope = $1 AND key = $2 AND state = 'in_flight'",
                &[&scope, &key],
            )
            .await?;
            Ok(())
        })
    }

    fn idempotency_abandon_all_in_flight(&self) -> StoreResult<usize> {
        let owner = self.owner;
        self.run(move |pool| async move { idempotency::abandon_dead_owners(&client(&pool).await?, owner).await })
    }

    fn idempotency_purge(&self, created_before: i64) -> StoreResult<usize> {
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let n = execute(&c, "DELETE FROM idempotency WHERE created_at < $1 AND state = 'done'", &[&created_before])
                .await?;
            Ok(count(n))
        })
    }

    fn registry_is_empty(&self) -> StoreResult<bool> {
        self.run(|pool| async move {
            let c = client(&pool).await?;
            let row = query_one(&c, "SELECT EXISTS (SELECT 1 FROM people)", &[]).await?;
            Ok(!row.try_get::<_, bool>(0)?)
        })
    }

    fn insert_registry(&self, people: &[(Person, Vec<ContributionRecord>)]) -> StoreResult<()> {
        let people = people.to_vec();
        self.run(move |pool| async move {
            let mut c = client(&pool).await?;
            let tx = c.transaction().await?;
            // Two instances starting at once on an empty database both generate the
            // same synthetic registry: the second waits here (as long as the first
            // takes) and skips what is there.
            tx.batch_execute(NO_TIMEOUTS).await?;
            execute(&tx, "SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_REGISTRY]).await?;
            // Column arrays, a few statements in all: a row per statement would be a
            // round trip per person and per month (over a million for 100,000 people).
            for chunk in people.chunks(REGISTRY_CHUNK) {
                let mut cols = PeopleColumns::default();
                let mut months = MonthColumns::default();
                for (p, contributions) in chunk {
                    cols.0.push(&p.id_number);
                    cols.1.push(&p.name);
                    cols.2.push(&p.birth_date);
                    cols.3.push(&p.pension_status);
                    cols.4.push(p.pension_fen);
                    cols.5.push(p.pension_since.as_deref());
                    for m in contributions {
                        months.0.push(&p.id_number);
                        months.1.push(&m.month);
                        months.2.push(&m.employer);
                        months.3.push(m.base_fen);
                        months.4.push(m.personal_fen);
                        months.5.push(m.employer_fen);
                    }
                }
                execute(
                    &tx,
                    "INSERT INTO people(id_number, name, birth_date, pension_status, pension_fen, pension_since)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
                     ON CONFLICT DO NOTHING",
                    &[&cols.0, &cols.1, &cols.2, &cols.3, &cols.4, &cols.5],
                )
                .await?;
                execute(
                    &tx,
                    "INSERT INTO contributions(id_number, month, employer, base_fen, personal_fen, employer_fen)
                     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
                     ON CONFLICT DO NOTHING",
                    &[&months.0, &months.1, &months.2, &months.3, &months.4, &months.5],
                )
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    fn person(&self, id_number: &str) -> StoreResult<Option<Person>> {
        let id_number = id_number.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let sql = format!("SELECT {PERSON_COLS} FROM people WHERE id_number = $1");
            Ok(query_opt(&c, &sql, &[&id_number]).await?.map(|r| person_from_row(&r)).transpose()?)
        })
    }

    fn contributions(&self, id_number: &str) -> StoreResult<Vec<ContributionRecord>> {
        let id_number = id_number.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let found = query(
                &c,
                "SELECT month, employer, base_fen, personal_fen, employer_fen FROM contributions
                 WHERE id_number = $1 ORDER BY month",
                &[&id_number],
            )
            .await?;
            rows(found, |r| {
                Ok(ContributionRecord {
                    month: r.try_get(0)?,
                    employer: r.try_get(1)?,
                    base_fen: r.try_get(2)?,
                    personal_fen: r.try_get(3)?,
                    employer_fen: r.try_get(4)?,
                })
            })
        })
    }

    fn sample_people(&self, pension_status: &str, limit_to: u32) -> StoreResult<Vec<Person>> {
        let pension_status = pension_status.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let sql = format!("SELECT {PERSON_COLS} FROM people WHERE pension_status = $1 ORDER BY id_number LIMIT $2");
            rows(query(&c, &sql, &[&pension_status, &limit(limit_to)]).await?, person_from_row)
        })
    }

    fn certificate_by_code(&self, code: &str) -> StoreResult<Option<String>> {
        let code = code.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let row = query_opt(&c, "SELECT document FROM certificates WHERE verification_code = $1", &[&code]).await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn application(&self, tracking_number: &str) -> StoreResult<Option<ApplicationRecord>> {
        self.newest_application("tracking_number = $1", tracking_number)
    }

    fn applications_by_digits(&self, digits: &str) -> StoreResult<Vec<ApplicationRecord>> {
        let digits = digits.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let sql = format!(
                "SELECT {APPLICATION_COLS} FROM applications WHERE tracking_digits = $1 ORDER BY submitted_at DESC LIMIT 2"
            );
            query(&c, &sql, &[&digits]).await?.iter().map(application_from_row).collect()
        })
    }

    fn next_tracking_sequence(&self, day: &str) -> StoreResult<u64> {
        let day = day.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            // One statement: instances asking at once each get their own number (the
            // second waits for the first's row lock, then adds one to its value).
            let row = query_one(
                &c,
                "INSERT INTO tracking_days(day, last) VALUES ($1, 1)
                 ON CONFLICT(day) DO UPDATE SET last = tracking_days.last + 1 RETURNING last",
                &[&day],
            )
            .await?;
            let last: i64 = row.try_get(0)?;
            u64::try_from(last).map_err(|_| StoreError::Corrupt(format!("tracking sequence of {day} is {last}")))
        })
    }

    fn application_by_client_reference(&self, reference: &str) -> StoreResult<Option<ApplicationRecord>> {
        self.newest_application("client_reference = $1", reference)
    }

    fn open_application(&self, id_number: &str, kind: &str) -> StoreResult<Option<ApplicationRecord>> {
        let (id_number, kind) = (id_number.to_owned(), kind.to_owned());
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let sql = format!(
                "SELECT {APPLICATION_COLS} FROM applications
                 WHERE id_number = $1 AND kind = $2 AND status IN ('received', 'under_review', 'approved')
                 ORDER BY submitted_at DESC LIMIT 1"
            );
            query_opt(&c, &sql, &[&id_number, &kind]).await?.map(|r| application_from_row(&r)).transpose()
        })
    }

    fn face_image(&self, tracking_number: &str) -> StoreResult<Option<(Vec<u8>, Vec<u8>)>> {
        let tracking_number = tracking_number.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let row = query_opt(
                &c,
                "SELECT nonce, ciphertext FROM face_images WHERE tracking_number = $1",
                &[&tracking_number],
            )
            .await?;
            Ok(row.map(|r| Ok::<_, tokio_postgres::Error>((r.try_get(0)?, r.try_get(1)?))).transpose()?)
        })
    }

    fn activity_counts(&self) -> StoreResult<ActivityCounts> {
        self.run(|pool| async move {
            let c = client(&pool).await?;
            let r = query_one(
                &c,
                "SELECT (SELECT count(*) FROM people), (SELECT count(*) FROM certificates),
                        (SELECT count(*) FROM applications), (SELECT count(*) FROM ratings)",
                &[],
            )
            .await?;
            Ok(ActivityCounts {
                people: r.try_get(0)?,
                certificates: r.try_get(1)?,
                applications: r.try_get(2)?,
                ratings: r.try_get(3)?,
            })
        })
    }

    fn record_heartbeat(&self, hb: &HeartbeatRecord) -> StoreResult<AlertChanges> {
        let hb = hb.clone();
        self.run(move |pool| async move {
            let mut c = client(&pool).await?;
            let tx = c.transaction().await?;
            let changes = heartbeat_in(&tx, &hb).await?;
            tx.commit().await?;
            Ok(changes)
        })
    }

    fn record_heartbeat_once(
        &self,
        scope: &str,
        key: &str,
        request_hash: &str,
        hb: &HeartbeatRecord,
        reply: &StoredResponse,
    ) -> StoreResult<Option<AlertChanges>> {
        let (scope, key, request_hash, hb, reply) =
            (scope.to_owned(), key.to_owned(), request_hash.to_owned(), hb.clone(), reply.clone());
        let owner = self.owner;
        self.run(move |pool| async move {
            let mut c = client(&pool).await?;
            let tx = c.transaction().await?;
            if !idempotency::insert_done(&tx, owner, &scope, &key, &request_hash, hb.received_at, &reply).await? {
                // Dropping `tx` rolls back: nothing was written.
                return Ok(None);
            }
            let changes = heartbeat_in(&tx, &hb).await?;
            tx.commit().await?;
            Ok(Some(changes))
        })
    }

    fn insert_events(&self, device_id: &str, events: &[TelemetryEvent], now: i64) -> StoreResult<u32> {
        let device_id = device_id.to_owned();
        let events = events.to_vec();
        self.run(move |pool| async move {
            let mut c = client(&pool).await?;
            let tx = c.transaction().await?;
            let insert = tx
                .prepare_cached(
                    "INSERT INTO events(device_id, event_id, at, kind, severity, detail, received_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                )
                .await?;
            let mut n = 0u32;
            for e in &events {
                let severity = serde_json::to_value(e.severity)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                let at = e.at.unix_timestamp();
                let added = tx.execute(&insert, &[&device_id, &e.id, &at, &e.kind, &severity, &e.detail, &now]).await?;
                n += u32::from(added == 1);
            }
            execute(
                &tx,
                "INSERT INTO terminal_state(device_id, events_total, sessions_total, failures_total, heartbeats_total)
                 VALUES ($1, $2, 0, 0, 0)
                 ON CONFLICT(device_id) DO UPDATE SET events_total = terminal_state.events_total + $2",
                &[&device_id, &i64::from(n)],
            )
            .await?;
            tx.commit().await?;
            Ok(n)
        })
    }

    fn insert_audit(&self, device_id: &str, records: &[AuditRecord], now: i64) -> StoreResult<AuditIngest> {
        let (device_id, records) = (device_id.to_owned(), records.to_vec());
        self.run(move |pool| async move { audit::insert(&mut client(&pool).await?, &device_id, &records, now).await })
    }

    fn audit_head(&self, device_id: &str) -> StoreResult<Option<ChainHead>> {
        let device_id = device_id.to_owned();
        self.run(move |pool| async move { audit::head(&client(&pool).await?, &device_id).await })
    }

    fn audit_versions(&self, device_id: &str, seq: u64) -> StoreResult<Vec<StoredAudit>> {
        let device_id = device_id.to_owned();
        self.run(move |pool| async move { audit::versions(&client(&pool).await?, &device_id, seq).await })
    }

    fn open_alert(&self, device_id: &str, kind: &str, detail: &str, now: i64) -> StoreResult<bool> {
        let (device_id, kind, detail) = (device_id.to_owned(), kind.to_owned(), detail.to_owned());
        self.run(move |pool| async move { open_alert_in(&client(&pool).await?, &device_id, &kind, &detail, now).await })
    }

    fn clear_alert(&self, device_id: &str, kind: &str, now: i64) -> StoreResult<bool> {
        let (device_id, kind) = (device_id.to_owned(), kind.to_owned());
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let n = execute(
                &c,
                "UPDATE alerts SET cleared_at = $3 WHERE device_id = $1 AND kind = $2 AND cleared_at IS NULL",
                &[&device_id, &kind, &now],
            )
            .await?;
            Ok(n > 0)
        })
    }

    fn decommission_device(&self, device_id: &str, now: i64) -> StoreResult<Option<Decommission>> {
        let device_id = device_id.to_owned();
        self.run(move |pool| async move {
            let mut c = client(&pool).await?;
            let tx = c.transaction().await?;
            // The update locks the device row: a second decommission waits, then finds
            // it revoked and does nothing.
            let refused = execute(
                &tx,
                "UPDATE devices SET revoked_at = $2 WHERE device_id = $1 AND revoked_at IS NULL",
                &[&device_id, &now],
            )
            .await?;
            if refused != 1 {
                return Ok(None);
            }
            let last =
                query_opt(&tx, "SELECT last_seen, heartbeat FROM terminal_state WHERE device_id = $1", &[&device_id])
                    .await?;
            let (last_seen, heartbeat): (Option<i64>, Option<String>) = match last {
                Some(r) => (r.try_get(0)?, r.try_get(1)?),
                None => (None, None),
            };
            let outbox = heartbeat
                .as_deref()
                .and_then(|j| serde_json::from_str::<crate::api::Heartbeat>(j).ok())
                .map(|h| h.outbox);
            let record = Decommission {
                at: now,
                backlog_depth: outbox.map(|o| i64::from(o.depth)),
                backlog_oldest_age_s: outbox.map(|o| i64::try_from(o.oldest_age_s).unwrap_or(i64::MAX)),
                last_seen,
            };
            execute(
                &tx,
                "INSERT INTO decommissions(device_id, at, backlog_depth, backlog_oldest_age_s, last_seen)
                 VALUES ($1, $2, $3, $4, $5)",
                &[&device_id, &record.at, &record.backlog_depth, &record.backlog_oldest_age_s, &record.last_seen],
            )
            .await?;
            tx.commit().await?;
            Ok(Some(record))
        })
    }

    fn set_terminal_mode(&self, device_id: &str, mode: Option<&str>, since: i64) -> StoreResult<()> {
        let (device_id, mode) = (device_id.to_owned(), mode.map(str::to_owned));
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            execute(
                &c,
                "INSERT INTO terminal_state(device_id, sessions_total, failures_total, heartbeats_total, events_total, mode, mode_since)
                 VALUES ($1, 0, 0, 0, 0, $2, $3)
                 ON CONFLICT(device_id) DO UPDATE SET mode = $2, mode_since = $3",
                &[&device_id, &mode, &since],
            )
            .await?;
            Ok(())
        })
    }

    fn terminals(&self) -> StoreResult<Vec<TerminalRow>> {
        self.run(|pool| async move {
            let c = client(&pool).await?;
            rows(query(&c, &format!("{TERMINAL_SQL} ORDER BY d.device_id"), &[]).await?, terminal_from_row)
        })
    }

    fn terminal(&self, device_id: &str) -> StoreResult<Option<TerminalRow>> {
        let device_id = device_id.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let row = query_opt(&c, &format!("{TERMINAL_SQL} WHERE d.device_id = $1"), &[&device_id]).await?;
            Ok(row.map(|r| terminal_from_row(&r)).transpose()?)
        })
    }

    fn recent_events(&self, device_id: &str, limit_to: u32) -> StoreResult<Vec<EventRow>> {
        let device_id = device_id.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let found = query(
                &c,
                "SELECT at, kind, severity, detail FROM events WHERE device_id = $1
                 ORDER BY at DESC, received_at DESC LIMIT $2",
                &[&device_id, &limit(limit_to)],
            )
            .await?;
            rows(found, |r| {
                Ok(EventRow { at: r.try_get(0)?, kind: r.try_get(1)?, severity: r.try_get(2)?, detail: r.try_get(3)? })
            })
        })
    }

    fn hourly(&self, device_id: &str, from_hour: i64) -> StoreResult<Vec<HourBucket>> {
        let device_id = device_id.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let found = query(
                &c,
                "SELECT hour, sessions, failures, backlog_max FROM terminal_hourly
                 WHERE device_id = $1 AND hour >= $2 ORDER BY hour",
                &[&device_id, &from_hour],
            )
            .await?;
            rows(found, |r| {
                Ok(HourBucket {
                    hour: r.try_get(0)?,
                    sessions: r.try_get(1)?,
                    failures: r.try_get(2)?,
                    backlog_max: r.try_get(3)?,
                })
            })
        })
    }

    fn alerts(&self, limit_to: u32) -> StoreResult<Vec<AlertRow>> {
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let sql = format!(
                "SELECT {ALERT_COLS} FROM alerts
                 ORDER BY cleared_at IS NOT NULL, coalesce(cleared_at, opened_at) DESC LIMIT $1"
            );
            rows(query(&c, &sql, &[&limit(limit_to)]).await?, alert_from_row)
        })
    }

    fn open_alerts(&self) -> StoreResult<Vec<AlertRow>> {
        self.run(|pool| async move {
            let c = client(&pool).await?;
            let sql = format!("SELECT {ALERT_COLS} FROM alerts WHERE cleared_at IS NULL ORDER BY opened_at DESC");
            rows(query(&c, &sql, &[]).await?, alert_from_row)
        })
    }

    fn open_silence_alerts(&self, seen_before: i64, kind: &str, detail: &str, now: i64) -> StoreResult<Vec<String>> {
        let (kind, detail) = (kind.to_owned(), detail.to_owned());
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            // ON CONFLICT: another instance's sweep may open the same alert between the
            // NOT EXISTS and the insert; the partial unique index keeps it single.
            let opened = query(
                &c,
                "INSERT INTO alerts(device_id, kind, detail, opened_at)
                 SELECT d.device_id, $2, $3, $4 FROM devices d LEFT JOIN terminal_state t ON t.device_id = d.device_id
                 WHERE d.revoked_at IS NULL AND coalesce(t.last_seen, d.enrolled_at) < $1
                   AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.device_id = d.device_id AND a.kind = $2 AND a.cleared_at IS NULL)
                 ON CONFLICT DO NOTHING RETURNING device_id",
                &[&seen_before, &kind, &detail, &now],
            )
            .await?;
            rows(opened, |r| r.try_get(0))
        })
    }

    fn upsert_user(&self, username: &str, password_hash: &str, now: i64) -> StoreResult<()> {
        let (username, password_hash) = (username.to_owned(), password_hash.to_owned());
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            execute(
                &c,
                "INSERT INTO ops_users(username, password_hash, created_at) VALUES ($1, $2, $3)
                 ON CONFLICT(username) DO UPDATE SET password_hash = $2",
                &[&username, &password_hash, &now],
            )
            .await?;
            Ok(())
        })
    }

    fn user_password_hash(&self, username: &str) -> StoreResult<Option<String>> {
        let username = username.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let row = query_opt(&c, "SELECT password_hash FROM ops_users WHERE username = $1", &[&username]).await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn set_user_role(&self, username: &str, role: &str) -> StoreResult<bool> {
        let (username, role) = (username.to_owned(), role.to_owned());
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            Ok(execute(&c, "UPDATE ops_users SET role = $2 WHERE username = $1", &[&username, &role]).await? == 1)
        })
    }

    fn user_role(&self, username: &str) -> StoreResult<Option<String>> {
        let username = username.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let row = query_opt(&c, "SELECT role FROM ops_users WHERE username = $1", &[&username]).await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn assign_review(&self, reviewer: &str, now: i64) -> StoreResult<Option<ReviewItem>> {
        let reviewer = reviewer.to_owned();
        self.run(move |pool| async move { review::assign(&client(&pool).await?, &reviewer, now).await })
    }

    fn review_item(&self, tracking_number: &str) -> StoreResult<Option<ReviewItem>> {
        let tracking_number = tracking_number.to_owned();
        self.run(move |pool| async move { review::item(&client(&pool).await?, &tracking_number).await })
    }

    fn decide_review(&self, decision: &ReviewDecision) -> StoreResult<DecideOutcome> {
        let decision = decision.clone();
        self.run(move |pool| async move { review::decide(&mut client(&pool).await?, &decision).await })
    }

    fn review_counts(&self) -> StoreResult<(i64, i64)> {
        self.run(|pool| async move { review::counts(&client(&pool).await?).await })
    }

    fn insert_session(&self, token_hash: &str, username: &str, expires_at: i64) -> StoreResult<()> {
        let (token_hash, username) = (token_hash.to_owned(), username.to_owned());
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            execute(
                &c,
                "INSERT INTO ops_sessions(token_hash, username, expires_at) VALUES ($1, $2, $3)",
                &[&token_hash, &username, &expires_at],
            )
            .await?;
            Ok(())
        })
    }

    fn session_user(&self, token_hash: &str, now: i64) -> StoreResult<Option<String>> {
        let token_hash = token_hash.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let row = query_opt(
                &c,
                "SELECT username FROM ops_sessions WHERE token_hash = $1 AND expires_at > $2",
                &[&token_hash, &now],
            )
            .await?;
            Ok(row.map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn delete_session(&self, token_hash: &str) -> StoreResult<()> {
        let token_hash = token_hash.to_owned();
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            execute(&c, "DELETE FROM ops_sessions WHERE token_hash = $1", &[&token_hash]).await?;
            Ok(())
        })
    }

    fn insert_release(&self, release: &ReleaseRecord) -> StoreResult<bool> {
        let release = release.clone();
        self.run(move |pool| async move { releases::insert_release(&client(&pool).await?, &release).await })
    }

    fn release(&self, version: &str, architecture: &str) -> StoreResult<Option<ReleaseRecord>> {
        let (version, architecture) = (version.to_owned(), architecture.to_owned());
        self.run(move |pool| async move { releases::release(&client(&pool).await?, &version, &architecture).await })
    }

    fn release_by_sha256(&self, sha256: &str) -> StoreResult<Option<ReleaseRecord>> {
        let sha256 = sha256.to_owned();
        self.run(move |pool| async move { releases::release_by_sha256(&client(&pool).await?, &sha256).await })
    }

    fn start_rollout(
        &self,
        version: &str,
        architecture: &str,
        percent: Option<i64>,
        devices: Option<&[String]>,
        now: i64,
    ) -> StoreResult<i64> {
        let devices = devices.map(serde_json::to_string).transpose().map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let (version, architecture) = (version.to_owned(), architecture.to_owned());
        self.run(move |pool| async move {
            releases::start_rollout(&mut client(&pool).await?, &version, &architecture, percent, devices, now).await
        })
    }

    fn set_rollout_state(&self, id: i64, from: &str, to: &str, now: i64) -> StoreResult<bool> {
        let (from, to) = (from.to_owned(), to.to_owned());
        self.run(
            move |pool| async move { releases::set_rollout_state(&client(&pool).await?, id, &from, &to, now).await },
        )
    }

    fn widen_rollout(&self, id: i64, percent: i64, now: i64) -> StoreResult<bool> {
        self.run(move |pool| async move { releases::widen_rollout(&client(&pool).await?, id, percent, now).await })
    }

    fn rollout(&self, id: i64) -> StoreResult<Option<Rollout>> {
        self.run(move |pool| async move { releases::rollout_by_id(&client(&pool).await?, id).await })
    }

    fn rollouts(&self) -> StoreResult<Vec<Rollout>> {
        self.run(move |pool| async move { releases::rollouts(&client(&pool).await?).await })
    }

    fn active_rollout(&self, architecture: &str) -> StoreResult<Option<Rollout>> {
        let architecture = architecture.to_owned();
        self.run(move |pool| async move { releases::active_rollout(&client(&pool).await?, &architecture).await })
    }

    fn record_update_outcome(&self, outcome: &UpdateOutcome) -> StoreResult<()> {
        let outcome = outcome.clone();
        self.run(move |pool| async move { releases::record_outcome(&client(&pool).await?, &outcome).await })
    }

    fn update_outcome(&self, device_id: &str, version: &str) -> StoreResult<Option<UpdateOutcome>> {
        let (device_id, version) = (device_id.to_owned(), version.to_owned());
        self.run(move |pool| async move { releases::outcome(&client(&pool).await?, &device_id, &version).await })
    }

    fn update_outcomes(&self, version: &str) -> StoreResult<Vec<UpdateOutcome>> {
        let version = version.to_owned();
        self.run(move |pool| async move { releases::outcomes(&client(&pool).await?, &version).await })
    }

    fn record_registry_access(&self, access: &RegistryAccess) -> StoreResult<()> {
        let access = access.clone();
        self.run(move |pool| async move { insert_access(&client(&pool).await?, &access).await })
    }

    fn recent_registry_access(&self, limit_to: u32) -> StoreResult<Vec<RegistryAccess>> {
        self.run(move |pool| async move {
            let c = client(&pool).await?;
            let found = query(
                &c,
                "SELECT at, device_id, subject_masked, purpose, outcome FROM registry_access
                 ORDER BY at DESC, id DESC LIMIT $1",
                &[&limit(limit_to)],
            )
            .await?;
            rows(found, |r| {
                Ok(RegistryAccess {
                    at: r.try_get(0)?,
                    device_id: r.try_get(1)?,
                    subject_masked: r.try_get(2)?,
                    purpose: r.try_get(3)?,
                    outcome: r.try_get(4)?,
                })
            })
        })
    }

    fn enforce_retention(&self, cutoffs: &RetentionCutoffs) -> StoreResult<RetentionReport> {
        let cutoffs = *cutoffs;
        self.run(move |pool| async move { retention::enforce(&mut client(&pool).await?, &cutoffs).await })
    }
}

/// A heartbeat's rows and alerts, inside the caller's transaction.
async fn heartbeat_in(tx: &deadpool_postgres::Transaction<'_>, hb: &HeartbeatRecord) -> StoreResult<AlertChanges> {
    execute(
        tx,
        "INSERT INTO terminal_state(device_id, last_seen, heartbeat, sessions_total, failures_total, heartbeats_total, events_total)
         VALUES ($1, $2, $3, $4, $5, 1, 0)
         ON CONFLICT(device_id) DO UPDATE SET last_seen = $2, heartbeat = $3,
           sessions_total = terminal_state.sessions_total + $4, failures_total = terminal_state.failures_total + $5,
           heartbeats_total = terminal_state.heartbeats_total + 1,
           -- A heartbeat says it is on again.
           mode = CASE WHEN terminal_state.mode = 'powered_off' THEN NULL ELSE terminal_state.mode END",
        &[&hb.device_id, &hb.received_at, &hb.json, &hb.sessions, &hb.failures],
    )
    .await?;
    execute(
        tx,
        "INSERT INTO terminal_hourly(device_id, hour, sessions, failures, backlog_max) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT(device_id, hour) DO UPDATE SET sessions = terminal_hourly.sessions + $3,
           failures = terminal_hourly.failures + $4, backlog_max = greatest(terminal_hourly.backlog_max, $5)",
        &[&hb.device_id, &hb.received_at.div_euclid(3600), &hb.sessions, &hb.failures, &hb.backlog_depth],
    )
    .await?;
    let mut changes = AlertChanges::default();
    let clear: Vec<&str> =
        hb.alerts.iter().filter(|(_, detail)| detail.is_none()).map(|(kind, _)| kind.as_str()).collect();
    if !clear.is_empty() {
        // One statement for every kind this heartbeat clears: usually nothing is
        // open, and the partial index on open alerts answers that at once.
        let cleared = query(
            tx,
            "UPDATE alerts SET cleared_at = $3 WHERE device_id = $1 AND kind = ANY($2) AND cleared_at IS NULL
             RETURNING kind",
            &[&hb.device_id, &clear, &hb.received_at],
        )
        .await?;
        changes.cleared = rows(cleared, |r| r.try_get(0))?;
    }
    for (kind, detail) in &hb.alerts {
        if let Some(detail) = detail
            && open_alert_in(tx, &hb.device_id, kind, detail, hb.received_at).await?
        {
            changes.opened.push((kind.clone(), detail.clone()));
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_options_are_added_unless_the_url_sets_them() {
        let options = |url: &str| {
            let config = with_session_options(url.parse().unwrap());
            config.get_options().unwrap_or_default().to_owned()
        };
        assert_eq!(options("postgres://h/db"), "-c lock_timeout=5s -c statement_timeout=30s");
        assert_eq!(
            options("postgres://h/db?options=-c%20lock_timeout%3D1s"),
            "-c lock_timeout=1s -c statement_timeout=30s"
        );
    }

    #[test]
    fn passwords_are_masked_in_every_url_form() {
        for (url, shown) in [
            ("postgres://central:s3cret@db.example:5432/central", "postgres://central:***@db.example:5432/central"),
            ("postgresql://central@db/central", "postgresql://central@db/central"),
            (
                "postgres://db/central?password=s3cret&sslmode=disable",
                "postgres://db/central?password=***&sslmode=disable",
            ),
            ("postgres://u:p%40ss@h/db", "postgres://u:***@h/db"),
            ("postgres://h/db?user=u@x", "postgres://h/db?user=u@x"),
        ] {
            assert_eq!(mask_database_url(url), shown, "{url}");
        }
    }
}
