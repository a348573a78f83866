//! Fleet telemetry: heartbeat and event ingestion, alerts derived from them, the
//! offline sweeper and `GET /metrics` in Prometheus text format, behind a bearer token
//! (it lists every device) and rendered one scrape at a time.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use crate::api::{
    self, AuditRecord, CameraHealth, Heartbeat, PrinterHealth, ReaderHealth, TelemetryAck, TelemetryBatch,
};
use crate::http::{self, Shared};
use crate::pki::PeerIdentity;
use crate::service::ApiError;
use crate::state::{AppState, Counters};
use crate::store::{AlertChanges, HeartbeatRecord, TerminalRow};

/// Alert kinds (stable strings, shown on the dashboard and in metrics).
pub mod alert {
    pub const PAPER_OUT: &str = "paper_out";
    pub const PAPER_NEAR_END: &str = "paper_near_end";
    pub const DEVICE_FAULT: &str = "device_fault";
    pub const OUTBOX_BACKLOG: &str = "outbox_backlog";
    pub const TERMINAL_OFFLINE: &str = "terminal_offline";
    /// Audit records missing from a terminal's chain (`crate::audit`).
    pub const AUDIT_GAP: &str = "audit_gap";
    /// A terminal's audit history was rewritten.
    pub const AUDIT_FORK: &str = "audit_fork";
    /// A terminal's audit trail was wiped and restarted at 1.
    pub const AUDIT_RESET: &str = "audit_reset";
    /// The terminal set aside an outbox row it cannot decrypt (event `outbox.quarantined`).
    pub const OUTBOX_QUARANTINED: &str = "outbox_quarantined";
    /// The central service answered 401/403 to the terminal's deliveries; it keeps its
    /// submissions until re-enrolled (event `outbox.unauthorized`).
    pub const OUTBOX_UNAUTHORIZED: &str = "outbox_unauthorized";
    /// The terminal cannot write its outbox or audit trail (disk full?) and stopped
    /// taking submissions (event `storage.unwritable`).
    pub const STORAGE_UNWRITABLE: &str = "storage_unwritable";
    /// A submission outlived the idempotency window and is held for a technician
    /// instead of being re-sent (event `outbox.expired`).
    pub const OUTBOX_EXPIRED: &str = "outbox_expired";
    /// The terminal could not renew its client certificate; the detail names the expiry
    /// date (event `certificate.renewal_failed`, cleared by `certificate.renewed`).
    pub const CERTIFICATE_RENEWAL_FAILED: &str = "certificate_renewal_failed";
    /// A software update failed its self-test or never came back, and the terminal
    /// restored the previous version; the detail is "version: reason" (event
    /// `update.rolled_back`).
    pub const UPDATE_ROLLED_BACK: &str = "update_rolled_back";
    /// The terminal refused an offered package before installing anything (a bad
    /// signature, a tampered file); the detail is "version: reason" (event `update.refused`).
    pub const UPDATE_REFUSED: &str = "update_refused";
    pub const ALL: [&str; 15] = [
        PAPER_OUT,
        PAPER_NEAR_END,
        DEVICE_FAULT,
        OUTBOX_BACKLOG,
        TERMINAL_OFFLINE,
        AUDIT_GAP,
        AUDIT_FORK,
        AUDIT_RESET,
        OUTBOX_QUARANTINED,
        OUTBOX_UNAUTHORIZED,
        STORAGE_UNWRITABLE,
        OUTBOX_EXPIRED,
        CERTIFICATE_RENEWAL_FAILED,
        UPDATE_ROLLED_BACK,
        UPDATE_REFUSED,
    ];
}

