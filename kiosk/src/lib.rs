//! The terminal runtime: session core, service flows, outbox, audit trail, telemetry, device supervision.
