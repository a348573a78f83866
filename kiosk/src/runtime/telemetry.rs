//! What operations staff see of this terminal: a heartbeat and events through the
//! outbox (so they survive outages), audit batches, and a local Prometheus `/metrics`.

use crate::audit::AuditLog;
use crate::outbox::ItemKind;
use crate::outbox::sender::{OutboxHandle, now_ms};
use contract as api;
use session::{AuditRecord, Delivery, Device, Devices, Failure, Health, Problem};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Counters and gauges of this terminal.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    pub sessions_started: AtomicU64,
    pub submissions_submitted: AtomicU64,
    pub submissions_queued: AtomicU64,
    pub submissions_failed: AtomicU64,
    pub prints_failed: AtomicU64,
    pub audit_records: AtomicU64,
    devices: Mutex<Devices>,
    /// Terminal clock minus the central service's, from the last telemetry answer
    /// (whole seconds: the server's clock is sent to the second).
    pub clock_offset_ms: AtomicI64,
    /// Where the outbox and audit trail live: the disk whose free space is reported.
    data_dir: Option<PathBuf>,
    config_hash: Mutex<Option<String>>,
    /// The start screen has been shown since this process started (the update
    /// self-test waits for it).
    pub home_shown: std::sync::atomic::AtomicBool,
    /// Central accepted a heartbeat of this process.
    pub heartbeat_accepted: std::sync::atomic::AtomicBool,
    /// A citizen session or the maintenance screen is open: no update installs now.
    pub busy: std::sync::atomic::AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            sessions_started: AtomicU64::new(0),
            submissions_submitted: AtomicU64::new(0),
            submissions_queued: AtomicU64::new(0),
            submissions_failed: AtomicU64::new(0),
            prints_failed: AtomicU64::new(0),
            audit_records: AtomicU64::new(0),
            devices: Mutex::new(Devices::default()),
            clock_offset_ms: AtomicI64::new(0),
            data_dir: None,
            config_hash: Mutex::new(None),
            home_shown: Default::default(),
            heartbeat_accepted: Default::default(),
            busy: Default::default(),
        }
    }
}

impl Metrics {
    /// Metrics that report the free space of the disk holding `data_dir`.
    pub fn for_data_dir(data_dir: PathBuf) -> Self {
        Self { data_dir: Some(data_dir), ..Self::default() }
    }