/// Terminal events that open an alert: (event kind, alert kind, detail when the event
/// has none). The event's own detail is plain text without personal data.
const EVENT_ALERTS: [(&str, &str, &str); 5] = [
    ("outbox.quarantined", alert::OUTBOX_QUARANTINED, "an outbox row cannot be decrypted; set aside"),
    ("outbox.unauthorized", alert::OUTBOX_UNAUTHORIZED, "deliveries refused; submissions kept until re-enrollment"),
    ("storage.unwritable", alert::STORAGE_UNWRITABLE, "outbox or audit trail cannot be written"),
    ("outbox.expired", alert::OUTBOX_EXPIRED, "a submission outlived the idempotency window; held"),
    ("certificate.renewal_failed", alert::CERTIFICATE_RENEWAL_FAILED, "client certificate renewal failing"),
];

/// Terminal events that clear an alert: (event kind, alert kind).
const EVENT_CLEARS: [(&str, &str); 1] = [("certificate.renewed", alert::CERTIFICATE_RENEWAL_FAILED)];

/// Longest alert detail taken from a terminal's event.
const EVENT_DETAIL_MAX: usize = 200;

/// Opens or clears `kind` for `device_id` according to `active`.
fn set_alert(state: &AppState, device_id: &str, kind: &str, active: Option<String>, now: i64) -> Result<(), ApiError> {
    match active {
        Some(detail) => {
            if state.store.open_alert(device_id, kind, &detail, now)? {
                tracing::warn!(device_id, kind, detail, "alert opened");
            }
        }
        None => {
            if state.store.clear_alert(device_id, kind, now)? {
                tracing::info!(device_id, kind, "alert cleared");
            }
        }
    }
    Ok(())
}

/// Device faults a heartbeat reports, as a human-readable list.
pub fn faults(hb: &Heartbeat) -> Vec<&'static str> {
    let mut f = Vec::new();
    if hb.devices.reader == ReaderHealth::Error {
        f.push("card reader error");
    }
    match hb.devices.printer {
        PrinterHealth::CoverOpen => f.push("printer cover open"),
        PrinterHealth::CutterError => f.push("printer cutter error"),
        _ => {}
    }
    if hb.devices.camera == CameraHealth::Missing {
        f.push("camera missing");
    }
    f
}

/// What the store keeps of a heartbeat, with the alerts it opens or clears.
fn heartbeat_record(state: &AppState, device_id: &str, hb: &Heartbeat, now: i64) -> Result<HeartbeatRecord, ApiError> {
    let json = serde_json::to_string(hb).map_err(|e| ApiError::Internal(e.to_string()))?;
    let printer = hb.devices.printer;
    let f = faults(hb);
    let limit = state.config.backlog_alert_age.as_secs();
    let alerts = [
        (alert::PAPER_OUT, (printer == PrinterHealth::PaperOut).then(|| "printer is out of paper".to_owned())),
        (alert::PAPER_NEAR_END, (printer == PrinterHealth::NearEnd).then(|| "paper roll near its end".to_owned())),
        (alert::DEVICE_FAULT, (!f.is_empty()).then(|| f.join(", "))),
        (
            alert::OUTBOX_BACKLOG,
            (hb.outbox.oldest_age_s > limit).then(|| {
                format!("{} items waiting, oldest {} s (limit {limit} s)", hb.outbox.depth, hb.outbox.oldest_age_s)
            }),
        ),
        // A heartbeat is the end of silence.
        (alert::TERMINAL_OFFLINE, None),
    ];
    Ok(HeartbeatRecord {
        device_id: device_id.to_owned(),
        received_at: now,
        json,
        sessions: i64::from(hb.sessions),
        failures: i64::from(hb.failures),
        backlog_depth: i64::from(hb.outbox.depth),
        alerts: alerts.into_iter().map(|(kind, detail)| (kind.to_owned(), detail)).collect(),
    })
}

/// Counts a recorded heartbeat and logs the alerts it moved.
fn heartbeat_recorded(state: &AppState, device_id: &str, changes: &AlertChanges) {
    Counters::bump(&state.counters.heartbeats);
    for (kind, detail) in &changes.opened {
        tracing::warn!(device_id, kind, detail, "alert opened");
    }
    for kind in &changes.cleared {
        tracing::info!(device_id, kind, "alert cleared");
    }
}

