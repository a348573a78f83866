//! Versioned migrations: `schema_version` records each one applied, each is applied in
//! its own transaction, and a transaction-scoped advisory lock makes instances starting
//! together take turns (the second finds the work done).

use deadpool_postgres::{Client, GenericClient};

use super::{LOCK_MIGRATE, execute, query_one};
use crate::store::{StoreError, StoreResult};

/// Migrations in order; never edit one that has shipped, append a new one.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/postgres/0001_initial.sql"),
    include_str!("../../../migrations/postgres/0002_idempotency_owner.sql"),
    include_str!("../../../migrations/postgres/0003_fleet_ca.sql"),
    include_str!("../../../migrations/postgres/0004_back_office.sql"),
    include_str!("../../../migrations/postgres/0005_releases_rollouts.sql"),
];

const VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    applied_at BIGINT NOT NULL
)";

pub(super) async fn version<C: GenericClient>(c: &C) -> StoreResult<usize> {
    let exists: bool = query_one(c, "SELECT to_regclass('schema_version') IS NOT NULL", &[]).await?.try_get(0)?;
    if !exists {
        return Ok(0);
    }
    let v: i32 = query_one(c, "SELECT coalesce(max(version), 0) FROM schema_version", &[]).await?.try_get(0)?;
    Ok(usize::try_from(v).unwrap_or(0))
}

/// Applies the migrations of `migrations` the database lacks, one transaction each.
pub(super) async fn migrate(c: &mut Client, migrations: &[&str]) -> StoreResult<()> {
    loop {
        let tx = c.transaction().await?;
        // Another instance's migration may hold the lock for long, and a migration
        // rewriting a large table may run for long.
        tx.batch_execute(super::NO_TIMEOUTS).await?;
        execute(&tx, "SELECT pg_advisory_xact_lock($1, 0)", &[&LOCK_MIGRATE]).await?;
        tx.batch_execute(VERSION_TABLE).await?;
        let current: i32 =
            query_one(&tx, "SELECT coalesce(max(version), 0) FROM schema_version", &[]).await?.try_get(0)?;
        let current = usize::try_from(current).unwrap_or(0);
        let Some(sql) = migrations.get(current) else {
            tx.commit().await?;
            return Ok(());
        };
        let version = current + 1;
        tx.batch_execute(sql).await.map_err(|e| StoreError::Migration { version, detail: e.to_string() })?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        execute(
            &tx,
            "INSERT INTO schema_version(version, applied_at) VALUES ($1, $2)",
            &[&i32::try_from(version).unwrap_or(i32::MAX), &now],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version, "applied database migration (PostgreSQL)");
    }
}
