//! Reference central service: API, enrollment PKI, idempotent submissions, fleet telemetry, ops dashboard.