fn apply_heartbeat(state: &AppState, device_id: &str, hb: &Heartbeat, now: i64) -> Result<(), ApiError> {
    let changes = state.store.record_heartbeat(&heartbeat_record(state, device_id, hb, now)?)?;
    heartbeat_recorded(state, device_id, &changes);
    Ok(())
}

/// The fleet's most frequent call, a batch that carries only a heartbeat, in one
/// transaction ([`crate::store::Store::record_heartbeat_once`]) instead of the general
/// path's three: what lets PostgreSQL keep up with a province's fleet
/// (`central/bench/run`). `None` when the batch carries more, is invalid, or its key is
/// already known: the general path ([`http::idempotent`]) answers those.
fn heartbeat_only(
    state: &AppState,
    device_id: &str,
    key: &str,
    hash: &str,
    batch: &TelemetryBatch,
) -> Option<Response> {
    let hb = batch.heartbeat.as_ref().filter(|_| batch.events.is_empty() && batch.audit.is_empty())?;
    batch.validate().ok()?;
    let now = OffsetDateTime::now_utc();
    let record = heartbeat_record(state, device_id, hb, now.unix_timestamp()).ok()?;
    let reply = http::json_reply(StatusCode::OK, &Ok::<_, ApiError>(ack(state, now, 0, 0)));
    match state.store.record_heartbeat_once(device_id, key, hash, &record, &reply) {
        Ok(Some(changes)) => {
            heartbeat_recorded(state, device_id, &changes);
            Some(http::stored_to_response(reply, false))
        }
        Ok(None) => None,
        Err(e) => Some(http::problem_response(&http::error_problem(&ApiError::Store(e)))),
    }
}

/// The answer to a telemetry batch.
fn ack(state: &AppState, now: OffsetDateTime, accepted_events: u32, accepted_audit: u32) -> TelemetryAck {
    TelemetryAck {
        accepted_events,
        accepted_audit,
        heartbeat_interval_s: u32::try_from(state.config.heartbeat_interval.as_secs()).unwrap_or(30),
        server_time: now.replace_nanosecond(0).unwrap_or(now),
    }
}

/// Stores audit records through the continuity check (`crate::audit`); the store opens
/// the alerts of any breaks in the same transaction. Returns how many were stored.
fn ingest_audit(state: &AppState, device_id: &str, records: &[AuditRecord], now: i64) -> Result<u32, ApiError> {
    let ingest = state.store.insert_audit(device_id, records, now)?;
    for b in &ingest.breaks {
        tracing::warn!(device_id, kind = b.alert_kind(), seq = b.seq(), last = b.last(), "audit chain broken: {b}");
    }
    for (kind, detail) in &ingest.alerts_opened {
        tracing::warn!(device_id, kind, detail, "alert opened");
    }
    if ingest.late > 0 {
        tracing::info!(device_id, late = ingest.late, "audit records below the chain head filled missing seqs");
    }
    Ok(ingest.stored)
}