    /// Bytes an unprivileged writer can still use on the data disk (0 when unknown).
    pub fn disk_free_bytes(&self) -> u64 {
        let Some(dir) = &self.data_dir else { return 0 };
        match crate::outbox::disk_free_bytes(dir) {
            Ok(free) => free,
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "free disk space unknown");
                0
            }
        }
    }

    /// Records the offset measured from a telemetry answer received at `local`.
    pub fn clock_measured(&self, server: time::OffsetDateTime, local: time::OffsetDateTime) {
        let offset = (local - server).whole_milliseconds();
        self.clock_offset_ms.store(i64::try_from(offset).unwrap_or(i64::MAX), Relaxed);
    }

    pub fn set_health(&self, device: Device, health: Health) {
        self.devices.lock().unwrap_or_else(std::sync::PoisonError::into_inner).set(device, health);
    }

    pub fn devices(&self) -> Devices {
        self.devices.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    pub fn audit(&self, record: &AuditRecord) {
        self.audit_records.fetch_add(1, Relaxed);
        match record {
            AuditRecord::SessionStarted { .. } => {
                self.sessions_started.fetch_add(1, Relaxed);
            }
            AuditRecord::PrintResult { ok: false, .. } => {
                self.prints_failed.fetch_add(1, Relaxed);
            }
            _ => {}
        }
    }

    pub fn submission(&self, result: &Result<Delivery, Failure>) {
        let counter = match result {
            Ok(Delivery::Submitted { .. }) => &self.submissions_submitted,
            Ok(Delivery::Queued { .. }) => &self.submissions_queued,
            Err(_) => &self.submissions_failed,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// Prometheus text format (base units, `_total` for counters).
    pub fn render(&self, outbox: &OutboxHandle) -> String {
        let mut out = String::new();
        let mut line = |help: &str, kind: &str, name: &str, samples: &[(&str, u64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, v) in samples {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        line(
            "Seconds since the runtime started.",
            "gauge",
            "kiosk_uptime_seconds",
            &[("", self.started.elapsed().as_secs())],
        );
        line(
            "Citizen sessions started.",
            "counter",
            "kiosk_sessions_started_total",
            &[("", self.sessions_started.load(Relaxed))],
        );
        line(
            "Submissions by what the receipt said.",
            "counter",
            "kiosk_submissions_total",
            &[
                ("{result=\"submitted\"}", self.submissions_submitted.load(Relaxed)),
                ("{result=\"queued\"}", self.submissions_queued.load(Relaxed)),
                ("{result=\"failed\"}", self.submissions_failed.load(Relaxed)),
            ],
        );
        line(
            "Print jobs that failed.",
            "counter",
            "kiosk_print_failures_total",
            &[("", self.prints_failed.load(Relaxed))],
        );
        line(
            "Audit records written.",
            "counter",
            "kiosk_audit_records_total",
            &[("", self.audit_records.load(Relaxed))],
        );
        let d = self.devices();
        let up = |h: &Health| u64::from(!matches!(h, Health::Problem(p) if p.disables()));
        line(
            "1 when the device can be used.",
            "gauge",
            "kiosk_device_up",
            &[
                ("{device=\"reader\"}", up(&d.reader)),
                ("{device=\"camera\"}", up(&d.camera)),
                ("{device=\"printer\"}", up(&d.printer)),
            ],
        );
        if let Ok(s) = outbox.lock().stats() {
            let age = s.oldest_created_ms.map_or(0, |t| ((now_ms() - t).max(0) / 1000) as u64);
            line("Unsent outbox items.", "gauge", "kiosk_outbox_depth", &[("", s.depth)]);
            line("Age of the oldest unsent item.", "gauge", "kiosk_outbox_oldest_age_seconds", &[("", age)]);
            line("Bytes used by unsent items.", "gauge", "kiosk_outbox_bytes", &[("", s.bytes)]);
            line(
                "1 when the outbox is over its disk alarm threshold.",
                "gauge",
                "kiosk_outbox_alarm",
                &[("", u64::from(s.alarm))],
            );
            line(
                "Items the central service accepted.",
                "counter",
                "kiosk_outbox_delivered_total",
                &[("", s.delivered_total)],
            );
        }
        out
    }

    pub(crate) fn heartbeat(&self, outbox: &OutboxHandle, sessions: u32, failures: u32) -> api::Heartbeat {
        let d = self.devices();
        let stats = outbox.lock().stats().unwrap_or_default();
        api::Heartbeat {
            sent_at: now_utc(),
            software_version: crate::update::running_version().into(),
            uptime_s: self.started.elapsed().as_secs(),
            devices: api::DeviceHealth {
                reader: if matches!(d.reader, Health::Ok) { api::ReaderHealth::Ok } else { api::ReaderHealth::Error },
                printer: match &d.printer {
                    Health::Ok => api::PrinterHealth::Ok,
                    Health::Problem(Problem::PaperNearEnd) => api::PrinterHealth::NearEnd,
                    Health::Problem(Problem::PaperOut) => api::PrinterHealth::PaperOut,
                    Health::Problem(Problem::CoverOpen) => api::PrinterHealth::CoverOpen,
                    Health::Problem(_) => api::PrinterHealth::CutterError,
                },
                camera: if matches!(d.camera, Health::Ok) { api::CameraHealth::Ok } else { api::CameraHealth::Missing },
            },
            outbox: api::OutboxState {
                depth: stats.depth as u32,
                oldest_age_s: stats.oldest_created_ms.map_or(0, |t| ((now_ms() - t).max(0) / 1000) as u64),
            },
            sessions,
            failures,
            disk_free_bytes: self.disk_free_bytes(),
            clock_offset_ms: self.clock_offset_ms.load(Relaxed),
            config_hash: self.config_hash.lock().map(|h| h.clone()).unwrap_or_default(),
        }
    }

    /// The hash of the effective configuration the heartbeat reports.
    pub fn set_config_hash(&self, hash: String) {
        if let Ok(mut h) = self.config_hash.lock() {
            *h = Some(hash);
        }
    }
}

fn now_utc() -> time::OffsetDateTime {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

/// Device faults and recoveries, and technicians at the terminal, become telemetry
/// events right away: operations see an alert, or who is working on which terminal.
pub fn event_for(record: &AuditRecord, outbox: &OutboxHandle) {
    let (kind, severity) = match record {
        AuditRecord::DeviceFault { device, problem } => {
            let (_, _, outcome) = crate::audit::describe(record);
            let device = device.code();
            match problem {
                None => (format!("{device}.ok"), api::Severity::Info),
                Some(Problem::PaperNearEnd) => (format!("{device}.near_end"), api::Severity::Warning),
                Some(_) => (format!("{device}.{outcome}"), api::Severity::Error),
            }
        }
        AuditRecord::MaintenanceEntered => ("maintenance.entered".to_owned(), api::Severity::Info),
        AuditRecord::MaintenanceLeft { .. } => ("maintenance.left".to_owned(), api::Severity::Info),
        // The configuration changed on site: operations see why the terminal restarts
        // and why its configuration hash differs from its peers'.
        AuditRecord::DevicePortsChanged { .. } => {
            ("maintenance.device_ports_changed".to_owned(), api::Severity::Warning)
        }
        // Someone is guessing the technician PIN.
        AuditRecord::MaintenancePinRefused { locked_out: true } => {
            ("maintenance.pin_locked_out".to_owned(), api::Severity::Warning)
        }
        _ => return,
    };
    let batch = api::TelemetryBatch {
        heartbeat: None,
        events: vec![api::TelemetryEvent {
            id: uuid::Uuid::new_v4().to_string(),
            at: now_utc(),
            kind,
            severity,
            detail: None,
        }],
        audit: vec![],
    };
    enqueue(outbox, ItemKind::Telemetry, &batch);
}

/// The spoken guidance stopped for this run (no sound card, no espeak-ng): one warning
/// event, so operations can fix the terminal's audio. The detail is espeak-ng's or the
/// system's message, never the words being said.
pub fn voice_failed(outbox: &OutboxHandle, error: &crate::voice::VoiceError) {
    let batch = api::TelemetryBatch {
        heartbeat: None,
        events: vec![crate::outbox::event(
            "voice.unavailable",
            api::Severity::Warning,
            Some(error.to_string()),
            now_ms(),
        )],
        audit: vec![],
    };
    enqueue(outbox, ItemKind::Telemetry, &batch);
}

fn enqueue(outbox: &OutboxHandle, kind: ItemKind, batch: &api::TelemetryBatch) -> Option<String> {
    let body = serde_json::to_vec(batch).unwrap_or_default();
    match outbox.lock().enqueue(kind, api::paths::TELEMETRY, &body, now_ms()) {
        Ok(key) => {
            outbox.wake.notify_one();
            Some(key)
        }
        Err(e) => {
            tracing::warn!(error = %e, "telemetry not stored");
            None
        }
    }
}

/// The file in the data directory that says central accepted a heartbeat of this
/// process (written once per start, after central's answer: `kiosk-provision install`
/// waits for it to know operations can see the terminal).
pub const HEARTBEAT_ACCEPTED_FILE: &str = "heartbeat-accepted.json";

/// What [`HEARTBEAT_ACCEPTED_FILE`] holds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HeartbeatAccepted {
    /// Central's clock when it answered (RFC 3339).
    pub server_time: String,
    /// This process, so a marker left by an earlier run is not taken for this one's.
    pub pid: u32,
}

/// Writes the marker atomically (a reader never sees half of it).
fn record_heartbeat_accepted(dir: &std::path::Path, server_time: time::OffsetDateTime) -> std::io::Result<()> {
    let marker = HeartbeatAccepted {
        server_time: server_time.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        pid: std::process::id(),
    };
    let tmp = dir.join(format!("{HEARTBEAT_ACCEPTED_FILE}.tmp"));
    std::fs::write(&tmp, serde_json::to_vec(&marker).unwrap_or_default())?;
    std::fs::rename(&tmp, dir.join(HEARTBEAT_ACCEPTED_FILE))
}

/// Heartbeat every `every`, and audit records shipped in batches, until stopped.
/// When the outbox cannot take the heartbeat (a full disk), it goes to the central
/// service directly, with a `storage.unwritable` event: the one alert that cannot
/// wait in the outbox.
pub async fn run(
    metrics: Arc<Metrics>,
    outbox: OutboxHandle,
    audit: Arc<Mutex<AuditLog>>,
    central: crate::central_api::CentralClient,
    every: Duration,
) {
    let mut tick = tokio::time::interval(every);
    let (mut last_sessions, mut last_failures) = (0u64, 0u64);
    let mut answers = outbox.settled.subscribe();
    // Heartbeats waiting for central's answer, until the first is accepted.
    let mut heartbeats: Option<std::collections::HashSet<String>> = Some(Default::default());
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            answer = answers.recv() => {
                if let Ok(crate::outbox::sender::Settled {
                    attempt: crate::outbox::sender::Attempt::Accepted { body, .. }, key
                }) = answer
                    && let Ok(ack) = serde_json::from_slice::<api::TelemetryAck>(&body)
                {
                    metrics.clock_measured(ack.server_time, time::OffsetDateTime::now_utc());
                    if heartbeats.as_ref().is_some_and(|keys| keys.contains(&key)) {
                        heartbeats = None;
                        metrics.heartbeat_accepted.store(true, Relaxed);
                        if let Some(dir) = &metrics.data_dir
                            && let Err(e) = record_heartbeat_accepted(dir, ack.server_time)
                        {
                            tracing::warn!(error = %e, "heartbeat accepted, but not recorded");
                        }
                    }
                }
                continue;
            }
        }
        if outbox.is_retired() {
            continue; // decommissioned: central takes nothing from this terminal any more
        }
        ship_audit(&outbox, &audit);
        let sessions = metrics.sessions_started.load(Relaxed);
        let failures = metrics.submissions_failed.load(Relaxed) + metrics.prints_failed.load(Relaxed);
        let hb = metrics.heartbeat(&outbox, (sessions - last_sessions) as u32, (failures - last_failures) as u32);
        (last_sessions, last_failures) = (sessions, failures);
        let batch = api::TelemetryBatch { heartbeat: Some(hb), events: vec![], audit: vec![] };
        let queued = enqueue(&outbox, ItemKind::Telemetry, &batch);
        if let (Some(keys), Some(key)) = (heartbeats.as_mut(), &queued) {
            keys.insert(key.clone());
        }
        if queued.is_none() {
            let mut direct = batch;
            direct.events.push(crate::outbox::event(
                "storage.unwritable",
                api::Severity::Error,
                Some(format!(
                    "the outbox cannot be written ({} bytes free): submissions stopped",
                    metrics.disk_free_bytes()
                )),
                now_ms(),
            ));
            if let Err(e) = central.send_telemetry(&direct).await {
                tracing::warn!(error = %e, "heartbeat not sent directly either");
            }
        }
    }
}

/// Hands unshipped audit records to the outbox, at most one API batch at a time.
pub fn ship_audit(outbox: &OutboxHandle, audit: &Arc<Mutex<AuditLog>>) {
    let mut log = audit.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    loop {
        let entries = match log.unshipped(api::TELEMETRY_BATCH_MAX) {
            Ok(e) if !e.is_empty() => e,
            Ok(_) => return,
            Err(e) => return tracing::error!(error = %e, "audit trail unreadable"),
        };
        let last = entries.last().map_or(0, |e| e.seq);
        let records = entries
            .into_iter()
            .filter_map(|e| {
                let at = time::OffsetDateTime::parse(&e.at, &time::format_description::well_known::Rfc3339).ok()?;
                Some(api::AuditRecord {
                    seq: e.seq,
                    at,
                    action: e.action,
                    subject_masked: e.subject_masked,
                    outcome: e.outcome,
                    prev_hash: e.prev_hash,
                    hash: e.hash,
                })
            })
            .collect();
        let body = serde_json::to_vec(&api::TelemetryBatch { heartbeat: None, events: vec![], audit: records })
            .unwrap_or_default();
        // Enqueue first, then mark: a crash in between ships the batch twice, and the
        // central service ignores records it already has (by sequence number).
        if let Err(e) = outbox.lock().enqueue(ItemKind::Audit, api::paths::TELEMETRY, &body, now_ms()) {
            return tracing::warn!(error = %e, "audit batch not stored; will retry");
        }
        outbox.wake.notify_one();
        if let Err(e) = log.mark_shipped(last) {
            return tracing::error!(error = %e, "audit shipping not recorded");
        }
    }
}

/// Serves `/metrics` on a loopback address (plain HTTP/1.1, one response per connection).
pub async fn serve_metrics(listener: tokio::net::TcpListener, metrics: Arc<Metrics>, outbox: OutboxHandle) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let metrics = metrics.clone();
        let outbox = outbox.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]);
            let (status, body) = if request.starts_with("GET /metrics ") {
                ("200 OK", metrics.render(&outbox))
            } else {
                ("404 Not Found", "not found\n".to_owned())
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes()).await;
            let _ = stream.write_all(body.as_bytes()).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_heartbeat_reports_real_free_space_and_the_measured_clock_offset() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = OutboxHandle::new(crate::outbox::Outbox::open(dir.path(), Default::default()).unwrap());
        let metrics = Metrics::for_data_dir(dir.path().to_owned());
        // The terminal's clock is 90 s ahead of the central service's.
        let server = time::OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap();
        metrics.clock_measured(server, server + time::Duration::seconds(90));
        let hb = metrics.heartbeat(&outbox, 0, 0);
        assert_eq!(hb.clock_offset_ms, 90_000, "terminal minus server");
        let free = crate::outbox::disk_free_bytes(dir.path()).unwrap();
        assert!(hb.disk_free_bytes > 0, "a real figure, not a placeholder");
        // Within a few MiB of what statvfs says a moment later (other writers exist).
        assert!(hb.disk_free_bytes.abs_diff(free) < 64 * 1024 * 1024, "{} vs {free}", hb.disk_free_bytes);
    }
}