fn ingest_batch(state: &AppState, device_id: &str, batch: &TelemetryBatch) -> Result<TelemetryAck, ApiError> {
    batch.validate()?;
    let now = OffsetDateTime::now_utc();
    let ts = now.unix_timestamp();
    if let Some(hb) = &batch.heartbeat {
        apply_heartbeat(state, device_id, hb, ts)?;
    }
    let accepted_events =
        if batch.events.is_empty() { 0 } else { state.store.insert_events(device_id, &batch.events, ts)? };
    state.counters.events.fetch_add(u64::from(accepted_events), Ordering::Relaxed);
    // Printer events open alerts at once instead of waiting for the next heartbeat.
    for e in &batch.events {
        match e.kind.as_str() {
            "printer.paper_out" => {
                set_alert(state, device_id, alert::PAPER_OUT, Some("printer is out of paper".into()), ts)?
            }
            "printer.near_end" => {
                set_alert(state, device_id, alert::PAPER_NEAR_END, Some("paper roll near its end".into()), ts)?
            }
            // What the terminal says about itself: the fleet view shows it at once.
            "maintenance.entered" => {
                state.store.set_terminal_mode(device_id, Some("maintenance"), e.at.unix_timestamp())?
            }
            "maintenance.left" => state.store.set_terminal_mode(device_id, None, e.at.unix_timestamp())?,
            "terminal.powered_off" => {
                state.store.set_terminal_mode(device_id, Some("powered_off"), e.at.unix_timestamp())?
            }
            api::update_event::STARTED
            | api::update_event::INSTALLED
            | api::update_event::ROLLED_BACK
            | api::update_event::REFUSED => {
                crate::release::apply_update_event(state, device_id, e, ts)?;
            }
            kind => {
                if let Some((_, alert_kind, default)) = EVENT_ALERTS.iter().find(|(k, ..)| *k == kind) {
                    let detail = e.detail.as_deref().unwrap_or(default);
                    set_alert(state, device_id, alert_kind, Some(crate::audit::truncate(detail, EVENT_DETAIL_MAX)), ts)?
                }
                if let Some((_, alert_kind)) = EVENT_CLEARS.iter().find(|(k, _)| *k == kind) {
                    set_alert(state, device_id, alert_kind, None, ts)?
                }
            }
        }
    }
    let accepted_audit = if batch.audit.is_empty() { 0 } else { ingest_audit(state, device_id, &batch.audit, ts)? };
    state.counters.audit_records.fetch_add(u64::from(accepted_audit), Ordering::Relaxed);
    Ok(ack(state, now, accepted_events, accepted_audit))
}

/// `POST /v1/telemetry`
pub async fn ingest(
    State(state): State<Shared>,
    peer: Option<axum::Extension<PeerIdentity>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let device_id = match http::require_device_async(&state, &peer.map(|p| p.0).unwrap_or_default()).await {
        Ok(d) => d.device_id,
        Err(r) => return r,
    };
    let key = match http::idempotency_key(&headers) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let (batch, raw) = match http::json_body::<TelemetryBatch>(&headers, body, 1024 * 1024).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let hash = http::request_hash(&Method::POST, api::paths::TELEMETRY, &raw);
    // SQLite calls block; keep them off the async worker threads.
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        if let Some(reply) = heartbeat_only(&state, &device_id, &key, &hash, &batch) {
            return reply;
        }
        http::idempotent(&state, &device_id, &key, &hash, || {
            http::json_reply(StatusCode::OK, &ingest_batch(&state, &device_id, &batch)).into()
        })
    })
    .await
    .unwrap_or_else(|e| http::problem_response(&http::error_problem(&ApiError::Internal(e.to_string()))))
}

/// One sweep: terminals silent for `offline_after` get an offline alert; old
/// idempotency records are purged.
pub fn sweep(state: &AppState, purge: bool) -> Result<(), ApiError> {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let silent_for = i64::try_from(state.config.offline_after().as_secs()).unwrap_or(90);
    let detail = format!("no heartbeat for more than {silent_for} s");
    let opened = state.store.open_silence_alerts(now - silent_for, alert::TERMINAL_OFFLINE, &detail, now)?;
    // One line per terminal while a few go quiet; a count (and the first few) when a
    // whole district's network drops, so the log stays readable.
    const NAMED: usize = 20;
    if opened.len() <= NAMED {
        for device_id in &opened {
            tracing::warn!(device_id, kind = alert::TERMINAL_OFFLINE, detail, "alert opened");
        }
    } else {
        tracing::warn!(
            count = opened.len(),
            first = ?&opened[..NAMED],
            kind = alert::TERMINAL_OFFLINE,
            detail,
            "alerts opened"
        );
    }
    if purge {
        let keep = i64::try_from(state.config.idempotency_retention.as_secs()).unwrap_or(i64::MAX / 2);
        let n = state.store.idempotency_purge(now - keep)?;
        if n > 0 {
            tracing::info!(purged = n, "expired idempotency records removed");
        }
    }
    Ok(())
}

/// Fleet status of a terminal as the dashboard and metrics show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalStatus {
    /// Heartbeats on time, every service available.
    Serving,
    /// Heartbeats on time, but something stops a service: a device fault, no paper, a
    /// disk it cannot write, or this service refusing it.
    Degraded,
    /// A technician is at it (the maintenance screen is open).
    Maintenance,
    /// It said so on a clean shutdown; shown at once, until its next heartbeat.
    PoweredOff,
    /// Installing a software update (between its `update.started` event and the
    /// update's outcome); shown at once, and while it lasts a silent terminal is not
    /// offline: it is restarting into the new version.
    Updating,
    /// Missed heartbeats with no word.
    Offline,
    NeverSeen,
    Revoked,
    /// Retired by operations (`central device decommission`, or the dashboard).
    Decommissioned,
}

impl TerminalStatus {
    pub const ALL: [Self; 9] = [
        Self::Serving,
        Self::Degraded,
        Self::Maintenance,
        Self::PoweredOff,
        Self::Updating,
        Self::Offline,
        Self::NeverSeen,
        Self::Revoked,
        Self::Decommissioned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Serving => "serving",
            Self::Degraded => "degraded",
            Self::Maintenance => "maintenance",
            Self::PoweredOff => "powered_off",
            Self::Updating => "updating",
            Self::Offline => "offline",
            Self::NeverSeen => "never_seen",
            Self::Revoked => "revoked",
            Self::Decommissioned => "decommissioned",
        }
    }
}

/// Open alerts that mean a service cannot be offered at the terminal.
const DEGRADING: [&str; 4] =
    [alert::DEVICE_FAULT, alert::PAPER_OUT, alert::STORAGE_UNWRITABLE, alert::OUTBOX_UNAUTHORIZED];

/// Why a terminal is degraded and since when: the degrading alerts among `open` (its
/// own), their details joined, and the earliest opening.
pub fn degraded_by(open: &[&crate::store::AlertRow]) -> Option<(String, i64)> {
    let why: Vec<_> = open.iter().filter(|a| a.cleared_at.is_none() && DEGRADING.contains(&a.kind.as_str())).collect();
    let since = why.iter().map(|a| a.opened_at).min()?;
    Some((why.iter().map(|a| a.detail.as_str()).collect::<Vec<_>>().join("; "), since))
}

/// The status of `t` given its open alerts, by precedence: what the terminal said
/// (revoked aside) beats silence, and silence beats the last heartbeat's faults.
pub fn status_of(state: &AppState, t: &TerminalRow, open: &[&crate::store::AlertRow], now: i64) -> TerminalStatus {
    let offline_after = i64::try_from(state.config.offline_after().as_secs()).unwrap_or(90);
    if t.decommissioned.is_some() {
        return TerminalStatus::Decommissioned;
    }
    if t.device.revoked_at.is_some() {
        return TerminalStatus::Revoked;
    }
    if t.mode.as_deref() == Some("powered_off") {
        return TerminalStatus::PoweredOff;
    }
    if t.mode.as_deref() == Some(crate::release::MODE_UPDATING) {
        let quiet_since = t.last_seen.max(t.mode_since).unwrap_or(now);
        return updating_or_offline(now - quiet_since, offline_after);
    }
    let Some(seen) = t.last_seen else { return TerminalStatus::NeverSeen };
    if now - seen > offline_after {
        TerminalStatus::Offline
    } else if t.mode.as_deref() == Some("maintenance") {
        TerminalStatus::Maintenance
    } else if degraded_by(open).is_some() {
        TerminalStatus::Degraded
    } else {
        TerminalStatus::Serving
    }
}

/// The longest an update keeps a terminal quiet: restarts, and the installer's wait
/// for the new version's self-test (`health_deadline_s`, an hour at most).
pub const UPDATE_QUIET_MAX_S: i64 = 65 * 60;

/// A terminal that said it is updating is shown updating while quiet, but not for ever:
/// silence past any update's length is a terminal that died mid-update.
pub fn updating_or_offline(quiet_s: i64, offline_after_s: i64) -> TerminalStatus {
    if quiet_s > offline_after_s.max(UPDATE_QUIET_MAX_S) { TerminalStatus::Offline } else { TerminalStatus::Updating }
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Renders every metric in Prometheus text exposition format 0.0.4.
pub fn render_metrics(state: &AppState) -> Result<String, ApiError> {
    Counters::bump(&state.counters.metrics_renders);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let terminals = state.store.terminals()?;
    let open = state.store.open_alerts()?;
    let mut out = String::with_capacity(1024 + terminals.len() * 800);
    let mut by_status = std::collections::BTreeMap::new();
    let mut rows = Vec::new();
    for t in &terminals {
        let mine: Vec<_> = open.iter().filter(|a| a.device_id == t.device.device_id).collect();
        let status = status_of(state, t, &mine, now);
        *by_status.entry(status.as_str()).or_insert(0u64) += 1;
        rows.push((t, status));
    }
    let _ = writeln!(
        out,
        "# HELP central_fleet_terminals Enrolled terminals by status.\n# TYPE central_fleet_terminals gauge"
    );
    for s in TerminalStatus::ALL.map(TerminalStatus::as_str) {
        let _ = writeln!(out, "central_fleet_terminals{{status=\"{s}\"}} {}", by_status.get(s).copied().unwrap_or(0));
    }
    let _ = writeln!(out, "# HELP central_alerts_open Open alerts by kind.\n# TYPE central_alerts_open gauge");
    for kind in alert::ALL {
        let _ =
            writeln!(out, "central_alerts_open{{kind=\"{kind}\"}} {}", open.iter().filter(|a| a.kind == kind).count());
    }
    let _ = writeln!(
        out,
        "# HELP central_connections_open Client connections open now.\n# TYPE central_connections_open gauge\n\
         central_connections_open {}\n\
         # HELP central_connections_max Most client connections held open at once.\n# TYPE central_connections_max gauge\n\
         central_connections_max {}",
        state.connections.open_count(),
        state.connections.cap()
    );
    let c = &state.counters;
    let counters: [(&str, &str, u64); 15] = [
        ("central_heartbeats_total", "Heartbeats received.", c.heartbeats.load(Ordering::Relaxed)),
        ("central_events_total", "Telemetry events stored.", c.events.load(Ordering::Relaxed)),
        ("central_audit_records_total", "Audit records stored.", c.audit_records.load(Ordering::Relaxed)),
        ("central_certificates_issued_total", "Certificates issued.", c.certificates.load(Ordering::Relaxed)),
        ("central_registrations_total", "Registrations and check-ins.", c.registrations.load(Ordering::Relaxed)),
        ("central_ratings_total", "Ratings received.", c.ratings.load(Ordering::Relaxed)),
        ("central_enrollments_total", "Device certificates issued.", c.enrollments.load(Ordering::Relaxed)),
        (
            "central_idempotent_replays_total",
            "Responses replayed for a repeated Idempotency-Key.",
            c.idempotent_replays.load(Ordering::Relaxed),
        ),
        (
            "central_problem_responses_total",
            "State-changing calls answered with a problem.",
            c.problems.load(Ordering::Relaxed),
        ),
        (
            "central_qualification_checks_approved_total",
            "Qualification checks approved.",
            c.qualification_approved.load(Ordering::Relaxed),
        ),
        (
            "central_connections_evicted_total",
            "Idle connections closed to admit new ones at the connection cap.",
            state.connections.evicted_total(),
        ),
        (
            "central_ops_logins_throttled_total",
            "Ops logins refused with 429 (per address, per user, or the Argon2 queue full).",
            c.logins_throttled.load(Ordering::Relaxed),
        ),
        (
            "central_registry_lookups_throttled_total",
            "Registry lookups refused with 429 for a terminal over its rate.",
            c.lookups_throttled.load(Ordering::Relaxed),
        ),
        (
            "central_enrollments_throttled_total",
            "Anonymous enrollments refused with 429 for an address over its rate.",
            c.enrollments_throttled.load(Ordering::Relaxed),
        ),
        (
            "central_metrics_renders_total",
            "Times these metrics were rendered.",
            c.metrics_renders.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, v) in counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
    }
    let _ = writeln!(
        out,
        "# HELP central_qualification_checks_total Qualification checks by outcome.\n# TYPE central_qualification_checks_total counter"
    );
    for (o, v) in [
        ("approved", &c.qualification_approved),
        ("rejected", &c.qualification_rejected),
        ("pending_review", &c.qualification_pending),
    ] {
        let _ = writeln!(out, "central_qualification_checks_total{{outcome=\"{o}\"}} {}", v.load(Ordering::Relaxed));
    }
    type Gauge = fn(&Heartbeat) -> f64;
    let gauges: [(&str, &str, Gauge); 6] = [
        ("central_terminal_outbox_depth", "Unsent outbox items.", |h| f64::from(h.outbox.depth)),
        ("central_terminal_outbox_oldest_age_seconds", "Age of the oldest unsent item.", |h| {
            h.outbox.oldest_age_s as f64
        }),
        ("central_terminal_uptime_seconds", "Terminal uptime.", |h| h.uptime_s as f64),
        ("central_terminal_disk_free_bytes", "Free disk space.", |h| h.disk_free_bytes as f64),
        ("central_terminal_clock_offset_seconds", "Terminal clock minus server clock.", |h| {
            h.clock_offset_ms as f64 / 1000.0
        }),
        ("central_terminal_printer_ok", "1 when the printer reports ok.", |h| {
            f64::from(u8::from(h.devices.printer == PrinterHealth::Ok))
        }),
    ];
    let parsed: Vec<Option<Heartbeat>> =
        rows.iter().map(|(t, _)| t.heartbeat_json.as_deref().and_then(|j| serde_json::from_str(j).ok())).collect();
    let _ = writeln!(
        out,
        "# HELP central_terminal_up 1 when the terminal sent a heartbeat within the offline window.\n# TYPE central_terminal_up gauge"
    );
    for (t, s) in &rows {
        let up = matches!(s, TerminalStatus::Serving | TerminalStatus::Degraded | TerminalStatus::Maintenance);
        let _ = writeln!(out, "central_terminal_up{{device_id=\"{}\"}} {}", label(&t.device.device_id), u8::from(up));
    }
    let _ = writeln!(
        out,
        "# HELP central_terminal_status The terminal's status, as on the dashboard (1 for its one status).\n# TYPE central_terminal_status gauge"
    );
    for (t, s) in &rows {
        let _ = writeln!(
            out,
            "central_terminal_status{{device_id=\"{}\",status=\"{}\"}} 1",
            label(&t.device.device_id),
            s.as_str()
        );
    }
    let _ = writeln!(
        out,
        "# HELP central_terminal_last_heartbeat_timestamp_seconds Unix time of the last heartbeat.\n# TYPE central_terminal_last_heartbeat_timestamp_seconds gauge"
    );
    for (t, _) in &rows {
        if let Some(seen) = t.last_seen {
            let _ = writeln!(
                out,
                "central_terminal_last_heartbeat_timestamp_seconds{{device_id=\"{}\"}} {seen}",
                label(&t.device.device_id)
            );
        }
    }
    for (name, help, f) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for ((t, _), hb) in rows.iter().zip(&parsed) {
            if let Some(hb) = hb {
                let _ = writeln!(out, "{name}{{device_id=\"{}\"}} {}", label(&t.device.device_id), f(hb));
            }
        }
    }
    type Count = fn(&TerminalRow) -> i64;
    let per_terminal: [(&str, &str, Count); 4] = [
        ("central_terminal_sessions_total", "Sessions reported by the terminal.", |t: &TerminalRow| t.sessions_total),
        ("central_terminal_session_failures_total", "Failed sessions reported by the terminal.", |t: &TerminalRow| {
            t.failures_total
        }),
        ("central_terminal_heartbeats_total", "Heartbeats received from the terminal.", |t: &TerminalRow| {
            t.heartbeats_total
        }),
        ("central_terminal_events_total", "Events received from the terminal.", |t: &TerminalRow| t.events_total),
    ];
    for (name, help, f) in per_terminal {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (t, _) in &rows {
            let _ = writeln!(out, "{name}{{device_id=\"{}\"}} {}", label(&t.device.device_id), f(t));
        }
    }
    Ok(with_instance_label(&out, &state.instance))
}

/// Adds `instance="<name>"` to every sample line of `text` (comments stay as they are),
/// so series scraped from several instances behind one address stay apart. Done once
/// here rather than in each `writeln!` above, so no series can miss it.
pub fn with_instance_label(text: &str, instance: &str) -> String {
    let instance = label(instance);
    let mut out = String::with_capacity(text.len() + text.lines().count() * (instance.len() + 14));
    for line in text.lines() {
        if line.starts_with('#') || line.is_empty() {
            out.push_str(line);
        } else if let Some((name, rest)) = line.split_once('{') {
            let _ = write!(out, "{name}{{instance=\"{instance}\",{rest}");
        } else if let Some((name, value)) = line.split_once(' ') {
            let _ = write!(out, "{name}{{instance=\"{instance}\"}} {value}");
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The file in the data directory holding the bearer token of `GET /metrics`.
pub const METRICS_TOKEN_FILE: &str = "metrics.token";

/// The bearer token of `GET /metrics` (created, mode 0600, at first start).
pub fn metrics_token(data_dir: &Path) -> std::io::Result<String> {
    crate::state::load_or_create_key(&data_dir.join(METRICS_TOKEN_FILE)).map(hex::encode)
}

/// SHA-256 of a token. Tokens are compared by their hashes, so the time a comparison
/// takes says nothing about how much of a guessed token was right.
pub fn token_hash(token: &str) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(token.as_bytes()).into()
}

/// The latest rendering of the metrics and when it began. Renders happen one at a time:
/// a scrape that arrives during one waits, and shares the next with every scrape that
/// arrived before that next one began, so a burst of scrapes costs at most two renders.
#[derive(Debug, Default)]
pub struct MetricsCache {
    latest: tokio::sync::Mutex<Option<(Instant, Arc<String>)>>,
}

/// `GET /metrics` with `Authorization: Bearer <token>`
pub async fn metrics(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if presented.is_none_or(|t| token_hash(t) != state.metrics_token_hash) {
        let mut resp = http::problem_response(
            &api::ProblemType::BearerTokenRequired
                .problem("metrics need Authorization: Bearer <token>; `central metrics-token` prints the token"),
        );
        resp.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static(r#"Bearer realm="central metrics""#),
        );
        return resp;
    }
    let asked = Instant::now();
    let mut latest = state.metrics.latest.lock().await;
    let text = match &*latest {
        Some((began, text)) if *began >= asked => text.clone(),
        _ => {
            let began = Instant::now();
            let st = state.clone();
            match tokio::task::spawn_blocking(move || render_metrics(&st)).await {
                Ok(Ok(text)) => {
                    let text = Arc::new(text);
                    *latest = Some((began, text.clone()));
                    text
                }
                Ok(Err(e)) => return http::problem_response(&http::error_problem(&e)),
                Err(e) => return http::problem_response(&http::error_problem(&ApiError::Internal(e.to_string()))),
            }
        }
    };
    drop(latest);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text.as_str().to_owned()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_updating_terminal_silent_past_any_update_is_offline() {
        assert_eq!(updating_or_offline(0, 90), TerminalStatus::Updating);
        assert_eq!(updating_or_offline(UPDATE_QUIET_MAX_S, 90), TerminalStatus::Updating);
        assert_eq!(updating_or_offline(UPDATE_QUIET_MAX_S + 1, 90), TerminalStatus::Offline);
        // A fleet configured to wait longer than an update for its terminals waits that long.
        assert_eq!(updating_or_offline(UPDATE_QUIET_MAX_S + 1, 2 * 3600), TerminalStatus::Updating);
    }
}
